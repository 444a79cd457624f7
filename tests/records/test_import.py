"""Bulk import: whole runs recorded in large transactions leave the very rows and chain a live run leaves.

The three runs below, counted by hand:
  A room 3, two exposures x (kvp_ppv, exposure_time) = 4 readings, 2 checks, PASS:
    run_created, 4 readings, checks, run_finished = 7 entries
  B room 4, three kvp_ppv readings, 1 check, FAIL: 1 + 3 + 1 + 1 = 6 entries
  C room 3, two readings, cut off (no checks), incomplete: 1 + 2 + 1 = 4 entries
17 entries, 9 readings (ids 1-9 in order), 3 checks.
"""

from __future__ import annotations

import pytest

from xcal.errors import RecordError
from xcal.records.store import ImportedRun, Store, StoredReading

from .factory import check, header, raw, reading

FINISHED = "2026-11-26T10:30:00.000+00:00"
WRITTEN = "2026-11-26T11:00:00.000+00:00"


def _timer(exposure: int, ms: float) -> StoredReading:
    return StoredReading(exposure=exposure, station=1, repeat=exposure, role="kvp_meter", instrument_id="kvp-1",
                         quantity="exposure_time", value=ms, unit="ms", taken_at=f"2026-11-26T09:0{exposure}:30+00:00")


def _runs() -> list[ImportedRun]:
    return [
        ImportedRun(header("A", "3", started_at="2026-11-26T09:00:00+00:00"),
                    [reading(1, 80.4), _timer(1, 100.2), reading(2, 79.9), _timer(2, 99.7)],
                    [check(80.15), check(0.5, check_id="timer")], "PASS", FINISHED),
        ImportedRun(header("B", "4", started_at="2026-11-26T09:10:00+00:00", simulated=False),
                    [reading(1, 85.0), reading(2, 85.4), reading(3, 0.1 + 0.2)],
                    [check(85.2, "FAIL")], "FAIL", FINISHED),
        ImportedRun(header("C", "3", started_at="2026-11-26T09:20:00+00:00"),
                    [reading(1, 80.1), reading(2, 80.3)], [], None, FINISHED, "kvp-1 did not answer"),
    ]


def _record_live(store: Store, run: ImportedRun) -> None:
    """The run as the runner records it: created, each exposure's readings together, checks, finished."""
    store.create_run(run.header)
    for exposure in sorted({r.exposure for r in run.readings}):
        store.add_readings(run.header.run_id, [r for r in run.readings if r.exposure == exposure])
    if run.verdict is None:
        store.mark_incomplete(run.header.run_id, run.status_note)
    else:
        store.add_checks(run.header.run_id, run.checks)
        store.finish_run(run.header.run_id, run.verdict)


def _everything(db) -> dict[str, list[tuple]]:
    return {"entries": raw(db, "SELECT * FROM entries ORDER BY seq"),
            "runs": raw(db, "SELECT * FROM runs ORDER BY run_id"),
            "readings": raw(db, "SELECT * FROM readings ORDER BY reading_id"),
            "checks": raw(db, "SELECT * FROM checks ORDER BY check_row")}


def test_imported_runs_leave_the_rows_and_chain_a_live_run_leaves(db, other_db, monkeypatch):
    """With the clock held still, the two stores are identical to the last byte of the last hash."""
    monkeypatch.setattr("xcal.records.store.now_utc", lambda: FINISHED)
    monkeypatch.setattr("xcal.records.ledger.now_utc", lambda: WRITTEN)
    with Store(db) as live:
        for run in _runs():
            _record_live(live, run)
        assert live.verify().ok
    with Store(other_db) as imported:
        summary = imported.import_runs(_runs())
        assert imported.verify().ok
    assert (summary.runs, summary.readings, summary.checks, summary.entries, summary.batches) == (3, 9, 3, 17, 1)
    live_rows, imported_rows = _everything(db), _everything(other_db)
    assert [len(live_rows[t]) for t in ("entries", "runs", "readings", "checks")] == [17, 3, 9, 3]
    assert imported_rows == live_rows
    kinds = [(seq, kind, run_id) for seq, _, kind, run_id, *_ in imported_rows["entries"]]
    assert kinds == [(1, "run_created", "A"), (2, "reading", "A"), (3, "reading", "A"), (4, "reading", "A"),
                     (5, "reading", "A"), (6, "checks", "A"), (7, "run_finished", "A"),
                     (8, "run_created", "B"), (9, "reading", "B"), (10, "reading", "B"), (11, "reading", "B"),
                     (12, "checks", "B"), (13, "run_finished", "B"),
                     (14, "run_created", "C"), (15, "reading", "C"), (16, "reading", "C"),
                     (17, "run_incomplete", "C")]


