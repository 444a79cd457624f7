"""xcal's DIAMENTOR driver and simulator held against pymeasure's `ptwDIAMENTOR`, an independent client tested on
a DIAMENTOR over RS-232 (pymeasure 0.16.0, tests/instruments/ptw/test_ptwDIAMENTOR_with_device.py).

(a) pymeasure's class, unmodified and with its default settings, drives xcal's simulator of demo room 3's dap-1
over a real pty through pyvisa-py: every operation it offers, with DAP values compared in SI units (Gy·m²) to
what xcal's driver reads from the same simulator state and to what the exposure should give.
(b) pymeasure's published (command, reply) fixtures (tests/instruments/ptw/test_ptwDIAMENTOR.py at v0.16.0,
reproduced here as data) run through `xcal.testing.expected_protocol` against xcal's driver, with the values
compared in SI units to what pymeasure's test asserts.
"""

from __future__ import annotations

import ast
import os
import queue
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pymeasure.instruments.ptw.ptwDIAMENTOR", reason="pymeasure is not installed")
pytest.importorskip("pyvisa_py", reason="pyvisa-py (pymeasure's VISA backend here) is not installed")

from pymeasure.instruments.ptw.ptwDIAMENTOR import ptwDIAMENTOR  # noqa: E402

from xcal.demo.wiring import room_model, start_simulator  # noqa: E402
from xcal.drivers.instruments.ptw.diamentor import PtwDiamentor  # noqa: E402
from xcal.errors import InstrumentReportedError  # noqa: E402
from xcal.simulators.ptw_diamentor import DiamentorSimulator  # noqa: E402
from xcal.simulators.room import SimulatedExposure  # noqa: E402
from xcal.simulators.server import serve_pty  # noqa: E402
from xcal.site import DEMO_SITE, load_site  # noqa: E402
from xcal.testing import expected_protocol  # noqa: E402
from xcal.units import Q_  # noqa: E402


def _pty_available() -> bool:
    try:
        master, slave = os.openpty()
    except (AttributeError, OSError):
        return False
    os.close(master)
    os.close(slave)
    return True


needs_pty = pytest.mark.skipif(not _pty_available(), reason="no pseudo-terminal on this system")

GY_M2 = {"cGycm2": 1e-2 * 1e-4, "Gycm2": 1e-4, "uGym2": 1e-6, "Rcm2": 8.76e-3 * 1e-4}
"""Gy·m² per displayed unit: 1 cGy·cm² = 0.01 Gy × 1e-4 m²; 1 µGy·m² = 1e-6 Gy·m²; 1 R·cm² = 8.76 mGy × 1e-4
m² (the simulated meter's air kerma per roentgen, W/e = 33.97 J/C × 2.58e-4 C/kg)."""
CODES = {"cGycm2": 1, "Gycm2": 2, "uGym2": 3, "Rcm2": 4}
"""pymeasure's dap_unit names and the U codes of the notes."""


# ---- (a) pymeasure's client against xcal's simulator ----


@dataclass
class Bench:
    """pymeasure and xcal, each on its own pty to one simulated meter (so both see the same state)."""

    peer: Any
    xcal: PtwDiamentor
    sim: DiamentorSimulator
    serial: str


@pytest.fixture
def bench() -> Iterator[Bench]:
    """dap-1 of demo room 3 served the way `xcal sim serve` does, plus a second pty onto the same simulator."""
    if not _pty_available():
        pytest.skip("no pseudo-terminal on this system")
    site = load_site(DEMO_SITE)
    room = site.room("3")
    instrument = site.instruments[room.instruments["dap_meter"]]
    server = start_simulator(instrument, room, room_model(room))
    sim = server.protocol
    second = serve_pty(sim, name="dap-1 (xcal)")
    peer = ptwDIAMENTOR(server.visa_resource, visa_library="@py")
    xcal = PtwDiamentor(second.resource, name="dap-1", kerma_per_exposure="8.76 mGy/R")
    try:
        yield Bench(peer, xcal, sim, instrument.serial)
    finally:
        peer.adapter.close()
        xcal.close()
        second.stop()
        server.stop()


