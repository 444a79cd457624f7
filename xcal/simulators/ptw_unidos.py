"""A simulated PTW UNIDOS Tango / Romeo that answers the same bytes as the real one, for TCP or a pty.

It holds the instrument's state (RES / MEAS / HOLD / INT / INTHLD / AUTO_HOLD, the write token, range,
HV, interval time, autostart, electrical units, the measurement history) and integrates the charge an ion
chamber would collect from each exposure the room model delivers through `on_exposure`. Nothing waits for real
exposure durations: an exposure's charge arrives at once, zeroing and the self test are done when asked;
interval measurements and measuring time follow `clock`.

Numbers go out as the meter sends them: mantissa, exponent, prefix and unit, the value being mantissa ×
10^exponent in the base unit and the prefix the exponent's (`2.6;E-3;m;Gy`, `5.6;E-09;n;Gy;min`), chosen so
the mantissa lies in 1 … 1000. In electrical units the current goes out in A with an empty time base
(`0.0;E-12;p;A;`), as in the hardware-tested client's published fixture.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..drivers.capabilities import InstrumentIdentity
from .protocol import LineProtocol

if TYPE_CHECKING:  # pragma: no cover
    from .room import SimulatedExposure

RANGES = ("VERY_LOW", "LOW", "MEDIUM", "HIGH")
RANGE_MAX_CURRENT_A = {"VERY_LOW": 50e-12, "LOW": 1e-9, "MEDIUM": 50e-9, "HIGH": 1e-6}
"""Largest current per range. The notes give no figures: these are the simulator's own, chosen so a
radiographic shot (~10 nA in a 30 cm³ chamber) fits MEDIUM and fluoroscopy (~20 pA) fits VERY_LOW."""
RANGE_RESOLUTION = {"VERY_LOW": (1e-15, 5e-16), "LOW": (10e-15, 1e-14), "MEDIUM": (100e-15, 5e-13),
                    "HIGH": (1e-12, 1e-11)}
"""(charge in C, current in A) resolution per range for MVR: the simulator's own figures (current = maximum / 1e5)."""
LEVELS = ("LOW", "MEDIUM", "HIGH")
INTEGRATING = ("MEAS", "INT", "AUTO_MEAS")
INTERVAL_FROM = ("RES", "HOLD", "INTHLD", "AUTO_HOLD", "EOM", "INT")
"""States INT starts from: the hardware-tested client starts it after a measurement and a hold, and again while
an interval runs."""
PREFIXES = {3: "k", 0: "", -3: "m", -6: "µ", -9: "n", -12: "p", -15: "f"}
MAX_LINE = 100
"""Longest command line accepted before E16 (the notes name the error, not the length)."""
ZERO_TOTAL_MS = 82000
SELF_TEST_TOTAL_MS = 89000
SELF_TEST_CHARGES_C = (("Low", 136.6e-12), ("Med", 1.5e-9), ("High", 13.5e-9))
"""The charges of the self-test reply published for a UNIDOS Tango (pymeasure's fixture and the notes)."""

N_K_DIAGNOSTIC_30CC = 9.4e5
"""Air-kerma calibration factor (Gy/C) of a 30 cm³ diagnostic chamber: N_K ≈ (W/e) / (ρ_air V) =
33.97 J/C / (1.205 kg/m³ × 30e-6 m³) ≈ 9.4e5 Gy/C. (4e7 Gy/C would be a 0.6 cm³ therapy Farmer chamber,
too small for diagnostic kerma levels.) 1 mGy then collects about 1.06 nC."""

DEFAULT_IDENTITY = InstrumentIdentity("PTW", "UNIDOS Tango", "123456", "1.2.4")
DETECTOR_GUID = "5f0c6a8e-2b1d-4c3a-9e77-000000000777"


