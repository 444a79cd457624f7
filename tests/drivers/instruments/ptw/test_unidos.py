"""The PTW UNIDOS driver against exact exchanges written by hand from the protocol notes.

Expected numbers are worked out from the notes' rule, not from the driver: a number is sent as mantissa,
exponent, prefix and unit, and its value is mantissa × 10^exponent in the base unit (`2.6;E-3;m;Gy` is
2.6e-3 Gy = 2.6 mGy); the prefix only repeats the exponent for display.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcal.drivers.capabilities import Dosimeter, Electrometer, InstrumentIdentity
from xcal.drivers.instruments.ptw import unidos as ptw_unidos
from xcal.drivers.instruments.ptw.unidos import PtwUnidos
from xcal.drivers.settings import settings_of
from xcal.errors import (
    ConfigError,
    InstrumentError,
    InstrumentReportedError,
    InstrumentTimeout,
    ProtocolError,
)
from xcal.testing import expected_protocol, refused_setting_cases, setting_cases
from xcal.units import Q_

from ...protocol import ExpectedProtocol

TOKEN = [("TOK", "TOK;true")]
RELEASE = [("TOK;0", "TOK;0;true")]
NOTES_MV = "MV;RES;2.6;E-3;m;Gy;5.6;E-09;n;Gy;min;3000.0;ms;300.0;V;0x0"
RESOURCE = "TCPIP::192.0.2.7::8123::SOCKET"


def mv(status: str = "MEAS", value: str = "0.0;E-3;m;Gy", rate: str = "0.0;E-3;m;Gy;min",
       flags: str = "0x0") -> str:
    return f"MV;{status};{value};{rate};1500.0;ms;300.0;V;{flags}"


def unidos(exchanges: list, **options):
    """The driver on a fake link allowing exactly `exchanges`, each command checked against its evidence table."""
    return expected_protocol(PtwUnidos, exchanges, resource=RESOURCE, encoding="utf-8", name="unidos-1",
                             poll_interval=Q_(1, "ms"), **options)


def driver_for(exchanges: list, **options) -> tuple[PtwUnidos, ExpectedProtocol]:
    """As `unidos`, for a test that times out: how many of the polls given are used varies, so none is checked."""
    fake = ExpectedProtocol(exchanges, encoding="utf-8", evidence=PtwUnidos.evidence)
    driver = PtwUnidos(RESOURCE, name="unidos-1", transport=fake, poll_interval=Q_(1, "ms"), **options)
    return driver, fake


def test_class_attributes_and_link_defaults() -> None:
    assert PtwUnidos.driver_name == "ptw-unidos"
    assert PtwUnidos.capabilities == ("Electrometer", "Dosimeter")
    assert PtwUnidos.protocol_status == "PUBLIC"
    assert PtwUnidos.transports == ("tcp", "serial")
    link = PtwUnidos.link
    assert (link.read_termination, link.write_termination, link.encoding) == ("\r\n", "\r\n", "utf-8")
    with unidos([]) as driver:
        assert isinstance(driver, Electrometer) and isinstance(driver, Dosimeter)


def test_identify() -> None:
    with unidos([("PTW", "PTW;UNIDOS Tango;TM10052;1.2.4;A16"), ("SER", "SER;123456")]) as driver:
        assert driver.identify() == InstrumentIdentity("PTW", "UNIDOS Tango", "123456", "1.2.4")


# ---- numbers: mantissa × 10^exponent in the base unit, never the prefix on top ----

def test_the_notes_mv_example_is_2_6_mgy_and_5_6_ngy_per_min() -> None:
    measurement = ptw_unidos.parse_mv(NOTES_MV)
    assert measurement.status == "RES" and measurement.unit == "Gy"
    assert measurement.value.to("Gy").magnitude == pytest.approx(0.0026)
    assert measurement.value.to("mGy").magnitude == pytest.approx(2.6)
    assert f"{measurement.value.units:~}" == "mGy"
    assert measurement.rate.to("Gy/min").magnitude == pytest.approx(5.6e-9)
    assert measurement.rate.to("nGy/min").magnitude == pytest.approx(5.6)
    assert measurement.measuring_time == Q_(3000.0, "ms") and measurement.high_voltage == Q_(300.0, "V")
    assert measurement.flags == 0 and measurement.problems() == () and measurement.warnings() == ()


def test_the_range_maximum_of_the_notes_is_1_65_ugy_per_min() -> None:
    with unidos([("MVM", "MVM;MEDIUM;1.65;E-06;µ;Gy;min")]) as driver:
        maximum = driver.range_maximum()
    assert maximum.to("Gy/min").magnitude == pytest.approx(1.65e-6)
    assert f"{maximum.units:~}" == "µGy / min"


def test_pymeasures_zero_reading_in_electrical_units_parses() -> None:
    """Current in A with an empty time base, HV without decimals (pymeasure's published MV fixture)."""
    reading = ptw_unidos.parse_mv("MV;RES;0.0;E-12;p;C;0.0;E-12;p;A;;0.0;ms;200;V;0x0")
    assert reading.unit == "C" and reading.electrical
    assert reading.value.to("C").magnitude == 0 and reading.rate.to("A").magnitude == 0
    assert reading.measuring_time == Q_(0, "ms") and reading.high_voltage == Q_(200, "V")


@pytest.mark.parametrize("reply, si, unit", [
    ("MV;HOLD;136.6;E-12;p;C;50.0;E-12;p;A;;10.0;ms;300;V;0x0", 1.366e-10, "C"),
    ("MV;HOLD;1.500;E-09;n;C;1.2;E-09;n;C;min;10.0;ms;300;V;0x0", 1.5e-9, "C"),
    ("MV;HOLD;812.3;E-06;µ;Gy;4.2;E+00;;Gy;min;10.0;ms;300;V;0x0", 812.3e-6, "Gy"),
    ("MV;HOLD;812.3;E-06;μ;Gy;4.2;E0;;Gy;min;10.0;ms;300;V;0x0", 812.3e-6, "Gy"),
    ("MV;HOLD; 13.50;E-09;n;C;0.0;E-12;p;A;;10.0;ms;300;V;0x0", 1.35e-8, "C"),
])
def test_values_in_si_units_from_the_published_forms(reply: str, si: float, unit: str) -> None:
    assert ptw_unidos.parse_mv(reply).value.to(unit).magnitude == pytest.approx(si)


@pytest.mark.parametrize("value, rate", [
    ("2.6;E-3;µ;Gy", "5.6;E-09;n;Gy;min"),          # E-3 is milli, not micro
    ("2.6;E-3;m;Gy", "5.6;E-06;n;Gy;min"),
    ("1.0;E0;m;Gy", "0.0;E-3;m;Gy;min"),             # what xcal's simulator used to send
    ("1.0;E-3;m;Gy", "5.64;E+04;m;Gy;min"),
    ("1.0;E-3;;Gy", "0.0;E-3;m;Gy;min"),
])
def test_an_exponent_that_disagrees_with_its_prefix_is_a_protocol_error(value: str, rate: str) -> None:
    reply = mv(status="HOLD", value=value, rate=rate)
    with unidos([("MV", reply)]) as driver, pytest.raises(ProtocolError) as caught:
        driver.read_now()
    assert "prefix" in str(caught.value) and repr(reply) in str(caught.value)


def test_arm_wait_and_read_an_exposure_in_gy() -> None:
    with unidos([
        *TOKEN, ("RES", "RES"), ("STA", "STA"), *RELEASE,
        ("MV", mv()),                                   # the value at arm(): 0
        ("MV", mv(value="410.0;E-06;µ;Gy")),            # rising
        ("MV", mv(value="812.3;E-06;µ;Gy")),            # rose further
        ("MV", mv(value="812.3;E-06;µ;Gy")),            # the same twice: complete
        ("MV", mv(value="812.3;E-06;µ;Gy", rate="487.38;E-3;m;Gy;min")),
    ]) as driver:
        driver.arm()
        driver.wait_for_exposure(Q_(5, "s"))
        reading = driver.read_exposure()
    assert set(reading) == {"air_kerma", "air_kerma_rate"}
    assert reading["air_kerma"].to("Gy").magnitude == pytest.approx(812.3e-6)
    assert reading["air_kerma_rate"].to("Gy/s").magnitude == pytest.approx(487.38e-3 / 60)


def test_a_second_wait_without_arm_starts_from_its_first_poll() -> None:
    with unidos([
        *TOKEN, ("RES", "RES"), ("STA", "STA"), *RELEASE, ("MV", mv()),
        ("MV", mv(value="1.0;E-3;m;Gy")), ("MV", mv(value="1.0;E-3;m;Gy")),
        ("MV", mv(value="1.0;E-3;m;Gy")),               # the new baseline: not yet a new exposure
        ("MV", mv(value="1.0;E-3;m;Gy")),
        ("MV", mv(value="1.7;E-3;m;Gy")), ("MV", mv(value="1.7;E-3;m;Gy")),
    ]) as driver:
        driver.arm()
        driver.wait_for_exposure(Q_(5, "s"))
        driver.wait_for_exposure(Q_(5, "s"))


def test_an_error_status_ends_the_wait() -> None:
    with unidos([("MV", mv(status="ERROR"))]) as driver:
        with pytest.raises(InstrumentError, match="status ERROR"):
            driver.wait_for_exposure(Q_(5, "s"))


def test_a_hold_status_ends_the_wait_at_once() -> None:
    with unidos([("MV", mv(status="HOLD", value="1.0;E-06;µ;Gy"))]) as driver:
        driver.wait_for_exposure(Q_(5, "s"))


def test_waiting_on_an_instrument_that_is_not_integrating_fails() -> None:
    with unidos([("MV", mv(status="RES"))]) as driver:
        with pytest.raises(InstrumentError, match="not integrating"):
            driver.wait_for_exposure(Q_(5, "s"))


def test_an_exposure_that_never_completes_is_a_timeout_naming_the_last_value() -> None:
    polls = [("MV", mv(value="1.0;E-3;m;Gy"))] + [("MV", mv(value=f"{1 + i};E-3;m;Gy")) for i in range(1, 400)]
    driver, _ = driver_for(polls)
    with pytest.raises(InstrumentTimeout, match=r"within 0.02 s \(status MEAS, value \d+(\.0)? mGy\)"):
        driver.wait_for_exposure(Q_(20, "ms"))


def test_electrical_units_give_charge_and_current() -> None:
    with unidos([
        ("MV", mv(status="HOLD", value="1.234;E-09;n;C", rate="50.0;E-12;p;A;")),
        ("MV", mv(status="HOLD", value="750.0;E-09;n;C", rate="1.2;E-09;n;C;min")),
    ]) as driver:
        reading = driver.read_exposure()
        assert reading["charge"].to("C").magnitude == pytest.approx(1.234e-9)
        assert reading["current"].to("A").magnitude == pytest.approx(50e-12)
        reading = driver.read_now()
    assert reading["charge"].to("C").magnitude == pytest.approx(750e-9)
    assert reading["current"].to("A").magnitude == pytest.approx(1.2e-9 / 60)    # 1.2 nC/min = 20 pA


def test_a_unit_that_is_neither_gy_nor_c_is_refused() -> None:
    with unidos([("MV", mv(status="HOLD", value="1.0;E-3;m;Sv", rate="1.0;E-3;m;Sv;h"))]) as driver:
        with pytest.raises(InstrumentError, match="neither air kerma"):
            driver.read_exposure()


# ---- the write token: TOK requests it, TOK;1 asks, TOK;0 releases ----

def test_tok_requests_write_permission_and_tok_0_releases_it() -> None:
    with unidos([*TOKEN, ("HLD", "HLD"), *RELEASE, *TOKEN, ("INT", "INT"), *RELEASE]) as driver:
        driver.hold()
        driver.start_interval()


def test_tok_1_asks_whether_this_client_holds_write_permission() -> None:
    with unidos([("TOK;1", "TOK;1;true"), ("TOK;1", "TOK;1;false")]) as driver:
        assert driver.holds_write_token() is True
        assert driver.holds_write_token() is False


def test_a_refused_token_stops_before_the_setting() -> None:
    with unidos([("TOK", "TOK;false")]) as driver:
        with pytest.raises(InstrumentError, match="refused write permission") as caught:
            driver.measuring_range = "LOW"
    assert not isinstance(caught.value, (InstrumentReportedError, ProtocolError))


def test_actions_in_one_write_access_share_one_token() -> None:
    with unidos([*TOKEN, ("RES", "RES"), ("RGE;LOW", "RGE;LOW"), *RELEASE]) as driver:
        with driver.write_access():
            driver.reset()
            driver.measuring_range = "LOW"


# ---- declared settings: generated from the declarations, framed as the notes say ----

@pytest.mark.parametrize("name, value, line", setting_cases(PtwUnidos),
                         ids=[f"{n}={line}" for n, _, line in setting_cases(PtwUnidos)])
def test_each_declared_setting_is_set_inside_the_token_and_read_back(name: str, value: object, line: str) -> None:
    query = line.split(";", 1)[0]
    with unidos([*TOKEN, (line, line), *RELEASE, (query, line)]) as driver:
        setattr(driver, name, value)
        assert getattr(driver, name) == value


@pytest.mark.parametrize("name, value", refused_setting_cases(PtwUnidos),
                         ids=[f"{n}={v}" for n, v in refused_setting_cases(PtwUnidos)])
def test_each_declared_setting_refuses_a_value_before_any_byte(name: str, value: object) -> None:
    with unidos([]) as driver, pytest.raises(InstrumentError, match=name):
        setattr(driver, name, value)


def test_the_settings_are_the_notes_commands() -> None:
    settings = {name: (s.get, s.set) for name, s in settings_of(PtwUnidos).items()}
    assert settings == {"measuring_range": ("RGE", "RGE;{}"), "high_voltage": ("HV", "HV;{}"),
                        "interval_time": ("IT", "IT;{}"), "autostart": ("ASE", "ASE;{}"),
                        "autoreset": ("ASR", "ASR;{}"), "electrical_units": ("UEL", "UEL;{}"),
                        "autostart_level": ("ASL", "ASL;{}")}


def test_settings_in_their_units() -> None:
    with unidos([*TOKEN, ("HV;-300", "HV;-300"), *RELEASE, *TOKEN, ("IT;120", "IT;120"), *RELEASE,
                 ("HV", "HV;300.0"), ("IT", "IT;60"), ("UEL", "UEL;true"), ("ASL", "ASL;HIGH")]) as driver:
        driver.high_voltage = Q_(-0.3, "kV")
        driver.interval_time = Q_(2, "min")
        assert driver.high_voltage == Q_(300, "V")
        assert driver.interval_time == Q_(60, "s")
        assert driver.electrical_units is True
        assert driver.autostart_level == "HIGH"


def test_values_outside_the_documented_limits_are_not_sent() -> None:
    with unidos([]) as driver:
        with pytest.raises(InstrumentError, match="−400|-400"):
            driver.high_voltage = Q_(450, "V")
        with pytest.raises(InstrumentError, match="interval_time"):
            driver.interval_time = Q_(0.5, "s")
        with pytest.raises(InstrumentError, match="measuring_range"):
            driver.measuring_range = "EXTREME"


@pytest.mark.parametrize("reply", ["HV;12.5", "HV;high", "HV", "HV;300;V", "RGE;300"])
def test_a_setting_query_whose_value_does_not_fit_is_a_protocol_error(reply: str) -> None:
    with unidos([("HV", reply)]) as driver, pytest.raises(ProtocolError) as caught:
        _ = driver.high_voltage
    assert repr(reply) in str(caught.value) or "'12.5'" in str(caught.value) or "'high'" in str(caught.value)


def test_a_setting_whose_reply_is_not_its_echo_is_a_protocol_error() -> None:
    with unidos([*TOKEN, ("RGE;LOW", "RGE;MEDIUM"), *RELEASE]) as driver:
        with pytest.raises(ProtocolError, match="RGE;MEDIUM"):
            driver.measuring_range = "LOW"


# ---- errors ----

@pytest.mark.parametrize("reply", ["E20", "E20;", "E;20"])
def test_no_write_permission_is_e20_and_the_token_is_still_released(reply: str) -> None:
    with unidos([*TOKEN, ("RGE;LOW", reply), *RELEASE]) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.measuring_range = "LOW"
    err = caught.value
    assert (err.code, err.meaning, err.command) == ("E20", "no write permission", "RGE;LOW")
    assert err.instrument == "unidos-1" and "lock" in err.fix


def test_a_failed_release_after_an_error_is_one_warning_line_without_a_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    """The setting's own error goes on; the release's is logged with its text, its traceback only for debug."""
    caplog.set_level(logging.WARNING, logger="xcal.drivers.instruments.ptw.unidos")
    with unidos([*TOKEN, ("RGE;LOW", "E20"), ("TOK;0", "TOK;0;maybe")]) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.measuring_range = "LOW"
    assert caught.value.code == "E20"
    [record] = [r for r in caplog.records if "write token" in r.getMessage()]
    assert record.levelno == logging.WARNING and not record.exc_info
    assert "Traceback" not in logging.Formatter().format(record)
    message = record.getMessage()
    assert message.startswith("unidos-1: could not release the write token after an error: ")
    assert "'TOK;0;maybe'" in message and "'TOK;0'" in message          # what it sent, to which command


def test_a_failed_release_keeps_its_traceback_for_debug_logging(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="xcal.drivers.instruments.ptw.unidos")
    with unidos([*TOKEN, ("RGE;LOW", "E20"), ("TOK;0", "TOK;0;maybe")]) as driver:
        with pytest.raises(InstrumentReportedError):
            driver.measuring_range = "LOW"
    [record] = [r for r in caplog.records if "write token" in r.getMessage()]
    assert record.exc_info and record.exc_info[0] is ProtocolError
    assert "Traceback" in logging.Formatter().format(record)


@pytest.mark.parametrize("code", sorted(ptw_unidos.ERRORS))
def test_every_documented_error_code_is_typed_with_its_meaning(code: str) -> None:
    with unidos([("S", code), ("S", f"{code};")]) as driver:
        for _ in range(2):
            with pytest.raises(InstrumentReportedError) as caught:
                driver.status()
            assert caught.value.code == code and caught.value.meaning == ptw_unidos.ERRORS[code]
            assert code in str(caught.value)


def test_an_out_of_range_hv_is_e08() -> None:
    with unidos([*TOKEN, ("HV;400", "E08"), *RELEASE]) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.high_voltage = Q_(400, "V")
    assert caught.value.meaning == "parameter invalid or out of range"


def test_an_error_code_the_notes_do_not_list() -> None:
    with unidos([("S", "E77")]) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.status()
    assert caught.value.code == "E77" and "do not list" in caught.value.meaning


@pytest.mark.parametrize("flags, meaning", [("0x1", "overload (current)"), ("0x2", "overload (charge)"),
                                            ("0x4", "high-voltage error (current)"),
                                            ("0x8", "high-voltage error (charge)"),
                                            ("0x400", "internal error"), ("0x800", "uncalibrated")])
def test_flags_that_spoil_a_dose_reading_are_typed_errors(flags: str, meaning: str) -> None:
    with unidos([("MV", mv(status="HOLD", value="1.0;E-3;m;Gy", flags=flags))]) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_exposure()
    assert caught.value.code == flags and caught.value.meaning == meaning


def test_warning_flags_leave_the_reading_and_are_kept(caplog: pytest.LogCaptureFixture) -> None:
    with unidos([("MV", mv(status="HOLD", value="2.0;E-09;n;C", rate="0.0;E-12;p;A;", flags="0x830"))]) as driver:
        reading = driver.read_exposure()
        assert reading["charge"].to("C").magnitude == pytest.approx(2.0e-9)
        assert driver.last_warnings == ("low signal (current)", "low signal (charge)", "uncalibrated")
    assert "low signal (charge)" in caplog.text
    assert ptw_unidos.parse_mv(mv(flags="0x80")).warnings() == ("undocumented flag bit 7",)


def test_an_overload_during_the_wait_ends_it_with_the_typed_error() -> None:
    with unidos([("MV", mv(value="3.0;E-3;m;Gy", flags="0x1"))]) as driver:
        with pytest.raises(InstrumentReportedError, match="overload"):
            driver.wait_for_exposure(Q_(5, "s"))


# ---- zeroing, self test, resolution, MAC and the JSON reads ----

def test_zeroing_waits_for_nus_and_requires_passed() -> None:
    with unidos([
        *TOKEN, ("NUL", "NUL"), *RELEASE, ("NUS", "NUS;Running;1;82000"), ("NUS", "NUS;Passed;0;82000"),
        *TOKEN, ("NUL", "NUL"), *RELEASE, ("NUS", "NUS;Failed;0;82000"),
    ]) as driver:
        state = driver.zero(Q_(5, "s"))
        assert state == ptw_unidos.ZeroStatus("Passed", Q_(0, "ms"), Q_(82000, "ms"))
        with pytest.raises(InstrumentError, match="'Failed'"):
            driver.zero(Q_(5, "s"))


def test_zeroing_that_does_not_end_in_time_is_a_timeout() -> None:
    driver, _ = driver_for([*TOKEN, ("NUL", "NUL"), *RELEASE] + [("NUS", "NUS;Running;80000;82000")] * 200)
    with pytest.raises(InstrumentTimeout, match="still zeroing"):
        driver.zero(Q_(20, "ms"))


PUBLISHED_ASS = "ASS;Passed;0;89000;Low; 136.6;E-12;p;C;Med; 1.500;E-09;n;C;High; 13.50;E-09;n;C"


def test_the_self_test_result_gives_each_ranges_charge_in_coulomb() -> None:
    with unidos([("ASS", PUBLISHED_ASS)]) as driver:
        result = driver.self_test_result()
    assert (result.status, result.remaining, result.total) == ("Passed", Q_(0, "ms"), Q_(89000, "ms"))
    assert list(result.charges) == ["Low", "Med", "High"]
    charges = {name: q.to("C").magnitude for name, q in result.charges.items()}
    assert charges == pytest.approx({"Low": 136.6e-12, "Med": 1.5e-9, "High": 13.5e-9})


def test_the_self_test_is_started_in_the_token_and_waited_for() -> None:
    with unidos([
        *TOKEN, ("AST", "AST"), *RELEASE, ("ASS", "ASS;Running;45000;89000"), ("ASS", PUBLISHED_ASS),
        *TOKEN, ("AST", "AST"), *RELEASE, ("ASS", PUBLISHED_ASS.replace("Passed", "Failed")),
    ]) as driver:
        assert driver.self_test(Q_(5, "s")).status == "Passed"
        with pytest.raises(InstrumentError, match="'Failed'"):
            driver.self_test(Q_(5, "s"))


@pytest.mark.parametrize("reply", [
    "ASS;Passed;0;89000;Low; 136.6;E-12;n;C",                 # exponent and prefix disagree
    "ASS;Passed;0;89000;Low; 136.6;E-12;p;Gy",                # a self test injects charge
    "ASS;Passed;0;89000;Low; 136.6;E-12;p",                   # a range's fields cut short
    "ASS;Passed;zero;89000",
])
def test_a_malformed_self_test_result_is_a_protocol_error(reply: str) -> None:
    with unidos([("ASS", reply)]) as driver, pytest.raises(ProtocolError):
        driver.self_test_result()


def test_the_range_resolution_of_the_notes() -> None:
    with unidos([("MVR", "MVR;MEDIUM;0.5;E-12;p;Gy;0.003;E-09;n;Gy;min")]) as driver:
        resolution = driver.range_resolution()
    assert resolution.range == "MEDIUM"
    assert resolution.value.to("Gy").magnitude == pytest.approx(5e-13)
    assert resolution.rate.to("Gy/min").magnitude == pytest.approx(3e-12)


def test_mac_address() -> None:
    with unidos([("MAC", "MAC;00:0E:A4:01:02:03")]) as driver:
        assert driver.mac_address() == "00:0E:A4:01:02:03"


def test_the_json_reads_join_their_fields_with_commas() -> None:
    with unidos([
        ("RMR", 'RMR;{"hv":300;"range":"MEDIUM";"isElectrical":false}'),
        ("RIR", 'RIR;{"serialNumber":"123456";"typeNumber":"TM10052"}'),
        ("RSR", 'RSR;{"locale":"en";"volume":3}'),
    ]) as driver:
        assert driver.measurement_parameters() == {"hv": 300, "range": "MEDIUM", "isElectrical": False}
        assert driver.system_info() == {"serialNumber": "123456", "typeNumber": "TM10052"}
        assert driver.system_settings() == {"locale": "en", "volume": 3}


def test_history_network_and_failed_request_reads() -> None:
    with unidos([
        ("RHR", 'RHR;[{"id":1;"dose":0.0012;"flags":"0x0"}]'), *TOKEN, ("CHR", "CHR"), *RELEASE, ("RHR", "RHR;[]"),
        ("REC", 'REC;{"ipv4":{"address":"192.0.2.7";"dhcp":false};"dns":[]}'),
        ("RAC", 'RAC;{"enabled":false;"ssid":"UNIDOS"}'), ("TFI", "TFI;-"),
    ]) as driver:
        assert driver.measurement_history() == [{"id": 1, "dose": 0.0012, "flags": "0x0"}]
        driver.clear_history()
        assert driver.measurement_history() == []
        assert driver.lan_config() == {"ipv4": {"address": "192.0.2.7", "dhcp": False}, "dns": []}
        assert driver.wlan_config() == {"enabled": False, "ssid": "UNIDOS"}
        assert driver.failed_request() == "-"


def test_detector_json_with_semicolons() -> None:
    with unidos([
        ("RDA", 'RDA;[{"guid":"a1";"name":"chamber A";"nominalHv":300};{"guid":"b2";"name":"chamber B"}]'),
        ("RDR;b2", 'RDR;b2;{"guid":"b2";"name":"chamber B";"nominalHv":-100}'),
    ]) as driver:
        assert driver.detectors() == [{"guid": "a1", "name": "chamber A", "nominalHv": 300},
                                      {"guid": "b2", "name": "chamber B"}]
        assert driver.detector("b2") == {"guid": "b2", "name": "chamber B", "nominalHv": -100}


@pytest.mark.parametrize("command, reply, call", [
    ("MV", "MV;RES;2.6;E-3;m;Gy;5.6;E-09;n;Gy;min;3000.0;ms;300.0;V", "read_now"),
    ("MV", NOTES_MV.replace("E-3", "x-3"), "read_now"),
    ("MV", NOTES_MV.replace(";m;Gy;5", ";q;Gy;5"), "read_now"),
    ("MV", NOTES_MV.replace("RES", "SLEEPING"), "read_now"),
    ("MV", NOTES_MV.replace("0x0", "zero"), "read_now"),
    ("MV", NOTES_MV.replace("MV;", "MW;"), "read_now"),
    ("MV", NOTES_MV.replace("2.6", "2,6"), "read_now"),
    ("S", "S;DANCING", "status"),
    ("MAC", "MAC;", "mac_address"),
    ("MVR", "MVR;MEDIUM;0.5;E-12;p;Gy", "range_resolution"),
    ("RDA", "RDA;{not json", "detectors"),
    ("RMR", "RMR;[1", "measurement_parameters"),
])
def test_malformed_replies_are_protocol_errors(command: str, reply: str, call: str) -> None:
    with unidos([(command, reply)]) as driver:
        with pytest.raises(ProtocolError) as caught:
            getattr(driver, call)()
    assert repr(reply) in str(caught.value) and repr(command) in str(caught.value)
    assert caught.value.instrument == "unidos-1"


@pytest.mark.parametrize("value", ["fast", "0 ms", "-5 ms", "3 V"])
def test_a_bad_poll_interval_option_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="poll_interval"):
        PtwUnidos(RESOURCE, transport=ExpectedProtocol([]), poll_interval=value)
    with pytest.raises(ConfigError, match="poll_interval"):
        PtwUnidos.check_options({"poll_interval": value}, owner="ec-1")


