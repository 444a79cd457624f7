"""Thermo RadEye survey meters through their IR read-head: serial 9600 baud, 7 data bits, even parity, 2 stop bits.

PARTIAL (no public vendor document; five independent clients, four of them run on real units, listed in
`ThermoRadEye.evidence`). Two kinds of traffic:
- commands: the wake byte `@`, answered `>`; then `>` + command + LF; the reply is the value with `>` and `#`
  around it and CR LF after it (all stripped). Used: `Vx` type, `#R` serial, `ZR` clock YYMMDDhhmmss, `WR`
  calibration date YYMMDD, `Z` raw count rates, `X1`/`X0` cyclic sending on/off.
- the cyclic record the unit sends every second once `X1` is on: STX, whitespace-separated fields, ETX, CR LF,
  e.g. `351 5  0 0 04 FH41B2  0 42`. The first field is the displayed value without its decimal point, the
  second the display-unit code; on 8-field records (types FH41B2, SX) the fifth is a hex flag byte (bit 1
  overload, bit 2 alarm, bit 5 low battery), the sixth the detector type, the seventh the total dose, the
  last an unverified check field.

`read_now` reads the cyclic record, so the unit and scale come from the meter itself. Decoded unit codes and
scales (value × scale): 0 Sv/h × 0.01 µSv/h, 1 Gy/h × 0.01 µGy/h, 2 R/h × 1 µR/h, 10 rem/h × 1 µrem/h (lyra-
radeye), 5 cps × 0.01 cps and 3 cpm × 0.1 cpm (radeye-b20, checked against a display). Any other code
(Bq, dpm, dps, Bq/cm²) is refused: no source shows its scale. The detector type `PRDER` is refused too: its
value is not the first field (westpoint-robotics reads the third).

Unshown, so strict: the reply to `X1`/`X0` (any single value, ignored), a `Vx` reply of one word (taken as the
type; lyra-radeye takes the second of several words), the layout and unit of `Z` (whole numbers, returned as
they are). A count rate becomes a dose rate only through the site's `sensitivity` or `calibration_factor`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ....errors import ConfigError, InstrumentError, InstrumentReportedError, ProtocolError
from ....units import Q_, parse_quantity
from ...base import Driver, Where, unexpected_reply
from ...capabilities import InstrumentIdentity
from ...evidence import Command, Evidence, Source
from ...link import LinkSettings
from ...settings import Option

if TYPE_CHECKING:  # pragma: no cover
    import pint

log = logging.getLogger("xcal.drivers.instruments.thermo.radeye")

WAKE = b"@"
AWAKE = b">"
STX, ETX = b"\x02", b"\x03"
SWITCHING_OFF = "@CIAO"
"""What a unit sends on its read-head as it switches off (itsmevjnk/radeye_ros)."""
G20_TYPE = "FH41B2"
"""The detector type in the cyclic record of the G10/G20/B20 units the sources saw."""
RECORD = "(cyclic record)"
FRAMING = ">#\r\n"
MAX_SKIPPED = 8
"""Lines (cyclic records, tails of records) a read may pass over before it gives up on the one it waits for."""
WAKE_LIMIT = 256
"""Bytes of a running stream the wake may pass over before its `>`."""

UNIT_CODES: dict[int, tuple[str, float, str]] = {
    0: ("µSv/h", 100, "dose_rate"),
    1: ("µGy/h", 100, "dose_rate"),
    2: ("µR/h", 1, "exposure_rate"),
    10: ("µrem/h", 1, "dose_rate"),
    5: ("cps", 100, "count_rate"),
    3: ("cpm", 10, "count_rate"),
}
"""Display-unit code -> (unit of the value, digits per unit, reading name): `351` in cps is 351 / 100 cps."""
FLAG_BITS = {1: "OVERLOAD", 2: "ALARM", 5: "LOW BATTERY"}
_DEFAULT = Where("RadEye")
FIX = ("check the unit sits in its IR read-head and the port is 9600 7E2; the protocol is PARTIAL, so this unit "
       "may answer in a way the sources do not cover")

_VALUE = re.compile(r"^[\x20-\x7e]*$")
_FIELDS = re.compile(r"^\d+(?:\s+\d+)*$", re.ASCII)
_STAMP = re.compile(r"^\d{12}$", re.ASCII)
_DAY = re.compile(r"^\d{6}$", re.ASCII)
_HEX = re.compile(r"^[0-9A-Fa-f]{1,2}$", re.ASCII)


@dataclass(frozen=True)
class Record:
    """One cyclic record: the scaled value in its unit, the unit code, the detector type and the flag words."""

    value: float
    unit: str
    code: int
    detector: str | None
    status: tuple[str, ...]
    fields: tuple[str, ...]


def _unexpected(where: Where, command: str, reply: object, expected: str) -> ProtocolError:
    return unexpected_reply(where, command, reply, expected, FIX)


def parse_wake(answer: bytes, where: Where = _DEFAULT) -> None:
    """The unit's answer to the wake byte must be `>`."""
    if answer != AWAKE:
        raise _unexpected(where, "@", answer, "'>' (awake)")


