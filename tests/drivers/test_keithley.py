"""Keithley 6517B / 6514 drivers: exact SCPI exchanges written from the protocol notes, and parser fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xcal.drivers.keithley import (Keithley6514, Keithley6517B, parse_6514_reading, parse_6517b_reading,
                                   parse_error, parse_identity)
from xcal.drivers.registry import get_driver_class
from xcal.errors import ConfigError, InstrumentError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.units import Q_

from .protocol import ExpectedProtocol

NO_ERROR = (":SYST:ERR?", '0,"No error"')
IDN_6517B = "KEITHLEY INSTRUMENTS INC.,MODEL 6517B,1234567,A13/700x"
IDN_6514 = "KEITHLEY INSTRUMENTS INC.,MODEL 6514,7654321,A04"
FAST = {"poll_interval": "1 ms"}


def checked(command: str) -> list[tuple[str, str | None]]:
    """A setting command followed by the error-queue check that finds no error."""
    return [(command, None), NO_ERROR]


def arm_6517b(range_command: str = ":SENS:CHAR:RANG:AUTO ON", start: str = "+0.000000E+00"):
    return [*checked(":SYST:ZCH ON"), *checked(":SENS:FUNC 'CHAR'"), *checked(":FORM:ELEM READ"),
            *checked(range_command), *checked(":SYST:ZCOR ON"), *checked(":SYST:ZCH OFF"), *checked(":INIT"),
            (":FETC?", start)]


def k6517b(exchanges, **options) -> tuple[Keithley6517B, ExpectedProtocol]:
    fake = ExpectedProtocol(exchanges)
    return Keithley6517B("GPIB0::27::INSTR", name="em-1", transport=fake, **{**FAST, **options}), fake


def k6514(exchanges, **options) -> tuple[Keithley6514, ExpectedProtocol]:
    fake = ExpectedProtocol(exchanges)
    return Keithley6514("ASRL/dev/ttyUSB0::INSTR", name="em-2", transport=fake, **{**FAST, **options}), fake


def test_class_attributes_and_registry() -> None:
    for name, cls in (("keithley-6517b", Keithley6517B), ("keithley-6514", Keithley6514)):
        assert get_driver_class(name) is cls
        assert cls.driver_name == name
        assert cls.capabilities == ("Electrometer",)
        assert cls.protocol_status == "PUBLIC"
        assert cls.transports == ("serial", "gpib")
        assert (cls.link.read_termination, cls.link.write_termination) == ("\r\n", "\r\n")
        assert cls.link.baudrate == 9600
        assert cls.simulator == "xcal.simulators.keithley:KeithleySimulator"


def test_identify_reads_the_four_idn_fields() -> None:
    driver, fake = k6517b([("*IDN?", IDN_6517B)])
    identity = driver.identify()
    assert (identity.make, identity.model, identity.serial, identity.firmware) == (
        "KEITHLEY INSTRUMENTS INC.", "MODEL 6517B", "1234567", "A13/700x")
    fake.assert_done()


def test_identify_refuses_another_model() -> None:
    driver, fake = k6517b([("*IDN?", IDN_6514)])
    with pytest.raises(ProtocolError, match="MODEL 6514.*not a 6517B"):
        driver.identify()
    fake.assert_done()


def test_6517b_arm_wait_and_read_charge_as_bare_numbers() -> None:
    driver, fake = k6517b([*arm_6517b(),
                           (":READ?", "+2.210000E-11"), (":READ?", "+2.210000E-11"),
                           (":READ?", "+2.210000E-11")])
    driver.arm()
    driver.wait_for_exposure(Q_(1, "s"))
    charge = driver.read_exposure()["charge"]
    assert charge.units == Q_(1, "nC").units
    assert charge.magnitude == pytest.approx(0.0221)              # 2.21e-11 C = 0.0221 nC
    fake.assert_done()


def test_wait_needs_a_rise_then_two_equal_polls() -> None:
    driver, fake = k6517b([*arm_6517b(start="+1.000000E-13"),
                           (":READ?", "+1.000000E-13"),                # no rise yet
                           (":READ?", "+5.000000E-10"),                # rising
                           (":READ?", "+1.000000E-09"),                # still rising
                           (":READ?", "+1.000000E-09")])               # held still: done
    driver.arm()
    driver.wait_for_exposure(Q_(1, "s"))
    fake.assert_done()


def test_wait_times_out_when_nothing_rises() -> None:
    driver, _fake = k6517b([*arm_6517b(), *[(":READ?", "+0.000000E+00")] * 500])
    driver.arm()
    with pytest.raises(InstrumentTimeout, match=r"em-1 \(GPIB0::27::INSTR\) saw no complete exposure"):
        driver.wait_for_exposure(Q_(20, "ms"))


def test_wait_before_arm_is_refused() -> None:
    driver, fake = k6517b([])
    with pytest.raises(InstrumentError, match="not armed"):
        driver.wait_for_exposure(Q_(1, "s"))
    fake.assert_done()


def test_6514_arm_with_a_fixed_range_and_read_time_stat_format() -> None:
    driver, fake = k6514([*checked(":SYST:ZCH ON"), *checked(":SENS:FUNC 'CHAR'"),
                          *checked(":FORM:ELEM READ,TIME,STAT"), *checked(":SENS:CHAR:RANG 2e-08"),
                          *checked(":SYST:ZCOR ON"), *checked(":SYST:ZCH OFF"), *checked(":INIT"),
                          (":FETC?", "+0.000000E+00,+1.000000E+00,+0.000000E+00"),
                          (":READ?", "+1.234567E-09,+1.234000E+01,+0.000000E+00")],
                         charge_range="20 nC")
    driver.arm()
    assert driver.read_exposure()["charge"].to("nC").magnitude == pytest.approx(1.234567)
    fake.assert_done()


def test_6514_readings_parse_reading_timestamp_status() -> None:
    reading = parse_6514_reading("+1.234567E-09,+1.234000E+01,+0.000000E+00")
    assert (reading.value, reading.timestamp_s, reading.status) == (1.234567e-09, 12.34, 0.0)


@pytest.mark.parametrize("given_range", ["30 nC", "2 nC", "200 µC"])
def test_6514_refuses_a_charge_range_it_does_not_have(given_range: str) -> None:
    fake = ExpectedProtocol([])
    with pytest.raises(ConfigError, match="6514 has no charge range"):
        Keithley6514("GPIB0::14::INSTR", transport=fake, charge_range=given_range)
    assert fake.closed


def test_6514_current_ranges_are_the_decades_from_20_pa_to_20_ma() -> None:
    driver, fake = k6514([*checked(":SENS:FUNC 'CURR'"), *checked(":FORM:ELEM READ,TIME,STAT"),
                          *checked(":SENS:CURR:RANG:AUTO ON"),
                          *checked(":SENS:CURR:RANG 2e-11"), *checked(":SENS:CURR:RANG 0.02")])
    driver.set_function("current")
    driver.set_range(Q_(20, "pA"))
    driver.set_range(Q_(20, "mA"))
    for wrong in (Q_(30, "pA"), Q_(200, "mA"), Q_(2, "pA")):
        with pytest.raises(ConfigError, match="no current range"):
            driver.set_range(wrong)
    with pytest.raises(ConfigError, match="must be given in A"):
        driver.set_range(Q_(20, "V"))
    fake.assert_done()


def test_a_refused_setting_is_the_instruments_error_with_code_and_text() -> None:
    driver, fake = k6517b([(":SENS:FUNC 'CHAR'", None),
                           (":SYST:ERR?", '-113,"Undefined header"'),
                           (":SYST:ERR?", '-222,"Data out of range"'),   # the rest of the queue is read
                           NO_ERROR])
    with pytest.raises(InstrumentReportedError) as caught:
        driver.set_function("charge")
    err = caught.value
    assert (err.code, err.meaning, err.command) == ("-113", "Undefined header", ":SENS:FUNC 'CHAR'")
    assert (err.instrument, err.resource) == ("em-1", "GPIB0::27::INSTR")
    assert "error -113 (Undefined header)" in str(err)
    fake.assert_done()


def test_a_silent_query_is_explained_by_the_error_queue() -> None:
    driver, fake = k6517b([*arm_6517b(), (":READ?", None),
                           (":SYST:ERR?", '-230,"Data corrupt or stale"'), NO_ERROR])
    driver.arm()
    with pytest.raises(InstrumentReportedError) as caught:
        driver.read_exposure()
    assert (caught.value.code, caught.value.meaning, caught.value.command) == (
        "-230", "Data corrupt or stale", ":READ?")
    fake.assert_done()


def test_a_silent_query_with_an_empty_queue_stays_a_timeout() -> None:
    driver, fake = k6517b([("*IDN?", None), NO_ERROR])
    with pytest.raises(InstrumentTimeout):
        driver.identify()
    fake.assert_done()


def test_6517b_current_in_the_default_record_with_nadc() -> None:
    driver, fake = k6517b([*checked(":SENS:FUNC 'CURR'"), *checked(":FORM:ELEM READ"),
                           *checked(":SENS:CURR:RANG:AUTO ON"),
                           (":READ?", "+1.234E-12NADC,+0012.3secs,+00001RDNG#")])
    driver.set_function("current")
    current = driver.read_now()["current"]
    assert current.to("pA").magnitude == pytest.approx(1.234)
    fake.assert_done()


def test_6517b_default_record_fields_worked_out_by_hand() -> None:
    reading = parse_6517b_reading("+1.234E-12NADC,+0012.3secs,+00001RDNG#")
    assert (reading.value, reading.suffix, reading.time_s, reading.number) == (1.234e-12, "NADC", 12.3, 1)


@pytest.mark.parametrize("suffix", ["NCOU", "NCOUL", "NVDC", "XXXX"])
def test_6517b_unconfirmed_suffixes_are_refused_as_unconfirmed(suffix: str) -> None:
    with pytest.raises(ProtocolError, match=f"unit suffix '{suffix}' is unconfirmed"):
        parse_6517b_reading(f"+2.210000E-11{suffix},+0012.3secs,+00001RDNG#")


def test_6517b_a_current_suffix_on_a_charge_reading_is_refused() -> None:
    driver, fake = k6517b([*arm_6517b(), (":READ?", "+1.234E-12NADC,+0012.3secs,+00002RDNG#")])
    driver.arm()
    with pytest.raises(ProtocolError, match="a charge reading"):
        driver.read_exposure()
    fake.assert_done()


def test_a_malformed_reading_is_a_protocol_error_naming_command_and_reply() -> None:
    driver, fake = k6517b([*arm_6517b(), (":READ?", "OVERFLOW")])
    driver.arm()
    with pytest.raises(ProtocolError, match=r"em-1 answered 'OVERFLOW' to ':READ\?'"):
        driver.read_exposure()
    fake.assert_done()


def test_reset_sends_rst_and_cls_and_forgets_the_function() -> None:
    driver, fake = k6517b([*checked(":SENS:FUNC 'CHAR'"), *checked(":FORM:ELEM READ"),
                           *checked(":SENS:CHAR:RANG:AUTO ON"), ("*RST", None), ("*CLS", None)])
    driver.set_function("charge")
    driver.reset()
    assert driver.function is None
    fake.assert_done()


def test_zero_check_and_correct_commands() -> None:
    driver, fake = k6517b([*checked(":SYST:ZCH ON"), *checked(":SYST:ZCOR OFF")])
    driver.zero_check(True)
    driver.zero_correct(False)
    fake.assert_done()


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="poll_interval"):
        Keithley6517B("GPIB0::27::INSTR", transport=ExpectedProtocol([]), poll_interval="5 V")
    with pytest.raises(ConfigError, match="settle_fraction"):
        Keithley6517B("GPIB0::27::INSTR", transport=ExpectedProtocol([]), settle_fraction=2)


def test_error_queue_and_identity_parsers() -> None:
    assert parse_error('0,"No error"') == (0, "No error")
    assert parse_error('-113,"Undefined header"') == (-113, "Undefined header")
    assert parse_identity(IDN_6514).serial == "7654321"
    with pytest.raises(ProtocolError):
        parse_error("No error")
    with pytest.raises(ProtocolError):
        parse_identity("KEITHLEY,6514")


ALLOWED = (ProtocolError, InstrumentReportedError)


@given(st.text())
def test_fuzz_parsers_raise_only_protocol_errors(reply: str) -> None:
    for parser in (parse_identity, parse_error, parse_6517b_reading, parse_6514_reading):
        try:
            parser(reply)
        except ALLOWED:
            pass


@given(st.binary())
def test_fuzz_parsers_with_bytes_decoded_leniently(raw: bytes) -> None:
    reply = raw.decode("latin-1")
    for parser in (parse_identity, parse_error, parse_6517b_reading, parse_6514_reading):
        try:
            parser(reply)
        except ALLOWED:
            pass


@given(st.from_regex(r"\A[+-]?\d{1,3}(\.\d{0,6})?([eE][+-]?\d{1,3})?[A-Z]{0,5}(,\d+\.?\d*secs,\d+RDNG#)?\Z"))
def test_fuzz_near_valid_6517b_records(reply: str) -> None:
    try:
        reading = parse_6517b_reading(reply)
    except ALLOWED:
        return
    assert reading.suffix in (None, "NADC")
