"""PTW UNIDOS Tango / Romeo electrometer over raw TCP (port 8123) or USB/RS-232 serial.

The protocol is PUBLIC (see the notes in the project's protocols reference): UTF-8 text, commands and replies end
CR LF, fields are separated by `;`, every reply echoes the command and errors come back as `E<nn>`. This
driver uses identity (PTW, SER), status (S), the write token (TOK;1 / TOK;0), measurement control (RES, STA,
HLD, INT), measured values (MV), range and its maximum (RGE, MVM), high voltage (HV), interval time (IT),
autostart/autoreset/electrical units (ASE, ASR, UEL), autostart level (ASL), zeroing (NUL, NUS) and the
detector JSON (RDA, RDR;id). Left out: MAC, CHR, the self test (AST/ASS: its trailing fields are not
documented), MVR, RMR, RSR and RIR.

Where the notes are silent the driver is strict: a setting's reply must be exactly the echoed command, an
error reply must be exactly `E` and two digits, and any other reply is a ProtocolError.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple

from ..errors import (ConfigError, InstrumentError, InstrumentReportedError, InstrumentTimeout,
                      ProtocolError)
from ..units import Q_, has_dimension, parse_quantity
from .base import Driver, unexpected_reply
from .capabilities import InstrumentIdentity
from .link import LinkSettings

if TYPE_CHECKING:  # pragma: no cover
    import pint

log = logging.getLogger("xcal.drivers.ptw_unidos")

STATES = ("RES", "MEAS", "HOLD", "INT", "INTHLD", "ZERO", "AUTO", "AUTO_MEAS", "AUTO_HOLD", "EOM", "WAIT",
          "INIT", "ERROR", "SELF_TEST", "TST")
FINISHED_STATES = ("HOLD", "INTHLD", "AUTO_HOLD", "EOM")
"""States in which the instrument has stopped integrating and holds the exposure's value."""
RANGES = ("VERY_LOW", "LOW", "MEDIUM", "HIGH")
AUTOSTART_LEVELS = ("LOW", "MEDIUM", "HIGH")

ERRORS: dict[str, str] = {
    "E01": "syntax error or unknown command",
    "E02": "not allowed in this context",
    "E03": "not allowed at this moment",
    "E08": "parameter invalid or out of range",
    "E12": "aborted by user",
    "E16": "command too long",
    "E17": "too many parameters",
    "E18": "empty parameter",
    "E19": "wrong number of parameters",
    "E20": "no write permission",
    "E21": "required parameter not found",
    "E24": "memory error",
    "E28": "unknown parameter",
    "E29": "wrong parameter type",
    "E33": "measurement module defect",
    "E51": "undefined command",
    "E96": "timeout",
}

_FIXES: dict[str, str] = {
    "E01": "the instrument does not know this command: check its firmware version",
    "E03": "wait until the instrument is idle (not measuring, zeroing or testing) and try again",
    "E08": "use a value inside the instrument's range (HV also within the detector's own limits)",
    "E12": "someone stopped the action at the instrument; repeat it",
    "E20": "close the lock on the instrument's display so a remote client may take the write token",
    "E24": "restart the instrument; if it persists, have it serviced",
    "E33": "the measurement module is defective: have the instrument serviced",
    "E51": "the instrument does not know this command: check its firmware version",
}

FLAG_BITS: dict[int, tuple[str, bool]] = {
    0: ("overload (current)", True),
    1: ("overload (charge)", True),
    2: ("high-voltage error (current)", True),
    3: ("high-voltage error (charge)", True),
    4: ("low signal (current)", False),
    5: ("low signal (charge)", False),
    6: ("low autostart signal", False),
    8: ("radiation-safety warning (current)", False),
    9: ("radiation-safety warning (charge)", False),
    10: ("internal error", True),
    11: ("uncalibrated", False),
}
"""MV error-flag bits: meaning, and whether the reading is unusable (True) or only carries a warning."""
_UNCALIBRATED = 11

PREFIXES: dict[str, str] = {"": "", "k": "k", "m": "m", "µ": "µ", "μ": "µ", "u": "µ", "n": "n", "p": "p",
                            "f": "f"}
