"""A simulated Keithley 6517B or 6514 electrometer speaking SCPI, lines ending CR LF, on a pty or a socket.

Program messages are parsed as IEEE 488.2 and SCPI-99 say and the two reference manuals repeat (6517B reference
manual section 11 "Remote operations", 6514 instruction manual p. 12-13): headers in any case, each keyword in
its long or its short form and never between (`:SENSe:CURRent:NPLCycles` = `:sens:curr:nplc`, `:SENSe:CURRe` is
undefined), optional nodes (`[:SENSe[1]]`, `[:DC]`, `[:UPPer]`) given or left out, an optional root colon,
several commands per line joined by `;`, a command without root colon continuing the previous command's path,
common commands (`*CLS`, also written `:*CLS` as pymeasure does) leaving the path alone, a trailing `;`, and the
replies to all queries of one line sent together, joined by `;`. Errors queue until `:SYST:ERR?` reads them.

The instrument holds zero check and zero correct, the function and per function its range, auto range and NPLC,
the reading format, the trigger model and trace buffer, the status registers and (6517B only) the voltage source.
Its ion chamber of calibration factor N_K collects, from each exposure the room model delivers, the charge air
kerma × air density factor / N_K. Nothing waits for exposure durations or trigger delays.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from ..drivers.capabilities import InstrumentIdentity
from .protocol import LineProtocol

if TYPE_CHECKING:  # pragma: no cover
    from .room import SimulatedExposure

N_K_DIAGNOSTIC_30CC = 9.4e5
"""Air-kerma calibration factor (Gy/C) of a 30 cm³ diagnostic chamber: (W/e) / (ρ_air V) =
33.97 J/C / (1.205 kg/m³ × 30e-6 m³) ≈ 9.4e5 Gy/C, so 1 mGy collects about 1.06 nC."""

DEFAULT_IDENTITY = InstrumentIdentity("KEITHLEY INSTRUMENTS INC.", "MODEL 6517B", "4242424", "A13/700x")

ERRORS = {
    -102: "Syntax error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -200: "Execution error",
    -211: "Trigger ignored",
    -214: "Trigger deadlock",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -230: "Data corrupt or stale",
    -350: "Queue overflow",
}
"""SCPI standard error numbers (SCPI-1999 vol. 2, ch. 21) the simulator queues."""
QUEUE_LENGTH = 10

FUNCTIONS = {"CURR": "CURRent:[DC]", "CHAR": "CHARge", "VOLT": "VOLTage:[DC]", "RES": "RESistance"}
"""The measuring functions and their SCPI keywords (square brackets: an optional node)."""
FUNCTION_REPLY = {"CURR": '"CURR:DC"', "CHAR": '"CHAR"', "VOLT": '"VOLT:DC"', "RES": '"RES"'}
"""`:SENS:FUNC?` answers as InstrumentKit's 6517B client expects (its tests, not hardware, show `"VOLT:DC"`)."""
UNITS = {"CURR": "ADC", "CHAR": "COUL", "VOLT": "VDC", "RES": "OHM"}
"""Unit suffixes of the 6517B's reading (6517A reference manual, figure 3-19: VDC, ADC, OHM, COUL)."""


def _decades(low_exponent: int, high_exponent: int) -> tuple[float, ...]:
    return tuple(2 * 10.0 ** e for e in range(low_exponent, high_exponent + 1))


