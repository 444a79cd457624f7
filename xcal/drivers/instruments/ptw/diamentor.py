"""PTW DIAMENTOR dose-area-product (KAP) meter over RS-232, 9600 8N1 by default.

The protocol is PUBLIC (see the notes in the project's protocols reference) and every command this driver sends
is also sent by pymeasure's `ptwDIAMENTOR`, whose tests ran on a DIAMENTOR over RS-232; all but the KA, KFA and
BR changes were sent by those device tests (see `EVIDENCE`). ASCII
commands; a reply echoes the command's letters followed by the value with no separator (`SER345678`,
`PRE1013`); errors are `E<n>`. Used here: identity (PTW, SER), measured values (M), reset (RES), self test
(TST), constancy check (G), EEPROM/calibration flags (CRC) and the settings, each read back by its letters
alone and changed by letters and value: display unit (U), air pressure and temperature (PRE, TMPA),
calibration and correction factors (KA, KFA) and the baud rate (BR).

Decisions, each following the hardware-tested client where the sources differ:
- Lines go out ending CR LF and replies are read up to LF, then stripped of white space (a CR before the LF).
- A passed self test answers an empty line; a failure answers `E<n>`, raised typed. RES's reply, "(empty)" in
  the notes, is taken as an empty line or the echo `RES` (no source shows which the meter sends).
- SER must answer digits (`SER345678`): a real meter's serial is a number, so anything else is a ProtocolError.
- M is read in the unit the meter says it shows (U is asked before every M), so a unit changed at the panel
  is never misread. The option `unit` (1…4) makes the driver select that unit once, before its first reading.
  M's fields after the fourth (pymeasure's fixture shows nine) are not read: no source says what they hold.
- The DAP rate is taken per second of the display unit (option `rate_time_base` to change it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ....errors import ConfigError, InstrumentError, InstrumentReportedError, InstrumentTimeout
from ....units import Q_, parse_quantity
from ...base import Driver, Where, poll_until, unexpected_reply
from ...capabilities import InstrumentIdentity
from ...evidence import Command, Evidence, Source
from ...link import LinkSettings, open_transport
from ...settings import Choice, Number, Option, Setting

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

UNEXPECTED_FIX = ("check the serial settings (baud; commands end CR LF, replies LF) and the cable; make sure "
                  "this is a DIAMENTOR on its remote protocol")
_WHERE = Where("PTW DIAMENTOR")

_ERROR = re.compile(r"E(\d{1,2})", re.ASCII)
_DECIMAL = r"-?\d+(?:\.\d+)?"
_M = re.compile(rf"M({_DECIMAL}),({_DECIMAL}),(\d+),(\d+)(?:,.*)?", re.ASCII)
_IDENTITY = re.compile(r"([A-Z0-9][A-Za-z0-9-]*) (\S+)", re.ASCII)
_SERIAL = re.compile(r"SER(\d+)", re.ASCII)
_CRC = re.compile(r"CRC([01]),([01])", re.ASCII)

_PYMEASURE = "pymeasure"
_PYMEASURE_CODE = "pymeasure-code"
_NOTES = "notes"
EVIDENCE = Evidence(
    sources={
        _PYMEASURE: Source(
            "pymeasure 0.16.0 ptwDIAMENTOR (tests run on a DIAMENTOR over RS-232)", "hardware-client",
            "https://github.com/pymeasure/pymeasure pymeasure/instruments/ptw/ptwDIAMENTOR.py; fixtures in "
            "tests/instruments/ptw/test_ptwDIAMENTOR.py, device tests in test_ptwDIAMENTOR_with_device.py; "
            "review thread pymeasure/pymeasure#1302"),
        _PYMEASURE_CODE: Source(
            "pymeasure 0.16.0 ptwDIAMENTOR code and fixtures, for commands its device tests do not send",
            "third-party",
            "https://github.com/pymeasure/pymeasure pymeasure/instruments/ptw/ptwDIAMENTOR.py and "
            "tests/instruments/ptw/test_ptwDIAMENTOR.py (test_ptwDIAMENTOR_with_device.py only reads these "
            "settings)"),
        _NOTES: Source("xcal protocol notes, PTW DIAMENTOR section", "third-party",
                       "xcal's notes on each meter's published protocol (protocols reference); a summary of "
                       "public sources, not itself tested on a meter"),
    },
    commands=(
        Command("PTW", (_PYMEASURE, _NOTES), "identity: model word and firmware, e.g. `CRS 1.2.4`"),
        Command("SER", (_PYMEASURE, _NOTES), "serial number, digits: `SER345678`"),
        Command("M", (_PYMEASURE, _NOTES), "DAP, DAP rate, minutes, seconds (the first four fields)"),
        Command("RES", (_PYMEASURE, _NOTES), "reset DAP and time"),
        Command("TST", (_PYMEASURE, _NOTES), "self test: empty line passed, `E<n>` failed"),
        Command("G", (_PYMEASURE, _NOTES), "constancy check: `GP` / `GF`"),
        Command("CRC", (_PYMEASURE, _NOTES), "EEPROM flag, calibration flag; 0 = ok"),
        Command("U", (_PYMEASURE, _NOTES), "read the display unit"),
        Command("U{code}", (_PYMEASURE, _NOTES), "select the display unit 1…4"),
        Command("PRE", (_PYMEASURE, _NOTES), "read the air pressure, hPa"),
        Command("PRE{hpa}", (_PYMEASURE, _NOTES), "PRE%04d, 500…1500 hPa"),
        Command("TMPA", (_PYMEASURE, _NOTES), "read the air temperature, °C"),
        Command("TMPA{celsius}", (_PYMEASURE, _NOTES), "TMPA%02d, 0…70 °C"),
        Command("KA", (_PYMEASURE, _NOTES), "read the calibration factor"),
        Command("KA{factor}", (_PYMEASURE_CODE, _NOTES), "KA%.4E without '+', 1e8…9.999e12; pymeasure's "
                "device test only reads KA"),
        Command("KFA", (_PYMEASURE, _NOTES), "read the correction factor"),
        Command("KFA{factor}", (_PYMEASURE_CODE, _NOTES), "KFA%.3f, 0…9.999; pymeasure's device test only "
                "reads KFA"),
        Command("BR", (_PYMEASURE, _NOTES), "read the baud rate code 0…4"),
        Command("BR{code}", (_PYMEASURE_CODE, _NOTES), "select 9600…115200 baud; takes effect after the reply; "
                "pymeasure's device test only reads BR"),
    ),
    disagreements=(
        "Line ends: xcal's driver and simulator used CR (\\r) both ways; pymeasure, tested on a DIAMENTOR over "
        "RS-232, writes \\r\\n and reads up to \\n (VISA serial defaults). Followed pymeasure: write \\r\\n, read "
        "to \\n, strip. PTW's MULTIDOS RS232 manual (D177.131.2/0, a sister meter, not the DIAMENTOR) also ends "
        "its telegrams CR LF.",
        "Getters: xcal said the meter cannot be asked which unit it shows; pymeasure reads every setting back "
        "by its letters alone (PRE, TMPA, U, KA, KFA, BR) and its fixtures show the replies. Followed pymeasure: "
        "every setting can be read back, and M is read in the unit U reports.",
        "Self test: xcal expected `TST` or `TST0` for a pass; pymeasure's fixture and review thread (#1302) give "
        "an empty line for a pass and `E<n>` for a failure. Followed pymeasure.",
        "M's fields: the notes show DAP, DAP rate, minutes, seconds and `...`; pymeasure's fixture has nine "
        "fields, the last five placeholders (`eeee.ee,ffff.ff,mmm,ss,34567`), and pymeasure reads only the "
        "first four. xcal reads the first four and ignores the rest; its simulator sends four.",
        "Serial: a real meter answers digits (`SER345678`; pymeasure returns int(v[3:]) and its device test "
        "expects 0…999999); xcal's demo had `DIA-20455`. xcal now refuses a non-numeric SER reply and keeps the "
        "digits as text (pymeasure's int drops leading zeros).",
        "Baud: BR takes effect after the reply. pymeasure changes the meter's rate but not its own port, so its "
        "next command is lost on a real line; xcal reads the echo at the old rate, then switches its own port.",
        "KA's unit: pymeasure says µGy·m²/s, the notes 'µGy·m²/s per unit' of the chamber signal; no source "
        "names the signal unit, so xcal keeps the factor a plain number rather than a Quantity that could "
        "mislabel it.",
        "RES: the notes give '(empty)'; pymeasure reads one line and ignores it; no fixture shows it. xcal "
        "accepts an empty line or the echo `RES`.",
        "Error codes: the notes' table and pymeasure's list agree (E1…E26). pymeasure looks the reply up as "
        "read, line end included, so over a real serial line (and against xcal's simulator) every code reaches "
        "its user as ConnectionError('Unknown read error'); only its fixtures reach its ValueError. Its device "
        "tests provoke no error, so no source shows an error reply on hardware.",
        "Hardware coverage: pymeasure's device tests set PRE, TMPA and U on the meter but only read KA, KFA and "
        "BR (changing the calibration factor or the line speed of a clinical meter is not done lightly), so "
        "the set lines of those three are shown by pymeasure's code and fixtures only, and they, hence the "
        "driver as a whole, are THIRD-PARTY here.",
    ),
)


@dataclass(frozen=True)
class DapMeasurement:
    """One M reply in the display unit it was read in: DAP, DAP rate and irradiation time."""

    dap: pint.Quantity
    dap_rate: pint.Quantity
    exposure_time: pint.Quantity
    unit_code: int


def reported_error(command: str, code: str, where: Where) -> InstrumentReportedError:
    """The typed error for the meter's `E<n>` reply to `command`."""
    meaning = ERRORS.get(code, "an error code the protocol notes do not list")
    return InstrumentReportedError(
        f"{where.instrument} answered error {code} ({meaning}) to {command!r}", code=code, meaning=meaning,
        command=command, instrument=where.instrument, resource=where.resource,
        fix=_FIXES.get(code, "check the command and the meter's state"))