DOSE_UNITS = ("Gy", "Sv", "R", "C")
TIME_BASES = ("s", "min", "h")

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)", re.ASCII)
_EXPONENT = re.compile(r"E([+-]?\d{1,3})", re.ASCII)
_ERROR = re.compile(r"E\d\d", re.ASCII)
_WHOLE = re.compile(r"\d+", re.ASCII)


class Where(NamedTuple):
    """Which instrument a reply came from, for the errors a parser raises."""

    instrument: str = "PTW UNIDOS"
    resource: str | None = None


@dataclass(frozen=True)
class Measurement:
    """One MV reply: status, the integrated value and its rate (in the instrument's units), time, HV, flags."""

    status: str
    unit: str
    value: "pint.Quantity"
    rate: "pint.Quantity"
    measuring_time: "pint.Quantity"
    high_voltage: "pint.Quantity"
    flags: int

    @property
    def electrical(self) -> bool:
        """Whether the instrument shows electrical units (charge in C) rather than dose."""
        return self.unit == "C"

    def problems(self) -> tuple[str, ...]:
        """Flag meanings that make the reading unusable (uncalibrated counts for dose, not for charge)."""
        return tuple(meaning for bit, (meaning, fatal) in FLAG_BITS.items()
                     if self.flags >> bit & 1 and (fatal or (bit == _UNCALIBRATED and not self.electrical)))

    def warnings(self) -> tuple[str, ...]:
        """Flag meanings that leave the reading usable, and undocumented bits."""
        known = [meaning for bit, (meaning, fatal) in FLAG_BITS.items()
                 if self.flags >> bit & 1 and not fatal and not (bit == _UNCALIBRATED and not self.electrical)]
        unknown = [f"undocumented flag bit {bit}" for bit in range(self.flags.bit_length())
                   if self.flags >> bit & 1 and bit not in FLAG_BITS]
        return tuple(known + unknown)


@dataclass(frozen=True)
class ZeroStatus:
    """The NUS reply: the zeroing's status word, the time it still needs and its total time."""

    status: str
    remaining: "pint.Quantity"
    total: "pint.Quantity"


def _unexpected(where: Where, command: str, reply: object, expected: str) -> ProtocolError:
    return unexpected_reply(where, command, reply, expected,
                            "check that this is a UNIDOS Tango/Romeo on its remote protocol; a garbled "
                            "reply can also mean a bad cable or wrong serial settings")


def reported_error(command: str, code: str, where: Where) -> InstrumentReportedError:
    """The typed error for the instrument's `E<nn>` reply to `command`."""
    meaning = ERRORS.get(code, "an error code the protocol notes do not list")
    return InstrumentReportedError(
        f"{where.instrument} refused {command!r}: error {code} ({meaning})", code=code, meaning=meaning,
        command=command, instrument=where.instrument, resource=where.resource,
        fix=_FIXES.get(code, "check the command's parameters and the instrument's state"))


def reply_fields(command: str, reply: str, where: Where = Where()) -> list[str]:
    """The fields after the echoed `command`; the typed error for `E<nn>`; ProtocolError otherwise."""
    if _ERROR.fullmatch(reply):
        raise reported_error(command, reply, where)
    if reply == command:
        return []
    if reply.startswith(command + ";"):
        return reply[len(command) + 1:].split(";")
    raise _unexpected(where, command, reply, f"the echo {command!r} followed by ';' and the fields")


def _fields(command: str, reply: str, count: int, where: Where) -> list[str]:
    fields = reply_fields(command, reply, where)
    if len(fields) != count:
        raise _unexpected(where, command, reply, f"{count} field(s) after the echo, got {len(fields)}")
    return fields


def parse_echo(command: str, reply: str, where: Where = Where()) -> None:
    """Check the reply to an action or a setting is the command echoed and nothing else."""
    _fields(command, reply, 0, where)


def parse_value(command: str, reply: str, where: Where = Where()) -> str:
    """The single field of a query such as `RGE` -> `RGE;MEDIUM`."""
    return _fields(command, reply, 1, where)[0]


def parse_word(command: str, reply: str, words: tuple[str, ...], where: Where = Where()) -> str:
    """The single field of a query, which must be one of `words`."""
    value = parse_value(command, reply, where)
    if value not in words:
        raise _unexpected(where, command, reply, f"one of {', '.join(words)}")
    return value


