"""Thermo RadEye survey meters through their IR dock: serial 9600 baud, 7 data bits, even parity, 2 stop bits.

The protocol is PARTIAL (third-party notes). What the driver uses: the wake byte `@`, answered `>`; then `>`
+ command + `\\n`; replies end `\\n` and carry `>` and `#` around the value, which are stripped. Commands:
`Vx` (type), `#R` (serial), `ZR` (date-time YYMMDDhhmmss), `Z` (raw count rates), `X1`/`X0` (cyclic auto-send
on/off), `WR` (calibration date). The driver wakes the unit before every command.

Unconfirmed, so strict: the layout of `Z` (taken as whole numbers separated by spaces; the first is the one
reported), its count-rate unit (the site must say: option `count_rate_unit`, cps or cpm), the replies to
`X1`/`X0` (any single value, ignored) and the format of `WR` (returned as text). `>` or `#` inside a value,
or a value that is not printable ASCII, is a ProtocolError. Nothing here reads a firmware version.

Dose rate: only through a site calibration (option `sensitivity`, e.g. `153.8 cpm/(µSv/h)`, or
`calibration_factor`, e.g. `0.0065 µSv/h/cpm`). The notes' reading of a G20-class unit (type `FH41B2`: dose
rate = 10 × the first field in nSv/h) is unconfirmed and is used only with `unconfirmed_dose_rate: true`,
and only on a unit that identifies as `FH41B2`; the reading is then the dose rate alone.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ConfigError, ProtocolError
from ..units import Q_, parse_quantity
from .base import Driver, unexpected_reply
from .capabilities import InstrumentIdentity
from .link import LinkSettings

if TYPE_CHECKING:  # pragma: no cover
    import pint

WAKE = b"@"
AWAKE = b">"
G20_TYPE = "FH41B2"
"""The type a G20-class unit has been seen to answer to `Vx`."""
FRAMING = ">#"
COUNT_RATE_UNITS = ("cps", "cpm")

_VALUE = re.compile(r"^[\x20-\x7e]*$")
_FIELDS = re.compile(r"^\d+(?: \d+)*$", re.ASCII)
_STAMP = re.compile(r"^\d{12}$", re.ASCII)


class Where(NamedTuple):
    """Which instrument a reply came from, for the errors a parser raises."""

    instrument: str = "RadEye"
    resource: str | None = None


def _unexpected(where: Where, command: str, reply: object, expected: str) -> ProtocolError:
    return unexpected_reply(where, command, reply, expected,
                            "check the unit sits in its IR dock and the port is 9600 7E2; the protocol is "
                            "PARTIAL, so this unit may answer in a way the notes do not cover")


def parse_wake(answer: bytes, where: Where = Where()) -> None:
    """The unit's answer to the wake byte must be `>`."""
    if answer != AWAKE:
        raise _unexpected(where, "@", answer, "'>' (awake)")