def default_detector(n_k_gy_per_c: float) -> dict[str, Any]:
    """One diagnostic chamber's record, with the keys pymeasure documents for RDA/RDR (values are made up)."""
    return {"calibrationFactor": n_k_gy_per_c, "calibrationFactorUnit": "Gy/C", "calibrationLab": "simulated",
            "calibrationProcedure": "free in air", "calibrationTemp": 22.0, "calibrationType": "air kerma",
            "calibrationUser": "xcal", "comment": "", "guid": DETECTOR_GUID, "manufacturer": "PTW", "maxHv": 400,
            "measuredQuantity": "Air Kerma", "minHv": -400, "name": "Diagnostic chamber 30 cm3", "nominalHv": 300,
            "polarity": "+", "radiationQuality": "RQR 5", "range": "MEDIUM", "serialNumber": "000777",
            "testDate": "", "testLimits": "", "testResult": "", "testTarget": "", "timebase": "min",
            "type": "ionization chamber", "typeNumber": "TW34069"}


_ACTIONS = ("STA", "HLD", "RES", "INT", "CHR", "NUL", "AST")
_QUERIES = ("PTW", "SER", "MAC", "S", "MV", "MVM", "MVR", "NUS", "ASS", "RDA", "RMR", "RIR", "RSR", "RHR", "REC",
            "RAC", "TFI")
_SETTINGS = ("RGE", "HV", "IT", "ASE", "ASR", "UEL", "ASL")
_LOCKED_WHILE_MEASURING = ("RGE", "HV", "UEL")