def _clean(command: str, reply: str, where: Where) -> str:
    """The reply without surrounding white space; the typed error for `E<n>`."""
    text = reply.strip()
    if _ERROR.fullmatch(text):
        raise reported_error(command, text, where)
    return text


def reply_value(letters: str, command: str, reply: str, where: Where = _WHERE) -> str:
    """The value after the echoed command `letters` (`PRE1013` -> `1013` for letters `PRE`)."""
    text = _clean(command, reply, where)
    if not text.startswith(letters):
        raise unexpected_reply(where, command, reply, f"the echo {letters!r} followed by the value",
                               UNEXPECTED_FIX)
    return text[len(letters):]


def parse_echo(command: str, reply: str, where: Where = _WHERE) -> None:
    """A setting's reply must repeat the command exactly (`PRE1013` -> `PRE1013`)."""
    if _clean(command, reply, where) != command:
        raise unexpected_reply(where, command, reply, f"the command echoed: {command!r}", UNEXPECTED_FIX)


def parse_identity(reply: str, where: Where = _WHERE) -> tuple[str, str]:
    """`CRS 1.2.4` -> ("CRS", "1.2.4"): the model variant and the firmware."""
    found = _IDENTITY.fullmatch(_clean("PTW", reply, where))
    if found is None:
        raise unexpected_reply(where, "PTW", reply, "a model word and a firmware version, like 'CRS 1.2.4'",
                               UNEXPECTED_FIX)
    return found.group(1), found.group(2)


