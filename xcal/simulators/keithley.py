"""A simulated Keithley 6517B or 6514 electrometer speaking SCPI over RS-232 (a pty), lines ending CR LF.

It holds zero check / zero correct, the function (charge or current), ranges, the reading format and the
SCPI error queue, and integrates the charge an ion chamber of calibration factor N_K would collect from each
exposure the room model delivers (charge = air kerma / N_K). Nothing waits for exposure durations.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Callable

from ..drivers.capabilities import InstrumentIdentity
from .protocol import LineProtocol

if TYPE_CHECKING:  # pragma: no cover
    from .room import SimulatedExposure

N_K_DIAGNOSTIC_30CC = 9.4e5
"""Air-kerma calibration factor (Gy/C) of a 30 cm³ diagnostic chamber: (W/e) / (ρ_air V) =
33.97 J/C / (1.205 kg/m³ × 30e-6 m³) ≈ 9.4e5 Gy/C, so 1 mGy collects about 1.06 nC."""

DEFAULT_IDENTITY = InstrumentIdentity("KEITHLEY INSTRUMENTS INC.", "MODEL 6517B", "4242424", "A13/700x")

ERRORS = {
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -200: "Execution error",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -230: "Data corrupt or stale",
    -350: "Queue overflow",
}
"""SCPI standard error numbers (SCPI-1999 vol. 2, ch. 21) the simulator queues."""
QUEUE_LENGTH = 10

ELEMENTS = {"6517B": ("READ",), "6514": ("READ", "TIME", "STAT")}
"""`:FORM:ELEM` elements the simulator formats, per model (the ones the notes and the driver use)."""
MAX_RANGE = {"6514": {"CHAR": 20e-6, "CURR": 20e-3}}
"""Largest range per function where the notes give the ranges; larger values are -222."""
CHARGE_SUFFIX_STANDIN = "XXXX"
"""The 6517B's default-format charge suffix is unconfirmed in the notes, so the simulator sends a stand-in
that is deliberately no real unit; the driver never asks for it (it sets `:FORM:ELEM READ`)."""

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$", re.ASCII)


class _Refused(Exception):
    """A command the instrument refuses: its SCPI error number is queued and nothing is sent."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def model_of(identity: InstrumentIdentity) -> str:
    """`6517B` or `6514` from the identity's model text; ValueError for any other model."""
    text = identity.model.replace(" ", "").upper()
    for model in ("6517B", "6514"):
        if model in text:
            return model
    raise ValueError(f"the Keithley simulator is a 6517B or a 6514, not {identity.model!r}")


