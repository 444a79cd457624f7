"""Keithley 6517B and 6514 electrometers over RS-232 (9600 baud, CR LF) or GPIB through VISA.

The protocol is SCPI, PUBLIC in the vendor reference manuals (see the project's protocol notes). The driver
uses `*IDN?`, `*RST`, `*CLS`, `:SYST:ERR?`, zero check and zero correct (`:SYST:ZCH`, `:SYST:ZCOR`), the
function (`:SENS:FUNC 'CHAR'|'CURR'`), ranges (`:SENS:CHAR:RANG[:AUTO]`, `:SENS:CURR:RANG[:AUTO]`), the
reading format (`:FORM:ELEM`), `:INIT`, `:FETC?` and `:READ?`. Left out: voltage and resistance, the
trace buffer, trigger sources and the voltage source, which a charge measurement for X-ray QC does not need.

After every setting command the driver reads `:SYST:ERR?`; a code other than 0 becomes an
InstrumentReportedError with the instrument's code and text (the rest of the queue is read and logged).
A query that times out is followed by `:SYST:ERR?` too, since an SCPI instrument answers a refused query
with silence and queues the reason.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from ..errors import ConfigError, InstrumentError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from ..units import Q_, has_dimension, parse_quantity
from .base import Driver, unexpected_reply
from .capabilities import InstrumentIdentity
from .link import LinkSettings

if TYPE_CHECKING:  # pragma: no cover
    import pint

log = logging.getLogger("xcal.drivers.keithley")

NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_ERROR = re.compile(r'^([+-]?\d+),"(.*)"$', re.ASCII)
_RECORD_6517B = re.compile(rf"^(?P<value>{NUMBER})(?P<suffix>[A-Za-z#]*)"
                           rf"(?:,(?P<time>{NUMBER})secs,(?P<number>[+-]?\d+)RDNG#)?$", re.ASCII)
_RECORD_6514 = re.compile(rf"^({NUMBER}),({NUMBER}),({NUMBER})$", re.ASCII)

CONFIRMED_SUFFIXES: dict[str, str] = {"NADC": "current"}
"""6517B reading unit suffixes the protocol notes confirm (their example), and the function each means."""

FUNCTIONS: dict[str, tuple[str, str]] = {"charge": ("CHAR", "C"), "current": ("CURR", "A")}
"""Reading name -> SCPI function name and SI unit."""
_DISPLAY_UNITS = {"charge": "nC", "current": "pA"}
_ERROR_QUEUE_LIMIT = 32


class Where(NamedTuple):
    """Which instrument a reply came from, for the errors a parser raises."""

    instrument: str = "Keithley electrometer"
    resource: str | None = None


@dataclass(frozen=True)
class Reading6517B:
    """One 6517B reading: the value, its unit suffix if sent, and the time and reading number if sent."""

    value: float
    suffix: str | None
    time_s: float | None
    number: int | None


@dataclass(frozen=True)
class Reading6514:
    """One 6514 reading in the `READ,TIME,STAT` format; `status` is kept as sent, not decoded."""

    value: float
    timestamp_s: float
    status: float


def _unexpected(where: Where, command: str, reply: object, expected: str) -> ProtocolError:
    return unexpected_reply(where, command, reply, expected,
                            "check that the electrometer speaks SCPI with CR LF at 9600 baud (RS-232) or is "
                            "on this GPIB address; a garbled reply can also mean a bad cable")


def _finite(text: str, command: str, reply: str, where: Where) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _unexpected(where, command, reply, f"a finite number, got {text!r}")
    return value


def parse_identity(reply: str, where: Where = Where()) -> InstrumentIdentity:
    """`KEITHLEY INSTRUMENTS INC.,MODEL 6517B,1234567,A13/700x` -> make, model, serial, firmware."""
    fields = [field.strip() for field in reply.split(",")]
    if len(fields) != 4 or not fields[0] or not fields[1]:
        raise _unexpected(where, "*IDN?", reply, "four comma-separated fields: make, model, serial, firmware")
    return InstrumentIdentity(*fields)


def parse_error(reply: str, where: Where = Where()) -> tuple[int, str]:
    """`-113,"Undefined header"` -> (-113, "Undefined header"); `0,"No error"` -> (0, "No error")."""
    found = _ERROR.match(reply)
    if found is None:
        raise _unexpected(where, ":SYST:ERR?", reply, 'an error code and quoted text, like 0,"No error"')
    return int(found.group(1)), found.group(2)


def parse_6517b_reading(reply: str, command: str = ":READ?", where: Where = Where()) -> Reading6517B:
    """A bare number (`:FORM:ELEM READ`) or the default record `+1.234E-12NADC,+0012.3secs,+00001RDNG#`.

    A unit suffix is accepted only when the notes confirm it (CONFIRMED_SUFFIXES); any other suffix, the
    charge suffix among them, is a ProtocolError that says so.
    """
    found = _RECORD_6517B.match(reply)
    if found is None:
        raise _unexpected(where, command, reply, "a number, optionally with a unit suffix, e.g. "
                                                 "+1.234E-12NADC,+0012.3secs,+00001RDNG#")
    suffix = found.group("suffix") or None
    if suffix is not None and suffix not in CONFIRMED_SUFFIXES:
        raise ProtocolError(
            f"{where.instrument} answered {reply!r} to {command!r}: the unit suffix {suffix!r} is unconfirmed "
            f"(the protocol notes confirm only {', '.join(CONFIRMED_SUFFIXES)})",
            instrument=where.instrument, resource=where.resource,
            fix="the driver sets :FORM:ELEM READ so readings come as bare numbers; if the instrument was reset "
                "since, arm it again; check the suffix in the 6517B reference manual before accepting it")
    time_s = found.group("time")
    number = found.group("number")
    return Reading6517B(value=_finite(found.group("value"), command, reply, where), suffix=suffix,
                        time_s=None if time_s is None else _finite(time_s, command, reply, where),
                        number=None if number is None else int(number))


def parse_6514_reading(reply: str, command: str = ":READ?", where: Where = Where()) -> Reading6514:
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


class _KeithleyElectrometer(Driver):
    """What the 6517B and 6514 share: SCPI identity, error queue, zero check/correct, function and ranges.

    `arm()` is: `:SYST:ZCH ON` (input shunted), the function, reading format and range when not yet set,
    `:SYST:ZCOR ON`, `:SYST:ZCH OFF` (integration starts), `:INIT`, then `:FETC?` for the starting charge.
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
    model_number: ClassVar[str] = ""
    format_command: ClassVar[str] = ""
    ranges: ClassVar[dict[str, tuple[float, ...]]] = {}
    """Fixed ranges per function in SI units, where the notes list them; a function absent is not checked."""

    def __init__(self, resource: str, **kwargs: Any) -> None:
        super().__init__(resource, **kwargs)
        try:
            self._poll_s = self._positive_option("poll_interval", "100 ms", "time")
            self._threshold_c = self._positive_option("exposure_threshold", "1 pC", "charge")
            self._settle = self._fraction_option("settle_fraction", 0.001)
            self._range = {name: self._range_option(f"{name}_range", name) for name in FUNCTIONS}
        except ConfigError:
            self.close()
            raise
        self.function: str | None = None
        self._baseline_c: float | None = None

    @property
    def where(self) -> Where:
        """This instrument's name and resource, for errors."""
        return Where(self.name, self.resource)

    # --- options --------------------------------------------------------------------------------------

    def _quantity_option(self, name: str, default: str, dimension: str) -> "pint.Quantity":
        import pint

        value = self.options.get(name, default)
        try:
            return value if isinstance(value, pint.Quantity) and has_dimension(value, dimension) \
                else parse_quantity(value, dimension)
        except ValueError as exc:
            raise ConfigError(f"{self.name}: option {name}: {exc}", fix=f"give {name} like '{default}'") from None

    def _positive_option(self, name: str, default: str, dimension: str) -> float:
        value = float(self._quantity_option(name, default, dimension).to_base_units().magnitude)
        if not value > 0:
            raise ConfigError(f"{self.name}: option {name} must be more than zero", fix=f"give {name} like "
                                                                                       f"'{default}'")
        return value

    def _fraction_option(self, name: str, default: float) -> float:
        value = self.options.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ConfigError(f"{self.name}: option {name} must be a number between 0 and 1, got {value!r}",
                              fix=f"give {name} like {default}")
        return float(value)

    def _range_option(self, name: str, function: str) -> float | None:
        value = self.options.get(name, "auto")
        if value == "auto":
            return None
        example = "20 nC" if function == "charge" else "20 pA"
        return self.check_range(function, self._quantity_option(name, example, function))

    def check_range(self, function: str, value: "pint.Quantity") -> float:
        """The range in C or A; ConfigError for a range this model does not have (where the notes list them)."""
        import pint

        _scpi, unit = FUNCTIONS[function]
        try:
            number = float(value.to(unit).magnitude)
        except (AttributeError, pint.DimensionalityError):
            raise ConfigError(f"{self.name}: a {function} range must be given in {unit}, got {value!r}",
                              fix=f"use auto or a Quantity such as Q_(20, 'n{unit}')") from None
        allowed = self.ranges.get(function)
        if allowed is not None and not any(math.isclose(number, r, rel_tol=1e-9) for r in allowed):
            names = ", ".join(f"{Q_(r, unit).to_compact():~P}" for r in allowed)
            raise ConfigError(f"{self.name}: the {self.model_number} has no {function} range of {value:~P}",
                              fix=f"use auto or one of {names}")
        if allowed is None and not number > 0:
            raise ConfigError(f"{self.name}: a {function} range must be more than zero, got {value:~P}",
                              fix="use auto or a positive range")
        return number

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

    def zero_check(self, on: bool) -> None:
        """Zero check on (input shunted) or off."""
        self.send(f":SYST:ZCH {'ON' if on else 'OFF'}")

    def zero_correct(self, on: bool) -> None:
        """Zero correct on or off."""
        self.send(f":SYST:ZCOR {'ON' if on else 'OFF'}")

    def set_function(self, function: str) -> None:
        """Measure `charge` or `current`: the function, this model's reading format and the range option."""
        if function not in FUNCTIONS:
            raise InstrumentError(f"{self.name}: no function {function!r}", instrument=self.name,
                                  resource=self.resource, fix="use charge or current")
        scpi, _unit = FUNCTIONS[function]
        with self.transport.locked():
            self.send(f":SENS:FUNC '{scpi}'")
            self.send(self.format_command)
            self.function = function
            self.set_range(self._range[function])

    def set_range(self, value: "pint.Quantity | float | None") -> None:
        """The present function's range: None for auto, else a Quantity (or C / A) this model has."""
        function = self._require_function()
        scpi, unit = FUNCTIONS[function]
        if value is None:
            self.send(f":SENS:{scpi}:RANG:AUTO ON")
            return
        number = value if isinstance(value, float) else self.check_range(function, value)
        self.send(f":SENS:{scpi}:RANG {_scpi_number(number)}")

    def _require_function(self) -> str:
        if self.function is None:
            raise InstrumentError(f"{self.name}: no function is set", instrument=self.name,
                                  resource=self.resource, fix="call set_function or arm first")
        return self.function

    def reading(self, command: str = ":READ?") -> "pint.Quantity":
        """One reading of the present function by `:READ?` (or `:FETC?`), in nC or pA."""
        function = self._require_function()
        value = self._value(self.ask(command), command, function)
        return Q_(value, FUNCTIONS[function][1]).to(_DISPLAY_UNITS[function])

    def _value(self, reply: str, command: str, function: str) -> float:
        raise NotImplementedError

    def arm(self) -> None:
        """Zero check on, charge function if not set, zero correct on, zero check off, `:INIT`, starting charge."""
        with self.transport.locked():
            self.zero_check(True)
            if self.function != "charge":
                self.set_function("charge")
            self.zero_correct(True)
            self.zero_check(False)
            self.send(":INIT")
            self._baseline_c = self._coulombs(self.reading(":FETC?"))

    @staticmethod
    def _coulombs(charge: "pint.Quantity") -> float:
        return float(charge.to("C").magnitude)

    def wait_for_exposure(self, timeout: "pint.Quantity") -> None:
        """Poll `:READ?` until the charge rose and then held still (see the class docstring)."""
        from .transport import seconds

        if self.function != "charge" or self._baseline_c is None:
            raise InstrumentError(f"{self.name} ({self.resource}) is not armed", instrument=self.name,
                                  resource=self.resource, fix="arm the electrometer before the exposure")
        limit = seconds(timeout, "timeout")
        deadline = time.monotonic() + limit
        last: float | None = None
        while True:
            charge = self._coulombs(self.reading())
            change = abs(charge - self._baseline_c)
            if change > self._threshold_c and last is not None and abs(charge - last) <= self._settle * change:
                return
            last = charge
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise InstrumentTimeout(
                    f"{self.name} ({self.resource}) saw no complete exposure within {limit:g} s (charge "
                    f"{Q_(charge, 'C').to('nC'):~P}, {Q_(change, 'C').to('pC'):~P} since arming)",
                    instrument=self.name, resource=self.resource,
                    fix="check the chamber is in the beam and connected, and the exposure was made; give a "
                        "longer timeout for long exposures")
            time.sleep(min(self._poll_s, remaining))

    def read_exposure(self) -> dict[str, "pint.Quantity"]:
        """The integrated charge."""
        if self.function != "charge":
            raise InstrumentError(f"{self.name} ({self.resource}) is not measuring charge",
                                  instrument=self.name, resource=self.resource, fix="arm it first")
        return {"charge": self.reading()}

    def read_now(self) -> dict[str, "pint.Quantity"]:
        """One reading of the present function (charge when none is set yet)."""
        if self.function is None:
            self.set_function("charge")
        return {self._require_function(): self.reading()}


