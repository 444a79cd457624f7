"""The record store: runs, readings committed one by one, checks, history, incomplete runs (on each backend)."""

import pytest

from xcal.errors import RecordError
from xcal.records.store import RunHeader, Store, StoredCheck, StoredReading, default_path

from .factory import raw


def _header(room="3", **kw):
    return RunHeader("kvp-accuracy", "1.0.0", "ab" * 32, "kVp accuracy", "Test site", room, "Rad 3",
                     "tech", True, "0.1.0", {"limits": {"kvp-accuracy": {"source": "x"}}}, **kw)


def _reading(exposure, value):
    return StoredReading(exposure=exposure, station=1, repeat=exposure, role="kvp_meter", instrument_id="kvp-1",
                         quantity="kvp_ppv", value=value, unit="kV", taken_at="2026-11-26T10:00:00+00:00")


def test_a_reading_is_on_disk_as_soon_as_add_returns(db):
    with Store(db) as store:
        run_id = store.create_run(_header())
        store.add_reading(run_id, _reading(1, 80.12))
        # A second, independent connection sees it before the run ends.
        assert raw(db, "SELECT value, unit FROM readings") == [(80.12, "kV")]


def test_run_round_trip_keeps_snapshot_readings_and_checks(db):
    with Store(db) as store:
        run_id = store.create_run(_header())
        store.add_reading(run_id, _reading(1, 80.1))
        store.add_reading(run_id, _reading(2, 79.9))
        store.add_checks(run_id, [StoredCheck(check_id="kvp", title="kVp", station=1, setting="80 kV", value=80.0,
                                              nominal=80.0, unit="kV", deviation=0.0, allowed=4.0,
                                              limit_name="kvp-accuracy", limit_text="±5 %", limit_set="aapm-74",
                                              source="AAPM 74", verdict="PASS")])
        store.finish_run(run_id, "PASS")
        run = store.get_run(run_id)
    assert run.status == "complete" and run.verdict == "PASS" and run.simulated is True
    assert [r.value for r in run.readings] == [80.1, 79.9]
    assert run.checks[0].limit_text == "±5 %" and run.checks[0].source == "AAPM 74"
    assert run.snapshot["limits"]["kvp-accuracy"]["source"] == "x"
    assert run.finished_at is not None


def test_the_same_reading_cannot_be_recorded_twice(db):
    with Store(db) as store:
        run_id = store.create_run(_header())
        store.add_reading(run_id, _reading(1, 80.1))
        with pytest.raises(RecordError):
            store.add_reading(run_id, _reading(1, 81.0))


def test_incomplete_runs_keep_their_reason_and_readings(db):
    with Store(db) as store:
        run_id = store.create_run(_header())
        store.add_reading(run_id, _reading(1, 80.1))
        store.mark_incomplete(run_id, "kvp-1 did not answer")
        run = store.get_run(run_id)
    assert run.status == "incomplete" and run.status_note == "kvp-1 did not answer"
    assert len(run.readings) == 1 and run.verdict is None


def test_history_filters_by_room_newest_first(db):
    with Store(db) as store:
        a = store.create_run(_header("3", run_id="A", started_at="2026-11-26T09:00:00+00:00"))
        b = store.create_run(_header("4", run_id="B", started_at="2026-11-26T10:00:00+00:00"))
        c = store.create_run(_header("3", run_id="C", started_at="2026-11-26T11:00:00+00:00"))
        assert [r.run_id for r in store.list_runs()] == [c, b, a]
        assert [r.run_id for r in store.list_runs(room="3")] == [c, a]


def test_unknown_run_is_a_clear_error(db):
    with Store(db) as store:
        with pytest.raises(RecordError, match="no run 'nope'"):
            store.get_run("nope")


def test_xcal_db_chooses_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XCAL_DB", str(tmp_path / "chosen.sqlite3"))
    assert default_path() == tmp_path / "chosen.sqlite3"


def test_an_unusable_path_is_a_record_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RecordError, match="cannot open the record store"):
        Store(blocker / "sub" / "r.sqlite3")


def test_started_at_answers_for_more_runs_than_one_statement_may_name(store, make_run):
    make_run("R1")
    make_run("R2")
    asked = ["R1", "R2"] + [f"X{i:05d}" for i in range(40_000)]        # past SQLite's 32 766 parameters
    found = store.started_at(asked)
    assert sorted(found) == ["R1", "R2"]
    assert found["R1"] == store.get_run("R1").started_at
