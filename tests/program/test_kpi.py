"""Program KPIs on a small constructed store, every number worked by hand (period 2026-01-01 to 2026-03-31).

QC, room 4: kvp-accuracy monthly, last run 2025-12-10 before the period; runs 01-08 (PASS), an incomplete run
02-05, 02-20 (PASS) and 03-15 (FAIL). Due 01-10: answered 01-08, on time. Due 02-08: the incomplete run does not
answer, 02-20 does, late. Due 03-20: answered 03-15 (a FAIL is a test done), on time. Next due 04-15, after the
period. timer-accuracy quarterly, last run 2025-11-15: due 2026-02-15, answered 02-01, on time; next due 05-01.
So 4 tests fell due and 3 were on time: 75 %.

Actions (as of 03-31; their runs are not in the store, so the entries' days count): CA-1 opened 01-05, verified
01-25 (20 days); CA-2 opened 02-10, verified 03-20 (38 days);
mean time to close (20 + 38) / 2 = 29.0 days. CA-3 opened 03-01 due 03-31: open, not overdue (due is not before
03-31). CA-4 opened 02-01 due 03-01: open and overdue. CA-5 opened 03-25, verified 04-10 after the period:
open on 03-31, due 04-24. Open 3, overdue 1, closed 2.

Downtime: room 3 from 2025-12-31 20:00 to 2026-01-01 10:00 is 10 h inside the period, and from 03-31 22:00 to
04-01 06:00 is 2 h: 12 h. Room 4, 02-10 08:00 to 16:30: 8.5 h.

PM, room 4: collimator quarterly, last 2025-12-20, due 2026-03-20, done 03-18: on time (March 1/1). Generator
annual, last 2025-01-15, due 2026-01-15, not done: January 0/1.

Calibration as of 03-31: KV-1 due 04-20 is 20 days ahead (within 30); DOS-1 due 03-01 is past; SURV-1 due
12-31 is neither.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest

from xcal.frequency import ScheduleItem
from xcal.program.kpi import compute_kpis, occurrences, period
from xcal.records.chain import (
    ACTION_OPENED,
    ACTION_VERIFIED,
    PM_LOGGED,
    SERVICE_RECORDED,
    Entry,
)

START, END, TODAY = dt.date(2026, 1, 1), dt.date(2026, 3, 31), dt.date(2026, 6, 30)


class FakeStore:
    """Just what the KPIs read: runs by room, and program entries by kind."""

    path = "constructed"

    def __init__(self, runs, entries):
        self.runs, self.entries = runs, [Entry(i + 1, at, kind, "", json.dumps(data), "", "")
                                         for i, (at, kind, data) in enumerate(entries)]

    def list_runs(self, room=None, limit=None):
        return [r for r in self.runs if room is None or r.room_id == room]

    def started_at(self, run_ids):
        return {r.run_id: r.started_at for r in self.runs if r.run_id in set(run_ids)}

    def entries_of_kind(self, kinds):
        return [e for e in self.entries if e.kind in set(kinds)]


def _run(proc, day, status="complete", verdict="PASS", room="4", run_id=None):
    return SimpleNamespace(procedure_id=proc, room_id=room, started_at=f"{day}T09:00:00+00:00", status=status,
                           verdict=verdict, run_id=run_id or f"{proc}-{day}")


def _opened(action_id, at, due, run="r"):
    return (f"{at}T08:00:00+00:00", ACTION_OPENED, {"action_id": action_id, "run_id": run, "room": "4",
                                                     "procedure": "kvp-accuracy", "failed": [], "by": "x",
                                                     "assignee": None, "due": due})


def _verified(action_id, at, retest="r2"):
    return (f"{at}T08:00:00+00:00", ACTION_VERIFIED, {"action_id": action_id, "retest_run": retest,
                                                       "verdict": "PASS", "by": "x"})


def _service(service_id, room, down_from, down_to):
    return (f"{down_to}", SERVICE_RECORDED, {"service_id": service_id, "room": room, "down_from": down_from,
                                             "down_to": down_to, "invalidates": []})


def _pm(room, component, day):
    return (f"{day}T12:00:00+00:00", PM_LOGGED, {"pm_id": "PM", "room": room, "component": component, "date": day})


@pytest.fixture
def site(tmp_path):
    site_file = tmp_path / "site.yaml"
    site_file.write_text("maintenance:\n  - {room: 4, component: collimator, task: check, every: quarterly}\n"
                         "  - {room: 4, component: generator, task: PM, every: annual}\n", encoding="utf-8")

    def instrument(iid, due):
        return SimpleNamespace(id=iid, calibration=SimpleNamespace(due=dt.date.fromisoformat(due)))

    rooms = {"3": SimpleNamespace(id="3", instruments={"survey": "SURV-1"}),
             "4": SimpleNamespace(id="4", instruments={"kvp": "KV-1", "dosimeter": "DOS-1"})}
    return SimpleNamespace(
        schedule=(ScheduleItem("4", "kvp-accuracy", "monthly"), ScheduleItem("4", "timer-accuracy", "quarterly")),
        rooms=rooms, room=lambda r: rooms[str(r)], is_demo=False, path=str(site_file), sha256="constructed",
        instruments={"KV-1": instrument("KV-1", "2026-04-20"), "DOS-1": instrument("DOS-1", "2026-03-01"),
                     "SURV-1": instrument("SURV-1", "2026-12-31")})


@pytest.fixture
def store():
    runs = [_run("kvp-accuracy", "2025-12-10"), _run("kvp-accuracy", "2026-01-08"),
            _run("kvp-accuracy", "2026-02-05", status="incomplete", verdict=None),
            _run("kvp-accuracy", "2026-02-20"), _run("kvp-accuracy", "2026-03-15", verdict="FAIL"),
            _run("timer-accuracy", "2025-11-15"), _run("timer-accuracy", "2026-02-01")]
    entries = [_opened("CA-1", "2026-01-05", "2026-02-04"), _verified("CA-1", "2026-01-25"),
               _opened("CA-4", "2026-02-01", "2026-03-01"),
               _opened("CA-2", "2026-02-10", "2026-03-12"), _verified("CA-2", "2026-03-20"),
               _opened("CA-3", "2026-03-01", "2026-03-31"),
               _opened("CA-5", "2026-03-25", "2026-04-24"), _verified("CA-5", "2026-04-10"),
               _service("SE-1", "3", "2025-12-31T20:00:00+00:00", "2026-01-01T10:00:00+00:00"),
               _service("SE-2", "3", "2026-03-31T22:00:00+00:00", "2026-04-01T06:00:00+00:00"),
               _service("SE-3", "4", "2026-02-10T08:00:00+00:00", "2026-02-10T16:30:00+00:00"),
               _pm("4", "collimator", "2025-12-20"), _pm("4", "collimator", "2026-03-18"),
               _pm("4", "generator", "2025-01-15")]
    return FakeStore(runs, entries)


def test_kpis_of_the_constructed_store(store, site):
    k = compute_kpis(store, site, start=START, end=END, today=TODAY)
    assert (k.qc_due, k.qc_on_time, k.qc_on_time_rate) == (4, 3, 0.75)
    assert [(q["procedure"], q["due"], q["done"], q["on_time"]) for q in k.qc_lines] == [
        ("kvp-accuracy", "2026-01-10", "2026-01-08", True), ("kvp-accuracy", "2026-02-08", "2026-02-20", False),
        ("kvp-accuracy", "2026-03-20", "2026-03-15", True), ("timer-accuracy", "2026-02-15", "2026-02-01", True)]
    assert (k.actions_open, k.actions_overdue, k.actions_closed) == (3, 1, 2)
    assert k.open_action_ids == ["CA-4", "CA-3", "CA-5"] and k.overdue_action_ids == ["CA-4"]
    assert k.mean_days_to_close == 29.0
    assert k.downtime_hours == {"3": 12.0, "4": 8.5}
    assert k.pm_compliance == {"4": {"2026-01": {"due": 1, "on_time": 0, "rate": 0.0},
                                     "2026-03": {"due": 1, "on_time": 1, "rate": 1.0}}}
    assert [(c["instrument"], c["days_left"]) for c in k.calibration_due] == [("KV-1", 20)]
    assert [c["instrument"] for c in k.calibration_overdue] == ["DOS-1"]
    assert k.to_dict()["qc_on_time_rate"] == 0.75 and k.as_of == "2026-03-31"


def test_one_room_keeps_only_its_own(store, site):
    k = compute_kpis(store, site, start=START, end=END, room="3", today=TODAY)
    assert (k.qc_due, k.qc_on_time_rate, k.actions_open) == (0, None, 0)
    assert k.downtime_hours == {"3": 12.0} and k.pm_compliance == {}
    assert [c["instrument"] for c in k.calibration_due + k.calibration_overdue] == []


def test_time_to_close_runs_from_the_failed_test_to_the_passing_retest_not_from_when_entries_were_written(site):
    # Failed test F made 02-02, its passing retest P 02-12: 10 days. The action's entries were written on 03-01
    # (a history imported later), so by entry times it would be opened and verified the same day: 0 days.
    runs = [_run("dap", "2026-02-02", verdict="FAIL", run_id="F"), _run("dap", "2026-02-12", run_id="P")]
    entries = [_opened("CA-9", "2026-03-01", "2026-03-31", run="F"), _verified("CA-9", "2026-03-01", retest="P")]
    whole = compute_kpis(FakeStore(runs, entries), site, start=dt.date(2026, 2, 1), end=END, today=TODAY)
    assert (whole.actions_closed, whole.mean_days_to_close, whole.actions_open) == (1, 10.0, 0)
    # As of 02-10 the test had failed (02-02) and was not yet retested (02-12): open, though no entry existed.
    early = compute_kpis(FakeStore(runs, entries), site, start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 10),
                         today=TODAY)
    assert (early.actions_open, early.open_action_ids, early.actions_closed) == (1, ["CA-9"], 0)


def test_a_test_never_run_before_is_due_on_the_first_day():
    # Weekly, never run: due 01-01; run 01-03 (late); due 01-10, run 01-09 (on time); due 01-16, no run.
    found = occurrences("weekly", [dt.date(2026, 1, 3), dt.date(2026, 1, 9)], START, dt.date(2026, 1, 20))
    assert found == [(dt.date(2026, 1, 1), dt.date(2026, 1, 3)), (dt.date(2026, 1, 10), dt.date(2026, 1, 9)),
                     (dt.date(2026, 1, 16), None)]


def test_the_period_defaults_and_refuses_bad_dates():
    assert period(None, None, today=dt.date(2026, 7, 4)) == (dt.date(2026, 1, 1), dt.date(2026, 7, 4))
    from xcal.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        period("2026-13-01", None)
    assert "--from '2026-13-01' is not a date" in str(caught.value)


def test_cli_kpi_json(cli):
    got = cli("kpi", "--from", "2026-01-01", "--to", "2026-01-31", "--room", "4", "--json")
    assert got.returncode == 0, got.stderr
    doc = json.loads(got.stdout)
    assert (doc["start"], doc["end"], doc["room"]) == ("2026-01-01", "2026-01-31", "4")
    # An empty store: every scheduled test of room 4 falls due on the first day and none is done.
    assert doc["qc_due"] > 0 and doc["qc_on_time"] == 0 and doc["qc_on_time_rate"] == 0.0
    bad = cli("kpi", "--from", "2026-02-01", "--to", "2026-01-01")
    assert bad.returncode == 2 and "ends (2026-01-01) before it starts" in bad.stderr
