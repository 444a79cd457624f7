"""The store's reads at scale: the due question per room and procedure, history and show-run through indexes,
the trend's latest points, indexes added to an older store at open, and the bulk path's one-pass rows."""

from __future__ import annotations

import math

import pytest

from xcal.errors import RecordError
from xcal.records.chain import canonical
from xcal.records.models import StoredCheck, StoredReading
from xcal.records.projection import (
    CHECK_FIELDS,
    READING_FIELDS,
    check_payload,
    check_row,
    columns,
    reading_payload,
    reading_row,
)
from xcal.records.schema import index_statements
from xcal.records.store import Store
from xcal.records.trend import latest, trend

from .factory import check, header, raw


def _ids(pair):
    return tuple(run.run_id if run is not None else None for run in pair)


def test_latest_runs_gives_the_latest_complete_run_and_an_unfinished_one_after_it(store, make_run):
    assert store.latest_runs("3", "kvp-accuracy") == (None, None)
    make_run("A", started_at="2026-01-01T09:00:00+00:00")
    make_run("B", started_at="2026-02-01T09:00:00+00:00", verdict="FAIL")
    make_run("C", started_at="2026-03-01T09:00:00+00:00", finish=False)
    make_run("D", room="4", started_at="2026-04-01T09:00:00+00:00")
    make_run("E", started_at="2026-05-01T09:00:00+00:00", procedure="hvl")
    complete, open_run = store.latest_runs("3", "kvp-accuracy")
    assert (complete.run_id, complete.verdict, complete.status) == ("B", "FAIL", "complete")
    assert (open_run.run_id, open_run.status) == ("C", "running")     # held by this process's lease
    assert _ids(store.latest_runs("4", "kvp-accuracy")) == ("D", None)
    assert _ids(store.latest_runs("3", "hvl")) == ("E", None)


def test_latest_runs_names_no_open_run_before_the_latest_complete_one_and_agrees_with_list_runs(store, make_run):
    make_run("A", started_at="2026-01-01T09:00:00+00:00", finish=False)
    make_run("B", started_at="2026-02-01T09:00:00+00:00")
    assert _ids(store.latest_runs("3", "kvp-accuracy")) == ("B", None)
    make_run("C", started_at="2026-02-01T09:00:00+00:00", finish=False)   # same start: the larger id is newer
    listed = store.list_runs(room="3")
    assert [r.run_id for r in listed] == ["C", "B", "A"]
    assert _ids(store.latest_runs("3", "kvp-accuracy")) == ("B", "C")


def test_an_unfinished_run_only_is_open_with_nothing_complete(store, make_run):
    make_run("A", finish=False)
    store.mark_incomplete("A", "cable pulled")
    complete, open_run = store.latest_runs("3", "kvp-accuracy")
    assert complete is None and (open_run.run_id, open_run.status) == ("A", "incomplete")


def test_latest_runs_of_many_pairs_answers_each_as_latest_runs_does(store, make_run):
    make_run("A", room="7", started_at="2026-01-01T09:00:00+00:00")
    make_run("B", room="7", started_at="2026-02-01T09:00:00+00:00", finish=False)
    make_run("C", room="250", procedure="hvl")
    pairs = [(str(room), procedure) for room in range(300) for procedure in ("kvp-accuracy", "hvl")]
    found = store.latest_runs_of(pairs + [("7", "kvp-accuracy")])           # 600 pairs, one twice
    assert set(found) == set(pairs)
    assert {pair: _ids(runs) for pair, runs in found.items() if runs != (None, None)} == {
        ("7", "kvp-accuracy"): ("A", "B"), ("250", "hvl"): ("C", None)}
    assert _ids(store.latest_runs("7", "kvp-accuracy")) == ("A", "B")


def test_history_lists_corrections_of_many_runs_in_order(store, make_run):
    for n, run_id in enumerate(("A", "B", "C")):
        make_run(run_id, started_at=f"2026-0{n + 1}-01T09:00:00+00:00")
    reading_a = store.get_run("A").readings[0].reading_id
    reading_c = store.get_run("C").readings[1].reading_id
    first = store.correct_reading("A", reading_a, 80.1, "kV", "misread", "A. Physicist")
    second = store.correct_reading("C", reading_c, 79.0, "kV", "misread", "A. Physicist")
    third = store.correct_reading("A", reading_a, 80.0, "kV", "misread again", "A. Physicist")
    runs = {run.run_id: [c.correction_id for c in run.corrections] for run in store.list_runs()}
    assert runs == {"A": [first, third], "B": [], "C": [second]}
    assert [c.correction_id for c in store.get_run("A").corrections] == [first, third]
    assert store.get_run("A").readings[0].corrected.new_value == 80.0


def test_the_latest_trend_points_are_the_tail_of_the_trend_with_its_count(store):
    for n in range(7):
        run_id = f"R{n}"
        store.create_run(header(run_id, started_at=f"2026-01-0{n + 1}T09:00:00+00:00"))
        store.finish_run(run_id, "PASS", [check(80.0 + n), check(81.0 + n)])
    points = trend(store, "3", "kvp")
    assert len(points) == 14
    assert latest(store, "3", "kvp", 5) == (points[-5:], 14)
    assert latest(store, "3", "kvp", 50) == (points, 14)
    assert latest(store, "9", "kvp", 5) == ([], 0)


