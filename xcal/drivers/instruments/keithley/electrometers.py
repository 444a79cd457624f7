"""Keithley 6517B and 6514 electrometers over RS-232 (9600 baud, CR LF) or GPIB through VISA.

The protocol is SCPI, PUBLIC in the vendor reference manuals (see the project's protocol notes and each driver's
evidence table). The driver uses `*IDN?`, `*RST`, `*CLS`, `:SYST:ERR?`, zero check and zero correct
(`:SYST:ZCH`, `:SYST:ZCOR`), the function (`:SENS:FUNC 'CHAR'|'CURR'`), ranges (`:SENS:CHAR:RANG[:AUTO]`,
`:SENS:CURR:RANG[:AUTO]`), the reading format (`:FORM:ELEM`), `:INIT`, `:FETC?` and `:READ?`; each setting is
declared once (`Setting`) with its query form. Left out: voltage and resistance, the trace buffer, trigger
sources and the voltage source, which a charge measurement for X-ray QC does not need.

After every setting command the driver reads `:SYST:ERR?`; a code other than 0 becomes an
InstrumentReportedError with the instrument's code and text (the rest of the queue is read and logged).
A query that times out is followed by `:SYST:ERR?` too, since an SCPI instrument answers a refused query
with silence and queues the reason. A reading of +9.9E37 (overflow) or +9.91E37 (6517B zero check) is no
measurement, as both manuals say, and is refused as such.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ....errors import ConfigError, InstrumentError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from ....units import Q_
from ...base import Driver, Where, poll_until, unexpected_reply
from ...capabilities import InstrumentIdentity
from ...evidence import Command, Evidence, Source
from ...link import LinkSettings
from ...settings import Choice, Flag, Option, Refused, Setting, Validator

if TYPE_CHECKING:  # pragma: no cover
    import pint

log = logging.getLogger("xcal.drivers.instruments.keithley.electrometers")

NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_ERROR = re.compile(r'^([+-]?\d+),"(.*)"$', re.ASCII)
_RECORD_6517B = re.compile(rf"^(?P<value>{NUMBER})(?P<suffix>[A-Za-z#]*)"
                           rf"(?:,(?P<time>{NUMBER})secs,(?P<number>[+-]?\d+)RDNG#)?$", re.ASCII)
_RECORD_6514 = re.compile(rf"^({NUMBER}),({NUMBER}),({NUMBER})$", re.ASCII)
_NUMBER = re.compile(rf"^{NUMBER}$", re.ASCII)

UNIT_SUFFIXES: dict[str, str] = {"ADC": "current", "COUL": "charge"}
"""6517B reading units the driver reads, and the function each means: ADC in the notes' example, COUL in the
6517A reference manual's figure 3-19 (the 6517B manual's figure 113 shows the same record as an image)."""
STATUS_LETTERS: dict[str, str] = {"N": "normal", "Z": "zero check is on", "O": "overflow", "U": "underflow",
                                  "R": "relative (REL) is on", "L": "out of limit"}
"""The status letter before the unit (6517B reference manual p. 14-54); only N is a plain measurement."""
OVERFLOW = 9.9e37
ZERO_CHECK = 9.91e37
"""6517B reference manual p. 14-53: overflow and out-of-limit read +9.9E37, zero check +9.91E37; the 6514
instruction manual p. 16-6: overflow +9.9E37."""

FUNCTIONS: dict[str, tuple[str, str]] = {"charge": ("CHAR", "C"), "current": ("CURR", "A")}
"""Reading name -> SCPI function name and SI unit."""
_DISPLAY_UNITS = {"charge": "nC", "current": "pA"}
_ERROR_QUEUE_LIMIT = 32
_ANY = Where("Keithley electrometer")
_UNEXPECTED_FIX = ("check that the electrometer speaks SCPI with CR LF at 9600 baud (RS-232) or is on this GPIB "
                   "address; a garbled reply can also mean a bad cable")


@dataclass(frozen=True)
class Reading6517B:
    """One 6517B reading: the value, its status and unit suffix if sent, and the time and reading number if sent."""

    value: float
    suffix: str | None
    time_s: float | None
    number: int | None


@dataclass(frozen=True)
class Reading6514:
    """One 6514 reading in the `READ,TIME,STAT` format; `status` is the status word as sent (bit 0: overflow)."""

    value: float
    timestamp_s: float
    status: float


def _unexpected(where: Where, command: str, reply: object, expected: str) -> ProtocolError:
    return unexpected_reply(where, command, reply, expected, _UNEXPECTED_FIX)


def _finite(text: str, command: str, reply: str, where: Where) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _unexpected(where, command, reply, f"a finite number, got {text!r}")
    return value


def parse_identity(reply: str, where: Where = _ANY) -> InstrumentIdentity:
    """`KEITHLEY INSTRUMENTS INC.,MODEL 6517B,1234567,A13/700x` -> make, model, serial, firmware."""
    fields = [field.strip() for field in reply.split(",")]
    if len(fields) != 4 or not fields[0] or not fields[1]:
        raise _unexpected(where, "*IDN?", reply, "four comma-separated fields: make, model, serial, firmware")
    return InstrumentIdentity(*fields)


def parse_error(reply: str, where: Where = _ANY) -> tuple[int, str]:
    """`-113,"Undefined header"` -> (-113, "Undefined header"); `0,"No error"` -> (0, "No error")."""
    found = _ERROR.match(reply)
    if found is None:
        raise _unexpected(where, ":SYST:ERR?", reply, 'an error code and quoted text, like 0,"No error"')
    return int(found.group(1)), found.group(2)


def parse_6517b_reading(reply: str, command: str = ":READ?",
                        where: Where = _ANY) -> Reading6517B:
    """A bare number (`:FORM:ELEM READ`) or the default record `+1.234E-12NADC,+0012.3secs,+00001RDNG#`.

    A suffix is a status letter (STATUS_LETTERS) and a unit the driver reads (UNIT_SUFFIXES); any other suffix
    is a ProtocolError that says so.
    """
    found = _RECORD_6517B.match(reply)
    if found is None:
        raise _unexpected(where, command, reply, "a number, optionally with a unit suffix, e.g. "
                                                 "+1.234E-12NADC,+0012.3secs,+00001RDNG#")
    suffix = found.group("suffix") or None
    if suffix is not None and (suffix[:1] not in STATUS_LETTERS or suffix[1:] not in UNIT_SUFFIXES):
        readable = ", ".join(f"N{unit} ({function})" for unit, function in UNIT_SUFFIXES.items())
        raise ProtocolError(
            f"{where.instrument} answered {reply!r} to {command!r}: the unit suffix {suffix!r} is not one the "
            f"driver reads (a status letter then a unit: {readable})",
            instrument=where.instrument, resource=where.resource,
            fix="the driver sets :FORM:ELEM READ so readings come as bare numbers; if the instrument was reset "
                "since, arm it again")
    time_s = found.group("time")
    number = found.group("number")
    return Reading6517B(value=_finite(found.group("value"), command, reply, where), suffix=suffix,
                        time_s=None if time_s is None else _finite(time_s, command, reply, where),
                        number=None if number is None else int(number))


def parse_6514_reading(reply: str, command: str = ":READ?",
                       where: Where = _ANY) -> Reading6514:
    """`+1.234567E-09,+1.234000E+01,+0.000000E+00` (`FORM:ELEM READ,TIME,STAT`) -> reading, timestamp, status."""
    found = _RECORD_6514.match(reply)
    if found is None:
        raise _unexpected(where, command, reply, "three comma-separated numbers: reading, timestamp, status")
    value, stamp, status = (_finite(text, command, reply, where) for text in found.groups())
    return Reading6514(value, stamp, status)


def _scpi_number(value: float) -> str:
    return f"{value:.6g}"


def _fix_for(code: int) -> str:
    """What to do about an SCPI error, by its class (-1xx command, -2xx execution, others device/query)."""
    if -199 <= code <= -100:
        return "the instrument does not accept this command or value here: check the model and its manual"
    if -299 <= code <= -200:
        return "the instrument could not carry it out in its present state: check the function and zero check"
    return "look the code up in the instrument's reference manual"


class ScpiFlag(Flag):
    """Sent as ON / OFF; an SCPI instrument answers a boolean query with 1 or 0 (ON / OFF read too)."""

    def __init__(self) -> None:
        super().__init__("ON", "OFF")

    def decode(self, text: str) -> Any:
        return {"1": True, "0": False, "ON": True, "OFF": False}.get(text.strip().upper())


class FunctionChoice(Choice):
    """`charge` or `current`, sent as `'CHAR'` / `'CURR'`; the query's quoted answer may carry `:DC`."""

    def __init__(self) -> None:
        super().__init__(wire={name: f"'{scpi}'" for name, (scpi, _unit) in FUNCTIONS.items()})

    def decode(self, text: str) -> Any:
        name = text.strip().strip("'\"").upper().removesuffix(":DC")
        return next((function for function, (scpi, _unit) in FUNCTIONS.items() if scpi == name), None)


