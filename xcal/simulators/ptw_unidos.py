"""A simulated PTW UNIDOS Tango / Romeo that answers the same bytes as the real one, for TCP or a pty.

It holds the instrument's state (RES / MEAS / HOLD / INT / INTHLD / AUTO_HOLD, the write token, range,
HV, interval time, autostart, electrical units) and integrates the charge an ion chamber would collect
from each exposure the room model delivers through `on_exposure`. Nothing waits for real exposure
durations: an exposure's charge arrives at once; interval measurements and measuring time follow `clock`.
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..drivers.capabilities import InstrumentIdentity
from .protocol import LineProtocol

if TYPE_CHECKING:  # pragma: no cover
    from .room import SimulatedExposure

RANGES = ("VERY_LOW", "LOW", "MEDIUM", "HIGH")
RANGE_MAX_CURRENT_A = {"VERY_LOW": 50e-12, "LOW": 1e-9, "MEDIUM": 50e-9, "HIGH": 1e-6}
"""Largest current per range. The notes give no figures: these are the simulator's own, chosen so a
radiographic shot (~10 nA in a 30 cm³ chamber) fits MEDIUM and fluoroscopy (~20 pA) fits VERY_LOW."""
LEVELS = ("LOW", "MEDIUM", "HIGH")
INTEGRATING = ("MEAS", "INT", "AUTO_MEAS")
PREFIX_FACTORS = {"": 1.0, "m": 1e-3, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}
MAX_LINE = 100
"""Longest command line accepted before E16 (the notes name the error, not the length)."""
ZERO_TOTAL_MS = 82000
SELF_TEST_TOTAL_MS = 89000

N_K_DIAGNOSTIC_30CC = 9.4e5
"""Air-kerma calibration factor (Gy/C) of a 30 cm³ diagnostic chamber: N_K ≈ (W/e) / (ρ_air V) =
33.97 J/C / (1.205 kg/m³ × 30e-6 m³) ≈ 9.4e5 Gy/C. (4e7 Gy/C would be a 0.6 cm³ therapy Farmer chamber,
too small for diagnostic kerma levels.) 1 mGy then collects about 1.06 nC."""

DEFAULT_IDENTITY = InstrumentIdentity("PTW", "UNIDOS Tango", "123456", "1.2.4")
DEFAULT_DETECTORS: tuple[dict[str, Any], ...] = (
    {"id": 1, "name": "Diagnostic chamber 30 cm3", "serial": "000777", "voltage": 300},
)

_ACTIONS = ("STA", "HLD", "RES", "INT", "CHR", "NUL", "AST")
_QUERIES = ("PTW", "SER", "MAC", "S", "MV", "MVM", "NUS", "ASS", "RDA")
_SETTINGS = ("RGE", "HV", "IT", "ASE", "ASR", "UEL", "ASL")
_LOCKED_WHILE_MEASURING = ("RGE", "HV", "UEL")


class _Refused(Exception):
    """A request the instrument answers with an error code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def scientific(value: float, exponent_format: str = "E{:d}") -> tuple[str, str]:
    """(mantissa, exponent) as the UNIDOS writes them: `2.6`, `E-3` (or `E-09` with format `E{:+03d}`)."""
    if value == 0:
        return "0.0", exponent_format.format(0)
    mantissa, exponent = f"{value:.5e}".split("e")
    mantissa = mantissa.rstrip("0")
    return mantissa + ("0" if mantissa.endswith(".") else ""), exponent_format.format(int(exponent))


