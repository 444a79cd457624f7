"""Service events end to end on the demo site: the rules' tests become due at once in `xcal due`, naming the
event, until a run of each in the room begun after the downtime passes; the report file is kept by sha256.

Room 3 is healthy and schedules kvp-accuracy (annual), kvp-reproducibility, check-source-constancy, the
radiographic-acceptance bundle, detector-qc and dicom-connectivity; a tube replacement invalidates kvp-accuracy,
hvl, output, leakage and timer-accuracy, so kvp-accuracy's own line turns DUE AFTER SERVICE and the other four
get lines of their own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from xcal.errors import ConfigError
from xcal.program.service import RULES_FILE, invalidated, load_rules

TUBE = ["kvp-accuracy", "hvl", "output", "leakage", "timer-accuracy"]


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _now() -> str:
    """Now, to the millisecond: a run begun earlier in the same second is before the downtime's end."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _record(cli, *extra, room="3", component="tube", work="replaced", down_from="2026-12-01T08:00", down_to=None):
    return cli("service", "record", "--room", room, "--component", component, "--work", work, "--vendor",
                "Example X-Ray Co.", "--engineer", "A. Field", "--down-from", down_from,
                "--down-to", down_to or _now(), "--done", "replaced the insert", "--name", "P. Hys", *extra)


def test_a_tube_replacement_makes_its_tests_due_at_once_with_the_event_named(cli, tmp_path, _isolated_store):
    passed_before = cli("run", "kvp-accuracy", "--room", "3")
    assert passed_before.returncode == 0
    report = tmp_path / "service-report.pdf"
    report.write_bytes(b"%PDF-1.4 field service report FSR-2291\n")
    event = _json(_record(cli, "--part", "XT-150 insert, serial XT-99001", "--part", "seal kit",
                          "--document", str(report), "--json"))
    assert (event["service_id"], event["room"], event["component"], event["work"]) == ("SE-1", "3", "tube",
                                                                                       "replaced")
    assert [i["procedure"] for i in event["invalidates"]] == TUBE
    assert all("AAPM Report 74" in i["source"] for i in event["invalidates"])
    assert event["parts"] == ["XT-150 insert, serial XT-99001", "seal kit"]
    assert event["down_from"] == "2026-12-01T08:00:00+00:00"
    (doc,) = event["documents"]
    digest = hashlib.sha256(b"%PDF-1.4 field service report FSR-2291\n").hexdigest()
    assert (doc["name"], doc["sha256"], doc["bytes"]) == ("service-report.pdf", digest, 39)
    kept = Path(doc["stored"])
    assert kept == _isolated_store.parent / "documents" / digest and kept.read_bytes() == report.read_bytes()

    due = {d["procedure"]: d for d in _json(cli("due", "--room", "3", "--json"))}
    today = dt.date.today().isoformat()
    for proc in TUBE:
        assert (due[proc]["status"], due[proc]["service"], due[proc]["next_due"]) == \
            ("DUE AFTER SERVICE", "SE-1", today), proc
    assert due["kvp-accuracy"]["every"] == "annual" and due["hvl"]["every"] == "after service"
    assert due["kvp-reproducibility"]["service"] is None
    table = cli("due", "--room", "3")
    assert "made due by service event SE-1" in table.stdout

    again = cli("run", "kvp-accuracy", "--room", "3")
    assert again.returncode == 0
    due = {d["procedure"]: d for d in _json(cli("due", "--room", "3", "--json"))}
    assert (due["kvp-accuracy"]["status"], due["kvp-accuracy"]["service"]) == ("OK", None)
    assert due["hvl"]["status"] == "DUE AFTER SERVICE"
    shown = _json(cli("service", "show", "SE-1", "--json"))
    assert shown["still_due"] == ["hvl", "output", "leakage", "timer-accuracy"]
    assert _json(cli("verify", "--json"))["ok"] is True


@pytest.mark.parametrize("component, work, expected", [
    ("collimator", "adjusted", ["collimation", "pbl", "receptor-centering"]),
    ("generator", "repaired", ["kvp-accuracy", "timer-accuracy", "ma-linearity", "mas-linearity",
                               "output-reproducibility"]),
    ("generator", "major-repair", ["radiographic-acceptance"]),
])
def test_the_rules_map_work_on_a_component_to_the_procedures_it_invalidates(component, work, expected):
    assert [i["procedure"] for i in invalidated(load_rules(), component, work)] == expected


