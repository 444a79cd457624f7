"""GQ Electronics GMC Geiger counters over USB-serial: GMC-280/300/320 (spec GQ-RFC1201), GMC-500/600 (GQ-RFC1801).

PUBLIC (vendor specs). A command is `<` + ASCII name + raw parameter bytes + `>>`; replies are binary with no
terminator, so the driver knows each reply's length. Used here: GETVER, GETSERIAL, GETCPM, GETCPS,
HEARTBEAT1/0, GETVOLT, GETDATETIME, SETDATETIME. Left out: GETCFG/ECFG/CFGUPDATE (the config
layout is not in the notes), POWEROFF and KEY0..3 (nothing a QC run needs; they would change the meter's state).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ....errors import ConfigError, InstrumentError, InstrumentTimeout, ProtocolError
from ...base import Driver
from ...capabilities import InstrumentIdentity
from ...evidence import Command, Evidence, Source
from ...link import LinkSettings
from ...settings import Option

if TYPE_CHECKING:  # pragma: no cover
    import pint

RFC1201 = "RFC1201"
RFC1801 = "RFC1801"
VARIANTS = (RFC1201, RFC1801)
VARIANT_OF_MODEL: dict[str, str] = {"280": RFC1201, "300": RFC1201, "320": RFC1201,
                                    "500": RFC1801, "600": RFC1801}
"""Spec variant by model number (GMC-280/300/320 speak RFC1201, GMC-500/600 RFC1801)."""

DEFAULT_BAUD = {RFC1201: 57600, RFC1801: 115200}
RFC1201_VERSION_LENGTH = 14
VERSION_LIMIT = 32
"""Longest GETVER reply the driver reads before it gives up on finding a complete version."""

ACK = b"\xaa"
CPS_RFC1201_MASK = 0x3FFF
COUNT_SIZE = {RFC1201: 2, RFC1801: 4}
MIN_DEAD_TIME_S = 10e-6
"""A dead time shorter than any GM tube's (tens to hundreds of µs): the count bound when the site gives none."""
TUBES = 2
"""GM tubes a GQ counter may count with at once (the GMC-500+ has two); the count bound allows for both."""
FAST_ESTIMATE_S = 5.0
"""Shortest window a GMC-500/600 'fast estimate' scales to a minute (CPM = 60/k × the counts of the last k s)."""
SERIAL_SIZE = 7
DATETIME_SIZE = 7
VOLT_RFC1801_SIZE = 5

_VERSION = re.compile(rb"GMC-(\d{3})([A-Za-z0-9+]*?)Re ?(\d+\.\d\d)")
_VERSION_HEAD = b"GMC-"
_VOLT_TEXT = re.compile(rb"(\d+(?:\.\d+)?)[vV]")
_FIX = "check the cable and the baud rate and the `variant` option; a GMC-320 often runs at 115200"


def command(name: str, parameter: bytes = b"") -> bytes:
    """The bytes of one command: `<NAME` + raw parameter bytes + `>>`."""
    return b"<" + name.encode("ascii") + parameter + b">>"


@dataclass(frozen=True)
class GmcVersion:
    """The GETVER reply taken apart: model (`GMC-600+`), model number (`600`) and firmware (`1.14`)."""

    model: str
    number: str
    firmware: str
    text: str

    @property
    def variant(self) -> str | None:
        """The spec this model speaks, or None for a model the notes do not name."""
        return VARIANT_OF_MODEL.get(self.number)


def parse_version(data: bytes) -> GmcVersion | None:
    """The version in `data` if it is complete, None if more bytes may complete it.

    GETVER has no terminator and RFC1801 gives no length, so the reply is read byte by byte until it is a
    whole `GMC-<nnn>[suffix]Re <d>.<dd>` (both specs' examples end with two decimals). ProtocolError as soon
    as `data` cannot be the start of such a reply, or is longer than VERSION_LIMIT bytes.
    """
    if not _VERSION_HEAD.startswith(data[:4]):
        raise ProtocolError(f"a version reply starts with 'GMC-', this one with {data[:4]!r}")
    if any(b < 0x20 or b > 0x7E for b in data):
        raise ProtocolError(f"a version reply is printable ASCII, got {data!r}")
    found = _VERSION.fullmatch(data)
    if found:
        number, suffix, firmware = (part.decode("ascii") for part in found.groups())
        return GmcVersion(f"GMC-{number}{suffix}", number, firmware, data.decode("ascii"))
    if len(data) >= VERSION_LIMIT:
        raise ProtocolError(f"no complete 'GMC-<model>Re <version>' in the first {VERSION_LIMIT} bytes: {data!r}")
    return None


