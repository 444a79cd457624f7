"""The UNIDOS simulator's bytes, and the UNIDOS driver against it over a real socket and a real pty."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pytest

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.ptw_unidos import PtwUnidos
from xcal.errors import ConnectionLost, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.simulators.ptw_unidos import N_K_DIAGNOSTIC_30CC, UnidosSimulator, scientific
from xcal.simulators.room import SimulatedExposure
from xcal.simulators.server import TcpSimServer, WireFault, serve_pty, serve_tcp
from xcal.units import Q_

IDENTITY = InstrumentIdentity("PTW", "UNIDOS Romeo", "A-0042", "1.3.0")


def exposure(air_kerma_ugy: float, ms: float = 100.0) -> SimulatedExposure:
    return SimulatedExposure(index=1, kv_set=80.0, ma_set=200.0, ms_set=ms, kv_peak_actual=80.0, ms_actual=ms,
                             sample_interval_ms=0.1, kv_waveform=np.zeros(4), dose_rate_waveform=np.zeros(4),
                             air_kerma_ugy=air_kerma_ugy, hvl_mm_al=3.1)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def ask(sim: UnidosSimulator, line: str) -> bytes:
    reply = sim.respond(line.encode("utf-8"))
    assert reply is not None
    return reply


def test_replies_are_utf8_lines_ending_crlf() -> None:
    sim = UnidosSimulator(IDENTITY, type_number="TM10053", hardware="B02")
    assert ask(sim, "PTW") == b"PTW;UNIDOS Romeo;TM10053;1.3.0;B02\r\n"
    assert ask(sim, "SER") == b"SER;A-0042\r\n"
    assert ask(sim, "S") == b"S;RES\r\n"
    assert sim.split(bytearray(b"S\r\nMV\r\nPT")) == [b"S", b"MV"]
    assert sim.command_of(b"RGE;LOW") == "RGE"


def test_the_notes_mv_example_is_reproduced_byte_for_byte() -> None:
    clock = Clock()
    sim = UnidosSimulator(clock=clock, dose_prefixes=("m", "n"))
    sim.token = True
    ask(sim, "STA")
    sim.charge_c = 2.6e-6 / N_K_DIAGNOSTIC_30CC                   # 2.6 µGy = 2.6e-3 mGy
    sim.current_a = 5.6e-18 / 60 / N_K_DIAGNOSTIC_30CC            # 5.6e-18 Gy/min = 5.6e-9 nGy/min
    clock.now += 3.0
    ask(sim, "HLD")
    sim.status = "RES"
    assert ask(sim, "MV") == "MV;RES;2.6;E-3;m;Gy;5.6;E-09;n;Gy;min;3000.0;ms;300.0;V;0x0\r\n".encode()


def test_scientific_notation() -> None:
    assert scientific(0.0026) == ("2.6", "E-3")
    assert scientific(5.6e-9, "E{:+03d}") == ("5.6", "E-09")
    assert scientific(0.0) == ("0.0", "E0")
    assert scientific(9.9999996) == ("1.0", "E1")
    assert scientific(-1234.5) == ("-1.2345", "E3")


def test_micro_prefix_goes_out_as_utf8() -> None:
    sim = UnidosSimulator(electrical_units=True, charge_prefixes=("µ", "µ"))
    sim.charge_c = 7.5e-7
    assert ";7.5;E-1;µ;C;".encode() in ask(sim, "MV")


def test_error_codes() -> None:
    sim = UnidosSimulator()
    assert ask(sim, "FOO") == b"E01\r\n"
    assert ask(sim, "RGE;LOW") == b"E20\r\n"                      # a setting without the token
    assert ask(sim, "STA") == b"E20\r\n"                          # measurement control too
    assert ask(sim, "TOK;1") == b"TOK;1;true\r\n"
    assert ask(sim, "TOK") == b"TOK;true\r\n"
    assert ask(sim, "HV;401") == b"E08\r\n"
    assert ask(sim, "RGE;HUGE") == b"E08\r\n"
    assert ask(sim, "IT;0") == b"E08\r\n"
    assert ask(sim, "HV;abc") == b"E29\r\n"
    assert ask(sim, "UEL;yes") == b"E29\r\n"
    assert ask(sim, "HV;") == b"E18\r\n"
    assert ask(sim, "HV;1;2") == b"E17\r\n"
    assert ask(sim, "MV;1") == b"E17\r\n"
    assert ask(sim, "RDR") == b"E21\r\n"
    assert ask(sim, "RDR;9") == b"E08\r\n"
    assert ask(sim, "X" * 101) == b"E16\r\n"
    assert ask(sim, "HLD") == b"E03\r\n"                          # nothing to hold
    assert ask(sim, "STA") == b"STA\r\n"
    assert ask(sim, "RGE;LOW") == b"E03\r\n"                      # not while integrating
    assert ask(sim, "TOK;0") == b"TOK;0;true\r\n"
    assert ask(sim, "HLD") == b"E20\r\n"


def test_the_token_is_refused_while_the_display_lock_is_open() -> None:
    sim = UnidosSimulator(display_lock_closed=False)
    assert ask(sim, "TOK;1") == b"TOK;1;false\r\n"
    assert ask(sim, "RES") == b"E20\r\n"


def test_settings_are_kept_and_queried() -> None:
    sim = UnidosSimulator()
    ask(sim, "TOK;1")
    for line in ("RGE;HIGH", "HV;-250", "IT;5", "ASE;true", "UEL;true", "ASL;LOW"):
        assert ask(sim, line) == f"{line}\r\n".encode()
        assert ask(sim, line.split(";")[0]) == f"{line}\r\n".encode()


def test_exposures_collect_charge_only_while_integrating() -> None:
    sim = UnidosSimulator(electrical_units=True)
    assert sim.on_exposure(exposure(940.0)) is False             # RES: not integrating
    ask(sim, "TOK;1")
    ask(sim, "STA")
    assert sim.on_exposure(exposure(940.0, ms=50.0)) is True
    assert sim.charge_c == pytest.approx(940e-6 / 9.4e5)         # 1.0 nC
    assert sim.current_a == pytest.approx(1e-9 / 0.05)            # 20 nA
    assert b";1.0;E0;n;C;2.0;E+04;p;C;s;" in ask(sim, "MV")
    ask(sim, "HLD")
    assert sim.on_exposure(exposure(940.0)) is False
    ask(sim, "RES")
    assert b"MV;RES;0.0;E0;n;C;0.0;E+00;" in ask(sim, "MV")


def test_autostart_measures_the_next_exposure_by_itself() -> None:
    sim = UnidosSimulator()
    ask(sim, "TOK;1")
    ask(sim, "ASE;true")
    assert sim.on_exposure(exposure(500.0)) is True
    assert ask(sim, "S") == b"S;AUTO_HOLD\r\n"
    assert sim.air_kerma_gy() == pytest.approx(500e-6)


def test_interval_measurement_ends_after_the_interval_time() -> None:
    clock = Clock()
    sim = UnidosSimulator(clock=clock, interval_s=2)
    ask(sim, "TOK;1")
    assert ask(sim, "INT") == b"INT\r\n"
    clock.now += 1.5
    assert ask(sim, "S") == b"S;INT\r\n"
    clock.now += 1.0
    assert ask(sim, "S") == b"S;INTHLD\r\n"
    assert b";2000.0;ms;" in ask(sim, "MV")


def test_an_exposure_too_strong_for_the_range_sets_the_overload_flag() -> None:
    sim = UnidosSimulator(measuring_range="VERY_LOW")
    ask(sim, "TOK;1")
    ask(sim, "STA")
    sim.on_exposure(exposure(1000.0))                             # ~10 nA > 50 pA
    assert ask(sim, "MV").endswith(b";0x1\r\n")
    sim.extra_flags = 0x8
    assert ask(sim, "MV").endswith(b";0x9\r\n")


def test_zeroing_and_detectors() -> None:
    sim = UnidosSimulator()
    assert ask(sim, "NUL") == b"E20\r\n"
    ask(sim, "TOK;1")
    assert ask(sim, "NUL") == b"NUL\r\n"
    assert ask(sim, "NUS") == b"NUS;Passed;0;82000\r\n"
    assert ask(sim, "RDR;1") == ('RDR;1;{"id":1;"name":"Diagnostic chamber 30 cm3";"serial":"000777";'
                                 '"voltage":300}\r\n').encode()


# ---- the driver against the simulator on real wires ----

@pytest.fixture
def sim() -> UnidosSimulator:
    return UnidosSimulator(IDENTITY)


@pytest.fixture
def tcp(sim: UnidosSimulator) -> Iterator[TcpSimServer]:
    with serve_tcp(sim) as server:
        yield server


def connect(resource: str, **options) -> PtwUnidos:
    return PtwUnidos(resource, name="unidos-1", poll_interval=Q_(5, "ms"), **options)


def test_identify_and_an_exposure_over_tcp(tcp: TcpSimServer, sim: UnidosSimulator) -> None:
    assert tcp.resource.startswith("TCPIP::127.0.0.1::") and tcp.resource.endswith("::SOCKET")
    with connect(tcp.resource) as driver:
        assert driver.identify() == IDENTITY
        driver.arm()
        assert sim.status == "MEAS" and sim.token is False
        assert sim.on_exposure(exposure(812.3)) is True
        driver.wait_for_exposure(Q_(2, "s"))
        reading = driver.read_exposure()
    assert reading["air_kerma"].to("µGy").magnitude == pytest.approx(812.3, rel=1e-5)
    assert reading["air_kerma_rate"].to("mGy/s").magnitude == pytest.approx(8.123, rel=1e-5)


def test_charge_in_electrical_units_over_tcp(tcp: TcpSimServer, sim: UnidosSimulator) -> None:
    with connect(tcp.resource) as driver:
        driver.set_flag("UEL", True)
        driver.arm()
        sim.on_exposure(exposure(812.3, ms=200.0))
        driver.wait_for_exposure(Q_(2, "s"))
        driver.hold()
        reading = driver.read_exposure()
        assert driver.status() == "HOLD"
    charge = 812.3e-6 / N_K_DIAGNOSTIC_30CC
    assert reading["charge"].to("C").magnitude == pytest.approx(charge, rel=1e-5)
    assert reading["current"].to("A").magnitude == pytest.approx(charge / 0.2, rel=1e-5)


def test_identify_and_an_exposure_over_a_pty(sim: UnidosSimulator) -> None:
    with serve_pty(sim) as server:
        with connect(server.resource) as driver:
            assert driver.identify() == IDENTITY
            driver.arm()
            sim.on_exposure(exposure(250.0))
            driver.wait_for_exposure(Q_(2, "s"))
            assert driver.read_exposure()["air_kerma"].to("µGy").magnitude == pytest.approx(250.0, rel=1e-5)
        with connect(server.visa_resource) as driver:
            assert driver.status() == "MEAS"


def test_silence_is_a_timeout_naming_instrument_resource_and_time(tcp: TcpSimServer) -> None:
    tcp.inject(WireFault("silence", command="MV"))
    with connect(tcp.resource, timeout=Q_(0.3, "s")) as driver:
        with pytest.raises(InstrumentTimeout) as caught:
            driver.read_now()
    message = str(caught.value)
    assert "unidos-1" in message and tcp.resource in message and "0.3" in message


def test_an_exposure_that_never_comes_is_a_timeout(tcp: TcpSimServer) -> None:
    with connect(tcp.resource) as driver:
        driver.arm()
        with pytest.raises(InstrumentTimeout, match="no complete exposure within 0.1 s"):
            driver.wait_for_exposure(Q_(0.1, "s"))


def test_garble_is_a_protocol_error(tcp: TcpSimServer) -> None:
    tcp.inject(WireFault("garble", command="PTW"))
    with connect(tcp.resource) as driver:
        with pytest.raises(ProtocolError):
            driver.identify()


def test_drop_is_connection_lost(tcp: TcpSimServer) -> None:
    tcp.inject(WireFault("drop", command="MV"))
    with connect(tcp.resource, reconnects=0, timeout=Q_(0.3, "s")) as driver:
        with pytest.raises(ConnectionLost):
            driver.read_now()


def test_error_reply_is_the_typed_error(tcp: TcpSimServer) -> None:
    tcp.inject(WireFault("error", command="STA"))
    with connect(tcp.resource) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.arm()
        assert (caught.value.code, caught.value.command) == ("E03", "STA")
        assert driver.status() == "RES"


def test_a_vented_chamber_reads_low_in_thin_warm_air():
    # At 24 °C and 99.0 kPa against a 22 °C, 101.325 kPa calibration, k_TP = 1.030420: the uncorrected
    # display is the true air kerma / 1.030420.
    from xcal.simulators.ptw_unidos import UnidosSimulator
    from xcal.simulators.room import SimulatedExposure

    sim = UnidosSimulator(n_k_gy_per_c=9.4e5, air_density_factor=1 / 1.030420)
    sim.settings["ASE"] = True
    exposure = SimulatedExposure(1, 80, 200, 100, 80, 100, 0.05, None, None, air_kerma_ugy=1000.0, hvl_mm_al=3.0)
    assert sim.on_exposure(exposure)
    assert sim.air_kerma_gy() == pytest.approx(1000e-6 / 1.030420, rel=1e-12)
    with pytest.raises(ValueError, match="air_density_factor"):
        UnidosSimulator(air_density_factor=0)