class RangeValidator(Validator):
    """A fixed measuring range as a Quantity: one of `fixed` where the manual lists them, else any expected
    reading above zero up to `largest` (in `unit`), from which the instrument picks the range holding it."""

    def __init__(self, model: str, function: str, largest: float, fixed: tuple[float, ...] = ()) -> None:
        self.model, self.function, self.largest, self.fixed = model, function, largest, fixed
        self.unit = FUNCTIONS[function][1]

    def _names(self) -> str:
        return ", ".join(f"{Q_(r, self.unit).to_compact():~P}" for r in self.fixed)

    def encode(self, value: Any) -> str:
        import pint

        try:
            number = float(value.to(self.unit).magnitude)
        except (AttributeError, pint.DimensionalityError):
            raise Refused(f"a {self.function} range must be given in {self.unit}, got {value!r}",
                          f"use auto or a Quantity such as Q_(20, 'n{self.unit}')") from None
        if self.fixed and not any(math.isclose(number, r, rel_tol=1e-9) for r in self.fixed):
            raise Refused(f"the {self.model} has no {self.function} range of {value:~P}",
                          f"use auto or one of {self._names()}")
        if not math.isfinite(number) or not number > 0:
            raise Refused(f"a {self.function} range must be more than zero, got {value:~P}",
                          "use auto or a positive range")
        if number > self.largest * (1 + 1e-9):
            raise Refused(f"the {self.model} has no {self.function} range of {value:~P} (its largest expected "
                          f"reading is {Q_(self.largest, self.unit).to_compact():~P})",
                          "use auto or a smaller range")
        return _scpi_number(number)

    def decode(self, text: str) -> Any:
        stripped = text.strip()
        if not _NUMBER.match(stripped) or not math.isfinite(float(stripped)):
            return None
        return Q_(float(stripped), self.unit)

    def describe(self) -> str:
        return self._names() if self.fixed else f"more than 0 … {self.largest:g} {self.unit}"

    def examples(self) -> tuple[Any, ...]:
        values = self.fixed or (self.largest / 1000, self.largest)
        return tuple(Q_(v, self.unit) for v in values)

    def refused_examples(self) -> tuple[Any, ...]:
        values = (self.fixed[0] * 1.5, self.fixed[-1] * 10) if self.fixed else (0.0, self.largest * 1.01)
        return tuple(Q_(v, self.unit) for v in values)