def test_an_imported_run_reads_back_like_a_live_one(store):
    store.import_runs(_runs())
    a, b, c = (store.get_run(r) for r in "ABC")
    assert (a.status, a.verdict, a.finished_at, a.room_id) == ("complete", "PASS", FINISHED, "3")
    assert [(r.reading_id, r.quantity, r.value, r.unit) for r in a.readings] == [
        (1, "kvp_ppv", 80.4, "kV"), (2, "exposure_time", 100.2, "ms"), (3, "kvp_ppv", 79.9, "kV"),
        (4, "exposure_time", 99.7, "ms")]
    assert [(k.check_id, k.value) for k in a.checks] == [("kvp", 80.15), ("timer", 0.5)]
    assert b.simulated is False and b.verdict == "FAIL" and b.readings[2].value == 0.1 + 0.2
    assert (c.status, c.verdict, c.status_note, [r.reading_id for r in c.readings]) == \
        ("incomplete", None, "kvp-1 did not answer", [8, 9])
    assert [r.run_id for r in store.list_runs(room="3")] == ["C", "A"]


def test_batches_are_whole_runs_and_the_chain_runs_on_across_them(db, store):
    """A batch closes once it holds 4 readings (a run counts its readings plus one): here one run per batch."""
    summary = store.import_runs(_runs(), batch_readings=4)
    assert (summary.batches, summary.entries) == (3, 17)
    assert [e.seq for e in store.entries()] == list(range(1, 18))
    assert raw(db, "SELECT reading_id FROM readings ORDER BY reading_id") == [(i,) for i in range(1, 10)]
    report = store.verify()
    assert report.ok and report.entries == 17


def test_live_writes_and_imports_take_turns_without_reusing_an_id(db, store, make_run):
    """Live R1 takes readings 1-3 and entries 1-6; the import 7-23 and readings 4-12; live R2 then reading 13."""
    make_run("R1")
    store.import_runs(_runs())
    store.create_run(header("R2"))
    store.add_reading("R2", reading(1, 80.0))
    store.correct_reading("A", 4, 80.5, "kV", "misread", "A. Physicist")
    assert raw(db, "SELECT reading_id FROM readings WHERE run_id = 'R2'") == [(13,)]
    assert raw(db, "SELECT MIN(reading_id), MAX(reading_id) FROM readings WHERE run_id = 'A'") == [(4, 7)]
    assert [e.seq for e in store.entries()] == list(range(1, 27))
    assert store.get_run("A").readings[0].corrected.new_value == 80.5
    assert store.verify().ok


def test_an_imported_reading_changed_afterwards_is_named(db, store):
    store.import_runs(_runs())
    raw(db, "UPDATE readings SET value = 86.0 WHERE run_id = 'B' AND exposure = 2")
    report = store.verify()
    assert report.first_broken == 10
    assert report.reason == ("entry 10 (reading of run B, exposure 2 kvp_ppv): "
                             "stored value 86.0 differs from the recorded 85.4")


def test_a_refused_batch_leaves_nothing_and_earlier_batches_stay(db, store):
    """A is in the store already. Importing B, C, A: the batch B+C (7 readings >= 5) is recorded, then the
    batch of A is refused on the runs key and leaves no row and no entry."""
    a, b, c = _runs()
    store.import_runs([a])
    with pytest.raises(RecordError, match="cannot write to the record store"):
        store.import_runs([b, c, a], batch_readings=5)
    assert raw(db, "SELECT run_id FROM runs ORDER BY run_id") == [("A",), ("B",), ("C",)]
    assert raw(db, "SELECT COUNT(*) FROM entries") == [(17,)]
    assert raw(db, "SELECT COUNT(*) FROM readings") == [(9,)]
    assert store.verify().ok


