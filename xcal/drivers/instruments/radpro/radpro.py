"""Rad Pro firmware counters (FS2011, FS-600/1000, GC-01, GMC-800 ...) over USB-serial, 115200 8N1.

PUBLIC: the firmware's own protocol document (docs/comm.md) and its source (platform.io/src/peripherals/
comm.c), listed in `RadPro.evidence`. ASCII lines; success replies start `OK`, any bad request gets `ERROR`.
Used here: GET deviceId, deviceBatteryVoltage, deviceTime, tubeTime, tubePulseCount, tubeRate, tubeSensitivity,
tubeDeadTime, datalog [start [end]]; SET deviceTime; RESET datalog. Every command is shown by the document.

Firmware versions differ, so: commands go out ending CR LF (the firmware ends a line at CR, at LF, or at CR LF;
before 2.0rc5 it ignored the CR), replies are read to LF with a CR before it dropped (before 2.0rc5 replies
ended LF alone). `tubeSensitivity` exists from 2.1 (earlier `tubeConversionFactor`), the `end` of `GET datalog`
from 2.2; an older firmware answers them `ERROR`. A datalog record that is empty (`;;`, from 3.0) starts a new
logging session: the next record carries `session_start`. Strict where the document is silent: a reply that
is neither `OK ...` of the expected shape nor `ERROR` is a ProtocolError, and the datalog header must be
exactly `time,tubePulseCount`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ....errors import InstrumentError, InstrumentReportedError, ProtocolError
from ...base import Driver
from ...capabilities import InstrumentIdentity
from ...evidence import Command, Evidence, Source
from ...instruments.gq.gmc import COUNTER_OPTIONS, CounterCalibration
from ...link import LinkSettings

if TYPE_CHECKING:  # pragma: no cover
    import pint

PULSE_COUNT_MODULUS = 2 ** 32
DATALOG_HEADER = "time,tubePulseCount"
ERROR_MEANING = "bad request (unknown command or parameter, or a value the device refuses)"
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_UNSIGNED = re.compile(r"\d+")


@dataclass(frozen=True)
class DatalogRecord:
    """One datalog entry: when (UTC), the tube's pulse count then, and whether a logging session starts here.

    Pulse-count differences are meaningful only within a session (the device may have been off between).
    """

    time: datetime
    pulse_count: int
    session_start: bool = False


def parse_reply(reply: str, command: str) -> str:
    """The value part of a reply (`OK 1.421` -> `1.421`, `OK` -> ``); `ERROR` -> InstrumentReportedError.

    A CR at the end (the reply read to LF) is dropped.
    """
    reply = reply.removesuffix("\r")
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
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise ProtocolError(f"{value} is not a usable unix time") from None


def parse_datalog(text: str) -> list[DatalogRecord]:
    """`time,tubePulseCount;;t,n;t,n...` -> records in the order sent; an empty record marks a session start."""
    header, *entries = text.split(";")
    if header != DATALOG_HEADER:
        raise ProtocolError(f"a datalog starts with the header {DATALOG_HEADER!r}, got {header!r}")
    records = []
    session_start = False
    for entry in entries:
        if not entry:
            session_start = True
            continue
        fields = entry.split(",")
        if len(fields) != 2:
            raise ProtocolError(f"a datalog entry is `time,tubePulseCount`, got {entry!r}")
        records.append(DatalogRecord(unix_time(parse_unsigned(fields[0])),
                                     parse_unsigned(fields[1], PULSE_COUNT_MODULUS), session_start))
        session_start = False
    if session_start:
        raise ProtocolError(f"a datalog ends with an empty record: {text!r}")
    return records


def pulses_between(earlier: int, later: int) -> int:
    """Pulses counted from `earlier` to `later` on the wrapping uint32 counter (one wrap at most)."""
    return (later - earlier) % PULSE_COUNT_MODULUS


def split_hardware(hardware: str) -> tuple[str, str]:
    """(make, model) from the hardware name: `FNIRSI GC-01` -> (`FNIRSI`, `GC-01`); one word is both, and a
    microcontroller in brackets stays with the model: `FS2011 (STM32F051C8)` -> (`FS2011`, `FS2011 (STM32F051C8)`)."""
    name, bracket, mcu = hardware.partition(" (")
    suffix = f" ({mcu}" if bracket else ""
    make, _, model = name.partition(" ")
    model = model.strip()
    return (make, model + suffix) if model else (name, name + suffix)


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
    link = LinkSettings(read_termination="\n", write_termination="\r\n", encoding="ascii", baudrate=115200)
    simulator = "xcal.simulators.radpro:RadProSimulator"
    option_specs = COUNTER_OPTIONS
    evidence = Evidence(
        sources={
            "comm.md": Source("Rad Pro USB communications protocol (docs/comm.md), the firmware author's document",
                              "vendor", "https://github.com/Gissio/radpro/blob/main/docs/comm.md"),
            "comm.c": Source("Rad Pro firmware source, platform.io/src/peripherals/comm.c and stm32_comm.c",
                             "vendor", "https://github.com/Gissio/radpro/tree/main/platform.io/src"),
            "radpro-tool": Source("radpro-tool.py, the firmware author's own client (not independent, so "
                                  "counted as the vendor's)", "vendor",
                                  "https://github.com/Gissio/radpro/blob/main/tools/radpro-tool.py"),
        },
        commands=(
            Command("GET deviceId", ("comm.md", "comm.c")),
            Command("GET deviceBatteryVoltage", ("comm.md", "comm.c")),
            Command("GET deviceTime", ("comm.md", "comm.c")),
            Command("SET deviceTime {unix}", ("comm.md", "comm.c", "radpro-tool")),
            Command("GET tubeTime", ("comm.md", "comm.c")),
            Command("GET tubePulseCount", ("comm.md", "comm.c", "radpro-tool")),
            Command("GET tubeRate", ("comm.md", "comm.c")),
            Command("GET tubeSensitivity", ("comm.md", "comm.c", "radpro-tool"), note="from firmware 2.1"),
            Command("GET tubeDeadTime", ("comm.md", "comm.c")),
            Command("GET datalog {start} {end}", ("comm.md", "comm.c", "radpro-tool"),
                    note="end from firmware 2.2; radpro-tool always sends start and end"),
            Command("GET datalog {start}", ("comm.md", "comm.c")),
            Command("GET datalog", ("comm.md", "comm.c")),
            Command("RESET datalog", ("comm.md", "comm.c")),
        ),
        disagreements=(
            "Line ends: comm.md says requests and replies end CR LF (since 2.0rc5; before, LF alone); "
            "radpro-tool sends LF alone and reads to LF; the firmware ends a request at CR, LF or CR LF. "
            "Chosen: send CR LF (every version takes it), read to LF and drop a CR before it.",
            "Datalog sessions: comm.md (from 3.0) and comm.c mark the start of a logging session with an empty "
            "record (`;;`); xcal's notes gave `time,tubePulseCount;t,n;...` without it, and xcal refused "
            "the empty record. Chosen: comm.md; the record after it has session_start.",
            "Hardware id: comm.md's example `FS2011 (STM32F051C8)` has no make word; xcal took the MCU in "
            "brackets for the model. Chosen: the bracket stays with the model name.",
            "Sensitivity: comm.md before 2.1 names it `tubeConversionFactor`; xcal sends `tubeSensitivity` "
            "(2.1 and later) and reports the device's figure without using it for the dose rate.",
        ),
    )

    def __init__(self, resource: str, *, name: str = "instrument", timeout: pint.Quantity | None = None,
                 transport: Any = None, **options: Any) -> None:
        super().__init__(resource, name=name, timeout=timeout, transport=transport, **options)
        self.calibration = CounterCalibration.from_option_values(self.option_values)

    def identify(self) -> InstrumentIdentity:
        """`GET deviceId`: make and model from the hardware name, serial = device id, firmware = software."""
        hardware, software, device = self._get("deviceId", parse_device_id)
        make, model = split_hardware(hardware)
        return InstrumentIdentity(make, model, device, software)

    def read_now(self) -> dict[str, pint.Quantity]:
        """`count_rate` from `GET tubeRate` (dead-time corrected with a site `dead_time`) and, with a site
        `sensitivity`, `dose_rate`."""
        return self.calibration.readings(self.read_tube_rate(), self._where())

    def read_tube_rate(self) -> pint.Quantity:
        """`GET tubeRate`: the count rate the device shows, in cpm."""
        from ....units import Q_

        return Q_(self._get("tubeRate", parse_number), "cpm")

    def read_pulse_count(self) -> int:
        """`GET tubePulseCount`: the wrapping uint32 pulse counter (use pulses_between for differences)."""
        return self._get("tubePulseCount", lambda t: parse_unsigned(t, PULSE_COUNT_MODULUS))

    def read_tube_sensitivity(self) -> pint.Quantity:
        """`GET tubeSensitivity`: the device's own figure, in cpm per µSv/h (reported, not used for dose)."""
        from ....units import Q_

        return Q_(self._get("tubeSensitivity", parse_number), "cpm/(µSv/h)")

    def read_dead_time(self) -> pint.Quantity:
        """`GET tubeDeadTime`: the tube's dead time as the device has it."""
        from ....units import Q_

        return Q_(self._get("tubeDeadTime", parse_number), "s")

    def read_tube_time(self) -> pint.Quantity:
        """`GET tubeTime`: how long the tube has been powered."""
        from ....units import Q_

        return Q_(self._get("tubeTime", parse_unsigned), "s")

    def read_battery_voltage(self) -> pint.Quantity:
        """`GET deviceBatteryVoltage`."""
        from ....units import Q_

        return Q_(self._get("deviceBatteryVoltage", parse_number), "V")

    def read_time(self) -> datetime:
        """`GET deviceTime`, as an aware UTC datetime."""
        return self._get("deviceTime", lambda t: unix_time(parse_unsigned(t)))

    def set_time(self, when: datetime) -> None:
        """`SET deviceTime <unix>`; a naive datetime is taken as UTC."""
        aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
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
        return f"{self.where.instrument} ({self.where.resource})"

    @staticmethod
    def _utc(when: datetime) -> datetime:
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)

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
