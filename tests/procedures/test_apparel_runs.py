"""apron-inspection on the garments of the demo inventory: each judged by the limits of its kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from xcal.demo.wiring import simulated_room
from xcal.procedures.loader import load_inputs
from xcal.procedures.session import plan_run, run_plan
from xcal.units import Q_

INPUTS = Path(__file__).parents[2] / "xcal" / "demo" / "inputs"


def _defects(critical: float, other: float, thyroid: float) -> dict[str, object]:
    return {"critical_defect": Q_(critical, "mm**2"), "other_defect": Q_(other, "mm**2"),
            "thyroid_shield_defect": Q_(thyroid, "mm**2")}


@pytest.mark.parametrize("critical, other, thyroid, verdict", [
    (20, 0, 0, "FAIL"),        # a crack entered under "critical organ" is still in the shield: 20 > 11 mm²
    (0, 12, 0, "FAIL"),        # under "elsewhere": 12 > 11 mm²
    (0, 0, 11, "PASS"),        # exactly on the 11 mm² limit
    (11, 11, 11, "PASS"),
])
def test_a_thyroid_shield_is_judged_on_its_largest_defect_in_any_region(tmp_path, critical, other, thyroid,
                                                                         verdict):
    result = run_plan(plan_run("apron-inspection", 10, item="THY-01"), db=tmp_path / "r.sqlite3",
                      inputs=_defects(critical, other, thyroid), simulated_room=simulated_room)
    (check,) = result.checks
    assert check.check_id == "apron-defect-thyroid-shield" and check.limit.text == "≤ 11 mm²"
    assert check.value.to("mm**2").magnitude == max(critical, other, thyroid) and result.verdict == verdict


def test_the_demo_thyroid_shield_inputs_pass_and_fail_for_the_right_reason(tmp_path):
    good = run_plan(plan_run("apron-inspection", 10, item="THY-01"), db=tmp_path / "r.sqlite3",
                    inputs=load_inputs(INPUTS / "thyroid-shield-good.yaml"), simulated_room=simulated_room)
    cracked = run_plan(plan_run("apron-inspection", 10, item="THY-01"), db=tmp_path / "r.sqlite3",
                       inputs=load_inputs(INPUTS / "thyroid-shield-cracked.yaml"), simulated_room=simulated_room)
    assert good.verdict == "PASS" and good.checks[0].value.to("mm**2").magnitude == 11
    assert cracked.verdict == "FAIL" and cracked.checks[0].value.to("mm**2").magnitude == 20
