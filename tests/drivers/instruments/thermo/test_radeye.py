"""Thermo RadEye driver: wake-and-command exchanges and cyclic records, with numbers from the sources' own examples.

radeye-b20's README: the record `351 5  0 0 04 FH41B2  0 42` is 3.51 cps and `2290` in cpm mode is 229.0 cpm.
lyra-radeye's README: a value of 584000 is 5.84 mSv/h in Sv/h mode and 584 mR/h in R/h mode. The G20 class:
the dose rate is 10 × the first field in nSv/h.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xcal.drivers.instruments.thermo.radeye import (
    ThermoRadEye,
    parse_clock,
    parse_count_rates,
    parse_day,
    parse_record,
    parse_reply,
    parse_serial,
    parse_type,
    parse_wake,
)
from xcal.drivers.registry import get_driver_class
from xcal.errors import ConfigError, InstrumentError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.units import Q_

from ...protocol import ExpectedProtocol, expected_protocol

WAKE = (b"@", b">")
B20_RECORD = "351 5  0 0 04 FH41B2  0 42"


def cmd(command: str, reply: str | bytes) -> list[tuple[bytes, bytes]]:
    """Wake the unit, then `>` + command + LF and the unit's reply bytes."""
    raw = reply if isinstance(reply, bytes) else reply.encode()
    return [WAKE, (b">" + command.encode() + b"\n", raw)]


def record(fields: str) -> list[tuple[None, bytes]]:
    """A cyclic record the unit sends on its own: STX, the fields, ETX, CR LF."""
    return [(None, b"\x02" + fields.encode() + b"\x03\r\n")]


STREAM_ON = cmd("X1", ">#\r\n")


def radeye(*exchanges, **options) -> Any:
    """The driver on a fake link allowing exactly the exchanges of the groups given, in order."""
    return expected_protocol(ThermoRadEye, [e for group in exchanges for e in group], resource="/dev/ttyUSB1",
                             name="survey-1", **options)


def test_class_attributes_line_settings_and_evidence() -> None:
    cls = ThermoRadEye
    assert get_driver_class("thermo-radeye") is cls
    assert (cls.capabilities, cls.protocol_status, cls.transports) == (("SurveyMeter",), "PARTIAL", ("serial",))
    assert (cls.link.baudrate, cls.link.bytesize, cls.link.parity, cls.link.stopbits) == (9600, 7, "E", 2)
    assert cls.evidence.level == "HARDWARE-TESTED"
    assert any("7E1" in d for d in cls.evidence.disagreements)
    with radeye(stopbits=1) as driver:                               # a site may follow radeye-b20's 7E1
        assert driver.settings.stopbits == 1


def test_identify_wakes_the_unit_for_type_and_serial() -> None:
    with radeye(cmd("Vx", ">FH41B2#\r\n"), cmd("#R", ">123456#\r\n")) as driver:
        identity = driver.identify()
        assert (identity.make, identity.model, identity.serial) == ("Thermo", "RadEye (type FH41B2)", "123456")
        assert identity.firmware.startswith("unknown")


def test_a_two_word_type_reply_gives_its_second_word() -> None:
    with radeye(cmd("Vx", ">2.10 SX#\r\n")) as driver:
        assert driver.device_type() == "SX"                              # lyra-radeye takes tokens[1]


def test_read_now_decodes_the_b20_record_as_3_51_cps() -> None:
    with radeye(STREAM_ON, record(B20_RECORD)) as driver:
        assert driver.read_now() == {"count_rate": Q_(3.51, "cps")}
        assert driver.last_record.detector == "FH41B2" and driver.last_record.status == ("ALARM",)


def test_cpm_digits_are_tenths_as_radeye_b20_checked_on_the_display() -> None:
    with radeye(STREAM_ON, record("2290 3  0 0 00 FH41B2  0 17")) as driver:
        assert driver.read_now()["count_rate"].to("cpm").magnitude == pytest.approx(229.0)


