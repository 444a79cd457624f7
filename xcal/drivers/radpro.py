"""Rad Pro firmware counters (FS2011, FS-600/1000, GC-01, GMC-800 ...) over USB-serial, 115200 8N1.

PUBLIC. ASCII lines ending CR LF both ways; success replies start `OK`, any bad request gets `ERROR`. Used
here: every command of the notes (GET deviceId, deviceBatteryVoltage, deviceTime, tubeTime, tubePulseCount,
tubeRate, tubeSensitivity, tubeDeadTime, datalog; SET deviceTime; RESET datalog). Strict where the notes are
silent: a reply that is neither `OK ...` of the expected shape nor `ERROR` is a ProtocolError, and the datalog
header must be exactly `time,tubePulseCount`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..errors import InstrumentError, InstrumentReportedError, ProtocolError
from .base import Driver
from .capabilities import InstrumentIdentity
from .gq_gmc import CounterCalibration
from .link import LinkSettings

if TYPE_CHECKING:  # pragma: no cover
    import pint

PULSE_COUNT_MODULUS = 2 ** 32
DATALOG_HEADER = "time,tubePulseCount"
ERROR_MEANING = "bad request (unknown command or parameter, or a value the device refuses)"
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_UNSIGNED = re.compile(r"\d+")


@dataclass(frozen=True)
class DatalogRecord:
    """One datalog entry: when (UTC) and the tube's pulse count then."""

    time: datetime
    pulse_count: int


def parse_reply(reply: str, command: str) -> str:
    """The value part of a reply (`OK 1.421` -> `1.421`, `OK` -> ``); `ERROR` -> InstrumentReportedError."""
    if reply == "ERROR":
        raise InstrumentReportedError(f"the device refused {command!r}", code="ERROR", meaning=ERROR_MEANING,
                                      command=command)
    if reply == "OK":
        return ""
    if reply.startswith("OK ") and reply[3:].strip():
        return reply[3:]
    raise ProtocolError(f"a reply is `OK`, `OK <value>` or `ERROR`, got {reply!r}")


def parse_number(text: str) -> float:
    """A finite decimal number (`0.000085`, `123.456`)."""
    if not _NUMBER.fullmatch(text):
        raise ProtocolError(f"expected a number, got {text!r}")
    value = float(text)
    if not math.isfinite(value):
        raise ProtocolError(f"expected a finite number, got {text!r}")
    return value


def parse_unsigned(text: str, limit: int | None = None) -> int:
    """A whole number ≥ 0, below `limit` if given (a uint32 pulse count: below 2**32)."""
    if not _UNSIGNED.fullmatch(text):
        raise ProtocolError(f"expected a whole number, got {text!r}")
    value = int(text)
    if limit is not None and value >= limit:
        raise ProtocolError(f"{value} is beyond {limit - 1}, the largest the field holds")
    return value


def parse_device_id(text: str) -> tuple[str, str, str]:
    """`<hardware>;<software>;<id>`, each part non-empty."""
    parts = text.split(";")
    if len(parts) != 3 or not all(part.strip() for part in parts):
        raise ProtocolError(f"a device id is `<hardware>;<software>;<id>`, got {text!r}")
    hardware, software, device = (part.strip() for part in parts)
    return hardware, software, device


def unix_time(value: int) -> datetime:
    """A unix time (s) as an aware UTC datetime; ProtocolError if out of the datetime range."""
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ProtocolError(f"{value} is not a usable unix time") from None


def parse_datalog(text: str) -> list[DatalogRecord]:
    """`time,tubePulseCount;t,n;...` -> records in the order sent."""
    header, *entries = text.split(";")
    if header != DATALOG_HEADER:
        raise ProtocolError(f"a datalog starts with the header {DATALOG_HEADER!r}, got {header!r}")
    records = []
    for entry in entries:
        fields = entry.split(",")
        if len(fields) != 2:
            raise ProtocolError(f"a datalog entry is `time,tubePulseCount`, got {entry!r}")
        records.append(DatalogRecord(unix_time(parse_unsigned(fields[0])),
                                     parse_unsigned(fields[1], PULSE_COUNT_MODULUS)))
    return records


def pulses_between(earlier: int, later: int) -> int:
    """Pulses counted from `earlier` to `later` on the wrapping uint32 counter (one wrap at most)."""
    return (later - earlier) % PULSE_COUNT_MODULUS


def split_hardware(hardware: str) -> tuple[str, str]:
    """(make, model) from the hardware name: `FNIRSI GC-01` -> (`FNIRSI`, `GC-01`); one word is both."""
    make, _, model = hardware.partition(" ")
    return (make, model.strip()) if model.strip() else (hardware, hardware)