# ---- the evidence table ----

SENT = ("PTW", "SER", "MAC", "S", "TOK", "TOK;1", "TOK;0", "RES", "STA", "HLD", "INT", "NUL", "NUS", "AST", "ASS",
        "MV", "MVM", "MVR", "RGE", "RGE;{range}", "HV", "HV;{volts}", "IT", "IT;{seconds}", "ASE", "ASE;{on}",
        "ASR", "ASR;{on}", "UEL", "UEL;{on}", "ASL", "ASL;{level}", "RDA", "RDR;{guid}", "RMR", "RIR", "RSR",
        "RHR", "CHR", "REC", "RAC", "TFI")


def test_the_evidence_table_lists_every_command_the_driver_sends_each_shown_by_the_hardware_tested_client() -> None:
    evidence = PtwUnidos.evidence
    assert tuple(c.text for c in evidence.commands) == SENT
    assert evidence.sources["pymeasure"].kind == "hardware-client"
    assert all("pymeasure" in c.sources for c in evidence.commands)
    assert evidence.level == "HARDWARE-TESTED" and evidence.unshown() == ()
    for sent in ("RGE;VERY_LOW", "HV;-400", "IT;3599999", "ASE;true", "ASL;LOW", "RDR;0f3c-11"):
        assert evidence.find(sent) is not None
    assert evidence.find("TOK;2") is None and evidence.find("WDR") is None


