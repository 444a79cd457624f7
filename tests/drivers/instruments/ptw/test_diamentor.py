"""The PTW DIAMENTOR driver against exact exchanges written by hand from the protocol notes and pymeasure.

Every exchange goes through `xcal.testing.expected_protocol` (whose fake link has a serial port's baud switch), so
a command missing from the driver's evidence table fails the test that sends it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import tty
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcal.drivers.capabilities import DapMeter, InstrumentIdentity
from xcal.drivers.instruments.ptw import diamentor as ptw_diamentor
from xcal.drivers.instruments.ptw.diamentor import PtwDiamentor
from xcal.drivers.settings import settings_of
from xcal.errors import ConfigError, InstrumentError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.testing import refused_setting_cases, setting_cases
from xcal.units import Q_

from ...protocol import ExpectedProtocol, expected_protocol

RESOURCE = "/dev/ttyUSB3"


def meter(exchanges: list, **options: Any) -> Any:
    """The driver on the fake link allowing exactly `exchanges` (and only commands its evidence table lists)."""
    return expected_protocol(PtwDiamentor, exchanges, resource=RESOURCE, name="dap-1",
                             poll_interval=Q_(1, "ms"), **options)


# ---- link: CR LF out, read to LF ----

def test_class_attributes_and_the_hardware_tested_line_ends() -> None:
    assert PtwDiamentor.driver_name == "ptw-diamentor"
    assert PtwDiamentor.capabilities == ("DapMeter",)
    assert PtwDiamentor.protocol_status == "PUBLIC"
    link = PtwDiamentor.link
    assert (link.baudrate, link.bytesize, link.parity, link.stopbits) == (9600, 8, "N", 1)
    assert (link.write_termination, link.read_termination) == ("\r\n", "\n")
    with meter([]) as driver:
        assert isinstance(driver, DapMeter)


def test_a_site_can_still_set_the_baud_rate() -> None:
    with meter([], baudrate=19200) as driver:
        assert driver.settings.baudrate == 19200


def _answer_once(master: int, reply: bytes, sent: list[bytes]) -> None:
    got = b""
    while not got.endswith(b"\n"):
        got += os.read(master, 64)
    sent.append(got)
    os.write(master, reply)


@pytest.mark.parametrize("reply, passed", [(b"GP\r\n", True), (b"GF\n", False)])
def test_a_command_goes_out_with_cr_lf_and_the_reply_is_read_up_to_lf(reply: bytes, passed: bool) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    sent: list[bytes] = []
    try:
        with PtwDiamentor(os.ttyname(slave), name="dap-1", timeout=Q_(2, "s")) as driver:
            helper = threading.Thread(target=_answer_once, args=(master, reply, sent), daemon=True)
            helper.start()
            assert driver.constancy_check() is passed
            helper.join(2)
    finally:
        os.close(master)
        os.close(slave)
    assert sent == [b"G\r\n"]


# ---- identity ----

def test_identify() -> None:
    with meter([("PTW", "CRS 1.2.4"), ("SER", "SER345678")]) as driver:
        assert driver.identify() == InstrumentIdentity("PTW", "DIAMENTOR CRS", "345678", "1.2.4")


def test_a_carriage_return_left_by_the_lf_read_is_stripped() -> None:
    with meter([("PTW", "CRS 1.2.4\r"), ("SER", "SER004711\r")]) as driver:
        identity = driver.identify()
    assert (identity.firmware, identity.serial) == ("1.2.4", "004711")


@pytest.mark.parametrize("reply", ["SERDIA-20455", "SER", "SER 345678", "SER34567A"])
def test_a_serial_that_is_not_digits_is_refused(reply: str) -> None:
    with meter([("PTW", "CRS 1.2.4"), ("SER", reply)]) as driver:
        with pytest.raises(ProtocolError) as caught:
            driver.identify()
    assert repr(reply) in str(caught.value) and "digits" in str(caught.value)


# ---- checks ----

@pytest.mark.parametrize("reply", ["", "\r"])
def test_a_passed_self_test_answers_an_empty_line(reply: str) -> None:
    with meter([("TST", reply)]) as driver:
        assert driver.self_test() is None


def test_a_failed_self_test_is_the_typed_error_and_anything_else_a_protocol_error() -> None:
    with meter([("TST", "E23"), ("TST", "TST0"), ("TST", "TST")]) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.self_test()
        assert (caught.value.code, caught.value.meaning, caught.value.command) == ("E23", "EEPROM error", "TST")
        for _ in range(2):
            with pytest.raises(ProtocolError):
                driver.self_test()


def test_constancy_check_and_crc_flags() -> None:
    with meter([("G", "GP"), ("G", "GF"), ("CRC", "CRC0,1"), ("CRC", "CRC1,0")]) as driver:
        assert driver.constancy_check() is True
        assert driver.constancy_check() is False
        assert driver.memory_status() == (True, False)      # EEPROM ok, not calibrated
        assert driver.memory_status() == (False, True)


@pytest.mark.parametrize("reply", ["", "RES"])
def test_reset_takes_an_empty_line_or_its_echo(reply: str) -> None:
    with meter([("RES", reply)]) as driver:
        driver.reset()


# ---- readings in the unit the meter shows ----

def test_m_is_read_in_the_unit_the_meter_says_it_shows() -> None:
    with meter([("U", "U1"), ("M", "M9999.99,8888.88,222,33")]) as driver:
        measurement = driver.measure()
    assert measurement.dap == Q_(9999.99, "cGy*cm**2")
    assert measurement.dap_rate == Q_(8888.88, "cGy*cm**2/s")
    assert measurement.exposure_time == Q_(13353, "s")                  # 222 × 60 + 33
    assert measurement.dap.to("Gy*m**2").magnitude == pytest.approx(9999.99e-6)   # 1 cGy·cm² = 1e-6 Gy·m²


@pytest.mark.parametrize("code, unit, gy_cm2", [(2, "Gy*cm**2", 1.5), (3, "µGy*m**2", 0.015)])
def test_the_other_kerma_units(code: int, unit: str, gy_cm2: float) -> None:
    with meter([("U", f"U{code}"), ("M", "M1.50,0.30,0,7")]) as driver:
        reading = driver.read_now()
    assert reading["dap"] == Q_(1.5, unit)
    assert reading["dap"].to("Gy*cm**2").magnitude == pytest.approx(gy_cm2)   # 1 µGy·m² = 1e-6 Gy × 1e4 cm²
    assert reading["dap_rate"] == Q_(0.3, f"{unit}/s")


def test_the_unit_option_selects_the_unit_once_then_the_meter_is_asked() -> None:
    with meter([("U2", "U2"), ("M", "M1.00,0.00,0,1"), ("U", "U3"), ("M", "M2.00,0.00,0,2")], unit=2) as driver:
        assert driver.read_now()["dap"] == Q_(1.0, "Gy*cm**2")
        assert driver.read_now()["dap"] == Q_(2.0, "µGy*m**2")            # changed at the panel: read as shown


def test_r_cm2_needs_the_sites_kerma_per_exposure() -> None:
    with pytest.raises(ConfigError, match="exposure-area product"):
        PtwDiamentor(RESOURCE, transport=ExpectedProtocol([]), unit=4)
    with meter([("U4", "U4"), ("M", "M100.00,10.00,0,1")], unit=4, kerma_per_exposure="8.76 mGy/R") as driver:
        reading = driver.read_exposure()
    assert reading["dap"].to("Gy*cm**2").magnitude == pytest.approx(0.876)      # 100 R·cm² × 8.76 mGy/R
    assert reading["dap_rate"].to("Gy*cm**2/s").magnitude == pytest.approx(0.0876)


def test_a_meter_showing_r_cm2_without_a_kerma_factor_gives_no_dap() -> None:
    with meter([("U", "U4"), ("M", "M100.00,10.00,0,1"), ("U", "U4"), ("M", "M100.00,10.00,0,1")]) as driver:
        assert driver.measure().dap == Q_(100, "R*cm**2")                  # the exposure-area product itself
        with pytest.raises(InstrumentError, match="R·cm²") as caught:
            driver.read_now()
    assert "kerma_per_exposure" in caught.value.fix


def test_m_fields_after_the_fourth_are_not_read() -> None:
    with meter([("U", "U1"), ("M", "M1.50,0.30,0,7,99,abc")]) as driver:
        assert driver.measure().exposure_time == Q_(7, "s")


def test_arm_wait_and_read_an_exposure() -> None:
    with meter([
        ("RES", ""), ("U", "U1"), ("M", "M0.00,0.00,0,0"),
        ("U", "U1"), ("M", "M3.10,40.00,0,0"),
        ("U", "U1"), ("M", "M8.12,81.23,0,0"),
        ("U", "U1"), ("M", "M8.12,81.23,0,0"),
        ("U", "U1"), ("M", "M8.12,81.23,0,0"),
    ]) as driver:
        driver.arm()
        driver.wait_for_exposure(Q_(5, "s"))
        reading = driver.read_exposure()
    assert reading["dap"] == Q_(8.12, "cGy*cm**2")
    assert reading["dap_rate"].to("Gy*cm**2/s").magnitude == pytest.approx(0.8123)


def test_no_exposure_in_time_is_a_timeout_naming_the_meter() -> None:
    with meter([("U", "U1"), ("M", "M0.00,0.00,0,0")]) as driver:
        with pytest.raises(InstrumentTimeout) as caught:
            driver.wait_for_exposure(Q_(1, "ns"))
    assert "dap-1" in str(caught.value) and RESOURCE in str(caught.value)


# ---- settings, declared once ----

SETTING_LINES = [
    ("pressure", Q_(500, "hPa"), "PRE0500"), ("pressure", Q_(1500, "hPa"), "PRE1500"),
    ("temperature", Q_(0, "degC"), "TMPA00"), ("temperature", Q_(70, "degC"), "TMPA70"),
    ("dap_unit", 1, "U1"), ("dap_unit", 2, "U2"), ("dap_unit", 3, "U3"), ("dap_unit", 4, "U4"),
    ("calibration_factor", 1e8, "KA1.0000E08"), ("calibration_factor", 9.999e12, "KA9.9990E12"),
    ("correction_factor", 0.0, "KFA0.000"), ("correction_factor", 9.999, "KFA9.999"),
    ("baudrate", 9600, "BR0"), ("baudrate", 19200, "BR1"), ("baudrate", 38400, "BR2"), ("baudrate", 57600, "BR3"),
    ("baudrate", 115200, "BR4"),
]
"""Each end of each range and every choice, as the notes write them (PRE%04d, TMPA%02d, KA%.4E without '+')."""


def test_the_declared_settings_give_the_lines_the_notes_give() -> None:
    assert sorted(setting_cases(PtwDiamentor), key=repr) == sorted(SETTING_LINES, key=repr)
    letters = {name: setting.get for name, setting in settings_of(PtwDiamentor).items()}
    assert letters == {"pressure": "PRE", "temperature": "TMPA", "dap_unit": "U", "calibration_factor": "KA",
                       "correction_factor": "KFA", "baudrate": "BR"}


@pytest.mark.parametrize("name, value, line", setting_cases(PtwDiamentor))
def test_each_setting_is_echoed_and_read_back_by_its_letters(name: str, value: Any, line: str) -> None:
    letters = settings_of(PtwDiamentor)[name].get
    with meter([(line, line), (letters, line)]) as driver:
        setattr(driver, name, value)
        assert getattr(driver, name) == value


@pytest.mark.parametrize("name, value", [*refused_setting_cases(PtwDiamentor),
                                         ("pressure", Q_(1013.5, "hPa")), ("pressure", Q_(1013, "V")),
                                         ("pressure", 1013), ("temperature", Q_(20.5, "degC")),
                                         ("dap_unit", 5), ("dap_unit", 0), ("dap_unit", True),
                                         ("calibration_factor", 5e7), ("calibration_factor", 1e13),
                                         ("correction_factor", 10.0), ("correction_factor", -0.001),
                                         ("baudrate", 4800), ("baudrate", "9600")])
def test_a_value_outside_the_notes_ranges_is_refused_before_any_byte(name: str, value: Any) -> None:
    with meter([]) as driver, pytest.raises(InstrumentError, match=name):
        setattr(driver, name, value)


def test_the_notes_getter_examples() -> None:
    with meter([("PRE", "PRE0500"), ("TMPA", "TMPA00"), ("U", "U1"), ("KA", "KA1.3356E11"), ("KFA", "KFA3.870"),
                ("BR", "BR0")]) as driver:
        assert driver.pressure == Q_(500, "hPa")
        assert driver.temperature == Q_(0, "degC")
        assert driver.dap_unit == 1
        assert driver.calibration_factor == pytest.approx(1.3356e11)
        assert driver.correction_factor == pytest.approx(3.87)
        assert driver.baudrate == 9600


def test_values_are_converted_to_the_meters_units_first() -> None:
    with meter([("PRE0950", "PRE0950"), ("TMPA07", "TMPA07"), ("KA4.3000E09", "KA4.3000E09"),
                ("KFA1.010", "KFA1.010")]) as driver:
        driver.pressure = Q_(95.0, "kPa")
        driver.temperature = Q_(280.15, "K")
        driver.calibration_factor = 4.3e9
        driver.correction_factor = 1.01


@pytest.mark.parametrize("command, reply", [("PRE", "TMPA20"), ("U", "U7"), ("KFA", "KFAx"), ("BR", "BR9"),
                                            ("TMPA", "TMPA2.5")])
def test_a_getter_reply_that_does_not_fit_is_a_protocol_error(command: str, reply: str) -> None:
    name = {"PRE": "pressure", "U": "dap_unit", "KFA": "correction_factor", "BR": "baudrate",
            "TMPA": "temperature"}[command]
    with meter([(command, reply)]) as driver, pytest.raises(ProtocolError) as caught:
        getattr(driver, name)
    assert caught.value.instrument == "dap-1"


def test_a_setting_not_echoed_is_a_protocol_error() -> None:
    with meter([("PRE1013", "PRE1012")]) as driver, pytest.raises(ProtocolError, match="'PRE1012'"):
        driver.pressure = Q_(1013, "hPa")


def test_a_baud_change_reads_the_reply_then_switches_the_port() -> None:
    with meter([("BR1", "BR1"), ("BR4", "BR4")]) as driver:
        driver.baudrate = 19200
        assert driver.transport.baudrate == 19200 and driver.settings.baudrate == 19200
        driver.baudrate = 115200
        assert driver.transport.baudrate == 115200


def test_a_refused_baud_change_leaves_the_port_alone() -> None:
    with meter([("BR2", "E9")]) as driver:
        with pytest.raises(InstrumentReportedError):
            driver.baudrate = 38400
        assert driver.transport.baudrate == 9600 and driver.settings.baudrate == 9600


@pytest.mark.parametrize("code", sorted(ptw_diamentor.ERRORS))
def test_every_documented_error_code_is_typed_with_its_meaning(code: str) -> None:
    with meter([("PRE1013", code)]) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.pressure = Q_(1013, "hPa")
    err = caught.value
    assert (err.code, err.meaning, err.command) == (code, ptw_diamentor.ERRORS[code], "PRE1013")
    assert err.instrument == "dap-1" and err.resource == RESOURCE and err.fix


def test_an_error_code_answering_a_getter_is_typed_too() -> None:
    with meter([("KA", "E7")]) as driver, pytest.raises(InstrumentReportedError) as caught:
        _ = driver.calibration_factor
    assert (caught.value.code, caught.value.command) == ("E7", "KA")


def test_an_error_code_the_notes_do_not_list() -> None:
    with meter([("G", "E42")]) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.constancy_check()
    assert caught.value.code == "E42" and "do not list" in caught.value.meaning


@pytest.mark.parametrize("command, reply, call", [
    ("M", "M1.00;2.00;0;1", "read_now"),
    ("M", "M1.00,2.00,0,75", "read_now"),
    ("M", "N1.00,2.00,0,1", "read_now"),
    ("G", "GX", "constancy_check"),
    ("CRC", "CRC0", "memory_status"),
    ("RES", "RES0", "reset"),
])
def test_malformed_replies_are_protocol_errors(command: str, reply: str, call: str) -> None:
    prefix = [("U", "U1")] if command == "M" else []
    with meter([*prefix, (command, reply)]) as driver:
        with pytest.raises(ProtocolError) as caught:
            getattr(driver, call)()
    assert repr(reply) in str(caught.value) and caught.value.instrument == "dap-1"


# ---- options ----

@pytest.mark.parametrize("options, match", [
    ({"unit": 7}, "unit"), ({"unit": "cGy"}, "unit"), ({"rate_time_base": "week"}, "rate_time_base"),
    ({"unit": 4, "kerma_per_exposure": "8.76 mGy"}, "per exposure"), ({"kerma_per_exposure": "-1 mGy/R"}, "per "),
    ({"poll_interval": "0 ms"}, "poll_interval"), ({"poll_interval": "5 V"}, "poll_interval"),
])
def test_bad_options_are_config_errors_at_site_load_and_at_open(options: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        PtwDiamentor.check_options(options, owner="instrument dap-1")
    with pytest.raises(ConfigError, match=match):
        PtwDiamentor(RESOURCE, transport=ExpectedProtocol([]), **options)


def test_option_values() -> None:
    with meter([], unit="2", kerma_per_exposure="8.76 mGy/R") as driver:
        values = driver.option_values
    assert values["unit"] == 2 and values["rate_time_base"] == "s"
    assert values["kerma_per_exposure"].to("mGy/R").magnitude == pytest.approx(8.76)
    assert values["poll_interval"] == Q_(1, "ms")


# ---- evidence ----

DEVICE_TESTED = {"PTW", "SER", "M", "RES", "TST", "G", "CRC", "U", "U{code}", "PRE", "PRE{hpa}", "TMPA",
                 "TMPA{celsius}", "KA", "KFA", "BR"}
"""What pymeasure's test_ptwDIAMENTOR_with_device.py sends to the meter: every query, and the changes of PRE, TMPA
and U; KA, KFA and BR it only reads."""


def test_every_command_is_shown_by_pymeasure_and_the_device_tested_ones_by_its_device_tests() -> None:
    evidence = PtwDiamentor.evidence
    assert evidence is not None
    assert evidence.sources["pymeasure"].kind == "hardware-client"
    levels = {command.text: evidence.level_of(command) for command in evidence.commands}
    assert {text for text, level in levels.items() if level == "HARDWARE-TESTED"} == DEVICE_TESTED
    assert {text for text, level in levels.items() if level != "HARDWARE-TESTED"} == {
        "KA{factor}", "KFA{factor}", "BR{code}"}
    assert evidence.level == "THIRD-PARTY" and not evidence.unshown()
    for command in evidence.commands:
        assert {"pymeasure", "pymeasure-code"} & set(command.sources), command.text
    sent = ["PTW", "SER", "M", "RES", "TST", "G", "CRC", *(line for _, _, line in SETTING_LINES),
            *(setting.get for setting in settings_of(PtwDiamentor).values())]
    assert all(evidence.find(line) is not None for line in sent)
    topics = " ".join(evidence.disagreements)
    for word in ("\\r\\n", "read back", "empty line", "nine", "serial", "BR"):
        assert word in topics, word


# ---- robustness ----

PARSERS = [
    lambda text: ptw_diamentor.parse_measurement(text, 1),
    lambda text: ptw_diamentor.parse_identity(text),
    lambda text: ptw_diamentor.parse_serial(text),
    lambda text: ptw_diamentor.parse_echo("PRE1013", text),
    lambda text: ptw_diamentor.parse_reset(text),
    lambda text: ptw_diamentor.parse_self_test(text),
    lambda text: ptw_diamentor.parse_constancy(text),
    lambda text: ptw_diamentor.parse_crc(text),
    lambda text: ptw_diamentor.reply_value("KFA", "KFA", text),
]
PIECE = st.sampled_from(["M", "E", "1", "23", "9999.99", ",", "-", ".", "GP", "CRC", "SER", "TST", "RES",
                         "٣", "\r", "\n", " ", "CRS", "KFA"]) | st.text(max_size=4)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60) | st.lists(PIECE, max_size=12).map(lambda p: "".join(p).encode("utf-8")),
       st.integers(0, len(PARSERS) - 1))
def test_parsers_raise_only_protocol_or_reported_errors(data: bytes, index: int) -> None:
    for text in (data.decode("latin-1"), data.decode("utf-8", errors="replace")):
        with contextlib.suppress(ProtocolError, InstrumentReportedError):
            PARSERS[index](text)
