"""`xcal instruments list|check` and `xcal sim serve` through the installed command."""

import json
import os
import signal
import subprocess

import pytest

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.registry import BUILTIN
from xcal.simulators.ptw_unidos import UnidosSimulator
from xcal.simulators.server import WireFault, serve_tcp

pytestmark = pytest.mark.e2e

IDENTITY = InstrumentIdentity("PTW", "UNIDOS Tango", "123456", "1.2.4")


def test_list_names_every_driver_with_capability_status_and_transport(xcal):
    result = xcal("instruments", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(BUILTIN)
    assert rows["ptw-unidos"]["capabilities"] == ["Electrometer", "Dosimeter"]
    assert rows["ptw-unidos"]["protocol_status"] == "PUBLIC" and rows["ptw-unidos"]["transports"] == ["tcp", "serial"]
    assert rows["si-max4000"]["protocol_status"] == "PARTIAL"
    assert "ptw-unidos" in xcal("instruments", "list").stdout


def test_check_a_driver_at_a_resource_prints_identity_and_a_reading(xcal):
    with serve_tcp(UnidosSimulator(IDENTITY)) as server:
        result = xcal("instruments", "check", "--driver", "ptw-unidos", "--resource", server.resource)
    assert result.returncode == 0, result.stderr
    assert "UNIDOS Tango" in result.stdout and "serial 123456" in result.stdout and "firmware 1.2.4" in result.stdout
    assert "air_kerma" in result.stdout and "mGy" in result.stdout


def test_check_a_site_instrument_against_its_simulator(xcal):
    result = xcal("instruments", "check", "gm-1")
    assert result.returncode == 0, result.stderr
    assert "GMC-320" in result.stdout and "count_rate" in result.stdout and "cpm" in result.stdout
    assert "dose_rate" in result.stdout and "µSv/h" in result.stdout


def test_check_a_site_instrument_refuses_a_meter_with_another_serial(xcal):
    # ec-1 of the demo site is UNIDOS serial T10052-0311; the meter on this port reports 123456
    with serve_tcp(UnidosSimulator(IDENTITY)) as server:
        result = xcal("instruments", "check", "ec-1", "--resource", server.resource)
    assert result.returncode == 3
    assert "is the wrong meter" in result.stderr and "123456" in result.stderr and "T10052-0311" in result.stderr


def test_check_a_wrong_resource_is_a_clear_error(xcal):
    result = xcal("instruments", "check", "--driver", "ptw-unidos", "--resource", "TCPIP::127.0.0.1::1::SOCKET")
    assert result.returncode == 3
    assert "TCPIP::127.0.0.1::1::SOCKET" in result.stderr and "Traceback" not in result.stderr
    nonsense = xcal("instruments", "check", "--driver", "ptw-unidos", "--resource", "nowhere")
    assert nonsense.returncode == 3 and "is not a resource xcal can open" in nonsense.stderr


def test_check_a_silent_instrument_times_out_with_its_resource(xcal):
    with serve_tcp(UnidosSimulator(IDENTITY), faults=[WireFault("silence")]) as server:
        result = xcal("instruments", "check", "--driver", "ptw-unidos", "--resource", server.resource,
                      "--timeout", "300 ms")
    assert result.returncode == 3
    assert server.resource in result.stderr and "0.3 s" in result.stderr


def test_check_a_garbled_instrument_is_a_protocol_error(xcal):
    with serve_tcp(UnidosSimulator(IDENTITY), faults=[WireFault("garble")]) as server:
        result = xcal("instruments", "check", "--driver", "ptw-unidos", "--resource", server.resource,
                      "--timeout", "300 ms")
    assert result.returncode == 3
    assert server.resource in result.stderr and "PTW" in result.stderr


def test_check_needs_an_instrument_or_driver_and_resource(xcal):
    result = xcal("instruments", "check", "--driver", "ptw-unidos")
    assert result.returncode == 2 and "--driver and --resource" in result.stderr


def test_sim_serve_prints_resources_that_a_driver_can_use_and_stops_on_ctrl_c(xcal_exe):
    from xcal.drivers.check import check

    proc = subprocess.Popen([xcal_exe, "sim", "serve", "--room", "3"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        lines = [proc.stdout.readline().split() for _ in range(4)]
        served = {line[0]: (line[1], line[2]) for line in lines}
        assert set(served) == {"kvp-1", "ec-1", "dap-1", "gm-1"}
        driver, resource = served["ec-1"]
        assert driver == "ptw-unidos" and resource.startswith("TCPIP::127.0.0.1::")
        assert served["gm-1"][1].startswith("/dev/pts/")
        result = check(driver, resource)
        assert result.identity.serial == "T10052-0311"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "stopped" in err


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM])
def test_sim_serve_stops_on_a_signal_even_when_started_with_ctrl_c_ignored(xcal_exe, stop_with):
    # A shell's background job starts with SIGINT ignored, and a Python program inherits that.
    proc = subprocess.Popen([xcal_exe, "sim", "serve", "--instrument", "ec-1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert proc.stdout.readline().split()[0] == "ec-1"
    finally:
        proc.send_signal(stop_with)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "stopped" in err