def _range_setting(model: str, function: str, largest: float, fixed: tuple[float, ...] = ()) -> Setting[Any]:
    """One model's fixed range setting for `function`."""
    scpi = FUNCTIONS[function][0]
    return Setting(f":SENS:{scpi}:RANG?", f":SENS:{scpi}:RANG {{}}",
                   f"The fixed {function} range (the instrument's expected reading)",
                   RangeValidator(model, function, largest, fixed))


_RANGE_OPTIONS = tuple(Option(f"{name}_range", name, "auto", f"a fixed {name} range, or auto", low=0, unit=unit,
                              above=True) for name, (_scpi, unit) in FUNCTIONS.items())


_SOURCES = {
    "manual-6517b": Source(
        "Keithley Model 6517B Electrometer Reference Manual, 6517B-901-01 Rev. C (Aug. 2015)", "vendor",
        "https://www.manualslib.com/manual/1295623/Keithley-6517b.html: section 11 pp. 11-12 to 11-14 (syntax, "
        "query forms, short forms), section 14 pp. 14-51 to 14-54 (:FORMat, reading elements, +9.9E37 / "
        "+9.91E37), p. 14-63 (:RANGe[:UPPer] 0 to 21e-3 A, 0 to 2.1e-6 C), p. 14-117 (status); the other "
        "commands are in section 14's command summary, whose pages are not quoted here"),
    "user-6517b": Source(
        "Keithley Model 6517B Electrometer User's Manual, 6517B-900-01 Rev. A (Jun. 2008), section 5", "vendor",
        "https://www.easymanua.ls/keithley/6517b/manual?p=72 (p. 5-7: query forms, default nodes, `;`) and "
        "the section 5 command summary"),
    "manual-6517a": Source(
        "Keithley Model 6517A User's Manual, IEEE-488 reference (section 3)", "vendor",
        "https://www.easymanua.ls/keithley/6517a/manual?p=227 (figure 3-19 ASCII data format: units VDC, ADC, "
        "OHM, COUL; status N, Z, O, U, R, L) and p. 3-93 (:RANGe[:UPPer], :RANGe:AUTO and its query)"),
    "manual-6514": Source(
        "Keithley Model 6514 System Electrometer Instruction Manual, 6514-901-01 Rev. D (May 2003)", "vendor",
        "https://www.manualslib.com/manual/748234/Keithley-6514.html: p. 12-13 (syntax), table 6-2 (range "
        "commands), pp. 16-4 to 16-6 (:FORMat, elements READing, TIME, STATus; overflow +9.9E37); the other "
        "commands are in its SCPI command tables, whose pages are not quoted here"),
    "pymeasure": Source(
        "pymeasure 0.16.0 Keithley6517B (pymeasure/instruments/keithley/keithley6517b.py, buffer.py)",
        "third-party", "https://github.com/pymeasure/pymeasure; its tests/instruments/keithley/ has no test of the "
        "6517B class, neither replayed nor on a device"),
    "instrumentkit": Source(
        "InstrumentKit Keithley6517b and Keithley6514 (src/instruments/keithley/)", "third-party",
        "https://github.com/instrumentkit/InstrumentKit; its tests replay hand-written replies, not hardware"),
    "comet": Source(
        "comet K6517B and K6514 (src/comet/driver/keithley/)", "third-party",
        "https://github.com/hephy-dd/comet; its tests replay hand-written replies, not hardware"),
}