def parse_bool(command: str, reply: str, where: Where = Where()) -> bool:
    """`true` / `false` of a boolean query (ASE, ASR, UEL, TOK)."""
    return parse_word(command, reply, ("true", "false"), where) == "true"


def parse_int(command: str, reply: str, where: Where = Where()) -> int:
    """The integer of a query such as `HV` -> `HV;300` (a decimal point with zeros after it is allowed)."""
    text = parse_value(command, reply, where)
    if not _NUMBER.fullmatch(text) or float(text) != int(float(text)):
        raise _unexpected(where, command, reply, "a whole number")
    return int(float(text))


def parse_identity(reply: str, where: Where = Where()) -> tuple[str, str, str, str]:
    """`PTW;UNIDOS Tango;TM10052;1.2.4;A16` -> (name, type number, firmware, hardware revision)."""
    name, type_number, firmware, hardware = _fields("PTW", reply, 4, where)
    if not name or not firmware:
        raise _unexpected(where, "PTW", reply, "a device name and a firmware version")
    return name, type_number, firmware, hardware


def parse_serial(reply: str, where: Where = Where()) -> str:
    """`SER;123456` -> `123456`."""
    serial = parse_value("SER", reply, where)
    if not serial:
        raise _unexpected(where, "SER", reply, "a serial number")
    return serial


def parse_status(reply: str, where: Where = Where()) -> str:
    """`S;RES` -> `RES`, one of STATES."""
    return parse_word("S", reply, STATES, where)


def parse_token(command: str, reply: str, where: Where = Where()) -> bool:
    """`TOK;1;true` -> True: whether the request (or release) of write permission was granted."""
    return parse_bool(command, reply, where)


def _number(text: str, exponent: str, command: str, reply: str, where: Where) -> float:
    found = _EXPONENT.fullmatch(exponent)
    if not _NUMBER.fullmatch(text) or found is None:
        raise _unexpected(where, command, reply, f"a mantissa and an exponent like '2.6;E-3', got "
                                                 f"{text!r};{exponent!r}")
    value = float(f"{text}e{found.group(1)}")
    if not math.isfinite(value):
        raise _unexpected(where, command, reply, f"a finite number, got {text!r};{exponent!r}")
    return value


def _prefix(text: str, command: str, reply: str, where: Where) -> str:
    if text not in PREFIXES:
        raise _unexpected(where, command, reply, f"a unit prefix ({', '.join(p for p in PREFIXES if p)} or "
                                                 f"none), got {text!r}")
    return PREFIXES[text]


def _amount(fields: list[str], command: str, reply: str, where: Where) -> "pint.Quantity":
    """mantissa; exponent; prefix; unit -> the integrated value (Gy, Sv, R or C)."""
    mantissa, exponent, prefix, unit = fields
    value = _number(mantissa, exponent, command, reply, where)
    if unit not in DOSE_UNITS:
        raise _unexpected(where, command, reply, f"a unit among {', '.join(DOSE_UNITS)}, got {unit!r}")
    return Q_(value, _prefix(prefix, command, reply, where) + unit)


def _rate(fields: list[str], command: str, reply: str, where: Where) -> "pint.Quantity":
    """mantissa; exponent; prefix; unit; time base -> a rate (Gy/min ...), or a current for `A` or C per time."""
    mantissa, exponent, prefix, unit, base = fields
    value = _number(mantissa, exponent, command, reply, where)
    prefix = _prefix(prefix, command, reply, where)
    if unit == "A" and base in ("", "s"):
        return Q_(value, prefix + "A")
    if unit not in DOSE_UNITS or base not in TIME_BASES:
        raise _unexpected(where, command, reply, f"a rate unit among {', '.join(DOSE_UNITS)} per "
                                                 f"{' or '.join(TIME_BASES)}, or A; got {unit!r} per {base!r}")
    if unit == "C":
        return Q_(value, f"{prefix}C/{base}").to(prefix + "A")
    return Q_(value, f"{prefix}{unit}/{base}")


def _plain(text: str, unit: str, want: str, command: str, reply: str, where: Where) -> "pint.Quantity":
    if not _NUMBER.fullmatch(text) or unit != want:
        raise _unexpected(where, command, reply, f"a number in {want}, got {text!r} {unit!r}")
    return Q_(float(text), want)


