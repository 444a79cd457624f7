"""PTW DIAMENTOR dose-area-product (KAP) meter over RS-232, 9600 8N1 by default.

The protocol is PUBLIC (see the notes in the project's protocols reference): ASCII commands; a reply
echoes the command's letters followed by the value with no separator (`SER345678`, `PRE1013`); errors
are `E<n>`. This driver uses identity (PTW, SER), measured values (M), reset (RES), self test (TST),
constancy check (G), EEPROM/calibration flags (CRC), the display unit (U), air pressure and temperature
(PRE, TMPA), calibration and correction factors (KA, KFA) and the baud rate (BR0…BR4). Nothing of the
notes is left out except the G20-class identification, which the notes mark unconfirmed.

Decisions where the notes are silent, each strict or overridable:
- Line termination: CR on both directions. This is an assumption (CR is usual for this family), kept in
  the LinkSettings default so a site can override `read_termination` / `write_termination`; a stray LF
  before a reply (an instrument ending lines CR LF) is ignored.
- RES's reply "(empty)" is read as the echo `RES` with an empty value; an empty line is accepted too.
- TST passes with `TST` or `TST0` and fails with an error code (`E1`…), which is raised typed.
- The DAP rate is taken per second of the display unit (option `rate_time_base` to change it), and M's
  fields after the fourth (the notes show `...`) are ignored.
- The driver cannot ask which unit is shown, so it sets the unit (option `unit`, 1…4, default 1 =
  cGy·cm²) with `U<n>` before its first reading and reads M in that unit.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ConfigError, InstrumentError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from ..units import Q_, has_dimension, parse_quantity
from .base import Driver, unexpected_reply
from .capabilities import InstrumentIdentity
from .link import LinkSettings, open_transport

if TYPE_CHECKING:  # pragma: no cover
    import pint

ERRORS: dict[str, str] = {
    "E1": "syntax error",
    "E4": "charge overflow",
    "E5": "maximum input current exceeded",
    "E6": "chamber voltage out of range",
    "E7": "write protected",
    "E9": "value out of range",
    "E23": "EEPROM error",
    "E24": "not electrically calibrated",
    "E25": "input buffer overrun",
    "E26": "firmware error",
}

_FIXES: dict[str, str] = {
    "E1": "the meter did not understand the command: check the firmware and the line termination",
    "E4": "the integrated charge overflowed: reset the meter (RES) before the next exposure",
    "E5": "the input current was too high: lower the dose rate or check the chamber",
    "E6": "the chamber voltage is wrong: check the chamber cable and have the meter serviced",
    "E7": "the meter's settings are write protected: unlock them at the meter",
    "E9": "use a value inside the command's documented range",
    "E23": "the meter's memory is faulty: have it serviced",
    "E24": "the meter has no electrical calibration: have it calibrated",
    "E25": "commands came too fast or the baud rate is wrong: slow down and check the serial settings",
    "E26": "the meter reports a firmware fault: restart it; if it persists, have it serviced",
}

UNITS: dict[int, str] = {1: "cGy*cm**2", 2: "Gy*cm**2", 3: "µGy*m**2", 4: "R*cm**2"}
"""Display units by U code. Code 4 is an exposure-area product (roentgen), not a kerma-area product."""
EXPOSURE_AREA = 4
BAUD_RATES = (9600, 19200, 38400, 57600, 115200)
"""BR0 … BR4."""

_ERROR = re.compile(r"E(\d{1,2})", re.ASCII)
_DECIMAL = r"-?\d+(?:\.\d+)?"
_M = re.compile(rf"M({_DECIMAL}),({_DECIMAL}),(\d+),(\d+)(?:,.*)?", re.ASCII | re.DOTALL)
_IDENTITY = re.compile(r"([A-Z0-9][A-Za-z0-9-]*) (\S+)", re.ASCII)
_SERIAL = re.compile(r"SER([A-Za-z0-9-]+)", re.ASCII)
_CRC = re.compile(r"CRC([01]),([01])", re.ASCII)


class Where(NamedTuple):
    """Which instrument a reply came from, for the errors a parser raises."""

    instrument: str = "PTW DIAMENTOR"
    resource: str | None = None


@dataclass(frozen=True)
class DapMeasurement:
    """One M reply in the display unit: DAP, DAP rate and irradiation time."""

    dap: "pint.Quantity"
    dap_rate: "pint.Quantity"
    exposure_time: "pint.Quantity"


def _unexpected(where: Where, command: str, reply: object, expected: str) -> ProtocolError:
    return unexpected_reply(where, command, reply, expected,
                            "check the serial settings (baud, termination) and the cable; make sure this "
                            "is a DIAMENTOR on its remote protocol")


def reported_error(command: str, code: str, where: Where) -> InstrumentReportedError:
    """The typed error for the meter's `E<n>` reply to `command`."""
    meaning = ERRORS.get(code, "an error code the protocol notes do not list")
    return InstrumentReportedError(
        f"{where.instrument} answered error {code} ({meaning}) to {command!r}", code=code, meaning=meaning,
        command=command, instrument=where.instrument, resource=where.resource,
        fix=_FIXES.get(code, "check the command and the meter's state"))


