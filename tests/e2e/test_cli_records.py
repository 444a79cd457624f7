"""The record commands through the installed `xcal`: verify, sign, correct, trend, export."""

import csv
import json
import sqlite3

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def run_id(xcal):
    result = xcal("run", "kvp-accuracy", "--room", "4", "--json")
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)["run_id"]


def test_verify_passes_then_names_a_tampered_reading(xcal, run_id, _isolated_store):
    ok = xcal("verify", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    db = sqlite3.connect(_isolated_store)
    db.execute("UPDATE readings SET value = value + 1 WHERE reading_id = 3")
    db.commit()
    broken = xcal("verify")
    assert broken.returncode == 1
    assert "BROKEN at entry" in broken.stdout and "differs from the recorded" in broken.stdout


def test_sign_then_correct_makes_the_signature_invalid(xcal, run_id):
    signed = xcal("sign", run_id, "--meaning", "performed", "--name", "T. Tech")
    assert signed.returncode == 0 and "performed by T. Tech" in signed.stdout
    corrected = xcal("correct", run_id, "1", "--value", "59.9 kV", "--reason", "transcription check",
                     "--name", "P. Hys")
    assert corrected.returncode == 0, corrected.stderr
    from xcal.records.store import Store

    with Store() as store:
        (status,) = store.signatures(run_id)
        run = store.get_run(run_id)
    assert status.valid is False and status.name == "T. Tech"
    first = next(r for r in run.readings if r.reading_id == 1)
    assert first.corrected is not None and first.corrected.new_value == 59.9 and first.value != 59.9


def test_correct_needs_a_unit_of_the_reading_s_kind(xcal, run_id):
    result = xcal("correct", run_id, "1", "--value", "59.9", "--reason", "r", "--name", "n")
    assert result.returncode == 2 and "is not of that kind" in result.stderr
    wrong = xcal("correct", run_id, "1", "--value", "59.9 mA", "--reason", "r", "--name", "n")
    assert wrong.returncode == 2 and "is not of that kind" in wrong.stderr


def test_trend_lists_the_check_per_run(xcal, run_id):
    xcal("run", "kvp-accuracy", "--room", "4")
    points = json.loads(xcal("trend", "--room", "4", "--result", "kvp-accuracy", "--json").stdout)
    assert len(points) == 8                                   # 2 runs × 4 stations
    assert [p["verdict"] for p in points if p["where"].startswith("4:")] == ["FAIL", "FAIL"]
    assert all(p["limit_text"] == "±max(5 %, 2 kV)" and p["simulated"] for p in points)


def test_export_writes_runs_and_readings(xcal, run_id, tmp_path):
    result = xcal("export", "-o", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "out-runs.csv", encoding="utf-8") as f:
        runs = list(csv.DictReader(f))
    with open(tmp_path / "out-readings.csv", encoding="utf-8") as f:
        readings = list(csv.DictReader(f))
    assert [r["run_id"] for r in runs] == [run_id] and runs[0]["simulated"] == "SIMULATED"
    assert len(readings) == 60 and {r["unit"] for r in readings if r["quantity"] == "kvp_ppv"} == {"kV"}


def test_report_html_and_pdf(xcal, run_id, tmp_path):
    xcal("sign", run_id, "--meaning", "reviewed", "--name", "P. Hys")
    html = xcal("report", run_id, "-o", str(tmp_path / "r.html"))
    assert html.returncode == 0, html.stderr
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "SIMULATED" in text and "EX-DXR500-SM" in text and "P. Hys" in text and "XR1-004217" in text
    pdf = xcal("report", run_id, "--format", "pdf", "-o", str(tmp_path / "r.pdf"))
    assert pdf.returncode == 0, pdf.stderr
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    missing = xcal("report", "no-such-run")
    assert missing.returncode == 2 and "no run 'no-such-run'" in missing.stderr