def parse_serial(reply: str, where: Where = _WHERE) -> str:
    """`SER345678` -> `345678`; a real meter's serial is digits, so anything else is refused."""
    found = _SERIAL.fullmatch(_clean("SER", reply, where))
    if found is None:
        raise unexpected_reply(where, "SER", reply, "'SER' followed by the serial number's digits, like "
                               "'SER345678'", UNEXPECTED_FIX)
    return found.group(1)


def parse_measurement(reply: str, unit_code: int, rate_time_base: str = "s",
                      where: Where = _WHERE) -> DapMeasurement:
    """`M9999.99,8888.88,222,33,…` in unit `unit_code` -> DAP, rate per `rate_time_base`, 222 min 33 s."""
    found = _M.fullmatch(_clean("M", reply, where))
    if found is None or int(found.group(4)) > 59:
        raise unexpected_reply(where, "M", reply, "'M' then DAP, DAP rate, minutes, seconds (0…59), "
                               "comma-separated", UNEXPECTED_FIX)
    dap, rate, minutes, secs = found.groups()
    unit = UNITS[unit_code]
    return DapMeasurement(dap=Q_(float(dap), unit), dap_rate=Q_(float(rate), f"{unit}/{rate_time_base}"),
                          exposure_time=Q_(int(minutes) * 60 + int(secs), "s"), unit_code=unit_code)