def exposure(air_kerma_ugy: float, ms: float) -> SimulatedExposure:
    return SimulatedExposure(index=1, kv_set=80.0, ma_set=200.0, ms_set=ms, kv_peak_actual=80.0, ms_actual=ms,
                             sample_interval_ms=0.1, kv_waveform=np.zeros(4), dose_rate_waveform=np.zeros(4),
                             air_kerma_ugy=air_kerma_ugy, hvl_mm_al=3.1)


def test_identity_and_serial(bench: Bench) -> None:
    identity = bench.xcal.identify()
    assert bench.peer.id == f"CRS {identity.firmware}" and identity.model == "DIAMENTOR CRS"
    assert bench.peer.serial_number == int(identity.serial) == int(bench.serial)
    assert bench.peer.serial_number in range(1_000_000)          # what pymeasure's device test asks of a meter


@pytest.mark.parametrize("unit", sorted(CODES))
def test_an_exposure_reads_the_same_dap_in_si_in_both_clients(bench: Bench, unit: str) -> None:
    area_cm2 = bench.sim.field_area_cm2
    bench.peer.dap_unit = unit
    bench.peer.reset()
    bench.sim.on_exposure(exposure(5000.0, ms=2500.0))
    expected = 5000e-6 * area_cm2 * 1e-4                         # air kerma (Gy) × field area (m²)
    peer = bench.peer.measurement
    if hasattr(type(bench.peer), "measurement_result"):          # pymeasure after 0.16.0 names the query so
        assert bench.peer.measurement_result == peer
    xcal = bench.xcal.read_now()
    assert bench.xcal.dap_unit == CODES[unit]
    assert peer["dap"] * GY_M2[unit] == pytest.approx(expected, rel=2e-3)
    assert xcal["dap"].to("Gy*m**2").magnitude == pytest.approx(peer["dap"] * GY_M2[unit], rel=1e-9)
    assert peer["dap_rate"] * GY_M2[unit] == pytest.approx(expected / 2.5, rel=2e-3)        # per second
    assert xcal["dap_rate"].to("Gy*m**2/s").magnitude == pytest.approx(peer["dap_rate"] * GY_M2[unit], rel=1e-9)
    assert peer["time"] == 2 and bench.xcal.measure().exposure_time == Q_(2, "s")       # 2.5 s, whole seconds


def test_reset_clears_dap_and_time(bench: Bench) -> None:
    bench.sim.on_exposure(exposure(100.0, ms=61_000.0))
    assert bench.peer.measurement["time"] == 61
    bench.peer.reset()
    assert bench.peer.measurement == {"dap": 0.0, "dap_rate": 0.0, "time": 0}
    assert bench.xcal.read_now()["dap"].magnitude == 0


PYMEASURE_ERROR = (ValueError, ConnectionError)
"""pymeasure looks an `E<n>` reply up in its table without stripping the line end it read (VISA serial default,
no read termination: `E23\r\n`), so over a real line every error code ends as ConnectionError("Unknown read
error. Received: E23..."); only its fixtures, which carry no line end, reach its ValueError. Both name the code."""


def test_self_test_passes_on_an_empty_line_and_fails_on_its_code(bench: Bench) -> None:
    bench.peer.execute_selftest()
    bench.xcal.self_test()
    bench.sim.self_test_error = 23
    with pytest.raises(PYMEASURE_ERROR, match="E23"):
        bench.peer.execute_selftest()
    with pytest.raises(InstrumentReportedError, match="E23"):
        bench.xcal.self_test()


@pytest.mark.parametrize("eeprom_ok, calibrated, constancy_ok", [(True, True, True), (False, True, False),
                                                                 (True, False, True)])
def test_constancy_check_and_crc_flags(bench: Bench, eeprom_ok: bool, calibrated: bool,
                                       constancy_ok: bool) -> None:
    bench.sim.eeprom_ok, bench.sim.calibrated, bench.sim.constancy_ok = eeprom_ok, calibrated, constancy_ok
    assert (bench.peer.is_eeprom_ok, bench.peer.is_calibrated) == (eeprom_ok, calibrated)
    assert bench.xcal.memory_status() == (eeprom_ok, calibrated)
    assert bench.peer.constancy_check_passed is bench.xcal.constancy_check() is constancy_ok


