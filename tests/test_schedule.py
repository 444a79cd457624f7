"""The QC schedule (`xcal due`) and the retention report (`xcal retention`)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from xcal.errors import ConfigError
from xcal.procedures.loader import LIBRARY_INDEX
from xcal.records.store import RunHeader, Store
from xcal.schedule import due_report, next_due
from xcal.site import load_site


@pytest.mark.parametrize("every, last, expected", [
    ("daily", dt.date(2026, 11, 26), dt.date(2026, 11, 27)),
    ("weekly", dt.date(2026, 11, 26), dt.date(2026, 12, 3)),
    ("monthly", dt.date(2026, 1, 31), dt.date(2026, 2, 28)),        # calendar month, clamped to February's end
    ("quarterly", dt.date(2026, 11, 26), dt.date(2027, 2, 26)),
    ("annual", dt.date(2024, 2, 29), dt.date(2025, 2, 28)),
    ("RRULE:FREQ=MONTHLY;BYMONTHDAY=1", dt.date(2026, 11, 26), dt.date(2026, 12, 1)),
    ("RRULE:FREQ=WEEKLY;BYDAY=MO", dt.date(2026, 11, 26), dt.date(2026, 11, 30)),   # 26 Nov 2026 is a Thursday
])
def test_next_due(every, last, expected):
    assert next_due(every, last, dt.date(2026, 11, 26)) == expected


def test_never_run_is_due_today():
    assert next_due("annual", None, dt.date(2026, 11, 26)) == dt.date(2026, 11, 26)


def _record(store, procedure, room, started, verdict="PASS", item=None):
    snapshot = {"item": {"id": item}} if item else {}
    header = RunHeader(procedure, "1.0.0", "ab" * 32, procedure, "Site", room, "", "tech", True, "0", snapshot,
                       run_id=f"{procedure}-{room}-{started}" + (f"-{item}" if item else ""),
                       started_at=f"{started}T09:00:00.000+00:00")
    store.create_run(header)
    if verdict is None:
        store.mark_incomplete(header.run_id, "interrupted by the operator (Ctrl-C)")
    else:
        store.finish_run(header.run_id, verdict)


def test_due_report_flags_overdue_runs_and_bundles(tmp_path):
    site = load_site()
    with Store(tmp_path / "r.sqlite3") as store:
        _record(store, "kvp-accuracy", "3", "2025-10-01")                    # superseded by the 2026-06-01 run below
        _record(store, "kvp-reproducibility", "3", "2026-11-20", "FAIL")     # monthly rule -> due 2026-12-01
        for pid in ("kvp-accuracy", "kvp-reproducibility", "timer-accuracy", "output-reproducibility",
                    "ma-linearity", "mas-linearity"):
            _record(store, pid, "3", "2026-06-01")
        items = {i.procedure: i for i in due_report(site, store, dt.date(2026, 11, 26), room="3")}
    assert items["kvp-accuracy"].status == "OK" and items["kvp-accuracy"].next_due == dt.date(2027, 6, 1)
    # Its last run failed: due again at once (today), whatever the monthly rule says.
    assert items["kvp-reproducibility"].status == "RETEST REQUIRED"
    assert items["kvp-reproducibility"].last_verdict == "FAIL"
    assert items["kvp-reproducibility"].next_due == dt.date(2026, 11, 26)
    # The bundle has no complete hvl run yet, but one of its procedures (kvp-reproducibility) failed: the fail
    # decides, so the bundle is due for retest now rather than "never run".
    assert items["radiographic-acceptance"].status == "RETEST REQUIRED"
    assert items["radiographic-acceptance"].last_run == "kvp-reproducibility-3-2026-11-20"
    assert items["kvp-accuracy"].instruments == (("kvp-1", "2099-12-31", "OK"),)


def test_apron_inspection_is_due_per_garment_wherever_it_was_inspected(tmp_path):
    # The demo site schedules apron-inspection annually in room 10 and lists APR-01, APR-02 and THY-01.
    site = load_site()
    with Store(tmp_path / "r.sqlite3") as store:
        _record(store, "apron-inspection", "10", "2026-03-01", item="APR-01")
        _record(store, "apron-inspection", "3", "2025-10-01", "FAIL", item="APR-02")  # inspected in another room
        _record(store, "apron-inspection", "10", "2026-11-01")                       # names no garment: none
        items = {i.item: i for i in due_report(site, store, dt.date(2026, 11, 26), room="10")
                 if i.procedure == "apron-inspection"}
    assert set(items) == {"APR-01", "APR-02", "THY-01"}
    assert (items["APR-01"].status, items["APR-01"].next_due) == ("OK", dt.date(2027, 3, 1))
    # APR-02 failed its last inspection: due for re-inspection now (today), not a year after it.
    assert (items["APR-02"].status, items["APR-02"].next_due) == ("RETEST REQUIRED", dt.date(2026, 11, 26))
    assert items["APR-02"].last_verdict == "FAIL" and items["APR-02"].last_run == "apron-inspection-3-2025-10-01-APR-02"
    assert (items["THY-01"].status, items["THY-01"].last_run) == ("NEVER RUN", None)


def test_a_schedule_entry_may_name_one_garment(tmp_path, site_copy):
    site = load_site(site_copy({"procedure: apron-inspection, every: annual}":
                                "procedure: apron-inspection, every: quarterly, item: THY-01}"}))
    with Store(tmp_path / "r.sqlite3") as store:
        _record(store, "apron-inspection", "10", "2026-09-30", item="THY-01")
        items = [i for i in due_report(site, store, dt.date(2026, 11, 26), room="10")
                 if i.procedure == "apron-inspection"]
    assert [(i.item, i.status, i.next_due) for i in items] == [("THY-01", "OK", dt.date(2026, 12, 30))]


def test_overdue_and_expired_calibration(tmp_path, site_copy):
    site = load_site(site_copy({"date: 2026-01-15\n      due: 2099-12-31": "date: 2024-01-15\n      due: 2025-01-15"}))
    with Store(tmp_path / "r.sqlite3") as store:
        _record(store, "kvp-accuracy", "4", "2025-01-10")
        items = {i.procedure: i for i in due_report(site, store, dt.date(2026, 11, 26), room="4")}
    item = items["kvp-accuracy"]
    assert item.status == "OVERDUE" and item.next_due == dt.date(2026, 1, 10)
    assert item.instruments == (("kvp-1", "2025-01-15", "EXPIRED"),)


@pytest.mark.parametrize("replace, message", [
    ({"procedure: kvp-accuracy, every: annual}": "procedure: kvp-acuracy, every: annual}"}, "unknown procedure"),
    ({"every: quarterly}": "every: fortnightly}"}, "is not a frequency"),
    ({"procedure: apron-inspection, every: annual}": "procedure: apron-inspection, every: annual, item: APR-09}"},
     "no garment 'APR-09'"),
    ({"{room: 4, procedure: kvp-accuracy, every: annual}": "{room: 4, procedure: kvp-accuracy, every: annual, "
                                                          "item: APR-01}"}, "tests the room, not a garment"),
    ({"every: \"RRULE:FREQ=MONTHLY;BYMONTHDAY=1\"": "every: \"RRULE:FREQ=SOMETIMES\""}, "RFC 5545"),
    ({"every: \"RRULE:FREQ=MONTHLY;BYMONTHDAY=1\"": "every: \"RRULE:FREQ=MONTHLY;INTERVAL=0\""},
     "INTERVAL=0; it must be 1 or more"),
    ({"every: \"RRULE:FREQ=MONTHLY;BYMONTHDAY=1\"": "every: \"RRULE:FREQ=MONTHLY;BYMONTHDAY=40\""},
     "gives no date within 10 years"),
    ({"every: \"RRULE:FREQ=MONTHLY;BYMONTHDAY=1\"": "every: \"RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\""},
     "gives no date within 10 years"),
    ({"every: \"RRULE:FREQ=MONTHLY;BYMONTHDAY=1\"": "every: \"RRULE:FREQ=DAILY;UNTIL=20000101\""},
     "gives no date within 10 years"),
    ({"    source: example rule for the demo site (FICTIONAL); set the rules of your jurisdiction here\n": ""},
     "missing the key 'source'"),
])
def test_schedule_and_retention_errors_name_the_place(site_copy, replace, message):
    with pytest.raises(ConfigError) as err:
        load_site(site_copy(replace), procedures=LIBRARY_INDEX)
    assert message in err.value.message and err.value.line is not None and err.value.fix


@pytest.mark.parametrize("rule", ["RRULE:FREQ=MONTHLY;INTERVAL=0", "RRULE:FREQ=WEEKLY;INTERVAL=-1",
                                  "RRULE:FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30", "RRULE:FREQ=MONTHLY;BYMONTHDAY=40",
                                  "RRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30", "RRULE:FREQ=MONTHLY;COUNT=1"])
def test_next_due_of_a_rule_with_no_next_date_is_an_error_and_does_not_hang(rule):
    import time

    from xcal.frequency import FrequencyError

    started = time.monotonic()
    with pytest.raises(FrequencyError):
        next_due(rule, dt.date(2026, 11, 26), dt.date(2026, 11, 26))
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("rule", ["RRULE:FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
                                  "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "RRULE:FREQ=MONTHLY;BYMONTHDAY=31"])
def test_next_due_of_sparse_rules_matches_a_day_by_day_search(rule):
    # The dates worked out by walking the calendar one day at a time from the last run.
    last = dt.date(2026, 11, 26)
    wanted = {"RRULE:FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13": lambda d: d.day == 13 and d.weekday() == 4,
              "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29": lambda d: (d.month, d.day) == (2, 29),
              "RRULE:FREQ=MONTHLY;BYMONTHDAY=31": lambda d: d.day == 31}[rule]
    day = last + dt.timedelta(days=1)
    while not wanted(day):
        day += dt.timedelta(days=1)
    assert next_due(rule, last, last) == day


def test_a_rule_with_count_counts_from_the_last_run():
    # COUNT=2 from the run on 26 November: that day and 26 December.
    assert next_due("RRULE:FREQ=MONTHLY;COUNT=2", dt.date(2026, 11, 26), dt.date(2026, 11, 26)) == dt.date(2026, 12, 26)


def test_a_rule_is_judged_against_the_day_it_is_loaded():
    from xcal.frequency import FrequencyError, check_frequency

    check_frequency("RRULE:FREQ=DAILY;UNTIL=20270101", dt.date(2026, 11, 26))
    with pytest.raises(FrequencyError, match="no date within 10 years after 2027-06-01"):
        check_frequency("RRULE:FREQ=DAILY;UNTIL=20270101", dt.date(2027, 6, 1))


def test_cli_due_refuses_a_rule_with_interval_0_at_once(xcal, site_copy):
    path = site_copy({"RRULE:FREQ=MONTHLY;BYMONTHDAY=1": "RRULE:FREQ=MONTHLY;INTERVAL=0"})
    result = xcal("--site", str(path), "due", timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{path}:" in result.stderr and "INTERVAL=0" in result.stderr


def test_a_rule_that_has_run_out_is_shown_ended_and_the_rest_of_the_report_stands(tmp_path, site_copy):
    # UNTIL 2026-11-01 has passed by 2026-11-26: the site still loads (the rule gave dates once), and
    # `xcal due` shows that entry ENDED instead of failing the whole report.
    path = site_copy({"RRULE:FREQ=MONTHLY;BYMONTHDAY=1": "RRULE:FREQ=MONTHLY;BYMONTHDAY=1;UNTIL=20261101"})
    site = load_site(path)
    with Store(tmp_path / "r.sqlite3") as store:
        _record(store, "kvp-reproducibility", "3", "2026-11-20")     # the next 1st, 2026-12-01, is past UNTIL
        _record(store, "kvp-accuracy", "3", "2026-06-01")
        items = {i.procedure: i for i in due_report(site, store, dt.date(2026, 11, 26), room="3")}
    assert (items["kvp-reproducibility"].status, items["kvp-reproducibility"].next_due) == ("ENDED", None)
    assert (items["kvp-accuracy"].status, items["kvp-accuracy"].next_due) == ("OK", dt.date(2027, 6, 1))


def test_a_rule_that_never_gives_a_date_is_refused_at_load(site_copy):
    with pytest.raises(ConfigError) as err:
        load_site(site_copy({"RRULE:FREQ=MONTHLY;BYMONTHDAY=1": "RRULE:FREQ=MONTHLY;BYMONTHDAY=1;UNTIL=19991231"}))
    assert "gives no date" in err.value.message and err.value.line is not None


def test_an_item_on_a_bundle_in_the_schedule_is_refused_not_a_traceback(site_copy):
    with pytest.raises(ConfigError) as err:
        load_site(site_copy({"{room: 3, procedure: radiographic-acceptance, every: annual}":
                             "{room: 3, procedure: radiographic-acceptance, every: annual, item: APR-01}"}),
                  procedures=LIBRARY_INDEX)
    assert "tests the room, not a garment" in err.value.message


def test_each_garment_is_listed_once_under_the_entry_that_names_it(tmp_path, site_copy):
    # Two general entries (rooms 10 and 3) and a monthly entry for APR-02: APR-02 is under the monthly entry
    # only, APR-01 and THY-01 under the first general entry only.
    site = load_site(site_copy({"  - {room: 10, procedure: apron-inspection, every: annual}\n":
                                "  - {room: 10, procedure: apron-inspection, every: annual}\n"
                                "  - {room: 3, procedure: apron-inspection, every: annual}\n"
                                "  - {room: 3, procedure: apron-inspection, every: monthly, item: APR-02}\n"}))
    with Store(tmp_path / "r.sqlite3") as store:
        rows = [(i.room, i.item, i.every) for i in due_report(site, store, dt.date(2026, 11, 26))
                if i.procedure == "apron-inspection"]
    assert sorted(rows, key=str) == sorted([("10", "APR-01", "annual"), ("10", "THY-01", "annual"),
                                            ("3", "APR-02", "monthly")], key=str)


def test_cli_due_and_retention(cli, _isolated_store):
    with Store(_isolated_store) as store:
        _record(store, "kvp-accuracy", "3", "2021-03-01")          # past the demo's 3-year rule
    due = json.loads(cli("due", "--room", "3", "--json").stdout)
    assert {d["procedure"]: d["status"] for d in due}["kvp-accuracy"] == "OVERDUE"
    listed = cli("retention", "--json")
    assert listed.returncode == 0
    (item,) = json.loads(listed.stdout)
    assert item["run_id"] == "kvp-accuracy-3-2021-03-01" and item["keep_until"] == "2024-03-01"
    with Store(_isolated_store) as store:
        assert len(store.list_runs()) == 1          # reported, never deleted


def test_cli_due_refuses_a_room_the_site_does_not_have(cli):
    result = cli("due", "--room", "99")
    assert result.returncode == 2 and "no room '99'" in result.stderr and "3, 4, 5" in result.stderr


def test_a_failed_run_is_due_for_retest_until_a_later_run_passes(tmp_path):
    # Room 4 schedules kvp-accuracy annually. Passed 2026-01-10, failed 2026-11-20: the fail is due at once
    # (today, 2026-11-26), not a year after it.
    site = load_site()
    with Store(tmp_path / "r.sqlite3") as store:
        _record(store, "kvp-accuracy", "4", "2026-01-10")
        _record(store, "kvp-accuracy", "4", "2026-11-20", "FAIL")
        failed = {i.procedure: i for i in due_report(site, store, dt.date(2026, 11, 26), room="4")}["kvp-accuracy"]
        _record(store, "kvp-accuracy", "4", "2026-11-24")          # the retest passes
        passed = {i.procedure: i for i in due_report(site, store, dt.date(2026, 11, 26), room="4")}["kvp-accuracy"]
    assert (failed.status, failed.next_due) == ("RETEST REQUIRED", dt.date(2026, 11, 26))
    assert (failed.last_run, failed.last_verdict) == ("kvp-accuracy-4-2026-11-20", "FAIL")
    # The next due date counts from the passing retest: 2026-11-24 + 1 year.
    assert (passed.status, passed.next_due) == ("OK", dt.date(2027, 11, 24))
    assert (passed.last_run, passed.last_verdict) == ("kvp-accuracy-4-2026-11-24", "PASS")


def test_a_fail_in_another_room_or_of_another_procedure_does_not_count(tmp_path):
    site = load_site()
    with Store(tmp_path / "r.sqlite3") as store:
        _record(store, "kvp-accuracy", "4", "2026-06-01")
        _record(store, "kvp-accuracy", "3", "2026-11-20", "FAIL")
        _record(store, "timer-accuracy", "4", "2026-11-20", "FAIL")
        item = {i.procedure: i for i in due_report(site, store, dt.date(2026, 11, 26), room="4")}["kvp-accuracy"]
    assert (item.status, item.next_due) == ("OK", dt.date(2027, 6, 1))


def test_a_run_cut_off_is_incomplete_and_due_now_naming_the_run_to_resume(tmp_path):
    site = load_site()
    with Store(tmp_path / "r.sqlite3") as store:
        _record(store, "kvp-accuracy", "4", "2026-06-01")
        _record(store, "kvp-accuracy", "4", "2026-11-25", verdict=None)
        cut = {i.procedure: i for i in due_report(site, store, dt.date(2026, 11, 26), room="4")}["kvp-accuracy"]
        _record(store, "kvp-accuracy", "4", "2026-11-26")          # finished (a resumed or a new run) and passed
        done = {i.procedure: i for i in due_report(site, store, dt.date(2026, 11, 26), room="4")}["kvp-accuracy"]
    assert (cut.status, cut.next_due, cut.open_run) == ("INCOMPLETE", dt.date(2026, 11, 26),
                                                        "kvp-accuracy-4-2026-11-25")
    assert (cut.last_run, cut.last_verdict) == ("kvp-accuracy-4-2026-06-01", "PASS")   # the last complete run
    assert (done.status, done.next_due, done.open_run) == ("OK", dt.date(2027, 11, 26), None)


def test_a_never_completed_run_is_incomplete_not_never_run(tmp_path):
    site = load_site()
    with Store(tmp_path / "r.sqlite3") as store:
        _record(store, "kvp-accuracy", "4", "2026-11-25", verdict=None)
        item = {i.procedure: i for i in due_report(site, store, dt.date(2026, 11, 26), room="4")}["kvp-accuracy"]
    assert (item.status, item.last_run, item.open_run) == ("INCOMPLETE", None, "kvp-accuracy-4-2026-11-25")


def test_a_failed_run_stays_due_for_retest_when_the_retest_is_cut_off(tmp_path):
    site = load_site()
    with Store(tmp_path / "r.sqlite3") as store:
        _record(store, "kvp-accuracy", "4", "2026-11-20", "FAIL")
        _record(store, "kvp-accuracy", "4", "2026-11-25", verdict=None)
        item = {i.procedure: i for i in due_report(site, store, dt.date(2026, 11, 26), room="4")}["kvp-accuracy"]
    assert (item.status, item.last_run, item.open_run) == ("RETEST REQUIRED", "kvp-accuracy-4-2026-11-20",
                                                           "kvp-accuracy-4-2026-11-25")


def test_a_bundle_with_one_failed_procedure_is_due_for_retest(tmp_path):
    site = load_site()
    members = ("kvp-accuracy", "kvp-reproducibility", "timer-accuracy", "output-reproducibility", "ma-linearity",
               "mas-linearity", "hvl")
    with Store(tmp_path / "r.sqlite3") as store:
        for pid in members:
            _record(store, pid, "3", "2026-06-01", "FAIL" if pid == "hvl" else "PASS")
        item = {i.procedure: i for i in due_report(site, store, dt.date(2026, 11, 26), room="3")}[
            "radiographic-acceptance"]
    assert (item.status, item.last_verdict, item.next_due) == ("RETEST REQUIRED", "FAIL", dt.date(2026, 11, 26))


def test_cli_due_after_a_failed_run_says_retest_required(cli):
    # The demo's room 4 fails kvp-accuracy at 120 kV.
    assert cli("run", "kvp-accuracy", "--room", "4").returncode == 1
    due = {d["procedure"]: d for d in json.loads(cli("due", "--room", "4", "--json").stdout)}
    today = dt.date.today().isoformat()
    assert (due["kvp-accuracy"]["status"], due["kvp-accuracy"]["next_due"]) == ("RETEST REQUIRED", today)
    assert due["kvp-accuracy"]["last_verdict"] == "FAIL" and due["kvp-accuracy"]["open_run"] is None
    table = cli("due", "--room", "4")
    assert table.returncode == 0 and "RETEST REQUIRED" in table.stdout
    assert "stays due until a run of it in room 4 passes" in table.stdout