def _sized(data: bytes, size: int, what: str) -> bytes:
    if len(data) != size:
        raise ProtocolError(f"{what} is {size} bytes, got {len(data)}: {data!r}")
    return data


def parse_count(data: bytes, variant: str) -> int:
    """A GETCPM reply: big-endian unsigned, 2 bytes (RFC1201) or 4 bytes (RFC1801)."""
    return int.from_bytes(_sized(data, COUNT_SIZE[variant], f"a {variant} count"), "big")


def parse_cps(data: bytes, variant: str) -> int:
    """A GETCPS or heartbeat record; in RFC1201 only the low 14 bits count, and a set reserved bit 15 or 14 means
    the two bytes are not a record (ProtocolError)."""
    value = parse_count(data, variant)
    if variant == RFC1201 and value & ~CPS_RFC1201_MASK:
        raise ProtocolError(f"bits 15 and 14 of an RFC1201 count per second are reserved and 0 in a real record; "
                            f"here they are {value >> 14:02b}")
    return value


def count_limits(dead_time_s: float) -> dict[str, float]:
    """The most a counter can report, per unit (`cps`, `cpm`), with GM tubes of `dead_time_s` dead time.

    In a window of W s a tube counts at most W/τ + 1 pulses (each one dead time apart); a fast-estimate CPM
    scales k ≥ FAST_ESTIMATE_S seconds of counts by 60/k, so CPM ≤ TUBES × (60/τ + 60/FAST_ESTIMATE_S).
    """
    return {"cps": TUBES * (1.0 / dead_time_s + 1.0),
            "cpm": TUBES * (60.0 / dead_time_s + 60.0 / FAST_ESTIMATE_S)}


def parse_volt(data: bytes, variant: str) -> float:
    """A GETVOLT reply in volts: one byte of volts × 10 (RFC1201), or 5 ASCII bytes like `3.97v` (RFC1801),
    which a GMC-500+ pads with NUL after tenths (`4.0v` and a NUL, recorded by pygmc)."""
    if variant == RFC1201:
        return _sized(data, 1, "an RFC1201 voltage")[0] / 10.0
    found = _VOLT_TEXT.fullmatch(_sized(data, VOLT_RFC1801_SIZE, "an RFC1801 voltage").rstrip(b"\x00"))
    if not found:
        raise ProtocolError(f"an RFC1801 voltage reads like b'3.97v', got {data!r}")
    return float(found.group(1))


def parse_serial(data: bytes) -> str:
    """A GETSERIAL reply (7 raw bytes) as 14 upper-case hex digits."""
    return _sized(data, SERIAL_SIZE, "a serial number").hex().upper()


def parse_datetime(data: bytes) -> datetime:
    """A GETDATETIME reply: YY MM DD HH MM SS then 0xAA, year counted from 2000."""
    _sized(data, DATETIME_SIZE, "a date-time reply")
    if data[6:] != ACK:
        raise ProtocolError(f"a date-time reply ends with 0xAA, got {data!r}")
    yy, month, day, hour, minute, second = data[:6]
    try:
        return datetime(2000 + yy, month, day, hour, minute, second)
    except ValueError as exc:
        raise ProtocolError(f"{data[:6].hex(' ')} is not a date and time ({exc})") from None


def parse_ack(data: bytes) -> None:
    """The one-byte 0xAA that confirms SETDATETIME."""
    if data != ACK:
        raise ProtocolError(f"expected the acknowledgement 0xAA, got {data!r}")


def datetime_parameter(when: datetime) -> bytes:
    """The 6 raw bytes YY MM DD HH MM SS of SETDATETIME; years 2000-2099 only (the year is one byte from 2000)."""
    if not 2000 <= when.year <= 2099:
        raise ValueError(f"a GMC counter keeps years 2000-2099, not {when.year}")
    return bytes([when.year - 2000, when.month, when.day, when.hour, when.minute, when.second])


