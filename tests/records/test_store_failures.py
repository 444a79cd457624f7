"""A store that cannot be used says so, and a store that fails in the middle of a run stops the run, not xcal.

Each failure is made for real: a full disk and a read-only file system are small tmpfs mounts (the test needs
root, else it is skipped with the reason), a lock is held by another process with `BEGIN EXCLUSIVE`. Before a
run the failure is a configuration error (exit 2, nothing recorded); during a run it is a run stop (exit 3):
the readings already committed stay, the run is marked incomplete when the store still allows it, and the
message names `xcal run --resume RUN_ID`. A store from a newer xcal is covered in test_schema.py.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path

import pytest

from xcal.demo.wiring import simulated_room
from xcal.errors import RecordError, RunAborted
from xcal.procedures.runner import RunObserver
from xcal.procedures.session import plan_resume, plan_run, run_plan
from xcal.records import backend
from xcal.records.store import Store

from .factory import PG_SKIP, header, pg_server, reading, scratch_schema

READINGS_PER_EXPOSURE = 5        # kvp-accuracy: kvp_ppv, kvp_max, exposure_time, air_kerma + the waveform
EXPOSURES = 12                   # kvp-accuracy: 4 stations x 3 repeats

_LOCKER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
con.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
hold = float(sys.argv[2])
if hold > 0:
    time.sleep(hold)
else:
    sys.stdin.readline()
con.execute("ROLLBACK")
con.close()
"""


