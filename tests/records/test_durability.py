"""Durability: a committed write survives a crash of xcal, and the store asks the disk for a power cut too.

SQLite must run every connection with `synchronous=FULL` (WAL's NORMAL loses the last commits on a power
cut); PostgreSQL must not run the store's session with `synchronous_commit=off`. A power cut cannot be made
in a test, so the settings are checked on every connection, and a crash is made for real with SIGKILL.
"""

from __future__ import annotations

import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from xcal.demo.wiring import simulated_room
from xcal.records import lease
from xcal.records.backend import SQLiteBackend
from xcal.records.store import Store

from .factory import PG_SKIP, check, header, pg_server, reading, scratch_schema

RECORDS = Path(__file__).resolve().parents[2] / "xcal" / "records"

_CHILD = """
import sys
sys.path.insert(0, {tests!r})
from records.factory import header, reading
from xcal.records.store import Store

store = Store({path!r})
store.create_run(header({run_id!r}))
print("started", flush=True)
exposure = 0
while True:
    exposure += 1
    store.add_reading({run_id!r}, reading(exposure, 80.0 + exposure / 1000))
    print(exposure, flush=True)
"""


def _settings(con: sqlite3.Connection) -> tuple[int, str]:
    return con.execute("PRAGMA synchronous").fetchone()[0], con.execute("PRAGMA journal_mode").fetchone()[0]


def test_sqlite_connect_is_called_only_by_the_backend():
    """Every connection the store opens goes through SQLiteBackend, so the test below sees all of them."""
    calls = {p.name: len(re.findall(r"\bsqlite3\.connect\(", p.read_text(encoding="utf-8")))
             for p in RECORDS.glob("*.py")}
    assert {name: n for name, n in calls.items() if n} == {"backend.py": 1}


def test_every_sqlite_connection_of_the_store_is_wal_with_synchronous_full(tmp_path, monkeypatch):
    """Each connection is checked in the thread that opened it, the lease heartbeat's own connection included."""
    connected: list[str] = []
    settings: list[tuple[int, str]] = []
    connect, backend_init = sqlite3.connect, SQLiteBackend.__init__

    def counting_connect(*args, **kwargs):
        connected.append(threading.current_thread().name)
        return connect(*args, **kwargs)

    def checked_init(self, path):
        backend_init(self, path)
        settings.append(_settings(self._db))

    monkeypatch.setattr(sqlite3, "connect", counting_connect)
    monkeypatch.setattr(SQLiteBackend, "__init__", checked_init)
    monkeypatch.setattr(lease, "HEARTBEAT_SECONDS", 0.02)
    path = tmp_path / "records.sqlite3"
    for run_id in ("R1", "R2"):
        with Store(path) as store:
            store.create_run(header(run_id))
            deadline = time.monotonic() + 5
            while len(connected) < 2 * int(run_id[1]) and time.monotonic() < deadline:
                time.sleep(0.02)
            store.add_reading(run_id, reading(1, 80.1))
            store.finish_run(run_id, "PASS", checks=[check(80.1)])
            assert store.verify().ok
            store.sign(run_id, "performed", "T. Tech")
            assert store.list_runs() and store.get_run(run_id).readings
    assert len(connected) == 4 and sum(name.startswith("xcal-lease") for name in connected) == 2
    assert settings == [(2, "wal")] * 4


def _crash_once(path: Path, run_id: str, delay: float) -> list[int]:
    """Start a child writing readings, SIGKILL it after `delay` s of writing; the exposures it reported."""
    code = _CHILD.format(tests=str(Path(__file__).resolve().parents[1]), path=str(path), run_id=run_id)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first == "started\n", f"the writing child did not start: {first!r}"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        out = child.stdout.read()
        child.wait(timeout=5)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    return [int(line) for line in out.splitlines() if line.strip().isdigit()]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_reported_reading_survives_sigkill_and_verifies(tmp_path, seed):
    """A child killed at random points: every reading whose commit returned is in the store, and it verifies."""
    rng = random.Random(seed)
    path = tmp_path / "crash.sqlite3"
    started = time.monotonic()
    for attempt in range(2):
        run_id = f"CRASH-{seed}-{attempt}"
        committed = _crash_once(path, run_id, rng.uniform(0.05, 0.5))
        with Store(path) as store:
            run = store.get_run(run_id)
            stored = {r.exposure for r in run.readings}
            assert set(committed) <= stored, f"lost readings {sorted(set(committed) - stored)}"
            assert stored <= set(committed) | {max(committed, default=0) + 1}
            assert run.status == "interrupted"
            report = store.verify()
            assert report.ok, report.reason
    assert time.monotonic() - started < 10


