"""Thermo RadEye driver: exact wake-and-command exchanges from the protocol notes, options, and fuzzing."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xcal.drivers.registry import get_driver_class
from xcal.drivers.thermo_radeye import (ThermoRadEye, parse_clock, parse_count_rates, parse_reply, parse_serial,
                                        parse_type, parse_wake)
from xcal.errors import ConfigError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.units import Q_

from .protocol import ExpectedProtocol

WAKE = (b"@", b">")


def cmd(command: str, reply: str | bytes) -> list[tuple[bytes, bytes]]:
    """Wake the unit, then `>` + command + LF and the unit's reply bytes."""
    raw = reply if isinstance(reply, bytes) else reply.encode()
    return [WAKE, (b">" + command.encode() + b"\n", raw)]


def radeye(*exchanges, **options) -> tuple[ThermoRadEye, ExpectedProtocol]:
    fake = ExpectedProtocol([e for group in exchanges for e in group])
    return ThermoRadEye("/dev/ttyUSB1", name="survey-1", transport=fake, **options), fake


def test_class_attributes_and_line_settings() -> None:
    cls = ThermoRadEye
    assert get_driver_class("thermo-radeye") is cls
    assert (cls.capabilities, cls.protocol_status, cls.transports) == (("SurveyMeter",), "PARTIAL", ("serial",))
    assert (cls.link.baudrate, cls.link.bytesize, cls.link.parity, cls.link.stopbits) == (9600, 7, "E", 2)
    assert cls.simulator == "xcal.simulators.thermo_radeye:RadEyeSimulator"


def test_identify_wakes_the_unit_for_type_and_serial() -> None:
    driver, fake = radeye(cmd("Vx", ">FH41B2#\n"), cmd("#R", ">123456#\n"), count_rate_unit="cps")
    identity = driver.identify()
    assert (identity.make, identity.model, identity.serial) == ("Thermo", "RadEye (type FH41B2)", "123456")
    assert identity.firmware.startswith("unknown")
    fake.assert_done()


def test_count_rate_only_without_a_site_calibration() -> None:
    driver, fake = radeye(cmd("Z", ">512 3#\n"), count_rate_unit="cps")
    assert driver.read_now() == {"count_rate": Q_(512, "cps")}
    fake.assert_done()


def test_dose_rate_through_the_site_sensitivity() -> None:
    driver, fake = radeye(cmd("Z", ">1538 12#\n"), count_rate_unit="cpm", sensitivity="153.8 cpm/(µSv/h)")
    readings = driver.read_now()
    assert readings["count_rate"] == Q_(1538, "cpm")
    assert readings["dose_rate"].to("µSv/h").magnitude == pytest.approx(10.0)   # 1538 / 153.8
    fake.assert_done()


def test_dose_rate_through_a_calibration_factor() -> None:
    driver, fake = radeye(cmd("Z", ">1000#\n"), count_rate_unit="cpm", calibration_factor="0.0065 µSv/h/cpm")
    assert driver.read_now()["dose_rate"].to("µSv/h").magnitude == pytest.approx(6.5)
    fake.assert_done()


def test_unconfirmed_g20_dose_rate_only_when_asked_and_only_for_fh41b2() -> None:
    driver, fake = radeye(cmd("Vx", ">FH41B2#\n"), cmd("Z", ">42 7#\n"), cmd("Z", ">43 7#\n"),
                          unconfirmed_dose_rate=True)
    assert driver.read_now() == {"dose_rate": Q_(0.42, "µSv/h")}          # 10 × 42 nSv/h
    assert driver.read_now()["dose_rate"].to("nSv/h").magnitude == pytest.approx(430)
    fake.assert_done()


def test_unconfirmed_dose_rate_is_refused_for_another_type() -> None:
    driver, fake = radeye(cmd("Vx", ">PRD2#\n"), unconfirmed_dose_rate=True)
    with pytest.raises(ConfigError, match="only to a unit of type FH41B2"):
        driver.read_now()
    fake.assert_done()


@pytest.mark.parametrize("options, problem", [
    ({}, "count-rate unit is not in its protocol notes"),
    ({"count_rate_unit": "Hz"}, "must be cps or cpm"),
    ({"count_rate_unit": "cps", "sensitivity": "5 mSv"}, "does not turn a count rate"),
    ({"count_rate_unit": "cps", "sensitivity": "1 cps/(µSv/h)", "calibration_factor": "1 µSv/h/cps"},
     "one way to the dose rate"),
    ({"unconfirmed_dose_rate": True, "sensitivity": "1 cps/(µSv/h)"}, "one way to the dose rate"),
    ({"unconfirmed_dose_rate": "yes"}, "true or false"),
])
def test_option_problems_are_config_errors(options: dict, problem: str) -> None:
    fake = ExpectedProtocol([])
    with pytest.raises(ConfigError, match=problem):
        ThermoRadEye("/dev/ttyUSB1", transport=fake, **options)
    assert fake.closed


def test_clock_calibration_date_and_auto_send() -> None:
    driver, fake = radeye(cmd("ZR", ">240315101502#\n"), cmd("WR", ">230115#\n"), cmd("X0", ">#\n"),
                          cmd("X1", ">#\n"), count_rate_unit="cps")
    assert driver.clock() == datetime(2024, 3, 15, 10, 15, 2)
    assert driver.calibration_date() == "230115"
    driver.auto_send(False)
    driver.auto_send(True)
    fake.assert_done()


def test_a_wrong_wake_answer_is_a_protocol_error() -> None:
    driver, fake = radeye([(b"@", b"?")], count_rate_unit="cps")
    with pytest.raises(ProtocolError, match=r"survey-1 answered b'\?' to '@'"):
        driver.read_now()
    fake.assert_done()


def test_no_answer_to_the_wake_byte_is_a_timeout() -> None:
    driver, fake = radeye([(b"@", None)], count_rate_unit="cps")
    with pytest.raises(InstrumentTimeout):
        driver.read_now()
    fake.assert_done()


@pytest.mark.parametrize("reply", [b">12,5#\n", b">12#34#\n", b">-5#\n", b">#\n", b">12 \xb05#\n"])
def test_malformed_count_rate_replies_are_protocol_errors(reply: bytes) -> None:
    driver, fake = radeye(cmd("Z", reply), count_rate_unit="cps")
    with pytest.raises(ProtocolError, match=r"survey-1 answered .* to 'Z'"):
        driver.read_now()
    fake.assert_done()


def test_reply_framing_and_value_parsers() -> None:
    assert parse_reply("Vx", b">FH41B2#\r\n") == "FH41B2"
    assert parse_count_rates("512 3 0") == (512, 3, 0)
    assert parse_type("FH41B2") == "FH41B2"
    for bad in ("240230101502", "2403151015", "24031510150x"):
        with pytest.raises(ProtocolError):
            parse_clock(bad)
    with pytest.raises(ProtocolError):
        parse_reply("Z", b">512 3#")                                      # no LF
    with pytest.raises(ProtocolError):
        parse_serial("")


ALLOWED = (ProtocolError, InstrumentReportedError)


@given(st.binary())
def test_fuzz_reply_framing_and_wake(raw: bytes) -> None:
    for parser in (lambda r: parse_reply("Z", r), parse_wake):
        try:
            parser(raw)
        except ALLOWED:
            pass


@given(st.text())
def test_fuzz_value_parsers(value: str) -> None:
    for parser in (parse_type, parse_serial, parse_clock, parse_count_rates):
        try:
            parser(value)
        except ALLOWED:
            pass