def _evidence(manuals: tuple[str, ...], range_manuals: tuple[str, ...], format_elements: str,
              third_party: tuple[str, ...]) -> Evidence:
    """The commands both drivers send, shown by the model's manuals (`range_manuals` also for the range commands)
    and the third-party clients given."""
    manual = manuals
    ik = ("instrumentkit",) if "instrumentkit" in third_party else ()
    pm = ("pymeasure",) if "pymeasure" in third_party else ()
    comet = ("comet",) if "comet" in third_party else ()
    comet_zero_check = comet if "manual-6514" in manuals else ()
    commands = [
        Command("*IDN?", manual + pm + comet, "IEEE 488.2 common command"),
        Command("*RST", manual + pm + comet),
        Command("*CLS", manual + pm + comet, "pymeasure sends `*RST;:stat:pres;:*CLS;` on one line"),
        Command(":SYST:ERR?", manual + pm + comet, "comet asks `:SYST:ERR:NEXT?`: the same query, NEXT optional"),
        Command(":SYST:ZCH {state}", manual + ik + comet_zero_check, "ON / OFF"),
        Command(":SYST:ZCH?", manual + ik + comet_zero_check,
                "answers 1 / 0 (comet's 6514 client reads it as an integer)"),
        Command(":SYST:ZCOR {state}", manual + ik),
        Command(":SYST:ZCOR?", manual + ik),
        Command(":SENS:FUNC {function}", manual + pm + ik, "InstrumentKit spells it `FUNCTION \"CHAR\"`"),
        Command(":SENS:FUNC?", manual + ik, "InstrumentKit's replayed answer is quoted, e.g. \"VOLT:DC\""),
        Command(f":FORM:ELEM {format_elements}", manual),
        Command(":FORM:ELEM?", manual),
        Command(":INIT", manual + pm),
        Command(":FETC?", manual + ik),
        Command(":READ?", manual + pm + ik),
    ]
    for scpi, function in (("CHAR", "charge"), ("CURR", "current")):
        range_users = ik + (pm if scpi == "CURR" else ())
        commands += [
            Command(f":SENS:{scpi}:RANG {{range}}", manual + range_manuals + range_users,
                    "the expected reading; the instrument picks the smallest range holding it"),
            Command(f":SENS:{scpi}:RANG?", manual + range_manuals + range_users),
            Command(f":SENS:{scpi}:RANG:AUTO {{state}}", manual + range_manuals + range_users,
                    f"{function} auto range ON / OFF"),
            Command(f":SENS:{scpi}:RANG:AUTO?", manual + range_manuals + ik),
        ]
    return Evidence(sources={key: _SOURCES[key] for key in (*manual, *range_manuals, *third_party)},
                    commands=tuple(commands),
                    disagreements=_DISAGREEMENTS)