RANGES = {
    "6517B": {"CURR": _decades(-11, -2), "CHAR": _decades(-9, -6), "VOLT": _decades(0, 2), "RES": _decades(6, 14)},
    "6514": {"CURR": _decades(-11, -2), "CHAR": _decades(-8, -5), "VOLT": _decades(0, 2), "RES": _decades(3, 11)},
}
"""Full-scale ranges per model and function: the 6514's charge ranges are the protocol notes', the others the
InstrumentKit drivers' lists, which agree with the manuals' largest expected readings below."""
OVER_RANGE = 1.05
"""A range reads up to 105 % of full scale: the 6517B manual's largest expected readings are 21e-3 A, 2.1e-6 C
and 210 V for the 20 mA, 2 µC and 200 V ranges."""
LARGEST_EXPECTED = {"6517B": {"RES": 100e18}, "6514": {}}
"""Expected readings beyond the top range that a range command still takes (6517A manual: 0 to 100e18 Ω)."""
SIGNED_RANGES = {"6517B": False, "6514": True}
"""The 6517B manual takes an expected reading of 0 to 21e-3 (A); the 6514's of -210 to 210 (V), signed."""
NPLC_LIMITS = (0.01, 10.0)
ZERO_CHECK_READING = 9.91e37
"""6517B manual p. 14-53: "zero-check reads as +9.91E37"."""
OVERFLOW_READING = 9.9e37
"""Both manuals: an overflowed reading is +9.9E37."""
ELEMENTS = {"6517B": ("READ", "RNUM", "UNIT", "TST", "STAT"), "6514": ("READ", "TIME", "STAT")}
ELEMENT_NAMES = {"READ": "READing", "RNUM": "RNUMber", "UNIT": "UNITs", "TST": "TSTamp", "STAT": "STATus",
                 "TIME": "TIME"}
"""`:FORM:ELEM` elements per model, in the order sent; the 6517B's all together make the protocol notes' record
`+1.234E-12NADC,+0012.3secs,+00001RDNG#`, the only other 6517B format simulated is READ alone."""
BUFFER_POINTS = (1, 6_875_000)
"""`:TRAC:POIN` limits of pymeasure's Keithley6517B (unconfirmed in the manual)."""
SOURCE_RANGES = (100.0, 1000.0)
"""The 6517B voltage source's ranges, V."""
TRIGGER_SOURCES = {"IMM": "IMMediate", "BUS": "BUS", "TIM": "TIMer", "MAN": "MANual", "TLIN": "TLINk",
                   "EXT": "EXTernal"}
"""Trigger sources; only IMM and TIM fire by themselves and BUS on `*TRG`, the others never do here."""

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$", re.ASCII)
_HEADER = re.compile(r"^(?::?\*[A-Za-z]+|:?[A-Za-z][A-Za-z0-9]*(?::[A-Za-z][A-Za-z0-9]*)*)\??$", re.ASCII)


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


@dataclass(frozen=True)
class _Keyword:
    """One keyword of a header: long and short form, whether it may be left out or carry the suffix 1."""

    long: str
    short: str
    optional: bool
    numbered: bool

    @classmethod
    def parse(cls, word: str) -> _Keyword:
        optional = word.startswith("[")
        word = word.strip("[]")
        numbered = word.endswith("#")
        word = word.rstrip("#")
        return cls(word.upper(), "".join(c for c in word if not c.islower()), optional, numbered)

    def matches(self, token: str) -> bool:
        if self.numbered and token.endswith("1"):
            token = token[:-1]
        return token in (self.long, self.short)


@dataclass(frozen=True)
class _Header:
    """A header of the command tree and what setting it (with parameters) and querying it do."""

    keywords: tuple[_Keyword, ...]
    on_set: Callable[[list[str]], None] | None
    on_query: Callable[[list[str]], str] | None

    def matches(self, tokens: tuple[str, ...]) -> bool:
        return _match(self.keywords, tokens)

    def short(self) -> str:
        text = "".join(f":{k.short}" for k in self.keywords if not k.optional)
        return text.lstrip(":") if text.startswith(":*") else text


def _match(keywords: tuple[_Keyword, ...], tokens: tuple[str, ...]) -> bool:
    if not keywords:
        return not tokens
    first, rest = keywords[0], keywords[1:]
    if tokens and first.matches(tokens[0]) and _match(rest, tokens[1:]):
        return True
    return first.optional and _match(rest, tokens)


def _units(line: str) -> list[str]:
    """The program message units of a line: split at `;` outside quoted strings."""
    units, start, quote = [], 0, ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ";":
            units.append(line[start:index])
            start = index + 1
    units.append(line[start:])
    return units


def _parameters(text: str) -> list[str]:
    """Comma-separated parameters, quoted strings kept whole; [] for none."""
    if not text.strip():
        return []
    found, start, quote = [], 0, ""
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ",":
            found.append(text[start:index].strip())
            start = index + 1
    found.append(text[start:].strip())
    return found


