"""Ludlum 375 area monitor: the record stream it sends over RS-232 with its calibration-mode switch set.

PUBLIC for the output format only (a manual excerpt): every 2 s a record of reading (e.g. `0642.1`), date,
time and status (`ALARM`, `FAIL`), ending CR LF. There are no commands, so the driver only listens. The
notes do not give the field separators, the date layout, the line settings or the reading's unit; the
driver decides, strictly:
- fields are separated by spaces or tabs: `<reading> <date> <time> [ALARM] [FAIL]`; the reading is an
  unsigned decimal, the date two digit groups and a two- or four-digit year joined by `/` or `-` (kept as
  sent: the order of day and month is not known), the time `hh:mm` or `hh:mm:ss`; anything else is a
  ProtocolError;
- the unit is set in the monitor, so the site must give it (option `unit`, e.g. `mR/h`, `µSv/h`, `cpm`);
  counts per time give `count_rate`, dose per time `dose_rate` and exposure per time `exposure_rate`, in that very unit (an exposure
  rate such as mR/h is not turned into Sv/h: that factor belongs to the site, not the driver);
- the line defaults to 9600 8N1, to be overridden with `baudrate` etc. to match the monitor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ConfigError, InstrumentReportedError, ProtocolError
from ..units import Q_, parse_quantity
from .base import Driver
from .capabilities import InstrumentIdentity
from .link import LinkSettings

if TYPE_CHECKING:  # pragma: no cover
    import pint

STATUS_WORDS = ("ALARM", "FAIL")
RECORD_PERIOD_S = 2.0
STREAM = "(record stream)"

_READING = re.compile(r"^\d+(?:\.\d+)?$", re.ASCII)
_DATE = re.compile(r"^\d{2}([/-])\d{2}\1(?:\d{2}|\d{4})$", re.ASCII)
_TIME = re.compile(r"^\d{2}:\d{2}(?::\d{2})?$", re.ASCII)
_PRINTABLE = re.compile(r"^[\x20-\x7e\t]*$")


class Where(NamedTuple):
    """Which instrument a record came from, for the errors a parser raises."""

    instrument: str = "Ludlum 375"
    resource: str | None = None


@dataclass(frozen=True)
class Record:
    """One record: the reading as a number (in the monitor's unit), date and time as sent, status words."""

    reading: float
    date: str
    time: str
    status: tuple[str, ...]


def _unexpected(where: Where, line: str, expected: str) -> ProtocolError:
    return ProtocolError(f"{where.instrument} sent {line!r}; expected {expected}", instrument=where.instrument,
                         resource=where.resource,
                         fix="check the monitor's calibration-mode switch is set and the port's baud rate and "
                             "parity match the monitor; a garbled record can also mean a bad cable")


def _plausible_date(date: str) -> bool:
    """Day and month, in either order: both 1-31 and one of them 1-12."""
    first, second = (int(part) for part in re.split("[/-]", date)[:2])
    return 1 <= first <= 31 and 1 <= second <= 31 and min(first, second) <= 12


def _plausible_time(clock: str) -> bool:
    hours, *rest = (int(part) for part in clock.split(":"))
    return hours <= 23 and all(part <= 59 for part in rest)


def parse_record(line: str, where: Where = Where()) -> Record:
    """`0642.1 03/14/24 10:15:02 ALARM` -> Record(642.1, '03/14/24', '10:15:02', ('ALARM',))."""
    if not _PRINTABLE.match(line):
        raise _unexpected(where, line, "a record of printable text")
    fields = line.split()
    if len(fields) < 3:
        raise _unexpected(where, line, "reading, date, time and optional status, separated by spaces")
    reading, date, clock, *status = fields
    if not _READING.match(reading):
        raise _unexpected(where, line, f"a reading like 0642.1 first, got {reading!r}")
    if not _DATE.match(date) or not _plausible_date(date):
        raise _unexpected(where, line, f"a date like 03/14/24 second, got {date!r}")
    if not _TIME.match(clock) or not _plausible_time(clock):
        raise _unexpected(where, line, f"a time like 10:15:02 third, got {clock!r}")
    if any(word not in STATUS_WORDS for word in status) or len(set(status)) != len(status):
        raise _unexpected(where, line, f"status words among {', '.join(STATUS_WORDS)} after the time")
    return Record(float(reading), date, clock, tuple(status))


def reading_name(unit: "pint.Quantity") -> str:
    """`count_rate` for counts per time, `dose_rate` for dose (Sv, Gy) per time, `exposure_rate` for R per time.

    Exposure (R) is not dose: it is kept as an exposure rate and never turned into µSv/h behind the user's back.
    """
    for reference, name in (("cpm", "count_rate"), ("Sv/h", "dose_rate"), ("R/h", "exposure_rate")):
        if unit.dimensionality == Q_(1, reference).dimensionality:
            return name
    raise ValueError(f"{unit.units:~P} is not a dose rate, an exposure rate or a count rate")


class Ludlum375(Driver):
    """Ludlum 375 area monitor, listened to (the module docstring says what the driver decided).

    `read_now` discards the first line after the port opens (it may be the tail of a record) and then
    returns the next complete record as `dose_rate` (or `count_rate`) in the unit of option `unit`. A record
    with status FAIL is an InstrumentReportedError (code FAIL); ALARM is kept in `last_record.status`.
    Records queue in the port's input between calls (the transport cannot discard them), so a reading may
    be as old as the time since the previous call: call it in a loop for live values. `identify` asks
    nothing: make, model and serial come from the options `make`, `model`, `serial` (default Ludlum, 375,
    unknown). The timeout defaults to 5 s, 2.5 record periods.
    """

    driver_name = "ludlum-375"
    capabilities = ("SurveyMeter",)
    protocol_status = "PUBLIC"
    transports = ("serial",)
    reports_serial = False                               # the stream carries no identity
    link = LinkSettings(read_termination="\r\n", write_termination="\r\n", baudrate=9600, bytesize=8,
                        parity="N", stopbits=1)
    simulator = "xcal.simulators.ludlum_375:Ludlum375Simulator"

    def __init__(self, resource: str, *, timeout: "pint.Quantity | None" = None, **kwargs: Any) -> None:
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

    @property
    def where(self) -> Where:
        """This instrument's name and resource, for errors."""
        return Where(self.name, self.resource)

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
        options = self.options
        return InstrumentIdentity(str(options.get("make", "Ludlum")), str(options.get("model", "375")),
                                  str(options.get("serial", "unknown")), "unknown (output-only protocol)")

    def _discard_line(self) -> None:
        """Read and drop the first line after opening: a record's tail, possibly cut inside a character."""
        try:
            self.transport.read()
        except ProtocolError:
            pass
        self._synced = True

    def next_record(self) -> Record:
        """The next complete record sent after this call; FAIL -> InstrumentReportedError.

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
        if "FAIL" in record.status:
            raise InstrumentReportedError(
                f"{self.name} ({self.resource}) reports FAIL (reading {record.reading:g} {self.unit} at "
                f"{record.date} {record.time})", code="FAIL", meaning="the monitor reports a failure",
                command=STREAM, instrument=self.name, resource=self.resource,
                fix="look at the monitor's display and its detector cable; have it serviced if FAIL persists")
        return record

    def read_now(self) -> dict[str, "pint.Quantity"]:
        """The next record's reading in the configured unit."""
        record = self.next_record()
        return {self.reading_name: Q_(record.reading, self.unit)}