_DISAGREEMENTS = (
    "Charge unit suffix: the protocol notes leave it unconfirmed; the 6517A manual's figure 3-19 gives the unit "
    "COUL after the status letter (N normal), so a normal charge reading ends NCOUL, five letters. pymeasure's "
    "Keithley6517B.extract_value accepts exactly four letters ([A-Z]{4}), so it cannot read a charge record; "
    "InstrumentKit cuts the value at the first N. xcal reads NADC and NCOUL and sets :FORM:ELEM READ anyway.",
    "Range parameter: the 6517B manual takes 0 to 21e-3 (A) and 0 to 2.1e-6 (C), an absolute expected reading; "
    "pymeasure's current_range validator sends -20e-3 to 20e-3; the 6514 manual takes -210 to 210 (V), signed. "
    "xcal sends positive ranges only and refuses 6517B ranges above the manual's largest expected reading.",
    "Range lists: InstrumentKit lists 6517B charge ranges 2 nC to 2 µC and 6514 ranges 20 nC to 20 µC; the notes "
    "give the 6514's as 20 nC to 20 µC and the 6517B manual's largest charge as 2.1e-6 C: all agree.",
    "Readings that are no measurement: both manuals send +9.9E37 for overflow, the 6517B +9.91E37 under zero "
    "check. pymeasure and InstrumentKit return these as values; xcal refuses them with the reason.",
    "Reading record: the notes' `+0012.3secs,+00001RDNG#` is not shown in a manual text I could read (the 6517A "
    "figure shows a real-time stamp and `rdg#`; the 6517B figure is an image); the *RST default elements include "
    "CHANnel and STATus. xcal never depends on it: it sets :FORM:ELEM READ.",
    "Buffer: pymeasure's buffer_data casts every :TRAC:DATA? field to float, which needs :FORM:ELEM READ, and "
    "pymeasure never sends it (in the default record it fails); its config_buffer sets trigger_count and "
    "trigger_delay, which its Keithley6517B does not declare, so nothing is sent and each :INIT stores one point.",
    "`:*CLS`: pymeasure's reset puts a root colon before a common command; IEEE 488.2 writes common commands "
    "without one, and no hardware-tested source shows that the 6517B accepts it (xcal's simulator does).",
)