@pytest.mark.parametrize("fields, name, expected", [
    ("584000 0  0 0 00 FH41B2  0 10", "dose_rate", Q_(5.84, "mSv/h")),    # lyra: 5.84 mSv/h
    ("584000 2  0 0 00 FH41B2  0 10", "exposure_rate", Q_(584, "mR/h")),  # lyra: 584 mR/h
    ("42 0  0 0 00 FH41B2  0 10", "dose_rate", Q_(420, "nSv/h")),         # G20 class: 10 × 42 nSv/h
    ("584000 10  0 0 00 FH41B2  0 10", "dose_rate", Q_(584, "mrem/h")),
])
def test_dose_and_exposure_rates_scaled_by_unit_code(fields: str, name: str, expected) -> None:
    with radeye(STREAM_ON, record(fields)) as driver:
        reading = driver.read_now()
        assert set(reading) == {name}
        assert reading[name].to(expected.units).magnitude == pytest.approx(expected.magnitude)


def test_a_count_rate_becomes_a_dose_rate_only_through_the_site_calibration() -> None:
    with radeye(STREAM_ON, record("153800 5  0 0 00 FH41B2  0 01"), sensitivity="1538 cps/(µSv/h)") as driver:
        reading = driver.read_now()
        assert reading["count_rate"] == Q_(1538, "cps")
        assert reading["dose_rate"].to("µSv/h").magnitude == pytest.approx(1.0)     # 1538 cps / 1538 cps per µSv/h
    with radeye(STREAM_ON, record("10000 3  0 0 00 FH41B2  0 01"), calibration_factor="0.0065 µSv/h/cpm") as driver:
        assert driver.read_now()["dose_rate"].to("µSv/h").magnitude == pytest.approx(6.5)   # 1000 cpm × 0.0065


def test_later_reads_drop_queued_records_and_do_not_repeat_x1() -> None:
    with radeye(STREAM_ON, record(B20_RECORD), record("400 5  0 0 00 FH41B2  0 43")) as driver:
        assert driver.read_now()["count_rate"] == Q_(3.51, "cps")
        assert driver.read_now()["count_rate"] == Q_(4.0, "cps")


def test_the_tail_of_a_record_before_the_first_whole_one_is_passed_over() -> None:
    with radeye(STREAM_ON, [(None, b"FH41B2  0 41\x03\r\n")], record(B20_RECORD)) as driver:
        assert driver.read_now()["count_rate"] == Q_(3.51, "cps")


def test_commands_pass_over_records_that_stream_in_between() -> None:
    with radeye(STREAM_ON, record(B20_RECORD),
                [(b"@", b"\x02351 5  0 0 04 FH41B2  0 44\x03\r\n>")],
                [(b">#R\n", b"\x02352 5  0 0 04 FH41B2  0 45\x03\r\n>123456#\r\n")]) as driver:
        driver.read_now()
        assert parse_serial(driver.command("#R")) == "123456"


def test_a_unit_left_streaming_is_noticed_at_the_wake() -> None:
    with radeye([(b"@", b"\x02351 5  0 0 04 FH41B2  0 42\x03\r\n>")], [(b">Vx\n", b">FH41B2#\r\n")],
                record(B20_RECORD)) as driver:
        assert driver.device_type() == "FH41B2"
        assert driver.read_now()["count_rate"] == Q_(3.51, "cps")          # no X1: the records already come


def test_overload_is_the_instruments_error_and_alarm_is_kept() -> None:
    with radeye(STREAM_ON, record("999999 0  0 0 02 FH41B2  0 10")) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_now()
        assert (caught.value.code, caught.value.command) == ("OVERLOAD", "(cyclic record)")


def test_a_unit_code_no_source_scales_is_refused() -> None:
    with radeye(STREAM_ON, record("1234 6  0 0 00 FH41B2  0 10")) as driver:          # 6: Bq
        with pytest.raises(InstrumentError, match="unit code 6"):
            driver.read_now()