def _none(parameters: list[str]) -> None:
    if parameters:
        raise _Refused(-108)


def _one(parameters: list[str]) -> str:
    if not parameters:
        raise _Refused(-109)
    if len(parameters) > 1:
        raise _Refused(-108)
    return parameters[0]


def _number(text: str, low: float, high: float, default: float) -> float:
    """An <NRf> or MIN / MAX / DEF in low … high; -224 for no number, -222 outside."""
    word = text.upper()
    for keyword, value in (("MIN", low), ("MAX", high), ("DEF", default)):
        if word in (keyword, {"MIN": "MINIMUM", "MAX": "MAXIMUM", "DEF": "DEFAULT"}[keyword]):
            return value
    if not _NUMBER.match(text):
        raise _Refused(-224)
    value = float(text)
    if not low <= value <= high:
        raise _Refused(-222)
    return value


def _flag(text: str) -> bool:
    word = text.upper()
    if word not in ("ON", "OFF", "1", "0"):
        raise _Refused(-224)
    return word in ("ON", "1")


def _choice(text: str, names: dict[str, str]) -> str:
    """The short name of a keyword parameter given in its short or long form."""
    word = text.upper()
    for short, long in names.items():
        if word in (short, long.upper()):
            return short
    raise _Refused(-224)


def _holds(full_scale: float, expected: float) -> bool:
    """Whether a range of this full scale holds the expected reading (5 % over range, rounding aside)."""
    return expected <= full_scale * OVER_RANGE * (1 + 1e-9)


def _nr3(value: float) -> str:
    return f"{value:+.6E}"


def _bit(state: bool) -> str:
    return "1" if state else "0"


def _query(answer: Callable[[], str]) -> Callable[[list[str]], str]:
    """A query handler that takes no parameters and answers `answer()`."""

    def handler(parameters: list[str]) -> str:
        _none(parameters)
        return answer()

    return handler


