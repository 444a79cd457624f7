"""The DIAMENTOR simulator's bytes, and the DIAMENTOR driver against it over a real pty."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
import serial

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.instruments.ptw.diamentor import PtwDiamentor
from xcal.errors import ConfigError, ConnectionLost, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.simulators.ptw_diamentor import DiamentorSimulator, serial_number
from xcal.simulators.room import SimulatedExposure
from xcal.simulators.server import PtySimServer, WireFault, serve_pty
from xcal.units import Q_

IDENTITY = InstrumentIdentity("PTW", "DIAMENTOR RS", "770077", "2.0.1")


def exposure(air_kerma_ugy: float, ms: float = 100.0) -> SimulatedExposure:
    return SimulatedExposure(index=1, kv_set=80.0, ma_set=200.0, ms_set=ms, kv_peak_actual=80.0, ms_actual=ms,
                             sample_interval_ms=0.1, kv_waveform=np.zeros(4), dose_rate_waveform=np.zeros(4),
                             air_kerma_ugy=air_kerma_ugy, hvl_mm_al=3.1)


def ask(sim: DiamentorSimulator, line: str) -> bytes:
    reply = sim.respond(line.encode("ascii"))
    assert reply is not None
    return reply


def test_replies_echo_the_command_and_end_cr_lf() -> None:
    sim = DiamentorSimulator(IDENTITY)
    assert ask(sim, "PTW") == b"RS 2.0.1\r\n"
    assert ask(sim, "SER") == b"SER770077\r\n"
    assert ask(sim, "M") == b"M0.00,0.00,0,0\r\n"
    assert ask(sim, "CRC") == b"CRC0,0\r\n"
    assert ask(sim, "G") == b"GP\r\n"
    assert [sim.command_of(c) for c in (b"KA4.3000E09", b"KFA1.010", b"TMPA20", b"U1", b"BR2")] == \
        ["KA", "KFA", "TMPA", "U", "BR"]


def test_a_passed_self_test_and_a_reset_answer_an_empty_line() -> None:
    sim = DiamentorSimulator(IDENTITY)
    assert ask(sim, "TST") == b"\r\n"
    assert ask(sim, "RES") == b"\r\n"
    assert ask(DiamentorSimulator(self_test_error=23), "TST") == b"E23\r\n"


def test_commands_may_end_cr_lf_or_cr_lf_each_alone() -> None:
    sim = DiamentorSimulator()
    buffer = bytearray(b"M\r\nPRE1013\nG\rSE")
    assert sim.split(buffer) == [b"M", b"PRE1013", b"G"]
    assert buffer == bytearray(b"SE")
    split_pair = bytearray(b"G\r")
    assert sim.split(split_pair) == [b"G"]
    split_pair += b"\nCRC\r\n"                                 # the LF of CR LF arrives with the next command
    assert sim.split(split_pair) == [b"CRC"] and split_pair == bytearray()


def test_every_setting_reads_back_by_its_letters() -> None:
    sim = DiamentorSimulator(calibration_factor=1.3356e11, correction_factor=3.87, pressure_hpa=500,
                             temperature_c=0)
    assert [ask(sim, letters) for letters in ("PRE", "TMPA", "U", "KA", "KFA", "BR")] == [
        b"PRE0500\r\n", b"TMPA00\r\n", b"U1\r\n", b"KA1.3356E11\r\n", b"KFA3.870\r\n", b"BR0\r\n"]
    for line in ("PRE1013", "TMPA07", "U3", "KA4.3000E09", "KFA1.010", "BR4"):
        ask(sim, line)
    assert [ask(sim, letters) for letters in ("PRE", "TMPA", "U", "KA", "KFA", "BR")] == [
        b"PRE1013\r\n", b"TMPA07\r\n", b"U3\r\n", b"KA4.3000E09\r\n", b"KFA1.010\r\n", b"BR4\r\n"]


def test_settings_can_be_read_while_write_protected() -> None:
    sim = DiamentorSimulator(write_protected=True)
    assert ask(sim, "PRE") == b"PRE1013\r\n" and ask(sim, "PRE0950") == b"E7\r\n"


@pytest.mark.parametrize("serial, digits", [("345678", "345678"), ("0204-551", "0204551"), ("12 34", "1234")])
def test_the_serial_is_the_sites_as_digits(serial: str, digits: str) -> None:
    assert serial_number(serial) == digits
    sim = DiamentorSimulator(InstrumentIdentity("PTW", "DIAMENTOR", serial, "1.0"))
    assert ask(sim, "SER") == f"SER{digits}\r\n".encode()


@pytest.mark.parametrize("serial", ["DIA-20455", "SN77", ""])
def test_a_serial_no_diamentor_can_report_is_refused(serial: str) -> None:
    with pytest.raises(ConfigError, match="digits"):
        DiamentorSimulator(InstrumentIdentity("PTW", "DIAMENTOR", serial, "1.0"))


def test_dap_is_air_kerma_times_field_area() -> None:
    sim = DiamentorSimulator(field_area_cm2=100.0)
    assert sim.on_exposure(exposure(812.3, ms=100.0)) is True
    assert sim.dap_gycm2 == pytest.approx(0.08123)               # 812.3 µGy × 100 cm²
    assert ask(sim, "M") == b"M8.12,81.23,0,0\r\n"                # cGy·cm², cGy·cm²/s
    ask(sim, "U3")
    assert ask(sim, "M") == b"M8.12,81.23,0,0\r\n"                # 1 µGy·m² = 1 cGy·cm²
    ask(sim, "U2")
    assert ask(sim, "M") == b"M0.08,0.81,0,0\r\n"
    ask(sim, "U4")
    assert ask(sim, "M") == b"M9.27,92.73,0,0\r\n"                # 0.08123 Gy·cm² / 0.00876 Gy/R
    ask(sim, "U1")
    ask(sim, "KFA2.000")
    assert ask(sim, "M").startswith(b"M16.25,")
    assert ask(sim, "RES") == b"\r\n"
    assert ask(sim, "M") == b"M0.00,0.00,0,0\r\n"


def test_irradiation_time_adds_up_in_minutes_and_seconds() -> None:
    sim = DiamentorSimulator()
    for _ in range(3):
        sim.on_exposure(exposure(1.0, ms=25_000.0))
    assert ask(sim, "M").endswith(b",1,15\r\n")


def test_error_codes() -> None:
    sim = DiamentorSimulator(self_test_error=23)
    assert ask(sim, "XYZ") == b"E1\r\n"
    assert ask(sim, "PRE101") == b"E1\r\n"
    assert ask(sim, "PRE0400") == b"E9\r\n"
    assert ask(sim, "TMPA71") == b"E9\r\n"
    assert ask(sim, "U5") == b"E9\r\n"
    assert ask(sim, "KA9.9999E12") == b"E9\r\n"
    assert ask(sim, "KA4.3000E+09") == b"E1\r\n"                  # no '+' in the exponent
    assert ask(sim, "BR7") == b"E9\r\n"
    assert ask(sim, "TST") == b"E23\r\n"
    sim.write_protected = True
    assert ask(sim, "KFA1.010") == b"E7\r\n"
    sim.on_exposure(exposure(1e9))
    assert ask(sim, "M") == b"E4\r\n"


def test_settings_and_baud() -> None:
    sim = DiamentorSimulator()
    for line in ("PRE0950", "TMPA25", "KA4.3000E09", "KFA1.010", "U2"):
        assert ask(sim, line) == f"{line}\r\n".encode()
    assert sim.settings == {"PRE": 950, "TMPA": 25, "KA": 4.3e9, "KFA": 1.01, "U": 2}
    assert ask(sim, "BR3") == b"BR3\r\n" and sim.baudrate == 57600


# ---- over a real pty ----

@pytest.fixture
def sim() -> DiamentorSimulator:
    return DiamentorSimulator(IDENTITY, field_area_cm2=150.0)


@pytest.fixture
def pty(sim: DiamentorSimulator) -> Iterator[PtySimServer]:
    with serve_pty(sim) as server:
        yield server


def _read_for(port: serial.Serial, seconds: float) -> bytes:
    got, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        got += port.read(64)
    return got


@pytest.mark.parametrize("ending", [b"\r\n", b"\r", b"\n"])
def test_each_line_end_gets_exactly_one_reply_each(pty: PtySimServer, ending: bytes) -> None:
    with serial.Serial(pty.resource, timeout=0.05) as port:
        port.write(b"G" + ending + b"CRC" + ending)
        assert _read_for(port, 0.4) == b"GP\r\nCRC0,0\r\n"
    assert pty.received == [b"G", b"CRC"]


def connect(resource: str, **options) -> PtwDiamentor:
    return PtwDiamentor(resource, name="dap-1", poll_interval=Q_(5, "ms"), **options)


def test_identify_and_an_exposure_over_a_pty(pty: PtySimServer, sim: DiamentorSimulator) -> None:
    assert pty.resource.startswith("/dev/")
    with connect(pty.resource) as driver:
        assert driver.identify() == IDENTITY
        driver.self_test()
        driver.arm()
        sim.on_exposure(exposure(400.0, ms=50.0))
        driver.wait_for_exposure(Q_(2, "s"))
        reading = driver.read_exposure()
    assert reading["dap"].to("Gy*cm**2").magnitude == pytest.approx(0.06, abs=5e-5)     # 400 µGy × 150 cm²
    assert reading["dap_rate"].to("Gy*cm**2/s").magnitude == pytest.approx(1.2, abs=5e-5)
    assert sim.settings["U"] == 1                                   # asked, never set


def test_settings_read_back_and_a_baud_change_over_a_pty(pty: PtySimServer, sim: DiamentorSimulator) -> None:
    with connect(pty.resource, unit=3) as driver:
        driver.pressure = Q_(98.7, "kPa")
        driver.temperature = Q_(22, "degC")
        driver.calibration_factor = 1.3356e11
        driver.correction_factor = 3.87
        assert (driver.pressure, driver.temperature) == (Q_(987, "hPa"), Q_(22, "degC"))
        assert (driver.calibration_factor, driver.correction_factor) == (pytest.approx(1.3356e11), 3.87)
        driver.baudrate = 38400
        assert sim.baudrate == 38400 and driver.settings.baudrate == 38400
        assert driver.baudrate == 38400                              # the reopened port still talks
        driver.correction_factor = 2.0
        sim.on_exposure(exposure(100.0))
        assert driver.read_now()["dap"] == Q_(3.0, "µGy*m**2")      # 100 µGy × 150 cm² = 1.5 µGy·m², × KFA 2
        assert driver.dap_unit == 3
    assert (sim.settings["PRE"], sim.settings["TMPA"], sim.settings["U"]) == (987, 22, 3)


def test_write_protection_is_e7(pty: PtySimServer, sim: DiamentorSimulator) -> None:
    sim.write_protected = True
    with connect(pty.resource) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.correction_factor = 1.02
        assert driver.correction_factor == 1.0
    assert (caught.value.code, caught.value.meaning) == ("E7", "write protected")


def test_silence_is_a_timeout_naming_instrument_resource_and_time(pty: PtySimServer) -> None:
    pty.inject(WireFault("silence", command="SER"))
    with connect(pty.resource, timeout=Q_(0.3, "s")) as driver:
        with pytest.raises(InstrumentTimeout) as caught:
            driver.identify()
    message = str(caught.value)
    assert "dap-1" in message and pty.resource in message and "0.3" in message


def test_garble_is_a_protocol_error(pty: PtySimServer) -> None:
    pty.inject(WireFault("garble", command="PTW"))
    with connect(pty.resource) as driver:
        with pytest.raises(ProtocolError):
            driver.identify()


def test_error_reply_is_the_typed_error(pty: PtySimServer) -> None:
    pty.inject(WireFault("error", command="M"))
    with connect(pty.resource) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_now()
    assert (caught.value.code, caught.value.meaning) == ("E25", "input buffer overrun")


def test_drop_is_connection_lost(pty: PtySimServer) -> None:
    pty.inject(WireFault("drop", command="M"))
    with connect(pty.resource, reconnects=0, timeout=Q_(0.3, "s")) as driver:
        with pytest.raises(ConnectionLost):
            driver.read_now()
