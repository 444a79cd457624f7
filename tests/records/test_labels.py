"""How `xcal verify` names an entry: every store-level kind by what it records and who did it, never as a bare
kind name, and never with a badge wearer's name or a dose."""

from __future__ import annotations

import pytest

from xcal.records.chain import ACCOUNT_KINDS, PROGRAM_KINDS, Entry, describe

from .factory import raw

LABELS = {
    "account_created": ({"username": "bob", "full_name": "Bob Physicist", "role": "physicist", "credential": "c",
                         "by": "ann"}, "account bob created by ann"),
    "account_role_changed": ({"username": "bob", "role": "rso", "from": "physicist", "by": "ann"},
                             "account bob role changed from physicist to rso by ann"),
    "account_disabled": ({"username": "bob", "by": "ann"}, "account bob disabled by ann"),
    "account_enabled": ({"username": "bob", "by": "ann"}, "account bob enabled by ann"),
    "account_password_set": ({"username": "bob", "credential": "c", "by": "bob"},
                             "account bob given a new password by bob"),
    "account_locked": ({"username": "bob", "until": "2026-12-05T10:15:00.000+00:00", "failures": 5,
                        "by": "xcal (automatic)"},
                       "account bob locked until 2026-12-05T10:15:00.000+00:00 after 5 failed sign-ins by xcal "
                       "(automatic)"),
    "action_opened": ({"action_id": "CA-1", "run_id": "R7", "room": "3", "by": "A. Tech"},
                      "corrective action CA-1 opened for run R7 by A. Tech"),
    "action_assigned": ({"action_id": "CA-1", "assignee": "B. Eng", "by": "A. Tech"},
                        "corrective action CA-1 assigned to B. Eng by A. Tech"),
    "action_progress": ({"action_id": "CA-1", "note": "tube ordered", "by": "B. Eng"},
                        "progress note on corrective action CA-1 by B. Eng"),
    "action_resolved": ({"action_id": "CA-1", "done": "tube replaced", "by": "B. Eng"},
                        "corrective action CA-1 resolved by B. Eng"),
    "action_retested": ({"action_id": "CA-1", "retest_run": "R9", "verdict": "FAIL", "by": "xcal (automatic)"},
                        "corrective action CA-1 retested by run R9, FAIL by xcal (automatic)"),
    "action_verified": ({"action_id": "CA-1", "retest_run": "R10", "verdict": "PASS", "by": "C. Phys"},
                        "corrective action CA-1 verified by run R10 by C. Phys"),
    "service_recorded": ({"service_id": "SE-2", "room": "3", "by": "B. Eng"},
                         "service SE-2 of room 3 recorded by B. Eng"),
    "pm_logged": ({"pm_id": "PM-4", "room": "7", "by": "B. Eng"}, "maintenance PM-4 of room 7 logged by B. Eng"),
    "part_received": ({"part": "FIL-20", "quantity": 3, "by": "Stores"}, "3 of part FIL-20 received by Stores"),
    "part_used": ({"part": "FIL-20", "quantity": 1, "room": "3", "service": "SE-2", "by": "B. Eng"},
                  "1 of part FIL-20 used in room 3 for service SE-2 by B. Eng"),
    "incident_recorded": ({"incident_id": "IN-1", "room": "3", "people": [{"name": "Pat Doe"}], "by": "RSO"},
                          "incident IN-1 in room 3 recorded by RSO"),
    "incident_updated": ({"incident_id": "IN-1", "changes": {"root_cause": "interlock"}, "by": "RSO"},
                         "incident IN-1 updated by RSO"),
    "badge_issued": ({"badge": "B-12", "person": "Pat Doe", "location": "whole body", "by": "RSO"},
                     "dosimetry badge B-12 issued by RSO"),
    "dose_recorded": ({"dose_id": "D-4", "badge": "B-12", "person": "Pat Doe", "doses": {"deep": 0.31},
                       "by": "RSO"}, "dose D-4 of badge B-12 recorded by RSO"),
    "dose_report": ({"sop_instance_uid": "1.2.826.0.1.3", "source": "PACS", "dap_total_gy_m2": 2e-4},
                    "dose report 1.2.826.0.1.3 from PACS kept"),
}


def test_every_store_level_kind_has_a_label_here():
    assert set(LABELS) == ACCOUNT_KINDS | PROGRAM_KINDS


@pytest.mark.parametrize("kind", sorted(LABELS))
def test_a_store_level_entry_reads_as_what_it_records(kind):
    payload, text = LABELS[kind]
    assert describe(kind, "", payload) == text
    assert "Pat Doe" not in text and "0.31" not in text


def test_a_resumed_run_reads_as_one():
    assert describe("run_resumed", "R7", {"status": "running"}) == "run R7 resumed"


def test_verify_names_an_edited_program_entry_by_its_label(db, store):
    from xcal.records.chain import canonical

    store.append_entries(lambda: [("incident_recorded", {"incident_id": "IN-1", "room": "3", "by": "RSO"})])
    [(seq, payload)] = raw(db, "SELECT seq, payload FROM entries WHERE kind = 'incident_recorded'")
    raw(db, "UPDATE entries SET payload = ? WHERE seq = ?",
        (canonical({"incident_id": "IN-1", "room": "4", "by": "RSO"}), seq))
    report = store.verify()
    assert not report.ok and report.first_broken == seq
    assert report.reason == (f"entry {seq} (incident IN-1 in room 4 recorded by RSO): its hash does not match its "
                             f"content; the entry was edited after it was written")
    assert Entry(seq, "t", "incident_recorded", "", payload, "", "").label() == \
        f"entry {seq} (incident IN-1 in room 3 recorded by RSO)"
