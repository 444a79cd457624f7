"""Keithley 6517B / 6514 drivers: exact SCPI exchanges written from the protocol notes and the reference manuals,
the settings' exchanges generated from their declarations, and parser fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xcal.drivers.instruments.keithley.electrometers import (
    UNIT_SUFFIXES,
    Keithley6514,
    Keithley6517B,
    parse_6514_reading,
    parse_6517b_reading,
    parse_error,
    parse_identity,
)
from xcal.drivers.registry import get_driver_class
from xcal.errors import ConfigError, InstrumentError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.testing import refused_setting_cases, setting_cases
from xcal.units import Q_

from ...protocol import ExpectedProtocol, expected_protocol

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


def k6517b(exchanges, **options):
    return expected_protocol(Keithley6517B, exchanges, resource="GPIB0::27::INSTR", name="em-1",
                             **{**FAST, **options})


def k6514(exchanges, **options):
    return expected_protocol(Keithley6514, exchanges, resource="ASRL/dev/ttyUSB0::INSTR", name="em-2",
                             **{**FAST, **options})


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
    with k6517b([("*IDN?", IDN_6517B)]) as driver:
        identity = driver.identify()
    assert (identity.make, identity.model, identity.serial, identity.firmware) == (
        "KEITHLEY INSTRUMENTS INC.", "MODEL 6517B", "1234567", "A13/700x")


def test_identify_refuses_another_model() -> None:
    with k6517b([("*IDN?", IDN_6514)]) as driver, pytest.raises(ProtocolError, match="MODEL 6514.*not a 6517B"):
        driver.identify()


def test_6517b_arm_wait_and_read_charge_as_bare_numbers() -> None:
    with k6517b([*arm_6517b(), (":READ?", "+2.210000E-11"), (":READ?", "+2.210000E-11"),
                 (":READ?", "+2.210000E-11")]) as driver:
        driver.arm()
        driver.wait_for_exposure(Q_(1, "s"))
        charge = driver.read_exposure()["charge"]
    assert charge.units == Q_(1, "nC").units
    assert charge.magnitude == pytest.approx(0.0221)              # 2.21e-11 C = 0.0221 nC


def test_wait_needs_a_rise_then_two_equal_polls() -> None:
    with k6517b([*arm_6517b(start="+1.000000E-13"),
                 (":READ?", "+1.000000E-13"),                # no rise yet
                 (":READ?", "+5.000000E-10"),                # rising
                 (":READ?", "+1.000000E-09"),                # still rising
                 (":READ?", "+1.000000E-09")]) as driver:    # held still: done
        driver.arm()
        driver.wait_for_exposure(Q_(1, "s"))


def test_wait_times_out_when_nothing_rises() -> None:
    fake = ExpectedProtocol([*arm_6517b(), *[(":READ?", "+0.000000E+00")] * 500])   # how many polls fit varies
    driver = Keithley6517B("GPIB0::27::INSTR", name="em-1", transport=fake, **FAST)
    driver.arm()
    with pytest.raises(InstrumentTimeout, match=r"em-1 \(GPIB0::27::INSTR\) saw no complete exposure"):
        driver.wait_for_exposure(Q_(20, "ms"))


def test_wait_before_arm_is_refused() -> None:
    with k6517b([]) as driver, pytest.raises(InstrumentError, match="not armed"):
        driver.wait_for_exposure(Q_(1, "s"))


def test_6514_arm_with_a_fixed_range_and_read_time_stat_format() -> None:
    with k6514([*checked(":SYST:ZCH ON"), *checked(":SENS:FUNC 'CHAR'"),
                *checked(":FORM:ELEM READ,TIME,STAT"), *checked(":SENS:CHAR:RANG 2e-08"),
                *checked(":SYST:ZCOR ON"), *checked(":SYST:ZCH OFF"), *checked(":INIT"),
                (":FETC?", "+0.000000E+00,+1.000000E+00,+0.000000E+00"),
                (":READ?", "+1.234567E-09,+1.234000E+01,+0.000000E+00")], charge_range="20 nC") as driver:
        driver.arm()
        assert driver.read_exposure()["charge"].to("nC").magnitude == pytest.approx(1.234567)


def test_6514_readings_parse_reading_timestamp_status() -> None:
    reading = parse_6514_reading("+1.234567E-09,+1.234000E+01,+0.000000E+00")
    assert (reading.value, reading.timestamp_s, reading.status) == (1.234567e-09, 12.34, 0.0)


@pytest.mark.parametrize("given_range", ["30 nC", "2 nC", "200 µC"])
def test_6514_refuses_a_charge_range_it_does_not_have(given_range: str) -> None:
    fake = ExpectedProtocol([])                     # a byte sent would fail the test at once
    with pytest.raises(ConfigError, match="6514 has no charge range"):
        Keithley6514("GPIB0::14::INSTR", transport=fake, charge_range=given_range)
    assert fake.closed


def test_6514_current_ranges_are_the_decades_from_20_pa_to_20_ma() -> None:
    with k6514([*checked(":SENS:FUNC 'CURR'"), *checked(":FORM:ELEM READ,TIME,STAT"),
                *checked(":SENS:CURR:RANG:AUTO ON"),
                *checked(":SENS:CURR:RANG 2e-11"), *checked(":SENS:CURR:RANG 0.02")]) as driver:
        driver.set_function("current")
        driver.set_range(Q_(20, "pA"))
        driver.set_range(Q_(20, "mA"))
        for wrong in (Q_(30, "pA"), Q_(200, "mA"), Q_(2, "pA")):
            with pytest.raises(ConfigError, match="no current range"):
                driver.set_range(wrong)
        with pytest.raises(ConfigError, match="must be given in A"):
            driver.set_range(Q_(20, "V"))


@pytest.mark.parametrize(("option", "value"), [("charge_range", "3 µC"), ("current_range", "30 mA")])
def test_6517b_refuses_a_range_beyond_the_manuals_largest_expected_reading(option: str, value: str) -> None:
    """6517B reference manual p. 14-63: expected readings of 0 to 2.1e-6 C and 0 to 21e-3 A."""
    function = option.removesuffix("_range")
    with pytest.raises(ConfigError, match=f"6517B has no {function} range"):
        Keithley6517B.check_options({option: value}, owner="instrument em-1")
    assert Keithley6517B.check_options({option: "auto"})[option] is None
    largest = {"charge_range": "2 µC", "current_range": "20 mA"}[option]
    assert Keithley6517B.check_options({option: largest})[option] == pytest.approx(
        {"charge_range": 2e-6, "current_range": 2e-2}[option])


def test_site_load_checks_the_ranges_a_model_has() -> None:
    """The site file is checked when loaded: a 6514 range it does not have is refused there, not mid-run."""
    with pytest.raises(ConfigError, match="6514 has no charge range"):
        Keithley6514.check_options({"charge_range": "30 nC"}, owner="instrument em-2")
    values = Keithley6514.check_options({"charge_range": "200 nC", "settle_fraction": 0.01})
    assert values["charge_range"] == pytest.approx(2e-7)
    assert values["current_range"] is None
    assert values["settle_fraction"] == 0.01


def test_a_refused_setting_is_the_instruments_error_with_code_and_text() -> None:
    with k6517b([(":SENS:FUNC 'CHAR'", None),
                 (":SYST:ERR?", '-113,"Undefined header"'),
                 (":SYST:ERR?", '-222,"Data out of range"'),   # the rest of the queue is read
                 NO_ERROR]) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.set_function("charge")
    err = caught.value
    assert (err.code, err.meaning, err.command) == ("-113", "Undefined header", ":SENS:FUNC 'CHAR'")
    assert (err.instrument, err.resource) == ("em-1", "GPIB0::27::INSTR")
    assert "error -113 (Undefined header)" in str(err)


def test_a_silent_query_is_explained_by_the_error_queue() -> None:
    with k6517b([*arm_6517b(), (":READ?", None),
                 (":SYST:ERR?", '-230,"Data corrupt or stale"'), NO_ERROR]) as driver:
        driver.arm()
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_exposure()
    assert (caught.value.code, caught.value.meaning, caught.value.command) == (
        "-230", "Data corrupt or stale", ":READ?")


def test_a_silent_query_with_an_empty_queue_stays_a_timeout() -> None:
    with k6517b([("*IDN?", None), NO_ERROR]) as driver, pytest.raises(InstrumentTimeout):
        driver.identify()


def test_6517b_current_in_the_default_record_with_nadc() -> None:
    with k6517b([*checked(":SENS:FUNC 'CURR'"), *checked(":FORM:ELEM READ"),
                 *checked(":SENS:CURR:RANG:AUTO ON"),
                 (":READ?", "+1.234E-12NADC,+0012.3secs,+00001RDNG#")]) as driver:
        driver.set_function("current")
        current = driver.read_now()["current"]
    assert current.to("pA").magnitude == pytest.approx(1.234)


def test_6517b_charge_in_the_default_record_with_ncoul() -> None:
    """N (normal) + COUL (coulombs): 6517A reference manual figure 3-19; 6517B manual p. 14-54 (status N)."""
    reading = parse_6517b_reading("+2.210000E-11NCOUL,+0012.3secs,+00002RDNG#")
    assert (reading.value, reading.suffix, reading.time_s, reading.number) == (2.21e-11, "NCOUL", 12.3, 2)
    with k6517b([*arm_6517b(), (":READ?", "+2.210000E-11NCOUL,+0012.3secs,+00002RDNG#")]) as driver:
        driver.arm()
        assert driver.read_exposure()["charge"].to("pC").magnitude == pytest.approx(22.1)


def test_6517b_default_record_fields_worked_out_by_hand() -> None:
    reading = parse_6517b_reading("+1.234E-12NADC,+0012.3secs,+00001RDNG#")
    assert (reading.value, reading.suffix, reading.time_s, reading.number) == (1.234e-12, "NADC", 12.3, 1)


@pytest.mark.parametrize("suffix", ["NCOU", "NVDC", "XXXX", "NOHM"])
def test_6517b_suffixes_the_driver_does_not_read_are_refused(suffix: str) -> None:
    with pytest.raises(ProtocolError, match=f"unit suffix '{suffix}' is not one the driver reads"):
        parse_6517b_reading(f"+2.210000E-11{suffix},+0012.3secs,+00001RDNG#")


def test_6517b_a_current_suffix_on_a_charge_reading_is_refused() -> None:
    with k6517b([*arm_6517b(), (":READ?", "+1.234E-12NADC,+0012.3secs,+00002RDNG#")]) as driver:
        driver.arm()
        with pytest.raises(ProtocolError, match="a charge reading"):
            driver.read_exposure()


@pytest.mark.parametrize(("reply", "meaning"), [
    ("+9.910000E+37", "zero check is on"),                              # 6517B manual p. 14-53
    ("+9.900000E+37", "overflow"),                                      # both manuals
    ("+9.910000E+37ZCOUL,+0012.3secs,+00002RDNG#", "zero check is on"),
    ("+9.900000E+37OCOUL,+0012.3secs,+00002RDNG#", "overflow"),
])
def test_6517b_overflow_and_zero_check_readings_are_no_charge(reply: str, meaning: str) -> None:
    with k6517b([*arm_6517b(), (":READ?", reply)]) as driver:
        driver.arm()
        with pytest.raises(InstrumentError, match=meaning):
            driver.read_exposure()


def test_6514_overflow_is_no_charge() -> None:
    """6514 instruction manual p. 16-6: an overflow reading is +9.9E37 and sets status bit 0."""
    with k6514([*checked(":SENS:FUNC 'CHAR'"), *checked(":FORM:ELEM READ,TIME,STAT"),
                *checked(":SENS:CHAR:RANG:AUTO ON"),
                (":READ?", "+9.900000E+37,+1.234000E+01,+1.000000E+00")]) as driver:
        driver.set_function("charge")
        with pytest.raises(InstrumentError, match="overflow"):
            driver.read_now()


def test_a_malformed_reading_is_a_protocol_error_naming_command_and_reply() -> None:
    with k6517b([*arm_6517b(), (":READ?", "OVERFLOW")]) as driver:
        driver.arm()
        with pytest.raises(ProtocolError, match=r"em-1 answered 'OVERFLOW' to ':READ\?'"):
            driver.read_exposure()


def test_reset_sends_rst_and_cls_and_forgets_the_function() -> None:
    with k6517b([*checked(":SENS:FUNC 'CHAR'"), *checked(":FORM:ELEM READ"),
                 *checked(":SENS:CHAR:RANG:AUTO ON"), ("*RST", None), ("*CLS", None)]) as driver:
        driver.set_function("charge")
        driver.reset()
        assert driver.function is None


def test_zero_check_and_correct_commands() -> None:
    with k6517b([*checked(":SYST:ZCH ON"), *checked(":SYST:ZCOR OFF")]) as driver:
        driver.zero_check = True
        driver.zero_correct = False


def test_settings_read_back_as_scpi_answers_them() -> None:
    """SCPI booleans answer 1 / 0; the function answers as a quoted string, `"CURR:DC"` or `"CURR"`."""
    with k6517b([(":SYST:ZCH?", "1"), (":SYST:ZCOR?", "0"), (":SENS:FUNC?", '"CURR:DC"'),
                 (":SENS:FUNC?", '"CHAR"'), (":SENS:CHAR:RANG?", "+2.000000E-08"),
                 (":SENS:FUNC?", '"VOLT:DC"')]) as driver:
        assert driver.zero_check is True
        assert driver.zero_correct is False
        assert driver.sense_function == "current"
        assert driver.sense_function == "charge"
        assert driver.charge_range.to("nC").magnitude == pytest.approx(20)
        with pytest.raises(ProtocolError, match=r"answered '\"VOLT:DC\"' to ':SENS:FUNC\?'"):
            _ = driver.sense_function


def instrument_text(name: str, value):
    """What the instrument answers to the setting's query while it holds `value` (SCPI response rules)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if name == "sense_function":
        return {"charge": '"CHAR"', "current": '"CURR:DC"'}[value]
    if name == "reading_format":
        return value
    return f"{value.to_base_units().magnitude:+.6E}"


