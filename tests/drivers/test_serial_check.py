"""Every driver refuses a meter whose serial number is not the site file's (xcal.drivers.base.check_serial).

The exchanges are the identity exchanges written from the protocol notes (as in each driver's own tests); the
site serials are chosen by hand to match or not.
"""

from __future__ import annotations

from typing import Any

import pytest

from xcal.drivers.base import Driver, SerialMismatch, serial_key
from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.generic.declarative import DeclarativeDriver
from xcal.drivers.generic.manual import ManualEntry
from xcal.drivers.instruments.gq.gmc import GqGmc
from xcal.drivers.instruments.keithley.electrometers import Keithley6517B
from xcal.drivers.instruments.ptw.diamentor import PtwDiamentor
from xcal.drivers.instruments.ptw.unidos import PtwUnidos
from xcal.drivers.instruments.radpro.radpro import RadPro
from xcal.drivers.instruments.standard_imaging.max4000 import StandardImagingMax4000
from xcal.drivers.instruments.thermo.radeye import ThermoRadEye
from xcal.errors import InstrumentError
from xcal.units import Q_

from .protocol import ExpectedProtocol, expected_protocol

WAKE = (b"@", b">")

# driver class, its options, the identity exchanges of the protocol notes, the serial the meter reports there
IDENTIFY: dict[str, tuple[type, dict[str, Any], list, str]] = {
    "ptw-unidos": (PtwUnidos, {}, [("PTW", "PTW;UNIDOS Tango;TM10052;1.2.4;A16"), ("SER", "SER;123456")],
                   "123456"),
    "ptw-diamentor": (PtwDiamentor, {}, [("PTW", "CRS 1.2.4"), ("SER", "SER345678")], "345678"),
    "keithley-6517b": (Keithley6517B, {}, [("*IDN?", "KEITHLEY INSTRUMENTS INC.,MODEL 6517B,1234567,A13/700x")],
                       "1234567"),
    "si-max4000": (StandardImagingMax4000, {}, [(b"\x03\n", None),
                                               (b"*IDN?\n", b"Standard Imaging,MAX 4000,40123,2.05\r\n=>")],
                   "40123"),
    "gq-gmc": (GqGmc, {}, [(b"<GETVER>>", b"GMC-300Re 2.10"), (b"<GETSERIAL>>", b"\xf4\x88\xe1\xa7\xb2\xc3\xd4")],
               "F488E1A7B2C3D4"),
    "radpro": (RadPro, {}, [("GET deviceId", "OK FNIRSI GC-01;Rad Pro 2.0;b5706d937087f975b5812810")],
               "b5706d937087f975b5812810"),
    "thermo-radeye": (ThermoRadEye, {"count_rate_unit": "cps"},
                      [WAKE, (b">Vx\n", b">FH41B2#\n"), WAKE, (b">#R\n", b">123456#\n")], "123456"),
}


def _driver(key: str, expected: str | None) -> Any:
    cls, options, exchanges, _ = IDENTIFY[key]
    return expected_protocol(cls, exchanges, encoding="utf-8", name="meter-7", expected_serial=expected, **options)


@pytest.mark.parametrize("key", sorted(IDENTIFY))
def test_the_site_serial_passes(key: str) -> None:
    with _driver(key, IDENTIFY[key][3]) as driver:
        assert driver.identify().serial == IDENTIFY[key][3]


@pytest.mark.parametrize("key", sorted(IDENTIFY))
def test_another_serial_is_refused_with_both_serials_and_the_fix(key: str) -> None:
    with _driver(key, "SITE-0099") as driver, pytest.raises(SerialMismatch) as caught:
        driver.identify()
    err = caught.value
    assert isinstance(err, InstrumentError) and err.exit_code == 3
    assert (err.instrument, err.resource) == ("meter-7", "FAKE::INSTR")
    assert "meter-7" in err.message and IDENTIFY[key][3] in err.message and "SITE-0099" in err.message
    assert "connect the meter with serial SITE-0099" in err.fix and "site file" in err.fix


@pytest.mark.parametrize("key", sorted(IDENTIFY))
def test_without_a_site_serial_nothing_is_checked(key: str) -> None:
    with _driver(key, None) as driver:
        assert driver.identify().serial == IDENTIFY[key][3]