def parse_mv(reply: str, where: Where = Where()) -> Measurement:
    """`MV;RES;2.6;E-3;m;Gy;5.6;E-09;n;Gy;min;3000.0;ms;300.0;V;0x0` -> a Measurement (2.6e-3 mGy ...)."""
    fields = _fields("MV", reply, 15, where)
    if fields[0] not in STATES:
        raise _unexpected(where, "MV", reply, f"a status among {', '.join(STATES)} first, got {fields[0]!r}")
    flags = fields[14]
    if not re.fullmatch(r"0[xX][0-9a-fA-F]{1,8}", flags):
        raise _unexpected(where, "MV", reply, f"error flags in hex like 0x0 last, got {flags!r}")
    return Measurement(status=fields[0], unit=fields[4], value=_amount(fields[1:5], "MV", reply, where),
                       rate=_rate(fields[5:10], "MV", reply, where),
                       measuring_time=_plain(fields[10], fields[11], "ms", "MV", reply, where),
                       high_voltage=_plain(fields[12], fields[13], "V", "MV", reply, where),
                       flags=int(flags, 16))


def parse_range_limit(command: str, reply: str, where: Where = Where()) -> tuple[str, "pint.Quantity"]:
    """`MVM;MEDIUM;1.65;E-06;µ;Gy;min` -> ("MEDIUM", 1.65e-6 µGy/min): a range and its limit."""
    fields = _fields(command, reply, 6, where)
    if fields[0] not in RANGES:
        raise _unexpected(where, command, reply, f"a range among {', '.join(RANGES)} first")
    return fields[0], _rate(fields[1:], command, reply, where)


def parse_zero_status(reply: str, where: Where = Where()) -> ZeroStatus:
    """`NUS;Passed;0;82000` -> ZeroStatus("Passed", 0 ms, 82000 ms)."""
    status, remaining, total = _fields("NUS", reply, 3, where)
    if not status or not _WHOLE.fullmatch(remaining) or not _WHOLE.fullmatch(total):
        raise _unexpected(where, "NUS", reply, "a status word and two whole numbers of ms")
    return ZeroStatus(status, Q_(int(remaining), "ms"), Q_(int(total), "ms"))


def parse_json(command: str, reply: str, where: Where = Where()) -> Any:
    """RDA / RDR;id / RMR ... : the fields after the echo joined with `,` and read as JSON."""
    fields = reply_fields(command, reply, where)
    try:
        return json.loads(",".join(fields))
    except (ValueError, RecursionError):
        raise _unexpected(where, command, reply, "JSON whose separators are ';'") from None


def _time_option(options: dict[str, Any], name: str, default: str) -> float:
    """A time option from the site file ('100 ms' or a Quantity) in seconds."""
    import pint

    value = options.get(name, default)
    try:
        quantity = value if isinstance(value, pint.Quantity) else parse_quantity(value, "time")
    except ValueError as exc:
        raise ConfigError(f"option {name}: {exc}", fix=f"give {name} as a time, e.g. '{default}'") from None
    if not has_dimension(quantity, "time") or not quantity.magnitude > 0:
        raise ConfigError(f"option {name} must be a positive time, got {value!r}",
                          fix=f"give {name} as a time, e.g. '{default}'")
    return float(quantity.to("s").magnitude)


