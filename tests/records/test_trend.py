"""Trend: one check's outcomes in one room, complete runs only, oldest first, found through an index."""

from __future__ import annotations

import time

from xcal.records.trend import COUNT_SQL, TREND_SQL, TrendPoint, latest, trend

from .factory import check, header, raw, raw_many


def _run(store, run_id, room, started_at, value, verdict="PASS", *, finish=True, simulated=True, extra=()):
    store.create_run(header(run_id, room, started_at=started_at, simulated=simulated))
    store.add_checks(run_id, [check(value, verdict), *extra])
    if finish:
        store.finish_run(run_id, verdict)


def test_trend_is_one_room_and_result_from_complete_runs_oldest_first(store):
    _run(store, "C", "3", "2026-03-01T09:00:00+00:00", 85.0, "FAIL", simulated=False)
    _run(store, "A", "3", "2026-01-01T09:00:00+00:00", 80.4, extra=[check(1.2, check_id="reproducibility")])
    _run(store, "B", "3", "2026-02-01T09:00:00+00:00", 81.6)
    _run(store, "X", "3", "2026-02-15T09:00:00+00:00", 90.0, finish=False)
    _run(store, "Y", "4", "2026-02-20T09:00:00+00:00", 79.0)
    points = trend(store, "3", "kvp")
    assert [(p.run_id, p.value, p.verdict, p.simulated) for p in points] == [
        ("A", 80.4, "PASS", True), ("B", 81.6, "PASS", True), ("C", 85.0, "FAIL", False)]
    assert points[0] == TrendPoint("A", "2026-01-01T09:00:00+00:00", "1: 80 kV 200 mA 100 ms", 80.4, "kV", "±5 %",
                                   "AAPM TG-74 §3", "PASS", True)
    assert [p.value for p in trend(store, "3", "reproducibility")] == [1.2]
    assert trend(store, "3", "hvl") == [] and trend(store, "9", "kvp") == []


def test_checks_carry_their_room(store, db):
    _run(store, "A", "3", "2026-01-01T09:00:00+00:00", 80.4)
    _run(store, "B", "4", "2026-01-02T09:00:00+00:00", 80.4)
    assert raw(db, "SELECT run_id, room_id FROM checks ORDER BY run_id") == [("A", "3"), ("B", "4")]


_RUN_COLUMNS = ("run_id", "procedure_id", "procedure_version", "procedure_sha256", "procedure_title", "site",
                "room_id", "room_name", "operator", "simulated", "status", "verdict", "started_at", "finished_at",
                "software_version", "status_note", "snapshot")
_CHECK_COLUMNS = ("run_id", "room_id", "check_id", "title", "station", "setting", "value", "nominal", "unit",
                  "deviation", "allowed", "limit_name", "limit_text", "limit_set", "source", "verdict")


def _plan(db, backend: str) -> list[str]:
    """The database's plan for the trend query of room 42, check kvp: one line per step."""
    if backend == "sqlite":
        return [row[3] for row in raw(db, "EXPLAIN QUERY PLAN " + TREND_SQL, ("42", "kvp"))]
    return [row[0] for row in raw(db, "EXPLAIN " + TREND_SQL, ("42", "kvp"))]


def test_the_query_searches_an_index_among_many_rows(store, db, backend):
    """100 000 check rows in 100 rooms: the plan searches the index (no table scan) and one room is quick."""
    runs = [(f"R{i:05d}", "kvp-accuracy", "1", "ab", "kVp", "Site", str(i % 100), "Rad", "t", 1, "complete",
             "PASS", f"2026-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}+00:00", None, "0.1", None, "{}")
            for i in range(10_000)]
    raw_many(db, "runs", _RUN_COLUMNS, runs)
    raw_many(db, "checks", _CHECK_COLUMNS,
             [(r[0], r[6], cid, "t", 1, "1", 80.0 + k, 80, "kV", 0, 4, "l", "±5 %", "s", "src", "PASS") for r in runs
              for k, cid in enumerate(("kvp", "timer", "hvl", "mas", "repro", "a", "b", "c", "d", "e"))])
    plan = _plan(db, backend)
    if backend == "sqlite":
        assert any("USING INDEX runs_room" in step for step in plan), plan
        assert any("USING INDEX checks_run_result" in step for step in plan), plan
        assert not any(step.startswith("SCAN") for step in plan), plan
    else:
        assert any("checks_run_result" in step for step in plan), plan
        assert not any("Seq Scan on checks" in step for step in plan), plan
    start = time.perf_counter()
    points = trend(store, "42", "kvp")
    elapsed = time.perf_counter() - start
    assert len(points) == 100 and all(p.value == 80.0 for p in points)
    assert [p.started_at for p in points] == sorted(p.started_at for p in points)
    assert elapsed < 0.5
    assert latest(store, "42", "kvp", 3) == (points[-3:], 100)
    if backend == "sqlite":
        count_plan = [row[3] for row in raw(db, "EXPLAIN QUERY PLAN " + COUNT_SQL, ("42", "kvp"))]
        assert any("USING INDEX runs_room" in step for step in count_plan), count_plan
        assert any("COVERING INDEX checks_run_result" in step for step in count_plan), count_plan
        assert not any(step.startswith("SCAN") for step in count_plan), count_plan


def test_the_latest_points_and_their_count_leave_out_open_runs_and_other_rooms(store):
    """`xcal trend`'s table: the newest points of complete runs of the room only, and how many there are in all
    (3 complete runs in room 3, one of them with two kvp checks: 4 points; an open run and room 4 left out)."""
    _run(store, "A", "3", "2026-01-01T09:00:00+00:00", 80.4, extra=[check(80.9)])
    _run(store, "B", "3", "2026-02-01T09:00:00+00:00", 81.6)
    _run(store, "X", "3", "2026-02-15T09:00:00+00:00", 90.0, finish=False)
    _run(store, "C", "3", "2026-03-01T09:00:00+00:00", 85.0, "FAIL")
    _run(store, "Y", "4", "2026-03-20T09:00:00+00:00", 79.0)
    store.mark_incomplete("X", "cut off")
    points, total = latest(store, "3", "kvp", 2)
    assert total == 4 and [(p.run_id, p.value) for p in points] == [("B", 81.6), ("C", 85.0)]
    points, total = latest(store, "3", "kvp", 10)
    assert total == 4 and [(p.run_id, p.value) for p in points] == [("A", 80.4), ("A", 80.9), ("B", 81.6),
                                                                    ("C", 85.0)]
    assert latest(store, "4", "kvp", 10)[1] == 1 and latest(store, "3", "hvl", 10) == ([], 0)