def gmc(serial: bytes) -> Any:
    """A GMC-320 reporting `serial` on a fake link, with the site's serial 0320-77A1."""
    return expected_protocol(GqGmc, [(b"<GETVER>>", b"GMC-320Re 4.27"), (b"<GETSERIAL>>", serial)],
                             resource="/dev/ttyUSB0", name="gm-1", expected_serial="0320-77A1")


def test_a_garbled_gq_serial_is_refused() -> None:
    """The reviewer's case: GETSERIAL garbled to FF D0 A1 CB BD 88 AE while the site says 0320-77A1."""
    with gmc(b"\xff\xd0\xa1\xcb\xbd\x88\xae") as driver:
        with pytest.raises(SerialMismatch, match=r"gm-1 .*FFD0A1CBBD88AE.*0320-77A1"):
            driver.identify()


def test_a_gq_serial_zero_padded_to_7_bytes_is_the_site_serial() -> None:
    with gmc(b"\x00\x00\x00\x03\x20\x77\xa1") as driver:
        assert driver.identify().serial == "000000032077A1"


def test_the_declarative_driver_checks_the_serial_too(example_map) -> None:
    exchanges = [(b"*IDN?", b"Example Instruments,XR-1,XR1-00042,2.1.0")]
    for expected in ("XR1-00042", "XR1-004217"):
        with expected_protocol(DeclarativeDriver, exchanges, resource="TCPIP::192.0.2.1::5025::SOCKET",
                               command_map=example_map, name="kvp-1", expected_serial=expected) as driver:
            if expected == "XR1-00042":
                assert driver.identify().serial == "XR1-00042"
            else:
                with pytest.raises(SerialMismatch, match="kvp-1 .*XR1-00042.*XR1-004217"):
                    driver.identify()


def test_an_identity_from_the_options_is_not_the_meters_so_it_is_not_checked() -> None:
    driver = ManualEntry("console", name="kvp-2", ask=lambda _: "", expected_serial="X2-9999",
                         make="RaySafe", model="X2", serial="X2-1234")
    assert driver.identify().serial == "X2-1234"
    assert "expected_serial" not in driver.options


@pytest.mark.parametrize("site, reported, same", [
    ("0320-77A1", "000000032077A1", True),      # GQ: 7 bytes as hex, zero-padded
    ("T10052-0311", "t10052 0311", True),       # case, space and dash do not count
    ("T10052-0311", "T10052-0312", False),
    ("0320-77A1", "FFD0A1CBBD88AE", False),
    ("A1", "A10", False),                       # trailing zeros do
])
def test_serials_compare_without_case_separators_and_leading_zeros(site: str, reported: str, same: bool) -> None:
    assert (serial_key(site) == serial_key(reported)) is same


def test_a_third_party_driver_gets_the_check_on_its_own_identify() -> None:
    class Meter(Driver):
        driver_name = "example-meter"

        def identify(self) -> InstrumentIdentity:
            return InstrumentIdentity("Example", "RM-1", "42", "1.0")

    class MeterMk2(Meter):
        def identify(self) -> InstrumentIdentity:
            return super().identify()

    for cls in (Meter, MeterMk2):
        assert cls("FAKE::INSTR", name="rm-1", transport=ExpectedProtocol([]),
                   expected_serial="0042").identify().serial == "42"
        with pytest.raises(SerialMismatch, match="rm-1 .*42.*43"):
            cls("FAKE::INSTR", name="rm-1", transport=ExpectedProtocol([]), expected_serial="43").identify()


def test_the_timeout_and_options_still_reach_the_driver_with_a_site_serial() -> None:
    driver = PtwUnidos("FAKE::INSTR", name="meter-7", transport=ExpectedProtocol([]), expected_serial="123456")
    assert driver.expected_serial == "123456" and "expected_serial" not in driver.options
    fake = ExpectedProtocol([])
    gmc = GqGmc("/dev/ttyUSB0", name="gm-1", transport=fake, expected_serial="1", timeout=Q_(2, "s"),
                sensitivity="153.8 cpm/(µSv/h)")
    assert gmc.settings.timeout == Q_(2, "s") and gmc.calibration.sensitivity is not None
