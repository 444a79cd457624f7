"""The UNIDOS simulator's bytes, and the UNIDOS driver against it over a real socket and a real pty.

Expected bytes follow the protocol notes (a number is mantissa, exponent, prefix, unit; the value is
mantissa × 10^exponent in the base unit and the prefix repeats the exponent) and pymeasure's published fixtures.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.instruments.ptw.unidos import PtwUnidos
from xcal.errors import (
    ConnectionLost,
    InstrumentReportedError,
    InstrumentTimeout,
    ProtocolError,
)
from xcal.simulators import ptw_unidos as sim_module
from xcal.simulators.ptw_unidos import N_K_DIAGNOSTIC_30CC, UnidosSimulator
from xcal.simulators.room import SimulatedExposure
from xcal.simulators.server import TcpSimServer, WireFault, serve_pty, serve_tcp
from xcal.units import Q_

IDENTITY = InstrumentIdentity("PTW", "UNIDOS Romeo", "A-0042", "1.3.0")
POWERS = {"k": 3, "": 0, "m": -3, "µ": -6, "n": -9, "p": -12, "f": -15}
"""The SI prefixes and their powers of ten, written out independently of the simulator."""


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


def text(sim: UnidosSimulator, line: str) -> str:
    return ask(sim, line).decode("utf-8").removesuffix("\r\n")


def numbers(reply: str) -> list[tuple[float, str, str]]:
    """Every (mantissa × 10^exponent, prefix, unit) group in a reply, each exponent checked against its prefix."""
    found = []
    for mantissa, exponent, prefix, unit in re.findall(r";\s*(-?[\d.]+);E([+-]?\d+);([^;]*);([A-Za-z]+)", reply):
        assert POWERS[prefix] == int(exponent), f"exponent E{exponent} with prefix {prefix!r} in {reply!r}"
        found.append((float(mantissa) * 10.0 ** int(exponent), prefix, unit))
    return found


def test_replies_are_utf8_lines_ending_crlf() -> None:
    sim = UnidosSimulator(IDENTITY, type_number="TM10053", hardware="B02")
    assert ask(sim, "PTW") == b"PTW;UNIDOS Romeo;TM10053;1.3.0;B02\r\n"
    assert ask(sim, "SER") == b"SER;A-0042\r\n"
    assert ask(sim, "S") == b"S;RES\r\n"
    assert sim.split(bytearray(b"S\r\nMV\r\nPT")) == [b"S", b"MV"]
    assert sim.command_of(b"RGE;LOW") == "RGE"


def test_the_notes_mv_example_is_reproduced_byte_for_byte() -> None:
    clock = Clock()
    sim = UnidosSimulator(clock=clock)
    sim.token = True
    ask(sim, "STA")
    sim.charge_c = 2.6e-3 / N_K_DIAGNOSTIC_30CC                   # 2.6 mGy
    sim.current_a = 5.6e-9 / 60 / N_K_DIAGNOSTIC_30CC             # 5.6 nGy/min
    clock.now += 3.0
    ask(sim, "HLD")
    sim.status = "RES"
    assert ask(sim, "MV") == b"MV;RES;2.6;E-3;m;Gy;5.6;E-09;n;Gy;min;3000.0;ms;300.0;V;0x0\r\n"


@pytest.mark.parametrize("value, expected", [
    (0.0026, ("2.6", -3)), (5.6e-9, ("5.6", -9)), (136.6e-12, ("136.6", -12)), (1.65e-6, ("1.65", -6)),
    (0.0, ("0.0", None)), (0.99999996e-3, ("1.0", -3)), (999.9999996e-6, ("1.0", -3)), (-1234.5e-9, ("-1.2345", -6)),
    (300.0, ("300.0", 0)), (2.5e3, ("2.5", 3)),
])
def test_engineering_notation_keeps_the_mantissa_between_1_and_1000(value: float, expected: tuple) -> None:
    mantissa, power = sim_module.engineering(value)
    assert (mantissa, power if value else None) == expected


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-16, 1e-1), st.floats(1e-17, 1e-3), st.booleans())
def test_every_exponent_sent_matches_its_prefix_and_gives_the_value(charge: float, current: float,
                                                                   electrical: bool) -> None:
    sim = UnidosSimulator(electrical_units=electrical)
    sim.charge_c, sim.current_a = charge, current
    (value, _, unit), (rate, _, rate_unit) = numbers(text(sim, "MV"))
    if electrical:
        assert (unit, rate_unit) == ("C", "A")
        assert value == pytest.approx(charge, rel=1e-5) and rate == pytest.approx(current, rel=1e-5)
    else:
        assert (unit, rate_unit) == ("Gy", "Gy")
        assert value == pytest.approx(charge * N_K_DIAGNOSTIC_30CC, rel=1e-5)
        assert rate == pytest.approx(current * N_K_DIAGNOSTIC_30CC * 60, rel=1e-5)
    for line in ("MVM", "MVR"):
        assert numbers(text(sim, line))


def test_electrical_units_send_the_current_in_a_with_an_empty_time_base() -> None:
    sim = UnidosSimulator(electrical_units=True)
    assert text(sim, "MV") == "MV;RES;0.0;E-12;p;C;0.0;E-12;p;A;;0.0;ms;300.0;V;0x0"
    sim.charge_c, sim.current_a = 1e-9, 20e-9
    assert ";1.0;E-9;n;C;20.0;E-09;n;A;;" in text(sim, "MV")          # the value's exponent as in `E-3;m`


def test_micro_prefix_goes_out_as_utf8() -> None:
    sim = UnidosSimulator(electrical_units=True)
    sim.charge_c = 7.5e-7
    assert b";750.0;E-9;n;C;" in ask(sim, "MV")
    sim.charge_c = 7.5e-6
    assert ";7.5;E-6;µ;C;".encode() in ask(sim, "MV")


def test_tok_requests_tok_1_asks_and_tok_0_releases() -> None:
    sim = UnidosSimulator()
    assert text(sim, "TOK;1") == "TOK;1;false"
    assert text(sim, "TOK") == "TOK;true"
    assert text(sim, "TOK;1") == "TOK;1;true"
    assert text(sim, "RES") == "RES"
    assert text(sim, "TOK;0") == "TOK;0;true"
    assert text(sim, "TOK;1") == "TOK;1;false"
    assert text(sim, "RES") == "E20"


def test_the_token_is_refused_while_the_display_lock_is_open() -> None:
    sim = UnidosSimulator(display_lock_closed=False)
    assert text(sim, "TOK") == "TOK;false"
    assert text(sim, "TOK;1") == "TOK;1;false"
    assert text(sim, "RES") == "E20"


def test_error_codes() -> None:
    sim = UnidosSimulator()
    assert ask(sim, "FOO") == b"E01\r\n"
    assert ask(sim, "RGE;LOW") == b"E20\r\n"                      # a setting without the token
    assert ask(sim, "STA") == b"E20\r\n"                          # measurement control too
    assert ask(sim, "TOK") == b"TOK;true\r\n"
    assert ask(sim, "TOK;2") == b"E08\r\n"
    assert ask(sim, "HV;401") == b"E08\r\n"
    assert ask(sim, "RGE;HUGE") == b"E08\r\n"
    assert ask(sim, "IT;0") == b"E08\r\n"
    assert ask(sim, "HV;abc") == b"E29\r\n"
    assert ask(sim, "UEL;yes") == b"E29\r\n"
    assert ask(sim, "HV;") == b"E18\r\n"
    assert ask(sim, "HV;1;2") == b"E17\r\n"
    assert ask(sim, "MV;1") == b"E17\r\n"
    assert ask(sim, "RDR") == b"E21\r\n"
    assert ask(sim, "RDR;no-such-guid") == b"E21\r\n"
    assert ask(sim, "X" * 101) == b"E16\r\n"
    assert ask(sim, "HLD") == b"E03\r\n"                          # nothing to hold
    assert ask(sim, "STA") == b"STA\r\n"
    assert ask(sim, "RGE;LOW") == b"E03\r\n"                      # not while integrating
    assert ask(sim, "NUL") == b"E03\r\n"
    assert ask(sim, "TOK;0") == b"TOK;0;true\r\n"
    assert ask(sim, "HLD") == b"E20\r\n"


def test_settings_are_kept_and_queried() -> None:
    sim = UnidosSimulator()
    ask(sim, "TOK")
    for line in ("RGE;HIGH", "HV;-250", "IT;5", "ASE;true", "ASR;true", "UEL;true", "ASL;LOW"):
        assert text(sim, line) == line
        assert text(sim, line.split(";")[0]) == line


def test_exposures_collect_charge_only_while_integrating() -> None:
    sim = UnidosSimulator(electrical_units=True)
    assert sim.on_exposure(exposure(940.0)) is False             # RES: not integrating
    ask(sim, "TOK")
    ask(sim, "STA")
    assert sim.on_exposure(exposure(940.0, ms=50.0)) is True
    assert sim.charge_c == pytest.approx(940e-6 / 9.4e5)         # 1.0 nC
    assert sim.current_a == pytest.approx(1e-9 / 0.05)            # 20 nA
    assert ";1.0;E-9;n;C;20.0;E-09;n;A;;" in text(sim, "MV")
    ask(sim, "HLD")
    assert sim.on_exposure(exposure(940.0)) is False
    ask(sim, "RES")
    assert text(sim, "MV").startswith("MV;RES;0.0;E-12;p;C;0.0;E-12;p;A;;")


def test_autostart_measures_the_next_exposure_by_itself() -> None:
    sim = UnidosSimulator()
    ask(sim, "TOK")
    ask(sim, "ASE;true")
    assert sim.on_exposure(exposure(500.0)) is True
    assert ask(sim, "S") == b"S;AUTO_HOLD\r\n"
    assert sim.air_kerma_gy() == pytest.approx(500e-6)


def test_interval_measurement_ends_after_the_interval_time() -> None:
    clock = Clock()
    sim = UnidosSimulator(clock=clock, interval_s=2)
    ask(sim, "TOK")
    assert ask(sim, "INT") == b"INT\r\n"
    clock.now += 1.5
    assert ask(sim, "S") == b"S;INT\r\n"
    clock.now += 1.0
    assert ask(sim, "S") == b"S;INTHLD\r\n"
    assert b";2000.0;ms;" in ask(sim, "MV")


def test_an_interval_measurement_starts_after_a_measurement_and_a_hold() -> None:
    """The hardware-tested client runs STA, HLD, then IT;n and INT, and sees status INT."""
    clock = Clock()
    sim = UnidosSimulator(clock=clock)
    ask(sim, "TOK")
    ask(sim, "STA")
    sim.on_exposure(exposure(300.0))
    clock.now += 5
    ask(sim, "HLD")
    assert text(sim, "S") == "S;HOLD"
    assert text(sim, "IT;2") == "IT;2"
    assert text(sim, "INT") == "INT"
    assert text(sim, "S") == "S;INT"
    assert numbers(text(sim, "MV"))[0][0] == 0.0                  # a new interval starts from zero
    assert text(sim, "IT;10") == "IT;10" and text(sim, "INT") == "INT"   # and may be restarted
    clock.now += 3
    assert text(sim, "S") == "S;INT"


def test_an_exposure_too_strong_for_the_range_sets_the_overload_flag() -> None:
    sim = UnidosSimulator(measuring_range="VERY_LOW")
    ask(sim, "TOK")
    ask(sim, "STA")
    sim.on_exposure(exposure(1000.0))                             # ~10 nA > 50 pA
    assert ask(sim, "MV").endswith(b";0x1\r\n")
    sim.extra_flags = 0x8
    assert ask(sim, "MV").endswith(b";0x9\r\n")


def test_zeroing() -> None:
    sim = UnidosSimulator()
    assert ask(sim, "NUL") == b"E20\r\n"
    ask(sim, "TOK")
    assert ask(sim, "NUL") == b"NUL\r\n"
    assert ask(sim, "NUS") == b"NUS;Passed;0;82000\r\n"


def test_the_self_test_result_carries_each_ranges_charge_as_the_meter_writes_it() -> None:
    sim = UnidosSimulator()
    ask(sim, "TOK")
    assert text(sim, "AST") == "AST"
    assert text(sim, "ASS") == "ASS;Passed;0;89000;Low; 136.6;E-12;p;C;Med; 1.500;E-09;n;C;High; 13.50;E-09;n;C"


def test_range_maximum_and_resolution_follow_the_range_and_units() -> None:
    sim = UnidosSimulator()
    ask(sim, "TOK")
    for name, current in sim_module.RANGE_MAX_CURRENT_A.items():
        ask(sim, f"RGE;{name}")
        reply = text(sim, "MVM")
        assert reply.startswith(f"MVM;{name};") and reply.endswith(";Gy;min")
        assert numbers(reply)[0][0] == pytest.approx(current * N_K_DIAGNOSTIC_30CC * 60)
        resolution = text(sim, "MVR")
        assert resolution.startswith(f"MVR;{name};") and len(resolution.split(";")) == 11
    ask(sim, "UEL;true")
    ask(sim, "RGE;MEDIUM")
    assert text(sim, "MVM") == "MVM;MEDIUM;50.0;E-09;n;A;"
    assert [unit for _, _, unit in numbers(text(sim, "MVR"))] == ["C", "A"]


def test_identity_queries_and_the_json_reads() -> None:
    sim = UnidosSimulator(IDENTITY, mac="00:0E:A4:01:02:03")
    assert text(sim, "MAC") == "MAC;00:0E:A4:01:02:03"
    assert text(sim, "TFI") == "TFI;-"
    parsed = {}
    for command in ("RMR", "RIR", "RSR", "REC", "RAC", "RDA"):
        reply = text(sim, command)
        assert reply.startswith(f"{command};") and "," not in reply      # the meter's JSON separators are ';'
        parsed[command] = json.loads(",".join(reply.split(";")[1:]))
    assert parsed["RMR"]["hv"] == 300 and parsed["RMR"]["range"] == "MEDIUM"
    assert parsed["RMR"]["isElectrical"] is False and parsed["RMR"]["integrationTime"] == 60
    assert parsed["RIR"]["serialNumber"] == "A-0042" and parsed["RIR"]["macAddress"] == "00:0E:A4:01:02:03"
    assert {"dns", "ipv4", "ipv6"} <= set(parsed["REC"]) and {"enabled", "ssid"} <= set(parsed["RAC"])
    # pymeasure splits these replies at every ';' and returns a 1-key object as a plain string
    assert all(len(parsed[c]) >= 2 for c in ("RMR", "RIR", "RSR", "REC", "RAC"))
    guid = parsed["RDA"][0]["guid"]
    detector = text(sim, f"RDR;{guid}")
    assert detector.startswith(f"RDR;{guid};")
    assert json.loads(",".join(detector.split(";")[2:])) == parsed["RDA"][0]


def test_the_history_keeps_each_finished_measurement_until_chr() -> None:
    sim = UnidosSimulator()
    assert text(sim, "RHR") == "RHR;[]"
    ask(sim, "TOK")
    ask(sim, "STA")
    sim.on_exposure(exposure(500.0))
    ask(sim, "HLD")
    history = json.loads(",".join(text(sim, "RHR").split(";")[1:]))
    assert len(history) == 1 and {"id", "date", "detector", "dose", "flags", "kTotal"} <= set(history[0])
    assert history[0]["dose"] == pytest.approx(500e-6)
    assert text(sim, "CHR") == "CHR"
    assert text(sim, "RHR") == "RHR;[]"


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
    assert reading["air_kerma"].to("Gy").magnitude == pytest.approx(812.3e-6, rel=1e-5)
    assert reading["air_kerma_rate"].to("Gy/s").magnitude == pytest.approx(8.123e-3, rel=1e-5)


def test_charge_in_electrical_units_over_tcp(tcp: TcpSimServer, sim: UnidosSimulator) -> None:
    with connect(tcp.resource) as driver:
        driver.electrical_units = True
        assert driver.electrical_units is True and sim.settings["UEL"] is True
        driver.arm()
        sim.on_exposure(exposure(812.3, ms=200.0))
        driver.wait_for_exposure(Q_(2, "s"))
        driver.hold()
        reading = driver.read_exposure()
        assert driver.status() == "HOLD"
    charge = 812.3e-6 / N_K_DIAGNOSTIC_30CC
    assert reading["charge"].to("C").magnitude == pytest.approx(charge, rel=1e-5)
    assert reading["current"].to("A").magnitude == pytest.approx(charge / 0.2, rel=1e-5)


def test_every_declared_setting_round_trips_through_the_simulator(tcp: TcpSimServer, sim: UnidosSimulator) -> None:
    with connect(tcp.resource) as driver:
        for name in ("VERY_LOW", "LOW", "MEDIUM", "HIGH"):
            driver.measuring_range = name
            assert driver.measuring_range == name == sim.settings["RGE"]
        driver.high_voltage = Q_(-13, "V")
        driver.interval_time = Q_(10, "min")
        driver.autostart, driver.autoreset, driver.autostart_level = True, True, "HIGH"
        assert (driver.high_voltage, driver.interval_time) == (Q_(-13, "V"), Q_(600, "s"))
        assert (driver.autostart, driver.autoreset, driver.autostart_level) == (True, True, "HIGH")
        assert driver.holds_write_token() is False


def test_self_test_resolution_and_json_over_tcp(tcp: TcpSimServer) -> None:
    with connect(tcp.resource) as driver:
        result = driver.self_test(Q_(2, "s"))
        assert result.charges["Low"].to("C").magnitude == pytest.approx(136.6e-12)
        resolution = driver.range_resolution()
        assert resolution.range == "MEDIUM" and resolution.value.to("Gy").magnitude > 0
        assert driver.mac_address() == "00:0E:A4:01:02:03"
        assert driver.measurement_parameters()["range"] == "MEDIUM"
        assert driver.system_info()["serialNumber"] == "A-0042"
        assert isinstance(driver.system_settings(), dict)
        detectors = driver.detectors()
        assert driver.detector(detectors[0]["guid"]) == detectors[0]
        assert driver.zero(Q_(2, "s")).status == "Passed"


def test_identify_and_an_exposure_over_a_pty(sim: UnidosSimulator) -> None:
    with serve_pty(sim) as server:
        with connect(server.resource) as driver:
            assert driver.identify() == IDENTITY
            driver.arm()
            sim.on_exposure(exposure(250.0))
            driver.wait_for_exposure(Q_(2, "s"))
            assert driver.read_exposure()["air_kerma"].to("Gy").magnitude == pytest.approx(250e-6, rel=1e-5)
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
    sim = UnidosSimulator(n_k_gy_per_c=9.4e5, air_density_factor=1 / 1.030420)
    sim.settings["ASE"] = True
    shot = SimulatedExposure(1, 80, 200, 100, 80, 100, 0.05, None, None, air_kerma_ugy=1000.0, hvl_mm_al=3.0)
    assert sim.on_exposure(shot)
    assert sim.air_kerma_gy() == pytest.approx(1000e-6 / 1.030420, rel=1e-12)
    with pytest.raises(ValueError, match="air_density_factor"):
        UnidosSimulator(air_density_factor=0)


def test_the_displayed_digits_keep_a_reading_to_six_significant_figures() -> None:
    sim = UnidosSimulator()
    sim.charge_c = 1.1686812345e-3 / N_K_DIAGNOSTIC_30CC
    (value, prefix, _), _ = numbers(text(sim, "MV"))
    assert prefix == "m" and math.isclose(value, 1.16868e-3, rel_tol=1e-9)