def parse_reply(command: str, raw: bytes, where: Where = Where()) -> str:
    """`>FH41B2#\\n` -> `FH41B2`: the line without `\\n`, CR and the `>` / `#` around it."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise _unexpected(where, command, raw, "7-bit ASCII text") from None
    if not text.endswith("\n"):
        raise _unexpected(where, command, raw, "a line ending with \\n")
    value = text.rstrip("\r\n").strip(FRAMING)
    if any(mark in value for mark in FRAMING) or not _VALUE.match(value):
        raise _unexpected(where, command, raw, "one printable value between '>' and '#'")
    return value.strip()


def parse_type(value: str, where: Where = Where()) -> str:
    """The `Vx` reply: a type code of letters and digits, e.g. `FH41B2`."""
    if not value or not value.isascii() or not value.isalnum():
        raise _unexpected(where, "Vx", value, "a type code of letters and digits")
    return value


def parse_serial(value: str, where: Where = Where()) -> str:
    """The `#R` reply: a serial number without spaces."""
    if not value or " " in value:
        raise _unexpected(where, "#R", value, "a serial number")
    return value


def parse_clock(value: str, where: Where = Where()) -> datetime:
    """The `ZR` reply YYMMDDhhmmss -> a datetime (years 2000-2099)."""
    if not _STAMP.match(value):
        raise _unexpected(where, "ZR", value, "twelve digits YYMMDDhhmmss")
    try:
        return datetime.strptime("20" + value, "%Y%m%d%H%M%S")
    except ValueError:
        raise _unexpected(where, "ZR", value, "a valid date and time YYMMDDhhmmss") from None


def parse_count_rates(value: str, where: Where = Where()) -> tuple[int, ...]:
    """The `Z` reply: whole numbers separated by single spaces, e.g. `512 3`."""
    if not _FIELDS.match(value):
        raise _unexpected(where, "Z", value, "whole numbers separated by spaces")
    return tuple(int(field) for field in value.split(" "))


class ThermoRadEye(Driver):
    """Thermo RadEye survey meter (PARTIAL protocol; the module docstring says what is unconfirmed).

    `read_now` reads `Z`: `count_rate` is its first field in `count_rate_unit`, plus `dose_rate` when the
    site gives `sensitivity` or `calibration_factor`; with `unconfirmed_dose_rate: true` (type FH41B2 only)
    it is `dose_rate` = 10 × the first field in nSv/h and nothing else.
    """

    driver_name = "thermo-radeye"
    capabilities = ("SurveyMeter",)
    protocol_status = "PARTIAL"
    transports = ("serial",)
    link = LinkSettings(read_termination="\n", write_termination="\n", baudrate=9600, bytesize=7, parity="E",
                        stopbits=2)
    simulator = "xcal.simulators.thermo_radeye:RadEyeSimulator"

    def __init__(self, resource: str, **kwargs: Any) -> None:
        super().__init__(resource, **kwargs)
        try:
            self.unconfirmed_dose_rate = self._flag("unconfirmed_dose_rate")
            self.count_rate_unit = self._count_rate_unit()
            self._to_dose_rate = self._calibration()
        except ConfigError:
            self.close()
            raise
        self._type: str | None = None

    @property
    def where(self) -> Where:
        """This instrument's name and resource, for errors."""
        return Where(self.name, self.resource)

    # --- options ---------------------------------------------------------------------------------------

    def _flag(self, name: str) -> bool:
        value = self.options.get(name, False)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.name}: option {name} must be true or false, got {value!r}",
                              fix=f"write `{name}: true` to use it, or leave it out")
        return value

    def _count_rate_unit(self) -> str | None:
        unit = self.options.get("count_rate_unit")
        if unit is None and not self.unconfirmed_dose_rate:
            raise ConfigError(f"{self.name}: the RadEye's count-rate unit is not in its protocol notes, so the "
                              f"site must give it", fix="add `count_rate_unit: cps` (or cpm) to the "
                                                        "instrument's options, as the unit's manual states")
        if unit is not None and unit not in COUNT_RATE_UNITS:
            raise ConfigError(f"{self.name}: option count_rate_unit must be cps or cpm, got {unit!r}",
                              fix="write `count_rate_unit: cps` or `count_rate_unit: cpm`")
        return unit

    def _calibration(self) -> "pint.Quantity | None":
        """The factor that turns one count rate unit into µSv/h, from `sensitivity` or `calibration_factor`."""
        import pint

        given = [name for name in ("sensitivity", "calibration_factor") if name in self.options]
        if not given:
            return None
        ways = given + (["unconfirmed_dose_rate"] if self.unconfirmed_dose_rate else [])
        if len(ways) > 1:
            raise ConfigError(f"{self.name}: give one way to the dose rate, not {' and '.join(ways)}",
                              fix="keep either sensitivity or calibration_factor, without unconfirmed_dose_rate")
        name = given[0]
        example = "153.8 cpm/(µSv/h)" if name == "sensitivity" else "0.0065 µSv/h/cpm"
        try:
            value = self.options[name]
            factor = value if isinstance(value, pint.Quantity) else parse_quantity(value)
            one = Q_(1, self.count_rate_unit)
            per_unit = (one / factor) if name == "sensitivity" else (one * factor)
            per_unit = per_unit.to("µSv/h")
        except Exception as exc:  # noqa: BLE001 - pint raises several kinds for a wrong unit
            raise ConfigError(f"{self.name}: option {name} {self.options[name]!r} does not turn a count rate in "
                              f"{self.count_rate_unit} into a dose rate ({exc})",
                              fix=f"give {name} like '{example}'") from None
        if not per_unit.magnitude > 0:
            raise ConfigError(f"{self.name}: option {name} must be more than zero", fix=f"give {name} like "
                                                                                       f"'{example}'")
        return per_unit

    # --- the line --------------------------------------------------------------------------------------

    def command(self, command: str) -> str:
        """Wake the unit, send `>` + command + `\\n` and return the reply's value."""
        with self.transport.locked():
            self.transport.write_bytes(WAKE)
            parse_wake(self.transport.read_bytes(1), self.where)
            self.transport.write_bytes(b">" + command.encode("ascii") + b"\n")
            raw = self.transport.read_until(b"\n")
        return parse_reply(command, raw, self.where)

    # --- queries and settings --------------------------------------------------------------------------

    def device_type(self) -> str:
        """The `Vx` type code (e.g. FH41B2 for a G20-class unit); asked once, then remembered."""
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

    def calibration_date(self) -> str:
        """The calibration date as the unit sends it (`WR`; its format is not in the notes)."""
        value = self.command("WR")
        if not value:
            raise _unexpected(self.where, "WR", value, "a calibration date")
        return value

    def raw_count_rates(self) -> tuple[int, ...]:
        """The fields of `Z`, as whole numbers."""
        return parse_count_rates(self.command("Z"), self.where)

    def auto_send(self, on: bool) -> None:
        """Cyclic auto-send on (`X1`) or off (`X0`); the driver reads with it off."""
        self.command("X1" if on else "X0")

    # --- SurveyMeter -----------------------------------------------------------------------------------

    def read_now(self) -> dict[str, "pint.Quantity"]:
        """count_rate (and dose_rate through the site calibration), or the unconfirmed G20 dose rate."""
        if self.unconfirmed_dose_rate:
            kind = self.device_type()
            if kind != G20_TYPE:
                raise ConfigError(f"{self.name}: unconfirmed_dose_rate applies only to a unit of type {G20_TYPE}; "
                                  f"this one is {kind!r}", fix="remove unconfirmed_dose_rate and give "
                                                               "count_rate_unit (and a sensitivity)")
            first = self.raw_count_rates()[0]
            return {"dose_rate": Q_(10 * first, "nSv/h").to("µSv/h")}
        assert self.count_rate_unit is not None
        rate = Q_(self.raw_count_rates()[0], self.count_rate_unit)
        readings = {"count_rate": rate}
        if self._to_dose_rate is not None:
            readings["dose_rate"] = rate.magnitude * self._to_dose_rate
        return readings
