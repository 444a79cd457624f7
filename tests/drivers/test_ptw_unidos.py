"""The PTW UNIDOS driver against exact exchanges written by hand from the protocol notes."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcal.drivers import ptw_unidos
from xcal.drivers.capabilities import Dosimeter, Electrometer, InstrumentIdentity
from xcal.drivers.ptw_unidos import PtwUnidos
from xcal.errors import ConfigError, InstrumentError, InstrumentReportedError, ProtocolError
from xcal.units import Q_

from .protocol import ExpectedProtocol

TOKEN = [("TOK;1", "TOK;1;true")]
RELEASE = [("TOK;0", "TOK;0;true")]
NOTES_MV = "MV;RES;2.6;E-3;m;Gy;5.6;E-09;n;Gy;min;3000.0;ms;300.0;V;0x0"


def mv(status: str = "MEAS", value: str = "0.0;E0;m;Gy", rate: str = "0.0;E+00;m;Gy;min",
       flags: str = "0x0") -> str:
    return f"MV;{status};{value};{rate};1500.0;ms;300.0;V;{flags}"


def driver_for(exchanges: list, **options) -> tuple[PtwUnidos, ExpectedProtocol]:
    fake = ExpectedProtocol(exchanges, encoding="utf-8")
    driver = PtwUnidos("TCPIP::192.0.2.7::8123::SOCKET", name="unidos-1", transport=fake,
                       poll_interval=Q_(1, "ms"), **options)
    return driver, fake


def test_class_attributes_and_link_defaults() -> None:
    assert PtwUnidos.driver_name == "ptw-unidos"
    assert PtwUnidos.capabilities == ("Electrometer", "Dosimeter")
    assert PtwUnidos.protocol_status == "PUBLIC"
    assert PtwUnidos.transports == ("tcp", "serial")
    link = PtwUnidos.link
    assert (link.read_termination, link.write_termination, link.encoding) == ("\r\n", "\r\n", "utf-8")
    driver, _ = driver_for([])
    assert isinstance(driver, Electrometer) and isinstance(driver, Dosimeter)


def test_identify() -> None:
    driver, fake = driver_for([("PTW", "PTW;UNIDOS Tango;TM10052;1.2.4;A16"), ("SER", "SER;123456")])
    assert driver.identify() == InstrumentIdentity("PTW", "UNIDOS Tango", "123456", "1.2.4")
    fake.assert_done()


def test_the_notes_mv_example_is_2_6e_3_mgy() -> None:
    measurement = ptw_unidos.parse_mv(NOTES_MV)
    assert measurement.status == "RES" and measurement.unit == "Gy"
    assert measurement.value.magnitude == pytest.approx(2.6e-3) and f"{measurement.value.units:~}" == "mGy"
    assert measurement.value.to("µGy").magnitude == pytest.approx(2.6)
    assert measurement.rate.to("nGy/min").magnitude == pytest.approx(5.6e-9)
    assert measurement.measuring_time == Q_(3000.0, "ms") and measurement.high_voltage == Q_(300.0, "V")
    assert measurement.flags == 0 and measurement.problems() == () and measurement.warnings() == ()


def test_arm_wait_and_read_an_exposure_in_gy() -> None:
    driver, fake = driver_for([
        *TOKEN, ("RES", "RES"), ("STA", "STA"), *RELEASE,
        ("MV", mv()),                                   # the value at arm(): 0
        ("MV", mv(value="4.1;E-1;m;Gy")),               # rising
        ("MV", mv(value="8.123;E-1;m;Gy")),             # rose further
        ("MV", mv(value="8.123;E-1;m;Gy")),             # the same twice: complete
        ("MV", mv(value="8.123;E-1;m;Gy", rate="4.8738;E+02;m;Gy;min")),
    ])
    driver.arm()
    driver.wait_for_exposure(Q_(5, "s"))
    reading = driver.read_exposure()
    assert set(reading) == {"air_kerma", "air_kerma_rate"}
    assert reading["air_kerma"].to("µGy").magnitude == pytest.approx(812.3)
    assert reading["air_kerma_rate"].to("mGy/s").magnitude == pytest.approx(487.38 / 60)
    fake.assert_done()


def test_a_second_wait_without_arm_starts_from_its_first_poll() -> None:
    driver, fake = driver_for([
        *TOKEN, ("RES", "RES"), ("STA", "STA"), *RELEASE, ("MV", mv()),
        ("MV", mv(value="1.0;E0;m;Gy")), ("MV", mv(value="1.0;E0;m;Gy")),
        ("MV", mv(value="1.0;E0;m;Gy")),                # the new baseline: not yet a new exposure
        ("MV", mv(value="1.0;E0;m;Gy")),
        ("MV", mv(value="1.7;E0;m;Gy")), ("MV", mv(value="1.7;E0;m;Gy")),
    ])
    driver.arm()
    driver.wait_for_exposure(Q_(5, "s"))
    driver.wait_for_exposure(Q_(5, "s"))
    fake.assert_done()


def test_an_error_status_ends_the_wait() -> None:
    driver, fake = driver_for([("MV", mv(status="ERROR"))])
    with pytest.raises(InstrumentError, match="status ERROR"):
        driver.wait_for_exposure(Q_(5, "s"))
    fake.assert_done()


def test_a_hold_status_ends_the_wait_at_once() -> None:
    driver, fake = driver_for([("MV", mv(status="HOLD", value="1.0;E0;µ;Gy"))])
    driver.wait_for_exposure(Q_(5, "s"))
    fake.assert_done()


def test_waiting_on_an_instrument_that_is_not_integrating_fails() -> None:
    driver, fake = driver_for([("MV", mv(status="RES"))])
    with pytest.raises(InstrumentError, match="not integrating"):
        driver.wait_for_exposure(Q_(5, "s"))
    fake.assert_done()


def test_electrical_units_give_charge_and_current() -> None:
    driver, fake = driver_for([
        ("MV", mv(status="HOLD", value="1.234;E0;n;C", rate="5.0;E+01;p;C;s")),
        ("MV", mv(status="HOLD", value="7.5;E-1;µ;C", rate="1.2;E+00;n;C;min")),
    ])
    reading = driver.read_exposure()
    assert reading["charge"].to("nC").magnitude == pytest.approx(1.234)
    assert reading["current"].to("pA").magnitude == pytest.approx(50.0)
    reading = driver.read_now()
    assert reading["charge"].to("nC").magnitude == pytest.approx(750.0)
    assert reading["current"].to("pA").magnitude == pytest.approx(1.2e3 / 60)   # 1.2 nC/min = 20 pA
    fake.assert_done()


def test_a_unit_that_is_neither_gy_nor_c_is_refused() -> None:
    driver, fake = driver_for([("MV", mv(status="HOLD", value="1.0;E0;m;Sv", rate="1.0;E0;m;Sv;h"))])
    with pytest.raises(InstrumentError, match="neither air kerma"):
        driver.read_exposure()
    fake.assert_done()


def test_settings_take_and_release_the_write_token() -> None:
    driver, fake = driver_for([
        *TOKEN, ("RGE;HIGH", "RGE;HIGH"), *RELEASE,
        *TOKEN, ("HV;-300", "HV;-300"), *RELEASE,
        *TOKEN, ("IT;120", "IT;120"), *RELEASE,
        *TOKEN, ("UEL;true", "UEL;true"), *RELEASE,
        *TOKEN, ("ASE;false", "ASE;false"), *RELEASE,
        *TOKEN, ("ASL;LOW", "ASL;LOW"), *RELEASE,
        *TOKEN, ("HLD", "HLD"), *RELEASE,
        *TOKEN, ("INT", "INT"), *RELEASE,
    ])
    driver.set_range("HIGH")
    driver.set_high_voltage(Q_(-300, "V"))
    driver.set_interval_time(Q_(2, "min"))
    driver.set_flag("UEL", True)
    driver.set_flag("ASE", False)
    driver.set_autostart_level("LOW")
    driver.hold()
    driver.start_interval()
    fake.assert_done()


def test_queries_need_no_token() -> None:
    driver, fake = driver_for([
        ("S", "S;MEAS"), ("RGE", "RGE;MEDIUM"), ("HV", "HV;300"), ("IT", "IT;60"), ("UEL", "UEL;true"),
        ("ASL", "ASL;HIGH"), ("MVM", "MVM;MEDIUM;1.65;E-06;µ;Gy;min"),
    ])
    assert driver.status() == "MEAS"
    assert driver.measuring_range() == "MEDIUM"
    assert driver.high_voltage() == Q_(300, "V")
    assert driver.interval_time() == Q_(60, "s")
    assert driver.flag("UEL") is True
    assert driver.autostart_level() == "HIGH"
    maximum = driver.range_maximum()
    assert f"{maximum.units:~}" == "µGy / min" and maximum.magnitude == pytest.approx(1.65e-6)
    fake.assert_done()


def test_values_outside_the_documented_limits_are_not_sent() -> None:
    driver, fake = driver_for([])
    with pytest.raises(InstrumentError, match="−400|-400"):
        driver.set_high_voltage(Q_(450, "V"))
    with pytest.raises(InstrumentError):
        driver.set_interval_time(Q_(0.5, "s"))
    with pytest.raises(InstrumentError, match="range"):
        driver.set_range("EXTREME")
    fake.assert_done()


def test_no_write_permission_is_e20_and_the_token_is_still_released() -> None:
    driver, fake = driver_for([*TOKEN, ("RGE;LOW", "E20"), *RELEASE])
    with pytest.raises(InstrumentReportedError) as caught:
        driver.set_range("LOW")
    err = caught.value
    assert (err.code, err.meaning, err.command) == ("E20", "no write permission", "RGE;LOW")
    assert err.instrument == "unidos-1" and "lock" in err.fix
    fake.assert_done()


def test_a_failed_release_after_an_error_is_one_warning_line_without_a_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    """The setting's own error goes on; the release's is logged with its text, its traceback only for debug."""
    caplog.set_level(logging.WARNING, logger="xcal.drivers.ptw_unidos")
    driver, fake = driver_for([*TOKEN, ("RGE;LOW", "E20"), ("TOK;0", "TOK;0;maybe")])
    with pytest.raises(InstrumentReportedError) as caught:
        driver.set_range("LOW")
    assert caught.value.code == "E20"
    [record] = [r for r in caplog.records if "write token" in r.getMessage()]
    assert record.levelno == logging.WARNING and not record.exc_info
    assert "Traceback" not in logging.Formatter().format(record)
    message = record.getMessage()
    assert message.startswith("unidos-1: could not release the write token after an error: ")
    assert "'TOK;0;maybe'" in message and "'TOK;0'" in message          # what it sent, to which command
    fake.assert_done()


def test_a_failed_release_keeps_its_traceback_for_debug_logging(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="xcal.drivers.ptw_unidos")
    driver, fake = driver_for([*TOKEN, ("RGE;LOW", "E20"), ("TOK;0", "TOK;0;maybe")])
    with pytest.raises(InstrumentReportedError):
        driver.set_range("LOW")
    [record] = [r for r in caplog.records if "write token" in r.getMessage()]
    assert record.exc_info and record.exc_info[0] is ProtocolError
    assert "Traceback" in logging.Formatter().format(record)
    fake.assert_done()


def test_a_refused_token_stops_before_the_setting() -> None:
    driver, fake = driver_for([("TOK;1", "TOK;1;false")])
    with pytest.raises(InstrumentError, match="refused write permission") as caught:
        driver.set_range("LOW")
    assert not isinstance(caught.value, (InstrumentReportedError, ProtocolError))
    fake.assert_done()


@pytest.mark.parametrize("code", sorted(ptw_unidos.ERRORS))
def test_every_documented_error_code_is_typed_with_its_meaning(code: str) -> None:
    driver, fake = driver_for([("S", code)])
    with pytest.raises(InstrumentReportedError) as caught:
        driver.status()
    assert caught.value.code == code and caught.value.meaning == ptw_unidos.ERRORS[code]
    assert code in str(caught.value)
    fake.assert_done()


def test_an_out_of_range_hv_is_e08() -> None:
    driver, fake = driver_for([*TOKEN, ("HV;400", "E08"), *RELEASE])
    with pytest.raises(InstrumentReportedError) as caught:
        driver.set_high_voltage(Q_(400, "V"))
    assert caught.value.meaning == "parameter invalid or out of range"
    fake.assert_done()


def test_an_error_code_the_notes_do_not_list() -> None:
    driver, fake = driver_for([("S", "E77")])
    with pytest.raises(InstrumentReportedError) as caught:
        driver.status()
    assert caught.value.code == "E77" and "do not list" in caught.value.meaning
    fake.assert_done()


@pytest.mark.parametrize("flags, meaning", [("0x1", "overload (current)"), ("0x2", "overload (charge)"),
                                            ("0x4", "high-voltage error (current)"),
                                            ("0x8", "high-voltage error (charge)"),
                                            ("0x400", "internal error"), ("0x800", "uncalibrated")])
def test_flags_that_spoil_a_dose_reading_are_typed_errors(flags: str, meaning: str) -> None:
    driver, fake = driver_for([("MV", mv(status="HOLD", value="1.0;E0;m;Gy", flags=flags))])
    with pytest.raises(InstrumentReportedError) as caught:
        driver.read_exposure()
    assert caught.value.code == flags and caught.value.meaning == meaning
    fake.assert_done()


def test_warning_flags_leave_the_reading_and_are_kept(caplog: pytest.LogCaptureFixture) -> None:
    driver, fake = driver_for([
        ("MV", mv(status="HOLD", value="2.0;E0;n;C", rate="0.0;E0;p;C;s", flags="0x830")),
    ])
    reading = driver.read_exposure()
    assert reading["charge"] == Q_(2.0, "nC")
    assert driver.last_warnings == ("low signal (current)", "low signal (charge)", "uncalibrated")
    assert "low signal (charge)" in caplog.text
    assert ptw_unidos.parse_mv(mv(flags="0x80")).warnings() == ("undocumented flag bit 7",)
    fake.assert_done()


def test_an_overload_during_the_wait_ends_it_with_the_typed_error() -> None:
    driver, fake = driver_for([("MV", mv(value="3.0;E0;m;Gy", flags="0x1"))])
    with pytest.raises(InstrumentReportedError, match="overload"):
        driver.wait_for_exposure(Q_(5, "s"))
    fake.assert_done()


def test_zeroing_waits_for_nus_and_requires_passed() -> None:
    driver, fake = driver_for([
        *TOKEN, ("NUL", "NUL"), *RELEASE, ("NUS", "NUS;Running;1;82000"), ("NUS", "NUS;Passed;0;82000"),
        *TOKEN, ("NUL", "NUL"), *RELEASE, ("NUS", "NUS;Failed;0;82000"),
    ])
    state = driver.zero(Q_(5, "s"))
    assert state == ptw_unidos.ZeroStatus("Passed", Q_(0, "ms"), Q_(82000, "ms"))
    with pytest.raises(InstrumentError, match="'Failed'"):
        driver.zero(Q_(5, "s"))
    fake.assert_done()


def test_detector_json_with_semicolons() -> None:
    driver, fake = driver_for([
        ("RDA", 'RDA;[{"id":1;"name":"chamber A";"voltage":300};{"id":2;"name":"chamber B";"voltage":-100}]'),
        ("RDR;2", 'RDR;2;{"id":2;"name":"chamber B";"voltage":-100}'),
    ])
    assert driver.detectors() == [{"id": 1, "name": "chamber A", "voltage": 300},
                                  {"id": 2, "name": "chamber B", "voltage": -100}]
    assert driver.detector(2) == {"id": 2, "name": "chamber B", "voltage": -100}
    fake.assert_done()


@pytest.mark.parametrize("command, reply, call", [
    ("MV", "MV;RES;2.6;E-3;m;Gy;5.6;E-09;n;Gy;min;3000.0;ms;300.0;V", "read_now"),
    ("MV", NOTES_MV.replace("E-3", "x-3"), "read_now"),
    ("MV", NOTES_MV.replace(";m;Gy;5", ";q;Gy;5"), "read_now"),
    ("MV", NOTES_MV.replace("RES", "SLEEPING"), "read_now"),
    ("MV", NOTES_MV.replace("0x0", "zero"), "read_now"),
    ("MV", NOTES_MV.replace("MV;", "MW;"), "read_now"),
    ("S", "S;DANCING", "status"),
    ("RGE", "RGE;HUGE", "measuring_range"),
    ("RDA", "RDA;{not json", "detectors"),
])
def test_malformed_replies_are_protocol_errors(command: str, reply: str, call: str) -> None:
    driver, fake = driver_for([(command, reply)])
    with pytest.raises(ProtocolError) as caught:
        getattr(driver, call)()
    assert repr(reply) in str(caught.value) and repr(command) in str(caught.value)
    assert caught.value.instrument == "unidos-1"
    fake.assert_done()


def test_a_setting_whose_reply_is_not_its_echo_is_a_protocol_error() -> None:
    driver, fake = driver_for([*TOKEN, ("RGE;LOW", "RGE;MEDIUM"), *RELEASE])
    with pytest.raises(ProtocolError, match="RGE;MEDIUM"):
        driver.set_range("LOW")
    fake.assert_done()


def test_a_bad_poll_interval_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="poll_interval"):
        PtwUnidos("TCPIP::192.0.2.7::8123::SOCKET", transport=ExpectedProtocol([]), poll_interval="fast")


PARSERS = [
    lambda text: ptw_unidos.parse_mv(text),
    lambda text: ptw_unidos.parse_identity(text),
    lambda text: ptw_unidos.parse_serial(text),
    lambda text: ptw_unidos.parse_status(text),
    lambda text: ptw_unidos.parse_token("TOK;1", text),
    lambda text: ptw_unidos.parse_echo("RGE;LOW", text),
    lambda text: ptw_unidos.parse_int("HV", text),
    lambda text: ptw_unidos.parse_bool("UEL", text),
    lambda text: ptw_unidos.parse_range_limit("MVM", text),
    lambda text: ptw_unidos.parse_zero_status(text),
    lambda text: ptw_unidos.parse_json("RDA", text),
    lambda text: ptw_unidos.parse_json("RDR;1", text),
]
FIELD = st.sampled_from(["MV", "RES", "HOLD", "2.6", "-1e5", "E-3", "E+999", "E9999", "m", "µ", "μ", "u", "",
                         "Gy", "C", "A", "Sv", "min", "s", "ms", "V", "0x0", "0xFFFFFFFF", "nan", "inf",
                         "٣", "NUS", "Passed", "1", "true", "{", "}", "[", "]", '"a"', "TOK", "PTW", "SER",
                         "MVM", "MEDIUM", "HV", "RDA"]) | st.text(max_size=6)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=80), st.integers(0, len(PARSERS) - 1))
def test_parsers_raise_only_protocol_or_reported_errors_for_any_bytes(data: bytes, index: int) -> None:
    for text in (data.decode("latin-1"), data.decode("utf-8", errors="replace")):
        try:
            PARSERS[index](text)
        except (ProtocolError, InstrumentReportedError):
            pass


@settings(max_examples=300, deadline=None)
@given(st.lists(FIELD, max_size=17) | st.lists(FIELD, min_size=15, max_size=15).map(lambda f: ["MV", *f]),
       st.integers(0, len(PARSERS) - 1))
def test_parsers_raise_only_protocol_or_reported_errors_for_reply_like_text(fields: list, index: int) -> None:
    try:
        PARSERS[index](";".join(fields))
    except (ProtocolError, InstrumentReportedError):
        pass