def test_the_evidence_table_records_the_disagreements() -> None:
    text = " ".join(PtwUnidos.evidence.disagreements)
    for topic in ("TOK", "mantissa", "RDR", "E20;"):
        assert topic in text


# ---- done when: `xcal instruments check` against a meter answering the notes' bytes ----

@pytest.fixture
def fixed_unidos() -> Iterator[str]:
    """A loopback TCP server answering PTW, SER and MV with fixed lines, as a UNIDOS would."""
    replies = {b"PTW": b"PTW;UNIDOS Tango;TM10052;1.2.4;A16", b"SER": b"SER;123456",
               b"MV": b"MV;RES;1.234;E-3;m;Gy;5.6;E-09;n;Gy;min;3000.0;ms;300.0;V;0x0"}
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                pending = b""
                while (chunk := conn.recv(1024)):
                    pending += chunk
                    while b"\r\n" in pending:
                        line, pending = pending.split(b"\r\n", 1)
                        conn.sendall(replies.get(line, b"E01") + b"\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"TCPIP::127.0.0.1::{listener.getsockname()[1]}::SOCKET"
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def test_instruments_check_shows_1_234_mgy_and_5_6_ngy_per_min(xcal, fixed_unidos: str) -> None:
    result = xcal("instruments", "check", "--driver", "ptw-unidos", "--resource", fixed_unidos)
    assert result.returncode == 0, result.stderr
    assert "serial 123456" in result.stdout
    assert "1.234 mGy" in result.stdout and "5.6 nGy/min" in result.stdout


# ---- any bytes: only the typed errors ----

PARSERS = [
    lambda text: ptw_unidos.parse_mv(text),
    lambda text: ptw_unidos.parse_identity(text),
    lambda text: ptw_unidos.parse_serial(text),
    lambda text: ptw_unidos.parse_status(text),
    lambda text: ptw_unidos.parse_token("TOK;1", text),
    lambda text: ptw_unidos.parse_echo("RGE;LOW", text),
    lambda text: ptw_unidos.parse_value("HV", text),
    lambda text: ptw_unidos.parse_bool("TOK", text),
    lambda text: ptw_unidos.parse_range_limit("MVM", text),
    lambda text: ptw_unidos.parse_resolution(text),
    lambda text: ptw_unidos.parse_self_test(text),
    lambda text: ptw_unidos.parse_zero_status(text),
    lambda text: ptw_unidos.parse_json("RDA", text),
    lambda text: ptw_unidos.parse_json("RDR;1", text),
]
FIELD = st.sampled_from(["MV", "RES", "HOLD", "2.6", " 136.6", "-1e5", "E-3", "E-12", "E+999", "E9999", "m", "µ",
                         "μ", "u", "p", "", "Gy", "C", "A", "Sv", "min", "s", "ms", "V", "0x0", "0xFFFFFFFF", "nan",
                         "inf", "٣", "NUS", "ASS", "Low", "Passed", "1", "true", "{", "}", "[", "]", '"a"', "TOK",
                         "PTW", "SER", "MVM", "MVR", "MEDIUM", "HV", "RDA"]) | st.text(max_size=6)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=80), st.integers(0, len(PARSERS) - 1))
def test_parsers_raise_only_protocol_or_reported_errors_for_any_bytes(data: bytes, index: int) -> None:
    for text in (data.decode("latin-1"), data.decode("utf-8", errors="replace")):
        with contextlib.suppress(ProtocolError, InstrumentReportedError):
            PARSERS[index](text)


@settings(max_examples=300, deadline=None)
@given(st.lists(FIELD, max_size=19) | st.lists(FIELD, min_size=15, max_size=15).map(lambda f: ["MV", *f])
       | st.lists(FIELD, min_size=18, max_size=18).map(lambda f: ["ASS", *f]), st.integers(0, len(PARSERS) - 1))
def test_parsers_raise_only_protocol_or_reported_errors_for_reply_like_text(fields: list, index: int) -> None:
    with contextlib.suppress(ProtocolError, InstrumentReportedError):
        PARSERS[index](";".join(fields))
