"""A simulated PTW DIAMENTOR DAP meter that answers the same bytes as the real one, for a pty.

It integrates the dose-area product of each exposure the room model delivers through `on_exposure` and
keeps the settings the protocol can change (unit, pressure, temperature, KA, KFA, baud rate), each of which
also reads back by its letters alone. A command may end CR, LF or CR LF (the hardware-tested pymeasure client
writes CR LF); replies end CR LF.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

from ..drivers.base import serial_digits
from ..drivers.capabilities import InstrumentIdentity
from ..errors import ConfigError
from .protocol import LineProtocol

if TYPE_CHECKING:  # pragma: no cover
    from .room import SimulatedExposure

DISPLAY_PER_GYCM2 = {1: 100.0, 2: 1.0, 3: 100.0}
"""Display units per Gy·cm²: 1 cGy·cm² = 0.01 Gy·cm²; 1 µGy·m² = 1e-6 Gy × 1e4 cm² = 0.01 Gy·cm²."""
GY_PER_R = 0.00876
"""Air kerma per roentgen used by the simulated meter for its R·cm² display (W/e = 33.97 J/C)."""
BAUD_RATES = (9600, 19200, 38400, 57600, 115200)
DISPLAY_LIMIT = 1e6
"""Displayed values from here on overflow (E4); the notes give no figure, this is the simulator's."""

DEFAULT_IDENTITY = InstrumentIdentity("PTW", "DIAMENTOR CRS", "345678", "1.2.4")

_SETTINGS = {
    "PRE": (re.compile(r"PRE(\d{4})", re.ASCII), int, 500, 1500),
    "TMPA": (re.compile(r"TMPA(\d{2})", re.ASCII), int, 0, 70),
    "U": (re.compile(r"U(\d)", re.ASCII), int, 1, 4),
    "KA": (re.compile(r"KA(\d\.\d{4}E\d{2})", re.ASCII), float, 1e8, 9.999e12),
    "KFA": (re.compile(r"KFA(\d\.\d{3})", re.ASCII), float, 0.0, 9.999),
}
_SHOWN = {"PRE": "{:04d}", "TMPA": "{:02d}", "U": "{:d}", "KA": "{:.4E}", "KFA": "{:.3f}"}
"""How each setting's value is written in a reply, as it is in the command that sets it."""
_BAUD = re.compile(r"BR(\d)", re.ASCII)
_LETTERS = re.compile(r"[A-Z]+")
_LINE_END = re.compile(rb"[\r\n]")


def serial_number(serial: str) -> str:
    """The digits SER reports for the site's serial (separators dropped); ConfigError if it has any other.

    A DIAMENTOR answers its serial as a number (`SER345678`) and the driver refuses anything else, so a
    simulator given another serial could only fail the driver's identity check.
    """
    digits = serial_digits(serial)
    if not digits.isascii() or not digits.isdigit():
        raise ConfigError(f"a DIAMENTOR reports its serial number as digits (SER345678); {serial!r} cannot be one, "
                          f"so the simulator cannot report it",
                          fix="write the meter's serial as the digits SER gives, e.g. \"345678\"")
    return digits


