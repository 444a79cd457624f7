"""Export: CSV (runs and readings files) and JSON, with SIMULATED, units, limits and their sources."""

from __future__ import annotations

import csv
import json

import pytest

from xcal.errors import RecordError
from xcal.records.export import READING_COLUMNS, RUN_COLUMNS, export_runs


def _csv(path):
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def two_runs(store, make_run):
    make_run("OLD", started_at="2026-01-01T09:00:00+00:00", values=(80.4, 0.1 + 0.2, 80.2))
    make_run("NEW", room="4", started_at="2026-02-01T09:00:00+00:00", simulated=False, check_value=85.0,
             verdict="FAIL")
    store.correct_reading("OLD", 1, 80.0, "kV", "display misread", "A. Physicist")
    store.sign("NEW", "performed", "A. Tech")
    return store


def test_csv_writes_a_runs_file_and_a_readings_file(two_runs, tmp_path):
    (tmp_path / "out").mkdir()
    written = export_runs(two_runs, tmp_path / "out" / "audit.csv")
    assert written == [tmp_path / "out" / "audit-runs.csv", tmp_path / "out" / "audit-readings.csv"]
    runs = _csv(written[0])
    assert list(runs[0]) == list(RUN_COLUMNS)
    assert [(r["run_id"], r["simulated"], r["room_id"], r["verdict"]) for r in runs] == [
        ("OLD", "SIMULATED", "3", "PASS"), ("NEW", "measured", "4", "FAIL")]
    assert runs[0]["limits"] == "kvp-accuracy: ±5 % (AAPM TG-74 §3) [aapm-74]"
    assert runs[1]["checks"] == "kvp 1: 80 kV 200 mA 100 ms: 85.0 kV, limit ±5 % (AAPM TG-74 §3) FAIL"
    assert "XR-1 serial XR1-004217, calibration C-17 2026-01-15 due 2027-01-15" in runs[0]["instruments"]
    assert runs[1]["signatures"].startswith("performed by A. Tech at ") and runs[1]["signatures"].endswith("(valid)")


def test_csv_readings_keep_units_exact_values_and_corrections(two_runs, tmp_path):
    _, readings_path = export_runs(two_runs, tmp_path / "audit.csv")
    rows = _csv(readings_path)
    assert list(rows[0]) == list(READING_COLUMNS)
    assert [(r["run_id"], r["exposure"], r["value"], r["unit"], r["simulated"]) for r in rows] == [
        ("OLD", "1", "80.4", "kV", "SIMULATED"), ("OLD", "2", "0.30000000000000004", "kV", "SIMULATED"),
        ("OLD", "3", "80.2", "kV", "SIMULATED"), ("NEW", "1", "80.4", "kV", "measured"),
        ("NEW", "2", "79.9", "kV", "measured"), ("NEW", "3", "80.2", "kV", "measured")]
    assert float(rows[1]["value"]) == 0.1 + 0.2
    assert (rows[0]["corrected_value"], rows[0]["corrected_unit"], rows[0]["correction_reason"],
            rows[0]["corrected_by"]) == ("80.0", "kV", "display misread", "A. Physicist")
    assert rows[1]["corrected_value"] == "" and rows[0]["instrument_serial"] == "XR1-004217"


def test_csv_filters_by_room(two_runs, tmp_path):
    runs_path, readings_path = export_runs(two_runs, tmp_path / "room4", room="4")
    assert [r["run_id"] for r in _csv(runs_path)] == ["NEW"]
    assert {r["run_id"] for r in _csv(readings_path)} == {"NEW"}
    assert runs_path.name == "room4-runs.csv"


def test_json_is_one_document_with_runs_readings_checks_and_signatures(two_runs, tmp_path):
    [path] = export_runs(two_runs, tmp_path / "audit.json", fmt="json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format"] == "xcal-records" and doc["room"] is None
    old, new = doc["runs"]
    assert (old["run_id"], old["simulated"], new["run_id"], new["simulated"]) == ("OLD", True, "NEW", False)
    assert [r["value"] for r in old["readings"]] == [80.4, 0.1 + 0.2, 80.2]
    assert old["readings"][0]["unit"] == "kV" and old["readings"][0]["corrected"]["new_value"] == 80.0
    assert old["corrections"][0]["reason"] == "display misread"
    assert new["checks"][0]["limit_text"] == "±5 %" and new["checks"][0]["source"] == "AAPM TG-74 §3"
    assert new["snapshot"]["limits"]["kvp-accuracy"]["source"] == "AAPM TG-74 §3"
    assert [(s["meaning"], s["name"], s["valid"]) for s in new["signatures"]] == [("performed", "A. Tech", True)]
    assert old["signatures"] == []


def test_an_unknown_format_is_refused(two_runs, tmp_path):
    with pytest.raises(RecordError, match="cannot export as 'xlsx'") as err:
        export_runs(two_runs, tmp_path / "a.xlsx", fmt="xlsx")
    assert "csv, json" in err.value.fix
    assert not (tmp_path / "a.xlsx").exists()


def test_export_makes_no_folder_and_writes_nothing_when_refused(two_runs, tmp_path):
    from xcal.errors import ConfigError

    with pytest.raises(ConfigError, match="the folder .*missing does not exist") as err:
        export_runs(two_runs, tmp_path / "missing" / "audit.csv")
    assert err.value.exit_code == 2 and not (tmp_path / "missing").exists()