class Keithley6517B(_KeithleyElectrometer):
    """Keithley 6517B electrometer (PUBLIC, SCPI).

    Its default reading record carries a 4-letter unit suffix; the notes confirm only `NADC` (current) and
    leave the charge suffix unconfirmed. So the driver sets `:FORM:ELEM READ` (an SCPI format command of the
    Keithley reference manuals) and the instrument sends the bare number; the unit comes from the function
    the driver set. A suffix that does come back must be a confirmed one that fits the function, else the
    reading is a ProtocolError. Ranges are not in the notes: a fixed range is sent as given and the
    instrument's error queue judges it.
    """

    driver_name = "keithley-6517b"
    model_number = "6517B"
    format_command = ":FORM:ELEM READ"

    def _value(self, reply: str, command: str, function: str) -> float:
        reading = parse_6517b_reading(reply, command, self.where)
        if reading.suffix is not None and CONFIRMED_SUFFIXES[reading.suffix] != function:
            raise _unexpected(self.where, command, reply, f"a {function} reading, got the unit suffix "
                                                          f"{reading.suffix!r}")
        return reading.value


class Keithley6514(_KeithleyElectrometer):
    """Keithley 6514 electrometer (PUBLIC, SCPI).

    The driver sets `:FORM:ELEM READ,TIME,STAT`, so a reading is `reading,timestamp,status`; the status word
    is kept as sent (its bits are not in the notes). Fixed ranges are the ones the notes list: charge 20 nC,
    200 nC, 2 µC, 20 µC; current 20 pA … 20 mA in decades; any other is refused before it is sent.
    """

    driver_name = "keithley-6514"
    model_number = "6514"
    format_command = ":FORM:ELEM READ,TIME,STAT"
    ranges = {"charge": (2e-8, 2e-7, 2e-6, 2e-5),
              "current": tuple(2 * 10.0 ** exponent for exponent in range(-11, -1))}

    def _value(self, reply: str, command: str, function: str) -> float:
        return parse_6514_reading(reply, command, self.where).value