def parse_reply(command: str, raw: bytes, where: Where = _DEFAULT) -> str:
    """`>FH41B2#\\r\\n` -> `FH41B2`: the line without the `>`, `#`, CR and LF around it."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise _unexpected(where, command, raw, "7-bit ASCII text") from None
    if not text.endswith("\n"):
        raise _unexpected(where, command, raw, "a line ending with \\n")
    value = text.strip(FRAMING)
    if any(mark in value for mark in FRAMING) or not _VALUE.match(value):
        raise _unexpected(where, command, raw, "one printable value between '>' and '#'")
    return value.strip()


def parse_type(value: str, where: Where = _DEFAULT) -> str:
    """The `Vx` reply: the type is the second word of several (lyra-radeye), or the one word given."""
    words = value.split()
    kind = words[1] if len(words) > 1 else (words[0] if words else "")
    if not kind or not kind.isascii() or not kind.isalnum():
        raise _unexpected(where, "Vx", value, "a type code of letters and digits")
    return kind


def parse_serial(value: str, where: Where = _DEFAULT) -> str:
    """The `#R` reply: a serial number without spaces."""
    if not value or " " in value:
        raise _unexpected(where, "#R", value, "a serial number")
    return value


def parse_clock(value: str, where: Where = _DEFAULT) -> datetime:
    """The `ZR` reply YYMMDDhhmmss -> a datetime (years 2000-2099)."""
    if not _STAMP.match(value):
        raise _unexpected(where, "ZR", value, "twelve digits YYMMDDhhmmss")
    try:
        return datetime.strptime("20" + value, "%Y%m%d%H%M%S")
    except ValueError:
        raise _unexpected(where, "ZR", value, "a valid date and time YYMMDDhhmmss") from None


def parse_day(value: str, where: Where = _DEFAULT) -> date:
    """The `WR` reply YYMMDD (lyra-radeye reads it as year, month, day from 2000) -> a date."""
    if not _DAY.match(value):
        raise _unexpected(where, "WR", value, "six digits YYMMDD")
    try:
        return datetime.strptime("20" + value, "%Y%m%d").date()
    except ValueError:
        raise _unexpected(where, "WR", value, "a valid date YYMMDD") from None


def parse_count_rates(value: str, where: Where = _DEFAULT) -> tuple[int, ...]:
    """The `Z` reply: whole numbers separated by white space, e.g. `512 3`."""
    if not _FIELDS.match(value):
        raise _unexpected(where, "Z", value, "whole numbers separated by spaces")
    return tuple(int(field) for field in value.split())


def parse_record(raw: bytes, where: Where = _DEFAULT) -> Record:
    """One cyclic record `STX fields ETX CR LF` -> Record; the value is scaled by its unit code."""
    start, end = raw.find(STX), raw.rfind(ETX)
    if start < 0 or end < start:
        raise _unexpected(where, RECORD, raw, "STX, the fields, ETX")
    try:
        text = raw[start + 1:end].decode("ascii")
    except UnicodeDecodeError:
        raise _unexpected(where, RECORD, raw, "7-bit ASCII fields") from None
    fields = tuple(text.split())
    if len(fields) < 3 or not _VALUE.match(text):
        raise _unexpected(where, RECORD, raw, "value, unit code and further fields")
    detector = next((f for f in fields[2:] if not f.isdigit() and not _HEX.match(f)), None)
    if detector == "PRDER":
        raise _unexpected(where, RECORD, raw, "a record whose first field is the value (a PRD-ER puts it "
                                              "third, which xcal does not read)")
    if not (fields[0].isdigit() and fields[1].isdigit()):
        raise _unexpected(where, RECORD, raw, "the value digits and the unit code first")
    code = int(fields[1])
    if code not in UNIT_CODES:
        raise InstrumentError(
            f"{where.instrument} shows unit code {code}, whose scale no source gives", instrument=where.instrument,
            resource=where.resource, fix="set the RadEye's display unit to Sv/h, Gy/h, R/h, rem/h, cps or cpm")
    unit, per_unit, _ = UNIT_CODES[code]
    status: tuple[str, ...] = ()
    if detector is not None:
        flags = fields[fields.index(detector) - 1]
        if _HEX.match(flags):
            bits = int(flags, 16)
            status = tuple(word for bit, word in FLAG_BITS.items() if bits >> bit & 1)
    return Record(int(fields[0]) / per_unit, unit, code, detector, status, fields)


def reading_of(record: Record) -> tuple[str, pint.Quantity]:
    """The record as (reading name, quantity in its own unit)."""
    return UNIT_CODES[record.code][2], Q_(record.value, record.unit)


class ThermoRadEye(Driver):
    """Thermo RadEye survey meter (PARTIAL protocol; the module docstring says what is shown and what is not).

    `read_now` switches cyclic sending on (`X1`) the first time, drops records that queued up since the last
    call, and decodes the next complete record: `dose_rate` (Sv/h, Gy/h, rem/h), `exposure_rate` (R/h) or
    `count_rate` (cps, cpm) in the unit the meter shows, plus `dose_rate` from a count rate when the site gives
    `sensitivity` or `calibration_factor`. An OVERLOAD flag is an InstrumentReportedError; ALARM and LOW
    BATTERY are kept in `last_record.status`. Commands still work while the records stream: the records that
    come between are passed over.
    """

    driver_name = "thermo-radeye"
    capabilities = ("SurveyMeter",)
    protocol_status = "PARTIAL"
    transports = ("serial",)
    link = LinkSettings(read_termination="\n", write_termination="\n", baudrate=9600, bytesize=7, parity="E",
                        stopbits=2)
    simulator = "xcal.simulators.thermo_radeye:RadEyeSimulator"
    unexpected_fix = FIX
    option_specs = (
        Option("sensitivity", "text", None, "count rate per dose rate from the certificate, e.g. "
                                            "'153.8 cpm/(µSv/h)'"),
        Option("calibration_factor", "text", None, "dose rate per count rate, e.g. '0.0065 µSv/h/cpm'"),
    )
    evidence = Evidence(
        sources={
            "radeye-b20": Source("radeye-b20 0.1.0 (PyPI), a RadEye B20 stream reader checked against the "
                                 "meter's display", "hardware-client",
                                 "https://pypi.org/project/radeye-b20/ (radeye_b20/protocol.py, device.py)"),
            "lyra": Source("ori-systems/lyra-radeye, ROS 2 node run on RadEye G10 and SX units",
                           "hardware-client", "https://github.com/ori-systems/lyra-radeye "
                                              "(include/radeye/RadEyeCom.h, radeye.h, README.md)"),
            "westpoint": Source("westpoint-robotics/radeye_detector, ROS node for RadEye GN+ and PRD-ER",
                                "hardware-client", "https://github.com/westpoint-robotics/radeye_detector "
                                                   "(src/radeye_node.py)"),
            "radeye_ros": Source("itsmevjnk/radeye_ros, ROS 2 node reading the cyclic record", "third-party",
                                 "https://github.com/itsmevjnk/radeye_ros (radeye_ros/radeye_node.py)"),
            "g20-visa": Source("pyvisa RadEyeG20 class of a lab DAQ (repository not named by the code index)",
                               "third-party", "code index file id 42473646711"),
        },
        commands=(
            Command("@", ("lyra", "g20-visa"), note="wake byte, answered '>' (westpoint sends '00' instead)"),
            Command(">Vx", ("lyra",), note="type; lyra takes the second word of the reply"),
            Command(">#R", ("lyra",), note="serial number"),
            Command(">ZR", ("lyra",), note="clock YYMMDDhhmmss (lyra reads 13 characters: CR left in)"),
            Command(">WR", ("lyra",), note="calibration date YYMMDD"),
            Command(">Z", ("lyra",), note="raw count rates; no source says their unit"),
            Command(">X1", ("lyra", "g20-visa", "westpoint"),
                    note="cyclic sending on; the record is read as radeye-b20, lyra, westpoint, radeye_ros "
                         "and the G20 class read it"),
            Command(">X0", ("lyra",), note="cyclic sending off"),
        ),
        disagreements=(
            "Stop bits: radeye-b20 opens 7E1; lyra-radeye (CSTOPB), westpoint, radeye_ros and the G20 class "
            "open 7E2. radeye-b20 only listens, and a receiver set to one stop bit reads a 7E2 sender "
            "unchanged, so its 7E1 says nothing about what the unit accepts; the clients that send commands "
            "all use 7E2, on G10, SX, GN+ and PRD-ER units. Chosen: 7E2 for every model (no source shows a "
            "model that differs); a site may set `stopbits: 1`.",
            "Wake: lyra sends '@' and waits for '>'; westpoint sends '00' and reads one byte. Chosen: '@' "
            "(lyra follows the vendor's protocol document section by section; the G20 class also sends '@').",
            "Command framing: lyra sends '>' + command + LF; westpoint sends 'X1' CR LF and the G20 class "
            "'X1' with pyvisa's default termination, both without '>'. Chosen: lyra's form, the only one "
            "that also reads replies.",
            "cpm scale: radeye-b20 scales cpm digits by 0.1 ('2290' = 229.0 cpm, checked on the display); "
            "lyra divides every unit but R/h and rem/h by 100. Chosen: radeye-b20 (checked on hardware); "
            "both agree on cps (× 0.01).",
            "'FH41B2': xcal's notes took it for the answer to 'Vx'. The G20 class finds it in the cyclic "
            "record after 'X1', lyra reads it as record field 6 ('model') and radeye-b20 as the 'device / "
            "probe tag'. Chosen: a record field (Record.detector); identify still asks 'Vx'.",
            "Dose rate of a G20: xcal's notes read it as 10 × the first field of 'Z' in nSv/h. The G20 class "
            "applies that to the cyclic record, where lyra reads unit code 0 as value / 100 µSv/h (the same "
            "scale). Chosen: the record with its unit code; 'Z' is no longer used for a reading.",
            "Last record field: radeye-b20 calls it a checksum with unknown algorithm; lyra does not read it. "
            "Chosen: ignored.",
        ),
    )

    def __init__(self, resource: str, **kwargs: Any) -> None:
        super().__init__(resource, **kwargs)
        try:
            self._to_dose_rate = self._calibration()
        except ConfigError:
            self.close()
            raise
        self._type: str | None = None
        self._streaming = False
        self.last_record: Record | None = None

    # --- options ---------------------------------------------------------------------------------------

    def _calibration(self) -> dict[str, pint.Quantity] | None:
        """µSv/h per cps and per cpm, from `sensitivity` or `calibration_factor`; None without either."""
        import pint

        given = [name for name in ("sensitivity", "calibration_factor") if self.option_values.get(name)]
        if not given:
            return None
        if len(given) > 1:
            raise ConfigError(f"{self.name}: give one way to the dose rate, not {' and '.join(given)}",
                              fix="keep either sensitivity or calibration_factor")
        name = given[0]
        example = "153.8 cpm/(µSv/h)" if name == "sensitivity" else "0.0065 µSv/h/cpm"
        value = self.options[name]
        factors = {}
        try:
            factor = value if isinstance(value, pint.Quantity) else parse_quantity(value)
            for unit in ("cps", "cpm"):
                one = Q_(1, unit)
                factors[unit] = ((one / factor) if name == "sensitivity" else (one * factor)).to("µSv/h")
        except Exception as exc:  # noqa: BLE001 - pint raises several kinds for a wrong unit
            raise ConfigError(f"{self.name}: option {name} {value!r} does not turn a count rate into a dose "
                              f"rate ({exc})", fix=f"give {name} like '{example}'") from None
        if not factors["cps"].magnitude > 0:
            raise ConfigError(f"{self.name}: option {name} must be more than zero", fix=f"give {name} like "
                                                                                       f"'{example}'")
        return factors

    # --- the line --------------------------------------------------------------------------------------

    def command(self, command: str) -> str:
        """Wake the unit, send `>` + command + LF and return the reply's value (cyclic records passed over)."""
        with self.transport.locked():
            if not self._streaming:
                self.transport.discard_input()
            self.transport.write_bytes(WAKE)
            first = b"" if self._streaming else self.transport.read_bytes(1)
            if self._streaming or first == STX:              # records stream: pass over them to the '>'
                self._streaming = True
                passed = first + self.transport.read_until(AWAKE)
                if len(passed) > WAKE_LIMIT:
                    raise self.unexpected("@", passed, "'>' (awake)")
            else:
                parse_wake(first, self.where)
            self.transport.write_bytes(b">" + command.encode("ascii") + b"\n")
            raw = self._line(lambda line: STX not in line, command)
        return parse_reply(command, raw, self.where)

    def _line(self, wanted: Any, what: str) -> bytes:
        """The next line `wanted` accepts; lines it refuses are passed over (MAX_SKIPPED of them at most)."""
        passed: list[bytes] = []
        while len(passed) <= MAX_SKIPPED:
            line = self.transport.read_until(b"\n")
            if line.strip(b"\r\n") == SWITCHING_OFF.encode():
                self._streaming = False
                raise InstrumentReportedError(
                    f"{self.name} ({self.resource}) is switching off", code=SWITCHING_OFF,
                    meaning="the unit sent @CIAO: it is switching off", command=what, instrument=self.name,
                    resource=self.resource, fix="switch the RadEye on and put it back in its read-head")
            if wanted(line):
                return line
            passed.append(line)
        raise self.unexpected(what, b"".join(passed), f"its reply within {MAX_SKIPPED} lines")

    # --- queries and settings --------------------------------------------------------------------------

    def device_type(self) -> str:
        """The `Vx` type code; asked once, then remembered."""
        if self._type is None:
            self._type = parse_type(self.command("Vx"), self.where)
        return self._type

    def identify(self) -> InstrumentIdentity:
        """Type from `Vx` and serial from `#R`; the protocol gives no firmware version."""
        kind = self.device_type()
        serial = parse_serial(self.command("#R"), self.where)
        return InstrumentIdentity("Thermo", f"RadEye (type {kind})", serial, "unknown (not in the protocol)")

    def clock(self) -> datetime:
        """The unit's date and time (`ZR`)."""
        return parse_clock(self.command("ZR"), self.where)

    def calibration_date(self) -> date:
        """The calibration date the unit keeps (`WR`, YYMMDD)."""
        return parse_day(self.command("WR"), self.where)

    def raw_count_rates(self) -> tuple[int, ...]:
        """The fields of `Z`, as whole numbers (no source says their unit)."""
        return parse_count_rates(self.command("Z"), self.where)

    def auto_send(self, on: bool) -> None:
        """Cyclic sending of the record on (`X1`) or off (`X0`)."""
        self.command("X1" if on else "X0")
        self._streaming = on

    # --- SurveyMeter -----------------------------------------------------------------------------------

    def next_record(self) -> Record:
        """The next complete cyclic record (switching cyclic sending on first); OVERLOAD -> reported error."""
        with self.transport.locked():
            if self._streaming:
                self.transport.discard_input()
            else:
                self.auto_send(True)
            raw = self._line(lambda line: STX in line, RECORD)
        record = parse_record(raw, self.where)
        self.last_record = record
        if "OVERLOAD" in record.status:
            raise InstrumentReportedError(
                f"{self.name} ({self.resource}) reports an overload (reading {record.value:g} {record.unit})",
                code="OVERLOAD", meaning="the detector is overloaded; the reading is not the field",
                command=RECORD, instrument=self.name, resource=self.resource,
                fix="move the meter to a lower field or use one rated for this field")
        if "LOW BATTERY" in record.status:
            log.warning("%s: the RadEye reports a low battery", self.name)
        return record

    def read_now(self) -> dict[str, pint.Quantity]:
        """The next record's reading in the unit the meter shows; a count rate also as a site-calibrated
        dose rate."""
        record = self.next_record()
        name, value = reading_of(record)
        readings = {name: value}
        if name == "count_rate" and self._to_dose_rate is not None:
            readings["dose_rate"] = record.value * self._to_dose_rate[record.unit]
        return readings