class KeithleySimulator(LineProtocol):
    """SCPI of the 6517B or 6514 (model from `identity.model`), with one simulated ion chamber.

    Commands in the notes' short forms (root colon optional, keywords case-insensitive): `*IDN?`, `*RST`,
    `*CLS`, `:SYST:ERR?`, `:SYST:ZCH ON|OFF`, `:SYST:ZCOR ON|OFF`, `:SENS:FUNC 'CHAR'|'CURR'`, `CONF:CHAR`,
    `:SENS:CHAR|CURR:RANG <v>` and `:RANG:AUTO ON|OFF`, `:SENS:CURR:NPLC <v>`, `:FORM:ELEM`, `:INIT`,
    `:FETC?`, `:READ?`, `:MEAS?`. Anything else queues -113 "Undefined header" (VOLT/RES, the trace buffer,
    triggers and the source are not simulated and are refused too); bad values queue -224 / -222.

    Zero check on shunts the input and dissipates the collected charge; charge is collected only in the
    charge function with zero check off. `leakage_a` is the current reading. The 6514's readings are
    `reading,timestamp,status` (also its power-on format here); the 6517B's default record is
    `<value><suffix>,<time>secs,<n>RDNG#` with `NADC` for current and `charge_suffix` for charge.
    """

    name = "keithley"
    line_end = "\n"
    reply_end = "\r\n"

    def __init__(self, identity: InstrumentIdentity = DEFAULT_IDENTITY, *,
                 n_k_gy_per_c: float = N_K_DIAGNOSTIC_30CC, leakage_a: float = 0.0,
                 charge_suffix: str = CHARGE_SUFFIX_STANDIN,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not n_k_gy_per_c > 0:
            raise ValueError(f"N_K must be more than zero, got {n_k_gy_per_c}")
        self.identity = identity
        self.model = model_of(identity)
        self.n_k = float(n_k_gy_per_c)
        self.leakage_a = float(leakage_a)
        self.charge_suffix = charge_suffix
        self.clock = clock
        self._start = clock()
        self._lock = threading.RLock()
        self.errors: deque[tuple[int, str]] = deque()
        self.received: list[str] = []
        self.exposures = 0
        self._power_on()

    def _power_on(self) -> None:
        """The state after power-on and `*RST`."""
        self.function = "CURR"
        self.zero_check = True
        self.zero_correct = False
        self.ranges: dict[str, float | None] = {"CHAR": None, "CURR": None}
        self.nplc = 1.0
        self.elements: tuple[str, ...] | None = None
        self.charge_c = 0.0
        self.last_reading: str | None = None
        self.reading_count = 0

    # --- SimProtocol --------------------------------------------------------------------------------

    def command_of(self, request: bytes) -> str | None:
        """The header without root colon or parameters, upper case: `READ?`, `SYST:ERR?`, `*IDN?`."""
        header = request.decode("ascii", errors="replace").strip().split(" ", 1)[0]
        return header.lstrip(":").upper() or None

    def error_reply(self, request: bytes) -> bytes | None:
        """An SCPI instrument answers nothing on the wire; it queues -200 "Execution error"."""
        with self._lock:
            self._queue(-200)
        return None

    def handle_line(self, line: str) -> str | None:
        """The reply line to one command, or None (settings, and refused commands, whose error is queued)."""
        line = line.rstrip("\r")
        with self._lock:
            self.received.append(line)
            if not line.strip():
                return None
            try:
                return self._dispatch(line.strip())
            except _Refused as refused:
                self._queue(refused.code)
                return None

    # --- the room model --------------------------------------------------------------------------------

    def on_exposure(self, exposure: "SimulatedExposure") -> bool:
        """Collect air kerma / N_K; False (nothing collected) unless measuring charge with zero check off."""
        with self._lock:
            if self.function != "CHAR" or self.zero_check:
                return False
            self.charge_c += exposure.air_kerma_ugy * 1e-6 / self.n_k
            self.exposures += 1
            return True

    # --- commands ----------------------------------------------------------------------------------------

    def _queue(self, code: int) -> None:
        if len(self.errors) >= QUEUE_LENGTH:
            self.errors[-1] = (-350, ERRORS[-350])
        else:
            self.errors.append((code, ERRORS[code]))

    def _dispatch(self, line: str) -> str | None:
        header, _, argument = line.partition(" ")
        header = header.lstrip(":").upper()
        argument = argument.strip()
        if header.endswith("?") or header in ("*RST", "*CLS", "INIT", "CONF:CHAR"):
            if argument:
                raise _Refused(-108)
            return self._no_argument(header)
        if not argument:
            raise _Refused(-109 if header in _SETTINGS else -113)
        if header not in _SETTINGS:
            raise _Refused(-113)
        getattr(self, _SETTINGS[header])(header, argument)
        return None

    def _no_argument(self, header: str) -> str | None:
        if header == "*IDN?":
            i = self.identity
            return f"{i.make},{i.model},{i.serial},{i.firmware}"
        if header == "*RST":
            self._power_on()
        elif header == "*CLS":
            self.errors.clear()
        elif header == "SYST:ERR?":
            code, text = self.errors.popleft() if self.errors else (0, "No error")
            return f'{code},"{text}"'
        elif header == "CONF:CHAR":
            self.function = "CHAR"
        elif header == "INIT":
            self.last_reading = self._take_reading()
        elif header == "FETC?":
            if self.last_reading is None:
                raise _Refused(-230)
            return self.last_reading
        elif header in ("READ?", "MEAS?"):
            self.last_reading = self._take_reading()
            return self.last_reading
        else:
            raise _Refused(-113)
        return None

    @staticmethod
    def _on_off(argument: str) -> bool:
        word = argument.upper()
        if word not in ("ON", "OFF", "1", "0"):
            raise _Refused(-224)
        return word in ("ON", "1")

    def _set_zero_check(self, _header: str, argument: str) -> None:
        self.zero_check = self._on_off(argument)
        if self.zero_check:
            self.charge_c = 0.0

    def _set_zero_correct(self, _header: str, argument: str) -> None:
        self.zero_correct = self._on_off(argument)

    def _set_function(self, _header: str, argument: str) -> None:
        found = re.fullmatch(r"""(['"])([A-Za-z]+)\1""", argument)
        if found is None:
            raise _Refused(-224)
        function = found.group(2).upper()
        if function in ("VOLT", "RES"):
            raise _Refused(-221)
        if function not in ("CHAR", "CURR"):
            raise _Refused(-224)
        self.function = function

    def _set_range(self, header: str, argument: str) -> None:
        function = header.split(":")[1]
        if not _NUMBER.match(argument):
            raise _Refused(-224)
        value = float(argument)
        limit = MAX_RANGE.get(self.model, {}).get(function)
        if not value > 0 or (limit is not None and value > limit * (1 + 1e-9)):
            raise _Refused(-222)
        self.ranges[function] = value

    def _set_auto_range(self, header: str, argument: str) -> None:
        function = header.split(":")[1]
        if self._on_off(argument):
            self.ranges[function] = None
        elif self.ranges[function] is None:
            self.ranges[function] = MAX_RANGE.get(self.model, {}).get(function, 2e-6)

    def _set_nplc(self, _header: str, argument: str) -> None:
        if not _NUMBER.match(argument) or not float(argument) > 0:
            raise _Refused(-224)
        self.nplc = float(argument)

    def _set_elements(self, _header: str, argument: str) -> None:
        names = tuple(name.strip().upper() for name in argument.split(","))
        allowed = ELEMENTS[self.model]
        if not names or any(name not in allowed for name in names) or len(set(names)) != len(names):
            raise _Refused(-224)
        self.elements = tuple(name for name in allowed if name in names)

    # --- readings ----------------------------------------------------------------------------------------

    def _value(self) -> float:
        if self.zero_check:
            return 0.0
        return self.charge_c if self.function == "CHAR" else self.leakage_a

    def _take_reading(self) -> str:
        self.reading_count += 1
        value = self._value()
        elapsed = self.clock() - self._start
        fields = {"READ": f"{value:+.6E}", "TIME": f"{elapsed:+.6E}", "STAT": f"{0.0:+.6E}"}
        if self.elements is not None:
            return ",".join(fields[name] for name in self.elements)
        if self.model == "6514":
            return ",".join(fields.values())
        suffix = "NADC" if self.function == "CURR" else self.charge_suffix
        return f"{value:+.6E}{suffix},{elapsed:+07.1f}secs,{self.reading_count:+06d}RDNG#"


_SETTINGS = {
    "SYST:ZCH": "_set_zero_check",
    "SYST:ZCOR": "_set_zero_correct",
    "SENS:FUNC": "_set_function",
    "SENS:CHAR:RANG": "_set_range",
    "SENS:CURR:RANG": "_set_range",
    "SENS:CHAR:RANG:AUTO": "_set_auto_range",
    "SENS:CURR:RANG:AUTO": "_set_auto_range",
    "SENS:CURR:NPLC": "_set_nplc",
    "FORM:ELEM": "_set_elements",
}
"""Setting headers (they take one parameter) and the method that applies each."""
