"""The program through the Python API, and the demo's SIMULATED program history: one incident and a quarter's
badge reports with one person above level I (Demo Technologist A: 0.4 + 0.6 + 0.5 = 1.5 mSv Hp(10) in the quarter,
above 10 % of 50/4 = 1.25 mSv and below 30 % of it, 3.75 mSv)."""

from __future__ import annotations

import datetime as dt

import pytest

import xcal
from xcal.demo.history import add_program_history, last_quarter


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return xcal.load_site(db=tmp_path_factory.mktemp("api") / "records.sqlite3")


def test_the_demo_history_has_one_incident_and_one_person_above_level_i(site):
    from xcal.records.store import Store

    today = dt.date(2026, 12, 5)
    assert last_quarter(today) == (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert last_quarter(dt.date(2026, 1, 10)) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    with Store(site.db) as store:
        assert add_program_history(store, site.model, today) == ["10 SIMULATED dose rows", "incident IN-1"]
        assert add_program_history(store, site.model, today) == []
    program = site.program("RSO")
    doc = program.dose_report(2026, quarter=3)
    flagged = [(p["person"], [(f["level"], f["quantity"]) for f in p["flags"]]) for p in doc["people"] if p["flags"]]
    assert flagged == [("Demo Technologist A", [("I", "tede")])]
    assert all(p["simulated"] for p in doc["people"])
    (incident,) = program.incidents()
    assert incident.what.startswith("SIMULATED") and incident.level is None and incident.date == "2026-08-10"


def test_the_api_records_what_the_command_line_records(site):
    program = site.program("RSO")
    program.issue_badge("API-1", "P. Api", "collar")
    row = program.record_dose(badge="API-1", period_start="2026-01-01", period_end="2026-03-31", tede="4 mSv")
    assert row["person"] == "P. Api" and row["doses"]["tede"] == 4.0
    api = next(p for p in program.dose_report(2026)["people"] if p["person"] == "P. Api")
    assert [f["level"] for f in api["flags"]] == ["II"]                  # 4 mSv > 3.75 mSv
    found = program.record_incident(date="2026-02-01", room="3", kind="radiation", what="door interlock failed",
                                    people=["P. Api; tede=300 mSv"], immediate_actions="room closed")
    assert found.level["level"] == "immediate"
    updated = program.update_incident(found.incident_id, "notified", notification={
        "to": "NRC Operations Center", "at": "2026-02-01T11:00", "reference": None})
    assert updated.notification_due().startswith("made to NRC Operations Center")
    line = program.receive_parts("API-PART", 1, "fuse", minimum=2)
    assert line["low"] is True and [p["part"] for p in program.low_stock()] == ["API-PART"]
    k = program.kpis(dt.date(2026, 1, 1), dt.date(2026, 1, 31), room="3")
    assert k.room == "3" and k.actions_open == 0


def test_the_report_summary_withholds_names_unless_asked(site):
    from xcal.program.summary import program_summary, summary_lines
    from xcal.records.store import Store

    with Store(site.db) as store:
        summary = program_summary(store, site.model, room="4", year=2026)
        text = "\n".join(summary_lines(summary))
        assert "IN-1 2026-08-10 (equipment)" in text and "wearer 1" in text and "LEVEL I" in text
        assert "Demo Technologist" not in str(summary) and "SIM-B-101" not in str(summary)
        personal = program_summary(store, site.model, room="4", year=2026, personal=True)
        assert "Demo Technologist A" in str(personal["dosimetry"]) and "SIM-B-101" in str(personal["dosimetry"])