class PtwUnidos(Driver):
    """PTW UNIDOS Tango / Romeo: an electrometer (charge, current) or dosimeter (air kerma and its rate).

    Which readings come back depends on the instrument's unit: electrical units (UEL;true, charge in C) give
    `charge` and `current` (the rate in C per time base, turned into A); Gy gives `air_kerma` and
    `air_kerma_rate` with the instrument's own detector calibration applied. Sv and R are refused.

    Every state-changing command (settings, RES/STA/HLD/INT, NUL) is sent inside the write token: TOK;1,
    the command(s), TOK;0, with the link held throughout. The notes require the token for settings; the
    driver takes it for measurement control too, since those change what the display shows for everyone.
    Error-flag bits in MV: overload, HV error and internal error make a reading an InstrumentReportedError
    (code = the flags as sent), as does `uncalibrated` for dose units; the other bits (low signal,
    radiation-safety warning, uncalibrated with charge) are logged and kept in `last_warnings`.

    Options: `poll_interval` (time between MV polls while waiting for an exposure, default 200 ms; make it
    longer than the display update so a still-rising value is not taken for a stable one). Serial
    defaults are 9600 8N1 (the notes do not give them); a site overrides them with `baudrate` etc.
    """

    driver_name = "ptw-unidos"
    capabilities = ("Electrometer", "Dosimeter")
    protocol_status = "PUBLIC"
    transports = ("tcp", "serial")
    link = LinkSettings(read_termination="\r\n", write_termination="\r\n", encoding="utf-8",
                        baudrate=9600, bytesize=8, parity="N", stopbits=1)
    simulator = "xcal.simulators.ptw_unidos:UnidosSimulator"

    def __init__(self, resource: str, **kwargs: Any) -> None:
        super().__init__(resource, **kwargs)
        self._poll_s = _time_option(self.options, "poll_interval", "200 ms")
        self._token_depth = 0
        self._baseline: float | None = None
        self.last_warnings: tuple[str, ...] = ()

    @property
    def where(self) -> Where:
        """This instrument's name and resource, for errors."""
        return Where(self.name, self.resource)

    def command(self, line: str) -> str:
        """Send one command line and return its reply line, unparsed."""
        return self.transport.query(line)

    def identify(self) -> InstrumentIdentity:
        """Make PTW, the device name as model (UNIDOS Tango), serial from SER, firmware from PTW."""
        with self.transport.locked():
            name, _type, firmware, _hardware = parse_identity(self.command("PTW"), self.where)
            serial = parse_serial(self.command("SER"), self.where)
        return InstrumentIdentity(make="PTW", model=name, serial=serial, firmware=firmware)

    def status(self) -> str:
        """The measurement status word (RES, MEAS, HOLD, ...)."""
        return parse_status(self.command("S"), self.where)

    @contextmanager
    def write_access(self) -> Iterator[None]:
        """Hold the write token (TOK;1 ... TOK;0) and the link; re-entrant."""
        with self.transport.locked():
            if self._token_depth == 0:
                self._request_token()
            self._token_depth += 1
            try:
                yield
            except BaseException:
                self._leave(quiet=True)
                raise
            self._leave(quiet=False)

    def _leave(self, *, quiet: bool) -> None:
        """Release the token when the outermost holder leaves; `quiet` keeps a failing body's own error."""
        self._token_depth -= 1
        if self._token_depth:
            return
        try:
            self._release_token()
        except (InstrumentError, OSError) as exc:
            if not quiet:
                raise
            # The body's own error follows and stops the run: this one is a line, its traceback for --debug only.
            why = exc.message if isinstance(exc, InstrumentError) else f"{type(exc).__name__}: {exc}"
            log.warning("%s: could not release the write token after an error: %s", self.name, why,
                        exc_info=log.isEnabledFor(logging.DEBUG))

    def _request_token(self) -> None:
        if not parse_token("TOK;1", self.command("TOK;1"), self.where):
            raise InstrumentError(f"{self.name} ({self.resource}) refused write permission (TOK;1;false)",
                                  instrument=self.name, resource=self.resource,
                                  fix="close the lock on the instrument's display and make sure no other "
                                      "client holds the write token")

    def _release_token(self) -> None:
        if not parse_token("TOK;0", self.command("TOK;0"), self.where):
            log.warning("%s: the instrument did not confirm the release of the write token", self.name)

    def _act(self, *commands: str) -> None:
        """Send actions or settings inside the write token; each must be echoed."""
        with self.write_access():
            for line in commands:
                parse_echo(line, self.command(line), self.where)

    def arm(self) -> None:
        """Reset (RES) and start integrating (STA) inside the write token; note the starting value."""
        self._act("RES", "STA")
        self._baseline = self._size(self.measure())

    def start(self) -> None:
        """Start (or continue) integrating."""
        self._act("STA")

    def hold(self) -> None:
        """Stop integrating and hold the value."""
        self._act("HLD")

    def reset(self) -> None:
        """Clear the value."""
        self._act("RES")

    def start_interval(self) -> None:
        """Start an interval measurement of the interval time (IT)."""
        self._act("INT")

    def measure(self) -> Measurement:
        """One MV reply, parsed; flags are not judged here."""
        return parse_mv(self.command("MV"), self.where)

    @staticmethod
    def _size(measurement: Measurement) -> float:
        return abs(float(measurement.value.to_base_units().magnitude))

    def wait_for_exposure(self, timeout: "pint.Quantity") -> None:
        """Poll MV until the exposure is complete; InstrumentTimeout after `timeout`.

        Complete means: the status is one that holds a finished value (HOLD, INTHLD, AUTO_HOLD, EOM), or
        the value rose above its value at arm() (the first poll, without arm) and then read the same on
        two polls in a row. Status RES or ERROR means the instrument is not integrating and would miss the
        shot (InstrumentError); an overload or HV error ends the wait with its typed error. A completed wait
        forgets the arm() value, so a further wait without arm() starts from its own first poll.
        """
        from .transport import seconds

        limit = seconds(timeout, "timeout")
        deadline = time.monotonic() + limit
        baseline, last = self._baseline, None
        while True:
            reading = self.measure()
            self._refuse_unusable(reading)
            size = self._size(reading)
            if reading.status in FINISHED_STATES or (baseline is not None and size > baseline
                                                     and size == last):
                self._baseline = None
                return
            if reading.status in ("RES", "ERROR"):
                raise InstrumentError(f"{self.name} ({self.resource}) is not integrating (status "
                                      f"{reading.status}), so it cannot record the exposure",
                                      instrument=self.name, resource=self.resource,
                                      fix="arm the instrument before the exposure; for ERROR, see its display")
            baseline = size if baseline is None else baseline
            last = size
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise InstrumentTimeout(
                    f"{self.name} ({self.resource}) recorded no complete exposure within {limit:g} s "
                    f"(status {reading.status}, value {reading.value:~P})", instrument=self.name,
                    resource=self.resource, fix="check the chamber is in the beam and the exposure was "
                                                "made; give a longer timeout for long exposures")
            time.sleep(min(self._poll_s, remaining))

    def _judge(self, reading: Measurement) -> None:
        """Raise for flags that make the reading unusable; log and keep the warnings."""
        self._refuse_unusable(reading)
        self.last_warnings = reading.warnings()
        for warning in self.last_warnings:
            log.warning("%s: %s", self.name, warning)

    def _refuse_unusable(self, reading: Measurement) -> None:
        """InstrumentReportedError (code = the flags as sent) for an overload, HV error and the like."""
        problems = reading.problems()
        if problems:
            code = f"0x{reading.flags:X}"
            raise InstrumentReportedError(
                f"{self.name} ({self.resource}) flags its reading as unusable: {', '.join(problems)} "
                f"(flags {code})", code=code, meaning=", ".join(problems), command="MV",
                instrument=self.name, resource=self.resource,
                fix="choose a higher range for an overload, check the chamber cable and HV for an HV error; "
                    "a detector without calibration can only be read in electrical units (UEL;true)")

    def readings(self, reading: Measurement) -> dict[str, "pint.Quantity"]:
        """charge/current for electrical units, air_kerma/air_kerma_rate for Gy; refused otherwise."""
        self._judge(reading)
        if reading.unit == "C":
            return {"charge": reading.value, "current": reading.rate}
        if reading.unit == "Gy":
            return {"air_kerma": reading.value, "air_kerma_rate": reading.rate}
        raise InstrumentError(f"{self.name} ({self.resource}) shows {reading.value:~P}, which is neither "
                              f"air kerma (Gy) nor charge (C)", instrument=self.name, resource=self.resource,
                              fix="set the instrument's unit to Gy, or to electrical units (UEL;true)")

    def read_exposure(self) -> dict[str, "pint.Quantity"]:
        """The exposure's readings (see `readings`)."""
        return self.readings(self.measure())

    def read_now(self) -> dict[str, "pint.Quantity"]:
        """What the instrument shows now (see `readings`)."""
        return self.readings(self.measure())

    def measuring_range(self) -> str:
        """The measuring range: VERY_LOW, LOW, MEDIUM or HIGH."""
        return parse_word("RGE", self.command("RGE"), RANGES, self.where)

    def set_range(self, name: str) -> None:
        """Select a measuring range."""
        self._act(f"RGE;{self._choice('range', name, RANGES)}")

    def range_maximum(self) -> "pint.Quantity":
        """The largest rate (or current) the present range measures (MVM)."""
        return parse_range_limit("MVM", self.command("MVM"), self.where)[1]

    def high_voltage(self) -> "pint.Quantity":
        """The chamber voltage set."""
        return Q_(parse_int("HV", self.command("HV"), self.where), "V")

    def set_high_voltage(self, voltage: "pint.Quantity") -> None:
        """Set the chamber voltage, a whole number of volts in −400 … 400 V."""
        volts = self._whole(voltage, "V", -400, 400, "high voltage")
        self._act(f"HV;{volts}")

    def interval_time(self) -> "pint.Quantity":
        """The interval measurement's duration."""
        return Q_(parse_int("IT", self.command("IT"), self.where), "s")

    def set_interval_time(self, duration: "pint.Quantity") -> None:
        """Set the interval measurement's duration, a whole number of seconds in 1 … 3 599 999 s."""
        self._act(f"IT;{self._whole(duration, 's', 1, 3_599_999, 'interval time')}")

    def flag(self, command: str) -> bool:
        """A boolean setting: ASE (autostart), ASR (autoreset) or UEL (electrical units)."""
        return parse_bool(self._choice("boolean setting", command, ("ASE", "ASR", "UEL")),
                          self.command(command), self.where)

    def set_flag(self, command: str, on: bool) -> None:
        """Set ASE, ASR or UEL."""
        self._act(f"{self._choice('boolean setting', command, ('ASE', 'ASR', 'UEL'))};{str(bool(on)).lower()}")

    def autostart_level(self) -> str:
        """The autostart threshold: LOW, MEDIUM or HIGH."""
        return parse_word("ASL", self.command("ASL"), AUTOSTART_LEVELS, self.where)

    def set_autostart_level(self, level: str) -> None:
        """Set the autostart threshold."""
        self._act(f"ASL;{self._choice('autostart level', level, AUTOSTART_LEVELS)}")

    def zero(self, timeout: "pint.Quantity | None" = None) -> ZeroStatus:
        """Start zeroing (NUL, with the token); with a timeout, poll NUS until done and require `Passed`."""
        from .transport import seconds

        self._act("NUL")
        state = self.zero_status()
        if timeout is None:
            return state
        deadline = time.monotonic() + seconds(timeout, "timeout")
        while state.remaining.magnitude > 0:
            if time.monotonic() >= deadline:
                raise InstrumentTimeout(f"{self.name} ({self.resource}) was still zeroing after {timeout:~P}",
                                        instrument=self.name, resource=self.resource,
                                        fix=f"zeroing takes about {state.total.to('s'):~P}; wait longer")
            time.sleep(min(self._poll_s, state.remaining.to("s").magnitude))
            state = self.zero_status()
        if state.status != "Passed":
            raise InstrumentError(f"{self.name} ({self.resource}) zeroing ended {state.status!r}",
                                  instrument=self.name, resource=self.resource,
                                  fix="keep the chamber out of any beam and the cable still, then zero again")
        return state

    def zero_status(self) -> ZeroStatus:
        """The zeroing's status (NUS)."""
        return parse_zero_status(self.command("NUS"), self.where)

    def detectors(self) -> Any:
        """The detector list (RDA), as the JSON the instrument sends; its schema is not documented."""
        return parse_json("RDA", self.command("RDA"), self.where)

    def detector(self, detector_id: int | str) -> Any:
        """One detector's record (RDR;id), as JSON."""
        line = f"RDR;{detector_id}"
        return parse_json(line, self.command(line), self.where)

    def _choice(self, what: str, value: str, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise InstrumentError(f"{self.name}: {value!r} is not a {what}", instrument=self.name,
                                  resource=self.resource, fix=f"use one of {', '.join(allowed)}")
        return value

    def _whole(self, value: "pint.Quantity", unit: str, low: int, high: int, what: str) -> int:
        import pint

        try:
            number = float(value.to(unit).magnitude)
        except (AttributeError, pint.DimensionalityError):
            raise InstrumentError(f"{self.name}: the {what} must be given in {unit}, got {value!r}",
                                  instrument=self.name, resource=self.resource,
                                  fix=f"pass a Quantity, e.g. Q_({low if low > 0 else high}, '{unit}')") from None
        if not number.is_integer() or not low <= number <= high:
            raise InstrumentError(f"{self.name}: the {what} must be a whole number of {unit} in {low} … "
                                  f"{high}, got {value:~P}", instrument=self.name, resource=self.resource,
                                  fix=f"give a whole number of {unit} between {low} and {high}")
        return int(number)
