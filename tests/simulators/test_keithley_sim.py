"""The Keithley simulator's SCPI bytes, and the 6517B / 6514 drivers against it over a real pty."""

from __future__ import annotations

import re
from typing import Iterator

import numpy as np
import pytest

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.keithley import Keithley6514, Keithley6517B
from xcal.errors import ConnectionLost, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.simulators.keithley import N_K_DIAGNOSTIC_30CC, KeithleySimulator
from xcal.simulators.room import SimulatedExposure
from xcal.simulators.server import PtySimServer, WireFault, serve_pty
from xcal.units import Q_

ID_6517B = InstrumentIdentity("KEITHLEY INSTRUMENTS INC.", "MODEL 6517B", "1234567", "A13/700x")
ID_6514 = InstrumentIdentity("KEITHLEY INSTRUMENTS INC.", "MODEL 6514", "7654321", "A04")
SHORT = Q_(0.3, "s")
NORMAL = Q_(3, "s")
"""For exchanges that should succeed: long enough for a loaded CI machine."""


def exposure(air_kerma_ugy: float) -> SimulatedExposure:
    return SimulatedExposure(index=1, kv_set=80.0, ma_set=200.0, ms_set=100.0, kv_peak_actual=80.0,
                             ms_actual=100.0, sample_interval_ms=0.1, kv_waveform=np.zeros(4),
                             dose_rate_waveform=np.zeros(4), air_kerma_ugy=air_kerma_ugy, hvl_mm_al=3.1)


def ask(sim: KeithleySimulator, line: str) -> str | None:
    reply = sim.respond(line.encode("ascii"))
    return None if reply is None else reply.decode("ascii")


def test_identity_error_queue_and_crlf_replies() -> None:
    sim = KeithleySimulator(ID_6517B)
    assert ask(sim, "*IDN?") == "KEITHLEY INSTRUMENTS INC.,MODEL 6517B,1234567,A13/700x\r\n"
    assert ask(sim, ":SYST:ERR?") == '0,"No error"\r\n'
    assert ask(sim, ":SYST:BOGUS ON") is None
    assert ask(sim, "*IDN? extra") is None
    assert ask(sim, ":SYST:ZCH") is None
    assert ask(sim, ":SYST:ERR?") == '-113,"Undefined header"\r\n'
    assert ask(sim, ":SYST:ERR?") == '-108,"Parameter not allowed"\r\n'
    assert ask(sim, ":SYST:ERR?") == '-109,"Missing parameter"\r\n'
    assert ask(sim, ":SYST:ERR?") == '0,"No error"\r\n'
    assert sim.split(bytearray(b"*IDN?\r\n:READ?\r\n:FE")) == [b"*IDN?\r", b":READ?\r"]
    assert sim.command_of(b":SENS:FUNC 'CHAR'\r") == "SENS:FUNC"


def test_the_queue_holds_ten_and_reports_overflow_last() -> None:
    sim = KeithleySimulator(ID_6517B)
    for _ in range(12):
        ask(sim, "NOPE")
    replies = [ask(sim, ":SYST:ERR?") for _ in range(11)]
    assert replies[:9] == ['-113,"Undefined header"\r\n'] * 9
    assert replies[9] == '-350,"Queue overflow"\r\n'
    assert replies[10] == '0,"No error"\r\n'


def test_6517b_default_record_current_and_stand_in_charge_suffix() -> None:
    sim = KeithleySimulator(ID_6517B, leakage_a=1.234e-12, clock=lambda: 0.0)
    ask(sim, ":SYST:ZCH OFF")
    assert ask(sim, ":READ?") == "+1.234000E-12NADC,+0000.0secs,+00001RDNG#\r\n"
    ask(sim, ":SENS:FUNC 'CHAR'")
    assert ask(sim, ":READ?") == "+0.000000E+00XXXX,+0000.0secs,+00002RDNG#\r\n"
    ask(sim, ":FORM:ELEM READ")
    assert ask(sim, ":READ?") == "+0.000000E+00\r\n"
    ask(sim, ":FORM:ELEM READ,TIME")
    assert ask(sim, ":SYST:ERR?") == '-224,"Illegal parameter value"\r\n'


def test_6514_format_and_ranges() -> None:
    sim = KeithleySimulator(ID_6514, clock=lambda: 0.0)
    ask(sim, "FORM:ELEM READ,TIME,STAT")
    ask(sim, ":SENS:CHAR:RANG 2e-05")
    ask(sim, ":SENS:CHAR:RANG 2e-04")
    assert ask(sim, ":SYST:ERR?") == '-222,"Data out of range"\r\n'
    assert ask(sim, ":SYST:ERR?") == '0,"No error"\r\n'
    assert sim.ranges["CHAR"] == 2e-05
    assert ask(sim, ":READ?") == "+0.000000E+00,+0.000000E+00,+0.000000E+00\r\n"