@pytest.mark.parametrize("cls", [Keithley6517B, Keithley6514])
def test_every_declared_setting_is_sent_checked_and_read_back(cls) -> None:
    cases = setting_cases(cls)
    assert {name for name, _value, _line in cases} == {
        "zero_check", "zero_correct", "sense_function", "reading_format", "charge_range", "current_range",
        "charge_auto_range", "current_auto_range"}
    setting = {name: getattr(cls, name) for name, _value, _line in cases}
    exchanges = []
    for name, value, line in cases:
        exchanges += [(line, None), NO_ERROR, (setting[name].get, instrument_text(name, value))]
    with expected_protocol(cls, exchanges) as driver:
        for name, value, _line in cases:
            setattr(driver, name, value)
            read = getattr(driver, name)
            if hasattr(value, "units"):
                assert read.to(value.units).magnitude == pytest.approx(value.magnitude)
            else:
                assert read == value


@pytest.mark.parametrize(("cls", "name", "value"), [(cls, name, value) for cls in (Keithley6517B, Keithley6514)
                                                    for name, value in refused_setting_cases(cls)])
def test_a_value_a_setting_does_not_take_is_refused_before_any_byte(cls, name, value) -> None:
    with expected_protocol(cls, []) as driver, pytest.raises(InstrumentError, match=name):
        setattr(driver, name, value)


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="poll_interval"):
        Keithley6517B("GPIB0::27::INSTR", transport=ExpectedProtocol([]), poll_interval="5 V")
    for fraction in (2, 1, 0):
        with pytest.raises(ConfigError, match="settle_fraction"):
            Keithley6517B("GPIB0::27::INSTR", transport=ExpectedProtocol([]), settle_fraction=fraction)
    with pytest.raises(ConfigError, match="exposure_threshold"):
        Keithley6517B("GPIB0::27::INSTR", transport=ExpectedProtocol([]), exposure_threshold="0 pC")


def test_the_evidence_shows_every_command_in_a_vendor_manual() -> None:
    for cls in (Keithley6517B, Keithley6514):
        assert cls.evidence.level == "VENDOR-DOCUMENTED"
        assert cls.evidence.unshown() == ()


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
        with contextlib.suppress(ALLOWED):
            parser(reply)


@given(st.binary())
def test_fuzz_parsers_with_bytes_decoded_leniently(raw: bytes) -> None:
    reply = raw.decode("latin-1")
    for parser in (parse_identity, parse_error, parse_6517b_reading, parse_6514_reading):
        with contextlib.suppress(ALLOWED):
            parser(reply)


@given(st.from_regex(r"\A[+-]?\d{1,3}(\.\d{0,6})?([eE][+-]?\d{1,3})?[A-Z]{0,5}(,\d+\.?\d*secs,\d+RDNG#)?\Z"))
def test_fuzz_near_valid_6517b_records(reply: str) -> None:
    try:
        reading = parse_6517b_reading(reply)
    except ALLOWED:
        return
    assert reading.suffix is None or (reading.suffix[0] in "NZOURL" and reading.suffix[1:] in UNIT_SUFFIXES)
