"""The domain corrections end to end through the installed `xcal`: PBL differences without regard to sign, k_Q
from the chamber's certificate in the record, and a run refused before its first exposure when its statistics
need more exposures than it would make."""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

INPUTS = Path(__file__).resolve().parents[2] / "xcal" / "demo" / "inputs"


def test_a_pbl_field_short_in_length_fails_with_exit_1(xcal, tmp_path):
    # 39.5 × 36.0 cm on a 43 × 35 cm receptor at 100 cm: 3.5 % > 3 % and 3.5 % + 1.0 % = 4.5 % > 4 %.
    run = xcal("run", "pbl", "--room", "3", "--inputs", str(INPUTS / "pbl-short.yaml"), "--json",
               env={"XCAL_DB": str(tmp_path / "r.sqlite3")})
    assert run.returncode == 1, run.stderr
    result = json.loads(run.stdout)
    assert result["procedure"]["version"] == "1.2.0"
    assert {c["id"]: (round(c["value"], 6), c["verdict"]) for c in result["checks"]} == {
        "pbl-length": (0.035, "FAIL"), "pbl-width": (0.01, "PASS"), "pbl-sum": (0.045, "FAIL")}


def test_output_records_k_q_and_where_it_came_from(xcal, tmp_path):
    run = xcal("run", "output", "--room", "3", "--inputs", str(INPUTS / "conditions-room-3.yaml"), "--json",
               env={"XCAL_DB": str(tmp_path / "r.sqlite3")})
    assert run.returncode == 0, run.stderr
    (k_q,) = [c for c in json.loads(run.stdout)["checks"] if c["id"] == "k_q"]
    # Halfway between RQR 5 (70 kV, 1.000) and RQR 7 (90 kV, 0.996) of ec-1's certificate: 0.998 at 80 kV.
    assert k_q["value"] == pytest.approx(0.998, rel=1e-12)
    assert "RQR 5" in k_q["source"] and "RQR 7" in k_q["source"] and "SIM-CAL-2026-0118" in k_q["source"]


def test_output_with_one_exposure_per_station_is_refused_before_any_exposure(xcal, site_copy, tmp_path):
    site = site_copy({"    parameters:\n      area-survey:\n":
                      "    parameters:\n      output:\n        repeats: 1\n      area-survey:\n"})
    env = {"XCAL_DB": str(tmp_path / "r.sqlite3")}
    run = xcal("--site", str(site), "run", "output", "--room", "3", "--inputs",
               str(INPUTS / "conditions-room-3.yaml"), env=env)
    assert run.returncode == 2
    text = " ".join(run.stderr.split())
    assert f"{site}:" in text and "output in room 3" in text and "result 'kerma_cv'" in text
    assert "needs at least 10" in text and "21 CFR 1020.31(b)" in text and "repeats" in text
    assert "No runs" in xcal("--site", str(site), "history", env=env).stdout