def _clean(command: str, reply: str, where: Where) -> str:
    """The reply without surrounding line ends; the typed error for `E<n>`."""
    text = reply.strip("\r\n")
    if _ERROR.fullmatch(text):
        raise reported_error(command, text, where)
    return text


def reply_value(letters: str, command: str, reply: str, where: Where = Where()) -> str:
    """The value after the echoed command `letters` (`PRE1013` -> `1013` for letters `PRE`)."""
    text = _clean(command, reply, where)
    if not text.startswith(letters):
        raise _unexpected(where, command, reply, f"the echo {letters!r} followed by the value")
    return text[len(letters):]


def parse_echo(command: str, reply: str, where: Where = Where()) -> None:
    """A setting's reply must repeat the command exactly (`PRE1013` -> `PRE1013`)."""
    if _clean(command, reply, where) != command:
        raise _unexpected(where, command, reply, f"the command echoed: {command!r}")


def parse_identity(reply: str, where: Where = Where()) -> tuple[str, str]:
    """`CRS 1.2.4` -> ("CRS", "1.2.4"): the model variant and the firmware."""
    found = _IDENTITY.fullmatch(_clean("PTW", reply, where))
    if found is None:
        raise _unexpected(where, "PTW", reply, "a model word and a firmware version, like 'CRS 1.2.4'")
    return found.group(1), found.group(2)


def parse_serial(reply: str, where: Where = Where()) -> str:
    """`SER345678` -> `345678`."""
    found = _SERIAL.fullmatch(_clean("SER", reply, where))
    if found is None:
        raise _unexpected(where, "SER", reply, "'SER' followed by the serial number")
    return found.group(1)


def parse_measurement(reply: str, unit: str, rate_time_base: str = "s",
                      where: Where = Where()) -> DapMeasurement:
    """`M9999.99,8888.88,222,33` -> DAP 9999.99 unit, rate 8888.88 unit/s, time 222 min 33 s."""
    found = _M.fullmatch(_clean("M", reply, where))
    if found is None or int(found.group(4)) > 59:
        raise _unexpected(where, "M", reply, "'M' then DAP, DAP rate, minutes, seconds (0…59), comma-separated")
    dap, rate, minutes, secs = found.groups()
    return DapMeasurement(dap=Q_(float(dap), unit), dap_rate=Q_(float(rate), f"{unit}/{rate_time_base}"),
                          exposure_time=Q_(int(minutes) * 60 + int(secs), "s"))


def parse_reset(reply: str, where: Where = Where()) -> None:
    """RES answers its echo with an empty value (or an empty line)."""
    if _clean("RES", reply, where) not in ("RES", ""):
        raise _unexpected(where, "RES", reply, "'RES' or an empty line")