def parse_reset(reply: str, where: Where = _WHERE) -> None:
    """RES answers an empty line (the notes' "(empty)") or its echo."""
    if _clean("RES", reply, where) not in ("RES", ""):
        raise unexpected_reply(where, "RES", reply, "an empty line or 'RES'", UNEXPECTED_FIX)


def parse_self_test(reply: str, where: Where = _WHERE) -> None:
    """TST passes with an empty line; a failure is an error code, raised typed."""
    if _clean("TST", reply, where) != "":
        raise unexpected_reply(where, "TST", reply, "an empty line (passed) or an error code E1…E26", UNEXPECTED_FIX)


def parse_constancy(reply: str, where: Where = _WHERE) -> bool:
    """`GP` -> True (constancy check passed), `GF` -> False."""
    value = reply_value("G", "G", reply, where)
    if value not in ("P", "F"):
        raise unexpected_reply(where, "G", reply, "'GP' (pass) or 'GF' (fail)", UNEXPECTED_FIX)
    return value == "P"


def parse_crc(reply: str, where: Where = _WHERE) -> tuple[bool, bool]:
    """`CRC0,1` -> (EEPROM ok, calibrated): each flag is 0 when ok."""
    found = _CRC.fullmatch(_clean("CRC", reply, where))
    if found is None:
        raise unexpected_reply(where, "CRC", reply, "'CRC' then two flags 0 or 1, like 'CRC0,0'", UNEXPECTED_FIX)
    return found.group(1) == "0", found.group(2) == "0"


class _Exponential(Number):
    """A number written `%.4E` with no `+` in the exponent, as KA takes it (4.3e9 -> `4.3000E09`)."""

    def encode(self, value: Any) -> str:
        return super().encode(value).replace("E+", "E")


def _kerma_per_exposure(value: Any, owner: str) -> pint.Quantity | None:
    """The site's air-kerma-per-exposure factor (e.g. '8.76 mGy/R'), needed only for R·cm²."""
    import pint

    if value is None:
        return None
    try:
        quantity = value if isinstance(value, pint.Quantity) else parse_quantity(str(value))
        ok = (quantity * Q_(1, "R")).dimensionality == Q_(1, "Gy").dimensionality
    except ValueError:
        ok = False
    if not ok or not quantity.magnitude > 0:
        raise ConfigError(f"{owner}: option kerma_per_exposure must be a positive air kerma per exposure, like "
                          f"'8.76 mGy/R', got {value!r}",
                          fix="give it as '<number> mGy/R' from the meter's certificate")
    return quantity.to("mGy/R")