COUNTER_OPTIONS = (
    Option("sensitivity", "sensitivity", None, "count rate per dose rate from the calibration certificate, "
           "e.g. '153.8 cpm/(µSv/h)'", low=0, unit="cpm/(µSv/h)", above=True),
    Option("dead_time", "time", None, "the tube's dead time for the count-rate correction, e.g. '90 µs'", low=0,
           unit="s", above=True),
    Option("dead_time_model", "text", "non-paralyzable", "how the dead time is corrected",
           choices=("non-paralyzable", "paralyzable")),
)
"""The site-file options of a count-rate meter: checked at site load, turned into a CounterCalibration."""


@dataclass(frozen=True)
class CounterCalibration:
    """The site file's figures that turn a counter's count rate into a true count rate and a dose rate.

    `sensitivity` (count rate per dose rate, e.g. `153.8 cpm/(µSv/h)`) is the only way to a dose rate: there
    is no built-in figure. `dead_time` (e.g. `90 µs`) corrects the count rate first, with
    xcal.analysis.dead_time_correct (`dead_time_model`: non-paralyzable n = m/(1 − mτ) unless set otherwise).
    """

    sensitivity: pint.Quantity | None = None
    dead_time: pint.Quantity | None = None
    dead_time_model: str = "non-paralyzable"

    @classmethod
    def from_option_values(cls, values: dict[str, Any]) -> CounterCalibration:
        """From a driver's checked COUNTER_OPTIONS (Driver.option_values)."""
        return cls(values["sensitivity"], values["dead_time"], values["dead_time_model"])

    def readings(self, count_rate: pint.Quantity, where: str) -> dict[str, pint.Quantity]:
        """`count_rate` (dead-time corrected when a dead time is set) and, with a sensitivity, `dose_rate`."""
        from ....analysis.counting import dead_time_correct

        rate = count_rate.to("cpm")
        if self.dead_time is not None:
            try:
                rate = dead_time_correct(rate, self.dead_time, self.dead_time_model).to("cpm")
            except ValueError as exc:
                raise InstrumentError(f"{where}: the count rate {rate:~P} cannot be corrected for the dead time "
                                      f"{self.dead_time:~P}: {exc}",
                                      fix="the counter is saturated: move it to a lower field, or check "
                                          "the dead_time option") from None
        values = {"count_rate": rate}
        if self.sensitivity is not None:
            values["dose_rate"] = (rate / self.sensitivity).to("µSv/h")
        return values

    def dose(self, counts: int) -> pint.Quantity | None:
        """The dose that `counts` pulses stand for, or None without a sensitivity (no dead-time correction)."""
        from ....units import Q_

        if self.sensitivity is None:
            return None
        return (Q_(counts, "count") / self.sensitivity).to("µSv")