class _KeithleyElectrometer(Driver):
    """What the 6517B and 6514 share: SCPI identity, error queue, zero check/correct, function and ranges.

    `arm()` is: zero check on (input shunted), the function, reading format and range when not yet set, zero
    correct on, zero check off (integration starts), `:INIT`, then `:FETC?` for the starting charge.
    `wait_for_exposure` polls `:READ?`: the exposure has started once the charge moved more than
    `exposure_threshold` from the starting charge, and is complete when two polls in a row then differ by at
    most `settle_fraction` of that change. `read_exposure` and `read_now` take a fresh `:READ?`.

    Options: `charge_range` / `current_range` (`auto`, the default, or a quantity such as `20 nC`),
    `poll_interval` (default 100 ms), `exposure_threshold` (default 1 pC), `settle_fraction` (default 0.001).
    On GPIB, give `read_termination` / `write_termination` if the bus is not set to CR LF.
    """

    capabilities = ("Electrometer",)
    protocol_status = "PUBLIC"
    transports = ("serial", "gpib")
    link = LinkSettings(read_termination="\r\n", write_termination="\r\n", baudrate=9600, bytesize=8,
                        parity="N", stopbits=1)
    simulator = "xcal.simulators.keithley:KeithleySimulator"
    unexpected_fix = _UNEXPECTED_FIX
    model_number: ClassVar[str] = ""
    format_elements: ClassVar[str] = ""
    option_specs = (
        Option("poll_interval", "time", "100 ms", "how often wait_for_exposure reads the charge", low=0, unit="s",
               above=True, timing=True),
        Option("exposure_threshold", "charge", "1 pC", "the change from the starting charge that means an exposure "
               "started", low=0, unit="C", above=True),
        Option("settle_fraction", "number", 0.001, "how still the charge must hold, as a fraction of its change, "
               "between 0 and 1", low=0, high=1, above=True),
        *_RANGE_OPTIONS,
    )

    zero_check: Setting[bool] = Setting(":SYST:ZCH?", ":SYST:ZCH {}",
                                        "Zero check: the input shunted, its charge dissipated", ScpiFlag())
    zero_correct: Setting[bool] = Setting(":SYST:ZCOR?", ":SYST:ZCOR {}",
                                          "Zero correct: the zero-check offset subtracted", ScpiFlag())
    sense_function: Setting[str] = Setting(":SENS:FUNC?", ":SENS:FUNC {}", "The measuring function", FunctionChoice())
    charge_auto_range: Setting[bool] = Setting(":SENS:CHAR:RANG:AUTO?", ":SENS:CHAR:RANG:AUTO {}",
                                               "Auto range for charge", ScpiFlag())
    current_auto_range: Setting[bool] = Setting(":SENS:CURR:RANG:AUTO?", ":SENS:CURR:RANG:AUTO {}",
                                                "Auto range for current", ScpiFlag())

    def __init__(self, resource: str, **kwargs: Any) -> None:
        try:
            super().__init__(resource, **kwargs)
        except ConfigError:
            if kwargs.get("transport") is not None:
                kwargs["transport"].close()
            raise
        values = self.option_values
        self._poll_s = float(values["poll_interval"].magnitude)
        self._threshold_c = float(values["exposure_threshold"].magnitude)
        self._settle = float(values["settle_fraction"])
        self._range: dict[str, float | None] = {name: values[f"{name}_range"] for name in FUNCTIONS}
        self.function: str | None = None
        self._baseline_c: float | None = None

    @classmethod
    def check_options(cls, options: dict[str, Any], owner: str = "instrument") -> dict[str, Any]:
        """The options checked for unit and range, `auto` ranges as None and fixed ranges as this model has them
        (in C or A); ConfigError naming the option. Called when the site file is loaded too."""
        given = {**{f"{name}_range": None for name in FUNCTIONS},
                 **{k: (None if k.endswith("_range") and v == "auto" else v) for k, v in options.items()}}
        values = super().check_options(given, owner)
        if not values["settle_fraction"] < 1:
            raise ConfigError(f"{owner}: option settle_fraction must be less than 1, got {values['settle_fraction']}",
                              fix="give settle_fraction like 0.001")
        for name in FUNCTIONS:
            if values[f"{name}_range"] is not None:
                values[f"{name}_range"] = cls._checked_range(name, values[f"{name}_range"], owner)
        return values

    @classmethod
    def _checked_range(cls, function: str, value: pint.Quantity, owner: str) -> float:
        setting = getattr(cls, f"{function}_range")
        try:
            return float(setting.validator.encode(value))
        except Refused as refused:
            raise ConfigError(f"{owner}: {refused.why}", fix=refused.fix) from None

    def check_range(self, function: str, value: pint.Quantity) -> float:
        """The range in C or A; ConfigError for a range this model does not have."""
        return self._checked_range(function, value, self.name)

    # --- SCPI plumbing --------------------------------------------------------------------------------

    def check_errors(self, command: str) -> None:
        """Read `:SYST:ERR?`; InstrumentReportedError for the first error, after reading the rest of the queue."""
        code, text = parse_error(self.transport.query(":SYST:ERR?"), self.where)
        if code == 0:
            return
        for _ in range(_ERROR_QUEUE_LIMIT):
            more, more_text = parse_error(self.transport.query(":SYST:ERR?"), self.where)
            if more == 0:
                break
            log.warning("%s: further queued error %d,%r", self.name, more, more_text)
        raise InstrumentReportedError(
            f"{self.name} ({self.resource}) refused {command!r}: error {code} ({text})", code=str(code),
            meaning=text, command=command, instrument=self.name, resource=self.resource, fix=_fix_for(code))

    def send(self, command: str) -> None:
        """Send one setting command and check the error queue."""
        with self.transport.locked():
            self.transport.write(command)
            self.check_errors(command)

    def ask(self, command: str) -> str:
        """Send one query; if it times out, the error queue says whether the instrument refused it."""
        with self.transport.locked():
            try:
                return self.transport.query(command)
            except InstrumentTimeout as silence:
                try:
                    self.check_errors(command)
                except InstrumentTimeout:
                    raise silence from None
                raise

    def ask_setting(self, setting: Setting[Any], command: str) -> str:
        """An SCPI query's reply is the value itself."""
        return self.ask(command)

    def apply_setting(self, setting: Setting[Any], line: str) -> None:
        """Write the command, then read the error queue (InstrumentReportedError if it was refused)."""
        self.send(line)

    # --- instrument -----------------------------------------------------------------------------------

    def identify(self) -> InstrumentIdentity:
        """`*IDN?`; ProtocolError if the instrument is another model than this driver's."""
        identity = parse_identity(self.ask("*IDN?"), self.where)
        if self.model_number not in identity.model.replace(" ", "").upper():
            raise ProtocolError(f"{self.name} ({self.resource}) says it is {identity.model!r}, not a "
                                f"{self.model_number}", instrument=self.name, resource=self.resource,
                                fix="use the driver for that model (keithley-6517b or keithley-6514)")
        return identity

    def reset(self) -> None:
        """`*RST` then `*CLS` (clears the error queue); the function and format must be set again."""
        with self.transport.locked():
            self.transport.write("*RST")
            self.transport.write("*CLS")
        self.function = None

    def set_function(self, function: str) -> None:
        """Measure `charge` or `current`: the function, this model's reading format and the range option."""
        if function not in FUNCTIONS:
            raise InstrumentError(f"{self.name}: no function {function!r}", instrument=self.name,
                                  resource=self.resource, fix="use charge or current")
        with self.transport.locked():
            self.sense_function = function
            self.reading_format = self.format_elements
            self.function = function
            self.set_range(self._range[function])

    def set_range(self, value: pint.Quantity | float | None) -> None:
        """The present function's range: None for auto, else a Quantity this model has (ConfigError if not).

        A float in C or A is sent as given, so the instrument's error queue judges it.
        """
        function = self._require_function()
        if value is None:
            setattr(self, f"{function}_auto_range", True)
        elif isinstance(value, float):
            setting = getattr(type(self), f"{function}_range")
            self.apply_setting(setting, setting.set.format(_scpi_number(value)))
        else:
            self.check_range(function, value)
            setattr(self, f"{function}_range", value)

    def _require_function(self) -> str:
        if self.function is None:
            raise InstrumentError(f"{self.name}: no function is set", instrument=self.name,
                                  resource=self.resource, fix="call set_function or arm first")
        return self.function

    def reading(self, command: str = ":READ?") -> pint.Quantity:
        """One reading of the present function by `:READ?` (or `:FETC?`), in nC or pA."""
        function = self._require_function()
        value = self._value(self.ask(command), command, function)
        return Q_(value, FUNCTIONS[function][1]).to(_DISPLAY_UNITS[function])

    def _value(self, reply: str, command: str, function: str) -> float:
        raise NotImplementedError

    def _no_measurement(self, command: str, reply: str, status: str) -> InstrumentError:
        """The error for a reading that is no measurement (overflow, zero check, ...)."""
        fixes = {"zero check is on": "arm the electrometer (it turns zero check off) or set zero_check = False",
                 "overflow": "use a larger range or auto range"}
        return InstrumentError(f"{self.name} ({self.resource}) answered {reply!r} to {command!r}: {status}, so it "
                               f"is no {self.function} reading", instrument=self.name, resource=self.resource,
                               fix=fixes.get(status, "turn the instrument's relative and limit functions off"))

    def _checked(self, value: float, command: str, reply: str) -> float:
        if math.isclose(value, ZERO_CHECK, rel_tol=1e-4):
            raise self._no_measurement(command, reply, "zero check is on")
        if abs(value) >= OVERFLOW * (1 - 1e-4):
            raise self._no_measurement(command, reply, "overflow")
        return value

    def arm(self) -> None:
        """Zero check on, charge function if not set, zero correct on, zero check off, `:INIT`, starting charge."""
        with self.transport.locked():
            self.zero_check = True
            if self.function != "charge":
                self.set_function("charge")
            self.zero_correct = True
            self.zero_check = False
            self.send(":INIT")
            self._baseline_c = self._coulombs(self.reading(":FETC?"))

    @staticmethod
    def _coulombs(charge: pint.Quantity) -> float:
        return float(charge.to("C").magnitude)

    def wait_for_exposure(self, timeout: pint.Quantity) -> None:
        """Poll `:READ?` until the charge rose and then held still (see the class docstring)."""
        from ...transport import seconds

        baseline = self._baseline_c
        if self.function != "charge" or baseline is None:
            raise InstrumentError(f"{self.name} ({self.resource}) is not armed", instrument=self.name,
                                  resource=self.resource, fix="arm the electrometer before the exposure")
        limit = seconds(timeout, "timeout")
        polls: list[float] = []

        def settled() -> bool | None:
            charge = self._coulombs(self.reading())
            change = abs(charge - baseline)
            last = polls[-1] if polls else None
            polls.append(charge)
            if change > self._threshold_c and last is not None and abs(charge - last) <= self._settle * change:
                return True
            return None

        def timed_out() -> InstrumentTimeout:
            charge = polls[-1]
            return InstrumentTimeout(
                f"{self.name} ({self.resource}) saw no complete exposure within {limit:g} s (charge "
                f"{Q_(charge, 'C').to('nC'):~P}, {Q_(abs(charge - baseline), 'C').to('pC'):~P} since arming)",
                instrument=self.name, resource=self.resource,
                fix="check the chamber is in the beam and connected, and the exposure was made; give a "
                    "longer timeout for long exposures")

        poll_until(settled, timeout_s=limit, interval_s=self._poll_s, timed_out=timed_out)

    def read_exposure(self) -> dict[str, pint.Quantity]:
        """The integrated charge."""
        if self.function != "charge":
            raise InstrumentError(f"{self.name} ({self.resource}) is not measuring charge",
                                  instrument=self.name, resource=self.resource, fix="arm it first")
        return {"charge": self.reading()}

    def read_now(self) -> dict[str, pint.Quantity]:
        """One reading of the present function (charge when none is set yet)."""
        if self.function is None:
            self.set_function("charge")
        return {self._require_function(): self.reading()}


