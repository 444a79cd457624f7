"""A meter that fails mid-run, and the calibration gate, through the installed `xcal`."""

import json

import pytest

pytestmark = pytest.mark.e2e

ROOM3_SIM_END = "      seed: 3\n"


def _fault_site(site_copy, fault: str, timeout: str = "0.5 s"):
    return site_copy({"    timeout: 2 s": f"    timeout: {timeout}",
                      ROOM3_SIM_END: ROOM3_SIM_END + "      wire_faults:\n        - " + fault + "\n"})


def _incomplete_run(xcal, site):
    result = xcal("--site", str(site), "run", "kvp-accuracy", "--room", "3")
    history = json.loads(xcal("history", "--json").stdout)
    assert len(history) == 1
    run = json.loads(xcal("show-run", history[0]["run_id"], "--json").stdout)
    return result, run


def test_a_meter_that_goes_silent_ends_the_run_with_exit_3(xcal, site_copy):
    site = _fault_site(site_copy, "{instrument: kvp-1, kind: silence, command: read, after: 5}")
    result, run = _incomplete_run(xcal, site)
    assert result.returncode == 3, result.stderr
    message = result.stderr
    assert "kvp-1" in message and "TCPIP::127.0.0.1::" in message and "0.5 s" in message
    assert "Traceback" not in message
    # Four exposures completed before the fifth read went unanswered: 4 × (4 values + 1 waveform) readings.
    assert run["status"] == "incomplete" and run["verdict"] is None
    assert len(run["readings"]) == 20
    assert "did not answer" in run["status_note"]
    assert "stopped after 4 of 12 exposures" in message and "20 readings taken are kept" in message


def test_a_dropped_connection_ends_the_run_with_exit_3(xcal, site_copy):
    site = _fault_site(site_copy, "{instrument: kvp-1, kind: drop, command: status, after: 7}")
    result, run = _incomplete_run(xcal, site)
    assert result.returncode == 3, result.stderr
    assert "kvp-1" in result.stderr and "TCPIP::127.0.0.1::" in result.stderr
    assert run["status"] == "incomplete" and 0 < len(run["readings"]) < 60


def test_a_garbled_reply_ends_the_run_with_exit_3(xcal, site_copy):
    site = _fault_site(site_copy, "{instrument: kvp-1, kind: garble, command: read, after: 3, count: 1}")
    result, run = _incomplete_run(xcal, site)
    assert result.returncode == 3, result.stderr
    assert "kvp-1" in result.stderr and "READ?" in result.stderr
    # Two exposures were read cleanly before the garbled third reply: 2 × 5 readings kept.
    assert run["status"] == "incomplete" and len(run["readings"]) == 10


def test_an_instrument_past_its_calibration_due_date_is_refused(xcal, site_copy):
    site = site_copy({"date: 2026-01-15": "date: 2024-06-30", "due: 2099-12-31": "due: 2025-06-30"})
    result = xcal("--site", str(site), "run", "kvp-accuracy", "--room", "3")
    assert result.returncode == 2
    assert "kvp-1" in result.stderr and "2025-06-30" in result.stderr
    assert "--allow-expired-calibration" in result.stderr
    assert json.loads(xcal("history", "--json").stdout) == []


def test_the_override_proceeds_and_records_the_reason(xcal, site_copy):
    site = site_copy({"date: 2026-01-15": "date: 2024-06-30", "due: 2099-12-31": "due: 2025-06-30"})
    result = xcal("--site", str(site), "run", "kvp-accuracy", "--room", "3", "--json",
                  "--allow-expired-calibration", "recalibration booked; meter checked against kvp-2")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["calibration_override"] == "recalibration booked; meter checked against kvp-2"
    run_id = json.loads(result.stdout)["run_id"]
    run = json.loads(xcal("show-run", run_id, "--json").stdout)
    override = run["snapshot"]["calibration_override"]
    assert override == {"reason": "recalibration booked; meter checked against kvp-2", "instruments": ["kvp-1"]}
    assert "proceeding because" in result.stderr


def test_debug_shows_the_raw_instrument_io_and_the_traceback(xcal, site_copy):
    site = _fault_site(site_copy, "{instrument: kvp-1, kind: silence, command: read, after: 2}")
    result = xcal("--debug", "--site", str(site), "run", "kvp-accuracy", "--room", "3")
    assert result.returncode == 3
    assert "xcal.io kvp-1 > b'*IDN?\\n'" in result.stderr
    assert "xcal.io kvp-1 < b'Example Instruments,XR-1,XR1-004217," in result.stderr
    assert "Traceback" in result.stderr and "error: run" in result.stderr


def test_a_meter_reporting_another_serial_than_the_site_file_is_not_used(xcal, site_copy):
    # The counter's serial reply is garbled, so it is not the 0320-77A1 the site's certificate is for.
    site = _fault_site(site_copy, "{instrument: gm-1, kind: garble, after: 2}")
    result = xcal("--site", str(site), "run", "check-source-constancy", "--room", "3")
    assert result.returncode == 3, result.stderr
    assert "gm-1" in result.stderr and "is the wrong meter" in result.stderr and "0320-77A1" in result.stderr
    assert "Traceback" not in result.stderr
