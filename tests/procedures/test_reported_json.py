"""A run's JSON form holds the values a procedure reports without a limit."""

from __future__ import annotations

import json
from pathlib import Path

from xcal.demo.wiring import simulated_room
from xcal.procedures.loader import load_inputs
from xcal.procedures.session import plan_run, run_plan

INPUTS = Path(__file__).parents[2] / "xcal" / "demo" / "inputs"


def test_reported_values_appear_in_the_json_with_no_allowance(tmp_path):
    # Room 10 at 22 °C and 101.325 kPa, the chamber's reference conditions: k_TP = 1 exactly.
    result = run_plan(plan_run("fluoro-display-accuracy", 10), db=tmp_path / "r.sqlite3",
                      inputs=load_inputs(INPUTS / "fluoro-display-good.yaml"), simulated_room=simulated_room)
    checks = {c["id"]: c for c in json.loads(json.dumps(result.to_dict()))["checks"]}
    k_tp = checks["k_tp"]
    assert k_tp["verdict"] == "INFO" and k_tp["allowed"] is None and k_tp["allowed_unit"] is None
    assert k_tp["value"] == 1.0
    assert checks["fluoro-display-accuracy"]["allowed_unit"] == "mGy/min"