@pytest.mark.parametrize("hpa", [500, 1500, 1013])
def test_pressure_set_by_pymeasure_reads_the_same_in_xcal(bench: Bench, hpa: int) -> None:
    bench.peer.pressure = hpa
    assert bench.peer.pressure == hpa
    assert bench.xcal.pressure.to("Pa").magnitude == pytest.approx(hpa * 100)
    bench.xcal.pressure = Q_(100.0, "kPa")
    assert bench.peer.pressure == 1000


@pytest.mark.parametrize("celsius", [0, 70, 20])
def test_temperature_set_by_pymeasure_reads_the_same_in_xcal(bench: Bench, celsius: int) -> None:
    bench.peer.temperature = celsius
    assert bench.peer.temperature == celsius
    assert bench.xcal.temperature.to("K").magnitude == pytest.approx(celsius + 273.15)
    bench.xcal.temperature = Q_(35, "degC")
    assert bench.peer.temperature == 35


@pytest.mark.parametrize("unit", sorted(CODES))
def test_every_dap_unit(bench: Bench, unit: str) -> None:
    bench.peer.dap_unit = unit
    assert bench.peer.dap_unit == unit and bench.xcal.dap_unit == CODES[unit]


def test_calibration_and_correction_factors(bench: Bench) -> None:
    bench.peer.calibration_factor = 1.3356e11
    bench.peer.correction_factor = 3.87
    assert (bench.peer.calibration_factor, bench.peer.correction_factor) == (1.3356e11, 3.87)
    assert (bench.xcal.calibration_factor, bench.xcal.correction_factor) == (1.3356e11, 3.87)
    bench.xcal.calibration_factor = 4.3e9
    bench.xcal.correction_factor = 1.01
    assert (bench.peer.calibration_factor, bench.peer.correction_factor) == (4.3e9, 1.01)


def test_a_write_protected_setting_is_e7_in_both_clients(bench: Bench) -> None:
    bench.sim.write_protected = True
    with pytest.raises(PYMEASURE_ERROR, match="E7"):
        bench.peer.pressure = 900
    with pytest.raises(InstrumentReportedError, match="E7"):
        bench.xcal.pressure = Q_(900, "hPa")
    assert bench.peer.pressure == 1013


def test_baudrate_read_and_set(bench: Bench) -> None:
    """BR changes the meter's rate after its reply. pymeasure does not follow with its own port, so on a real
    line its next command would be lost; a pty ignores line speed, so here it still talks, which lets the test
    read back what the simulator took. xcal switches its own port after the echo (see the driver tests)."""
    assert bench.peer.baudrate == 9600 == bench.xcal.baudrate
    for baud in (19200, 38400, 57600, 115200, 9600):
        bench.peer.baudrate = baud
        assert bench.sim.baudrate == baud and bench.peer.baudrate == baud and bench.xcal.baudrate == baud


