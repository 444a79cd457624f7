"""The demo site's simulated history: the plan of a year worked by hand from the schedule, and a month of one
room written to a store (runs, the FAIL's action and retest, PM, parts, incident, badges) that verifies."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from xcal.demo.history import add_year_history
from xcal.demo.year import OPERATOR, plan_year
from xcal.errors import ConfigError
from xcal.frequency import ScheduleItem
from xcal.records.store import ImportedRun, RunHeader, Store
from xcal.site import load_site

JAN = dt.date(2026, 1, 1)


SCHEDULE = (ScheduleItem("3", "kvp-accuracy", "annual"), ScheduleItem("3", "radiographic-acceptance", "annual"),
            ScheduleItem("3", "kvp-reproducibility", "RRULE:FREQ=MONTHLY;BYMONTHDAY=1"),
            ScheduleItem("4", "kvp-accuracy", "annual"), ScheduleItem("4", "output-reproducibility", "quarterly"),
            ScheduleItem("10", "fluoro-air-kerma-rate", "annual"), ScheduleItem("10", "apron-inspection", "annual"),
            ScheduleItem("3", "check-source-constancy", "daily"), ScheduleItem("3", "detector-qc", "monthly"),
            ScheduleItem("3", "dicom-connectivity", "quarterly"))
"""The demo site's schedule as these numbers were worked for (the site file's own may change)."""
ROOM_4 = (ScheduleItem("4", "kvp-accuracy", "annual"), ScheduleItem("4", "output-reproducibility", "quarterly"))


@pytest.fixture(scope="module")
def site():
    return dataclasses.replace(load_site(None), schedule=SCHEDULE)


@pytest.fixture(scope="module")
def room_4():
    return dataclasses.replace(load_site(None), schedule=ROOM_4)


def test_a_month_of_room_4_is_its_annual_kvp_its_retest_and_its_quarterly_output(room_4):
    # schedule lines 0 (kvp-accuracy, annual) and 1 (output-reproducibility, quarterly): 0 mod 24 = 0 and
    # 11 mod 24 = 11 days after 1 January; the retest 3 days after the FAIL; each day's first run at 08:00
    planned = plan_year(room_4, JAN, 30, rooms=("4",))
    at = [(p.at.isoformat(), p.procedure, p.why) for p in planned]
    assert at == [("2026-01-01T08:00:00+00:00", "kvp-accuracy", "scheduled"),
                  ("2026-01-04T08:00:00+00:00", "kvp-accuracy", "retest"),
                  ("2026-01-12T08:00:00+00:00", "output-reproducibility", "scheduled")]


def test_a_year_of_the_demo_schedule_counted_by_hand(site):
    planned = plan_year(site, JAN, 365)
    count: dict[str, int] = {}
    for p in planned:
        count[p.procedure] = count.get(p.procedure, 0) + 1
    # 365 daily check-source runs; kV reproducibility on the 1st of each month (12); one each of the annual
    # tests, three apron inspections (APR-01, APR-02, THY-01); output every quarter from 14 Feb (4); room 4's
    # kVp once scheduled plus its retest; room 3's kVp annual, and the five tests after the tube replacement
    # (kVp accuracy again, HVL, output, leakage, timer): kVp accuracy 4 times in all. Room 3's detector QC (line
    # 8, monthly): 88 mod 28 = 4 days after 1 January, the 5th of each month (12); its DICOM connectivity (line 9,
    # quarterly): 99 mod 84 = 15 days, 16 January, April, July, October (4)
    assert count == {"check-source-constancy": 365, "kvp-reproducibility": 12, "kvp-accuracy": 4,
                     "radiographic-acceptance": 1, "fluoro-air-kerma-rate": 1, "apron-inspection": 3,
                     "output-reproducibility": 4, "hvl": 1, "output": 1, "leakage": 1, "timer-accuracy": 1,
                     "detector-qc": 12, "dicom-connectivity": 4}
    service = [p for p in planned if p.why == "post-service"]
    # the service on 1 January + int(0.6 x 365) = 219 days = 8 August (212 days to 1 August); its tests the day after
    assert {p.at.date() for p in service} == {dt.date(2026, 8, 9)}


def test_a_month_of_history_is_written_once_and_verifies(room_4, tmp_path):
    from xcal.program.actions import load_actions
    from xcal.program.dosimetry import load_doses
    from xcal.program.incidents import load_incidents
    from xcal.program.parts import inventory
    from xcal.program.pm import load_pm_log

    today = dt.date(2026, 2, 1)                                  # 30 days from 2 January
    with Store(tmp_path / "demo.sqlite3") as store:
        added = add_year_history(store, room_4, today, days=30, rooms=("4",))
        runs = sorted(store.list_runs(), key=lambda r: r.started_at)
        assert [(r.started_at[:10], r.procedure_id, r.verdict) for r in runs] == [
            ("2026-01-02", "kvp-accuracy", "FAIL"), ("2026-01-05", "kvp-accuracy", "PASS"),
            ("2026-01-13", "output-reproducibility", "PASS")]
        assert all(r.simulated and r.operator == OPERATOR for r in runs)
        failed = [c for c in store.get_run(runs[0].run_id).checks if c.verdict == "FAIL"]
        # the simulated generator reads 7 % high above 100 kV only: 7 % of 120 kV is 8.4 kV, over the ±5 %
        assert failed and all(float(c.setting.split(": ")[1].split(" kV")[0]) > 100 for c in failed)
        (action,) = load_actions(store)
        assert (action.status, action.run_id, action.verified_by) == ("verified", runs[0].run_id, runs[1].run_id)
        assert action.due == "2026-02-01" and action.resolution is not None         # 2 January + 30 days
        pm = [(p["date"], p["component"]) for p in load_pm_log(store)]
        assert pm == [("2026-01-07", "generator"), ("2026-01-14", "collimator")]      # start + 5, start + 12
        stock = {p["part"]: p["on_hand"] for p in inventory(store)}
        assert stock == {"XT-150": 1, "LAMP-XC2": 3}                                   # one lamp used by the PM
        assert len(load_doses(store)) == 10                                            # 3 people x 3 months + ring
        (incident,) = load_incidents(store)
        assert incident.date[:10] == "2025-11-10"                                      # 1 October + 40 days
        assert store.verify().ok
        assert any("corrective action CA-1" in line for line in added)
        again = add_year_history(store, room_4, today, days=30, rooms=("4",))
        assert again[0].startswith("the store already holds demo history (3 runs")
        assert len(store.list_runs()) == 3


def test_a_store_with_other_runs_or_another_site_is_refused(site, tmp_path):
    header = RunHeader("kvp-accuracy", "1", "ab" * 32, "kVp", "Clinic", "3", "Rad 3", "J. Ray", False, "0.1.0", {},
                       run_id="20260101-090000-0001", started_at="2026-01-01T09:00:00.000+00:00")
    with Store(tmp_path / "real.sqlite3") as store:
        store.import_runs([ImportedRun(header, [], [], "PASS", "2026-01-01T09:05:00.000+00:00")])
        with pytest.raises(ConfigError, match="1 runs that are not demo history") as refused:
            add_year_history(store, site, JAN, days=30)
        assert "--force" in refused.value.fix
        with pytest.raises(ConfigError, match="only for the built-in demo site"):
            add_year_history(store, dataclasses.replace(site, is_demo=False), JAN, days=30)
        assert len(store.list_runs()) == 1


def test_without_the_dicom_extra_the_history_leaves_out_what_reads_images_or_nodes(monkeypatch):
    import xcal.dicom
    from xcal.demo.history import _needing_missing_dicom
    from xcal.errors import ConfigError

    names = ["kvp-accuracy", "detector-qc", "dicom-connectivity", "radiographic-acceptance"]
    assert _needing_missing_dicom(names) == set()

    def missing() -> None:
        raise ConfigError("the DICOM functions need pydicom", fix="pip install 'xcal[dicom]'")

    monkeypatch.setattr(xcal.dicom, "require", missing)
    assert _needing_missing_dicom(names) == {"detector-qc", "dicom-connectivity"}