def parse_self_test(reply: str, where: Where = Where()) -> None:
    """TST passes with `TST` or `TST0`; a failure is an error code, raised typed."""
    if _clean("TST", reply, where) not in ("TST", "TST0"):
        raise _unexpected(where, "TST", reply, "'TST' (passed) or an error code E1…E26")


def parse_constancy(reply: str, where: Where = Where()) -> bool:
    """`GP` -> True (constancy check passed), `GF` -> False."""
    value = reply_value("G", "G", reply, where)
    if value not in ("P", "F"):
        raise _unexpected(where, "G", reply, "'GP' (pass) or 'GF' (fail)")
    return value == "P"


def parse_crc(reply: str, where: Where = Where()) -> tuple[bool, bool]:
    """`CRC0,1` -> (EEPROM ok, calibrated): each flag is 0 when ok."""
    found = _CRC.fullmatch(_clean("CRC", reply, where))
    if found is None:
        raise _unexpected(where, "CRC", reply, "'CRC' then two flags 0 or 1, like 'CRC0,0'")
    return found.group(1) == "0", found.group(2) == "0"


def format_ka(factor: float) -> str:
    """`KA%.4E` without `+` in the exponent: 4.3e9 -> `KA4.3000E09`."""
    return "KA" + f"{factor:.4E}".replace("E+", "E")


def _option_time(options: dict[str, Any], name: str, default: str) -> float:
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


def _kerma_per_exposure(value: Any) -> "pint.Quantity | None":
    """The site's air-kerma-per-exposure factor (e.g. '8.76 mGy/R'), needed only for R·cm²."""
    import pint

    if value is None:
        return None
    try:
        quantity = value if isinstance(value, pint.Quantity) else parse_quantity(value)
        ok = (quantity * Q_(1, "R")).dimensionality == Q_(1, "Gy").dimensionality
    except ValueError:
        ok = False
    if not ok or not quantity.magnitude > 0:
        raise ConfigError(f"option kerma_per_exposure must be air kerma per exposure, like '8.76 mGy/R', "
                          f"got {value!r}", fix="give it as '<number> mGy/R' from the meter's certificate")
    return quantity


