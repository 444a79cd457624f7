"""Simulators report the serial the site gives them, and a driver given the site serial refuses any other."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from xcal.demo.wiring import start_simulator
from xcal.drivers.base import SerialMismatch
from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.check import check
from xcal.drivers.instruments.gq.gmc import GqGmc
from xcal.drivers.registry import get_driver_class
from xcal.errors import ConfigError
from xcal.simulators.gq_gmc import GmcSimulator, serial_bytes
from xcal.simulators.ptw_unidos import UnidosSimulator
from xcal.simulators.server import WireFault, serve_pty, serve_tcp
from xcal.site import load_site
from xcal.units import Q_

GMC_320 = InstrumentIdentity("GQ Electronics", "GMC-320", "0320-77A1", "4.27")


@pytest.mark.parametrize("serial, sent", [
    ("0320-77A1", b"\x00\x00\x00\x03\x20\x77\xa1"),      # separators dropped, zero-padded to 7 bytes
    ("F488E1A7B2C3D4", b"\xf4\x88\xe1\xa7\xb2\xc3\xd4"),
    ("0102030405060a", b"\x01\x02\x03\x04\x05\x06\x0a"),
])
def test_getserial_sends_the_site_serial_as_7_bytes(serial: str, sent: bytes) -> None:
    assert serial_bytes(serial) == sent
    assert GmcSimulator(InstrumentIdentity("GQ Electronics", "GMC-320", serial, "4.27")).respond(b"GETSERIAL") \
        == sent


@pytest.mark.parametrize("serial", ["0320-5H21", "F488E1A7B2C3D4E5", ""])
def test_a_serial_no_gq_counter_can_report_is_refused(serial: str) -> None:
    with pytest.raises(ConfigError, match="14 hex"):
        serial_bytes(serial)


def test_every_demo_instrument_reports_the_demo_sites_serial() -> None:
    site = load_site(Path(str(resources.files("xcal.demo") / "site.yaml")))
    simulated = [inst for inst in site.instruments.values() if inst.simulated]
    assert {inst.driver for inst in simulated} >= {"declarative", "ptw-unidos", "ptw-diamentor", "gq-gmc"}
    for inst in simulated:
        server = start_simulator(inst, None, None)
        try:
            driver = get_driver_class(inst.driver)(server.resource, name=inst.id, timeout=Q_(2, "s"),
                                                   expected_serial=inst.serial, **inst.options)
            try:
                assert driver.identify().serial, inst.id      # a serial was reported, and it was the site's
            finally:
                driver.close()
        finally:
            server.stop()


def test_a_gq_counter_with_a_garbled_serial_reply_is_not_used() -> None:
    """GETVER answers, then GETSERIAL and everything after is garbled, as in the reviewer's run."""
    with serve_pty(GmcSimulator(GMC_320), faults=[WireFault("garble", after=2)], name="gm-1") as server:
        driver = GqGmc(server.resource, name="gm-1", timeout=Q_(0.5, "s"), expected_serial="0320-77A1")
        try:
            with pytest.raises(SerialMismatch, match=r"gm-1 .*but the site file gives 0320-77A1"):
                driver.identify()
        finally:
            driver.close()


def test_the_same_counter_unharmed_passes_the_check() -> None:
    with serve_pty(GmcSimulator(GMC_320), name="gm-1") as server:
        driver = GqGmc(server.resource, name="gm-1", timeout=Q_(0.5, "s"), expected_serial="0320-77A1")
        try:
            assert driver.identify().serial == "000000032077A1"
        finally:
            driver.close()


def test_instrument_check_refuses_the_wrong_meter() -> None:
    with serve_tcp(UnidosSimulator(InstrumentIdentity("PTW", "UNIDOS Tango", "123456", "1.2.4"))) as server:
        assert check("ptw-unidos", server.resource, name="ec-1", expected_serial="123456",
                     timeout=Q_(2, "s")).identity.serial == "123456"
        with pytest.raises(SerialMismatch, match="ec-1 .*123456.*T10052-0311"):
            check("ptw-unidos", server.resource, name="ec-1", expected_serial="T10052-0311", timeout=Q_(2, "s"))
