"""Corrective actions end to end on the demo site: room 4's generator runs 7 % high above 100 kV, so
kvp-accuracy FAILs at its 120 kV station; the same site with the fault removed (`kvp_scale: 1.0`) is the room
after the repair, and its run is the retest.

Worked by hand: at 120 kV the limit is ±max(5 % of 120 kV, 2 kV) = ±max(6 kV, 2 kV) = ±6 kV; the faulty
generator gives about 120 × 1.07 = 128.4 kV peak (a little less as mean PPV with 2 % ripple), so the deviation
is about +7 to +8.4 kV, outside ±6 kV. A new action is due 30 days after today.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

FAULT = "        kvp_scale: 1.07\n"
FIXED = {FAULT: "        kvp_scale: 1.0\n"}


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _run(cli, *site, room="4", procedure="kvp-accuracy"):
    result = cli(*site, "run", procedure, "--room", room, "--json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)["run_id"], result


def test_a_failed_run_opens_an_action_with_what_failed_and_by_how_much(cli):
    run_id, result = _run(cli)
    assert result.returncode == 1
    assert "corrective action CA-1 opened for this FAIL" in result.stderr
    (action,) = _json(cli("action", "list", "--json"))
    assert (action["action_id"], action["run_id"], action["room"], action["procedure"], action["status"]) == \
        ("CA-1", run_id, "4", "kvp-accuracy", "open")
    assert action["assignee"] is None and action["opened_by"] == "xcal (automatic)"
    assert action["due"] == (dt.date.today() + dt.timedelta(days=30)).isoformat()
    (failed,) = action["failed"]
    assert (failed["check_id"], failed["nominal"], failed["unit"], failed["allowed"]) == \
        ("kvp-accuracy", 120.0, "kV", 6.0)
    assert failed["setting"] == "4: 120 kV 200 mA 50 ms" and failed["limit"] == "±max(5 %, 2 kV)"
    assert 126.0 < failed["value"] <= 128.4
    assert failed["deviation"] == pytest.approx(failed["value"] - 120.0)
    assert "EX-DXR500-SM" in failed["source"]


def test_due_names_the_open_action_until_a_passing_retest_verifies_it(cli, site_copy):
    failed_run, _ = _run(cli)
    due = {d["procedure"]: d for d in _json(cli("due", "--room", "4", "--json"))}
    assert (due["kvp-accuracy"]["status"], due["kvp-accuracy"]["action"]) == ("RETEST REQUIRED", "CA-1")
    table = cli("due", "--room", "4")
    assert "kvp-accuracy in room 4 awaits action CA-1" in table.stdout

    assigned = _json(cli("action", "assign", "CA-1", "--to", "J. Ray", "--due", "2026-12-20", "--name", "P. Hys",
                          "--json"))
    assert (assigned["assignee"], assigned["due"], assigned["status"]) == ("J. Ray", "2026-12-20", "open")
    busy = _json(cli("action", "progress", "CA-1", "--note", "kV feedback board ordered", "--name", "J. Ray",
                      "--json"))
    assert busy["status"] == "in progress" and busy["progress"][0]["note"] == "kV feedback board ordered"

    retest, result = _run(cli, "--site", str(site_copy(FIXED)))
    assert result.returncode == 0 and "corrective action CA-1 verified by this passing retest" in result.stderr
    action = _json(cli("action", "show", "CA-1", "--json"))
    assert (action["status"], action["verified_by"], action["run_id"]) == ("verified", retest, failed_run)
    assert [h["kind"] for h in action["history"]] == ["action_opened", "action_assigned", "action_progress",
                                                      "action_verified"]
    due = {d["procedure"]: d for d in _json(cli("due", "--room", "4", "--json"))}
    assert (due["kvp-accuracy"]["status"], due["kvp-accuracy"]["action"]) == ("OK", None)
    shown = cli("action", "show", "CA-1")
    assert "no resolution is recorded" in shown.stdout
    assert _json(cli("verify", "--json"))["ok"] is True


def test_a_failed_retest_stays_on_the_same_action(cli):
    first, _ = _run(cli)
    second, result = _run(cli)
    assert "corrective action CA-1 stays open: retest run" in result.stderr
    (action,) = _json(cli("action", "list", "--json"))
    assert action["run_id"] == first and action["status"] == "open"
    assert [(r["run_id"], r["verdict"]) for r in action["retests"]] == [(second, "FAIL")]
    assert action["retests"][0]["failed"][0]["check_id"] == "kvp-accuracy"


def test_resolve_with_a_retest_verifies_only_a_later_pass_of_the_same_test_in_the_same_room(cli, site_copy):
    failed_run, _ = _run(cli)
    other_room, _ = _run(cli, room="3")
    itself = cli("action", "resolve", "CA-1", "--done", "board replaced", "--retest", failed_run, "--name", "A")
    assert itself.returncode == 2 and "began before the failed run" in itself.stderr and "fix:" in itself.stderr
    elsewhere = cli("action", "resolve", "CA-1", "--done", "board replaced", "--retest", other_room, "--name", "A")
    assert elsewhere.returncode == 2 and "not kvp-accuracy in room 4" in elsewhere.stderr
    assert _json(cli("action", "show", "CA-1", "--json"))["resolution"] is None

    resolved = _json(cli("action", "resolve", "CA-1", "--done", "board replaced", "--name", "A. Field", "--json"))
    assert resolved["status"] == "resolved" and resolved["resolution"]["done"] == "board replaced"
    again = cli("action", "resolve", "CA-1", "--done", "fuse replaced", "--name", "A. Field")
    assert again.returncode == 2 and "--reason" in again.stderr

    retest, _ = _run(cli, "--site", str(site_copy(FIXED)))
    verified = _json(cli("action", "show", "CA-1", "--json"))
    assert (verified["status"], verified["verified_by"]) == ("verified", retest)
    fixed = _json(cli("action", "resolve", "CA-1", "--done", "feedback board and fuse replaced", "--retest", retest,
                       "--reason", "the fuse was replaced too", "--name", "A. Field", "--json"))
    first_resolution = next(h["seq"] for h in fixed["history"] if h["kind"] == "action_resolved")
    assert fixed["resolution"]["supersedes"] == first_resolution
    assert fixed["resolution"]["retest_run"] == retest and fixed["status"] == "verified"


def test_the_report_lists_the_action_and_its_retest(cli, site_copy, tmp_path):
    failed_run, _ = _run(cli)
    retest, _ = _run(cli, "--site", str(site_copy(FIXED)))
    cli("action", "resolve", "CA-1", "--done", "kV feedback board replaced", "--name", "A. Field")
    page = tmp_path / "report.html"
    assert cli("report", failed_run, "-o", str(page)).returncode == 0
    text = page.read_text(encoding="utf-8")
    section = text[text.index('id="corrective-actions"'):text.index('id="signatures"')]
    assert "CA-1: kvp-accuracy at 4: 120 kV 200 mA 50 ms" in section and "none recorded" not in section
    assert f"retest: {retest} PASS" in section and "done: kV feedback board replaced" in section
    assert "opened by this run" in section
    page2 = tmp_path / "retest.html"
    assert cli("report", retest, "-o", str(page2)).returncode == 0
    assert "verified by this run" in page2.read_text(encoding="utf-8")


def test_opening_by_hand_refuses_a_passing_run_a_covered_run_and_an_unknown_action(cli):
    passed, _ = _run(cli, room="3")
    refused = cli("action", "open", passed)
    assert refused.returncode == 2 and "has no failed check" in refused.stderr and "fix:" in refused.stderr
    failed_run, _ = _run(cli)
    again = cli("action", "open", failed_run)
    assert again.returncode == 2 and "already covered by corrective action CA-1" in again.stderr
    unknown = cli("action", "show", "CA-9")
    assert unknown.returncode == 2 and "no corrective action 'CA-9'" in unknown.stderr
    assert "xcal action list" in unknown.stderr and "Traceback" not in unknown.stderr
    bad_due = cli("action", "assign", "CA-1", "--to", "J. Ray", "--due", "next week")
    assert bad_due.returncode == 2 and "is not a date" in bad_due.stderr


def test_verify_catches_an_action_edited_in_the_store(cli, _isolated_store):
    _run(cli)
    assert _json(cli("verify", "--json"))["ok"] is True
    with sqlite3.connect(_isolated_store) as db:
        db.execute("UPDATE entries SET payload = replace(payload, '\"assignee\":null', '\"assignee\":\"X\"') "
                   "WHERE kind = 'action_opened'")
    broken = cli("verify", "--json")
    assert broken.returncode == 1
    report = json.loads(broken.stdout)
    assert report["ok"] is False and "corrective action CA-1 opened" in report["reason"]


def _recorded(store, procedure, room, started, verdict, checks):
    from xcal.records.store import RunHeader

    header = RunHeader(procedure, "1.0.0", "ab" * 32, procedure, "Site", room, "", "tech", True, "0", {},
                       run_id=f"{procedure}-{room}-{started}", started_at=f"{started}T09:00:00.000+00:00")
    store.create_run(header)
    store.finish_run(header.run_id, verdict, checks=checks)
    return header.run_id


def test_a_bundle_line_names_the_action_of_its_failed_member(tmp_path):
    # Room 3 schedules the radiographic-acceptance bundle, which holds hvl: an HVL of 2.1 mm against a 2.9 mm
    # minimum fails by 0.8 mm; the later HVL of 3.2 mm passes and verifies the action.
    from xcal.program.actions import after_run, load_actions
    from xcal.records.store import Store, StoredCheck
    from xcal.schedule import due_report
    from xcal.site import load_site

    def hvl(value, verdict):
        return [StoredCheck(check_id="hvl-minimum", title="HVL at least the minimum", station=None, setting="run",
                            value=value, nominal=None, unit="mm", deviation=None, allowed=2.9,
                            limit_name="hvl-minimum", limit_text="≥ 2.9 mm", limit_set="cfr-1020",
                            source="21 CFR 1020.30(m)", verdict=verdict)]

    site = load_site()
    with Store(tmp_path / "records.sqlite3") as store:
        failed = _recorded(store, "hvl", "3", "2026-11-20", "FAIL", hvl(2.1, "FAIL"))
        assert after_run(store, failed) == [f"corrective action CA-1 opened for this FAIL (due "
                                            f"{(dt.date.today() + dt.timedelta(days=30)).isoformat()}): "
                                            f"`xcal action show CA-1`"]
        (action,) = load_actions(store)
        assert (action.failed[0]["value"], action.failed[0]["allowed"], action.failed[0]["limit"]) == \
            (2.1, 2.9, "≥ 2.9 mm")
        line = {i.procedure: i for i in due_report(site, store, dt.date(2026, 11, 26), room="3")}[
            "radiographic-acceptance"]
        assert (line.status, line.action) == ("RETEST REQUIRED", "CA-1")
        passed = _recorded(store, "hvl", "3", "2026-11-25", "PASS", hvl(3.2, "PASS"))
        assert after_run(store, passed) == ["corrective action CA-1 verified by this passing retest"]
        assert load_actions(store)[0].verified_by == passed
