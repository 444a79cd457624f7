"""The MAX 4000 simulator's prompt-terminated bytes, and the driver against it over a real pty."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wire_helpers import exposure

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.instruments.standard_imaging.max4000 import StandardImagingMax4000
from xcal.errors import ConnectionLost, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.simulators.server import PtySimServer, WireFault, serve_pty
from xcal.simulators.si_max4000 import N_K_DIAGNOSTIC_30CC, Max4000Simulator
from xcal.units import Q_

IDENTITY = InstrumentIdentity("Standard Imaging", "MAX 4000 Plus", "40999", "3.10")
SHORT = Q_(0.3, "s")
NORMAL = Q_(3, "s")
"""For exchanges that should succeed: long enough for a loaded CI machine."""

class Clock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


def ask(sim: Max4000Simulator, line: str) -> bytes | None:
    return sim.respond(line.encode("ascii"))


def test_replies_end_with_the_prompt_and_0x03_clears_a_partial_command() -> None:
    sim = Max4000Simulator(IDENTITY)
    assert ask(sim, "*IDN?") == b"Standard Imaging,MAX 4000 Plus,40999,3.10\r\n=>"
    assert ask(sim, "*STATUS?") == b"0\r\n=>"
    assert ask(sim, "*STOP?") == b"=>"
    assert ask(sim, "*FOO?") == b"?>"
    assert ask(sim, "*BIAS30?") == b"?>"
    assert sim.split(bytearray(b"*CURCH\x03*IDN?\r\n*STAT")) == [b"*IDN?"]
    assert sim.clears == 1
    assert sim.error_reply(b"*CURCHG?") == b"!>"


def test_charge_units_follow_the_size() -> None:
    sim = Max4000Simulator()
    for charge, text in ((5.5e-13, b"0.5500 pC"), (2.5e-9, b"2.5000 nC"), (-4e-7, b"-400.0000 nC"),
                         (2e-3, b"2.0000 mC")):
        sim.charge_c = charge
        assert ask(sim, "*CURCHG?") == text + b"\r\n=>"


def test_zeroing_collecting_and_overload_states() -> None:
    clock = Clock()
    sim = Max4000Simulator(needs_zero=True, zero_duration_s=5.0, clock=clock)
    assert ask(sim, "*STARTNP?") == b"!>"                             # a zero is needed first
    assert ask(sim, "*AUZ?") == b"=>"
    assert (ask(sim, "*STATUS?"), ask(sim, "*MODE?")) == (b"1\r\n=>", b"4\r\n=>")
    clock.now += 5.0
    assert (ask(sim, "*STATUS?"), ask(sim, "*NEEDZ?")) == (b"0\r\n=>", b"0\r\n=>")
    assert not sim.on_exposure(exposure(100.0))                       # idle: nothing collected
    assert ask(sim, "*STARTNP?") == b"=>"
    assert (ask(sim, "*STATUS?"), ask(sim, "*MODE?")) == (b"2\r\n=>", b"11\r\n=>")
    assert ask(sim, "*RNG1") == b"!>"                                  # not while collecting
    assert sim.on_exposure(exposure(940.0))
    assert sim.charge_c == pytest.approx(940e-6 / N_K_DIAGNOSTIC_30CC)  # 1 nC
    sim.overload()
    assert (ask(sim, "*STATUS?"), ask(sim, "*MODE?")) == (b"4\r\n=>", b"14\r\n=>")
    assert ask(sim, "*STOP?") == b"=>"
    assert (ask(sim, "*STATUS?"), sim.charge_c) == (b"0\r\n=>", 0.0)


def test_negative_bias_collects_negative_charge_and_triggered_mode_arms() -> None:
    sim = Max4000Simulator(n_k_gy_per_c=1e6)
    assert ask(sim, "*BIAS-100?") == b"-100\r\n=>"
    assert ask(sim, "*CHGTHR?") == b"=>"
    ask(sim, "*STARTNP?")
    assert ask(sim, "*STATUS?") == b"3\r\n=>"
    assert sim.on_exposure(exposure(500.0))
    assert ask(sim, "*STATUS?") == b"2\r\n=>"
    assert ask(sim, "*CURCHG?") == b"-500.0000 pC\r\n=>"


@pytest.fixture
def sim() -> Max4000Simulator:
    return Max4000Simulator(IDENTITY)


@pytest.fixture
def server(sim: Max4000Simulator) -> Iterator[PtySimServer]:
    with serve_pty(sim, name="max-1") as running:
        yield running


def connect(server: PtySimServer, timeout=NORMAL, **options) -> StandardImagingMax4000:
    return StandardImagingMax4000(server.resource, name="max-1", timeout=timeout, poll_interval="5 ms", **options)


def test_exposure_over_a_pty(server: PtySimServer, sim: Max4000Simulator) -> None:
    with connect(server) as driver:
        assert driver.identify() == IDENTITY
        assert sim.clears == 1
        driver.arm()
        assert sim.on_exposure(exposure(2000.0))
        driver.wait_for_exposure(Q_(2, "s"))
        charge = driver.read_exposure()["charge"]
    assert charge.to("nC").magnitude == pytest.approx(2000e-6 / N_K_DIAGNOSTIC_30CC * 1e9, abs=1e-4)  # 2.1277 nC


def test_arm_zeroes_a_unit_that_needs_it_over_a_pty() -> None:
    sim = Max4000Simulator(needs_zero=True, zero_duration_s=0.05)
    with serve_pty(sim) as server, connect(server) as driver:
        driver.arm()
        assert driver.status().meaning == "collecting charge"
    assert "*AUZ?" in sim.received and sim.needs_zero is False


def test_silence_is_a_timeout_naming_instrument_resource_and_time(server: PtySimServer) -> None:
    server.inject(WireFault("silence", "*IDN?", count=1))
    with connect(server, SHORT) as driver:
        with pytest.raises(InstrumentTimeout) as caught:
            driver.identify()
    assert f"max-1 ({server.resource}) did not answer" in str(caught.value)
    assert "within 0.3 s" in str(caught.value)
    assert caught.value.resource == server.resource


@pytest.mark.parametrize("kind", ["garble", "partial"])
def test_garbled_or_cut_replies_are_protocol_errors(server: PtySimServer, kind: str) -> None:
    server.inject(WireFault(kind, "*IDN?", count=1))
    with connect(server, SHORT) as driver:
        with pytest.raises(ProtocolError, match=r"max-1 answered .* to '\*IDN\?'.*no prompt came"):
            driver.identify()
        assert driver.identify() == IDENTITY                          # the link goes on after the drain


def test_drop_is_connection_lost(server: PtySimServer) -> None:
    server.inject(WireFault("drop", "*IDN?"))
    with connect(server, reconnects=0) as driver:
        with pytest.raises(ConnectionLost, match="max-1"):
            driver.identify()


def test_error_fault_is_the_execution_error_prompt(server: PtySimServer) -> None:
    server.inject(WireFault("error", "*STARTNP?", count=1))
    with connect(server) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.arm()
    assert (caught.value.code, caught.value.meaning, caught.value.command) == ("!>", "execution error",
                                                                               "*STARTNP?")
