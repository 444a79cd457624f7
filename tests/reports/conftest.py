"""A small year built by hand for the annual report and the binder: room 4 of the demo site in 2025.

Four runs in room 4: a kVp PASS (3 Feb), a kVp FAIL at 120 kV (127.4 kV, +7.4 against ±6, 5 May), its passing
retest (8 May) and an output PASS (4 Aug); one run in room 3 and one in room 4 in 2024 that the year leaves
out. The FAIL opens CA-1, resolved and then verified by the retest; a collimator adjustment (2 Jun) makes three
tests due that are never run; one PM (10 Mar), one incident with a named person (1 Jul), and a named badge
wearer's dose. The kVp meter's calibration is due 30 Jun 2025, so the August run used it past due. The site is
the demo site with room 4's schedule fixed here (annual kVp accuracy, quarterly output reproducibility).
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from xcal.frequency import ScheduleItem
from xcal.records.store import ImportedRun, RunHeader, Store, StoredCheck, StoredReading

BY = "P. Hys"
INCIDENT_PERSON = "Alice Q. Example"
BADGE_WEARER = "Bob B. Wearer"
SNAPSHOT = {"instruments": {"kvp_meter": {"id": "kvp-1", "make": "Example Instruments", "model": "XR-1",
                                          "serial": "XR1-004217", "simulated": True,
                                          "calibration": {"certificate": "CERT-2024-17", "date": "2024-06-30",
                                                          "due": "2025-06-30"}}}}


def _run(run_id: str, room: str, day: str, procedure: str, value: float, nominal: float, verdict: str,
         allowed: float = 6.0) -> ImportedRun:
    header = RunHeader(procedure, "1.0.0", "ab" * 32, procedure, "xcal Demo Hospital (SIMULATED)", room,
                       f"Radiography {room}", "T. Tech", True, "0.1.0", SNAPSHOT, run_id=run_id,
                       started_at=f"{day}T09:00:00.000+00:00")
    reading = StoredReading(exposure=1, station=1, repeat=1, role="kvp_meter", instrument_id="kvp-1",
                            quantity="kvp_ppv", value=value, unit="kV", taken_at=f"{day}T09:01:00.000+00:00")
    check = StoredCheck(check_id=procedure, title=procedure, station=1, setting="1: 120 kV 200 mA 50 ms",
                        value=value, nominal=nominal, unit="kV", deviation=value - nominal, allowed=allowed,
                        limit_name=procedure, limit_text=f"±{allowed:g} kV", limit_set="example",
                        source="example limit", verdict=verdict)
    return ImportedRun(header, [reading], [check], verdict, f"{day}T09:10:00.000+00:00")


RUNS = (("20250203-090000-0001", "4", "2025-02-03", "kvp-accuracy", 120.9, 120.0, "PASS"),
        ("20250505-090000-0002", "4", "2025-05-05", "kvp-accuracy", 127.4, 120.0, "FAIL"),
        ("20250508-090000-0003", "4", "2025-05-08", "kvp-accuracy", 120.6, 120.0, "PASS"),
        ("20250804-090000-0004", "4", "2025-08-04", "output-reproducibility", 120.2, 120.0, "PASS"),
        ("20241230-090000-0005", "4", "2024-12-30", "kvp-accuracy", 120.1, 120.0, "PASS"),
        ("20250303-090000-0006", "3", "2025-03-03", "kvp-accuracy", 120.3, 120.0, "PASS"))


@pytest.fixture(scope="module")
def small_year(tmp_path_factory):
    """The store of the small year (a SQLite file) with the demo site, built once per test module."""
    from xcal.program import actions
    from xcal.program.dosimetry import issue_badge, record_dose
    from xcal.program.incidents import record_incident
    from xcal.program.pm import log_pm
    from xcal.program.service import record_service
    from xcal.site import load_site

    site = dataclasses.replace(load_site(None), schedule=(ScheduleItem("4", "kvp-accuracy", "annual"),
                                                          ScheduleItem("4", "output-reproducibility", "quarterly")))
    db = tmp_path_factory.mktemp("year") / "year.sqlite3"
    with Store(db) as store:
        store.import_runs([_run(*r) for r in RUNS])
        actions.after_run(store, RUNS[1][0])
        actions.resolve(store, "CA-1", "kV feedback board replaced", BY)
        actions.after_run(store, RUNS[2][0])
        record_service(store, site, room="4", component="collimator", work="adjusted", vendor="Example Co.",
                       engineer="E. Ngineer", down_from="2025-06-02T08:00", down_to="2025-06-02T12:00",
                       done="light field mirror adjusted", parts=[], documents=[], by=BY)
        log_pm(store, site, room="4", component="collimator", done="lamp and mirror cleaned", engineer="E. Ngineer",
               vendor="in-house", on="2025-03-10", parts=[], by=BY)
        record_incident(store, site, date="2025-07-01", room="4", kind="radiation",
                        what="door interlock found bypassed", people=[f"{INCIDENT_PERSON}; tede=0.05 mSv"],
                        immediate_actions="interlock restored", by=BY)
        issue_badge(store, badge="B-77", person=BADGE_WEARER, location="collar", by=BY)
        record_dose(store, badge="B-77", period_start="2025-01-01", period_end="2025-03-31", tede="0.42 mSv",
                    by=BY)
    return SimpleNamespace(db=db, site=site, runs=[r[0] for r in RUNS], person=INCIDENT_PERSON, wearer=BADGE_WEARER)