class DiamentorSimulator(LineProtocol):
    """The DIAMENTOR protocol with a DAP chamber crossed by a field of `field_area_cm2`.

    DAP = air kerma × field area. The air kerma and the area are taken at the same plane (the exposure's
    air kerma is given at the meter's position, so the area is the field's area there); since kerma falls
    and area grows with the square of distance, the product is the same at the chamber's plane. The
    display shows DAP × KFA in the selected unit, the rate of the last exposure per second, and the
    summed irradiation time; M carries those four fields only (pymeasure's fixture shows five more, whose
    meaning no source gives). A passed self test and RES answer an empty line. `write_protected` makes every
    setting change answer E7 (reading one back still works); values out of range give E9 and anything the
    notes do not list gives E1. `baudrate` follows BR0…BR4 after the reply (a pty ignores it).
    """

    name = "ptw-diamentor"
    line_end = "\r\n"
    reply_end = "\r\n"
    encoding = "ascii"

    def __init__(self, identity: InstrumentIdentity = DEFAULT_IDENTITY, *, field_area_cm2: float = 100.0,
                 unit: int = 1, calibration_factor: float = 4.3e9, correction_factor: float = 1.0,
                 pressure_hpa: int = 1013, temperature_c: int = 20, write_protected: bool = False,
                 constancy_ok: bool = True, eeprom_ok: bool = True, calibrated: bool = True,
                 self_test_error: int | None = None) -> None:
        self.identity = identity
        self.serial = serial_number(identity.serial)
        self.variant = identity.model.removeprefix("DIAMENTOR").strip() or "CRS"
        self.field_area_cm2 = float(field_area_cm2)
        self.settings: dict[str, float] = {"PRE": pressure_hpa, "TMPA": temperature_c, "U": unit,
                                           "KA": calibration_factor, "KFA": correction_factor}
        self.write_protected = write_protected
        self.constancy_ok, self.eeprom_ok, self.calibrated = constancy_ok, eeprom_ok, calibrated
        self.self_test_error = self_test_error
        self.baudrate = 9600
        self.dap_gycm2 = 0.0
        self.rate_gycm2_s = 0.0
        self.time_s = 0.0
        self._lock = threading.Lock()

    def split(self, buffer: bytearray) -> list[bytes]:
        """Complete commands ended by CR, LF or CR LF; the empty line between CR and LF is no command."""
        requests = []
        while (found := _LINE_END.search(buffer)) is not None:
            request = bytes(buffer[:found.start()])
            del buffer[: found.end()]
            if request:
                requests.append(request)
        return requests

    def command_of(self, request: bytes) -> str | None:
        """The command's leading letters (`PRE1013` -> `PRE`)."""
        found = _LETTERS.match(request.decode(self.encoding, errors="replace"))
        return found.group(0) if found else None

    def error_reply(self, request: bytes) -> bytes | None:
        """E25 (input buffer overrun), what the meter says when a command reached it damaged."""
        return b"E25" + self.reply_end.encode(self.encoding)

    def on_exposure(self, exposure: SimulatedExposure) -> bool:
        """Add the exposure's DAP (air kerma × field area); a DAP meter always integrates."""
        dap = exposure.air_kerma_ugy * 1e-6 * self.field_area_cm2
        seconds = max(exposure.ms_actual / 1000.0, 1e-6)
        with self._lock:
            self.dap_gycm2 += dap
            self.rate_gycm2_s = dap / seconds
            self.time_s += exposure.ms_actual / 1000.0
        return True

    def handle_line(self, line: str) -> str | None:
        """The reply to one command line."""
        with self._lock:
            return self._dispatch(line)

    def displayed(self, gycm2: float) -> float:
        """A DAP in Gy·cm² as the display shows it: × KFA, in the selected unit."""
        value = gycm2 * self.settings["KFA"]
        unit = int(self.settings["U"])
        return value / GY_PER_R if unit == 4 else value * DISPLAY_PER_GYCM2[unit]

    def _dispatch(self, line: str) -> str:
        simple = {"PTW": lambda: f"{self.variant} {self.identity.firmware}",
                  "SER": lambda: f"SER{self.serial}", "M": self._measured, "RES": self._reset,
                  "TST": self._self_test, "G": lambda: "GP" if self.constancy_ok else "GF",
                  "CRC": lambda: f"CRC{0 if self.eeprom_ok else 1},{0 if self.calibrated else 1}"}
        if line in simple:
            return simple[line]()
        if line in _SETTINGS:
            return line + self._shown(line)
        if line == "BR":
            return f"BR{BAUD_RATES.index(self.baudrate)}"
        found = _BAUD.fullmatch(line)
        if found:
            return self._baud(line, int(found.group(1)))
        name = self.command_of(line.encode(self.encoding, errors="replace"))
        return self._setting(name, line) if name in _SETTINGS else "E1"

    def _measured(self) -> str:
        dap, rate = self.displayed(self.dap_gycm2), self.displayed(self.rate_gycm2_s)
        if max(dap, rate) >= DISPLAY_LIMIT:
            return "E4"
        minutes, seconds = divmod(int(self.time_s), 60)
        return f"M{dap:.2f},{rate:.2f},{minutes},{seconds}"

    def _shown(self, name: str) -> str:
        value = self.settings[name]
        text = _SHOWN[name].format(int(value) if name in ("PRE", "TMPA", "U") else float(value))
        return text.replace("E+", "E")

    def _reset(self) -> str:
        self.dap_gycm2 = self.rate_gycm2_s = self.time_s = 0.0
        return ""

    def _self_test(self) -> str:
        return "" if self.self_test_error is None else f"E{self.self_test_error}"

    def _baud(self, line: str, index: int) -> str:
        if index >= len(BAUD_RATES):
            return "E9"
        self.baudrate = BAUD_RATES[index]
        return line

    def _setting(self, name: str, line: str) -> str:
        pattern, kind, low, high = _SETTINGS[name]
        found = pattern.fullmatch(line)
        if found is None:
            return "E1"
        if self.write_protected:
            return "E7"
        value = kind(found.group(1))
        if not low <= value <= high:
            return "E9"
        self.settings[name] = value
        return line