class GqGmc(Driver):
    """A GQ GMC counter as a SurveyMeter: count rate from GETCPM, dose rate only through the site's sensitivity.

    The spec variant comes from the `variant` option (RFC1201 or RFC1801) or, by default, from the model that
    GETVER names (GMC-280/300/320 -> RFC1201, GMC-500/600 -> RFC1801; any other model is refused). The baud
    rate is 57600 unless the options give `baudrate` (many GMC-320 run at 115200); `variant: RFC1801` alone
    sets 115200. GETVER has no terminator and, in RFC1801, no fixed length: it is read byte by byte until the
    bytes form a whole `GMC-<nnn>[suffix]Re <d>.<dd>` (parse_version), at most VERSION_LIMIT bytes, so no
    read waits for a quiet line. Where the notes are silent the driver is strict: a reply of the wrong shape
    is a ProtocolError. While the heartbeat streams, the counter sends CPS records unasked: only read_heartbeat
    and stop_heartbeat are allowed then.

    Telling a reply from noise (a binary count carries no check): a reply must be exactly its length (bytes
    that stop short: ProtocolError naming them) and nothing may follow it before the line is quiet (10 ms, or
    3 characters' time); an RFC1201 CPS (GETCPS, heartbeat) must have its reserved bits 15-14 clear; a count
    may not exceed what TUBES GM tubes can count (count_limits) with the site's `dead_time`, or 10 µs, shorter
    than any GM tube's, when none is set; and after a GETCPM or GETCPS reading (not a heartbeat record) GETVER
    must come back as the version the counter gave, which shows the link was still in step. Cannot be told
    apart, so accepted: a reply of the right length whose value was changed to another that passes those
    checks: for RFC1201 GETCPM any 16-bit value below FFFF (FFFF, the full register, is refused as saturated);
    for RFC1201 CPS any 14-bit value; for RFC1801 any value up to the bound (12 000 024 cpm or 200 002 cps with
    no site dead time). Likewise any GETSERIAL (7 bytes), RFC1201 GETVOLT (1 byte) and date-time with valid
    fields. Not used, as not sound: comparing a reading with the previous one (a fast-estimate CPM may move by
    60/5 × what a tube counts in a second, and a field comes and goes with each exposure, so a jump proves
    nothing the count bound does not), and CPM against CPS (which seconds each covers depends on the firmware).
    GETCPS is not part of read_now, as the 2015 RFC1201 text (v1.40) does not list it for older firmware.
    """

    driver_name = "gq-gmc"
    capabilities = ("SurveyMeter",)
    protocol_status = "PUBLIC"
    transports = ("serial",)
    link = LinkSettings(read_termination="", write_termination="", encoding="ascii",
                        baudrate=DEFAULT_BAUD[RFC1201])
    simulator = "xcal.simulators.gq_gmc:GmcSimulator"
    option_specs = COUNTER_OPTIONS + (
        Option("variant", "text", "auto", "the spec the counter speaks; auto asks <GETVER>>",
               choices=("auto", RFC1201, RFC1801)),
    )
    evidence = Evidence(
        sources={
            "rfc1201": Source("GQ-RFC1201, GQ Geiger Counter Communication Protocol, Ver 1.40 (Jan 2015): "
                              "GMC-280/300/320", "vendor",
                              "https://www.gqelectronicsllc.com/download/GQ-RFC1201.txt"),
            "rfc1801": Source("GQ-RFC1801, GQ Geiger Counter Communication Protocol, Ver 1.00 (Apr 2018): "
                              "GMC-500/600", "vendor", "https://www.gqelectronicsllc.com/download/GQ-RFC1801.txt"),
            "pygmc": Source("pygmc 0.14.2 (PyPI): its README marks the GMC-300S, 320+, 500+, 600+ and 800 "
                            "'physically confirmed'; its tests replay replies recorded from a GMC-300S, a GMC-320+ "
                            "and a GMC-500+", "hardware-client",
                            "https://pypi.org/project/pygmc/ (pygmc/devices/device_rfc1201.py, device_rfc1801.py)"),
            "gmc": Source("gmc 1.0.0 (PyPI): its tests talk to a connected counter (test_gmc300.py sets the clock "
                          "and reads it back)", "hardware-client",
                          "https://pypi.org/project/gmc/ (gmc/gmc.py, gmc/test/test_gmc300.py)"),
            "gq-terminal": Source("gq-terminal 0.2.0 (PyPI), an RFC1201 client whose tests script a fake serial "
                                  "port", "third-party", "https://pypi.org/project/gq-terminal/"),
        },
        commands=(
            Command("<GETVER>>", ("rfc1201", "rfc1801", "pygmc", "gmc", "gq-terminal"),
                    note="RFC1201 says 14 bytes; recorded 'GMC-300SRe 1.14' and 'GMC-500+Re 2.22' are 15"),
            Command("<GETSERIAL>>", ("rfc1201", "rfc1801", "pygmc", "gmc", "gq-terminal"), note="7 raw bytes"),
            Command("<GETCPM>>", ("rfc1201", "rfc1801", "pygmc", "gmc", "gq-terminal"),
                    note="2 bytes (RFC1201), 4 bytes (RFC1801), big-endian"),
            Command("<GETCPS>>", ("rfc1801", "pygmc"),
                    note="RFC1801 #44, 4 bytes; no source shows it on an RFC1201 counter (unshown there)"),
            Command("<HEARTBEAT1>>", ("rfc1201", "rfc1801", "pygmc", "gmc", "gq-terminal"),
                    note="a CPS record every second: 2 bytes, 14 bits valid (RFC1201); 4 bytes (RFC1801)"),
            Command("<HEARTBEAT0>>", ("rfc1201", "rfc1801", "pygmc", "gmc", "gq-terminal")),
            Command("<GETVOLT>>", ("rfc1201", "rfc1801", "pygmc", "gmc", "gq-terminal"),
                    note="RFC1201: 1 byte, volts x 10; RFC1801: 5 ASCII bytes, recorded as '4.0v' and a NUL"),
            Command("<GETDATETIME>>", ("rfc1201", "rfc1801", "pygmc", "gmc", "gq-terminal"),
                    note="YY MM DD HH MM SS 0xAA; RFC1201 from Re.3.00, recorded from a GMC-320+ and a GMC-300S"),
            Command("<SETDATETIME{yymmddhhmmss}>>", ("rfc1201", "rfc1801", "pygmc", "gmc", "gq-terminal"),
                    note="six raw bytes YY MM DD HH MM SS; 0xAA back"),
        ),
        disagreements=(
            "GETDATETIME on RFC1201 counters: xcal's notes gave it for RFC1801 only; GQ-RFC1201 1.40 lists it (and "
            "SETDATETIME) for GMC-280/300 Re.3.00 and later, pygmc recorded it from a GMC-320+ (Re 4.26) and a "
            "GMC-300S (Re 1.14), and gmc's test reads it back from a GMC-300. Chosen: the recordings; xcal asks it "
            "on RFC1201 too.",
            "RFC1801 GETVOLT: the spec shows 5 ASCII bytes like '3.97v'; a GMC-500+ (Re 2.22) sent b'4.0v\\x00' "
            "(pygmc's recording). Chosen: the recording; 'd.dv' padded with NUL is accepted.",
            "GETVER length: RFC1201 says 14 bytes; a GMC-300S sent 'GMC-300SRe 1.14' (15) and gq-terminal notes 15 "
            "on a GMC-600+ Re 2.22. The driver reads to a whole version and takes both; the simulator serves both.",
            "Baud rate: xcal defaults RFC1201 to 57600; GQ-RFC1201 1.40 gives 57600 only for GMC-300 V3.xx and "
            "earlier, 115200 for GMC-300 Plus V4.xx and later, and 115200 as the GMC-320's factory default. Kept "
            "57600 (the baud must be known before the first byte); a site sets `baudrate: 115200` for such units.",
            "GETCPS on RFC1201 counters: neither GQ-RFC1201 nor pygmc, gmc or gq-terminal sends it to a "
            "GMC-280/300/320; xcal's read_cps does (2 bytes, 14 bits). Only RFC1801 (#44) shows it: on an RFC1201 "
            "counter read_cps is unshown, and no procedure uses it (read_now reads GETCPM).",
            "GMC-800: pygmc found it follows neither spec ('GMC-800Re1.08' without a space, 4-byte CPM); xcal maps "
            "no spec to model 800 and asks for the `variant` option, which agrees. A GMC-800 running Rad Pro "
            "answers <GETVER>> with 'GMC-800Re RADP': that is the radpro driver's device.",
        ),
    )

    def __init__(self, resource: str, *, name: str = "instrument", timeout: pint.Quantity | None = None,
                 transport: Any = None, **options: Any) -> None:
        variant = str(options.pop("variant", "auto"))
        if variant not in (*VARIANTS, "auto"):
            raise ConfigError(f"{name}: option variant must be RFC1201, RFC1801 or auto, got {variant!r}",
                              fix="write `variant: RFC1201` (GMC-280/300/320) or `variant: RFC1801` "
                                  "(GMC-500/600), or leave it out to detect it")
        if variant in VARIANTS and "baudrate" not in options:
            options["baudrate"] = DEFAULT_BAUD[variant]
        super().__init__(resource, name=name, timeout=timeout, transport=transport, **options)
        self._variant: str | None = variant if variant in VARIANTS else None
        self._version: GmcVersion | None = None
        self._heartbeat = False
        self._record_size = COUNT_SIZE[RFC1201]
        self.calibration = CounterCalibration.from_option_values(self.option_values)

    @property
    def variant(self) -> str:
        """RFC1201 or RFC1801, asking the counter's version the first time if the options did not say."""
        if self._variant is None:
            self.version()
        assert self._variant is not None
        return self._variant

    def version(self) -> GmcVersion:
        """GETVER, taken apart; it also settles the spec variant when the options left it open."""
        with self.transport.locked():
            self._send("GETVER")
            found = self._read_version(b"", "GETVER")
            self._nothing_after("GETVER", found.text.encode("ascii"))
        self._learn(found)
        return found

    def identify(self) -> InstrumentIdentity:
        """Make, model and firmware from GETVER; the serial number is GETSERIAL's 7 bytes in hex."""
        found = self.version()
        serial = self._query("GETSERIAL", SERIAL_SIZE, parse_serial)
        return InstrumentIdentity("GQ Electronics", found.model, serial, found.firmware)

    def read_cpm(self) -> pint.Quantity:
        """GETCPM: counts in the last minute, as the counter shows them (no correction), checked as the class
        docstring says."""
        from ....units import Q_

        size = COUNT_SIZE[self.variant]

        def check(data: bytes) -> int:
            cpm = parse_count(data, self.variant)
            self._plausible(cpm, "cpm")
            if cpm >= 2 ** (8 * size) - 1:
                raise InstrumentError(
                    f"{self.name} ({self.resource}) reports {cpm} cpm, the largest number its {self.variant} "
                    f"reply can hold: the count rate is at or above the counter's range and the reading is not "
                    f"valid", instrument=self.name, resource=self.resource,
                    fix="use a meter (or scale) rated for this field; do not use this counter above its range")
            return cpm

        return Q_(self._reading("GETCPM", size, check), "cpm")

    def read_cps(self) -> pint.Quantity:
        """GETCPS: counts in the last second (RFC1201: 14 bits, the reserved 2 must be clear), checked as the
        class docstring says."""
        from ....units import Q_

        return Q_(self._reading("GETCPS", COUNT_SIZE[self.variant], self._cps), "cps")

    def read_now(self) -> dict[str, pint.Quantity]:
        """`count_rate` from GETCPM (dead-time corrected with a site `dead_time`) and, with a site `sensitivity`,
        `dose_rate`."""
        return self.calibration.readings(self.read_cpm(), self._where())

    def read_voltage(self) -> pint.Quantity:
        """GETVOLT: the battery voltage."""
        from ....units import Q_

        size = 1 if self.variant == RFC1201 else VOLT_RFC1801_SIZE
        return Q_(self._query("GETVOLT", size, lambda d: parse_volt(d, self.variant)), "V")

    def read_datetime(self) -> datetime:
        """GETDATETIME: both specs (RFC1201 from firmware Re.3.00; recorded from a GMC-320+ and a GMC-300S)."""
        return self._query("GETDATETIME", DATETIME_SIZE, parse_datetime)

    def set_datetime(self, when: datetime) -> None:
        """SETDATETIME with YY MM DD HH MM SS as raw bytes; the counter confirms with 0xAA."""
        try:
            parameter = datetime_parameter(when)
        except ValueError as exc:
            raise InstrumentError(f"{self._where()}: {exc}", instrument=self.name, resource=self.resource,
                                  fix="give a date between 2000 and 2099") from None
        self._query("SETDATETIME", 1, parse_ack, parameter)

    def details(self) -> dict[str, Any]:
        """What the counter tells of itself beyond identify: variant, battery voltage, clock (RFC1801)."""
        info: dict[str, Any] = {"variant": self.variant, "battery_voltage": self.read_voltage()}
        if self.variant == RFC1801:
            info["datetime"] = self.read_datetime()
        return info

    def start_heartbeat(self) -> None:
        """HEARTBEAT1: the counter sends its CPS every second until stopped (the variant is settled first)."""
        self._record_size = COUNT_SIZE[self.variant]
        with self.transport.locked():
            self._send("HEARTBEAT1")
        self._heartbeat = True

    def read_heartbeat(self) -> pint.Quantity:
        """The next CPS record of the heartbeat stream (InstrumentTimeout if none comes in the timeout)."""
        from ....units import Q_

        if not self._heartbeat:
            raise InstrumentError(f"{self._where()}: the heartbeat is not on", instrument=self.name,
                                  resource=self.resource, fix="call start_heartbeat() first")
        data = self.transport.read_bytes(self._record_size)
        return Q_(self._parsed("HEARTBEAT1", data, self._cps), "cps")

    def stop_heartbeat(self) -> None:
        """HEARTBEAT0, then GETVER to resync: records still on the way before the version are discarded."""
        with self.transport.locked():
            self._send("HEARTBEAT0", allow_heartbeat=True)
            self._heartbeat = False
            self._send("GETVER")
            data = self.transport.read_until(_VERSION_HEAD)
            found = self._read_version(data[-len(_VERSION_HEAD):], "GETVER")
            self._nothing_after("GETVER", found.text.encode("ascii"))
            self._learn(found)

    def _learn(self, found: GmcVersion) -> None:
        self._version = found
        if self._variant is not None:
            return
        if found.variant is None:
            raise ProtocolError(f"{self._where()} is a {found.model}, which the GQ notes do not map to a spec "
                                f"(GMC-280/300/320 speak RFC1201, GMC-500/600 RFC1801)",
                                instrument=self.name, resource=self.resource,
                                fix="set `variant: RFC1201` or `variant: RFC1801` in the instrument's options")
        self._variant = found.variant

    def _where(self) -> str:
        return f"{self.name} ({self.resource})"

    def _send(self, name: str, parameter: bytes = b"", *, allow_heartbeat: bool = False) -> None:
        if self._heartbeat and not allow_heartbeat:
            raise InstrumentError(f"{self._where()}: the heartbeat is on, so replies would mix with its records",
                                  instrument=self.name, resource=self.resource,
                                  fix="call stop_heartbeat() before other commands")
        self.transport.write_bytes(command(name, parameter))

    def _query(self, name: str, size: int, parser: Any, parameter: bytes = b"") -> Any:
        with self.transport.locked():
            self._send(name, parameter)
            data = self._reply(name, size)
        return self._parsed(name, data, parser)

    def _reading(self, name: str, size: int, check: Any) -> int:
        """Ask for a count, check it, then check with GETVER that the link is still in step."""
        with self.transport.locked():
            self._send(name)
            data = self._reply(name, size)
            value = self._parsed(name, data, check)
            self._confirm_in_step(name)
        return value

    def _reply(self, name: str, size: int) -> bytes:
        """Exactly `size` bytes and nothing after them: fewer, or more before the line is quiet, is ProtocolError.

        Read one byte at a time, so the bytes that came before a timeout are known whatever the transport.
        """
        data = b""
        while len(data) < size:
            try:
                data += self.transport.read_bytes(1)
            except InstrumentTimeout:
                if not data:
                    raise
                raise ProtocolError(
                    f"{self._where()} sent {data!r} and then nothing more within {self.transport.timeout:~P}: a "
                    f"partial reply to <{name}>> ({len(data)} of its {size} bytes)", instrument=self.name,
                    resource=self.resource, fix=_FIX) from None
        self._nothing_after(name, data)
        return data

    def _nothing_after(self, name: str, data: bytes) -> None:
        extra = self.transport.discard_input()
        if extra:
            n = len(extra)
            raise ProtocolError(f"{self._where()} answered <{name}>> with {data!r} and then {extra!r}: {n} "
                                f"byte{'s' if n != 1 else ''} more than the reply has, so its bytes cannot be "
                                f"told from others'", instrument=self.name, resource=self.resource, fix=_FIX)

    def _confirm_in_step(self, after: str) -> None:
        """GETVER must give the version the counter gave before (or, the first time, a whole version)."""
        self._send("GETVER")
        found = self._read_version(b"", "GETVER")
        self._nothing_after("GETVER", found.text.encode("ascii"))
        if self._version is not None and found.text != self._version.text:
            raise ProtocolError(f"{self._where()} answered the check <GETVER>> after <{after}>> with "
                                f"{found.text!r}, not {self._version.text!r}: the link is out of step, so the "
                                f"reading is not trusted", instrument=self.name, resource=self.resource, fix=_FIX)
        self._learn(found)

    def _cps(self, data: bytes) -> int:
        """A CPS record's count: reserved bits clear (RFC1201) and within the count bound."""
        cps = parse_cps(data, self.variant)
        self._plausible(cps, "cps")
        return cps

    def _plausible(self, value: int, unit: str) -> None:
        """ProtocolError if `value` counts per `unit` is more than the counter's tubes can count (count_limits)."""
        dead_time = self.calibration.dead_time
        tau = float(dead_time.to("s").magnitude) if dead_time is not None else MIN_DEAD_TIME_S
        limit = count_limits(tau)[unit]
        if value > limit:
            raise ProtocolError(f"{value} {unit} is more than {limit:.0f} {unit}, the most {TUBES} GM tubes of "
                                f"{tau * 1e6:g} µs dead time can count: not a reading")

    def _parsed(self, name: str, data: bytes, parser: Any) -> Any:
        try:
            return parser(data)
        except ProtocolError as exc:
            raise ProtocolError(f"{self._where()} answered <{name}>> with {data!r}: {exc.message}",
                                instrument=self.name, resource=self.resource, fix=_FIX) from None

    def _read_version(self, data: bytes, name: str) -> GmcVersion:
        while True:
            found = self._parsed(name, data, parse_version)
            if found is not None:
                return found
            data += self.transport.read_bytes(1)