class Keithley6517B(_KeithleyElectrometer):
    """Keithley 6517B electrometer (PUBLIC, SCPI).

    Its default reading record carries a status letter and unit (`NADC`, `NCOUL`). The driver sets
    `:FORM:ELEM READ` and the instrument sends the bare number; the unit comes from the function the driver
    set. A suffix that does come back must fit the function and be a normal reading (N), else the reading is
    refused. A fixed range is any expected reading up to the manual's largest (2.1e-6 C, 21e-3 A); the
    instrument picks the smallest range holding it.
    """

    driver_name = "keithley-6517b"
    model_number = "6517B"
    format_elements = "READ"
    evidence = _evidence(("manual-6517b", "user-6517b"), ("manual-6517a",), "READ",
                         ("pymeasure", "instrumentkit", "comet"))

    reading_format: Setting[str] = Setting(":FORM:ELEM?", ":FORM:ELEM {}", "The reading's elements: the bare value",
                             Choice("READ"))
    charge_range: Setting[pint.Quantity] = _range_setting("6517B", "charge", 2.1e-6)
    current_range: Setting[pint.Quantity] = _range_setting("6517B", "current", 21e-3)

    def _value(self, reply: str, command: str, function: str) -> float:
        reading = parse_6517b_reading(reply, command, self.where)
        if reading.suffix is not None:
            if UNIT_SUFFIXES[reading.suffix[1:]] != function:
                raise _unexpected(self.where, command, reply, f"a {function} reading, got the unit suffix "
                                                              f"{reading.suffix!r}")
            if reading.suffix[0] != "N":
                raise self._no_measurement(command, reply, STATUS_LETTERS[reading.suffix[0]])
        return self._checked(reading.value, command, reply)


