"""The contract of docs/exit-codes.rst, checked against the installed `xcal`: exit codes and `--json` keys.

Key sets are compared exactly, so a key added, renamed or dropped fails here until the page says so. The
runs that the read-only checks look at are made once for the module, in a store of its own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

PAGE = Path(__file__).resolve().parents[2] / "docs" / "exit-codes.rst"

RUN = {"run_id", "verdict", "status", "simulated", "procedure", "site", "room", "stations", "checks",
       "entered", "calibration_override", "db", "warnings"}
RUN_PROCEDURE = {"id", "version", "sha256", "title"}
RUN_ROOM = {"id", "name"}
RUN_STATION = {"index", "setting", "readings", "results"}
RUN_CHECK = {"id", "title", "station", "where", "setting", "value", "unit", "nominal", "deviation",
             "deviation_percent", "allowed", "allowed_unit", "tolerance", "source", "verification", "limit_set",
             "limit_set_title", "warn_fraction", "limit", "limit_name", "verdict"}
BUNDLE = {"bundle", "bundle_id", "verdict", "members", "runs"}
BUNDLE_INFO = {"id", "version", "title", "sha256"}
BUNDLE_MEMBER = {"procedure", "run_id", "status", "verdict"}
HISTORY = {"run_id", "procedure_id", "procedure_version", "procedure_sha256", "procedure_title", "site", "room_id",
           "room_name", "operator", "simulated", "status", "verdict", "started_at", "finished_at",
           "software_version", "status_note", "corrections"}
SHOW_RUN = HISTORY | {"snapshot", "readings", "checks"}
SHOW_BUNDLE = {"bundle_id", "bundle", "bundle_version", "bundle_sha256", "bundle_title", "site", "room_id",
               "room_name", "operator", "simulated", "software_version", "snapshot", "started_at", "status",
               "verdict", "finished_at", "status_note", "members"}
SNAPSHOT = {"site", "room", "procedure", "parameters", "station_numbers", "station_values", "instruments", "limits",
            "calibration_override"}
SNAPSHOT_SITE = {"name", "file", "sha256", "demo", "facility"}
SNAPSHOT_ROOM = {"id", "name", "modality", "equipment", "limit_sets"}
SNAPSHOT_PROCEDURE = {"id", "version", "sha256", "file"}
SNAPSHOT_INSTRUMENT = {"id", "make", "model", "serial", "driver", "resource", "simulated", "capabilities",
                       "calibration", "reported_identity", "options"}
SNAPSHOT_CALIBRATION = {"certificate", "laboratory", "date", "due", "note"}
SNAPSHOT_IDENTITY = {"make", "model", "serial", "firmware"}
SNAPSHOT_LIMIT = {"name", "tolerance", "source", "verification", "limit_set", "limit_set_title", "warn_fraction",
                  "minimum_exposures"}
READING = {"reading_id", "exposure", "station", "repeat", "role", "instrument_id", "quantity", "value", "unit",
           "taken_at", "data", "corrected"}
STORED_CHECK = {"check_id", "title", "station", "setting", "value", "nominal", "unit", "deviation", "allowed",
                "limit_name", "limit_text", "limit_set", "source", "verdict"}
CORRECTION = {"correction_id", "run_id", "reading_id", "reading_seq", "original_value", "original_unit",
              "new_value", "unit", "reason", "person", "at", "supersedes"}
VERIFY = {"ok", "entries", "first_broken", "reason", "head"}
TREND = {"run_id", "started_at", "where", "value", "unit", "limit_text", "source", "verdict", "simulated"}
DRIVER = {"name", "capabilities", "protocol_status", "transports", "evidence"}
EVIDENCE = {"driver", "level", "sources", "title", "kind", "where", "commands", "command", "note", "disagreements"}
DUE = {"room", "procedure", "item", "every", "last_run", "last_date", "last_verdict", "next_due", "status", "open_run",
       "action", "service", "instruments"}
SITE_ROOM = {"id", "name", "modality", "equipment", "limit_sets", "instruments"}
SITE_INSTRUMENT = {"id", "make", "model", "serial", "driver", "resource", "capabilities", "simulated", "rooms",
                   "calibration", "days_left", "status"}
SITE_INSTRUMENT_ROOM = {"room", "role"}
SITE_CALIBRATION = {"certificate", "laboratory", "date", "due"}
DUE_INSTRUMENT = {"id", "calibration_due", "status"}
ACTION = {"action_id", "run_id", "room", "procedure", "status", "assignee", "due", "opened_at", "opened_by", "failed",
          "progress", "resolution", "retests", "verified_by", "verified_at", "history"}
ACTION_FAILED = {"check_id", "title", "setting", "value", "unit", "nominal", "deviation", "allowed", "limit", "source"}
ACTION_PARTS = {"at", "by", "note", "done", "retest_run", "supersedes", "reason", "run_id", "verdict", "failed", "seq",
                "kind", "text"}
SERVICE = {"service_id", "room", "component", "work", "vendor", "engineer", "down_from", "down_to", "done", "parts",
           "documents", "invalidates", "by", "recorded_at"}
SERVICE_PARTS = {"name", "sha256", "bytes", "stored", "procedure", "source"}
SERVICE_RULE = {"component", "work", "invalidates", "source", "rationale"}

ACCOUNT = {"username", "full_name", "role", "active", "permissions", "temporary_password"}
PART = {"part", "description", "received", "used", "on_hand", "last_used", "minimum", "low"}
PART_LAST_USE = {"at", "room", "service", "by"}
PART_RECEIPT = {"at", "kind", "part", "quantity", "by", "description", "minimum"}
PART_USE = {"at", "kind", "part", "quantity", "by", "room", "service"}
INCIDENT = {"incident_id", "date", "room", "kind", "what", "immediate_actions", "root_cause", "actions", "people",
            "notification_level", "notification", "notification_due", "notification_deadline",
            "notification_late", "recorded_at", "by", "history"}
INCIDENT_PERSON = {"person", "doses"}
INCIDENT_DOSES = {"tede", "lens", "shallow"}
INCIDENT_LEVEL = {"level", "title", "section", "asks", "within", "within_hours", "reached_by"}
INCIDENT_REACHED = {"person", "quantity", "dose_msv", "threshold", "section", "verified"}
INCIDENT_NOTIFICATION = {"to", "at", "reference"}
INCIDENT_HISTORY = {"seq", "at", "by", "text"}
BADGE = {"badge", "person", "location", "by", "declared_pregnant", "declared_on", "pregnancy_ended_on", "issued_at"}
DOSE_ROW = {"dose_id", "badge", "person", "location", "period_start", "period_end", "doses", "source", "supersedes",
            "reason", "by"}
DOSE_ROW_DOSES = {"tede", "shallow", "lens"}
DOSE_ROW_SOURCE = {"file", "sha256", "line"}
DOSE_LIST = {"dose_id", "person", "badge", "location", "period_start", "period_end", "hp10_mSv", "hp007_mSv",
             "lens_mSv", "simulated"}
DOSE_REPORT = {"year", "quarter", "anonymous", "flagged", "limits", "people"}
DOSE_REPORT_LIMITS = {"annual", "pregnancy", "investigation_levels"}
DOSE_REPORT_LIMIT = {"msv", "text", "section", "verified"}
DOSE_REPORT_LEVELS = {"level_I_percent", "level_II_percent", "per", "source", "verified", "set_in_site_file"}
DOSE_REPORT_PERSON = {"person", "badges", "simulated", "annual", "quarters", "pregnancy", "flags"}
DOSE_REPORT_ANNUAL = {"dose_msv", "limit_msv", "section", "fraction"}
DOSE_REPORT_QUARTER = {"dose_msv", "level"}
DOSE_REPORT_PREGNANCY = {"declared_on", "ended_on", "dose_msv", "limit_msv", "section"}
DOSE_REPORT_FLAG = {"level", "quantity", "period", "dose_msv", "threshold_msv", "section", "asks"}
KPI = {"start", "end", "as_of", "room", "qc_due", "qc_on_time", "qc_on_time_rate", "qc_lines", "actions_open",
       "actions_overdue", "open_action_ids", "overdue_action_ids", "actions_closed", "mean_days_to_close",
       "downtime_hours", "pm_compliance", "calibration_due", "calibration_overdue"}
KPI_QC_LINE = {"room", "procedure", "due", "done", "on_time"}
KPI_PM = {"due", "on_time", "rate"}
KPI_CALIBRATION = {"instrument", "due", "days_left", "rooms"}
DICOM_STEP = {"node", "step", "ok", "ms", "message", "fix"}
DETECTOR = {"source", "sop_class", "exposure_index", "target_exposure_index", "deviation_index", "offset",
            "offset_from", "snr", "global_nonuniformity", "local_nonuniformity", "grid", "defective_pixels",
            "dead_rows", "dead_columns", "ei_error", "expected_exposure_index"}
RDSR = {"sop_instance_uid", "study_instance_uid", "station_name", "device_serial", "manufacturer", "content_datetime",
        "source", "simulated", "dap_total_gy_m2", "rp_total_mgy", "fluoro_time_s", "events", "event_list",
        "compared_with", "recorded"}
RDSR_EVENT = {"uid", "started", "type", "dap_gy_m2", "rp_air_kerma_mgy", "kvp_kv", "tube_current_ma",
              "exposure_time_ms", "mas"}
RDSR_COMPARED = {"run_id", "procedure", "measured_dap_gy_m2", "ratio"}
WORKLIST = {"step_id", "date", "time", "modality", "station_ae", "station_name", "description", "accession",
            "patient_id", "requested_procedure"}

DOCUMENTED = {
    "users list": ACCOUNT,
    "run": RUN | RUN_PROCEDURE | RUN_ROOM | RUN_STATION | RUN_CHECK | BUNDLE | BUNDLE_INFO | BUNDLE_MEMBER,
    "history": HISTORY,
    "show-run": SHOW_RUN | SNAPSHOT | SNAPSHOT_SITE | SNAPSHOT_ROOM | SNAPSHOT_PROCEDURE | SNAPSHOT_INSTRUMENT
    | SNAPSHOT_CALIBRATION | SNAPSHOT_IDENTITY | SNAPSHOT_LIMIT | READING | STORED_CHECK | CORRECTION
    | SHOW_BUNDLE | BUNDLE_MEMBER,
    "verify": VERIFY,
    "trend": TREND,
    "instruments list": DRIVER,
    "instruments evidence": EVIDENCE,
    "due": DUE | DUE_INSTRUMENT,
    "site rooms": SITE_ROOM,
    "site instruments": SITE_INSTRUMENT | SITE_INSTRUMENT_ROOM | SITE_CALIBRATION,
    "action show": ACTION | ACTION_FAILED | ACTION_PARTS,
    "service record": SERVICE | SERVICE_PARTS,
    "service list": {"still_due"},
    "service rules": SERVICE_RULE,
    "parts receive": PART | PART_LAST_USE,
    "parts show": PART_RECEIPT | PART_USE,
    "incident record": INCIDENT | INCIDENT_PERSON | INCIDENT_DOSES | INCIDENT_LEVEL | INCIDENT_REACHED
    | INCIDENT_NOTIFICATION | INCIDENT_HISTORY,
    "dosimetry badge": BADGE,
    "dosimetry import": DOSE_ROW | DOSE_ROW_DOSES | DOSE_ROW_SOURCE,
    "dosimetry record": {"source", "entered"},
    "dosimetry list": DOSE_LIST,
    "dosimetry report": DOSE_REPORT | DOSE_REPORT_LIMITS | DOSE_REPORT_LIMIT | DOSE_REPORT_LEVELS
    | DOSE_REPORT_PERSON | DOSE_REPORT_ANNUAL | DOSE_REPORT_QUARTER | DOSE_REPORT_PREGNANCY | DOSE_REPORT_FLAG,
    "kpi": KPI | KPI_QC_LINE | KPI_PM | KPI_CALIBRATION,
    "dicom check": DICOM_STEP,
    "dicom detector": DETECTOR,
    "dicom dose": RDSR | RDSR_EVENT | RDSR_COMPARED,
    "dicom worklist": WORKLIST,
    "pm log": {"pm_id", "room", "component", "date", "done", "engineer", "vendor", "parts", "by", "recorded_at"},
}

SILENT_METER = "      seed: 3\n"


def _sections() -> dict[str, str]:
    """The page's text under each ``xcal COMMAND`` heading, by command."""
    text = PAGE.read_text(encoding="utf-8")
    parts = re.split(r"^``xcal ([a-z][a-z -]*)``\n-+\n", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _literal_words(text: str) -> set[str]:
    return {word for literal in re.findall(r"``(.+?)``", text)
            for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", literal)}


def _commands() -> set[str]:
    """Every command of the installed command line, sub-commands as `group command`."""
    import click

    from xcal.cli import main

    names = set()
    for name, command in main.commands.items():
        if isinstance(command, click.Group):
            names |= {f"{name} {sub}" for sub in command.commands}
        else:
            names.add(name)
    return names


def _json(result: subprocess.CompletedProcess) -> Any:
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def records(xcal_exe: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store with a passing run (room 3) and a failing run (room 4, corrected and signed), and their JSON."""
    db = tmp_path_factory.mktemp("contract") / "records.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("XCAL_SITE", "XCAL_DB")}

    def xcal(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([xcal_exe, "--db", str(db), *args], capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL, env=env)

    passed = xcal("run", "kvp-accuracy", "--room", "3", "--json")
    failed = xcal("run", "kvp-accuracy", "--room", "4", "--json")
    run_id = json.loads(failed.stdout)["run_id"]
    readings = json.loads(xcal("show-run", run_id, "--json").stdout)["readings"]
    reading_id = str(next(r["reading_id"] for r in readings if r["quantity"] == "kvp_ppv"))
    corrected = xcal("correct", run_id, reading_id, "--value", "59.9 kV", "--reason", "transcription",
                     "--name", "P. Hys")
    signed = xcal("sign", run_id, "--meaning", "reviewed", "--name", "P. Hys")
    assert corrected.returncode == 0 and signed.returncode == 0, corrected.stderr + signed.stderr
    return {"db": str(db), "passed": passed, "failed": failed, "corrected_reading": int(reading_id)}


def test_every_command_has_its_section_on_the_page():
    assert set(_sections()) == _commands()


@pytest.mark.parametrize("command", sorted(DOCUMENTED))
def test_every_json_key_is_named_on_the_page(command):
    missing = DOCUMENTED[command] - _literal_words(_sections()[command])
    assert not missing, f"xcal {command}: {sorted(missing)} not documented"


def test_run_json_of_a_passing_run(records):
    result = records["passed"]
    assert result.returncode == 0, result.stderr
    run = _json(result)
    assert set(run) == RUN
    assert run["verdict"] == "PASS" and run["status"] == "complete" and run["simulated"] is True
    assert set(run["procedure"]) == RUN_PROCEDURE and run["procedure"]["id"] == "kvp-accuracy"
    assert set(run["room"]) == RUN_ROOM and run["room"]["id"] == "3"
    assert run["calibration_override"] is None and run["db"] == records["db"] and run["warnings"] == []
    assert [set(s) for s in run["stations"]] == [RUN_STATION] * 4
    assert set(run["stations"][0]["readings"][0]["kvp_meter"]["kvp_ppv"]) == {"value", "unit"}
    assert "waveform" not in run["stations"][0]["readings"][0]["kvp_meter"]
    assert [set(c) for c in run["checks"]] == [RUN_CHECK] * 4
    check = run["checks"][3]
    assert (check["where"], check["station"], check["unit"], check["nominal"]) == ("4", 4, "kV", 120.0)
    assert check["limit"] == check["tolerance"] == "±max(5 %, 2 kV)" and check["limit_name"] == "kvp-accuracy"
    assert check["verification"] == "fictional" and check["warn_fraction"] == 0.8


def test_run_json_of_a_failing_run_exits_1(records):
    result = records["failed"]
    assert result.returncode == 1, result.stderr
    run = _json(result)
    assert set(run) == RUN and run["verdict"] == "FAIL"
    assert [(c["where"], c["verdict"]) for c in run["checks"]] == [("1", "PASS"), ("2", "PASS"), ("3", "PASS"),
                                                                  ("4", "FAIL")]
    assert "Using the built-in demo site" in result.stderr and "VERDICT: FAIL" in result.stderr


def test_run_json_of_a_bundle_and_of_a_run_level_check(xcal, tmp_path):
    bundle = tmp_path / "hvl-only.yaml"
    bundle.write_text("kind: bundle\nid: hvl-only\nversion: 1.0.0\ntitle: HVL alone\nprocedures: [hvl]\n",
                      encoding="utf-8")
    db = str(tmp_path / "bundle.sqlite3")
    result = xcal("--db", db, "run", str(bundle), "--room", "3", "--json")
    assert result.returncode == 0, result.stderr
    document = _json(result)
    shown = _json(xcal("--db", db, "show-run", document["bundle_id"], "--json"))
    assert set(shown) == SHOW_BUNDLE and [set(m) for m in shown["members"]] == [BUNDLE_MEMBER]
    assert shown["verdict"] == "PASS" and shown["members"][0]["run_id"] == document["runs"][0]["run_id"]
    assert set(document) == BUNDLE and set(document["bundle"]) == BUNDLE_INFO
    assert [set(m) for m in document["members"]] == [BUNDLE_MEMBER]
    (run,) = document["runs"]
    assert set(run) == RUN and document["verdict"] == run["verdict"] == "PASS"
    (check,) = run["checks"]
    assert set(check) == RUN_CHECK
    assert (check["where"], check["station"], check["setting"], check["nominal"], check["deviation"]) == \
        ("run", None, None, None, None)
    assert check["allowed_unit"] == "mm" and check["limit"] == "≥ table hvl-minimum-c"


def test_history_json(records, xcal):
    result = xcal("--db", records["db"], "history", "--json")
    assert result.returncode == 0, result.stderr
    runs = _json(result)
    assert [set(r) for r in runs] == [HISTORY] * 2
    assert [r["room_id"] for r in runs] == ["4", "3"]
    assert [r["verdict"] for r in runs] == ["FAIL", "PASS"]
    assert all(r["status"] == "complete" for r in runs)
    # The room 4 run was corrected once (59.9 kV, "transcription"); the room 3 run never.
    (correction,) = runs[0]["corrections"]
    assert (correction["reading_id"], correction["new_value"], correction["reason"]) == \
        (records["corrected_reading"], 59.9, "transcription")
    assert runs[1]["corrections"] == []


def test_history_of_an_empty_store_is_an_empty_list(xcal):
    result = xcal("history", "--json")
    assert result.returncode == 0 and _json(result) == []


def test_show_run_json(records, xcal):
    run_id = json.loads(records["failed"].stdout)["run_id"]
    result = xcal("--db", records["db"], "show-run", run_id, "--json")
    assert result.returncode == 0, result.stderr
    run = _json(result)
    assert set(run) == SHOW_RUN
    snapshot = run["snapshot"]
    assert set(snapshot) == SNAPSHOT
    assert set(snapshot["site"]) == SNAPSHOT_SITE and set(snapshot["room"]) == SNAPSHOT_ROOM
    assert set(snapshot["procedure"]) == SNAPSHOT_PROCEDURE
    instrument = snapshot["instruments"]["kvp_meter"]
    assert set(instrument) == SNAPSHOT_INSTRUMENT
    assert set(instrument["calibration"]) == SNAPSHOT_CALIBRATION
    assert set(instrument["reported_identity"]) == SNAPSHOT_IDENTITY
    assert set(snapshot["limits"]["kvp-accuracy"]) == SNAPSHOT_LIMIT
    assert len(run["readings"]) == 60 and all(set(r) == READING for r in run["readings"])
    waveform = next(r for r in run["readings"] if r["quantity"] == "waveform")
    assert waveform["value"] is None and set(waveform["data"]) == {"interval", "interval_unit", "samples"}
    assert [set(c) for c in run["checks"]] == [STORED_CHECK] * 4
    assert run["checks"][3]["setting"] == "4: 120 kV 200 mA 50 ms"
    (correction,) = run["corrections"]
    assert set(correction) == CORRECTION and correction["new_value"] == 59.9
    first = next(r for r in run["readings"] if r["reading_id"] == records["corrected_reading"])
    assert set(first["corrected"]) == CORRECTION


def test_show_run_of_an_unknown_run_exits_2(records, xcal):
    result = xcal("--db", records["db"], "show-run", "20000101-000000-0000", "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: no run '20000101-000000-0000'") and "fix:" in result.stderr


def test_verify_json_ok_then_broken(records, xcal, tmp_path):
    ok = xcal("--db", records["db"], "verify", "--json")
    assert ok.returncode == 0, ok.stderr
    report = _json(ok)
    assert set(report) == VERIFY and report["ok"] is True and report["first_broken"] is None
    assert report["entries"] > 0 and len(report["head"]) == 64
    tampered = tmp_path / "tampered.sqlite3"
    shutil.copy(records["db"], tampered)
    with sqlite3.connect(tampered) as db:
        db.execute("UPDATE readings SET value = value + 1 WHERE reading_id = 3")
    broken = xcal("--db", str(tampered), "verify", "--json")
    assert broken.returncode == 1, broken.stderr
    report = _json(broken)
    assert set(report) == VERIFY and report["ok"] is False and isinstance(report["first_broken"], int)


def test_trend_json(records, xcal):
    result = xcal("--db", records["db"], "trend", "--room", "4", "--result", "kvp-accuracy", "--json")
    assert result.returncode == 0, result.stderr
    points = _json(result)
    assert [set(p) for p in points] == [TREND] * 4
    assert points[3]["where"] == "4: 120 kV 200 mA 50 ms" and points[3]["verdict"] == "FAIL"
    nothing = xcal("--db", records["db"], "trend", "--room", "3", "--result", "no-such-check", "--json")
    assert nothing.returncode == 0 and _json(nothing) == []


def test_instruments_list_json(xcal):
    result = xcal("instruments", "list", "--json")
    assert result.returncode == 0, result.stderr
    drivers = _json(result)
    assert all(set(d) == DRIVER for d in drivers)
    names = [d["name"] for d in drivers]
    assert names == sorted(names) and {"ptw-unidos", "gq-gmc", "manual", "declarative"} <= set(names)
    unidos = next(d for d in drivers if d["name"] == "ptw-unidos")
    assert unidos["protocol_status"] == "PUBLIC" and unidos["transports"] == ["tcp", "serial"]
    assert unidos["evidence"] == "HARDWARE-TESTED"
    assert next(d for d in drivers if d["name"] == "manual")["evidence"] == "—"


def test_instruments_evidence_json(xcal):
    evidence = _json(xcal("instruments", "evidence", "ptw-unidos", "--json"))
    assert set(evidence) == {"driver", "level", "sources", "commands", "disagreements"}
    assert all(set(s) == {"title", "kind", "where"} for s in evidence["sources"].values())
    assert all(set(c) == {"command", "sources", "level", "note"} for c in evidence["commands"])
    tok = next(c for c in evidence["commands"] if c["command"] == "TOK")
    assert tok["level"] == "HARDWARE-TESTED"
    manual = xcal("instruments", "evidence", "manual")
    assert manual.returncode == 2 and "no evidence table" in manual.stderr


def test_due_json(xcal):
    result = xcal("due", "--json")
    assert result.returncode == 0, result.stderr
    items = _json(result)
    assert items and all(set(i) == DUE for i in items)
    assert all(set(a) == DUE_INSTRUMENT for i in items for a in i["instruments"])


def test_site_rooms_and_site_instruments_json(xcal):
    rooms = _json(xcal("site", "rooms", "--json"))
    assert rooms and all(set(r) == SITE_ROOM for r in rooms)
    instruments = _json(xcal("site", "instruments", "--json"))
    assert instruments and all(set(i) == SITE_INSTRUMENT for i in instruments)
    assert all(set(i["calibration"]) == SITE_CALIBRATION for i in instruments)
    assert all(set(r) == SITE_INSTRUMENT_ROOM for i in instruments for r in i["rooms"])


def test_an_unknown_room_exits_2_with_nothing_on_stdout(xcal):
    result = xcal("run", "kvp-accuracy", "--room", "99", "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert "no room '99'" in result.stderr and "\n  fix: " in result.stderr and "Traceback" not in result.stderr


def test_a_malformed_file_exits_2_naming_file_line_and_column(xcal, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: procedure\nid: broken\n  version: [\n", encoding="utf-8")
    for args in (("validate", str(bad)), ("run", str(bad), "--room", "3", "--json")):
        result = xcal(*args)
        assert result.returncode == 2, args
        assert f"{bad}:3:" in result.stderr and result.stdout == ""


def test_a_usage_error_exits_2(xcal):
    result = xcal("run", "kvp-accuracy", "--room", "3", "--no-such-option")
    assert result.returncode == 2 and "No such option" in result.stderr


def test_an_expired_calibration_exits_2_and_records_nothing(xcal, site_copy):
    site = site_copy({"date: 2026-01-15": "date: 2024-06-30", "due: 2099-12-31": "due: 2025-06-30"})
    result = xcal("--site", str(site), "run", "kvp-accuracy", "--room", "3", "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert "--allow-expired-calibration" in result.stderr
    assert _json(xcal("history", "--json")) == []


def test_a_silent_meter_exits_3_and_leaves_an_incomplete_run(xcal, site_copy):
    site = site_copy({"    timeout: 2 s": "    timeout: 0.5 s",
                      SILENT_METER: SILENT_METER + "      wire_faults:\n"
                                    "        - {instrument: kvp-1, kind: silence, command: read, after: 2}\n"})
    result = xcal("--site", str(site), "run", "kvp-accuracy", "--room", "3", "--json")
    assert result.returncode == 3 and result.stdout == ""
    assert "did not answer" in result.stderr and "\n  fix: " in result.stderr
    (run,) = _json(xcal("history", "--json"))
    assert run["status"] == "incomplete" and run["verdict"] is None and "did not answer" in run["status_note"]


def test_run_json_lists_the_entered_values(xcal):
    inputs = Path(__file__).resolve().parents[2] / "xcal" / "demo" / "inputs" / "collimation-misaligned.yaml"
    result = xcal("run", "collimation", "--room", "3", "--inputs", str(inputs), "--json")
    run = _json(result)
    assert set(run) == RUN
    # The four edge offsets of the inputs file, in the unit the file gives them.
    import yaml

    given = yaml.safe_load(inputs.read_text(encoding="utf-8"))["values"]
    assert set(run["entered"]) == {"left", "right", "top", "bottom"} == set(given)
    for name, text in given.items():
        number, unit = str(text).split()
        assert run["entered"][name] == {"value": float(number), "unit": unit}


@pytest.fixture(scope="module")
def program(xcal_exe: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The `--json` documents of the program commands, each made once in a store of its own: parts, incidents,
    badges and doses, accounts."""
    folder = tmp_path_factory.mktemp("program")
    env = {k: v for k, v in os.environ.items() if k not in ("XCAL_SITE", "XCAL_DB")}
    doses = folder / "doses.csv"
    doses.write_text("person,badge,location,period_start,period_end,hp10_mSv,hp007_mSv,lens_mSv\n"
                     "J. Ray,B-1001,collar,2026-01-01,2026-01-31,0.12,0.15,0.13\n", encoding="utf-8")
    groups = [{
        "parts receive": ("parts", "receive", "--part", "FIL-20", "--quantity", "3", "--minimum", "2",
                          "--name", "Stores"),
        "parts use": ("parts", "use", "--part", "FIL-20", "--quantity", "2", "--room", "3", "--name", "B. Eng"),
        "parts low": ("parts", "low"),
        "parts show": ("parts", "show", "FIL-20"),
    }, {
        # 300 mSv TEDE reaches 10 CFR 20.2202(a)(1)(i)'s 25 rem: the notification level and who reached it show.
        "incident record": ("incident", "record", "--date", "2026-11-03", "--room", "3", "--kind", "radiation",
                            "--what", "tube stuck on", "--immediate", "mains off", "--person",
                            "Pat Doe; tede=300 mSv", "--notified", "NRC Operations Center", "--notified-at",
                            "2026-11-03T12:00", "--notified-ref", "EN-1", "--name", "RSO"),
        "incident update": ("incident", "update", "IN-1", "--reason", "cause found", "--root-cause", "relay",
                            "--name", "RSO"),
        "incident list": ("incident", "list"),
        "users add": ("users", "add", "ann", "--name", "Ann Admin", "--role", "admin", "--by", "setup"),
        "users list": ("users", "list"),
    }, {
        "dosimetry badge": ("dosimetry", "badge", "--badge", "B-12", "--person", "Pat Doe", "--location",
                            "whole-body", "--declared-pregnant", "2026-10-01", "--name", "RSO"),
        # 3 mSv in Q4 passes the demo site's ALARA level I (10 % of a quarter of 50 mSv, 1.25 mSv): one flag.
        "dosimetry record": ("dosimetry", "record", "--badge", "B-12", "--from", "2026-11-01", "--to", "2026-11-30",
                             "--hp10", "3 mSv", "--name", "RSO"),
        "dosimetry import": ("dosimetry", "import", str(doses), "--name", "RSO"),
        "dosimetry list": ("dosimetry", "list", "--year", "2026"),
        "dosimetry report": ("dosimetry", "report", "--year", "2026"),
    }]

    def run(number: int, steps: dict[str, tuple[str, ...]]) -> dict[str, Any]:
        """One group's commands in order, in a store of the group's own (the groups run at once)."""
        db = folder / f"records-{number}.sqlite3"
        found: dict[str, Any] = {}
        for name, args in steps.items():
            secret = ("--password-stdin",) if name == "users add" else ()
            result = subprocess.run([xcal_exe, "--db", str(db), *args, *secret, "--json"], capture_output=True,
                                    text=True, timeout=120, input="correct horse battery\n", env=env)
            assert result.returncode == 0, f"xcal {name}: {result.stderr}"
            found[name] = json.loads(result.stdout)
        return found

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(groups)) as pool:
        return {k: v for found in pool.map(run, range(len(groups)), groups) for k, v in found.items()}


def test_parts_json(program):
    assert set(program["parts receive"]) == PART and program["parts receive"]["last_used"] is None
    for name in ("parts use", "parts low"):
        line = program[name][0] if isinstance(program[name], list) else program[name]
        assert set(line) == PART and set(line["last_used"]) == PART_LAST_USE, name
    # 3 received, 2 used: 1 on hand, fewer than the minimum of 2.
    assert [(p["on_hand"], p["low"]) for p in program["parts low"]] == [(1, True)]
    receipt, use = program["parts show"]
    assert set(receipt) == PART_RECEIPT and set(use) == PART_USE
    assert (receipt["kind"], use["kind"]) == ("received", "used")


def test_incident_json(program):
    incidents = [program["incident record"], program["incident update"], *program["incident list"]]
    assert [set(i) for i in incidents] == [INCIDENT] * 3
    incident = program["incident update"]
    [person] = incident["people"]
    assert set(person) == INCIDENT_PERSON and set(person["doses"]) == INCIDENT_DOSES
    level = incident["notification_level"]
    assert set(level) == INCIDENT_LEVEL and level["level"] == "immediate"
    assert [set(r) for r in level["reached_by"]] == [INCIDENT_REACHED]
    assert set(incident["notification"]) == INCIDENT_NOTIFICATION
    assert [set(h) for h in incident["history"]] == [INCIDENT_HISTORY] * 2


def test_dosimetry_json(program):
    assert set(program["dosimetry badge"]) == BADGE
    recorded = program["dosimetry record"]
    assert set(recorded) == DOSE_ROW and recorded["source"] == {"entered": True}
    [imported] = program["dosimetry import"]
    assert set(imported) == DOSE_ROW and set(imported["doses"]) == DOSE_ROW_DOSES
    assert set(imported["source"]) == DOSE_ROW_SOURCE
    assert [set(r) for r in program["dosimetry list"]] == [DOSE_LIST] * 2
    report = program["dosimetry report"]
    assert set(report) == DOSE_REPORT and set(report["limits"]) == DOSE_REPORT_LIMITS
    limits = report["limits"]
    assert all(set(limit) == DOSE_REPORT_LIMIT for limit in [*limits["annual"].values(), limits["pregnancy"]])
    assert set(limits["investigation_levels"]) == DOSE_REPORT_LEVELS
    people = {p["person"]: p for p in report["people"]}
    assert all(set(p) == DOSE_REPORT_PERSON for p in people.values())
    pat = people["Pat Doe"]
    assert all(set(a) == DOSE_REPORT_ANNUAL for a in pat["annual"].values())
    assert all(set(q) == DOSE_REPORT_QUARTER for quarter in pat["quarters"].values() for q in quarter.values())
    assert set(pat["pregnancy"]) == DOSE_REPORT_PREGNANCY and people["J. Ray"]["pregnancy"] is None
    assert [set(f) for f in pat["flags"]] == [DOSE_REPORT_FLAG] and pat["flags"][0]["level"] == "I"


def test_users_json(program):
    assert set(program["users add"]) == ACCOUNT and program["users add"]["permissions"] == ["view", "act", "sign",
                                                                                            "admin"]
    assert [set(a) for a in program["users list"]] == [ACCOUNT]


def test_kpi_json(xcal, site_copy, tmp_path):
    import datetime as dt

    due = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    site = site_copy({"due: 2099-12-31": f"due: {due}"})
    db = str(tmp_path / "kpi.sqlite3")
    logged = xcal("--site", str(site), "--db", db, "pm", "log", "--room", "4", "--component", "tube", "--done",
                  "checked", "--engineer", "B. Eng", "--vendor", "Acme", "--date", "2026-01-10", "--name", "B. Eng")
    assert logged.returncode == 0, logged.stderr
    result = xcal("--site", str(site), "--db", db, "kpi", "--from", "2026-01-01", "--json")
    assert result.returncode == 0, result.stderr
    kpi = _json(result)
    assert set(kpi) == KPI and kpi["qc_lines"] and all(set(line) == KPI_QC_LINE for line in kpi["qc_lines"])
    months = [m for room in kpi["pm_compliance"].values() for m in room.values()]
    assert months and all(set(m) == KPI_PM for m in months)
    assert kpi["calibration_due"] and all(set(c) == KPI_CALIBRATION for c in kpi["calibration_due"])


def test_dicom_json(xcal_exe, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("XCAL_SITE", "XCAL_DB")}

    def start(*commands: tuple[str, ...]) -> subprocess.Popen:
        line = " && ".join(" ".join(f"'{a}'" for a in (xcal_exe, *c)) for c in commands)
        return subprocess.Popen(["sh", "-c", line], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, env=env)

    flat, dose = tmp_path / "flat.dcm", tmp_path / "dose.dcm"
    running = {   # at once: check and worklist each wait on a simulated node
        "check": start(("dicom", "check", "--room", "3", "--json")),
        "worklist": start(("dicom", "worklist", "--room", "3", "--json")),
        "detector": start(("dicom", "simulate-detector", "-o", str(flat), "--air-kerma", "2.5 µGy"),
                          ("dicom", "detector", str(flat), "--air-kerma", "2.5 µGy", "--json")),
        "dose": start(("dicom", "simulate-dose", "-o", str(dose), "--room", "10"),
                      ("--db", str(tmp_path / "dose.sqlite3"), "dicom", "dose", str(dose), "--record", "--json")),
    }
    found = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"xcal dicom {name}: {err}"
        found[name] = json.loads(out[out.index("{" if name == "detector" else "["):])
    assert found["check"] and all(set(step) == DICOM_STEP for step in found["check"])
    assert found["worklist"] and all(set(step) == WORKLIST for step in found["worklist"])
    assert set(found["detector"]) == DETECTOR
    [report] = found["dose"]
    assert set(report) == RDSR - {"compared_with"} and report["recorded"] is True      # no --run: no comparison
    assert [set(e) for e in report["event_list"]] == [RDSR_EVENT]