def test_postgres_store_session_commits_synchronously():
    """CI's throwaway server runs with synchronous_commit=off; the store's own session must say 'on'."""
    if not pg_server():
        pytest.skip(PG_SKIP)
    with scratch_schema() as url, Store(url) as store:
        assert store._db.execute("SHOW synchronous_commit").fetchone()[0] == "on"
        store.create_run(header("R1"))
        assert store._db.execute("SHOW synchronous_commit").fetchone()[0] == "on"


class Crash(BaseException):
    """xcal dying in the middle of a write (not an error anything would catch)."""


def test_a_crash_while_finishing_a_run_records_its_checks_once_after_resume(tmp_path, monkeypatch):
    """Checks and the finished status are one transaction: a crash between them leaves neither, and the
    resumed run judges once (4 checks, not 8)."""
    from xcal.procedures.session import plan_resume, plan_run, run_plan
    from xcal.records import ledger

    db = tmp_path / "r.sqlite3"
    append = ledger.Transaction.append

    def dies_before_finishing(self, kind, run_id, payload):
        if kind == "run_finished":
            raise Crash
        return append(self, kind, run_id, payload)

    monkeypatch.setattr(ledger.Transaction, "append", dies_before_finishing)
    with pytest.raises(Crash):
        run_plan(plan_run("kvp-accuracy", 3), db=db, simulated_room=simulated_room)
    monkeypatch.setattr(ledger.Transaction, "append", append)
    with Store(db) as store:
        (crashed,) = store.list_runs()
        assert crashed.status == "running" and store.get_run(crashed.run_id).checks == []
    plan, stored = plan_resume(crashed.run_id, db=db)
    run_plan(plan, db=db, resume=stored, simulated_room=simulated_room)
    with Store(db) as store:
        run = store.get_run(crashed.run_id)
        assert run.status == "complete" and len(run.checks) == 4
        assert [e.kind for e in store.entries(run.run_id)].count("checks") == 1
        assert store.verify().ok


def test_finish_run_writes_checks_and_status_together_or_not_at_all(tmp_path, monkeypatch):
    from xcal.records import ledger

    append = ledger.Transaction.append

    def dies_before_finishing(self, kind, run_id, payload):
        if kind == "run_finished":
            raise Crash
        return append(self, kind, run_id, payload)

    with Store(tmp_path / "r.sqlite3") as store:
        store.create_run(header("R1"))
        store.add_reading("R1", reading(1, 80.1))
        monkeypatch.setattr(ledger.Transaction, "append", dies_before_finishing)
        with pytest.raises(Crash):
            store.finish_run("R1", "PASS", checks=[check(80.1)])
        monkeypatch.setattr(ledger.Transaction, "append", append)
        run = store.get_run("R1")
        assert (run.status, run.checks) == ("running", [])
        store.finish_run("R1", "PASS", checks=[check(80.1)])
        run = store.get_run("R1")
        assert run.status == "complete" and [c.verdict for c in run.checks] == ["PASS"]
        assert [e.kind for e in store.entries("R1")][-2:] == ["checks", "run_finished"]
        assert store.verify().ok


_IMPORTER = """
import sys
sys.path.insert(0, {tests!r})
from records.factory import check, header, reading
from xcal.records import bulk
from xcal.records.store import ImportedRun, Store

bulk.CHECKPOINT_BATCHES = 10 ** 9                   # nothing copied into the file: every commit lives in the log


def runs():
    for n in range(1, 100_000):
        yield ImportedRun(header(f"I{{n:05d}}"), [reading(1, 80.0), reading(2, 80.5)], [check(80.25)], "PASS",
                          "2026-11-26T10:00:00.000+00:00")
        print(n, flush=True)                        # asked for the next run: run n's batch has committed


print("started", flush=True)
Store({path!r}).import_runs(runs(), batch_readings=1)
"""


def test_an_import_killed_between_checkpoints_keeps_every_committed_batch(tmp_path):
    """A bulk import copies its log into the file only now and then; killed in between, every batch whose commit
    returned is in the store after reopening, and the store verifies."""
    path = tmp_path / "import.sqlite3"
    code = _IMPORTER.format(tests=str(Path(__file__).resolve().parents[1]), path=str(path))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "started\n"
        committed = 0
        while committed < 40:
            committed = int(child.stdout.readline())
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=5)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with Store(path) as store:
        stored = [run.run_id for run in store.list_runs()]
        assert len(stored) >= committed and f"I{committed:05d}" in stored
        report = store.verify()
        assert report.ok, report.reason
