"""The GQ GMC simulator's bytes, and the GQ GMC driver against it over a real pty."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pytest

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.instruments.gq.gmc import RFC1201, RFC1801, GqGmc
from xcal.errors import ConnectionLost, InstrumentTimeout, ProtocolError
from xcal.simulators.gq_gmc import GmcSimulator
from xcal.simulators.server import PtySimServer, WireFault, serve_pty
from xcal.units import Q_

GMC_300 = InstrumentIdentity("GQ Electronics", "GMC-300", "F488E1A7B2C3D4", "2.10")
GMC_600 = InstrumentIdentity("GQ Electronics", "GMC-600+", "0102030405060A", "1.14")
TIMEOUT = Q_(0.3, "s")


def connect(server: PtySimServer, **options) -> GqGmc:
    return GqGmc(server.resource, name="gmc-1", timeout=TIMEOUT, **options)


@pytest.fixture
def gmc300() -> GmcSimulator:
    return GmcSimulator(GMC_300, background_usv_h=0.0, seed=7)


@pytest.fixture
def pty300(gmc300: GmcSimulator) -> Iterator[PtySimServer]:
    with serve_pty(gmc300, name="gmc-300") as server:
        yield server


def test_replies_are_byte_exact_and_unknown_commands_are_silent() -> None:
    sim = GmcSimulator(GMC_300, background_usv_h=0.0, battery_v=4.2)
    assert sim.respond(b"GETVER") == b"GMC-300Re 2.10"
    assert sim.respond(b"GETSERIAL") == b"\xf4\x88\xe1\xa7\xb2\xc3\xd4"
    assert sim.respond(b"GETVOLT") == b"\x2a"
    assert sim.respond(b"GETCPM") == b"\x00\x00"              # no field, no background
    assert sim.respond(b"GETCPS") == b"\x00\x00"              # reserved bits 15-14 clear
    assert len(sim.respond(b"GETCFG")) == 256
    assert sim.respond(b"GETDATETIME")[6:] == b"\xaa"        # RFC1201 1.40 lists it from Re.3.00
    assert sim.respond(b"GETNOTHING") is None
    assert sim.respond(b"POWEROFF") is None
    assert sim.error_reply(b"GETCPM") is None


def test_requests_are_framed_by_angle_brackets_with_raw_parameters() -> None:
    sim = GmcSimulator(GMC_600)
    buffer = bytearray(b"junk<GETCPM>><SETDATETIME\x18\x3e\x3e\x0e\x1e\x2d>><GETV")
    assert sim.split(buffer) == [b"GETCPM", b"SETDATETIME\x18\x3e\x3e\x0e\x1e\x2d"]
    assert buffer == bytearray(b"<GETV")
    assert sim.command_of(b"SETDATETIME\x18\x01\x01\x00\x00\x00") == "SETDATETIME"
    assert sim.split(bytearray(b"<" + b"x" * 80)) == []


def test_rfc1801_replies() -> None:
    sim = GmcSimulator(GMC_600, battery_v=3.97, clock=lambda: 1710513045.0)
    assert sim.variant == RFC1801
    assert sim.respond(b"GETVER") == b"GMC-600+Re 1.14"
    assert sim.respond(b"GETVOLT") == b"3.97v"
    assert len(sim.respond(b"GETCPM")) == 4
    assert sim.respond(b"GETDATETIME") == b"\x18\x03\x0f\x0e\x1e\x2d\xaa"       # 2024-03-15 14:30:45 UTC
    assert sim.respond(b"SETDATETIME\x19\x01\x02\x03\x04\x05") == b"\xaa"
    assert sim.respond(b"GETDATETIME") == b"\x19\x01\x02\x03\x04\x05\xaa"
    assert sim.respond(b"SETDATETIME\x19\x0d\x02\x03\x04\x05") is None             # month 13


def test_an_rfc1201_version_must_be_14_bytes_or_15_with_a_model_letter() -> None:
    with pytest.raises(ValueError, match="14 bytes"):
        GmcSimulator(InstrumentIdentity("GQ", "GMC-320+V5", "1", "4.27"), variant=RFC1201)
    assert GmcSimulator(InstrumentIdentity("GQ", "GMC-300S", "1", "1.14")).respond(b"GETVER") == b"GMC-300SRe 1.14"


def test_heartbeat_sends_a_record_every_period() -> None:
    sim = GmcSimulator(GMC_300, heartbeat_period_s=0.5)
    assert sim.respond(b"HEARTBEAT1") is None
    assert sim.unsolicited(10.0) is None
    assert sim.unsolicited(10.4) is None
    assert len(sim.unsolicited(10.5)) == 2
    assert sim.unsolicited(10.6) is None
    assert sim.unsolicited(11.0) is not None
    sim.respond(b"HEARTBEAT0")
    assert sim.unsolicited(20.0) is None


def test_identify_over_a_pty(pty300: PtySimServer) -> None:
    with connect(pty300) as driver:
        assert driver.identify() == GMC_300
        assert driver.variant == RFC1201
        assert driver.read_voltage() == Q_(4.1, "V")


def test_a_field_read_back_as_count_and_dose_rate(gmc300: GmcSimulator, pty300: PtySimServer) -> None:
    gmc300.set_field(10.0)                                       # 10 µSv/h × 153.8 cpm/(µSv/h) = 1538 cpm
    expected = np.random.default_rng(7).poisson(1538.0)          # the simulator's first draw
    with connect(pty300, sensitivity="153.8 cpm/(µSv/h)") as driver:
        reading = driver.read_now()
    assert reading["count_rate"] == Q_(expected, "cpm")
    assert reading["dose_rate"].to("µSv/h").magnitude == pytest.approx(expected / 153.8)
    assert abs(reading["dose_rate"].to("µSv/h").magnitude - 10.0) < 1.1   # within 4 σ of Poisson noise


def test_dead_time_lost_in_the_tube_is_restored_by_the_site_dead_time() -> None:
    sim = GmcSimulator(GMC_600, background_usv_h=0.0, dead_time_s=100e-6, seed=3)
    sim.set_field(1000.0)                          # 153800 cpm true; counted 153800 / (1 + 2563.3 × 1e-4)
    with serve_pty(sim) as server, connect(server, dead_time="100 µs", sensitivity="153.8 cpm/(µSv/h)") as driver:
        counted = driver.read_cpm().magnitude
        corrected = driver.read_now()
    assert counted == pytest.approx(122435, rel=0.01)
    assert corrected["dose_rate"].to("µSv/h").magnitude == pytest.approx(1000.0, rel=0.02)


def test_rfc1201_cps_records_never_set_the_reserved_bits(pty300: PtySimServer,
                                                        gmc300: GmcSimulator) -> None:
    with pytest.raises(TypeError):
        GmcSimulator(GMC_300, cps_reserved_bits=3)             # no longer a simulator option
    gmc300.set_field(1e6)                           # 1.538e8 cpm = 2.56e6 cps: more than 14 bits hold
    assert gmc300.respond(b"GETCPS") == b"\x3f\xff"
    gmc300.respond(b"HEARTBEAT1")
    gmc300.unsolicited(0.0)
    assert gmc300.unsolicited(1.0) == b"\x3f\xff"
    gmc300.respond(b"HEARTBEAT0")
    gmc300.set_field(600.0)                         # 92280 cpm = 1538 cps
    records = [int.from_bytes(gmc300.respond(b"GETCPS"), "big") for _ in range(200)]
    assert all(r >> 14 == 0 for r in records)
    with connect(pty300) as driver:
        assert abs(driver.read_cps().magnitude - 1538) < 160


def test_rfc1801_clock_set_and_read_back_over_a_pty() -> None:
    with serve_pty(GmcSimulator(GMC_600)) as server, connect(server) as driver:
        assert driver.identify().model == "GMC-600+"
        driver.set_datetime(datetime(2030, 6, 1, 12, 0, 0))
        got = driver.read_datetime()
    assert datetime(2030, 6, 1, 12, 0, 0) <= got <= datetime(2030, 6, 1, 12, 0, 3)


def test_heartbeat_over_a_pty_then_stop_and_resync(gmc300: GmcSimulator, pty300: PtySimServer) -> None:
    gmc300.heartbeat_period = 0.1
    gmc300.set_field(60.0)                          # 9228 cpm = 153.8 cps
    with connect(pty300) as driver:
        driver.start_heartbeat()
        records = [driver.read_heartbeat().magnitude for _ in range(3)]
        time.sleep(0.15)                            # a record may be on its way as we stop
        driver.stop_heartbeat()
        assert driver.read_cpm().units == Q_(1, "cpm").units
        assert driver.identify() == GMC_300
    assert all(100 < r < 210 for r in records)


def test_an_unanswered_command_times_out_naming_instrument_resource_and_timeout(pty300: PtySimServer) -> None:
    pty300.inject(WireFault("silence", command="GETDATETIME"))
    with connect(pty300) as driver:
        with pytest.raises(InstrumentTimeout) as caught:
            driver.read_datetime()
    message = str(caught.value)
    assert "gmc-1" in message and pty300.resource in message and "0.3 s" in message


def test_silence_is_a_timeout(pty300: PtySimServer) -> None:
    pty300.inject(WireFault("silence", command="GETCPM"))
    with connect(pty300, variant="RFC1201") as driver:
        with pytest.raises(InstrumentTimeout, match="gmc-1"):
            driver.read_cpm()


def test_the_error_fault_is_silence_for_a_counter_with_no_error_reply(pty300: PtySimServer) -> None:
    pty300.inject(WireFault("error", command="GETCPM"))
    with connect(pty300, variant="RFC1201") as driver:
        with pytest.raises(InstrumentTimeout):
            driver.read_cpm()


def test_a_garbled_version_is_a_protocol_error(pty300: PtySimServer) -> None:
    pty300.inject(WireFault("garble", command="GETVER"))
    with connect(pty300) as driver:
        with pytest.raises(ProtocolError, match="<GETVER>>"):
            driver.identify()


def test_a_dropped_link_is_connection_lost(pty300: PtySimServer) -> None:
    pty300.inject(WireFault("drop", command="GETCPM"))
    # No reconnect: the closed pty's number can go at once to a pty another test opens, which would answer.
    with connect(pty300, variant="RFC1201", reconnects=0) as driver:
        with pytest.raises(ConnectionLost):
            driver.read_cpm()