class _Refused(Exception):
    """A request the instrument answers with an error code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def engineering(value: float) -> tuple[str, int]:
    """(mantissa, power of ten) with the power a prefix's and the mantissa in 1 … 1000, to 6 significant digits.

    Below 1e-15 of the unit the power stays at −15 (femto) and the mantissa falls under 1; zero gives ("0.0", 0).
    """
    if value == 0:
        return "0.0", 0
    rounded = float(f"{value:.5e}")
    power = min(max(3 * math.floor(math.log10(abs(rounded)) / 3), min(PREFIXES)), max(PREFIXES))
    while abs(rounded) >= 1000 * 10.0 ** power and power < max(PREFIXES):
        power += 3
    mantissa = f"{rounded / 10.0 ** power:.6g}"
    if "e" in mantissa:
        mantissa = f"{rounded / 10.0 ** power:.21f}".rstrip("0")
    return (mantissa if "." in mantissa else mantissa + ".0"), power


def number(value: float, zero_power: int, exponent_format: str = "E{:+03d}") -> str:
    """`mantissa;exponent;prefix` as the meter writes a number: exponent and prefix always agree."""
    mantissa, power = engineering(value)
    if value == 0:
        power = zero_power
    return f"{mantissa};{exponent_format.format(power)};{PREFIXES[power]}"


def _display_4(value: float) -> str:
    """` 136.6`, ` 1.500`, ` 13.50`: a self-test charge's mantissa as the meter writes it (4 digits, a leading
    space)."""
    mantissa, power = engineering(value)
    scaled = float(mantissa)
    decimals = max(0, 3 - math.floor(math.log10(abs(scaled)))) if scaled else 1
    return f" {scaled:.{decimals}f};E{power:+03d};{PREFIXES[power]}"


class UnidosSimulator(LineProtocol):
    """The UNIDOS protocol with one simulated ion chamber of calibration factor `n_k_gy_per_c`.

    In dose units (UEL;false) the display shows air kerma = charge × N_K in Gy (the stored detector
    calibration is the chamber's true one) and its rate per minute; in electrical units (UEL;true) the
    charge in C and the current in A. `extra_flags` are OR-ed into the MV error flags (to simulate HV errors
    and the like); an exposure whose current exceeds the range's maximum sets the overload bit. A vented
    chamber collects charge in proportion to the air's density: `air_density_factor` is that density
    relative to the calibration's reference conditions (1/k_TP), so the display is uncorrected, as on a
    real instrument whose T and P correction is left off.
    TOK requests the write token (granted while the display lock is closed), TOK;1 says whether it is held,
    TOK;0 releases it. Settings and measurement control need the token (E20 without it); RGE, HV and UEL are
    refused while integrating (E03); values outside their limits give E08, unknown commands E01. Each finished
    measurement is added to the history (RHR) until CHR.
    """

    name = "ptw-unidos"
    line_end = "\r\n"
    reply_end = "\r\n"
    encoding = "utf-8"

    def __init__(self, identity: InstrumentIdentity = DEFAULT_IDENTITY, *, type_number: str = "TM10052",
                 hardware: str = "A16", mac: str = "00:0E:A4:01:02:03",
                 n_k_gy_per_c: float = N_K_DIAGNOSTIC_30CC, electrical_units: bool = False,
                 measuring_range: str = "MEDIUM", high_voltage: int = 300, interval_s: int = 60,
                 display_lock_closed: bool = True, detectors: Sequence[dict[str, Any]] | None = None,
                 clock: Callable[[], float] = time.monotonic, air_density_factor: float = 1.0) -> None:
        if measuring_range not in RANGES:
            raise ValueError(f"unknown range {measuring_range!r}; use one of {', '.join(RANGES)}")
        self.identity = identity
        self.type_number, self.hardware, self.mac = type_number, hardware, mac
        self.n_k = float(n_k_gy_per_c)
        if not air_density_factor > 0:
            raise ValueError(f"air_density_factor must be positive, got {air_density_factor}")
        self.air_density_factor = float(air_density_factor)
        self.settings: dict[str, Any] = {"RGE": measuring_range, "HV": int(high_voltage), "IT": int(interval_s),
                                         "ASE": False, "ASR": False, "UEL": bool(electrical_units),
                                         "ASL": "MEDIUM"}
        self.display_lock_closed = display_lock_closed
        self.detectors = [dict(d) for d in detectors] if detectors is not None else [default_detector(self.n_k)]
        self.clock = clock
        self.status = "RES"
        self.token = False
        self.extra_flags = 0
        self.charge_c = 0.0
        self.current_a = 0.0
        self.exposures = 0
        self.history: list[dict[str, Any]] = []
        self._flags = 0
        self._measured_s = 0.0
        self._since: float | None = None
        self._lock = threading.RLock()

    def command_of(self, request: bytes) -> str | None:
        """The command name: the text before the first `;`."""
        return request.decode(self.encoding, errors="replace").split(";", 1)[0] or None

    def error_reply(self, request: bytes) -> bytes | None:
        """E03 (not allowed at this moment), the instrument's reply to a command it cannot do now."""
        return b"E03" + self.reply_end.encode(self.encoding)

    def handle_line(self, line: str) -> str | None:
        """The reply to one command line: the echo and fields, or `E<nn>`."""
        with self._lock:
            self._advance()
            try:
                return self._dispatch(line)
            except _Refused as refused:
                return refused.code

    def on_exposure(self, exposure: SimulatedExposure) -> bool:
        """Collect the exposure's charge (air kerma / N_K); False if the instrument was not integrating."""
        charge = exposure.air_kerma_ugy * 1e-6 * self.air_density_factor / self.n_k
        current = charge / max(exposure.ms_actual / 1000.0, 1e-6)
        with self._lock:
            self._advance()
            autostarted = self.status == "RES" and self.settings["ASE"]
            if autostarted:
                self._reset()
            elif self.status not in INTEGRATING:
                return False
            self.charge_c += charge
            self.current_a = current
            self.exposures += 1
            if current > RANGE_MAX_CURRENT_A[self.settings["RGE"]]:
                self._flags |= 1
            if autostarted:
                self._finish("AUTO_HOLD")
            return True

    def air_kerma_gy(self) -> float:
        """The air kerma the instrument would display in dose units."""
        return self.charge_c * self.n_k

    def _advance(self) -> None:
        """End an interval measurement whose time is up."""
        if self.status == "INT" and self._elapsed() >= self.settings["IT"]:
            self._measured_s = float(self.settings["IT"])
            self._since = None
            self._finish("INTHLD")

    def _elapsed(self) -> float:
        return self._measured_s + (self.clock() - self._since if self._since is not None else 0.0)

    def _reset(self) -> None:
        self.charge_c = self.current_a = self._measured_s = 0.0
        self._since = None
        self._flags = 0

    def _finish(self, status: str) -> None:
        """Hold the value in `status` and add the measurement to the history."""
        self.status = status
        value, *_ = self._display()
        self.history.append({"id": len(self.history) + 1,
                             "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                             "detector": self.detectors[0].get("guid", "") if self.detectors else "",
                             "dose": value, "flags": f"0x{self._flags | self.extra_flags:X}", "kTotal": 1.0})

    def _dispatch(self, line: str) -> str:
        if len(line) > MAX_LINE:
            raise _Refused("E16")
        name, *args = line.split(";")
        if "" in args:
            raise _Refused("E18")
        if name == "TOK":
            return self._token(args)
        if name == "RDR":
            return self._detector(line, args)
        if name in _QUERIES or name in _ACTIONS:
            if args:
                raise _Refused("E17")
            return self._query(name) if name in _QUERIES else self._action(name)
        if name in _SETTINGS:
            if len(args) > 1:
                raise _Refused("E17")
            return self._setting(name, args[0]) if args else f"{name};{self._format_setting(name)}"
        raise _Refused("E01")

    def _token(self, args: list[str]) -> str:
        """TOK requests write permission, TOK;1 asks whether it is held, TOK;0 releases it."""
        if len(args) > 1:
            raise _Refused("E17")
        if not args:
            if self.display_lock_closed:
                self.token = True
            return f"TOK;{str(self.display_lock_closed).lower()}"
        if args[0] == "1":
            return f"TOK;1;{str(self.token).lower()}"
        if args[0] == "0":
            self.token = False
            return "TOK;0;true"
        raise _Refused("E08")

    def _detector(self, line: str, args: list[str]) -> str:
        if len(args) != 1:
            raise _Refused("E21" if not args else "E17")
        found = [d for d in self.detectors if str(d.get("guid")) == args[0]]
        if not found:
            raise _Refused("E21")
        return f"{line};{self._json(found[0])}"

    @staticmethod
    def _json(value: Any) -> str:
        """JSON with `;` for separators, as the instrument writes it."""
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).replace(",", ";")

    def _query(self, name: str) -> str:
        simple = {"PTW": lambda: f"{self.identity.model};{self.type_number};{self.identity.firmware};"
                                 f"{self.hardware}",
                  "SER": lambda: self.identity.serial, "MAC": lambda: self.mac, "S": lambda: self.status,
                  "NUS": lambda: f"Passed;0;{ZERO_TOTAL_MS}", "TFI": lambda: "-",
                  "MV": self._mv, "MVM": self._mvm, "MVR": self._mvr, "ASS": self._self_test,
                  "RDA": lambda: self._json(self.detectors), "RHR": lambda: self._json(self.history),
                  "RMR": lambda: self._json(self._parameters()), "RIR": lambda: self._json(self._info()),
                  "RSR": lambda: self._json(self._system_settings()), "REC": lambda: self._json(self._lan()),
                  "RAC": lambda: self._json({"enabled": False, "ssid": f"UNIDOS-{self.identity.serial}"})}
        return f"{name};{simple[name]()}"

    def _action(self, name: str) -> str:
        if not self.token:
            raise _Refused("E20")
        status = self.status
        if name == "STA":
            if status in ("RES", "HOLD", "AUTO_HOLD"):
                self._start("MEAS")
            elif status not in INTEGRATING:
                raise _Refused("E03")
        elif name == "HLD":
            if status not in INTEGRATING:
                raise _Refused("E03")
            self._measured_s = self._elapsed()
            self._since = None
            self._finish("INTHLD" if status == "INT" else "HOLD")
        elif name == "RES":
            self._reset()
            self.status = "RES"
        elif name == "INT":
            if status not in INTERVAL_FROM:
                raise _Refused("E03")
            self._reset()
            self._start("INT")
        elif name == "CHR":
            self.history.clear()
        elif name in ("NUL", "AST") and status in INTEGRATING:
            raise _Refused("E03")
        return name

    def _start(self, status: str) -> None:
        self.status = status
        self._since = self.clock()

    def _setting(self, name: str, text: str) -> str:
        if not self.token:
            raise _Refused("E20")
        if name in _LOCKED_WHILE_MEASURING and self.status in INTEGRATING:
            raise _Refused("E03")
        self.settings[name] = self._parse_setting(name, text)
        return f"{name};{text}"

    @staticmethod
    def _parse_setting(name: str, text: str) -> Any:
        if name in ("ASE", "ASR", "UEL"):
            if text not in ("true", "false"):
                raise _Refused("E29")
            return text == "true"
        if name in ("RGE", "ASL"):
            if text not in (RANGES if name == "RGE" else LEVELS):
                raise _Refused("E08")
            return text
        if not text.lstrip("-").isdigit():
            raise _Refused("E29")
        value = int(text)
        low, high = (-400, 400) if name == "HV" else (1, 3_599_999)
        if not low <= value <= high:
            raise _Refused("E08")
        return value

    def _format_setting(self, name: str) -> str:
        value = self.settings[name]
        return str(value).lower() if isinstance(value, bool) else str(value)

    def _display(self) -> tuple[float, str, float, str, str]:
        """(value, unit, rate, rate unit, time base) in the present display units."""
        if self.settings["UEL"]:
            return self.charge_c, "C", self.current_a, "A", ""
        return self.charge_c * self.n_k, "Gy", self.current_a * self.n_k * 60.0, "Gy", "min"

    def _per_display(self, charge: float, current: float) -> tuple[str, str]:
        """A charge and a current (range figures) as `number;unit` and `number;unit;time base` on the display."""
        if self.settings["UEL"]:
            return f"{number(charge, -12)};C", f"{number(current, -12)};A;"
        return f"{number(charge * self.n_k, -3)};Gy", f"{number(current * self.n_k * 60.0, -3)};Gy;min"

    def _mv(self) -> str:
        value, unit, rate, rate_unit, base = self._display()
        zero = -12 if unit == "C" else -3
        flags = self._flags | self.extra_flags
        return (f"{self.status};{number(value, zero, 'E{:d}')};{unit};{number(rate, zero)};{rate_unit};{base};"
                f"{self._elapsed() * 1000:.1f};ms;{float(self.settings['HV']):.1f};V;0x{flags:X}")

    def _mvm(self) -> str:
        _, rate = self._per_display(0.0, RANGE_MAX_CURRENT_A[self.settings["RGE"]])
        return f"{self.settings['RGE']};{rate}"

    def _mvr(self) -> str:
        value, rate = self._per_display(*RANGE_RESOLUTION[self.settings["RGE"]])
        return f"{self.settings['RGE']};{value};{rate}"

    @staticmethod
    def _self_test() -> str:
        ranges = ";".join(f"{name};{_display_4(charge)};C" for name, charge in SELF_TEST_CHARGES_C)
        return f"Passed;0;{SELF_TEST_TOTAL_MS};{ranges}"

    def _parameters(self) -> dict[str, Any]:
        """RMR: the key names pymeasure documents, filled from the settings (the value forms are the simulator's)."""
        settings = self.settings
        return {"correction": "none", "detectorGuid": self.detectors[0].get("guid", "") if self.detectors else "",
                "highResolution": False, "hv": settings["HV"], "integrationTime": settings["IT"],
                "isElectrical": settings["UEL"], "limitDose": 0.0, "limitDoseEnabled": False,
                "limitDoseRate": 0.0, "limitDoseRateEnabled": False, "range": settings["RGE"],
                "triggerAuto": settings["ASE"], "triggerReset": settings["ASR"],
                "triggerSensitivity": settings["ASL"]}

    def _info(self) -> dict[str, Any]:
        return {"calibrationDate": "2026-01-15", "debugBuild": False, "features": ["LAN"],
                "hardwareVersion": self.hardware, "hostname": f"UNIDOS-{self.identity.serial}",
                "lastTest": "2026-01-15", "macAddress": self.mac, "nextCalibration": "2028-01-15",
                "serialNumber": self.identity.serial, "softwareVersion": self.identity.firmware,
                "testTemperature": 22.0, "typeNumber": self.type_number}

    @staticmethod
    def _system_settings() -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        return {"brightness": 80, "date": now.date().isoformat(), "keyboardSound": True, "locale": "en",
                "mark": "", "startAsMaster": False, "time": now.time().isoformat(timespec="seconds"),
                "timezone": "UTC", "volume": 3}

    @staticmethod
    def _lan() -> dict[str, Any]:
        return {"dns": ["192.0.2.1"], "ipv4": {"address": "192.0.2.7", "dhcp": False, "gateway": "192.0.2.1",
                                               "netmask": "255.255.255.0"}, "ipv6": {"enabled": False}}