@contextmanager
def tmpfs(folder: Path, size: str = "512k") -> Iterator[Path]:
    """A fresh tmpfs of `size` mounted on `folder` for the test, unmounted afterwards whatever happened."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("a full or read-only file system is made with a tmpfs mount, which needs root")
    folder.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.strip()}); no full or read-only disk to test on")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def remount(folder: Path, mode: str) -> None:
    """Mount the test's tmpfs again read-only ('ro') or read-write ('rw')."""
    done = subprocess.run(["mount", "-o", f"remount,{mode}", str(folder)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, f"cannot remount {folder} {mode}: {done.stderr.strip()}"


def fill(folder: Path) -> Path:
    """Write a file in `folder` until its disk refuses one more byte; the file, to delete to free the disk."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    assert os.statvfs(folder).f_bavail == 0
    return filler


@contextmanager
def locked(path: Path, hold: float = 0) -> Iterator[subprocess.Popen]:
    """Another process holds the store's SQLite lock (BEGIN EXCLUSIVE): for `hold` s, or (0) until the block ends."""
    child = subprocess.Popen([sys.executable, "-c", _LOCKER, str(path), str(hold)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        yield child
    finally:
        if child.poll() is None:
            assert child.stdin is not None
            child.stdin.close()
            try:
                child.wait(timeout=max(hold, 0) + 10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


class At(RunObserver):
    """Calls `action` as exposure `at` is about to be made, and counts the readings shown before it."""

    def __init__(self, at: int, action) -> None:
        self.at, self.action, self.shown = at, action, 0

    def exposure(self, n, total, station, repeat):
        if n == self.at:
            self.action()

    def reading(self, n, total, station, repeat, values):
        self.shown += 1


def _clean(result: subprocess.CompletedProcess) -> str:
    """The error output, asserted to be a message and not a traceback."""
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    return result.stderr


def _entries(path: Path) -> int:
    with closing(sqlite3.connect(path)) as con:
        return con.execute("SELECT COUNT(*) FROM entries").fetchone()[0]


def test_a_full_disk_refuses_a_new_store_by_name_with_exit_2(tmp_path, xcal):
    with tmpfs(tmp_path / "disk") as disk:
        fill(disk)
        done = xcal("--db", str(disk / "records.sqlite3"), "run", "kvp-accuracy", "--room", "3")
    err = _clean(done)
    assert done.returncode == 2, err
    assert f"the disk that holds {disk} is full" in err
    assert f"fix: free space on the disk of {disk}" in err


def test_a_full_disk_in_the_middle_of_a_run_is_a_run_stop_that_keeps_every_committed_reading(tmp_path):
    """The disk fills before exposure 3: the run stops with exit 3 and its id at the first write that finds no
    room, every reading shown before stays, and once space is freed the run resumes to a complete, verifying
    record."""
    with tmpfs(tmp_path / "disk", size="8m") as disk:                # room for a whole run once freed
        db = disk / "records.sqlite3"
        freed: list[Path] = []
        observer = At(3, lambda: freed.append(fill(disk)))
        with pytest.raises(RunAborted) as stop:
            run_plan(plan_run("kvp-accuracy", 3), db=db, observer=observer, simulated_room=simulated_room)
        run_id, made = stop.value.run_id, observer.shown
        assert stop.value.exit_code == 3 and run_id
        # SQLite may still write into its log's spare room for a few exposures once the disk is full
        assert 2 <= made < EXPOSURES and f"stopped after {made} of 12 exposures" in stop.value.message
        assert f"the disk that holds {disk} is full" in stop.value.message
        assert f"`xcal run --resume {run_id}`" in stop.value.fix
        assert f"free space on the disk of {disk}" in stop.value.fix
        freed[0].unlink()
        with Store(db) as store:
            run = store.get_run(run_id)
            assert len(run.readings) == made * READINGS_PER_EXPOSURE
            assert run.status in ("incomplete", "running")     # marked when the full disk allowed it
            assert store.verify().ok
        plan, stored = plan_resume(run_id, db=db)
        run_plan(plan, db=db, resume=stored, simulated_room=simulated_room)
        with Store(db) as store:
            run = store.get_run(run_id)
            assert run.status == "complete" and len(run.readings) == EXPOSURES * READINGS_PER_EXPOSURE
            assert store.verify().ok


def test_a_read_only_file_system_is_named_with_exit_2_and_the_store_is_untouched(tmp_path, xcal):
    with tmpfs(tmp_path / "disk", size="4m") as disk:
        db = disk / "records.sqlite3"
        with Store(db) as store:
            store.create_run(header("KEPT"))
            store.add_reading("KEPT", reading(1, 80.2))
            store.mark_incomplete("KEPT", "test")
        before = _entries(db)
        remount(disk, "ro")
        history = xcal("--db", str(db), "history")
        run = xcal("--db", str(db), "run", "kvp-accuracy", "--room", "3")
        remount(disk, "rw")
        for done in (history, run):
            err = _clean(done)
            assert done.returncode == 2, err
            assert f"cannot open the record store {db}: the file system that holds {disk} is mounted read-only" in err
            assert "copy the store to a writable folder" in err
        assert _entries(db) == before
        with Store(db) as store:
            assert [r.value for r in store.get_run("KEPT").readings] == [80.2]


@pytest.mark.parametrize("content", [b"name,kV\nroom 3,80\n" * 40, bytes(range(256)) * 16],
                         ids=["text", "binary"])
def test_a_file_that_is_no_database_is_refused_and_left_as_it_is(tmp_path, xcal, content):
    path = tmp_path / "readings.csv"
    path.write_bytes(content)
    done = xcal("--db", str(path), "run", "kvp-accuracy", "--room", "3")
    err = _clean(done)
    assert done.returncode == 2, err
    assert f"cannot open the record store {path}: the file is not a SQLite database, so not an xcal record store" in err
    assert "fix: give --db (or XCAL_DB) the path of an xcal record store" in err
    assert path.read_bytes() == content


def test_a_sqlite_database_of_another_program_is_refused_and_not_turned_into_a_store(tmp_path, xcal):
    path = tmp_path / "places.sqlite"
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        con.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    for args in (("history",), ("run", "kvp-accuracy", "--room", "3")):
        done = xcal("--db", str(path), *args)
        err = _clean(done)
        assert done.returncode == 2, err
        assert f"the file {path} is a SQLite database of another program (its tables: moz_places)" in err
    with closing(sqlite3.connect(path)) as con:
        assert [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["moz_places"]
    with pytest.raises(RecordError, match="not an xcal record store"):
        Store(path)


def test_a_store_locked_by_another_program_refuses_a_new_run_with_exit_2_and_records_nothing(tmp_path, cli,
                                                                                              monkeypatch):
    """The run waits the full write wait for the lock (1 s here, as the 10 s one is the same code), then says who
    to look for; no run is started."""
    monkeypatch.setattr(backend, "WRITE_WAIT_SECONDS", 1.0)
    db = tmp_path / "records.sqlite3"
    Store(db).close()
    before = _entries(db)
    with locked(db):
        done = cli("--db", str(db), "run", "kvp-accuracy", "--room", "3")
    err = _clean(done)
    assert done.returncode == 2, err
    assert f"another program held the store's lock for more than {backend.WRITE_WAIT_SECONDS:g} s" in err
    assert "fix: find the program that holds the file open" in err
    assert _entries(db) == before


def test_a_lock_held_past_the_write_wait_mid_run_is_a_run_stop_that_resumes(tmp_path, monkeypatch):
    """Another program takes the store before exposure 4 and keeps it past both the reading's write and the
    attempt to mark the run (as a 25 s lock outlasts the 10 s wait; the wait is 1 s here): exit 3 with the run
    id and the resume command, the 15 readings of exposures 1-3 kept, and the run resumes once the lock is gone."""
    monkeypatch.setattr(backend, "WRITE_WAIT_SECONDS", 1.0)
    db = tmp_path / "records.sqlite3"
    with ExitStack() as lock:
        observer = At(4, lambda: lock.enter_context(locked(db)))
        with pytest.raises(RunAborted) as stop:
            run_plan(plan_run("kvp-accuracy", 3), db=db, observer=observer, simulated_room=simulated_room)
    run_id = stop.value.run_id
    assert stop.value.exit_code == 3 and run_id
    assert "stopped after 3 of 12 exposures" in stop.value.message
    assert "another program held the store's lock for more than 1 s" in stop.value.message
    assert "could not be marked incomplete for the same reason" in stop.value.message
    assert "find the program that holds the file open" in stop.value.fix
    assert f"`xcal run --resume {run_id}`" in stop.value.fix
    with Store(db) as store:
        assert len(store.get_run(run_id).readings) == observer.shown * READINGS_PER_EXPOSURE == 15
    plan, stored = plan_resume(run_id, db=db)
    run_plan(plan, db=db, resume=stored, simulated_room=simulated_room)
    with Store(db) as store:
        run = store.get_run(run_id)
        assert run.status == "complete" and len(run.readings) == EXPOSURES * READINGS_PER_EXPOSURE
        assert store.verify().ok


class Exposures(RunObserver):
    """Notes the number of every exposure made."""

    def __init__(self, made: list[int]) -> None:
        self.made = made

    def exposure(self, n, total, station, repeat):
        self.made.append(n)


class LockAfterLast(RunObserver):
    """Has another program take the store once the last exposure's readings are committed, before the finish."""

    def __init__(self, lock: ExitStack, db: Path) -> None:
        self.lock, self.db = lock, db

    def reading(self, n, total, station, repeat, values):
        if n == total:
            self.lock.enter_context(locked(self.db))


def test_a_store_that_refuses_the_finish_stops_the_run_and_the_resume_judges_it_once(tmp_path, monkeypatch):
    """All 12 exposures are in, then the verdict cannot be written: exit 3 with the resume command, and the
    resumed run measures nothing again and records its checks once."""
    monkeypatch.setattr(backend, "WRITE_WAIT_SECONDS", 1.0)
    db = tmp_path / "records.sqlite3"
    with ExitStack() as lock, pytest.raises(RunAborted) as stop:
        run_plan(plan_run("kvp-accuracy", 3), db=db, observer=LockAfterLast(lock, db), simulated_room=simulated_room)
    run_id = stop.value.run_id
    assert stop.value.exit_code == 3 and run_id
    assert "stopped after 12 of 12 exposures" in stop.value.message
    assert f"`xcal run --resume {run_id}`" in stop.value.fix
    plan, stored = plan_resume(run_id, db=db)
    exposed: list[int] = []
    run_plan(plan, db=db, resume=stored, observer=Exposures(exposed), simulated_room=simulated_room)
    assert exposed == []                                   # nothing measured again
    with Store(db) as store:
        run = store.get_run(run_id)
        assert run.status == "complete" and len(run.readings) == EXPOSURES * READINGS_PER_EXPOSURE
        assert len({(c.check_id, c.station) for c in run.checks}) == len(run.checks) > 0
        assert store.verify().ok


def test_a_lock_let_go_after_the_write_gave_up_still_marks_the_run_incomplete(tmp_path, monkeypatch):
    """The lock outlasts the reading's write but is let go 0.3 s after it gave up, within the stop's own wait:
    the run is marked incomplete, with the readings of exposure 1."""
    monkeypatch.setattr(backend, "WRITE_WAIT_SECONDS", 1.0)
    db = tmp_path / "records.sqlite3"
    add_readings = Store.add_readings
    with ExitStack() as lock:
        def let_go_after_a_failed_write(self, run_id, rows):
            try:
                add_readings(self, run_id, rows)
            except RecordError:
                threading.Timer(0.3, lock.close).start()
                raise

        monkeypatch.setattr(Store, "add_readings", let_go_after_a_failed_write)
        with pytest.raises(RunAborted) as stop:
            run_plan(plan_run("kvp-accuracy", 3), db=db, observer=At(2, lambda: lock.enter_context(locked(db))),
                     simulated_room=simulated_room)
    assert stop.value.exit_code == 3
    assert "the run is marked incomplete" in stop.value.message
    with Store(db) as store:
        run = store.get_run(stop.value.run_id)
        assert run.status == "incomplete" and len(run.readings) == READINGS_PER_EXPOSURE
        assert store.verify().ok


def test_a_postgresql_store_locked_by_another_session_names_it_and_where_to_look(monkeypatch):
    """Another session holds the chain's table past the lock wait: the write is refused naming the wait, with
    pg_stat_activity as the place to find the holder, and nothing is written."""
    if not pg_server():
        pytest.skip(PG_SKIP)
    import psycopg

    monkeypatch.setattr(backend, "WRITE_WAIT_SECONDS", 1.0)
    with scratch_schema() as url:
        Store(url).close()
        with closing(psycopg.connect(url)) as other:
            other.execute("LOCK TABLE entries IN EXCLUSIVE MODE")
            with Store(url) as store, pytest.raises(RecordError) as refused:
                store.create_run(header("LOCKED"))
            other.rollback()
        assert "lock timeout" in refused.value.message
        assert "another session held the store's lock for more than 1 s" in (refused.value.fix or "")
        assert "pg_stat_activity" in (refused.value.fix or "")
        with Store(url) as store:
            assert store.list_runs() == []
