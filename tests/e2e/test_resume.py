"""A run killed (SIGKILL) at many points is resumed; the final record is complete, unduplicated and verifies."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter

import pytest

pytestmark = pytest.mark.e2e

TOTAL_READINGS = 12 * 5          # kvp-accuracy: 4 stations × 3 repeats × (4 values + 1 waveform)


def _count(db) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
    except sqlite3.Error:
        return 0


def _kill_after(cmd: list[str], db, readings: int) -> None:
    """Start `cmd`, SIGKILL it as soon as the store holds at least `readings` readings."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and _count(db) < readings:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def _only_run(xcal):
    (run,) = json.loads(xcal("history", "--json").stdout)
    return run


@pytest.mark.parametrize("kill_at", [5, 20, 35, 55])
def test_kill_then_resume_completes_the_same_record(xcal, xcal_exe, _isolated_store, kill_at):
    _kill_after([xcal_exe, "run", "kvp-accuracy", "--room", "3"], _isolated_store, kill_at)
    run = _only_run(xcal)
    kept = _count(_isolated_store)
    assert run["status"] == "interrupted" and kept % 5 == 0 and kill_at <= kept < TOTAL_READINGS
    resumed = xcal("run", "--resume", run["run_id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["run_id"] == run["run_id"] and result["verdict"] == "PASS"
    stored = json.loads(xcal("show-run", run["run_id"], "--json").stdout)
    assert stored["status"] == "complete" and len(stored["readings"]) == TOTAL_READINGS
    per_slot = Counter((r["station"], r["repeat"], r["quantity"]) for r in stored["readings"])
    assert set(per_slot.values()) == {1} and len(per_slot) == TOTAL_READINGS
    assert json.loads(xcal("verify", "--json").stdout)["ok"] is True


def test_a_resumed_run_killed_again_resumes_again(xcal, xcal_exe, _isolated_store):
    _kill_after([xcal_exe, "run", "kvp-accuracy", "--room", "3"], _isolated_store, 10)
    run_id = _only_run(xcal)["run_id"]
    _kill_after([xcal_exe, "run", "--resume", run_id], _isolated_store, 40)
    final = xcal("run", "--resume", run_id)
    assert final.returncode == 0, final.stderr
    stored = json.loads(xcal("show-run", run_id, "--json").stdout)
    assert stored["status"] == "complete" and len(stored["readings"]) == TOTAL_READINGS
    assert json.loads(xcal("verify", "--json").stdout)["ok"] is True


def test_resume_refuses_a_complete_run(xcal):
    done = json.loads(xcal("run", "kvp-accuracy", "--room", "3", "--json").stdout)
    again = xcal("run", "--resume", done["run_id"])
    assert again.returncode == 2 and "nothing to resume" in again.stderr


def test_resume_after_a_meter_failure_marked_incomplete(xcal, site_copy):
    site = site_copy({"    timeout: 2 s\n    calibration:\n      certificate: SIM-CAL-2026-0117":
                      "    timeout: 0.5 s\n    calibration:\n      certificate: SIM-CAL-2026-0117",
                      "      seed: 3\n": "      seed: 3\n      wire_faults:\n"
                                         "        - {instrument: kvp-1, kind: silence, command: read, after: 5}\n"})
    failed = xcal("--site", str(site), "run", "kvp-accuracy", "--room", "3")
    assert failed.returncode == 3
    run_id = _only_run(xcal)["run_id"]
    # A healthy copy differs in the meter's timeout and the wire fault, neither of which the run measured with:
    # the resume accepts it (the fix line's "raise its timeout; then resume") and records what changed.
    healthy = site_copy({}, name="healthy.yaml")
    resumed = xcal("--site", str(healthy), "run", "--resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(xcal("verify", "--json").stdout)["ok"] is True


def test_an_incomplete_run_resumes_through_a_flaky_meter(xcal, site_copy):
    # The meter goes silent at its 5th reading on every connection: 4 exposures per attempt, 12 needed.
    site = site_copy({"    timeout: 2 s\n    calibration:\n      certificate: SIM-CAL-2026-0117":
                      "    timeout: 0.5 s\n    calibration:\n      certificate: SIM-CAL-2026-0117",
                      "      seed: 3\n": "      seed: 3\n      wire_faults:\n"
                                         "        - {instrument: kvp-1, kind: silence, command: read, after: 5}\n"})
    assert xcal("--site", str(site), "run", "kvp-accuracy", "--room", "3").returncode == 3
    run_id = _only_run(xcal)["run_id"]
    second = xcal("--site", str(site), "run", "--resume", run_id)
    assert second.returncode == 3
    third = xcal("--site", str(site), "run", "--resume", run_id)
    assert third.returncode == 0, third.stderr
    stored = json.loads(xcal("show-run", run_id, "--json").stdout)
    assert stored["status"] == "complete" and len(stored["readings"]) == TOTAL_READINGS
    assert json.loads(xcal("verify", "--json").stdout)["ok"] is True