class Keithley6514(_KeithleyElectrometer):
    """Keithley 6514 electrometer (PUBLIC, SCPI).

    The driver sets `:FORM:ELEM READ,TIME,STAT`, so a reading is `reading,timestamp,status`; the status word
    is kept as sent. Fixed ranges are the ones the notes list: charge 20 nC, 200 nC, 2 µC, 20 µC; current
    20 pA … 20 mA in decades; any other is refused before it is sent.
    """

    driver_name = "keithley-6514"
    model_number = "6514"
    format_elements = "READ,TIME,STAT"
    ranges = {"charge": (2e-8, 2e-7, 2e-6, 2e-5),
              "current": tuple(2 * 10.0 ** exponent for exponent in range(-11, -1))}
    evidence = _evidence(("manual-6514",), (), "READ,TIME,STAT", ("instrumentkit", "comet"))

    reading_format: Setting[str] = Setting(":FORM:ELEM?", ":FORM:ELEM {}",
                                           "The reading's elements: reading, timestamp, status",
                                           Choice("READ,TIME,STAT"))
    charge_range: Setting[pint.Quantity] = _range_setting("6514", "charge", 2e-5, ranges["charge"])
    current_range: Setting[pint.Quantity] = _range_setting("6514", "current", 2e-2, ranges["current"])

    def _value(self, reply: str, command: str, function: str) -> float:
        return self._checked(parse_6514_reading(reply, command, self.where).value, command, reply)