def test_a_value_that_is_not_finite_refuses_its_batch(db, store):
    a, b, _ = _runs()
    b.readings[1].value = float("inf")
    with pytest.raises(RecordError, match="not a finite number: value=inf"):
        store.import_runs([a, b])
    assert raw(db, "SELECT COUNT(*) FROM entries") == [(0,)]
    assert raw(db, "SELECT COUNT(*) FROM runs") == [(0,)]


def test_a_batch_needs_a_positive_size(store):
    with pytest.raises(RecordError, match="at least one reading"):
        store.import_runs(_runs(), batch_readings=0)


def test_a_sqlite_import_copies_its_log_into_the_file_every_few_batches(tmp_path, monkeypatch):
    """7 runs of one batch each, a copy every 3 batches: after batches 3 and 6, each on a connection of its own
    in another thread beside the import, and once at the end on the store's own, which also empties the log
    (3 copies, the last truncating); then the store checkpoints after every commit again."""
    import threading

    from xcal.records import bulk
    from xcal.records.backend import SQLiteBackend

    copies = []
    real = SQLiteBackend._checkpoint
    monkeypatch.setattr(bulk, "CHECKPOINT_BATCHES", 3)
    monkeypatch.setattr(SQLiteBackend, "_checkpoint", lambda self, truncate=False: copies.append(
        (threading.current_thread().name, truncate)) or real(self, truncate))
    caches = []
    write_batch = bulk.write_batch
    monkeypatch.setattr(bulk, "write_batch", lambda tx, runs: caches.append(
        tx.execute("PRAGMA cache_size").fetchone()[0]) or write_batch(tx, runs))
    path = tmp_path / "s.sqlite3"
    with Store(path) as store:
        runs = [ImportedRun(header(f"R{n}"), [reading(1, 80.0)], [], "PASS", FINISHED) for n in range(7)]
        summary = store.import_runs(runs, batch_readings=1)
        assert summary.batches == 7
        assert copies == [("xcal-checkpoint", False), ("xcal-checkpoint", False), ("MainThread", True)]
        assert caches == [-65536] * 7                                 # 64 MiB while importing
        assert store._db._db.execute("PRAGMA cache_size").fetchone()[0] == -2000      # SQLite's default, back
        assert store.verify().ok
        assert path.with_name("s.sqlite3-wal").stat().st_size == 0
        assert store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000


@pytest.mark.parametrize("enabled", [True, False])
def test_the_cycle_collector_rests_while_a_batch_is_written_and_is_left_as_it_was(store, monkeypatch, enabled):
    """Each batch is written with the collector off (a batch's tens of thousands of rows would otherwise set
    off collections that walk every object the caller holds); between batches, after the import and after a
    refused batch it is as the caller had it."""
    import gc

    from xcal.records import bulk

    seen = []
    write_batch = bulk.write_batch
    monkeypatch.setattr(bulk, "write_batch", lambda tx, runs: seen.append(gc.isenabled()) or write_batch(tx, runs))
    a, b, c = _runs()

    def runs():
        for run in (a, b, c):
            seen.append(("between", gc.isenabled()))
            yield run

    (gc.enable if enabled else gc.disable)()
    try:
        store.import_runs(runs(), batch_readings=1)
        assert seen == [("between", enabled), False, ("between", enabled), False, ("between", enabled), False]
        assert gc.isenabled() is enabled
        with pytest.raises(RecordError):
            store.import_runs([a])                      # already recorded: the batch is refused
        assert seen[-1] is False                        # refused while written with the collector off
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_a_postgresql_import_leaves_the_planner_statistics_of_the_tables_runs_are_found_in(db, backend, store):
    """After a bulk import the server knows the runs, checks and entries tables as they now are (autovacuum, which
    every write's lock on the chain cancels, cannot be counted on for the entries)."""
    if backend != "postgres":
        pytest.skip("a PostgreSQL planner setting")
    store.import_runs(_runs())
    analysed = {r[0] for r in raw(db, "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                                      "AND last_analyze IS NOT NULL")}
    assert {"runs", "checks", "entries"} <= analysed
