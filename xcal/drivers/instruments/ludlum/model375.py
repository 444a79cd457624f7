"""Ludlum 375 area monitor: the record stream it sends over RS-232, read as the vendor's manual lays it out.

PUBLIC for the output only: Ludlum's manual for the Models 375 (Including Series One), 375/1, 375/2 & 375/4
(May 2017), which gives two layouts (`Ludlum375.evidence`). There are no commands, so the driver only listens.
- RS-232 Output (page 4-3): with the CAL MODE dipswitch left, every two seconds, 14 bytes: the reading as six
  characters `DDDD.D` (e.g. `0642.1`), five status digits (`1` = on) for audio, high alarm, low alarm, over
  range and monitor, one error-code character, CR, LF. E.g. `0642.1010000` CR LF.
- RS-232 Data Format (page 5-6, the printer output): 34 bytes: the reading, three spaces, `MM/DD/YY`, a space,
  `HH:MM:SS`, a space, `ALARM` or ` FAIL`, CR, LF; the manual's example `0642.1 04/21/95 16:56:24 ALARM`.
Both are read; spaces between the printer fields are taken as any run of blanks (the manual's example and its
byte table differ in their count). FAIL, OVER RANGE and an error code other than `0` are
InstrumentReportedErrors (the manual lists no codes, so `0` is taken to mean none); the alarms, audio and
monitor words are kept in `last_record.status`.

Unshown, decided here: the line settings (9600 8N1, overridable with `baudrate` etc.) and the reading's unit,
which the monitor is set to and does not send (option `unit`, e.g. `mR/h`, `µSv/h`, `cpm`; counts per time
give `count_rate`, dose per time `dose_rate`, exposure per time `exposure_rate`, in that very unit).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ....errors import ConfigError, InstrumentReportedError, ProtocolError
from ....units import Q_, parse_quantity
from ...base import Driver, Where
from ...capabilities import InstrumentIdentity
from ...evidence import Command, Evidence, Source
from ...link import LinkSettings
from ...settings import Option

if TYPE_CHECKING:  # pragma: no cover
    import pint

STATUS_BITS = ("AUDIO", "HIGH ALARM", "LOW ALARM", "OVER RANGE", "MONITOR")
"""The five status digits of the CAL MODE record, in order."""
PRINTER_STATUS = ("ALARM", "FAIL")
NO_ERROR = "0"
RECORD_PERIOD_S = 2.0
STREAM = "(record stream)"
_DEFAULT = Where("Ludlum 375")
FIX = ("check the monitor's CAL MODE dipswitch is set and the port's baud rate and parity match the monitor; a "
       "garbled record can also mean a bad cable")

_CAL = re.compile(r"^(\d{4}\.\d)([01]{5})([\x21-\x7e])$", re.ASCII)
_PRINTER = re.compile(r"^(\d{4}\.\d) +(\d{2}/\d{2}/\d{2}) (\d{2}:\d{2}:\d{2}) +(ALARM|FAIL)$", re.ASCII)


@dataclass(frozen=True)
class Record:
    """One record: the reading (in the monitor's unit), its status words, the error code (CAL MODE records)
    and the date and time (printer records)."""

    reading: float
    status: tuple[str, ...]
    error_code: str | None = None
    stamp: datetime | None = None


def _unexpected(where: Where, line: str, expected: str) -> ProtocolError:
    return ProtocolError(f"{where.instrument} sent {line!r}; expected {expected}", instrument=where.instrument,
                         resource=where.resource, fix=FIX)


def parse_record(line: str, where: Where = _DEFAULT) -> Record:
    """`0642.1010000` -> Record(642.1, ('HIGH ALARM',), '0'); `0642.1   04/21/95 16:56:24 ALARM` -> a Record
    with the stamp 1995-04-21 16:56:24 and status ('ALARM',)."""
    found = _CAL.match(line)
    if found:
        reading, bits, code = found.groups()
        status = tuple(word for word, bit in zip(STATUS_BITS, bits, strict=True) if bit == "1")
        return Record(float(reading), status, code)
    found = _PRINTER.match(line)
    if found:
        reading, day, clock, word = found.groups()
        try:
            stamp = datetime.strptime(f"{day} {clock}", "%m/%d/%y %H:%M:%S")
        except ValueError:
            raise _unexpected(where, line, "a real date MM/DD/YY and time HH:MM:SS") from None
        return Record(float(reading), (word,), None, stamp)
    raise _unexpected(where, line, "a CAL MODE record `DDDD.D` + 5 status digits + error code, or a printer "
                                   "record `DDDD.D MM/DD/YY HH:MM:SS ALARM|FAIL` (Ludlum's manual, pages 4-3, 5-6)")


def reading_name(unit: pint.Quantity) -> str:
    """`count_rate` for counts per time, `dose_rate` for dose (Sv, Gy) per time, `exposure_rate` for R per time.

    Exposure (R) is not dose: it is kept as an exposure rate and never turned into µSv/h behind the user's back.
    """
    for reference, name in (("cpm", "count_rate"), ("Sv/h", "dose_rate"), ("R/h", "exposure_rate")):
        if unit.dimensionality == Q_(1, reference).dimensionality:
            return name
    raise ValueError(f"{unit.units:~P} is not a dose rate, an exposure rate or a count rate")


class Ludlum375(Driver):
    """Ludlum 375 area monitor, listened to (the module docstring says what the manual gives and what not).

    `read_now` discards the first line after the port opens (it may be the tail of a record) and then
    returns the next complete record as `dose_rate`, `exposure_rate` or `count_rate` in the unit of option
    `unit`. Records that queued up between calls are dropped first, so a reading is never older than one
    period. `identify` asks nothing: make, model and serial come from the options `make`, `model`, `serial`
    (default Ludlum, 375, unknown). The timeout defaults to 5 s, 2.5 record periods.
    """

    driver_name = "ludlum-375"
    capabilities = ("SurveyMeter",)
    protocol_status = "PUBLIC"
    transports = ("serial",)
    reports_serial = False                               # the stream carries no identity
    link = LinkSettings(read_termination="\r\n", write_termination="\r\n", baudrate=9600, bytesize=8,
                        parity="N", stopbits=1)
    simulator = "xcal.simulators.ludlum_375:Ludlum375Simulator"
    unexpected_fix = FIX
    option_specs = (
        Option("unit", "text", None, "the unit the monitor shows, e.g. 'mR/h', 'µSv/h', 'cpm' (required)"),
        Option("make", "text", "Ludlum", "the monitor's make, as the site knows it"),
        Option("model", "text", "375", "the monitor's model, as the site knows it"),
        Option("serial", "text", "unknown", "the monitor's serial number, as the site knows it"),
    )
    evidence = Evidence(
        sources={
            "manual": Source("Ludlum Measurements, Models 375 (Including Series One), 375/1, 375/2 & 375/4 "
                             "manual, May 2017: RS-232 Output (page 4-3) and RS-232 Data Format (page 5-6)",
                             "vendor", "https://www.easymanua.ls/ludlum-measurements/375/manual?p=19 and ?p=27"),
        },
        commands=(
            Command(STREAM, ("manual",), note="nothing is sent: the monitor streams its records"),
        ),
        disagreements=(
            "Record layout: xcal's notes gave the 2 s CAL MODE record as reading, date, time and ALARM/FAIL. "
            "The manual gives that layout for the printer output (page 5-6) and, for the CAL MODE dump every "
            "two seconds (page 4-3), the reading followed by five status digits and an error code, with no "
            "date. Chosen: the manual; both layouts are read, the simulator streams the CAL MODE one.",
            "Printer fields: the manual's byte table has three spaces after the reading and ' FAIL' with a "
            "leading space; its example shows single spaces. Chosen: any run of spaces there.",
            "Date: xcal took the date order as unknown (day and month in either order, / or -, 2 or 4-digit "
            "year); the manual gives MM/DD/YY. Chosen: the manual.",
        ),
    )

    def __init__(self, resource: str, *, timeout: pint.Quantity | None = None, **kwargs: Any) -> None:
        if timeout is None:
            timeout = Q_(2.5 * RECORD_PERIOD_S, "s")
        super().__init__(resource, timeout=timeout, **kwargs)
        try:
            self.unit, self.reading_name = self._unit()
        except ConfigError:
            self.close()
            raise
        self._synced = False
        self.last_record: Record | None = None

    def _unit(self) -> tuple[str, str]:
        unit = self.options.get("unit")
        fix = "add `unit: mR/h` (or the unit the monitor is set to: µSv/h, mrem/h, cpm ...) to its options"
        if not isinstance(unit, str) or not unit.strip():
            raise ConfigError(f"{self.name}: the Ludlum 375's reading unit is set in the monitor and not sent, "
                              f"so the site must give it", fix=fix)
        try:
            quantity = parse_quantity(f"1 {unit.strip()}")
            return unit.strip(), reading_name(quantity)
        except ValueError as exc:
            raise ConfigError(f"{self.name}: option unit {unit!r}: {exc}", fix=fix) from None

    def identify(self) -> InstrumentIdentity:
        """What the site says the monitor is; the stream carries no identity."""
        values = self.option_values
        return InstrumentIdentity(values["make"], values["model"], values["serial"], "unknown (output-only protocol)")

    def _discard_line(self) -> None:
        """Read and drop the first line after opening: a record's tail, possibly cut inside a character."""
        with contextlib.suppress(ProtocolError):
            self.transport.read()
        self._synced = True

    def next_record(self) -> Record:
        """The next complete record sent after this call; FAIL, OVER RANGE or an error code -> reported error.

        Records that arrived since the last call are thrown away first (they are old), and so is a record cut
        in the middle (after opening, or by that discard), so a reading is never older than one period.
        """
        with self.transport.locked():
            old = self.transport.discard_input()
            if old and not old.endswith(b"\n"):
                self._synced = False
            if not self._synced:
                self._discard_line()
            line = self.transport.read().strip("\r\n")
        record = parse_record(line, self.where)
        self.last_record = record
        self._judge(record)
        return record

    def _judge(self, record: Record) -> None:
        """Raise the monitor's own complaint in `record`, if it has one."""
        problems = [("FAIL", "the monitor reports a failure"),
                    ("OVER RANGE", "the reading is at the top of the monitor's range, not the field")]
        for word, meaning in problems:
            if word in record.status:
                self._reported(record, word, meaning)
        if record.error_code not in (None, NO_ERROR):
            self._reported(record, f"E{record.error_code}", f"the monitor sends error code {record.error_code!r}")

    def _reported(self, record: Record, code: str, meaning: str) -> None:
        raise InstrumentReportedError(
            f"{self.name} ({self.resource}) reports {code} (reading {record.reading:g} {self.unit})", code=code,
            meaning=meaning, command=STREAM, instrument=self.name, resource=self.resource,
            fix="look at the monitor's display and its detector cable; have it serviced if this persists")

    def read_now(self) -> dict[str, pint.Quantity]:
        """The next record's reading in the configured unit."""
        record = self.next_record()
        return {self.reading_name: Q_(record.reading, self.unit)}
