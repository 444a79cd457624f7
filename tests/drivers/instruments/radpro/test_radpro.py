"""The Rad Pro driver against exact line exchanges written by hand from the Rad Pro notes."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcal.drivers.capabilities import InstrumentIdentity, SurveyMeter
from xcal.drivers.instruments.radpro import radpro
from xcal.drivers.instruments.radpro.radpro import DatalogRecord, RadPro, pulses_between
from xcal.errors import ConfigError, InstrumentError, InstrumentReportedError, ProtocolError
from xcal.units import Q_

from ...protocol import expected_protocol

T0 = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)     # unix 1700000000


def driver_for(exchanges: list, **options) -> Any:
    """The driver on a fake link allowing exactly `exchanges`, each command checked against its evidence table."""
    return expected_protocol(RadPro, exchanges, resource="/dev/ttyACM0", name="radpro-1", **options)


def test_identify_from_the_device_id() -> None:
    with driver_for([("GET deviceId", "OK FNIRSI GC-01;Rad Pro 2.0;b5706d937087f975b5812810")]) as driver:
        assert isinstance(driver, SurveyMeter)
        assert driver.identify() == InstrumentIdentity("FNIRSI", "GC-01", "b5706d937087f975b5812810", "Rad Pro 2.0")


def test_count_rate_alone_without_a_site_sensitivity() -> None:
    with driver_for([("GET tubeRate", "OK 123.456")]) as driver:
        assert driver.read_now() == {"count_rate": Q_(123.456, "cpm")}


def test_dose_rate_through_the_site_sensitivity_not_the_devices() -> None:
    with driver_for([("GET tubeRate", "OK 1538.000"), ("GET tubeSensitivity", "OK 100.000")],
                    sensitivity="153.8 cpm/(µSv/h)") as driver:
        reading = driver.read_now()
        assert reading["count_rate"] == Q_(1538, "cpm")
        assert reading["dose_rate"].to("µSv/h").magnitude == pytest.approx(10.0)     # 1538 / 153.8, not / 100
        assert driver.read_tube_sensitivity() == Q_(100, "cpm/(µSv/h)")


def test_site_dead_time_corrects_the_count_rate() -> None:
    # 6000 cpm = 100 cps; τ = 1 ms: mτ = 0.1, n = 6000 / 0.9 = 6666.67 cpm
    with driver_for([("GET tubeRate", "OK 6000.000")], dead_time="1 ms") as driver:
        assert driver.read_now()["count_rate"].to("cpm").magnitude == pytest.approx(6666.667, rel=1e-6)


def test_details_report_the_devices_own_figures() -> None:
    with driver_for([
            ("GET deviceBatteryVoltage", "OK 1.421"),
            ("GET deviceTime", "OK 1700000000"),
            ("GET tubeTime", "OK 3600"),
            ("GET tubePulseCount", "OK 4294967290"),
            ("GET tubeSensitivity", "OK 153.800"),
            ("GET tubeDeadTime", "OK 0.0000850"),
            ]) as driver:
        assert driver.details() == {
            "battery_voltage": Q_(1.421, "V"), "device_time": T0, "tube_time": Q_(3600, "s"),
            "tube_pulse_count": 4294967290, "tube_sensitivity": Q_(153.8, "cpm/(µSv/h)"),
            "tube_dead_time": Q_(85e-6, "s")}


def test_pulse_count_differences_wrap_at_2_to_the_32() -> None:
    with driver_for([("GET tubePulseCount", "OK 4294967290"), ("GET tubePulseCount", "OK 5")]) as driver:
        earlier, later = driver.read_pulse_count(), driver.read_pulse_count()
        assert pulses_between(earlier, later) == 11
        assert pulses_between(100, 250) == 150


def test_dose_from_pulses_through_the_site_sensitivity() -> None:
    with driver_for([], sensitivity="153.8 cpm/(µSv/h)") as driver:
        # 153.8 cpm per µSv/h = 9228 pulses per µSv
        assert driver.calibration.dose(9228).to("µSv").magnitude == pytest.approx(1.0)
    with driver_for([]) as driver:
        assert driver.calibration.dose(9228) is None


def test_set_and_get_the_clock() -> None:
    with driver_for([("SET deviceTime 1700000000", "OK"), ("GET deviceTime", "OK 1700000000")]) as driver:
        driver.set_time(datetime(2023, 11, 14, 22, 13, 20))
        assert driver.read_time() == T0


def test_datalog_with_and_without_bounds_and_reset() -> None:
    with driver_for([
            ("GET datalog", "OK time,tubePulseCount;1700000000,100;1700000060,250"),
            ("GET datalog 1700000000 1700000060", "OK time,tubePulseCount;1700000060,250"),
            ("GET datalog 1700000000", "OK time,tubePulseCount"),
            ("RESET datalog", "OK"),
            ]) as driver:
        assert driver.read_datalog() == [DatalogRecord(T0, 100),
                                         DatalogRecord(datetime(2023, 11, 14, 22, 14, 20, tzinfo=UTC), 250)]
        assert len(driver.read_datalog(T0, datetime(2023, 11, 14, 22, 14, 20))) == 1
        assert driver.read_datalog(T0) == []
        driver.reset_datalog()


def test_a_datalog_end_needs_a_start() -> None:
    with driver_for([]) as driver:
        with pytest.raises(InstrumentError, match="needs a start"):
            driver.read_datalog(end=T0)


def test_error_is_the_devices_typed_error() -> None:
    with driver_for([("GET tubeDeadTime", "ERROR")]) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_dead_time()
        err = caught.value
        assert (err.code, err.command, err.instrument, err.resource) == ("ERROR", "GET tubeDeadTime", "radpro-1",
                                                                         "/dev/ttyACM0")
        assert "bad request" in err.meaning


@pytest.mark.parametrize("exchange, call, problem", [
    (("GET tubeRate", "OK fast"), "read_tube_rate", "expected a number, got 'fast'"),
    (("GET tubeRate", "NOPE"), "read_tube_rate", "`OK`, `OK <value>` or `ERROR`, got 'NOPE'"),
    (("GET tubeRate", "OK nan"), "read_tube_rate", "expected a number"),
    (("GET tubePulseCount", "OK 4294967296"), "read_pulse_count", "beyond 4294967295"),
    (("GET tubePulseCount", "OK -1"), "read_pulse_count", "whole number"),
    (("GET deviceId", "OK FNIRSI GC-01;Rad Pro 2.0"), "identify", "<hardware>;<software>;<id>"),
    (("GET datalog", "OK time,count;1,2"), "read_datalog", "header"),
    (("GET datalog", "OK time,tubePulseCount;1700000000"), "read_datalog", "entry"),
    (("RESET datalog", "OK 3"), "reset_datalog", "bare `OK`"),
])
def test_malformed_replies_are_protocol_errors(exchange: tuple, call: str, problem: str) -> None:
    with driver_for([exchange]) as driver:
        with pytest.raises(ProtocolError) as caught:
            getattr(driver, call)()
        assert problem in str(caught.value)
        assert f"radpro-1 (/dev/ttyACM0) answered {exchange[0]!r}" in str(caught.value)


def test_link_is_115200_8n1_sending_crlf_and_reading_to_lf() -> None:
    with driver_for([]) as driver:
        link = driver.settings
    assert (link.baudrate, link.bytesize, link.parity, link.stopbits) == (115200, 8, "N", 1)
    assert (link.write_termination, link.read_termination) == ("\r\n", "\n")   # LF-only replies before 2.0rc5


def test_the_protocol_documents_examples_in_si_units() -> None:
    """Every example exchange of docs/comm.md for a command the driver sends, read back in SI units."""
    with driver_for([
            ("GET deviceId", "OK FS2011 (STM32F051C8);Rad Pro 2.0/en;b5706d937087f975b5812810"),
            ("GET deviceBatteryVoltage", "OK 1.421"),
            ("GET deviceTime", "OK 1690000000"),
            ("SET deviceTime 1690000300", "OK"),
            ("GET tubeTime", "OK 16000"),
            ("GET tubePulseCount", "OK 1500"),
            ("GET tubeRate", "OK 142.857"),
            ("GET tubeSensitivity", "OK 153.800"),
            ("GET tubeDeadTime", "OK 0.0002420"),
            ("GET datalog 1690000000", "OK time,tubePulseCount;;1690000000,1542;1690000060,1618;1690000120,1693"),
            ("RESET datalog", "OK"),
            ]) as driver:
        assert driver.identify() == InstrumentIdentity("FS2011", "FS2011 (STM32F051C8)", "b5706d937087f975b5812810",
                                                       "Rad Pro 2.0/en")
        assert driver.read_battery_voltage().to("V").magnitude == pytest.approx(1.421)
        assert driver.read_time() == datetime(2023, 7, 22, 4, 26, 40, tzinfo=UTC)     # unix 1690000000
        driver.set_time(datetime(2023, 7, 22, 4, 31, 40, tzinfo=UTC))                # 300 s later
        assert driver.read_tube_time().to("s").magnitude == 16000
        assert driver.read_pulse_count() == 1500
        assert driver.read_tube_rate().to("1/s").magnitude == pytest.approx(142.857 / 60)
        assert driver.read_tube_sensitivity().to("1/µSv").magnitude == pytest.approx(153.8 * 60)  # cpm per µSv/h
        assert driver.read_dead_time().to("s").magnitude == pytest.approx(242e-6)
        log = driver.read_datalog(datetime(2023, 7, 22, 4, 26, 40, tzinfo=UTC))
        assert [(int(r.time.timestamp()), r.pulse_count, r.session_start) for r in log] == [
            (1690000000, 1542, True), (1690000060, 1618, False), (1690000120, 1693, False)]
        driver.reset_datalog()


def test_a_session_marker_in_the_middle_of_the_datalog() -> None:
    records = radpro.parse_datalog("time,tubePulseCount;1700000000,100;;1700000600,7;1700000660,90")
    assert [r.session_start for r in records] == [False, True, False]
    with pytest.raises(ProtocolError, match="ends with an empty record"):
        radpro.parse_datalog("time,tubePulseCount;1700000000,100;")


def test_a_reply_read_to_lf_keeps_no_cr() -> None:
    with driver_for([("GET deviceBatteryVoltage", "OK 1.421\r"), ("RESET datalog", "OK\r")]) as driver:
        assert driver.read_battery_voltage() == Q_(1.421, "V")
        driver.reset_datalog()


@pytest.mark.parametrize("hardware, make, model", [("FNIRSI GC-01 (CH32F103C8)", "FNIRSI", "GC-01 (CH32F103C8)"),
                                                   ("Bosean FS-600", "Bosean", "FS-600"),
                                                   ("GQ GMC-800", "GQ", "GMC-800"),
                                                   ("Rad Pro simulator", "Rad", "Pro simulator")])
def test_hardware_ids_of_the_protocol_document(hardware: str, make: str, model: str) -> None:
    assert radpro.split_hardware(hardware) == (make, model)


def test_a_bad_sensitivity_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="sensitivity"), driver_for([], sensitivity="12 kV"):
        pass


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_reply_parsers_raise_only_protocol_or_reported_errors(text: str) -> None:
    parsers = [lambda t: radpro.parse_reply(t, "GET tubeRate"), radpro.parse_number, radpro.parse_unsigned,
               radpro.parse_device_id, radpro.parse_datalog]
    for parser in parsers:
        with contextlib.suppress(ProtocolError, InstrumentReportedError):
            parser(text)


@settings(max_examples=100, deadline=None)
@given(entries=st.lists(st.tuples(st.integers(-5, 2 ** 40), st.integers(-5, 2 ** 33)), max_size=5))
def test_datalog_numbers_out_of_range_are_protocol_errors(entries: list) -> None:
    text = ";".join(["time,tubePulseCount", *(f"{t},{n}" for t, n in entries)])
    try:
        records = radpro.parse_datalog(text)
    except ProtocolError:
        return
    assert [r.pulse_count for r in records] == [n for _, n in entries]