class UnidosSimulator(LineProtocol):
    """The UNIDOS protocol with one simulated ion chamber of calibration factor `n_k_gy_per_c`.

    In dose units (UEL;false) the display shows air kerma = charge × N_K in Gy (the stored detector
    calibration is the chamber's true one) and its rate per minute; in electrical units (UEL;true) the
    charge in C and the current as C per second. `dose_prefixes` / `charge_prefixes` are the display
    prefixes of (value, rate); the mantissa and exponent are written in them, as in the notes' example
    `2.6;E-3;m;Gy` (2.6e-3 mGy). `extra_flags` are OR-ed into the MV error flags (to simulate HV errors
    and the like); an exposure whose current exceeds the range's maximum sets the overload bit. A vented
    chamber collects charge in proportion to the air's density: `air_density_factor` is that density
    relative to the calibration's reference conditions (1/k_TP), so the display is uncorrected, as on a
    real instrument whose T and P correction is left off.
    Settings and measurement control need the write token (E20 without it); RGE, HV and UEL are refused
    while integrating (E03); values outside their limits give E08, unknown commands E01.
    """

    name = "ptw-unidos"
    line_end = "\r\n"
    reply_end = "\r\n"
    encoding = "utf-8"

    def __init__(self, identity: InstrumentIdentity = DEFAULT_IDENTITY, *, type_number: str = "TM10052",
                 hardware: str = "A16", mac: str = "00:0E:A4:01:02:03",
                 n_k_gy_per_c: float = N_K_DIAGNOSTIC_30CC, electrical_units: bool = False,
                 measuring_range: str = "MEDIUM", high_voltage: int = 300, interval_s: int = 60,
                 dose_prefixes: tuple[str, str] = ("m", "m"), charge_prefixes: tuple[str, str] = ("n", "p"),
                 display_lock_closed: bool = True,
                 detectors: Sequence[dict[str, Any]] = DEFAULT_DETECTORS,
                 clock: Callable[[], float] = time.monotonic, air_density_factor: float = 1.0) -> None:
        if measuring_range not in RANGES:
            raise ValueError(f"unknown range {measuring_range!r}; use one of {', '.join(RANGES)}")
        for prefix in (*dose_prefixes, *charge_prefixes):
            if prefix not in PREFIX_FACTORS:
                raise ValueError(f"unknown display prefix {prefix!r}")
        self.identity = identity
        self.type_number, self.hardware, self.mac = type_number, hardware, mac
        self.n_k = float(n_k_gy_per_c)
        if not air_density_factor > 0:
            raise ValueError(f"air_density_factor must be positive, got {air_density_factor}")
        self.air_density_factor = float(air_density_factor)
        self.settings: dict[str, Any] = {"RGE": measuring_range, "HV": int(high_voltage), "IT": int(interval_s),
                                         "ASE": False, "ASR": False, "UEL": bool(electrical_units),
                                         "ASL": "MEDIUM"}
        self.dose_prefixes, self.charge_prefixes = dose_prefixes, charge_prefixes
        self.display_lock_closed = display_lock_closed
        self.detectors = [dict(d) for d in detectors]
        self.clock = clock
        self.status = "RES"
        self.token = False
        self.extra_flags = 0
        self.charge_c = 0.0
        self.current_a = 0.0
        self.exposures = 0
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

    def on_exposure(self, exposure: "SimulatedExposure") -> bool:
        """Collect the exposure's charge (air kerma / N_K); False if the instrument was not integrating."""
        charge = exposure.air_kerma_ugy * 1e-6 * self.air_density_factor / self.n_k
        current = charge / max(exposure.ms_actual / 1000.0, 1e-6)
        with self._lock:
            self._advance()
            if self.status == "RES" and self.settings["ASE"]:
                self._reset()
                self.status = "AUTO_HOLD"
            elif self.status not in INTEGRATING:
                return False
            self.charge_c += charge
            self.current_a = current
            self.exposures += 1
            if current > RANGE_MAX_CURRENT_A[self.settings["RGE"]]:
                self._flags |= 1
            return True

    def air_kerma_gy(self) -> float:
        """The air kerma the instrument would display in dose units."""
        return self.charge_c * self.n_k

    def _advance(self) -> None:
        """End an interval measurement whose time is up."""
        if self.status == "INT" and self._elapsed() >= self.settings["IT"]:
            self._measured_s = float(self.settings["IT"])
            self._since = None
            self.status = "INTHLD"

    def _elapsed(self) -> float:
        return self._measured_s + (self.clock() - self._since if self._since is not None else 0.0)

    def _reset(self) -> None:
        self.charge_c = self.current_a = self._measured_s = 0.0
        self._since = None
        self._flags = 0

    def _dispatch(self, line: str) -> str:
        if len(line) > MAX_LINE:
            raise _Refused("E16")
        name, *args = line.split(";")
        if "" in args:
            raise _Refused("E18")
        if name == "TOK":
            return self._token(line, args)
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

    def _token(self, line: str, args: list[str]) -> str:
        if len(args) > 1:
            raise _Refused("E17")
        if not args:
            return f"TOK;{str(self.token).lower()}"
        if args[0] not in ("0", "1"):
            raise _Refused("E08")
        granted = args[0] == "0" or self.display_lock_closed
        self.token = args[0] == "1" and granted
        return f"{line};{str(granted).lower()}"

    def _detector(self, line: str, args: list[str]) -> str:
        if len(args) != 1:
            raise _Refused("E21" if not args else "E17")
        found = [d for d in self.detectors if str(d.get("id")) == args[0]]
        if not found:
            raise _Refused("E08")
        return f"{line};{self._json(found[0])}"

    @staticmethod
    def _json(value: Any) -> str:
        """JSON with `;` for separators, as the instrument writes it."""
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).replace(",", ";")

    def _query(self, name: str) -> str:
        if name == "PTW":
            return f"PTW;{self.identity.model};{self.type_number};{self.identity.firmware};{self.hardware}"
        if name == "SER":
            return f"SER;{self.identity.serial}"
        if name == "MAC":
            return f"MAC;{self.mac}"
        if name == "S":
            return f"S;{self.status}"
        if name == "MV":
            return self._mv()
        if name == "MVM":
            return self._mvm()
        if name == "NUS":
            return f"NUS;Passed;0;{ZERO_TOTAL_MS}"
        if name == "ASS":
            return f"ASS;Passed;0;{SELF_TEST_TOTAL_MS}"
        return f"RDA;{self._json(self.detectors)}"

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
            self._hold("INTHLD" if status == "INT" else "HOLD")
        elif name == "RES":
            self._reset()
            self.status = "RES"
        elif name == "INT":
            if status != "RES":
                raise _Refused("E03")
            self._start("INT")
        elif name in ("NUL", "AST") and status in INTEGRATING:
            raise _Refused("E03")
        return name

    def _start(self, status: str) -> None:
        self.status = status
        self._since = self.clock()

    def _hold(self, status: str) -> None:
        self._measured_s = self._elapsed()
        self._since = None
        self.status = status

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

    def _display(self) -> tuple[float, str, float, str, str, tuple[str, str]]:
        """(value, unit, rate, rate unit, time base, prefixes) in the present display units."""
        if self.settings["UEL"]:
            return self.charge_c, "C", self.current_a, "C", "s", self.charge_prefixes
        return (self.charge_c * self.n_k, "Gy", self.current_a * self.n_k * 60.0, "Gy", "min",
                self.dose_prefixes)

    def _mv(self) -> str:
        value, unit, rate, rate_unit, base, (prefix, rate_prefix) = self._display()
        v_mant, v_exp = scientific(value / PREFIX_FACTORS[prefix])
        r_mant, r_exp = scientific(rate / PREFIX_FACTORS[rate_prefix], "E{:+03d}")
        flags = self._flags | self.extra_flags
        return (f"MV;{self.status};{v_mant};{v_exp};{prefix};{unit};{r_mant};{r_exp};{rate_prefix};"
                f"{rate_unit};{base};{self._elapsed() * 1000:.1f};ms;{float(self.settings['HV']):.1f};V;"
                f"0x{flags:X}")

    def _mvm(self) -> str:
        maximum = RANGE_MAX_CURRENT_A[self.settings["RGE"]]
        _, _, _, unit, base, (_, prefix) = self._display()
        rate = maximum if self.settings["UEL"] else maximum * self.n_k * 60.0
        mantissa, exponent = scientific(rate / PREFIX_FACTORS[prefix], "E{:+03d}")
        return f"MVM;{self.settings['RGE']};{mantissa};{exponent};{prefix};{unit};{base}"
