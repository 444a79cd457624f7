"""Incidents and the notification level their doses reach, worked from 10 CFR 20.2202 / 20.2203:

immediate (20.2202(a)): TEDE >= 250 mSv, lens >= 750 mSv, shallow >= 2.5 Gy (= 2500 mSv for X-rays);
24 hours (20.2202(b)): TEDE > 50 mSv, lens > 150 mSv, shallow > 500 mSv;
30 days (20.2203(a)(2)(i)): above the 20.1201 limits, the same numbers as the 24-hour level, which comes first.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

from xcal.errors import ConfigError
from xcal.program.incidents import level_reached, load_levels, parse_person


@pytest.fixture(scope="module")
def levels():
    return load_levels()


@pytest.mark.parametrize(("person", "level"), [
    ("A; tede=250 mSv", "immediate"),            # exactly 0.25 Sv: "or more"
    ("A; tede=25 rem", "immediate"),
    ("A; tede=249.9 mSv", "24-hour"),
    ("A; tede=50.1 mSv", "24-hour"),
    ("A; tede=50 mSv", None),                    # exactly 5 rem: "exceeding" is not met
    ("A; lens=750 mSv", "immediate"),
    ("A; lens=151 mSv", "24-hour"),
    ("A; lens=150 mSv", None),
    ("A; shallow=2.5 Gy", "immediate"),
    ("A; shallow=2499 mGy", "24-hour"),
    ("A; shallow=500 mSv", None),
    ("A; tede=0.02 mSv; lens=0.03 mSv", None),
])
def test_the_level_a_dose_reaches(levels, person, level):
    found = level_reached([parse_person(person)], levels)
    assert (found["level"] if found else None) == level


def test_the_most_urgent_level_of_anyone_involved_wins_and_names_who(levels):
    found = level_reached([parse_person("A; tede=60 mSv"), parse_person("B; lens=800 mSv")], levels)
    assert found["level"] == "immediate" and [r["person"] for r in found["reached_by"]] == ["B"]
    assert found["section"] == "10 CFR 20.2202(a)" and "immediately" in found["asks"]


def test_every_threshold_carries_its_section_and_how_far_it_was_verified(levels):
    assert [lv.id for lv in levels] == ["immediate", "24-hour", "30-day"]
    for level in levels:
        for t in level.thresholds:
            assert t.section.startswith("10 CFR 20.22") and t.checked_in
            assert t.verified is (level.id == "30-day")
    assert [t.msv for t in levels[0].thresholds] == [250.0, 750.0, 2500.0]
    assert [t.msv for t in levels[1].thresholds] == [50.0, 150.0, 500.0]


@pytest.mark.parametrize("text", ["", "A; tede=abc", "A; neck=1 mSv", "A; tede=-1 mSv", "A; tede=3 kV"])
def test_a_bad_person_is_refused_naming_the_fix(text):
    with pytest.raises(ConfigError) as caught:
        parse_person(text)
    assert caught.value.fix


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_record_update_show_and_verify_end_to_end(cli, _isolated_store):
    made = _json(cli("incident", "record", "--date", "2026-03-02T10:00", "--room", "4", "--kind", "radiation",
                      "--what", "exposure with the door open", "--immediate", "room closed",
                      "--person", "J. Ray; tede=60 mSv; lens=20 mSv", "--person", "K. Lo; tede=0.2 mSv",
                      "--name", "RSO", "--json"))
    assert (made["incident_id"], made["room"], made["notification_level"]["level"]) == ("IN-1", "4", "24-hour")
    assert made["notification_due"].startswith("REQUIRED")
    assert [r["person"] for r in made["notification_level"]["reached_by"]] == ["J. Ray"]
    missing = cli("incident", "update", "IN-1", "--reason", "x", "--action", "CA-9")
    assert missing.returncode == 2 and "no corrective action 'CA-9'" in missing.stderr
    updated = _json(cli("incident", "update", "IN-1", "--reason", "investigation done", "--root-cause",
                         "interlock bypassed", "--notified", "NRC Operations Center", "--notified-at",
                         "2026-03-02T15:00", "--notified-ref", "EN 12345", "--person", "K. Lo; tede=0.3 mSv",
                         "--name", "RSO", "--json"))
    assert updated["root_cause"] == "interlock bypassed"
    local = dt.datetime(2026, 3, 2, 15, 0).astimezone().isoformat()      # a time without an offset is local
    assert updated["notification"] == {"to": "NRC Operations Center", "at": local, "reference": "EN 12345"}
    assert [p["doses"]["tede"] for p in updated["people"]] == [60.0, 0.3]
    assert [h["text"] for h in updated["history"]] == ["recorded", "updated root_cause, people, notification: "
                                                                   "investigation done"]
    shown = cli("incident", "show", "IN-1")
    assert "Notification within 24 hours" in shown.stdout and "made to NRC Operations Center" in shown.stdout
    (listed,) = _json(cli("incident", "list", "--year", "2026", "--json"))
    assert listed["incident_id"] == "IN-1"
    assert _json(cli("verify", "--json"))["ok"] is True
    with sqlite3.connect(_isolated_store) as db:
        db.execute("UPDATE entries SET payload = replace(payload, 'door open', 'door shut') "
                   "WHERE kind = 'incident_recorded'")
    broken = cli("verify", "--json")
    assert broken.returncode == 1 and "incident IN-1 in room 4 recorded" in json.loads(broken.stdout)["reason"]


def test_names_are_withheld_from_the_summary_that_leaves_the_site(tmp_path):
    from xcal.program.incidents import incident_summary, record_incident
    from xcal.records.store import Store
    from xcal.site import load_site

    with Store(tmp_path / "s.sqlite3") as store:
        record_incident(store, load_site(None), date="2026-02-01", room="4", kind="equipment", what="switch stuck",
                        people=["J. Ray; tede=60 mSv"], immediate_actions="isolated", by="RSO")
        (summary,) = incident_summary(store, room="4", year=2026)
        assert "J. Ray" not in json.dumps(summary)
        assert summary["people"][0]["person"] == "person 1"
        assert summary["notification_level"]["reached_by"][0]["person"] == "person 1"
        (personal,) = incident_summary(store, personal=True)
        assert personal["people"][0]["person"] == "J. Ray"
        assert incident_summary(store, year=2025) == [] and incident_summary(store, room="3") == []


def test_a_malformed_level_pack_is_refused_with_file_and_line(tmp_path):
    from xcal.program.incidents import LEVELS_FILE

    bad = tmp_path / "levels.yaml"
    bad.write_text(LEVELS_FILE.read_text(encoding="utf-8").replace("value: 0.25 Sv", "value: 0.25 kV", 1),
                   encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_levels(bad)
    assert f"{bad}:" in str(caught.value) and "'0.25 kV' is not a dose" in str(caught.value)


def _incident(levels, date, person, notification=None):
    from xcal.program.incidents import Incident

    people = [parse_person(person)]
    incident = Incident("IN-1", date, "4", "radiation", "x", people, "y", "", [], notification, date, "RSO")
    incident.level = level_reached(people, levels)
    return incident


def test_each_level_is_due_within_the_time_its_section_gives(levels):
    # 20.2202(a): immediately; 20.2202(b): within 24 hours of discovery; 20.2203(a): within 30 days.
    assert [(lv.id, lv.within, lv.within_hours) for lv in levels] == [
        ("immediate", "immediately", None), ("24-hour", "24 h", 24.0), ("30-day", "30 d", 720.0)]


def test_a_24_hour_notification_made_after_26_hours_is_late_and_one_after_23_is_not(levels):
    # Incident 2026-03-02 10:00 UTC, TEDE 60 mSv > 50 mSv: due by 2026-03-03 10:00.
    late = _incident(levels, "2026-03-02T10:00:00+00:00", "J. Ray; tede=60 mSv",
                     {"to": "NRC Operations Center", "at": "2026-03-03T12:00:00+00:00", "reference": None})
    assert late.notification_deadline().isoformat() == "2026-03-03T10:00:00+00:00"
    assert late.notification_late() is True
    assert late.notification_due().endswith("— LATE: at least 26 h after the incident, due by 2026-03-03T10:00+00:00 "
                                            "(10 CFR 20.2202(b))")
    on_time = _incident(levels, "2026-03-02T10:00:00+00:00", "J. Ray; tede=60 mSv",
                        {"to": "NRC Operations Center", "at": "2026-03-03T04:00:00-05:00", "reference": None})
    assert on_time.notification_late() is False and "LATE" not in on_time.notification_due()


def test_a_missing_notification_is_overdue_only_after_its_deadline(levels):
    missing = _incident(levels, "2026-03-02T10:00:00+00:00", "J. Ray; tede=60 mSv")
    before = dt.datetime(2026, 3, 3, 9, 59, tzinfo=dt.UTC)
    after = dt.datetime(2026, 3, 3, 10, 1, tzinfo=dt.UTC)
    assert missing.notification_due(before).endswith("not recorded as made, due by 2026-03-03T10:00+00:00")
    assert missing.notification_due(after).endswith("due by 2026-03-03T10:00+00:00 — OVERDUE")


def test_a_date_without_a_time_counts_from_the_end_of_that_day(levels):
    # Happened some time on 03-02 (local): due at the latest by 03-04 00:00; a call on 03-03 at 20:00 may be on
    # time; one on 03-04 at 01:00 is certainly late: at least 25 h after the end of 03-02.
    maybe = _incident(levels, "2026-03-02", "J. Ray; tede=60 mSv",
                      {"to": "NRC", "at": "2026-03-03T20:00:00", "reference": None})
    assert maybe.notification_deadline() == dt.datetime(2026, 3, 4).astimezone()
    assert maybe.notification_late() is False
    late = _incident(levels, "2026-03-02", "J. Ray; tede=60 mSv",
                     {"to": "NRC", "at": "2026-03-04T01:00:00", "reference": None})
    assert late.notification_late() is True and "LATE: at least 25 h after the incident" in late.notification_due()


def test_an_immediate_notification_is_overdue_while_missing_and_once_made_says_how_long_it_took(levels):
    missing = _incident(levels, "2026-03-02T10:00:00+00:00", "J. Ray; tede=300 mSv")
    assert missing.notification_deadline() is None and missing.notification_late() is True
    assert missing.notification_due().endswith("not recorded as made, due immediately — OVERDUE")
    made = _incident(levels, "2026-03-02T10:00:00+00:00", "J. Ray; tede=300 mSv",
                     {"to": "NRC", "at": "2026-03-02T13:40:00+00:00", "reference": None})    # 3 h 40 min later
    assert made.notification_late() is False
    assert made.notification_due().endswith(", at least 3 h after the incident (due immediately, "
                                            "10 CFR 20.2202(a))")
