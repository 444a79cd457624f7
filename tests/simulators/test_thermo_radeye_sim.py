"""The RadEye simulator's bytes, and the RadEye driver against it over a real pty."""

from __future__ import annotations

from datetime import datetime
from typing import Iterator

import numpy as np
import pytest

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.thermo_radeye import ThermoRadEye
from xcal.errors import ConnectionLost, InstrumentTimeout, ProtocolError
from xcal.simulators.server import PtySimServer, WireFault, serve_pty
from xcal.simulators.thermo_radeye import RadEyeSimulator
from xcal.units import Q_

IDENTITY = InstrumentIdentity("Thermo", "RadEye G20-10", "G20-4711", "unknown")
SHORT = Q_(0.3, "s")
NORMAL = Q_(3, "s")
FIXED = datetime(2024, 3, 15, 10, 15, 2)


def test_wake_then_commands_framed_with_gt_and_hash() -> None:
    sim = RadEyeSimulator(IDENTITY, clock=lambda: FIXED, calibration_date="230115")
    assert sim.respond(b">Vx") is None                                # asleep: no answer
    assert sim.respond(b"@") == b">"
    assert sim.respond(b">Vx") == b">FH41B2#\n"
    assert sim.respond(b">#R") == b">G20-4711#\n"
    assert sim.respond(b">ZR") == b">240315101502#\n"
    assert sim.respond(b">WR") == b">230115#\n"
    assert sim.respond(b">Q7") is None                                # unknown: silence
    assert sim.split(bytearray(b"@>Z\r\n@>Vx\n>W")) == [b"@", b">Z", b"@", b">Vx"]
    assert (sim.command_of(b"@"), sim.command_of(b">ZR"), sim.command_of(b"ZR")) == ("@", "ZR", None)


def test_z_fields_follow_the_field_with_poisson_noise() -> None:
    sim = RadEyeSimulator(device_type="PRD2", sensitivity_cps_per_usv_h=100.0, background_usv_h=0.0, seed=1)
    sim.set_field(10.0)                                               # 1000 cps expected
    sim.respond(b"@")
    first = [int(sim.respond(b">Z").strip(b">#\n").split()[0]) for _ in range(200)]
    assert sum(first) / len(first) == pytest.approx(1000, rel=0.01)
    assert 20 < float(np.std(first)) < 45          # sqrt(1000) ≈ 31.6
    g20 = RadEyeSimulator(sensitivity_cps_per_usv_h=1e6, background_usv_h=0.0)
    g20.set_field(2.0)
    g20.respond(b"@")
    fields = g20.respond(b">Z").strip(b">#\n").split()
    assert int(fields[0]) == pytest.approx(200, abs=1)               # 2 µSv/h = 200 × 10 nSv/h
    with pytest.raises(ValueError):
        sim.set_field(-1.0)


def test_auto_send_streams_z_records_until_x0() -> None:
    sim = RadEyeSimulator(auto_send_period_s=1.0)
    sim.respond(b"@")
    assert sim.unsolicited(0.0) is None
    assert sim.respond(b">X1") == b">#\n"
    assert sim.unsolicited(10.0) is not None
    assert sim.unsolicited(10.5) is None
    assert sim.unsolicited(11.0) is not None
    sim.respond(b">X0")
    assert sim.unsolicited(20.0) is None


@pytest.fixture
def sim() -> RadEyeSimulator:
    return RadEyeSimulator(IDENTITY, sensitivity_cps_per_usv_h=2000.0, background_usv_h=0.0, seed=3)


@pytest.fixture
def server(sim: RadEyeSimulator) -> Iterator[PtySimServer]:
    with serve_pty(sim, name="survey-1") as running:
        yield running


def connect(server: PtySimServer, timeout=NORMAL, **options) -> ThermoRadEye:
    return ThermoRadEye(server.resource, name="survey-1", timeout=timeout, **options)


def test_identify_and_unconfirmed_g20_dose_rate_over_a_pty(server: PtySimServer, sim: RadEyeSimulator) -> None:
    sim.set_field(5.0)
    with connect(server, unconfirmed_dose_rate=True) as driver:
        identity = driver.identify()
        readings = driver.read_now()
    assert (identity.model, identity.serial) == ("RadEye (type FH41B2)", "G20-4711")
    assert set(readings) == {"dose_rate"}
    assert readings["dose_rate"].to("µSv/h").magnitude == pytest.approx(5.0, rel=0.05)


def test_count_rate_and_site_calibrated_dose_rate_over_a_pty() -> None:
    sim = RadEyeSimulator(device_type="PRD2", sensitivity_cps_per_usv_h=2000.0, background_usv_h=0.5, seed=5)
    sim.set_field(4.5)                                                # 5 µSv/h with background: 10 000 cps
    with serve_pty(sim) as server, connect(server, count_rate_unit="cps",
                                           sensitivity="2000 cps/(µSv/h)") as driver:
        readings = driver.read_now()
    assert readings["count_rate"].to("cps").magnitude == pytest.approx(10_000, rel=0.05)
    assert readings["dose_rate"].to("µSv/h").magnitude == pytest.approx(5.0, rel=0.05)


def test_silence_is_a_timeout_naming_instrument_resource_and_time(server: PtySimServer) -> None:
    server.inject(WireFault("silence", "Z", count=1))
    with connect(server, SHORT, count_rate_unit="cps") as driver:
        with pytest.raises(InstrumentTimeout) as caught:
            driver.read_now()
    assert f"survey-1 ({server.resource}) did not answer" in str(caught.value)
    assert "within 0.3 s" in str(caught.value)


def test_garble_is_a_protocol_error(server: PtySimServer) -> None:
    server.inject(WireFault("garble", "Z", count=1))
    with connect(server, count_rate_unit="cps") as driver:
        with pytest.raises(ProtocolError, match="survey-1"):
            driver.read_now()


def test_drop_is_connection_lost(server: PtySimServer) -> None:
    server.inject(WireFault("drop", "Vx"))
    with connect(server, reconnects=0, count_rate_unit="cps") as driver:
        with pytest.raises(ConnectionLost, match="survey-1"):
            driver.identify()


def test_the_error_fault_is_silence_since_the_radeye_has_no_error_reply(server: PtySimServer) -> None:
    server.inject(WireFault("error", "#R", count=1))
    with connect(server, SHORT, count_rate_unit="cps") as driver:
        with pytest.raises(InstrumentTimeout):
            driver.identify()