class PtwDiamentor(Driver):
    """PTW DIAMENTOR: a DapMeter. arm() resets; readings are `dap` and `dap_rate` in the unit the meter shows.

    R·cm² (U4) is an exposure-area product: turning it into a kerma-area product needs air kerma per
    roentgen, which depends on the convention and calibration the meter's certificate used (about
    8.7 mGy/R). The driver will not assume one: readings shown in R·cm² need the option `kerma_per_exposure`
    (e.g. '8.76 mGy/R'), and `unit: 4` without it is refused with the site file. The settings (`pressure`,
    `temperature`, `dap_unit`, `calibration_factor`, `correction_factor`, `baudrate`) are read by their
    letters and set by letters and value; a baud change is read at the old rate, then this driver's port
    follows (through the transport's `set_baudrate` if it has one, otherwise by reopening it).
    """

    driver_name = "ptw-diamentor"
    capabilities = ("DapMeter",)
    protocol_status = "PUBLIC"
    transports = ("serial",)
    link = LinkSettings(read_termination="\n", write_termination="\r\n", encoding="ascii", baudrate=9600,
                        bytesize=8, parity="N", stopbits=1)
    simulator = "xcal.simulators.ptw_diamentor:DiamentorSimulator"
    evidence = EVIDENCE
    unexpected_fix = UNEXPECTED_FIX
    option_specs = (
        Option("unit", "text", None, "the display unit the driver selects before its first reading: 1 cGy·cm², "
               "2 Gy·cm², 3 µGy·m², 4 R·cm²; without it, readings are in the unit the meter shows",
               choices=("1", "2", "3", "4")),
        Option("kerma_per_exposure", "text", None, "air kerma per roentgen of the meter's calibration, for "
               "readings in R·cm², e.g. '8.76 mGy/R'"),
        Option("rate_time_base", "text", "s", "the time the meter's DAP rate is per", choices=("s", "min", "h")),
        Option("poll_interval", "time", "200 ms", "time between M polls while waiting for an exposure", low=0,
               unit="s", above=True, timing=True),
    )

    pressure: Setting[pint.Quantity] = Setting(
        "PRE", "PRE{}", "Air pressure for the meter's own air-density correction",
        Number(500, 1500, unit="hPa", whole=True, format="{:04d}"))
    temperature: Setting[pint.Quantity] = Setting(
        "TMPA", "TMPA{}", "Air temperature for the meter's own air-density correction",
        Number(0, 70, unit="degC", whole=True, format="{:02d}"))
    dap_unit: Setting[int] = Setting(
        "U", "U{}", "Display unit code: 1 cGy·cm², 2 Gy·cm², 3 µGy·m², 4 R·cm²", Choice(1, 2, 3, 4))
    calibration_factor: Setting[float] = Setting(
        "KA", "KA{}", "Chamber calibration factor, µGy·m²/s per unit of the chamber's signal as the notes give "
        "it (independent of the display unit)", _Exponential(1e8, 9.999e12, format="{:.4E}"))
    correction_factor: Setting[float] = Setting(
        "KFA", "KFA{}", "Correction factor of the chamber", Number(0, 9.999, format="{:.3f}"))
    baudrate: Setting[int] = Setting(
        "BR", "BR{}", "The meter's baud rate; takes effect after the meter's reply",
        Choice(wire={baud: str(code) for code, baud in enumerate(BAUD_RATES)}))

    def __init__(self, resource: str, **kwargs: Any) -> None:
        super().__init__(resource, **kwargs)
        self.unit_code: int | None = self.option_values["unit"]
        self.kerma_per_exposure: pint.Quantity | None = self.option_values["kerma_per_exposure"]
        self.rate_time_base: str = self.option_values["rate_time_base"]
        self._poll_s = float(self.option_values["poll_interval"].magnitude)
        self._unit_to_select = self.unit_code
        self._baseline: float | None = None

    @classmethod
    def check_options(cls, options: dict[str, Any], owner: str = "instrument") -> dict[str, Any]:
        """The declared options, with `unit` as an int, `kerma_per_exposure` as mGy/R, and R·cm² refused
        without a kerma factor (ConfigError naming the option and fix)."""
        values = super().check_options(options, owner)
        values["unit"] = None if values["unit"] is None else int(values["unit"])
        values["kerma_per_exposure"] = _kerma_per_exposure(options.get("kerma_per_exposure"), owner)
        if values["unit"] == EXPOSURE_AREA and values["kerma_per_exposure"] is None:
            raise ConfigError(f"{owner}: unit 4 (R·cm²) is an exposure-area product; a DAP in Gy·cm² from it "
                              f"needs the air kerma per roentgen of the meter's calibration",
                              fix="add `kerma_per_exposure: 8.76 mGy/R` (the value from the certificate) "
                                  "or use unit 1, 2 or 3")
        return values

    def command(self, line: str) -> str:
        """Send one command and return its reply line, unparsed."""
        return self.transport.query(line)

    def ask_setting(self, setting: Setting[Any], command: str) -> str:
        """Send a setting's letters; the value after the echoed letters (`PRE` -> `PRE0500` -> `0500`)."""
        return reply_value(command, command, self.command(command), self.where)

    def apply_setting(self, setting: Setting[Any], line: str) -> None:
        """Send a setting's line and require its echo; after a baud change, switch this driver's port too."""
        with self.transport.locked():
            parse_echo(line, self.command(line), self.where)
        if setting is type(self).baudrate:
            self._switch_port(setting.validator.decode(line[len("BR"):]))

    def identify(self) -> InstrumentIdentity:
        """Make PTW, model `DIAMENTOR <variant>` and firmware from PTW, serial from SER."""
        with self.transport.locked():
            variant, firmware = parse_identity(self.command("PTW"), self.where)
            serial = parse_serial(self.command("SER"), self.where)
        return InstrumentIdentity(make="PTW", model=f"DIAMENTOR {variant}", serial=serial, firmware=firmware)

    def _shown_unit(self) -> int:
        """The unit code M is read in: the option's unit, selected once, else the one the meter reports."""
        selected = self._unit_to_select
        if selected is None:
            return self.dap_unit
        self.dap_unit, self._unit_to_select = selected, None
        return selected

    def measure(self) -> DapMeasurement:
        """One M reply in the unit the meter shows (R·cm² stays an exposure-area product here)."""
        with self.transport.locked():
            code = self._shown_unit()
            return parse_measurement(self.command("M"), code, self.rate_time_base, self.where)

    def readings(self, measurement: DapMeasurement) -> dict[str, pint.Quantity]:
        """`dap` and `dap_rate`; R·cm² is turned into Gy·cm² with the site's kerma_per_exposure."""
        if measurement.unit_code != EXPOSURE_AREA:
            return {"dap": measurement.dap, "dap_rate": measurement.dap_rate}
        factor = self.kerma_per_exposure
        if factor is None:
            raise InstrumentError(
                f"{self.name} shows R·cm² (U4), an exposure-area product, and the site file gives no air kerma "
                f"per roentgen to turn it into a DAP", instrument=self.name, resource=self.resource,
                fix="add `kerma_per_exposure: 8.76 mGy/R` (from the certificate) to the instrument's options, "
                    "or set the meter to unit 1, 2 or 3 (option `unit`)")
        return {"dap": (measurement.dap * factor).to("Gy*cm**2"),
                "dap_rate": (measurement.dap_rate * factor).to(f"Gy*cm**2/{self.rate_time_base}")}

    def reset(self) -> None:
        """Reset the DAP and irradiation time (RES)."""
        parse_reset(self.command("RES"), self.where)

    def arm(self) -> None:
        """Reset the DAP and time (RES) and note the starting value."""
        self.reset()
        self._baseline = abs(self.measure().dap.magnitude)

    def wait_for_exposure(self, timeout: pint.Quantity) -> None:
        """Poll M until the DAP rose above its value at arm() and then read the same on two polls in a row.

        The meter has no status to say an exposure ended, so a stable, risen DAP is the sign. Without arm()
        (or after a completed wait) the first poll is the starting value. InstrumentTimeout after `timeout`.
        """
        from ...transport import seconds

        limit = seconds(timeout, "timeout")
        baseline, last = self._baseline, None

        def step() -> bool | None:
            nonlocal baseline, last
            size = abs(self.measure().dap.magnitude)
            if baseline is not None and size > baseline and size == last:
                return True
            baseline = size if baseline is None else baseline
            last = size
            return None

        def timed_out() -> InstrumentTimeout:
            return InstrumentTimeout(
                f"{self.name} ({self.resource}) recorded no complete exposure within {limit:g} s",
                instrument=self.name, resource=self.resource,
                fix="check the chamber is in the beam and the exposure was made; give a longer timeout "
                    "for long exposures")

        poll_until(step, timeout_s=limit, interval_s=self._poll_s, timed_out=timed_out)
        self._baseline = None

    def read_exposure(self) -> dict[str, pint.Quantity]:
        """The exposure's `dap` and `dap_rate`."""
        return self.readings(self.measure())

    def read_now(self) -> dict[str, pint.Quantity]:
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

    def _switch_port(self, baud: int) -> None:
        self.settings = self.settings.with_options(baudrate=baud)
        setter = getattr(self.transport, "set_baudrate", None)
        if callable(setter):
            setter(baud)
            return
        self.transport.close()
        self.transport = open_transport(self.resource, self.settings, name=self.name)