def test_every_rule_gives_its_source_and_rationale():
    rules = load_rules()
    assert {r.component for r in rules} >= {"tube", "collimator", "generator", "detector"}
    assert all(r.source.strip() and r.rationale.strip() for r in rules)


def test_acceptance_after_a_major_repair_is_the_bundle_line(cli):
    event = _json(_record(cli, "--json", room="4", component="generator", work="major-repair"))
    assert [i["procedure"] for i in event["invalidates"]] == ["radiographic-acceptance"]
    due = {d["procedure"]: d for d in _json(cli("due", "--room", "4", "--json"))}
    line = due["radiographic-acceptance"]
    assert (line["status"], line["service"], line["every"]) == ("DUE AFTER SERVICE", "SE-1", "after service")


def test_a_pass_after_the_downtime_clears_that_test_only(cli):
    assert _record(cli, down_from="2026-01-02T08:00", down_to="2026-01-02T10:00").returncode == 0
    assert cli("run", "kvp-accuracy", "--room", "3").returncode == 0
    (listed,) = _json(cli("service", "list", "--json"))
    assert listed["still_due"] == ["hvl", "output", "leakage", "timer-accuracy"]
    assert _json(cli("service", "list", "--room", "4", "--json")) == []


@pytest.mark.parametrize("change, message", [
    ({"component": "coffee machine"}, "no post-service rule for 'replaced' work on the 'coffee machine'"),
    ({"down_to": "2026-11-30"}, "the downtime ends (2026-11-30T00:00:00+00:00) before it starts"),
    ({"down_to": "yesterday"}, "--down-to 'yesterday' is not a date and time"),
    ({"room": "99"}, "no room '99'"),
])
def test_bad_service_input_is_refused_naming_the_fix(cli, change, message):
    result = _record(cli, **change)
    assert result.returncode == 2 and message in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr
    assert _json(cli("service", "list", "--json")) == []


def test_a_missing_document_is_refused_and_nothing_is_recorded(cli, tmp_path):
    result = _record(cli, "--document", str(tmp_path / "nowhere.pdf"))
    assert result.returncode == 2 and "cannot read the service document" in result.stderr
    assert _json(cli("service", "list", "--json")) == []


def test_a_rule_naming_an_unknown_procedure_is_refused_with_file_and_line(tmp_path):
    bad = tmp_path / "rules.yaml"
    bad.write_text(RULES_FILE.read_text(encoding="utf-8").replace("[collimation, pbl,", "[colimation, pbl,"),
                   encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules(bad)
    assert f"{bad}:" in str(caught.value) and "colimation" in str(caught.value)
    assert "did you mean collimation?" in str(caught.value)


def test_verify_catches_a_service_event_edited_in_the_store(cli, _isolated_store):
    _record(cli)
    with sqlite3.connect(_isolated_store) as db:
        db.execute("UPDATE entries SET payload = replace(payload, 'A. Field', 'B. Field') "
                   "WHERE kind = 'service_recorded'")
    broken = cli("verify", "--json")
    assert broken.returncode == 1 and "service SE-1 of room 3 recorded" in json.loads(broken.stdout)["reason"]


def test_a_run_begun_in_the_same_second_but_before_the_downtime_ended_does_not_clear_it(tmp_path):
    # The downtime ends at 10:00:00.600; a run begun at 10:00:00.250 is before it (a text comparison of
    # '…:00.250+00:00' with '…:00+00:00' would have taken it as after), one begun at 10:00:00.700 is after.
    from types import SimpleNamespace

    from xcal.program.service import outstanding

    def run(started: str) -> SimpleNamespace:
        return SimpleNamespace(status="complete", verdict="PASS", procedure_id="kvp-accuracy", started_at=started)

    service = {"room": "3", "down_to": "2026-12-05T10:00:00.600+00:00", "invalidates": [{"procedure": "kvp-accuracy"}]}
    before = SimpleNamespace(list_runs=lambda room: [run("2026-12-05T10:00:00.250+00:00")])
    after = SimpleNamespace(list_runs=lambda room: [run("2026-12-05T10:00:00.700+00:00")])
    assert outstanding(before, service) == ["kvp-accuracy"]
    assert outstanding(after, service) == []