def test_a_unit_switching_off_is_reported() -> None:
    with radeye(STREAM_ON, [(None, b"@CIAO\r\n")]) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_now()
        assert caught.value.code == "@CIAO"


def test_clock_calibration_date_raw_rates_and_cyclic_sending_off() -> None:
    with radeye(cmd("ZR", ">240315101502\r#\n"), cmd("WR", ">230115#\r\n"),
                cmd("Z", ">512  3#\r\n"), cmd("X0", ">#\r\n")) as driver:
        assert driver.clock() == datetime(2024, 3, 15, 10, 15, 2)
        assert driver.calibration_date() == date(2023, 1, 15)
        assert driver.raw_count_rates() == (512, 3)
        driver.auto_send(False)


@pytest.mark.parametrize("options, problem", [
    ({"sensitivity": "5 mSv"}, "does not turn a count rate"),
    ({"sensitivity": "1 cps/(µSv/h)", "calibration_factor": "1 µSv/h/cps"}, "one way to the dose rate"),
    ({"calibration_factor": "-1 µSv/h/cps"}, "more than zero"),
])
def test_option_problems_are_config_errors(options: dict, problem: str) -> None:
    fake = ExpectedProtocol([])
    with pytest.raises(ConfigError, match=problem):
        ThermoRadEye("/dev/ttyUSB1", transport=fake, **options)
    assert fake.closed


def test_a_wrong_wake_answer_is_a_protocol_error() -> None:
    with radeye([(b"@", b"?")]) as driver:
        with pytest.raises(ProtocolError, match=r"survey-1 answered b'\?' to '@'"):
            driver.identify()


def test_no_answer_to_the_wake_byte_is_a_timeout() -> None:
    with radeye([(b"@", None)]) as driver:
        with pytest.raises(InstrumentTimeout):
            driver.read_now()


@pytest.mark.parametrize("raw", [b"\x02351\x03\r\n", b"\x02x51 5  0 0 04 FH41B2  0 42\x03\r\n",
                                 b"\x02351 5  0 0 04 FH41B2  0 42\r\n", b"\x02 1 2 3 4 PRDER 7\x03\r\n",
                                 b"\x02351 5 \xb0 0 04 FH41B2  0 42\x03\r\n"])
def test_malformed_records_are_protocol_errors(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_record(raw)


def test_reply_framing_and_value_parsers() -> None:
    assert parse_reply("Vx", b">FH41B2#\r\n") == "FH41B2"
    assert parse_reply("ZR", b">240315101502\r#\n") == "240315101502"
    assert parse_count_rates("512 3 0") == (512, 3, 0)
    assert parse_type("FH41B2") == "FH41B2"
    for bad in ("240230101502", "2403151015", "24031510150x"):
        with pytest.raises(ProtocolError):
            parse_clock(bad)
    for bad in ("231315", "2301", "23011x"):
        with pytest.raises(ProtocolError):
            parse_day(bad)
    with pytest.raises(ProtocolError):
        parse_reply("Z", b">512 3#")                                      # no LF
    with pytest.raises(ProtocolError):
        parse_reply("Z", b">51#2#\n")
    with pytest.raises(ProtocolError):
        parse_serial("")


ALLOWED = (ProtocolError, InstrumentReportedError, InstrumentError)


@given(st.binary())
def test_fuzz_reply_framing_wake_and_records(raw: bytes) -> None:
    for parser in (lambda r: parse_reply("Z", r), parse_wake, parse_record):
        with contextlib.suppress(ALLOWED):
            parser(raw)


@given(st.text())
def test_fuzz_value_parsers(value: str) -> None:
    for parser in (parse_type, parse_serial, parse_clock, parse_day, parse_count_rates):
        with contextlib.suppress(ALLOWED):
            parser(value)
