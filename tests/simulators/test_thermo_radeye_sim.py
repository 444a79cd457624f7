"""The RadEye simulator's bytes, and the RadEye driver against it over a real pty."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime

import numpy as np
import pytest

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.instruments.thermo.radeye import ThermoRadEye, parse_record
from xcal.errors import ConnectionLost, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.simulators.server import PtySimServer, WireFault, serve_pty
from xcal.simulators.thermo_radeye import RadEyeSimulator
from xcal.units import Q_

IDENTITY = InstrumentIdentity("Thermo", "RadEye G20-10", "G20-4711", "unknown")
SHORT = Q_(0.3, "s")
NORMAL = Q_(3, "s")
FIXED = datetime(2024, 3, 15, 10, 15, 2)


def test_wake_then_commands_framed_with_gt_hash_and_crlf() -> None:
    sim = RadEyeSimulator(IDENTITY, clock=lambda: FIXED, calibration_date="230115")
    assert sim.respond(b">Vx") is None                                # asleep: no answer
    assert sim.respond(b"@") == b">"
    assert sim.respond(b">Vx") == b">FH41B2#\r\n"
    assert sim.respond(b">#R") == b">G20-4711#\r\n"
    assert sim.respond(b">ZR") == b">240315101502#\r\n"
    assert sim.respond(b">WR") == b">230115#\r\n"
    assert sim.respond(b">Q7") is None                                # unknown: silence
    assert sim.split(bytearray(b"@>Z\r\n@>Vx\n>W")) == [b"@", b">Z", b"@", b">Vx"]
    assert (sim.command_of(b"@"), sim.command_of(b">ZR"), sim.command_of(b"ZR")) == ("@", "ZR", None)


def test_the_record_is_laid_out_as_radeye_b20_shows_it() -> None:
    sim = RadEyeSimulator(unit_code=5, sensitivity_cps_per_usv_h=100.0, background_usv_h=0.0, seed=2)
    sim.set_field(0.0351)                                            # mean 3.51 cps
    raw = sim.record()
    assert raw.startswith(b"\x02") and raw.endswith(b"\x03\r\n")
    fields = raw[1:-3].decode().split(" ")
    assert fields[1:8] == ["5", "", "0", "0", "00", "FH41B2", ""]      # two spaces where radeye-b20's has them
    expected = np.random.default_rng(2).poisson(3.51)                 # its first draw over a 1 s window
    assert int(fields[0]) == expected * 100                           # cps in hundredths


def test_record_values_follow_the_field_in_each_display_unit() -> None:
    for code, unit, per_usv_h in ((0, "µSv/h", 1.0), (2, "µR/h", 100.0), (3, "cpm", 60.0 * 1000)):
        sim = RadEyeSimulator(unit_code=code, sensitivity_cps_per_usv_h=1000.0, background_usv_h=0.0, seed=1)
        sim.set_field(5.0)                                            # 5000 cps expected
        values = [parse_record(sim.record()).value for _ in range(100)]
        assert parse_record(sim.record()).unit == unit
        assert sum(values) / len(values) == pytest.approx(5.0 * per_usv_h, rel=0.01)
    with pytest.raises(ValueError):
        RadEyeSimulator(unit_code=6)


def test_cyclic_sending_from_x1_until_x0_and_flags() -> None:
    sim = RadEyeSimulator(auto_send_period_s=1.0, alarm_level_usv_h=1.0, background_usv_h=0.0)
    sim.respond(b"@")
    assert sim.unsolicited(0.0) is None
    assert sim.respond(b">X1") == b">#\r\n"
    first = sim.unsolicited(10.0)
    assert first is not None and parse_record(first).status == ()
    assert sim.unsolicited(10.5) is None
    sim.set_field(2.0)
    sim.overload()
    assert parse_record(sim.unsolicited(11.0)).status == ("OVERLOAD", "ALARM")
    sim.respond(b">X0")
    assert sim.unsolicited(20.0) is None
    with pytest.raises(ValueError):
        sim.set_field(-1.0)


@pytest.fixture
def sim() -> RadEyeSimulator:
    return RadEyeSimulator(IDENTITY, sensitivity_cps_per_usv_h=2000.0, background_usv_h=0.0, seed=3,
                           auto_send_period_s=0.2, clock=lambda: FIXED)


@pytest.fixture
def server(sim: RadEyeSimulator) -> Iterator[PtySimServer]:
    with serve_pty(sim, name="survey-1") as running:
        yield running


def connect(server: PtySimServer, timeout=NORMAL, **options) -> ThermoRadEye:
    return ThermoRadEye(server.resource, name="survey-1", timeout=timeout, **options)


def test_identify_and_the_dose_rate_from_records_over_a_pty(server: PtySimServer, sim: RadEyeSimulator) -> None:
    sim.set_field(5.0)
    with connect(server) as driver:
        identity = driver.identify()
        readings = driver.read_now()
        again = driver.read_now()
        assert driver.clock() == FIXED                                # a command while records stream
        assert driver.calibration_date() == date(2024, 1, 15)
    assert (identity.model, identity.serial) == ("RadEye (type FH41B2)", "G20-4711")
    assert set(readings) == {"dose_rate"}
    assert readings["dose_rate"].to("µSv/h").magnitude == pytest.approx(5.0, rel=0.05)
    assert again["dose_rate"].to("µSv/h").magnitude == pytest.approx(5.0, rel=0.05)


def test_count_rate_and_site_calibrated_dose_rate_over_a_pty() -> None:
    sim = RadEyeSimulator(unit_code=5, sensitivity_cps_per_usv_h=2000.0, background_usv_h=0.5, seed=5,
                          auto_send_period_s=0.2)
    sim.set_field(4.5)                                                # 5 µSv/h with background: 10 000 cps
    with serve_pty(sim) as server, connect(server, sensitivity="2000 cps/(µSv/h)") as driver:
        readings = driver.read_now()
    assert readings["count_rate"].to("cps").magnitude == pytest.approx(10_000, rel=0.05)
    assert readings["dose_rate"].to("µSv/h").magnitude == pytest.approx(5.0, rel=0.05)


def test_a_unit_left_streaming_over_a_pty() -> None:
    sim = RadEyeSimulator(IDENTITY, unit_code=5, auto_send=True, auto_send_period_s=0.05, seed=9)
    with serve_pty(sim) as server:
        time.sleep(0.3)                                              # records wait in the port before it opens
        with connect(server) as driver:
            assert driver.identify().serial == "G20-4711"
            assert set(driver.read_now()) == {"count_rate"}
            assert driver.clock() is not None                        # commands between the records


def test_a_switched_off_unit_over_a_pty(server: PtySimServer, sim: RadEyeSimulator) -> None:
    with connect(server) as driver:
        driver.read_now()
        sim.switch_off()
        with pytest.raises(InstrumentReportedError, match="switching off"):
            driver.read_now()


def test_silence_is_a_timeout_naming_instrument_resource_and_time(server: PtySimServer) -> None:
    server.inject(WireFault("silence", "X1", count=1))
    with connect(server, SHORT) as driver:
        with pytest.raises(InstrumentTimeout) as caught:
            driver.read_now()
    assert f"survey-1 ({server.resource}) did not answer" in str(caught.value)
    assert "within 0.3 s" in str(caught.value)


def test_garble_is_a_protocol_error(server: PtySimServer) -> None:
    server.inject(WireFault("garble", "ZR", count=1))
    with connect(server) as driver:
        with pytest.raises(ProtocolError, match="survey-1"):
            driver.clock()


def test_drop_is_connection_lost(server: PtySimServer) -> None:
    server.inject(WireFault("drop", "Vx"))
    with connect(server, reconnects=0) as driver:
        with pytest.raises(ConnectionLost, match="survey-1"):
            driver.identify()


def test_the_error_fault_is_silence_since_the_radeye_has_no_error_reply(server: PtySimServer) -> None:
    server.inject(WireFault("error", "#R", count=1))
    with connect(server, SHORT) as driver:
        with pytest.raises(InstrumentTimeout):
            driver.identify()