class RadPro(Driver):
    """A Rad Pro counter as a SurveyMeter: count rate from `GET tubeRate`, dose rate only through the site file.

    The device's own `tubeSensitivity` is reported by details() but never used for the dose rate: that comes
    from the site's `sensitivity` option (count rate per dose rate), the figure its calibration certificate
    vouches for; `dead_time` in the options corrects the count rate first. Without a sensitivity, read_now
    gives count_rate only. `ERROR` becomes InstrumentReportedError with code "ERROR".
    """

    driver_name = "radpro"
    capabilities = ("SurveyMeter",)
    protocol_status = "PUBLIC"
    transports = ("serial",)
    link = LinkSettings(read_termination="\r\n", write_termination="\r\n", encoding="ascii", baudrate=115200)
    simulator = "xcal.simulators.radpro:RadProSimulator"

    def __init__(self, resource: str, *, name: str = "instrument", timeout: "pint.Quantity | None" = None,
                 transport: Any = None, **options: Any) -> None:
        super().__init__(resource, name=name, timeout=timeout, transport=transport, **options)
        self.calibration = CounterCalibration.from_options(self.options, name)

    def identify(self) -> InstrumentIdentity:
        """`GET deviceId`: make and model from the hardware name, serial = device id, firmware = software."""
        hardware, software, device = self._get("deviceId", parse_device_id)
        make, model = split_hardware(hardware)
        return InstrumentIdentity(make, model, device, software)

    def read_now(self) -> dict[str, "pint.Quantity"]:
        """`count_rate` from `GET tubeRate` (dead-time corrected with a site `dead_time`) and, with a site
        `sensitivity`, `dose_rate`."""
        return self.calibration.readings(self.read_tube_rate(), self._where())

    def read_tube_rate(self) -> "pint.Quantity":
        """`GET tubeRate`: the count rate the device shows, in cpm."""
        from ..units import Q_

        return Q_(self._get("tubeRate", parse_number), "cpm")

    def read_pulse_count(self) -> int:
        """`GET tubePulseCount`: the wrapping uint32 pulse counter (use pulses_between for differences)."""
        return self._get("tubePulseCount", lambda t: parse_unsigned(t, PULSE_COUNT_MODULUS))

    def read_tube_sensitivity(self) -> "pint.Quantity":
        """`GET tubeSensitivity`: the device's own figure, in cpm per µSv/h (reported, not used for dose)."""
        from ..units import Q_

        return Q_(self._get("tubeSensitivity", parse_number), "cpm/(µSv/h)")

    def read_dead_time(self) -> "pint.Quantity":
        """`GET tubeDeadTime`: the tube's dead time as the device has it."""
        from ..units import Q_

        return Q_(self._get("tubeDeadTime", parse_number), "s")

    def read_tube_time(self) -> "pint.Quantity":
        """`GET tubeTime`: how long the tube has been powered."""
        from ..units import Q_

        return Q_(self._get("tubeTime", parse_unsigned), "s")

    def read_battery_voltage(self) -> "pint.Quantity":
        """`GET deviceBatteryVoltage`."""
        from ..units import Q_

        return Q_(self._get("deviceBatteryVoltage", parse_number), "V")

    def read_time(self) -> datetime:
        """`GET deviceTime`, as an aware UTC datetime."""
        return self._get("deviceTime", lambda t: unix_time(parse_unsigned(t)))

    def set_time(self, when: datetime) -> None:
        """`SET deviceTime <unix>`; a naive datetime is taken as UTC."""
        aware = when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
        self._command(f"SET deviceTime {int(aware.timestamp())}")

    def read_datalog(self, start: datetime | None = None, end: datetime | None = None) -> list[DatalogRecord]:
        """`GET datalog [start] [end]` (unix times), parsed into records."""
        if end is not None and start is None:
            raise InstrumentError("a datalog end needs a start", instrument=self.name, resource=self.resource,
                                  fix="give start as well, e.g. the epoch")
        line = " ".join(["GET datalog", *(str(int(self._utc(t).timestamp())) for t in (start, end)
                                          if t is not None)])
        return self._parsed(line, self._query(line), parse_datalog)

    def reset_datalog(self) -> None:
        """`RESET datalog`: the device clears its log."""
        self._command("RESET datalog")

    def details(self) -> dict[str, Any]:
        """The device's own figures: battery, clock, tube time, pulse count, tube sensitivity and dead time."""
        return {"battery_voltage": self.read_battery_voltage(), "device_time": self.read_time(),
                "tube_time": self.read_tube_time(), "tube_pulse_count": self.read_pulse_count(),
                "tube_sensitivity": self.read_tube_sensitivity(), "tube_dead_time": self.read_dead_time()}

    def _where(self) -> str:
        return f"{self.name} ({self.resource})"

    @staticmethod
    def _utc(when: datetime) -> datetime:
        return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)

    def _query(self, line: str) -> str:
        try:
            return parse_reply(self.transport.query(line), line)
        except InstrumentReportedError as exc:
            raise InstrumentReportedError(f"{self._where()} answered ERROR to {line!r}", code=exc.code,
                                          meaning=exc.meaning, command=line, instrument=self.name,
                                          resource=self.resource,
                                          fix="check the command and its parameters; the firmware may be "
                                              "older than the command") from None
        except ProtocolError as exc:
            raise self._protocol_error(line, exc) from None

    def _command(self, line: str) -> None:
        value = self._query(line)
        if value:
            raise self._protocol_error(line, ProtocolError(f"expected a bare `OK`, got `OK {value}`"))

    def _get(self, name: str, parser: Any) -> Any:
        line = f"GET {name}"
        return self._parsed(line, self._query(line), parser)

    def _parsed(self, line: str, value: str, parser: Any) -> Any:
        try:
            return parser(value)
        except ProtocolError as exc:
            raise self._protocol_error(line, exc) from None

    def _protocol_error(self, line: str, exc: ProtocolError) -> ProtocolError:
        return ProtocolError(f"{self._where()} answered {line!r} with something that does not fit Rad Pro: "
                             f"{exc.message}", instrument=self.name, resource=self.resource,
                             fix="check the device runs Rad Pro firmware and the link is 115200 8N1")