@needs_pty
def test_pymeasure_drives_the_simulator_that_xcal_sim_serve_starts(xcal_exe: str) -> None:
    serial = load_site(DEMO_SITE).instruments["dap-1"].serial
    proc = subprocess.Popen([xcal_exe, "sim", "serve", "--room", "3"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        port = None
        while port is None:
            line = lines.get(timeout=120)
            found = re.match(r"dap-1\s+ptw-diamentor\s+(/dev/\S+)", line)
            port = found.group(1) if found else None
        peer = ptwDIAMENTOR(f"ASRL{port}::INSTR", visa_library="@py")
        try:
            assert peer.id.startswith("CRS ") and peer.serial_number == int(serial)
            peer.reset()
            peer.execute_selftest()
            assert peer.measurement == {"dap": 0.0, "dap_rate": 0.0, "time": 0}
            assert peer.constancy_check_passed is True and peer.is_calibrated and peer.is_eeprom_ok
            peer.pressure, peer.temperature, peer.dap_unit = 990, 23, "Gycm2"
            assert (peer.pressure, peer.temperature, peer.dap_unit) == (990, 23, "Gycm2")
            assert 1e8 <= peer.calibration_factor <= 9.999e12 and 0 <= peer.correction_factor <= 9.999
            assert peer.baudrate == 9600
        finally:
            peer.adapter.close()
        with PtwDiamentor(port, name="dap-1", expected_serial=serial) as xcal:
            assert xcal.identify().serial == serial
            assert (xcal.pressure, xcal.dap_unit) == (Q_(990, "hPa"), 2)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "stopped" in err


# ---- (b) pymeasure's published fixtures against xcal's driver ----

FIXTURES: dict[str, list[tuple[str, str]]] = {
    "test_baudrate": [("BR4", "BR4"), ("BR", "BR0")],
    "test_execute_selftest": [("TST", ""), ("TST", "E1")],
    "test_constancy_check_passed": [("G", "GP"), ("G", "GF")],
    "test_is_calibrated": [("CRC", "CRC0,0"), ("CRC", "CRC0,1")],
    "test_is_eeprom_ok": [("CRC", "CRC0,1"), ("CRC", "CRC1,1")],
    "test_pressure[500]": [("PRE0500", "PRE0500"), ("PRE", "PRE0500")],
    "test_pressure[1500]": [("PRE1500", "PRE1500"), ("PRE", "PRE1500")],
    "test_id": [("PTW", "CRS 1.2.4")],
    "test_measurement": [("M", "M9999.99,8888.88,222,33,eeee.ee,ffff.ff,mmm,ss,34567")],
    "test_serial_number": [("SER", "SER345678")],
    "test_temperature[0]": [("TMPA00", "TMPA00"), ("TMPA", "TMPA00")],
    "test_temperature[1]": [("TMPA01", "TMPA01"), ("TMPA", "TMPA01")],
    "test_temperature[30]": [("TMPA30", "TMPA30"), ("TMPA", "TMPA30")],
    "test_dap_unit": [("U", "U1"), ("U3", "U3")],
    "test_calibration_factor": [("KA4.3000E09", "KA4.3000E09"), ("KA", "KA1.3356E11")],
    "test_correction_factor": [("KFA", "KFA1.010"), ("KFA3.870", "KFA3.870")],
}
"""Every (command, reply) pair of pymeasure v0.16.0 tests/instruments/ptw/test_ptwDIAMENTOR.py, by its test."""


def fixture(name: str, **options: Any) -> Any:
    return expected_protocol(PtwDiamentor, FIXTURES[name], name="dap-1", **options)


def test_baudrate_fixture() -> None:
    with fixture("test_baudrate") as driver:
        driver.baudrate = 115200
        assert driver.transport.baudrate == 115200               # xcal's port follows the meter
        assert driver.baudrate == 9600                           # as pymeasure asserts for the BR0 reply


def test_execute_selftest_fixture() -> None:
    with fixture("test_execute_selftest") as driver:
        driver.self_test()                                       # the empty line: passed
        with pytest.raises(InstrumentReportedError) as caught:  # pymeasure: ValueError("E1, Syntax error ...")
            driver.self_test()
    assert caught.value.code == "E1" and caught.value.meaning == "syntax error"


def test_constancy_check_fixture() -> None:
    with fixture("test_constancy_check_passed") as driver:
        assert driver.constancy_check() is True
        assert driver.constancy_check() is False


def test_is_calibrated_fixture() -> None:
    with fixture("test_is_calibrated") as driver:
        assert driver.memory_status()[1] is True
        assert driver.memory_status()[1] is False


def test_is_eeprom_ok_fixture() -> None:
    with fixture("test_is_eeprom_ok") as driver:
        assert driver.memory_status()[0] is True
        assert driver.memory_status()[0] is False


@pytest.mark.parametrize("hpa", [500, 1500])
def test_pressure_fixture(hpa: int) -> None:
    with fixture(f"test_pressure[{hpa}]") as driver:
        driver.pressure = Q_(hpa * 100, "Pa")
        assert driver.pressure.to("Pa").magnitude == pytest.approx(hpa * 100)   # pymeasure: `hpa` in hPa


def test_id_and_serial_number_fixtures() -> None:
    # xcal's identify() asks PTW and then SER: pymeasure's two fixtures in that order
    exchanges = FIXTURES["test_id"] + FIXTURES["test_serial_number"]
    with expected_protocol(PtwDiamentor, exchanges, name="dap-1") as driver:
        identity = driver.identify()
    assert f"{identity.model.removeprefix('DIAMENTOR ')} {identity.firmware}" == "CRS 1.2.4"
    assert int(identity.serial) == 345678


def test_measurement_fixture() -> None:
    """xcal reads M in the unit the meter reports, so it asks U first: pymeasure's own U fixture (`U1`, from
    test_dap_unit) gives that, which pymeasure itself leaves to its user.

    The reply carries nine fields, the last five placeholders (`eeee.ee,ffff.ff,mmm,ss,34567`). xcal reads the
    four the notes name and ignores the rest: the placeholders show a meter sends more fields but not what they
    mean, so reading them would be a guess, and refusing them would refuse what the hardware-tested client takes.
    """
    with expected_protocol(PtwDiamentor, [FIXTURES["test_dap_unit"][0], *FIXTURES["test_measurement"]],
                           name="dap-1") as driver:
        measurement = driver.measure()
    assert measurement.dap.to("Gy*m**2").magnitude == pytest.approx(9999.99 * 1e-6)       # 9999.99 cGy·cm²
    assert measurement.dap_rate.to("Gy*m**2/s").magnitude == pytest.approx(8888.88 * 1e-6)
    assert measurement.exposure_time.to("s").magnitude == 13353                               # pymeasure's "time"


@pytest.mark.parametrize("celsius", [0, 1, 30])
def test_temperature_fixture(celsius: int) -> None:
    with fixture(f"test_temperature[{celsius}]") as driver:
        driver.temperature = Q_(celsius + 273.15, "K")
        assert driver.temperature.to("K").magnitude == pytest.approx(celsius + 273.15)


def test_dap_unit_fixture() -> None:
    with fixture("test_dap_unit") as driver:
        assert driver.dap_unit == CODES["cGycm2"]
        driver.dap_unit = CODES["uGym2"]


def test_calibration_factor_fixture() -> None:
    with fixture("test_calibration_factor") as driver:
        driver.calibration_factor = 4.3e9
        assert driver.calibration_factor == 1.3356e11


def test_correction_factor_fixture() -> None:
    with fixture("test_correction_factor") as driver:
        assert driver.correction_factor == 1.01
        driver.correction_factor = 3.87


def _published_pairs(source: str) -> dict[str, list[tuple[str, str]]]:
    """The (command, reply) pairs of each test in pymeasure's fixture file, f-strings filled per parameter."""
    found: dict[str, list[tuple[str, str]]] = {}
    for test in ast.parse(source).body:
        if not isinstance(test, ast.FunctionDef):
            continue
        params: list[dict[str, Any]] = [{}]
        for decorator in test.decorator_list:
            if isinstance(decorator, ast.Call) and ast.unparse(decorator.func).endswith("parametrize"):
                name, values = ast.literal_eval(decorator.args[0]), ast.literal_eval(decorator.args[1])
                params = [{name: value} for value in values]
        pairs = [node for node in ast.walk(test) if isinstance(node, ast.Tuple) and len(node.elts) == 2
                 and all(isinstance(e, (ast.Constant, ast.JoinedStr)) for e in node.elts)]
        for values in params:
            key = test.name + (f"[{next(iter(values.values()))}]" if values else "")
            found[key] = [tuple(_text(e, values) for e in pair.elts) for pair in pairs]  # type: ignore[misc]
    return found


def _text(node: ast.expr, values: dict[str, Any]) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    return ast.unparse(node)[2:-1].format(**values)


PUBLISHED = "tests/instruments/ptw/test_ptwDIAMENTOR.py"


def test_the_fixtures_here_are_all_of_pymeasures() -> None:
    repo = Path("/work/.mirror/pymeasure+pymeasure/repo")
    try:
        source = subprocess.run(["git", "-C", str(repo), "show", f"v0.16.0:{PUBLISHED}"], capture_output=True,
                                text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("no local copy of pymeasure's repository to compare the reproduced fixtures with")
    assert _published_pairs(source) == FIXTURES
