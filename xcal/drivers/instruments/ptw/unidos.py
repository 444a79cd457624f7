"""PTW UNIDOS Tango / Romeo electrometer over raw TCP (port 8123) or USB/RS-232 serial.

The protocol is PUBLIC (see the notes in the project's protocols reference): UTF-8 text, commands and replies end
CR LF, fields are separated by `;`, every reply echoes the command and errors come back as `E<nn>` (also `E<nn>;`
and `E;<nn>`, which the hardware-tested client accepts too). This driver uses identity (PTW, SER, MAC), status
(S), the write token (TOK requests it, TOK;1 asks whether it is held, TOK;0 releases it), measurement control
(RES, STA, HLD, INT), measured values (MV), the range's maximum and resolution (MVM, MVR), the settings RGE, HV,
IT, ASE, ASR, UEL and ASL, zeroing (NUL, NUS), the self test (AST, ASS) and the JSON reads (RDA, RDR;guid, RMR,
RIR, RSR, RHR, REC, RAC), the history's clearing (CHR) and the last failed request (TFI). Every command it sends
is listed with its sources in `PtwUnidos.evidence`; none is unshown.

A number is sent as mantissa, exponent, prefix and unit (`2.6;E-3;m;Gy`): its value is mantissa × 10^exponent
in the base unit (2.6 mGy), and the prefix only repeats the exponent for display. The driver returns the
quantity in the prefixed unit (2.6 mGy) and refuses, as a ProtocolError, a reply whose exponent is not its
prefix's power (`E-3;µ`): such a reply is garbled or of a form no source shows, and reading it either way could
be wrong by a factor of a thousand or more.

Where the notes are silent the driver is strict: a setting's reply must be exactly the echoed command, a query
must echo its command, an error reply must be `E` and two digits (with the `;` forms above), and any other
reply is a ProtocolError.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ....errors import (
    InstrumentError,
    InstrumentReportedError,
    InstrumentTimeout,
    ProtocolError,
)
from ....units import Q_
from ...base import Driver, Where, poll_until, unexpected_reply
from ...capabilities import InstrumentIdentity
from ...evidence import Command, Evidence, Source
from ...link import LinkSettings
from ...settings import Choice, Flag, Number, Option, Setting

if TYPE_CHECKING:  # pragma: no cover
    import pint

log = logging.getLogger("xcal.drivers.instruments.ptw.unidos")

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
    "E21": "check the detector id: `RDA` lists the detectors the instrument knows",
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

PREFIXES: dict[str, tuple[str, int]] = {"k": ("k", 3), "": ("", 0), "m": ("m", -3), "µ": ("µ", -6),
                                        "μ": ("µ", -6), "u": ("µ", -6), "n": ("n", -9), "p": ("p", -12),
                                        "f": ("f", -15)}
"""Display prefix as sent -> (the pint prefix, the power of ten its exponent must have)."""
DOSE_UNITS = ("Gy", "Sv", "R", "C")
TIME_BASES = ("s", "min", "h")

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)", re.ASCII)
_EXPONENT = re.compile(r"E([+-]?\d{1,3})", re.ASCII)
_ERROR = re.compile(r"E;?(\d\d);?", re.ASCII)
_WHOLE = re.compile(r"\d+", re.ASCII)
_FIX = ("check that this is a UNIDOS Tango/Romeo on its remote protocol; a garbled reply can also mean a bad "
        "cable or wrong serial settings")
_NOWHERE = Where("PTW UNIDOS")

_PYMEASURE_DEVICE_TEST = ("pymeasure's tests/instruments/ptw/test_ptwUNIDOS_with_device.py runs it on a UNIDOS "
                          "Tango")
EVIDENCE = Evidence(
    sources={
        "pymeasure": Source(
            "pymeasure 0.16.0 ptwUNIDOS and its tests", "hardware-client",
            "https://github.com/pymeasure/pymeasure pymeasure/instruments/ptw/ptwUNIDOS.py; byte fixtures in "
            "tests/instruments/ptw/test_ptwUNIDOS.py; tested on a UNIDOS Tango per "
            "tests/instruments/ptw/test_ptwUNIDOS_with_device.py"),
        "pymeasure-draft": Source(
            "pymeasure ptwUNIDOS first draft (a command list apparently transcribed from the manual's German table)",
            "third-party",
            "https://github.com/Falk3579/pymeasure pymeasure/instruments/ptw/ptwUNIDOS.py at commit "
            "2cc8d5627fca8e931f55353ba5bcdc1e3ac5d1e5 (comments: TOK request, TOK;1 check, TOK;0 release; "
            "the E;nn error list; RDA ... REC)"),
        "notes": Source(
            "xcal protocols reference, PTW UNIDOS section (corrected)", "third-party",
            "xcal's notes on each meter's published protocol (protocols reference), section PTW UNIDOS Tango / "
            "Romeo; a summary of public sources, not itself tested on a meter"),
    },
    commands=(
        Command("PTW", ("pymeasure", "pymeasure-draft", "notes"),
                "pymeasure `id`; device test checks name, 7-character type number and 3-character revision"),
        Command("SER", ("pymeasure", "pymeasure-draft", "notes"),
                "pymeasure `serial_number` (casts to int); xcal sends it after PTW to identify the meter"),
        Command("MAC", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `mac_address`"),
        Command("S", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `status`"),
        Command("TOK", ("pymeasure", "pymeasure-draft", "notes"),
                "requests write permission (`write_enabled = True`); xcal takes it around every change"),
        Command("TOK;1", ("pymeasure", "pymeasure-draft", "notes"),
                "asks whether this client holds write permission (`write_enabled` read)"),
        Command("TOK;0", ("pymeasure", "pymeasure-draft", "notes"),
                "releases write permission (`write_enabled = False`); xcal releases after every change"),
        Command("RES", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `reset`, device-tested"),
        Command("STA", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `measure`, device-tested"),
        Command("HLD", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `hold`, device-tested"),
        Command("INT", ("pymeasure", "pymeasure-draft", "notes"),
                "pymeasure `interval_measurement`, device-tested after a measurement and a hold"),
        Command("NUL", ("pymeasure", "pymeasure-draft", "notes"),
                "pymeasure `zero` (byte fixture only; the device test reads NUS but does not zero)"),
        Command("NUS", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `zero_status`, device-tested"),
        Command("AST", ("pymeasure", "pymeasure-draft", "notes"),
                "pymeasure `selftest` (byte fixture only; the device test reads ASS but does not start one)"),
        Command("ASS", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `selftest_result`, device-tested"),
        Command("MV", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `measurement_result`, device-tested"),
        Command("MVM", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `range_max`, device-tested"),
        Command("MVR", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `range_res`, device-tested"),
        Command("RGE", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `range`, device-tested"),
        Command("RGE;{range}", ("pymeasure", "notes"), "VERY_LOW, LOW, MEDIUM, HIGH; device-tested"),
        Command("HV", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `voltage`, device-tested"),
        Command("HV;{volts}", ("pymeasure", "notes"), "whole volts, −400 … 400; device-tested with −1, 0, 1"),
        Command("IT", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `integration_time`, device-tested"),
        Command("IT;{seconds}", ("pymeasure", "notes"), "whole seconds, 1 … 3 599 999; device-tested with 1, 10"),
        Command("ASE", ("pymeasure", "pymeasure-draft", "notes"),
                f"pymeasure `autostart_enabled`; {_PYMEASURE_DEVICE_TEST} under its earlier name use_autostart"),
        Command("ASE;{on}", ("pymeasure", "notes"), "true / false"),
        Command("ASR", ("pymeasure", "pymeasure-draft", "notes"),
                "pymeasure `autoreset_enabled` (device test under its earlier name use_autoreset)"),
        Command("ASR;{on}", ("pymeasure", "notes"), "true / false"),
        Command("UEL", ("pymeasure", "pymeasure-draft", "notes"),
                "pymeasure `electrical_units_enabled` (device test under its earlier name use_electrical_units)"),
        Command("UEL;{on}", ("pymeasure", "notes"), "true / false"),
        Command("ASL", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `autostart_level`, device-tested"),
        Command("ASL;{level}", ("pymeasure", "notes"), "LOW, MEDIUM, HIGH; device-tested"),
        Command("RDA", ("pymeasure", "pymeasure-draft", "notes"),
                "pymeasure `read_detector()`, device-tested; JSON with `;` for `,`"),
        Command("RDR;{guid}", ("pymeasure", "pymeasure-draft", "notes"),
                "pymeasure `read_detector(guid)` with a guid from RDA, device-tested"),
        Command("RMR", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `measurement_parameters`, device-tested"),
        Command("RIR", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `system_info`, device-tested"),
        Command("RSR", ("pymeasure", "pymeasure-draft", "notes"), "pymeasure `system_settings`, device-tested"),
        Command("RHR", ("pymeasure", "pymeasure-draft"), "pymeasure `measurement_history`, device-tested"),
        Command("CHR", ("pymeasure", "pymeasure-draft", "notes"),
                "pymeasure `clear`, device-tested (the history is empty after it)"),
        Command("REC", ("pymeasure", "pymeasure-draft"), "pymeasure `lan_config`, device-tested"),
        Command("RAC", ("pymeasure", "pymeasure-draft"), "pymeasure `wlan_config`, device-tested"),
        Command("TFI", ("pymeasure", "pymeasure-draft"), "pymeasure `tfi`, device-tested (`TFI;-` when none failed)"),
    ),
    disagreements=(
        ("TOK: an earlier version of the notes had request and query swapped (TOK;1 to request). pymeasure "
         "(hardware-tested: its device test starts with `write_enabled = 1`, i.e. TOK, then reads TOK;1 as true), "
         "its first draft's transcription of the manual and the corrected notes agree: TOK requests, TOK;1 asks, "
         "TOK;0 releases. xcal follows them."),
        ("Numbers: the value is mantissa × 10^exponent in the base unit (`2.6;E-3;m;Gy` = 2.6 mGy); the prefix "
         "repeats the exponent. xcal used to apply both (reading 2.6 µGy) and its simulator mirrored the error "
         "(`1.0;E0;m;Gy`); pymeasure's fixtures (2.6E-3 Gy, 1.65E-06 Gy/min, self test 1.366E-10 C) and the notes' "
         "cross-check (136.6;E-12;p;C read the other way would be less than one electron's charge) decide it. A "
         "reply whose exponent is not its prefix's power is refused (ProtocolError)."),
        ("RDR: pymeasure's published fixture answers `RDR;detector_guid` with `RDR;guid;{...}` (another id echoed; "
         "its JSON fixtures are made-up key1/value1 data). pymeasure ignores the echoed id; xcal follows the notes "
         "(every reply echoes the command) and refuses a reply echoing another id."),
        ("Error replies: the notes give `E<nn>`; pymeasure strips every `;` from an error reply (so it takes "
         "`E20;` and `E;20`), and its first draft lists the codes as `E;01` ... `E;96`. xcal accepts all three "
         "forms and reports the code as `E20`."),
        ("Electrical units: pymeasure's MV fixture sends the current as `0.0;E-12;p;A;` with an EMPTY time base "
         "and the HV as `200` without decimals; the notes show only the dose form. xcal reads both; its simulator "
         "now sends the current in A with an empty time base, as in the fixture."),
        ("ASE, ASR, UEL: pymeasure 0.16 renamed use_autostart / use_autoreset / use_electrical_units to "
         "*_enabled, but its device test still sets the old names, which on 0.16 only set a Python attribute: "
         "these commands were exercised on the meter under the earlier names only."),
        ("Vendor text: the only PTW interface manual found (UNIDOS webline Interfaces, D776.131.01/02) is for "
         "another model whose PTW reply is `UNIDOS2;x.xx`; it is not cited for the Tango's commands."),
    ),
)


@dataclass(frozen=True)
class Measurement:
    """One MV reply: status, the integrated value and its rate (in the instrument's units), time, HV, flags."""

    status: str
    unit: str
    value: pint.Quantity
    rate: pint.Quantity
    measuring_time: pint.Quantity
    high_voltage: pint.Quantity
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
    remaining: pint.Quantity
    total: pint.Quantity


@dataclass(frozen=True)
class SelfTest:
    """The ASS reply: status, time still needed and total, and the charge each range measured (name -> C)."""

    status: str
    remaining: pint.Quantity
    total: pint.Quantity
    charges: dict[str, pint.Quantity]


@dataclass(frozen=True)
class RangeResolution:
    """The MVR reply: the range, the smallest step of its integrated value and of its rate (or current)."""

    range: str
    value: pint.Quantity
    rate: pint.Quantity


def _unexpected(where: Where, command: str, reply: object, expected: str) -> ProtocolError:
    return unexpected_reply(where, command, reply, expected, _FIX)


def reported_error(command: str, code: str, where: Where = _NOWHERE) -> InstrumentReportedError:
    """The typed error for the instrument's `E<nn>` reply to `command`."""
    meaning = ERRORS.get(code, "an error code the protocol notes do not list")
    return InstrumentReportedError(
        f"{where.instrument} refused {command!r}: error {code} ({meaning})", code=code, meaning=meaning,
        command=command, instrument=where.instrument, resource=where.resource,
        fix=_FIXES.get(code, "check the command's parameters and the instrument's state"))


def reply_fields(command: str, reply: str, where: Where = _NOWHERE) -> list[str]:
    """The fields after the echoed `command`; the typed error for `E<nn>`; ProtocolError otherwise."""
    error = _ERROR.fullmatch(reply)
    if error:
        raise reported_error(command, f"E{error.group(1)}", where)
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


def parse_echo(command: str, reply: str, where: Where = _NOWHERE) -> None:
    """Check the reply to an action or a setting is the command echoed and nothing else."""
    _fields(command, reply, 0, where)


def parse_value(command: str, reply: str, where: Where = _NOWHERE) -> str:
    """The single field of a query such as `RGE` -> `RGE;MEDIUM`."""
    return _fields(command, reply, 1, where)[0]


def parse_word(command: str, reply: str, words: tuple[str, ...], where: Where = _NOWHERE) -> str:
    """The single field of a query, which must be one of `words`."""
    value = parse_value(command, reply, where)
    if value not in words:
        raise _unexpected(where, command, reply, f"one of {', '.join(words)}")
    return value


def parse_bool(command: str, reply: str, where: Where = _NOWHERE) -> bool:
    """`true` / `false` of a boolean reply (TOK and its forms)."""
    return parse_word(command, reply, ("true", "false"), where) == "true"


def parse_identity(reply: str, where: Where = _NOWHERE) -> tuple[str, str, str, str]:
    """`PTW;UNIDOS Tango;TM10052;1.2.4;A16` -> (name, type number, firmware, hardware revision)."""
    name, type_number, firmware, hardware = _fields("PTW", reply, 4, where)
    if not name or not firmware:
        raise _unexpected(where, "PTW", reply, "a device name and a firmware version")
    return name, type_number, firmware, hardware


def parse_serial(reply: str, where: Where = _NOWHERE) -> str:
    """`SER;123456` -> `123456`."""
    serial = parse_value("SER", reply, where)
    if not serial:
        raise _unexpected(where, "SER", reply, "a serial number")
    return serial


def parse_status(reply: str, where: Where = _NOWHERE) -> str:
    """`S;RES` -> `RES`, one of STATES."""
    return parse_word("S", reply, STATES, where)


def parse_token(command: str, reply: str, where: Where = _NOWHERE) -> bool:
    """`TOK;true`, `TOK;1;true`, `TOK;0;true` -> whether the request, query or release says yes."""
    return parse_bool(command, reply, where)


def _scaled(fields: list[str], unit: str, command: str, reply: str, where: Where) -> pint.Quantity:
    """mantissa; exponent; prefix -> the mantissa in the prefixed `unit`, once the exponent is the prefix's."""
    mantissa, exponent, prefix = fields
    mantissa = mantissa.lstrip(" ")
    found = _EXPONENT.fullmatch(exponent)
    if not _NUMBER.fullmatch(mantissa) or found is None:
        raise _unexpected(where, command, reply, f"a mantissa and an exponent like '2.6;E-3', got "
                                                 f"{mantissa!r};{exponent!r}")
    if prefix not in PREFIXES:
        raise _unexpected(where, command, reply, f"a unit prefix ({', '.join(p for p in PREFIXES if p)} or "
                                                 f"none), got {prefix!r}")
    symbol, power = PREFIXES[prefix]
    if int(found.group(1)) != power:
        raise _unexpected(where, command, reply, f"an exponent that is its prefix's power (the prefix only "
                                                 f"repeats it: E{power} for {prefix or 'no prefix'!r}), "
                                                 f"got {exponent!r} with prefix {prefix!r}")
    value = float(mantissa)
    if not math.isfinite(value):
        raise _unexpected(where, command, reply, f"a finite number, got {mantissa!r}")
    return Q_(value, symbol + unit)


def _amount(fields: list[str], command: str, reply: str, where: Where,
            units: tuple[str, ...] = DOSE_UNITS) -> pint.Quantity:
    """mantissa; exponent; prefix; unit -> the integrated value (Gy, Sv, R or C)."""
    *number, unit = fields
    if unit not in units:
        raise _unexpected(where, command, reply, f"a unit among {', '.join(units)}, got {unit!r}")
    return _scaled(number, unit, command, reply, where)


def _rate(fields: list[str], command: str, reply: str, where: Where) -> pint.Quantity:
    """mantissa; exponent; prefix; unit; time base -> a rate (Gy/min ...), or a current for `A` or C per time."""
    *number, unit, base = fields
    if unit == "A" and base == "":
        return _scaled(number, "A", command, reply, where)
    if unit not in DOSE_UNITS or base not in TIME_BASES:
        raise _unexpected(where, command, reply, f"a rate unit among {', '.join(DOSE_UNITS)} per "
                                                 f"{' or '.join(TIME_BASES)}, or A with an empty time base; got "
                                                 f"{unit!r} per {base!r}")
    value = _scaled(number, f"{unit}/{base}", command, reply, where)
    if unit == "C":
        prefix = PREFIXES[number[2]][0]
        return value.to(prefix + "A")
    return value


def _unprefixed(text: str, unit: str, want: str, command: str, reply: str, where: Where) -> pint.Quantity:
    """A reply field written without a decimal prefix (`3000.0;ms`), in the one unit it must have."""
    if not _NUMBER.fullmatch(text) or unit != want:
        raise _unexpected(where, command, reply, f"a number in {want}, got {text!r} {unit!r}")
    return Q_(float(text), want)


def parse_mv(reply: str, where: Where = _NOWHERE) -> Measurement:
    """`MV;RES;2.6;E-3;m;Gy;5.6;E-09;n;Gy;min;3000.0;ms;300.0;V;0x0` -> a Measurement (2.6 mGy, 5.6 nGy/min ...)."""
    fields = _fields("MV", reply, 15, where)
    if fields[0] not in STATES:
        raise _unexpected(where, "MV", reply, f"a status among {', '.join(STATES)} first, got {fields[0]!r}")
    flags = fields[14]
    if not re.fullmatch(r"0[xX][0-9a-fA-F]{1,8}", flags):
        raise _unexpected(where, "MV", reply, f"error flags in hex like 0x0 last, got {flags!r}")
    return Measurement(status=fields[0], unit=fields[4], value=_amount(fields[1:5], "MV", reply, where),
                       rate=_rate(fields[5:10], "MV", reply, where),
                       measuring_time=_unprefixed(fields[10], fields[11], "ms", "MV", reply, where),
                       high_voltage=_unprefixed(fields[12], fields[13], "V", "MV", reply, where),
                       flags=int(flags, 16))


def _range_name(fields: list[str], command: str, reply: str, where: Where) -> str:
    if fields[0] not in RANGES:
        raise _unexpected(where, command, reply, f"a range among {', '.join(RANGES)} first")
    return fields[0]


def parse_range_limit(command: str, reply: str, where: Where = _NOWHERE) -> tuple[str, pint.Quantity]:
    """`MVM;MEDIUM;1.65;E-06;µ;Gy;min` -> ("MEDIUM", 1.65 µGy/min): a range and the largest rate it measures."""
    fields = _fields(command, reply, 6, where)
    return _range_name(fields, command, reply, where), _rate(fields[1:], command, reply, where)


def parse_resolution(reply: str, where: Where = _NOWHERE) -> RangeResolution:
    """`MVR;MEDIUM;0.5;E-12;p;Gy;0.003;E-09;n;Gy;min` -> MEDIUM, 0.5 pGy, 0.003 nGy/min."""
    fields = _fields("MVR", reply, 10, where)
    return RangeResolution(_range_name(fields, "MVR", reply, where), _amount(fields[1:5], "MVR", reply, where),
                           _rate(fields[5:], "MVR", reply, where))


def _progress(command: str, reply: str, fields: list[str], where: Where) -> tuple[str, pint.Quantity,
                                                                                   pint.Quantity]:
    """status; ms remaining; ms total (NUS, and the head of ASS)."""
    status, remaining, total = fields[:3]
    if not status or not _WHOLE.fullmatch(remaining) or not _WHOLE.fullmatch(total):
        raise _unexpected(where, command, reply, "a status word and two whole numbers of ms")
    return status, Q_(int(remaining), "ms"), Q_(int(total), "ms")


def parse_zero_status(reply: str, where: Where = _NOWHERE) -> ZeroStatus:
    """`NUS;Passed;0;82000` -> ZeroStatus("Passed", 0 ms, 82000 ms)."""
    return ZeroStatus(*_progress("NUS", reply, _fields("NUS", reply, 3, where), where))


def parse_self_test(reply: str, where: Where = _NOWHERE) -> SelfTest:
    """`ASS;Passed;0;89000;Low; 136.6;E-12;p;C;...` -> SelfTest with 136.6 pC for Low (and each range after it)."""
    fields = reply_fields("ASS", reply, where)
    if len(fields) < 3 or (len(fields) - 3) % 5:
        raise _unexpected(where, "ASS", reply, "status, ms remaining, ms total, then per range: name, mantissa, "
                                               "exponent, prefix, unit")
    status, remaining, total = _progress("ASS", reply, fields, where)
    charges: dict[str, pint.Quantity] = {}
    for start in range(3, len(fields), 5):
        name = fields[start]
        if not name or name in charges:
            raise _unexpected(where, "ASS", reply, "a distinct range name before each charge")
        charges[name] = _amount(fields[start + 1:start + 5], "ASS", reply, where, units=("C",))
    return SelfTest(status, remaining, total, charges)


def parse_json(command: str, reply: str, where: Where = _NOWHERE) -> Any:
    """RDA / RDR;id / RMR ... : the fields after the echo joined with `,` and read as JSON."""
    fields = reply_fields(command, reply, where)
    try:
        return json.loads(",".join(fields))
    except (ValueError, RecursionError):
        raise _unexpected(where, command, reply, "JSON whose separators are ';'") from None


class PtwUnidos(Driver):
    """PTW UNIDOS Tango / Romeo: an electrometer (charge, current) or dosimeter (air kerma and its rate).

    Which readings come back depends on the instrument's unit: electrical units (UEL;true, charge in C) give
    `charge` and `current` (sent in A, or as C per time base, turned into A); Gy gives `air_kerma` and
    `air_kerma_rate` with the instrument's own detector calibration applied. Sv and R are refused.

    Every state-changing command (settings, RES/STA/HLD/INT, NUL, AST) is sent inside the write token: TOK,
    the command(s), TOK;0, with the link held throughout. The notes require the token for settings; the
    driver takes it for measurement control too, since those change what the display shows for everyone.
    Error-flag bits in MV: overload, HV error and internal error make a reading an InstrumentReportedError
    (code = the flags as sent), as does `uncalibrated` for dose units; the other bits (low signal,
    radiation-safety warning, uncalibrated with charge) are logged and kept in `last_warnings`.

    Options: `poll_interval` (time between MV, NUS and ASS polls, default 200 ms; make it longer than the
    display update so a still-rising value is not taken for a stable one). Serial defaults are 9600 8N1 (the
    notes do not give them); a site overrides them with `baudrate` etc.
    """

    driver_name = "ptw-unidos"
    capabilities = ("Electrometer", "Dosimeter")
    protocol_status = "PUBLIC"
    transports = ("tcp", "serial")
    link = LinkSettings(read_termination="\r\n", write_termination="\r\n", encoding="utf-8",
                        baudrate=9600, bytesize=8, parity="N", stopbits=1)
    simulator = "xcal.simulators.ptw_unidos:UnidosSimulator"
    option_specs = (Option("poll_interval", "time", "200 ms", "time between polls while waiting", unit="s",
                           low=0, above=True, timing=True),)
    evidence = EVIDENCE
    unexpected_fix = _FIX

    measuring_range: Setting[str] = Setting("RGE", "RGE;{}", "The measuring range", Choice(*RANGES))
    high_voltage: Setting[pint.Quantity] = Setting(
        "HV", "HV;{}", "The chamber voltage (the detector's own limits also apply)",
        Number(-400, 400, unit="V", whole=True, format="{:d}"))
    interval_time: Setting[pint.Quantity] = Setting(
        "IT", "IT;{}", "The interval measurement's duration",
        Number(1, 3_599_999, unit="s", whole=True, format="{:d}"))
    autostart: Setting[bool] = Setting("ASE", "ASE;{}", "Start measuring by itself when radiation is detected",
                                       Flag())
    autoreset: Setting[bool] = Setting("ASR", "ASR;{}", "Reset before each autostarted measurement", Flag())
    electrical_units: Setting[bool] = Setting("UEL", "UEL;{}", "Show charge and current (C, A) instead of dose",
                                              Flag())
    autostart_level: Setting[str] = Setting("ASL", "ASL;{}", "The autostart threshold", Choice(*AUTOSTART_LEVELS))

    def __init__(self, resource: str, **kwargs: Any) -> None:
        super().__init__(resource, **kwargs)
        self._poll_s = float(self.option_values["poll_interval"].magnitude)
        self._token_depth = 0
        self._baseline: float | None = None
        self.last_warnings: tuple[str, ...] = ()

    def command(self, line: str) -> str:
        """Send one command line and return its reply line, unparsed."""
        return self.transport.query(line)

    def ask_setting(self, setting: Setting[Any], command: str) -> str:
        """Query a setting (`RGE` -> `RGE;MEDIUM`): its echo checked, the single value field returned."""
        return parse_value(command, self.command(command), self.where)

    def apply_setting(self, setting: Setting[Any], line: str) -> None:
        """Send a setting inside the write token; the reply must be the line echoed."""
        self._act(line)

    def identify(self) -> InstrumentIdentity:
        """Make PTW, the device name as model (UNIDOS Tango), serial from SER, firmware from PTW."""
        with self.transport.locked():
            name, _type, firmware, _hardware = parse_identity(self.command("PTW"), self.where)
            serial = parse_serial(self.command("SER"), self.where)
        return InstrumentIdentity(make="PTW", model=name, serial=serial, firmware=firmware)

    def mac_address(self) -> str:
        """The network interface's MAC address, as sent."""
        mac = parse_value("MAC", self.command("MAC"), self.where)
        if not mac:
            raise self.unexpected("MAC", f"MAC;{mac}", "a MAC address")
        return mac

    def status(self) -> str:
        """The measurement status word (RES, MEAS, HOLD, ...)."""
        return parse_status(self.command("S"), self.where)

    def holds_write_token(self) -> bool:
        """Whether this client holds write permission now (TOK;1)."""
        return parse_token("TOK;1", self.command("TOK;1"), self.where)

    @contextmanager
    def write_access(self) -> Iterator[None]:
        """Hold the write token (TOK ... TOK;0) and the link; re-entrant."""
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
        if not parse_token("TOK", self.command("TOK"), self.where):
            raise InstrumentError(f"{self.name} ({self.resource}) refused write permission (TOK;false)",
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
        """Start an interval measurement of the interval time (IT); the meter takes it after a hold too."""
        self._act("INT")

    def measure(self) -> Measurement:
        """One MV reply, parsed; flags are not judged here."""
        return parse_mv(self.command("MV"), self.where)

    @staticmethod
    def _size(measurement: Measurement) -> float:
        return abs(float(measurement.value.to_base_units().magnitude))

    def wait_for_exposure(self, timeout: pint.Quantity) -> None:
        """Poll MV until the exposure is complete; InstrumentTimeout after `timeout`.

        Complete means: the status is one that holds a finished value (HOLD, INTHLD, AUTO_HOLD, EOM), or
        the value rose above its value at arm() (the first poll, without arm) and then read the same on
        two polls in a row. Status RES or ERROR means the instrument is not integrating and would miss the
        shot (InstrumentError); an overload or HV error ends the wait with its typed error. A completed wait
        forgets the arm() value, so a further wait without arm() starts from its own first poll.
        """
        from ...transport import seconds

        limit = seconds(timeout, "timeout")
        seen: dict[str, Any] = {"baseline": self._baseline, "last": None, "reading": None}

        def step() -> bool | None:
            reading = self.measure()
            seen["reading"] = reading
            self._refuse_unusable(reading)
            size, baseline = self._size(reading), seen["baseline"]
            if reading.status in FINISHED_STATES or (baseline is not None and size > baseline
                                                     and size == seen["last"]):
                return True
            if reading.status in ("RES", "ERROR"):
                raise InstrumentError(f"{self.name} ({self.resource}) is not integrating (status "
                                      f"{reading.status}), so it cannot record the exposure",
                                      instrument=self.name, resource=self.resource,
                                      fix="arm the instrument before the exposure; for ERROR, see its display")
            seen["baseline"] = size if baseline is None else baseline
            seen["last"] = size
            return None

        def timed_out() -> Exception:
            reading = seen["reading"]
            return InstrumentTimeout(
                f"{self.name} ({self.resource}) recorded no complete exposure within {limit:g} s "
                f"(status {reading.status}, value {reading.value:~P})", instrument=self.name,
                resource=self.resource, fix="check the chamber is in the beam and the exposure was made; give a "
                                            "longer timeout for long exposures")

        poll_until(step, timeout_s=limit, interval_s=self._poll_s, timed_out=timed_out)
        self._baseline = None

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

    def readings(self, reading: Measurement) -> dict[str, pint.Quantity]:
        """charge/current for electrical units, air_kerma/air_kerma_rate for Gy; refused otherwise."""
        self._judge(reading)
        if reading.unit == "C":
            return {"charge": reading.value, "current": reading.rate}
        if reading.unit == "Gy":
            return {"air_kerma": reading.value, "air_kerma_rate": reading.rate}
        raise InstrumentError(f"{self.name} ({self.resource}) shows {reading.value:~P}, which is neither "
                              f"air kerma (Gy) nor charge (C)", instrument=self.name, resource=self.resource,
                              fix="set the instrument's unit to Gy, or to electrical units (UEL;true)")

    def read_exposure(self) -> dict[str, pint.Quantity]:
        """The exposure's readings (see `readings`)."""
        return self.readings(self.measure())

    def read_now(self) -> dict[str, pint.Quantity]:
        """What the instrument shows now (see `readings`)."""
        return self.readings(self.measure())

    def range_maximum(self) -> pint.Quantity:
        """The largest rate (or current) the present range measures (MVM)."""
        return parse_range_limit("MVM", self.command("MVM"), self.where)[1]

    def range_resolution(self) -> RangeResolution:
        """The present range's resolution of the integrated value and of the rate (MVR)."""
        return parse_resolution(self.command("MVR"), self.where)

    def _until_done(self, what: str, ask: Callable[[], Any], timeout: pint.Quantity) -> Any:
        """Poll `ask` (NUS or ASS) until no time remains, then require `Passed`."""
        from ...transport import seconds

        limit = seconds(timeout, "timeout")
        last: list[Any] = []

        def step() -> Any:
            last[:] = [ask()]
            return last[0] if last[0].remaining.magnitude <= 0 else None

        def timed_out() -> Exception:
            return InstrumentTimeout(f"{self.name} ({self.resource}) was still {what} after {timeout:~P}",
                                     instrument=self.name, resource=self.resource,
                                     fix=f"{what} takes about {last[0].total.to('s'):~P}; wait longer")

        state = poll_until(step, timeout_s=limit, interval_s=self._poll_s, timed_out=timed_out)
        if state.status != "Passed":
            raise InstrumentError(f"{self.name} ({self.resource}) {what} ended {state.status!r}",
                                  instrument=self.name, resource=self.resource,
                                  fix="keep the chamber out of any beam and the cable still, then try again; if "
                                      "the self test fails again, have the instrument serviced")
        return state

    def zero(self, timeout: pint.Quantity | None = None) -> ZeroStatus:
        """Start zeroing (NUL, with the token); with a timeout, poll NUS until done and require `Passed`."""
        self._act("NUL")
        if timeout is None:
            return self.zero_status()
        return self._until_done("zeroing", self.zero_status, timeout)

    def zero_status(self) -> ZeroStatus:
        """The zeroing's status (NUS)."""
        return parse_zero_status(self.command("NUS"), self.where)

    def self_test(self, timeout: pint.Quantity | None = None) -> SelfTest:
        """Start the electrometer self test (AST, with the token); with a timeout, poll ASS until done, require
        `Passed`."""
        self._act("AST")
        if timeout is None:
            return self.self_test_result()
        return self._until_done("self-testing", self.self_test_result, timeout)

    def self_test_result(self) -> SelfTest:
        """The self test's status and the charge each range measured (ASS)."""
        return parse_self_test(self.command("ASS"), self.where)

    def detectors(self) -> Any:
        """The detector list (RDA), as the JSON the instrument sends; each entry carries its `guid`."""
        return parse_json("RDA", self.command("RDA"), self.where)

    def detector(self, guid: int | str) -> Any:
        """One detector's record (RDR;guid), as JSON; the reply must echo the same guid."""
        line = f"RDR;{guid}"
        return parse_json(line, self.command(line), self.where)

    def measurement_parameters(self) -> Any:
        """The measurement parameters (RMR) as JSON: range, HV, integration time, triggers ..."""
        return parse_json("RMR", self.command("RMR"), self.where)

    def system_info(self) -> Any:
        """The system information (RIR) as JSON: serial and type number, versions, calibration dates ..."""
        return parse_json("RIR", self.command("RIR"), self.where)

    def system_settings(self) -> Any:
        """The system settings (RSR) as JSON: locale, date and time, display ..."""
        return parse_json("RSR", self.command("RSR"), self.where)

    def measurement_history(self) -> Any:
        """The finished measurements the instrument keeps (RHR), as JSON; `[]` when cleared."""
        return parse_json("RHR", self.command("RHR"), self.where)

    def clear_history(self) -> None:
        """Clear the measurement history (CHR, with the token)."""
        self._act("CHR")

    def lan_config(self) -> Any:
        """The Ethernet configuration (REC) as JSON."""
        return parse_json("REC", self.command("REC"), self.where)

    def wlan_config(self) -> Any:
        """The WLAN access point configuration (RAC) as JSON."""
        return parse_json("RAC", self.command("RAC"), self.where)

    def failed_request(self) -> str:
        """What the instrument says of the last command that failed with an HTTP request (TFI; `-` for none)."""
        return parse_value("TFI", self.command("TFI"), self.where)
