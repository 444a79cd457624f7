"""Run leases: a live run is held by its process, a second resume is refused, a dead run shows as interrupted.

Another process is stood in for by editing the lease row (its pid, host or heartbeat) directly.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from xcal.errors import RecordError
from xcal.records import lease
from xcal.records.store import Store

from .factory import check, header, raw, reading


@pytest.fixture
def live_pid():
    """The pid of another process of this host that stays alive for the test."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child.pid
    child.kill()
    child.wait()


@pytest.fixture
def dead_pid():
    """The pid of a process of this host that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _lease(db, run_id):
    return raw(db, "SELECT pid, host FROM leases WHERE run_id = ?", (run_id,))


def test_a_new_run_holds_a_lease_until_it_ends(db, store):
    store.create_run(header("R1"))
    store.create_run(header("R2"))
    assert _lease(db, "R1") == [(os.getpid(), socket.gethostname())]
    store.add_checks("R1", [check(80.1)])
    store.finish_run("R1", "PASS", checks=[])
    store.mark_incomplete("R2", "kvp-1 did not answer")
    assert raw(db, "SELECT COUNT(*) FROM leases") == [(0,)]
    assert [r.status for r in store.list_runs()] == ["incomplete", "complete"]


def test_a_resume_while_the_holder_lives_is_refused(db, store, live_pid):
    store.create_run(header("R1"))
    store.add_reading("R1", reading(1, 80.1))
    raw(db, "UPDATE leases SET pid = ? WHERE run_id = 'R1'", (live_pid,))
    assert store.get_run("R1").status == "running"
    with Store(db) as other, pytest.raises(RecordError) as refused:
        other.resume_run("R1", "t.tech")
    assert refused.value.message.startswith(
        f"run R1 is still running: process {live_pid} on {socket.gethostname()} holds it (last heartbeat ")
    assert refused.value.fix == ("let that run finish, or stop it there (Ctrl-C); resume it once that process "
                                 "is gone")
    assert refused.value.exit_code == 2
    assert [e.kind for e in store.entries("R1")] == ["run_created", "reading"]
    assert _lease(db, "R1") == [(live_pid, socket.gethostname())]


def test_a_run_whose_process_is_gone_shows_as_interrupted_and_resumes(db, store, dead_pid):
    store.create_run(header("R1"))
    raw(db, "UPDATE leases SET pid = ? WHERE run_id = 'R1'", (dead_pid,))
    assert store.get_run("R1").status == "interrupted"
    assert [r.status for r in store.list_runs()] == ["interrupted"]
    assert raw(db, "SELECT status FROM runs") == [("running",)]
    assert store.verify().ok
    store.resume_run("R1", "t.tech")
    assert store.get_run("R1").status == "running"
    assert _lease(db, "R1") == [(os.getpid(), socket.gethostname())]


def test_a_running_run_without_a_lease_shows_as_interrupted(db, store):
    """A run left 'running' by an xcal older than leases, or whose lease row is gone."""
    store.create_run(header("R1"))
    raw(db, "DELETE FROM leases")
    assert store.get_run("R1").status == "interrupted"


def test_a_lease_of_another_host_lives_by_its_heartbeat(db, store):
    store.create_run(header("R1"))
    raw(db, "UPDATE leases SET host = 'console-2', pid = 1 WHERE run_id = 'R1'")
    assert store.get_run("R1").status == "running"
    with pytest.raises(RecordError, match="process 1 on console-2 holds it"):
        store.resume_run("R1", "t.tech")
    raw(db, "UPDATE leases SET heartbeat = heartbeat - ?", (lease.TTL_SECONDS + 1,))
    assert store.get_run("R1").status == "interrupted"
    store.resume_run("R1", "t.tech")
    assert store.get_run("R1").status == "running"


def test_the_heartbeat_keeps_the_lease_of_a_quiet_run_fresh(db, monkeypatch):
    monkeypatch.setattr(lease, "HEARTBEAT_SECONDS", 0.05)
    with Store(db) as store:
        store.create_run(header("R1"))
        raw(db, "UPDATE leases SET heartbeat = heartbeat - ?", (lease.TTL_SECONDS + 1,))
        assert store.get_run("R1").status == "interrupted"
        deadline = time.monotonic() + 5
        while store.get_run("R1").status != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.get_run("R1").status == "running"


def test_xcal_refuses_a_second_resume_and_shows_a_killed_run_as_interrupted(xcal, xcal_exe, _isolated_store,
                                                                            live_pid):
    run = subprocess.Popen([xcal_exe, "run", "kvp-accuracy", "--room", "3"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _readings(_isolated_store):
        time.sleep(0.01)
    run.kill()
    run.wait()
    (killed,) = json.loads(xcal("history", "--json").stdout)
    assert killed["status"] == "interrupted"
    assert json.loads(xcal("show-run", killed["run_id"], "--json").stdout)["status"] == "interrupted"

    raw(_isolated_store, "UPDATE leases SET pid = ?", (live_pid,))
    refused = xcal("run", "--resume", killed["run_id"])
    assert refused.returncode == 2, refused.stderr
    assert f"run {killed['run_id']} is still running: process {live_pid}" in refused.stderr
    assert "Traceback" not in refused.stderr

    raw(_isolated_store, "DELETE FROM leases")
    resumed = xcal("run", "--resume", killed["run_id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(xcal("show-run", killed["run_id"], "--json").stdout)["status"] == "complete"
    assert json.loads(xcal("verify", "--json").stdout)["ok"] is True


def _readings(db) -> int:
    try:
        return raw(db, "SELECT COUNT(*) FROM readings")[0][0]
    except sqlite3.Error:
        return 0