class KeithleySimulator(LineProtocol):
    """SCPI of the 6517B or 6514 (model from `identity.model`), with one simulated ion chamber.

    Headers (short forms; see `headers()`): `*IDN? *RST *CLS *OPC[?] *WAI *TST? *TRG *STB? *SRE[?] *ESE[?] *ESR?`,
    `:SYST:ERR[:NEXT]? :SYST:PRES :SYST:ZCH[?] :SYST:ZCOR[?]`, `:STAT:PRES :STAT:MEAS[:EVEN]? :STAT:MEAS:ENAB[?]`,
    `[:SENS]:FUNC[?]` ('CURR' 'CHAR' 'VOLT' 'RES'), per function `:<f>:RANG[:UPP][?] :<f>:RANG:AUTO[?]
    :<f>:NPLC[?]`, `:CONF:<f>`, `:MEAS[:<f>]? :READ? :FETC? :INIT :ABOR`, `:FORM:ELEM[?] :FORM[:DATA][?]` (ASCII
    only), `:TRAC:POIN[?] :TRAC:CLE :TRAC:FEED[?] :TRAC:FEED:CONT[?] :TRAC:DATA?`, `:TRIG:SOUR[?] :TRIG:COUN[?]
    :TRIG:DEL[?]` and, on the 6517B only, `:SOUR:VOLT[:LEV][?] :SOUR:VOLT:RANG[?] :SOUR:VOLT:RANG:AUTO[?]
    OUTP[?]`. Queries take no parameters (MIN/MAX/DEF are taken by settings, not by queries).

    Errors: an unknown header -113 (and the rest of the line is not run, as after any command error), a missing
    or extra parameter -109 / -108, a bad value -224, a value outside the instrument's limits -222, `:FETC?`
    before a reading -230, `:READ?` with a bus trigger -214, `*TRG` with no trigger awaited -211.

    A range command takes the expected reading and selects the smallest range holding it with 5 % over range;
    the range query answers that range's full scale (the manuals do not show the reply). With auto range the
    query answers the range holding the present signal. On the 6517B zero check reads +9.91E37, as its manual
    says; on the 6514 it reads 0. A reading beyond a fixed range reads +9.9E37 (6514 status bit 0 set).
    Readings: the 6514's `reading,timestamp,status`; the 6517B's default record
    `<value><status><unit>,<time>secs,<n>RDNG#` (status N normal, Z zero check, O overflow; unit ADC, COUL,
    VDC or OHM), or the bare value after `:FORM:ELEM READ`. Voltage reads 0 V and resistance overflows (the
    simulated input is an ion chamber, not a resistor). `:MEAS?` reads the present function without the
    CONFigure resets a real meter may make. `*RST` leaves the error queue, status enables and trace buffer.
    """

    name = "keithley"
    line_end = "\n"
    reply_end = "\r\n"

    def __init__(self, identity: InstrumentIdentity = DEFAULT_IDENTITY, *,
                 n_k_gy_per_c: float = N_K_DIAGNOSTIC_30CC, leakage_a: float = 0.0,
                 air_density_factor: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not n_k_gy_per_c > 0:
            raise ValueError(f"N_K must be more than zero, got {n_k_gy_per_c}")
        if not air_density_factor > 0:
            raise ValueError(f"air_density_factor must be more than zero, got {air_density_factor}")
        self.identity = identity
        self.model = model_of(identity)
        self.n_k = float(n_k_gy_per_c)
        self.leakage_a = float(leakage_a)
        self.air_density_factor = float(air_density_factor)
        self.clock = clock
        self._start = clock()
        self._lock = threading.RLock()
        self.errors: deque[tuple[int, str]] = deque()
        self.received: list[str] = []
        self.exposures = 0
        self.buffer: list[str] = []
        self.status_enable = {"SRE": 0, "ESE": 0, "MEAS": 0}
        self.events = {"ESR": 0, "MEAS": 0}
        self._headers = self._command_tree()
        self._power_on()

    def _power_on(self) -> None:
        """The state after power-on and `*RST`."""
        self.function = "CURR"
        self.zero_check = True
        self.zero_correct = False
        self.ranges: dict[str, float | None] = {f: None for f in FUNCTIONS}
        self.nplc = {f: 1.0 for f in FUNCTIONS}
        self.elements: tuple[str, ...] | None = None
        self.charge_c = 0.0
        self.last_readings: list[str] | None = None
        self.reading_count = 0
        self.trigger_source = "IMM"
        self.trigger_count = 1
        self.trigger_delay_s = 0.0
        self.awaited_triggers = 0
        self.buffer_points = 100
        self.feed = "SENS"
        self.feed_control = "NEV"
        self.source_v = 0.0
        self.source_range_v = SOURCE_RANGES[0]
        self.source_auto_range = False
        self.output = False

    @property
    def last_reading(self) -> str | None:
        """The latest reading as sent, if any."""
        return self.last_readings[-1] if self.last_readings else None

    # --- SimProtocol --------------------------------------------------------------------------------

    def command_of(self, request: bytes) -> str | None:
        """The first command's header without root colon or parameters, upper case: `READ?`, `SYST:ERR?`."""
        first = _units(request.decode("ascii", errors="replace"))[0].strip()
        return first.split(" ", 1)[0].lstrip(":").upper() or None

    def error_reply(self, request: bytes) -> bytes | None:
        """An SCPI instrument answers nothing on the wire; it queues -200 "Execution error"."""
        with self._lock:
            self._queue(-200)
        return None

    def handle_line(self, line: str) -> str | None:
        """The replies to a line's queries joined by `;`, or None when it has none (errors are queued)."""
        line = line.rstrip("\r")
        with self._lock:
            self.received.append(line)
            replies: list[str] = []
            path: tuple[str, ...] = ()
            for unit in _units(line):
                text = unit.strip()
                if not text:
                    continue
                try:
                    path = self._run(text, path, replies)
                except _Refused as refused:
                    self._queue(refused.code)
                    if -199 <= refused.code <= -100:
                        break
            return ";".join(replies) if replies else None

    def headers(self) -> list[tuple[str, bool, bool]]:
        """The command tree in short forms: (header, takes a setting or event, answers a query)."""
        return [(h.short(), h.on_set is not None, h.on_query is not None) for h in self._headers]

    # --- the room model --------------------------------------------------------------------------------

    def on_exposure(self, exposure: SimulatedExposure) -> bool:
        """Collect air kerma × air density factor / N_K; False unless measuring charge with zero check off."""
        with self._lock:
            if self.function != "CHAR" or self.zero_check:
                return False
            self.charge_c += exposure.air_kerma_ugy * 1e-6 * self.air_density_factor / self.n_k
            self.exposures += 1
            return True

    # --- parsing -----------------------------------------------------------------------------------------

    def _queue(self, code: int) -> None:
        if len(self.errors) >= QUEUE_LENGTH:
            self.errors[-1] = (-350, ERRORS[-350])
        else:
            self.errors.append((code, ERRORS[code]))

    def _run(self, text: str, path: tuple[str, ...], replies: list[str]) -> tuple[str, ...]:
        """Run one program message unit; return the path the next unit continues from."""
        header, _, rest = text.partition(" ")
        if not _HEADER.match(header):
            raise _Refused(-113)
        query = header.endswith("?")
        name = header.rstrip("?")
        parameters = _parameters(rest)
        if name.lstrip(":").startswith("*"):
            tokens: tuple[str, ...] = (name.lstrip(":").upper(),)
            next_path = path
        else:
            words = tuple(name.lstrip(":").upper().split(":"))
            tokens = words if name.startswith(":") else path + words
            next_path = tokens[:-1]
        entry = next((h for h in self._headers if h.matches(tokens)), None)
        handler = None if entry is None else (entry.on_query if query else entry.on_set)
        if handler is None:
            raise _Refused(-113)
        try:
            reply = handler(parameters)
        except _Refused as refused:
            if -199 <= refused.code <= -100:
                raise
            self._queue(refused.code)
            return next_path
        if query:
            replies.append(reply or "")
        return next_path

    def _command_tree(self) -> list[_Header]:
        tree: list[tuple[str, Callable[[list[str]], None] | None, Callable[[list[str]], str] | None]] = [
            ("*IDN", None, _query(self._idn)),
            ("*RST", self._reset, None),
            ("*CLS", self._clear_status, None),
            ("*OPC", self._operation_complete, _query(lambda: "1")),
            ("*WAI", _none, None),
            ("*TST", None, _query(lambda: "0")),
            ("*TRG", self._bus_trigger, None),
            ("*STB", None, _query(lambda: str(self._status_byte()))),
            ("*SRE", partial(self._set_enable, "SRE", 255), _query(partial(self._enable, "SRE"))),
            ("*ESE", partial(self._set_enable, "ESE", 255), _query(partial(self._enable, "ESE"))),
            ("*ESR", None, _query(partial(self._read_event, "ESR"))),
            ("SYSTem:ERRor:[NEXT]", None, _query(self._next_error)),
            ("SYSTem:PRESet", self._reset, None),
            ("SYSTem:ZCHeck:[STATe]", self._set_zero_check, _query(lambda: _bit(self.zero_check))),
            ("SYSTem:ZCORrect:[STATe]", self._set_zero_correct, _query(lambda: _bit(self.zero_correct))),
            ("STATus:PRESet", self._preset_status, None),
            ("STATus:MEASurement:[EVENt]", None, _query(partial(self._read_event, "MEAS"))),
            ("STATus:MEASurement:ENABle", partial(self._set_enable, "MEAS", 65535),
             _query(partial(self._enable, "MEAS"))),
            ("[SENSe#]:FUNCtion", self._set_function, _query(lambda: FUNCTION_REPLY[self.function])),
            ("FORMat:ELEMents", self._set_elements, _query(self._elements)),
            ("FORMat:[DATA]", self._set_data_format, _query(lambda: "ASC")),
            ("INITiate:[IMMediate]", self._initiate, None),
            ("ABORt", self._abort, None),
            ("FETCh", None, _query(self._fetch)),
            ("READ", None, _query(self._read)),
            ("MEASure", None, _query(self._measure)),
            ("TRACe:POINts", self._set_points, _query(lambda: str(self.buffer_points))),
            ("TRACe:CLEar", self._clear_buffer, None),
            ("TRACe:FEED", self._set_feed, _query(lambda: self.feed)),
            ("TRACe:FEED:CONTrol", self._set_feed_control, _query(lambda: self.feed_control)),
            ("TRACe:DATA", None, _query(lambda: ",".join(self.buffer))),
            ("TRIGger:[SEQuence#]:SOURce", self._set_trigger_source, _query(lambda: self.trigger_source)),
            ("TRIGger:[SEQuence#]:COUNt", self._set_trigger_count, _query(lambda: str(self.trigger_count))),
            ("TRIGger:[SEQuence#]:DELay", self._set_trigger_delay, _query(lambda: _nr3(self.trigger_delay_s))),
        ]
        for function, keyword in FUNCTIONS.items():
            sense = f"[SENSe#]:{keyword}"
            tree += [
                (f"{sense}:RANGe:[UPPer]", partial(self._set_range, function), _query(partial(self._range, function))),
                (f"{sense}:RANGe:AUTO", partial(self._set_auto_range, function),
                 _query(partial(self._auto_range, function))),
                (f"{sense}:NPLCycles", partial(self._set_nplc, function), _query(partial(self._nplc, function))),
                (f"CONFigure:{keyword}", partial(self._configure, function), None),
                (f"MEASure:{keyword}", None, _query(partial(self._measure, function))),
            ]
        if self.model == "6517B":
            tree += [
                ("SOURce:VOLTage:[LEVel]:[IMMediate]:[AMPLitude]", self._set_source,
                 _query(lambda: _nr3(self.source_v))),
                ("SOURce:VOLTage:RANGe", self._set_source_range, _query(lambda: _nr3(self.source_range_v))),
                ("SOURce:VOLTage:RANGe:AUTO", self._set_source_auto_range,
                 _query(lambda: _bit(self.source_auto_range))),
                ("OUTPut#:[STATe]", self._set_output, _query(lambda: _bit(self.output))),
            ]
        return [_Header(tuple(_Keyword.parse(w) for w in spec.split(":")), on_set, on_query)
                for spec, on_set, on_query in tree]

    # --- common commands and status -------------------------------------------------------------------

    def _idn(self) -> str:
        i = self.identity
        return f"{i.make},{i.model},{i.serial},{i.firmware}"

    def _reset(self, parameters: list[str]) -> None:
        _none(parameters)
        self._power_on()

    def _clear_status(self, parameters: list[str]) -> None:
        _none(parameters)
        self.errors.clear()
        self.events = {name: 0 for name in self.events}

    def _operation_complete(self, parameters: list[str]) -> None:
        _none(parameters)
        self.events["ESR"] |= 1

    def _preset_status(self, parameters: list[str]) -> None:
        _none(parameters)
        self.status_enable["MEAS"] = 0

    def _set_enable(self, register: str, largest: int, parameters: list[str]) -> None:
        value = _number(_one(parameters), 0, largest, 0)
        if not value.is_integer():
            raise _Refused(-224)
        self.status_enable[register] = int(value)

    def _enable(self, register: str) -> str:
        return str(self.status_enable[register])

    def _read_event(self, register: str) -> str:
        value, self.events[register] = self.events[register], 0
        return str(value)

    def _status_byte(self) -> int:
        """Bit 0 measurement summary, bit 2 error queue not empty, bit 5 standard events, bit 6 MSS."""
        byte = (1 if self.events["MEAS"] & self.status_enable["MEAS"] else 0) \
            | (4 if self.errors else 0) | (32 if self.events["ESR"] & self.status_enable["ESE"] else 0)
        return byte | (64 if byte & self.status_enable["SRE"] & ~64 else 0)

    def _next_error(self) -> str:
        code, text = self.errors.popleft() if self.errors else (0, "No error")
        return f'{code},"{text}"'

    # --- measurement settings --------------------------------------------------------------------------

    def _set_zero_check(self, parameters: list[str]) -> None:
        self.zero_check = _flag(_one(parameters))
        if self.zero_check:
            self.charge_c = 0.0

    def _set_zero_correct(self, parameters: list[str]) -> None:
        self.zero_correct = _flag(_one(parameters))

    def _set_function(self, parameters: list[str]) -> None:
        found = re.fullmatch(r"""(['"])([A-Za-z]+)(?::DC)?\1""", _one(parameters), re.IGNORECASE)
        if found is None:
            raise _Refused(-224)
        self.function = _choice(found.group(2), {f: k.split(":")[0].replace("[", "") for f, k in FUNCTIONS.items()})

    def _configure(self, function: str, parameters: list[str]) -> None:
        _none(parameters)
        self.function = function

    def _set_range(self, function: str, parameters: list[str]) -> None:
        ranges = RANGES[self.model][function]
        largest = LARGEST_EXPECTED[self.model].get(function, ranges[-1] * OVER_RANGE * (1 + 1e-9))
        low = -largest if SIGNED_RANGES[self.model] else 0.0
        expected = abs(_number(_one(parameters), low, largest, largest))
        self.ranges[function] = next((r for r in ranges if _holds(r, expected)), ranges[-1])

    def _range(self, function: str) -> str:
        fixed = self.ranges[function]
        if fixed is not None:
            return _nr3(fixed)
        ranges = RANGES[self.model][function]
        signal = abs(self._signal(function))
        return _nr3(next((r for r in ranges if _holds(r, signal)), ranges[-1]))

    def _set_auto_range(self, function: str, parameters: list[str]) -> None:
        if _flag(_one(parameters)):
            self.ranges[function] = None
        elif self.ranges[function] is None:
            self.ranges[function] = float(self._range(function))

    def _auto_range(self, function: str) -> str:
        return _bit(self.ranges[function] is None)

    def _set_nplc(self, function: str, parameters: list[str]) -> None:
        self.nplc[function] = _number(_one(parameters), *NPLC_LIMITS, 1.0)

    def _nplc(self, function: str) -> str:
        return _nr3(self.nplc[function])

    def _set_elements(self, parameters: list[str]) -> None:
        if not parameters:
            raise _Refused(-109)
        allowed = ELEMENTS[self.model]
        names = [_choice(p, {name: ELEMENT_NAMES[name] for name in allowed}) for p in parameters]
        if len(set(names)) != len(names):
            raise _Refused(-224)
        chosen = tuple(name for name in allowed if name in names)
        if self.model == "6517B" and chosen not in (("READ",), allowed):
            raise _Refused(-224)
        self.elements = chosen

    def _elements(self) -> str:
        return ",".join(self.elements or ELEMENTS[self.model])

    @staticmethod
    def _set_data_format(parameters: list[str]) -> None:
        _choice(_one(parameters), {"ASC": "ASCii"})

    # --- trigger model and trace buffer -----------------------------------------------------------------

    def _set_trigger_source(self, parameters: list[str]) -> None:
        self.trigger_source = _choice(_one(parameters), TRIGGER_SOURCES)

    def _set_trigger_count(self, parameters: list[str]) -> None:
        value = _number(_one(parameters), 1, 99999, 1)
        if not value.is_integer():
            raise _Refused(-224)
        self.trigger_count = int(value)

    def _set_trigger_delay(self, parameters: list[str]) -> None:
        self.trigger_delay_s = _number(_one(parameters), 0.0, 999999.999, 0.0)

    def _initiate(self, parameters: list[str]) -> None:
        _none(parameters)
        if self.trigger_source in ("IMM", "TIM"):
            self.last_readings = [self._take_reading() for _ in range(self.trigger_count)]
        else:
            self.last_readings = None
            self.awaited_triggers = self.trigger_count

    def _abort(self, parameters: list[str]) -> None:
        _none(parameters)
        self.awaited_triggers = 0

    def _bus_trigger(self, parameters: list[str]) -> None:
        _none(parameters)
        if self.trigger_source != "BUS" or not self.awaited_triggers:
            raise _Refused(-211)
        self.awaited_triggers -= 1
        self.last_readings = [*(self.last_readings or []), self._take_reading()]

    def _fetch(self) -> str:
        if not self.last_readings:
            raise _Refused(-230)
        return ",".join(self.last_readings)

    def _read(self) -> str:
        if self.trigger_source not in ("IMM", "TIM"):
            raise _Refused(-214)
        self._initiate([])
        return self._fetch()

    def _measure(self, function: str | None = None) -> str:
        if function is not None:
            self.function = function
        self.last_readings = [self._take_reading()]
        return self.last_readings[0]

    def _set_points(self, parameters: list[str]) -> None:
        value = _number(_one(parameters), *BUFFER_POINTS, BUFFER_POINTS[0])
        if not value.is_integer():
            raise _Refused(-224)
        self.buffer_points = int(value)
        del self.buffer[self.buffer_points:]

    def _clear_buffer(self, parameters: list[str]) -> None:
        _none(parameters)
        self.buffer.clear()

    def _set_feed(self, parameters: list[str]) -> None:
        self.feed = _choice(_one(parameters), {"SENS": "SENSe", "SENS1": "SENSe1", "CALC": "CALCulate",
                                               "CALC1": "CALCulate1", "NONE": "NONE"}).replace("1", "")

    def _set_feed_control(self, parameters: list[str]) -> None:
        self.feed_control = _choice(_one(parameters), {"NEXT": "NEXT", "NEV": "NEVer", "ALW": "ALWays",
                                                       "PRET": "PRETrigger"})

    # --- voltage source (6517B) -----------------------------------------------------------------------

    def _set_source(self, parameters: list[str]) -> None:
        volts = _number(_one(parameters), -SOURCE_RANGES[-1], SOURCE_RANGES[-1], 0.0)
        if self.source_auto_range:
            self.source_range_v = next(r for r in SOURCE_RANGES if abs(volts) <= r)
        elif abs(volts) > self.source_range_v:
            raise _Refused(-222)
        self.source_v = volts

    def _set_source_range(self, parameters: list[str]) -> None:
        volts = abs(_number(_one(parameters), -SOURCE_RANGES[-1], SOURCE_RANGES[-1], SOURCE_RANGES[0]))
        self.source_range_v = next(r for r in SOURCE_RANGES if volts <= r)
        self.source_auto_range = False

    def _set_source_auto_range(self, parameters: list[str]) -> None:
        self.source_auto_range = _flag(_one(parameters))

    def _set_output(self, parameters: list[str]) -> None:
        self.output = _flag(_one(parameters))

    # --- readings ----------------------------------------------------------------------------------------

    def _signal(self, function: str) -> float:
        if self.zero_check:
            return 0.0
        return {"CHAR": self.charge_c, "CURR": self.leakage_a, "VOLT": 0.0, "RES": OVERFLOW_READING}[function]

    def _value(self) -> tuple[float, str]:
        """The reading and its status letter: N normal, Z zero check (6517B), O overflow."""
        if self.zero_check and self.model == "6517B":
            return ZERO_CHECK_READING, "Z"
        value = self._signal(self.function)
        fixed = self.ranges[self.function]
        if value == OVERFLOW_READING or (fixed is not None and not _holds(fixed, abs(value))):
            return OVERFLOW_READING, "O"
        return value, "N"

    def _take_reading(self) -> str:
        self.reading_count += 1
        value, status = self._value()
        elapsed = self.clock() - self._start
        if self.model == "6514":
            fields = {"READ": _nr3(value), "TIME": _nr3(elapsed), "STAT": _nr3(1.0 if status == "O" else 0.0)}
            reading = ",".join(fields[name] for name in self.elements or ELEMENTS["6514"])
        elif self.elements == ("READ",):
            reading = _nr3(value)
        else:
            reading = (f"{_nr3(value)}{status}{UNITS[self.function]},{elapsed:+07.1f}secs,"
                       f"{self.reading_count:+06d}RDNG#")
        self._store(reading)
        return reading

    def _store(self, reading: str) -> None:
        """Into the trace buffer while it feeds from the sensor and is not full; full sets event bit 9."""
        self.events["MEAS"] |= 32
        if self.feed != "SENS" or self.feed_control != "NEXT" or len(self.buffer) >= self.buffer_points:
            return
        self.buffer.append(reading)
        if len(self.buffer) >= self.buffer_points:
            self.feed_control = "NEV"
            self.events["MEAS"] |= 512