def _index_names(db, backend) -> set[str]:
    if backend == "sqlite":
        return {r[0] for r in raw(db, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    return {r[0] for r in raw(db, "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}


def _make_obsolete_indexes(db) -> None:
    """The three indexes an earlier xcal made that this one no longer keeps, as that xcal wrote them."""
    raw(db, "CREATE INDEX readings_run ON readings (run_id, exposure)")
    raw(db, "CREATE INDEX checks_run ON checks (run_id)")
    raw(db, "CREATE INDEX checks_room_result ON checks (room_id, check_id, run_id)")


OBSOLETE = {"readings_run", "checks_run", "checks_room_result"}


def test_an_older_store_gets_the_new_indexes_and_loses_the_old_ones_when_opened(db, backend):
    """An earlier xcal's store: today's indexes missing and the three it made that cost every write present;
    opened, it has the first and none of the second."""
    with Store(db):
        pass
    names = [s.split()[5] for s in index_statements()]
    for name in names:
        raw(db, f"DROP INDEX {name}")
    _make_obsolete_indexes(db)
    with Store(db):
        pass
    present = _index_names(db, backend)
    assert set(names) <= present
    assert not OBSOLETE & present


def test_obsolete_indexes_go_even_when_none_is_missing_and_another_table_s_index_of_that_name_stays(db, backend):
    with Store(db):
        pass
    _make_obsolete_indexes(db)
    raw(db, "DROP INDEX readings_run")
    raw(db, "CREATE TABLE other_app (run_id TEXT, exposure INTEGER)")
    raw(db, "CREATE INDEX readings_run ON other_app (run_id, exposure)")      # not xcal's: left alone
    with Store(db):
        pass
    assert OBSOLETE & _index_names(db, backend) == {"readings_run"}


def test_a_postgresql_reader_delays_the_drop_of_an_old_index_by_a_second_not_the_open(db, backend):
    """A reader holds the checks table (a long verify, say): the opener gives up the drop after
    OBSOLETE_DROP_WAIT (1 s) rather than the writes' 10 s, opens the store, and a later open drops it."""
    if backend != "postgres":
        pytest.skip("a SQLite reader does not hold a table against a writer")
    import time

    import psycopg

    with Store(db):
        pass
    _make_obsolete_indexes(db)
    with psycopg.connect(str(db)) as reader:
        reader.execute("SELECT COUNT(*) FROM checks").fetchone()           # its transaction holds checks
        start = time.perf_counter()
        with Store(db) as store:
            assert store.verify().ok
        waited = time.perf_counter() - start
        assert 0.9 < waited < 5
        assert OBSOLETE & _index_names(db, backend) == {"checks_run", "checks_room_result"}
    with Store(db):
        pass
    assert not OBSOLETE & _index_names(db, backend)


def _general(reading_: StoredReading, reading_id: int) -> object:
    try:
        payload = reading_payload(reading_, reading_id)
        return (reading_id, "R") + columns(payload, READING_FIELDS), canonical(payload)
    except RecordError as exc:
        return str(exc)


@pytest.mark.parametrize("value", [80.4, -0.0, 5e-324, 1e300, 80, None, math.nan, math.inf, True])
@pytest.mark.parametrize("text", ["kV", "µGy", 'quote " back \\ line\n', "\u2028"])
@pytest.mark.parametrize("data", [None, {"b": [1.5, 2], "a": "é"}, {"bad": math.nan}])
def test_a_reading_s_row_and_text_are_those_of_the_general_path(value, text, data):
    r = StoredReading(exposure=3, station=1, repeat=2, role=text, instrument_id="kvp-1", quantity="kvp_ppv",
                      value=value, unit=text, taken_at="2026-11-26T09:00:00+00:00", data=data)
    expected = _general(r, 17)
    try:
        got: object = reading_row(r, 17, "R")
    except RecordError as exc:
        got = str(exc)
    assert got == expected
    if isinstance(got, tuple):
        assert [type(v) for v in got[0]] == [type(v) for v in expected[0]]


@pytest.mark.parametrize("number", [80.2, 80, None, math.nan, -math.inf, False, -0.0, 1e-310])
@pytest.mark.parametrize("station", [1, None, 2.0, True])
@pytest.mark.parametrize("setting", [None, "2: 80 kV \u2028 ±", 3])
def test_a_check_s_row_and_text_are_those_of_the_general_path(number, station, setting):
    c = StoredCheck(check_id="kvp", title="kVp \"accuracy\"", station=station, setting=setting, value=number,
                    nominal=80,
                    unit="kV", deviation=number, allowed=4.0, limit_name="kvp", limit_text="±5 %", limit_set="aapm-74",
                    source="AAPM TG-74 §3", verdict="PASS")
    try:
        payload = check_payload(c, 9)
        expected: object = ((9, "R", "3") + columns(payload, CHECK_FIELDS), canonical(payload))
    except RecordError as exc:
        expected = str(exc)
    try:
        got: object = check_row(c, 9, "R", "3")
    except RecordError as exc:
        got = str(exc)
    assert got == expected
    if isinstance(got, tuple):
        assert [type(v) for v in got[0]] == [type(v) for v in expected[0]]


def test_show_run_reads_a_run_s_corrections_through_the_partial_index(store, db, backend, make_run):
    if backend != "sqlite":
        pytest.skip("the plan is checked on SQLite; PostgreSQL chooses by its statistics")
    make_run("A")
    plan = [row[3] for row in raw(db, "EXPLAIN QUERY PLAN SELECT seq FROM entries WHERE kind = 'correction' "
                                      "AND run_id IN (?) ORDER BY seq", ("A",))]
    assert any("entries_corrections" in step for step in plan), plan