def test_charge_is_air_kerma_over_nk_only_with_zero_check_off_in_charge() -> None:
    sim = KeithleySimulator(ID_6514, n_k_gy_per_c=5e5)
    assert not sim.on_exposure(exposure(100.0))                      # zero check on at power-on
    ask(sim, ":SENS:FUNC 'CHAR'")
    ask(sim, ":SYST:ZCH OFF")
    assert sim.on_exposure(exposure(100.0))
    assert sim.charge_c == pytest.approx(100e-6 / 5e5)                # 2e-10 C
    ask(sim, ":SYST:ZCH ON")
    assert sim.charge_c == 0.0
    with pytest.raises(ValueError):
        KeithleySimulator(InstrumentIdentity("Keithley", "6430", "1", "x"))


def test_fetch_before_any_reading_is_data_stale() -> None:
    sim = KeithleySimulator(ID_6517B)
    assert ask(sim, ":FETC?") is None
    assert ask(sim, ":SYST:ERR?") == '-230,"Data corrupt or stale"\r\n'
    assert ask(sim, ":SENS:FUNC 'VOLT'") is None
    assert ask(sim, ":SYST:ERR?") == '-221,"Settings conflict"\r\n'


@pytest.fixture
def sim_6517b() -> KeithleySimulator:
    return KeithleySimulator(ID_6517B)


@pytest.fixture
def pty_6517b(sim_6517b: KeithleySimulator) -> Iterator[PtySimServer]:
    with serve_pty(sim_6517b, name="em-1") as server:
        yield server


def connect(server: PtySimServer, cls=Keithley6517B, timeout=NORMAL, **options) -> Keithley6517B:
    return cls(server.resource, name="em-1", timeout=timeout, poll_interval="5 ms", **options)


def test_6517b_exposure_over_a_pty(pty_6517b: PtySimServer, sim_6517b: KeithleySimulator) -> None:
    with connect(pty_6517b) as driver:
        assert driver.identify() == ID_6517B
        driver.arm()
        assert sim_6517b.on_exposure(exposure(1000.0))
        driver.wait_for_exposure(Q_(2, "s"))
        charge = driver.read_exposure()["charge"]
    expected_nc = 1000e-6 / N_K_DIAGNOSTIC_30CC * 1e9                 # 1 mGy / 9.4e5 Gy/C = 1.0638 nC
    assert charge.to("nC").magnitude == pytest.approx(expected_nc, rel=1e-6)


def test_6514_exposure_over_a_pty_with_a_fixed_range() -> None:
    sim = KeithleySimulator(ID_6514, n_k_gy_per_c=1e6)
    with serve_pty(sim) as server, connect(server, Keithley6514, charge_range="200 nC") as driver:
        assert driver.identify().model == "MODEL 6514"
        driver.arm()
        sim.on_exposure(exposure(250.0))
        driver.wait_for_exposure(Q_(2, "s"))
        assert driver.read_exposure()["charge"].to("pC").magnitude == pytest.approx(250.0)  # 250 µGy / 1e6
        assert sim.ranges["CHAR"] == pytest.approx(2e-7)
        assert re.fullmatch(r"[+-]\d\.\d{6}E[+-]\d\d(,[+-]\d\.\d{6}E[+-]\d\d){2}", sim.last_reading or "")


def test_silence_is_a_timeout_naming_instrument_resource_and_time(pty_6517b: PtySimServer) -> None:
    pty_6517b.inject(WireFault("silence", "*IDN?", count=1))
    with connect(pty_6517b, timeout=SHORT) as driver:
        with pytest.raises(InstrumentTimeout) as caught:
            driver.identify()
    err = caught.value
    assert f"em-1 ({pty_6517b.resource}) did not answer '*IDN?' within 0.3 s" in str(err)
    assert (err.instrument, err.resource) == ("em-1", pty_6517b.resource)


def test_garble_is_a_protocol_error(pty_6517b: PtySimServer) -> None:
    pty_6517b.inject(WireFault("garble", "*IDN?", count=1))
    with connect(pty_6517b) as driver:
        with pytest.raises(ProtocolError, match="em-1"):
            driver.identify()


def test_drop_is_connection_lost(pty_6517b: PtySimServer) -> None:
    pty_6517b.inject(WireFault("drop", "*IDN?"))
    with connect(pty_6517b, reconnects=0) as driver:
        with pytest.raises(ConnectionLost, match="em-1"):
            driver.identify()


def test_error_fault_is_the_queued_scpi_error(pty_6517b: PtySimServer) -> None:
    pty_6517b.inject(WireFault("error", "READ?", count=1))
    with connect(pty_6517b, timeout=SHORT) as driver:
        driver.arm()
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_now()
    assert (caught.value.code, caught.value.meaning, caught.value.command) == ("-200", "Execution error", ":READ?")


def test_a_refused_setting_over_the_wire(pty_6517b: PtySimServer) -> None:
    with connect(pty_6517b) as driver:
        driver.set_function("charge")
        with pytest.raises(InstrumentReportedError) as caught:
            driver.set_range(-1e-9)                                    # a negative range, in C
    assert caught.value.code == "-222"
