"""The Rad Pro simulator's lines, and the Rad Pro driver against it over a real pty."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.instruments.radpro.radpro import RadPro, pulses_between
from xcal.errors import ConnectionLost, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.simulators.radpro import RadProSimulator
from xcal.simulators.server import PtySimServer, WireFault, serve_pty
from xcal.units import Q_

IDENTITY = InstrumentIdentity("FNIRSI", "GC-01", "b5706d937087f975b5812810", "Rad Pro 2.0")
TIMEOUT = Q_(0.3, "s")
T0 = 1_700_000_000.0


class Clock:
    """A clock the test steps by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> RadProSimulator:
    return RadProSimulator(IDENTITY, background_usv_h=0.0, seed=11, clock=clock)


@pytest.fixture
def pty(sim: RadProSimulator) -> Iterator[PtySimServer]:
    with serve_pty(sim, name="radpro") as server:
        yield server


def connect(server: PtySimServer, **options) -> RadPro:
    return RadPro(server.resource, name="radpro-1", timeout=TIMEOUT, **options)


def test_lines_end_crlf_and_bad_requests_get_error(sim: RadProSimulator) -> None:
    assert sim.respond(b"GET deviceId") == b"OK FNIRSI GC-01;Rad Pro 2.0;b5706d937087f975b5812810\r\n"
    assert sim.respond(b"GET deviceBatteryVoltage") == b"OK 1.421\r\n"
    assert sim.respond(b"GET deviceTime") == b"OK 1700000000\r\n"
    assert sim.respond(b"GET tubeSensitivity") == b"OK 153.800\r\n"
    assert sim.respond(b"GET tubeRate") == b"OK 0.000\r\n"
    for bad in (b"GET tubeColour", b"GET", b"SET deviceTime soon", b"GET tubeRate now", b"RESET everything",
                b"GET datalog 1 2 3 4"):
        assert sim.respond(bad) == b"ERROR\r\n", bad
    assert sim.split(bytearray(b"GET tubeRate\r\nGET deviceId\nGET dev")) == [b"GET tubeRate", b"GET deviceId"]
    assert sim.command_of(b"GET datalog 1 2") == "GET datalog"
    assert sim.error_reply(b"GET tubeRate") == b"ERROR\r\n"


def test_identify_over_a_pty(pty: PtySimServer) -> None:
    with connect(pty) as driver:
        assert driver.identify() == IDENTITY
        assert driver.details()["tube_sensitivity"] == Q_(153.8, "cpm/(µSv/h)")


def test_a_field_read_back_as_count_and_dose_rate(sim: RadProSimulator, pty: PtySimServer) -> None:
    sim.set_field(10.0)                                         # 10 µSv/h × 153.8 = 1538 cpm
    expected = float(np.random.default_rng(11).poisson(1538.0))  # its first draw: a 60 s window
    with connect(pty, sensitivity="153.8 cpm/(µSv/h)") as driver:
        reading = driver.read_now()
    assert reading["count_rate"] == Q_(expected, "cpm")
    assert reading["dose_rate"].to("µSv/h").magnitude == pytest.approx(expected / 153.8, abs=1e-6)
    assert abs(reading["dose_rate"].to("µSv/h").magnitude - 10.0) < 1.1


def test_pulses_accumulate_and_the_counter_wraps(clock: Clock) -> None:
    sim = RadProSimulator(IDENTITY, background_usv_h=0.0, pulse_count=2 ** 32 - 100, seed=5, clock=clock)
    sim.set_field(100.0)                                        # 15380 cpm ≈ 256 per second
    with serve_pty(sim) as server, connect(server) as driver:
        before = driver.read_pulse_count()
        clock.now += 10.0
        after = driver.read_pulse_count()
    assert before == 2 ** 32 - 100
    assert after < before                                       # wrapped
    assert abs(pulses_between(before, after) - 2563) < 4 * 51


def test_datalog_records_every_interval_and_reset(clock: Clock, sim: RadProSimulator, pty: PtySimServer) -> None:
    sim.set_field(1.0)
    with connect(pty) as driver:
        clock.now += 185.0
        records = driver.read_datalog()
        assert [r.time for r in records] == [datetime.fromtimestamp(T0 + 60 * k, UTC) for k in (1, 2, 3)]
        assert [r.pulse_count for r in records] == sorted(r.pulse_count for r in records)
        assert len(driver.read_datalog(datetime.fromtimestamp(T0 + 120, UTC))) == 2
        driver.reset_datalog()
        assert driver.read_datalog() == []


def test_the_first_record_of_a_session_follows_an_empty_record(clock: Clock, sim: RadProSimulator) -> None:
    clock.now += 125.0                                               # two records, at +60 s and +120 s
    assert sim.respond(b"GET datalog") == b"OK time,tubePulseCount;;1700000060,0;1700000120,0\r\n"
    assert sim.respond(b"GET datalog 1700000100") == b"OK time,tubePulseCount;1700000120,0\r\n"
    assert sim.respond(b"GET datalog 0 4294967295 1") == b"OK time,tubePulseCount;;1700000060,0\r\n"
    sim.respond(b"RESET datalog")
    clock.now += 60.0
    assert sim.respond(b"GET datalog") == b"OK time,tubePulseCount;;1700000180,0\r\n"


def test_firmware_before_2_0rc5_ends_replies_with_lf_alone(clock: Clock) -> None:
    sim = RadProSimulator(IDENTITY, background_usv_h=0.0, seed=11, clock=clock, reply_end="\n")
    assert sim.respond(b"GET deviceBatteryVoltage") == b"OK 1.421\n"
    with serve_pty(sim) as server, connect(server) as driver:
        assert driver.identify() == IDENTITY
        assert driver.read_battery_voltage() == Q_(1.421, "V")


def test_set_the_clock_over_a_pty(pty: PtySimServer) -> None:
    with connect(pty) as driver:
        driver.set_time(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
        assert driver.read_time() == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_the_error_fault_is_the_devices_typed_error(pty: PtySimServer) -> None:
    pty.inject(WireFault("error", command="GET tubeRate"))
    with connect(pty) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_now()
    assert caught.value.code == "ERROR" and caught.value.command == "GET tubeRate"


def test_silence_is_a_timeout_naming_instrument_resource_and_timeout(pty: PtySimServer) -> None:
    pty.inject(WireFault("silence", command="GET tubeRate"))
    with connect(pty) as driver:
        with pytest.raises(InstrumentTimeout) as caught:
            driver.read_now()
    message = str(caught.value)
    assert "radpro-1" in message and pty.resource in message and "0.3 s" in message


def test_garble_is_a_protocol_error(pty: PtySimServer) -> None:
    pty.inject(WireFault("garble", command="GET deviceId"))
    with connect(pty) as driver:
        with pytest.raises(ProtocolError):
            driver.identify()


def test_drop_is_connection_lost(pty: PtySimServer) -> None:
    pty.inject(WireFault("drop", command="GET tubeRate"))
    # No reconnect: the closed pty's number can go at once to a pty another test opens, which would answer.
    with connect(pty, reconnects=0) as driver:
        with pytest.raises(ConnectionLost):
            driver.read_now()
