"""The PTW DIAMENTOR driver against exact exchanges written by hand from the protocol notes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcal.drivers import ptw_diamentor
from xcal.drivers.capabilities import DapMeter, InstrumentIdentity
from xcal.drivers.ptw_diamentor import PtwDiamentor
from xcal.errors import ConfigError, InstrumentError, InstrumentReportedError, ProtocolError
from xcal.units import Q_

from .protocol import ExpectedProtocol

RESOURCE = "/dev/ttyUSB3"


class BaudFake(ExpectedProtocol):
    """The fake link, with the baud switch a serial transport offers."""

    baudrate = 9600

    def set_baudrate(self, baud: int) -> None:
        self.baudrate = baud


def driver_for(exchanges: list, **options) -> tuple[PtwDiamentor, BaudFake]:
    fake = BaudFake(exchanges)
    return PtwDiamentor(RESOURCE, name="dap-1", transport=fake, poll_interval=Q_(1, "ms"), **options), fake


def test_class_attributes_and_serial_defaults() -> None:
    assert PtwDiamentor.driver_name == "ptw-diamentor"
    assert PtwDiamentor.capabilities == ("DapMeter",)
    assert PtwDiamentor.protocol_status == "PUBLIC"
    link = PtwDiamentor.link
    assert (link.baudrate, link.bytesize, link.parity, link.stopbits) == (9600, 8, "N", 1)
    assert (link.read_termination, link.write_termination) == ("\r", "\r")
    driver, _ = driver_for([])
    assert isinstance(driver, DapMeter)


def test_a_site_can_override_the_assumed_termination_and_baud() -> None:
    driver, _ = driver_for([], read_termination="\r\n", write_termination="\r\n", baudrate=19200)
    assert (driver.settings.read_termination, driver.settings.baudrate) == ("\r\n", 19200)
    assert driver.options == {"poll_interval": Q_(1, "ms")}


def test_identify() -> None:
    driver, fake = driver_for([("PTW", "CRS 1.2.4"), ("SER", "SER345678")])
    assert driver.identify() == InstrumentIdentity("PTW", "DIAMENTOR CRS", "345678", "1.2.4")
    fake.assert_done()


def test_the_notes_m_example_in_cgy_cm2() -> None:
    driver, fake = driver_for([("U1", "U1"), ("M", "M9999.99,8888.88,222,33")])
    measurement = driver.measure()
    assert measurement.dap == Q_(9999.99, "cGy*cm**2")
    assert measurement.dap_rate == Q_(8888.88, "cGy*cm**2/s")
    assert measurement.exposure_time == Q_(222 * 60 + 33, "s")
    assert measurement.dap.to("Gy*cm**2").magnitude == pytest.approx(99.9999)
    fake.assert_done()


@pytest.mark.parametrize("code, unit, gycm2", [(2, "Gy*cm**2", 1.5), (3, "µGy*m**2", 0.015)])
def test_other_units(code: int, unit: str, gycm2: float) -> None:
    driver, fake = driver_for([(f"U{code}", f"U{code}"), ("M", "M1.50,0.30,0,7,99,abc")], unit=code)
    reading = driver.read_now()
    assert reading["dap"] == Q_(1.5, unit)
    assert reading["dap"].to("Gy*cm**2").magnitude == pytest.approx(gycm2)
    assert reading["dap_rate"] == Q_(0.3, f"{unit}/s")
    fake.assert_done()


def test_arm_wait_and_read_an_exposure() -> None:
    driver, fake = driver_for([
        ("U1", "U1"), ("RES", "RES"), ("M", "M0.00,0.00,0,0"),
        ("M", "M3.10,40.00,0,0"),
        ("M", "M8.12,81.23,0,0"),
        ("M", "M8.12,81.23,0,0"),
        ("M", "M8.12,81.23,0,0"),
    ])
    driver.arm()
    driver.wait_for_exposure(Q_(5, "s"))
    reading = driver.read_exposure()
    assert reading["dap"] == Q_(8.12, "cGy*cm**2")
    assert reading["dap_rate"].to("Gy*cm**2/s").magnitude == pytest.approx(0.8123)
    fake.assert_done()


def test_an_empty_reset_reply_is_accepted() -> None:
    driver, fake = driver_for([("U1", "U1"), ("RES", ""), ("M", "M0.00,0.00,0,0")])
    driver.arm()
    fake.assert_done()


def test_r_cm2_needs_the_sites_kerma_per_exposure() -> None:
    with pytest.raises(ConfigError, match="exposure-area product"):
        PtwDiamentor(RESOURCE, transport=BaudFake([]), unit=4)
    driver, fake = driver_for([("U4", "U4"), ("M", "M100.00,10.00,0,1")], unit=4,
                              kerma_per_exposure="8.76 mGy/R")
    reading = driver.read_exposure()
    assert reading["dap"].to("Gy*cm**2").magnitude == pytest.approx(0.876)      # 100 R·cm² × 8.76 mGy/R
    assert reading["dap_rate"].to("Gy*cm**2/s").magnitude == pytest.approx(0.0876)
    fake.assert_done()


def test_set_unit_to_r_cm2_without_a_factor_is_refused_before_sending() -> None:
    driver, fake = driver_for([])
    with pytest.raises(ConfigError, match="kerma_per_exposure"):
        driver.set_unit(4)
    fake.assert_done()


@pytest.mark.parametrize("options, match", [({"unit": 7}, "unit must be"), ({"unit": "2"}, "unit must be"),
                                            ({"rate_time_base": "week"}, "rate_time_base"),
                                            ({"unit": 4, "kerma_per_exposure": "8.76 mGy"}, "per exposure")])
def test_bad_options_are_config_errors(options: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        PtwDiamentor(RESOURCE, transport=BaudFake([]), **options)


def test_settings_are_echoed() -> None:
    driver, fake = driver_for([
        ("PRE1013", "PRE1013"), ("PRE0950", "PRE0950"), ("TMPA20", "TMPA20"), ("TMPA07", "TMPA07"),
        ("KA4.3000E09", "KA4.3000E09"), ("KFA1.010", "KFA1.010"), ("U2", "U2"),
    ])
    driver.set_pressure(Q_(1013, "hPa"))
    driver.set_pressure(Q_(95.0, "kPa"))
    driver.set_temperature(Q_(20.2, "degC"))
    driver.set_temperature(Q_(280.15, "K"))
    driver.set_calibration_factor(4.3e9)
    driver.set_correction_factor(1.01)
    driver.set_unit(2)
    assert ptw_diamentor.format_ka(1e12) == "KA1.0000E12"
    assert ptw_diamentor.format_ka(9.999e12) == "KA9.9990E12"
    fake.assert_done()


def test_values_outside_the_documented_ranges_are_not_sent() -> None:
    driver, fake = driver_for([])
    for call, value in [(driver.set_pressure, Q_(1600, "hPa")), (driver.set_temperature, Q_(71, "degC")),
                        (driver.set_calibration_factor, 5e7), (driver.set_correction_factor, 10.0),
                        (driver.set_baudrate, 4800), (driver.set_pressure, Q_(1013, "V"))]:
        with pytest.raises(InstrumentError):
            call(value)
    fake.assert_done()


def test_baud_change_reads_the_reply_then_switches_the_port() -> None:
    driver, fake = driver_for([("BR1", "BR1"), ("BR4", "BR4")])
    driver.set_baudrate(19200)
    assert fake.baudrate == 19200 and driver.settings.baudrate == 19200
    driver.set_baudrate(115200)
    assert fake.baudrate == 115200
    fake.assert_done()


def test_a_refused_baud_change_leaves_the_port_alone() -> None:
    driver, fake = driver_for([("BR2", "E9")])
    with pytest.raises(InstrumentReportedError):
        driver.set_baudrate(38400)
    assert fake.baudrate == 9600 and driver.settings.baudrate == 9600
    fake.assert_done()


def test_checks_self_test_constancy_and_crc() -> None:
    driver, fake = driver_for([("TST", "TST0"), ("TST", "E23"), ("G", "GP"), ("G", "GF"), ("CRC", "CRC0,1"),
                               ("CRC", "CRC0,0")])
    driver.self_test()
    with pytest.raises(InstrumentReportedError) as caught:
        driver.self_test()
    assert (caught.value.code, caught.value.meaning) == ("E23", "EEPROM error")
    assert driver.constancy_check() is True
    assert driver.constancy_check() is False
    assert driver.memory_status() == (True, False)
    assert driver.memory_status() == (True, True)
    fake.assert_done()


@pytest.mark.parametrize("code", sorted(ptw_diamentor.ERRORS))
def test_every_documented_error_code_is_typed_with_its_meaning(code: str) -> None:
    driver, fake = driver_for([("PRE1013", code)])
    with pytest.raises(InstrumentReportedError) as caught:
        driver.set_pressure(Q_(1013, "hPa"))
    err = caught.value
    assert (err.code, err.meaning, err.command) == (code, ptw_diamentor.ERRORS[code], "PRE1013")
    assert err.instrument == "dap-1" and err.resource == RESOURCE and err.fix
    fake.assert_done()


def test_an_error_code_the_notes_do_not_list() -> None:
    driver, fake = driver_for([("G", "E42")])
    with pytest.raises(InstrumentReportedError) as caught:
        driver.constancy_check()
    assert caught.value.code == "E42" and "do not list" in caught.value.meaning
    fake.assert_done()


@pytest.mark.parametrize("command, reply, call", [
    ("M", "M1.00;2.00;0;1", "read_now"),
    ("M", "M1.00,2.00,0,75", "read_now"),
    ("M", "N1.00,2.00,0,1", "read_now"),
    ("SER", "SRE345678", "serial"),
    ("G", "GX", "constancy_check"),
    ("CRC", "CRC0", "memory_status"),
    ("TST", "TST1", "self_test"),
    ("PRE1013", "PRE1012", "pressure"),
])
def test_malformed_replies_are_protocol_errors(command: str, reply: str, call: str) -> None:
    prefix = [("U1", "U1")] if command == "M" else []
    driver, fake = driver_for([*prefix, (command, reply)])
    if call == "serial":
        with pytest.raises(ProtocolError) as caught:
            ptw_diamentor.parse_serial(driver.command("SER"), driver.where)
    elif call == "pressure":
        with pytest.raises(ProtocolError) as caught:
            driver.set_pressure(Q_(1013, "hPa"))
    else:
        with pytest.raises(ProtocolError) as caught:
            getattr(driver, call)()
    assert repr(reply) in str(caught.value) and caught.value.instrument == "dap-1"
    fake.assert_done()


PARSERS = [
    lambda text: ptw_diamentor.parse_measurement(text, "cGy*cm**2"),
    lambda text: ptw_diamentor.parse_identity(text),
    lambda text: ptw_diamentor.parse_serial(text),
    lambda text: ptw_diamentor.parse_echo("PRE1013", text),
    lambda text: ptw_diamentor.parse_reset(text),
    lambda text: ptw_diamentor.parse_self_test(text),
    lambda text: ptw_diamentor.parse_constancy(text),
    lambda text: ptw_diamentor.parse_crc(text),
]
PIECE = st.sampled_from(["M", "E", "1", "23", "9999.99", ",", "-", ".", "GP", "CRC", "SER", "TST", "RES",
                         "٣", "\r", "\n", " ", "CRS"]) | st.text(max_size=4)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60) | st.lists(PIECE, max_size=12).map(lambda p: "".join(p).encode("utf-8")),
       st.integers(0, len(PARSERS) - 1))
def test_parsers_raise_only_protocol_or_reported_errors(data: bytes, index: int) -> None:
    for text in (data.decode("latin-1"), data.decode("utf-8", errors="replace")):
        try:
            PARSERS[index](text)
        except (ProtocolError, InstrumentReportedError):
            pass