class PtwDiamentor(Driver):
    """PTW DIAMENTOR: a DapMeter. arm() resets; readings are `dap` and `dap_rate` in the display unit.

    R·cm² (U4) is an exposure-area product: turning it into a kerma-area product needs air kerma per
    roentgen, which depends on the convention and calibration the meter's certificate used (about
    8.7 mGy/R). The driver will not assume one: with `unit: 4` it needs the option `kerma_per_exposure`
    (e.g. '8.76 mGy/R'), else the site file is refused. Changing the baud rate (BR0…BR4) takes effect after
    the meter's reply, so the driver reads the reply at the old rate and then switches its own port
    (through the transport's `set_baudrate` if it has one, otherwise by reopening it).
    Options: `unit` (1…4), `kerma_per_exposure`, `rate_time_base` ('s', 'min' or 'h'), `poll_interval`.
    """

    driver_name = "ptw-diamentor"
    capabilities = ("DapMeter",)
    protocol_status = "PUBLIC"
    transports = ("serial",)
    link = LinkSettings(read_termination="\r", write_termination="\r", encoding="ascii", baudrate=9600,
                        bytesize=8, parity="N", stopbits=1)
    simulator = "xcal.simulators.ptw_diamentor:DiamentorSimulator"

    def __init__(self, resource: str, **kwargs: Any) -> None:
        super().__init__(resource, **kwargs)
        self.unit_code = self._unit_option(self.options.get("unit", 1))
        self.kerma_per_exposure = _kerma_per_exposure(self.options.get("kerma_per_exposure"))
        if self.unit_code == EXPOSURE_AREA and self.kerma_per_exposure is None:
            raise ConfigError(f"{self.name}: unit 4 (R·cm²) is an exposure-area product; a DAP in Gy·cm² "
                              f"from it needs the air kerma per roentgen of the meter's calibration",
                              fix="add `kerma_per_exposure: 8.76 mGy/R` (the value from the certificate) "
                                  "or use unit 1, 2 or 3")
        self.rate_time_base = str(self.options.get("rate_time_base", "s"))
        if self.rate_time_base not in ("s", "min", "h"):
            raise ConfigError(f"{self.name}: rate_time_base must be s, min or h, got {self.rate_time_base!r}",
                              fix="set rate_time_base: s")
        self._poll_s = _option_time(self.options, "poll_interval", "200 ms")
        self._unit_sent = False
        self._baseline: float | None = None

    def _unit_option(self, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value not in UNITS:
            raise ConfigError(f"{self.name}: unit must be 1, 2, 3 or 4, got {value!r}",
                              fix="1 = cGy·cm², 2 = Gy·cm², 3 = µGy·m², 4 = R·cm²")
        return int(value)

    @property
    def where(self) -> Where:
        """This instrument's name and resource, for errors."""
        return Where(self.name, self.resource)

    def command(self, line: str) -> str:
        """Send one command and return its reply line, unparsed."""
        return self.transport.query(line)

    def _set(self, line: str) -> None:
        parse_echo(line, self.command(line), self.where)

    def identify(self) -> InstrumentIdentity:
        """Make PTW, model `DIAMENTOR <variant>` and firmware from PTW, serial from SER."""
        with self.transport.locked():
            variant, firmware = parse_identity(self.command("PTW"), self.where)
            serial = parse_serial(self.command("SER"), self.where)
        return InstrumentIdentity(make="PTW", model=f"DIAMENTOR {variant}", serial=serial, firmware=firmware)

    def set_unit(self, code: int) -> None:
        """Select the display unit: 1 cGy·cm², 2 Gy·cm², 3 µGy·m², 4 R·cm² (needs kerma_per_exposure)."""
        code = self._unit_option(code)
        if code == EXPOSURE_AREA and self.kerma_per_exposure is None:
            raise ConfigError(f"{self.name}: R·cm² readings need the option kerma_per_exposure",
                              fix="add `kerma_per_exposure: 8.76 mGy/R` from the meter's certificate")
        self._set(f"U{code}")
        self.unit_code, self._unit_sent = code, True

    def _ensure_unit(self) -> None:
        if not self._unit_sent:
            self.set_unit(self.unit_code)

    def measure(self) -> DapMeasurement:
        """One M reply in the display unit (R·cm² stays an exposure-area product here)."""
        self._ensure_unit()
        return parse_measurement(self.command("M"), UNITS[self.unit_code], self.rate_time_base, self.where)

    def readings(self, measurement: DapMeasurement) -> dict[str, "pint.Quantity"]:
        """`dap` and `dap_rate`; R·cm² is turned into Gy·cm² with the site's kerma_per_exposure."""
        if self.unit_code != EXPOSURE_AREA:
            return {"dap": measurement.dap, "dap_rate": measurement.dap_rate}
        factor = self.kerma_per_exposure
        assert factor is not None
        return {"dap": (measurement.dap * factor).to("Gy*cm**2"),
                "dap_rate": (measurement.dap_rate * factor).to(f"Gy*cm**2/{self.rate_time_base}")}

    def arm(self) -> None:
        """Reset the DAP and time (RES) and note the starting value."""
        self._ensure_unit()
        parse_reset(self.command("RES"), self.where)
        self._baseline = abs(self.measure().dap.magnitude)

    def wait_for_exposure(self, timeout: "pint.Quantity") -> None:
        """Poll M until the DAP rose above its value at arm() and then read the same on two polls in a row.

        The meter has no status to say an exposure ended, so a stable, risen DAP is the sign. Without arm()
        (or after a completed wait) the first poll is the starting value. InstrumentTimeout after `timeout`.
        """
        from .transport import seconds

        limit = seconds(timeout, "timeout")
        deadline = time.monotonic() + limit
        baseline, last = self._baseline, None
        while True:
            size = abs(self.measure().dap.magnitude)
            if baseline is not None and size > baseline and size == last:
                self._baseline = None
                return
            baseline = size if baseline is None else baseline
            last = size
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise InstrumentTimeout(
                    f"{self.name} ({self.resource}) recorded no complete exposure within {limit:g} s",
                    instrument=self.name, resource=self.resource,
                    fix="check the chamber is in the beam and the exposure was made; give a longer timeout "
                        "for long exposures")
            time.sleep(min(self._poll_s, remaining))

    def read_exposure(self) -> dict[str, "pint.Quantity"]:
        """The exposure's `dap` and `dap_rate`."""
        return self.readings(self.measure())

    def read_now(self) -> dict[str, "pint.Quantity"]:
        """What the meter shows now: `dap` and `dap_rate`."""
        return self.readings(self.measure())

    def self_test(self) -> None:
        """Run the self test (TST); a fault comes back as InstrumentReportedError with its code."""
        parse_self_test(self.command("TST"), self.where)

    def constancy_check(self) -> bool:
        """Run the constancy check (G): True for pass (GP), False for fail (GF)."""
        return parse_constancy(self.command("G"), self.where)

    def memory_status(self) -> tuple[bool, bool]:
        """(EEPROM ok, electrically calibrated) from CRC."""
        return parse_crc(self.command("CRC"), self.where)

    def set_pressure(self, pressure: "pint.Quantity") -> None:
        """Enter the air pressure for the meter's own correction: whole hPa, 500 … 1500."""
        self._set(f"PRE{self._whole(pressure, 'hPa', 500, 1500, 'pressure'):04d}")

    def set_temperature(self, temperature: "pint.Quantity") -> None:
        """Enter the air temperature for the meter's own correction: whole °C, 0 … 70."""
        self._set(f"TMPA{self._whole(temperature, 'degC', 0, 70, 'temperature'):02d}")

    def set_calibration_factor(self, factor: float) -> None:
        """KA: µGy·m²/s per unit of the meter's measured signal, 1e8 … 9.999e12."""
        if not 1e8 <= float(factor) <= 9.999e12:
            raise self._refuse(f"the calibration factor must be in 1e8 … 9.999e12, got {factor!r}")
        self._set(format_ka(float(factor)))

    def set_correction_factor(self, factor: float) -> None:
        """KFA: a correction factor 0 … 9.999, sent with three decimals."""
        if not 0 <= float(factor) <= 9.999:
            raise self._refuse(f"the correction factor must be in 0 … 9.999, got {factor!r}")
        self._set(f"KFA{float(factor):.3f}")

    def set_baudrate(self, baud: int) -> None:
        """Switch the meter (BR0…BR4) and then this driver's port to `baud`."""
        if baud not in BAUD_RATES:
            raise self._refuse(f"{baud} baud is not one of {', '.join(map(str, BAUD_RATES))}")
        with self.transport.locked():
            self._set(f"BR{BAUD_RATES.index(baud)}")
        self._switch_port(baud)

    def _switch_port(self, baud: int) -> None:
        self.settings = self.settings.with_options(baudrate=baud)
        setter = getattr(self.transport, "set_baudrate", None)
        if callable(setter):
            setter(baud)
            return
        self.transport.close()
        self.transport = open_transport(self.resource, self.settings, name=self.name)

    def _refuse(self, message: str) -> InstrumentError:
        return InstrumentError(f"{self.name}: {message}", instrument=self.name, resource=self.resource,
                               fix="see the DIAMENTOR command ranges in the driver's documentation")

    def _whole(self, value: "pint.Quantity", unit: str, low: int, high: int, what: str) -> int:
        import pint

        try:
            number = round(float(value.to(unit).magnitude))
        except (AttributeError, pint.DimensionalityError, ValueError, OverflowError):
            raise self._refuse(f"the {what} must be a quantity in {unit}, got {value!r}") from None
        if not low <= number <= high:
            raise self._refuse(f"the {what} must be {low} … {high} {unit}, got {value:~P}")
        return number
