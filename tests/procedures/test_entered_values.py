"""Procedures of entered values (collimation, PBL): inputs files, the safe expression evaluator, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from xcal.demo.wiring import simulated_room
from xcal.errors import ConfigError
from xcal.procedures.expressions import Expression
from xcal.procedures.loader import load_inputs
from xcal.procedures.session import plan_run, run_plan
from xcal.units import Q_

INPUTS = Path(__file__).resolve().parents[2] / "xcal" / "demo" / "inputs"


@pytest.mark.parametrize("text", ['__import__("os").system("true")', "left.__class__", "open('x')", "left[0]",
                                  "(lambda: 1)()", "[x for x in y]", "left ** right", "_hidden", "globals()",
                                  "left if right else sid", "'text'"])
def test_the_evaluator_refuses_anything_but_arithmetic(text):
    with pytest.raises(ValueError):
        Expression(text)


def test_the_evaluator_keeps_units():
    # (|−0.5| + 1.2) cm / 100 cm = 0.017
    value = Expression("(abs(left) + abs(right)) / sid").evaluate(
        {"left": Q_(-0.5, "cm"), "right": Q_(12, "mm"), "sid": Q_(1, "m")})
    assert value.to("").magnitude == pytest.approx(0.017)


def test_collimation_passes_and_fails_for_the_right_edge(tmp_path):
    good = run_plan(plan_run("collimation", 3), db=tmp_path / "r.sqlite3",
                    inputs=load_inputs(INPUTS / "collimation-good.yaml"), simulated_room=simulated_room)
    # width (0.4 + 0.3) / 100 = 0.007; length (0.5 + 0.6) / 100 = 0.011, both ≤ 0.02
    assert [round(c.value.magnitude, 6) for c in good.checks] == [0.007, 0.011] and good.verdict == "PASS"
    bad = run_plan(plan_run("collimation", 3), db=tmp_path / "r.sqlite3",
                   inputs=load_inputs(INPUTS / "collimation-misaligned.yaml"), simulated_room=simulated_room)
    # length (1.6 + 0.9) / 100 = 0.025 > 0.02
    verdicts = {c.check_id: c.verdict for c in bad.checks}
    assert verdicts == {"light-field-congruence-width": "PASS", "light-field-congruence-length": "FAIL"}
    assert bad.checks[1].limit.source.startswith("21 CFR 1020.31(d)")


@pytest.mark.parametrize("inputs, expected, verdict", [
    ({"across": 0.6, "along": -0.8}, 0.010, "PASS"),       # sqrt(0.36 + 0.64) = 1.0 cm at 100 cm SID
    ({"across": 1.2, "along": 1.6}, 0.020, "PASS"),        # sqrt(1.44 + 2.56) = 2.0 cm: exactly on the 2 % limit
    ({"across": 1.5, "along": 2.0}, 0.025, "FAIL"),        # sqrt(2.25 + 4.00) = 2.5 cm
    ({"across": -2.1, "along": 0.0}, 0.021, "FAIL"),
])
def test_receptor_centring_is_the_distance_between_the_centres_over_the_sid(tmp_path, inputs, expected, verdict):
    from xcal.units import Q_

    result = run_plan(plan_run("receptor-centering", 3), db=tmp_path / "r.sqlite3",
                      inputs={name: Q_(value, "cm") for name, value in inputs.items()}, simulated_room=simulated_room)
    (check,) = result.checks
    assert check.value.to("").magnitude == pytest.approx(expected, rel=1e-12) and check.verdict in (
        (verdict, "WARN") if verdict == "PASS" else (verdict,))
    assert check.limit.set_id == "cfr-1020" and check.limit.source.startswith("21 CFR 1020.31(d)")


def test_the_demo_receptor_centring_inputs_pass_and_fail(tmp_path):
    good = run_plan(plan_run("receptor-centering", 3), db=tmp_path / "r.sqlite3",
                    inputs=load_inputs(INPUTS / "receptor-centering-good.yaml"), simulated_room=simulated_room)
    off = run_plan(plan_run("receptor-centering", 3), db=tmp_path / "r.sqlite3",
                   inputs=load_inputs(INPUTS / "receptor-centering-off.yaml"), simulated_room=simulated_room)
    assert (good.verdict, off.verdict) == ("PASS", "FAIL")


def test_pbl_excess_and_sum(tmp_path):
    result = run_plan(plan_run("pbl", 3), db=tmp_path / "r.sqlite3", inputs=load_inputs(INPUTS / "pbl-good.yaml"),
                      simulated_room=simulated_room)
    # length (44.2 − 43) / 100 = 0.012; width (35.8 − 35) / 100 = 0.008; sum 0.020 ≤ 0.04
    values = {c.check_id: round(c.value.magnitude, 6) for c in result.checks}
    assert values == {"pbl-length": 0.012, "pbl-width": 0.008, "pbl-sum": 0.02} and result.verdict == "PASS"


def test_pbl_counts_a_field_smaller_than_the_receptor_without_regard_to_sign(tmp_path):
    # 21 CFR 1020.31(g): each dimension may differ from the receptor by at most 3 % of SID, and the two
    # differences, taken without regard to sign, by at most 4 %. Field 39.5 × 36.0 cm on a 43 × 35 cm receptor
    # at 100 cm: length |39.5 − 43| / 100 = 0.035 > 0.03 (FAIL); width |36.0 − 35| / 100 = 0.010 (PASS);
    # sum 0.035 + 0.010 = 0.045 > 0.04 (FAIL). Counting the short length as 0 would pass all three.
    result = run_plan(plan_run("pbl", 3), db=tmp_path / "r.sqlite3", inputs=load_inputs(INPUTS / "pbl-short.yaml"),
                      simulated_room=simulated_room)
    judged = {c.check_id: (round(c.value.magnitude, 6), c.verdict) for c in result.checks}
    assert judged == {"pbl-length": (0.035, "FAIL"), "pbl-width": (0.01, "PASS"), "pbl-sum": (0.045, "FAIL")}
    assert result.verdict == "FAIL" and result.plan.procedure.version == "1.2.0"


def test_entered_values_are_recorded_as_readings(tmp_path):
    from xcal.records.store import Store

    result = run_plan(plan_run("collimation", 3), db=tmp_path / "r.sqlite3",
                      inputs=load_inputs(INPUTS / "collimation-good.yaml"), simulated_room=simulated_room)
    run = Store(tmp_path / "r.sqlite3").get_run(result.run_id)
    assert {(r.quantity, r.value, r.unit) for r in run.readings} == {
        ("left", 0.4, "cm"), ("right", -0.3, "cm"), ("top", 0.5, "cm"), ("bottom", -0.6, "cm")}
    assert run.simulated is True                     # made on the demo site


def test_without_inputs_and_nobody_to_ask_nothing_is_recorded(tmp_path):
    from xcal.records.store import Store

    with pytest.raises(ConfigError, match="left, right, top, bottom"):
        run_plan(plan_run("collimation", 3), db=tmp_path / "r.sqlite3", simulated_room=simulated_room)
    assert Store(tmp_path / "r.sqlite3").list_runs() == []


def test_an_input_of_the_wrong_kind_is_refused(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text("kind: inputs\nvalues:\n  left: 4 mA\n  right: 0 cm\n  top: 0 cm\n  bottom: 0 cm\n")
    with pytest.raises(ConfigError, match="'left' = 4 mA is not in a unit like cm"):
        run_plan(plan_run("collimation", 3), db=tmp_path / "r.sqlite3", inputs=load_inputs(path),
                 simulated_room=simulated_room)


def test_a_malformed_inputs_file_names_its_line(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text("kind: inputs\nvalues:\n  left: four cm\n")
    with pytest.raises(ConfigError) as err:
        load_inputs(path)
    assert err.value.line == 3 and "input 'left'" in err.value.message


def test_a_procedure_with_an_unsafe_expression_does_not_load(tmp_path):
    from xcal.procedures.loader import load_procedure

    text = (INPUTS.parents[1] / "procedures" / "library" / "collimation.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("(abs(left) + abs(right)) / sid", "__import__('os').getcwd()"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_procedure(bad)
    assert "only abs, min, max, sqrt, k_tp may be called" in err.value.message and err.value.line is not None
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(text.replace("(abs(left) + abs(right)) / sid", "left + sid / sid"), encoding="utf-8")
    with pytest.raises(ConfigError, match="units do not fit"):
        load_procedure(mixed)


def test_apron_inspection_rejects_a_crack_over_the_gonads_and_accepts_a_defect_on_the_limit(tmp_path):
    worn = run_plan(plan_run("apron-inspection", 3, item="APR-02"), db=tmp_path / "r.sqlite3",
                    inputs=load_inputs(INPUTS / "apron-worn.yaml"), simulated_room=simulated_room)
    # APR-02 is an apron: judged on the critical and the other regions, not as a thyroid shield.
    assert {c.check_id: c.verdict for c in worn.checks} == {
        "apron-defect-critical": "FAIL", "apron-defect-other": "PASS"}
    good = run_plan(plan_run("apron-inspection", 3, item="APR-02"), db=tmp_path / "r.sqlite3",
                    inputs=load_inputs(INPUTS / "apron-good.yaml"), simulated_room=simulated_room)
    other = next(c for c in good.checks if c.check_id == "apron-defect-other")
    assert other.value.to("mm**2").magnitude == 670 and other.verdict in ("PASS", "WARN")     # on the limit
    assert good.verdict == "PASS" and other.limit.set_id == "lambert-mckeon-2001"


def test_dap_display_against_the_reference_meter(tmp_path):
    good = run_plan(plan_run("dap-accuracy", 3), db=tmp_path / "r.sqlite3",
                    inputs=load_inputs(INPUTS / "dap-display-good.yaml"), simulated_room=simulated_room)
    (check,) = good.checks
    measured = check.nominal.to("µGy*m**2").magnitude
    # The simulated reference meter sees about 1.2 mGy over 100 cm² at 1 m: about 12 µGy·m².
    assert 9 < measured < 15 and check.limit.text == "±25 %" and check.limit.set_id == "iec-61223-3-1"
    assert check.deviation_percent == pytest.approx((11.5 / measured - 1) * 100) and good.verdict == "PASS"
    high = run_plan(plan_run("dap-accuracy", 3), db=tmp_path / "r.sqlite3",
                    inputs=load_inputs(INPUTS / "dap-display-high.yaml"), simulated_room=simulated_room)
    assert high.verdict == "FAIL" and high.checks[0].deviation_percent > 25


def test_apron_inspection_names_its_garment_from_the_inventory(tmp_path):
    from xcal.errors import ConfigError
    from xcal.records.store import Store

    with pytest.raises(ConfigError) as err:
        plan_run("apron-inspection", 10)
    assert "none was named" in err.value.message and "APR-01" in err.value.fix and "THY-01" in err.value.fix
    with pytest.raises(ConfigError) as err:
        plan_run("apron-inspection", 10, item="APR-99")
    assert "no garment 'APR-99'" in err.value.message
    with pytest.raises(ConfigError) as err:
        plan_run("kvp-accuracy", 3, item="APR-01")
    assert "leave out --item" in err.value.fix
    result = run_plan(plan_run("apron-inspection", 10, item="THY-01"), db=tmp_path / "r.sqlite3",
                      inputs=load_inputs(INPUTS / "apron-good.yaml"), simulated_room=simulated_room)
    with Store(tmp_path / "r.sqlite3") as store:
        item = store.get_run(result.run_id).snapshot["item"]
    assert item["id"] == "THY-01" and item["kind"] == "thyroid shield" and item["lead_equivalence"] == "0.5 mm Pb"


def test_a_thyroid_shield_is_judged_on_the_thyroid_limit_only(tmp_path):
    from xcal.units import Q_

    defects = {"critical_defect": Q_(0, "mm**2"), "other_defect": Q_(0, "mm**2"),
               "thyroid_shield_defect": Q_(12, "mm**2")}
    shield = run_plan(plan_run("apron-inspection", 10, item="THY-01"), db=tmp_path / "r.sqlite3", inputs=defects,
                      simulated_room=simulated_room)
    # 12 mm² is over the 11 mm² thyroid-shield limit (Lambert and McKeon 2001).
    assert [(c.check_id, c.verdict) for c in shield.checks] == [("apron-defect-thyroid-shield", "FAIL")]
    apron = run_plan(plan_run("apron-inspection", 10, item="APR-01"), db=tmp_path / "r.sqlite3", inputs=defects,
                     simulated_room=simulated_room)
    assert apron.verdict == "PASS" and {c.check_id for c in apron.checks} == {"apron-defect-critical",
                                                                             "apron-defect-other"}


def test_every_value_a_built_in_procedure_asks_has_a_plausible_range():
    from xcal.procedures.loader import find_procedure, library_paths

    for pid in library_paths():
        procedure = find_procedure(pid)
        if not hasattr(procedure, "entered_ranges"):                  # a bundle: its procedures are listed too
            continue
        ranges = procedure.entered_ranges()
        assert set(ranges) == set(procedure.entered_names()), pid
        for name, (low, high) in ranges.items():
            assert low < high, (pid, name)
            if low.dimensionality == Q_(1, "mm**2").dimensionality:  # an area is never negative
                assert low.magnitude == 0, (pid, name)


@pytest.mark.parametrize("procedure, room, item, typed, kept, said", [
    # a 16 cm edge offset is a slip (10 cm is already half a 43 cm receptor's width away): refused, asked again
    ("collimation", 3, None, [Q_(16, "cm"), Q_(0.4, "cm"), Q_(-0.3, "cm"), Q_(0.5, "cm"), Q_(-0.6, "cm")], "left",
     "'left' = 16 cm is outside its plausible range -10 cm to 10 cm"),
    # a defect's area cannot be negative
    ("apron-inspection", 10, "APR-01", [Q_(-3, "mm**2"), Q_(3, "mm**2"), Q_(0, "mm**2"), Q_(0, "mm**2")],
     "critical_defect", "'critical_defect' = -3 mm² is negative, and an area never is"),
    # a field 4 mm long is a length in centimetres typed as millimetres
    ("pbl", 3, None, [Q_(4, "mm"), Q_(40, "cm"), Q_(35, "cm"), Q_(43, "cm"), Q_(35, "cm")], "field_length",
     "'field_length' = 4 mm is outside its plausible range 1 cm to 60 cm"),
])
def test_an_entry_outside_its_range_or_of_the_wrong_sign_is_refused_and_asked_again(tmp_path, procedure, room,
                                                                                     item, typed, kept, said):
    from xcal.procedures.runner import RunObserver

    class Typist(RunObserver):
        can_ask = True

        def __init__(self):
            self.answers, self.asked, self.refusals = list(typed), [], []

        def ask(self, name, prompt, unit):
            self.asked.append(name)
            return self.answers.pop(0)

        def refused(self, text):
            self.refusals.append(text)

    typist = Typist()
    result = run_plan(plan_run(procedure, room, item=item), db=tmp_path / "r.sqlite3", observer=typist,
                      simulated_room=simulated_room)
    assert typist.asked[:2] == [kept, kept] and not typist.answers
    assert len(typist.refusals) == 1 and typist.refusals[0].startswith(said)
    assert result.entered[kept] == typed[1]


AREA_WITHOUT_RANGE = """\
kind: procedure
id: crack-size
version: 1.0.0
title: Crack size
modality: radiography
description: One defect area, entered without a range of its own.
parameters:
  sid: 100 cm
steps:
  - prompt: Measure the crack.
  - enter:
      crack: {unit: mm², prompt: "Area of the crack"}
results:
  crack_area:
    expression: crack
    report: true
checks: []
"""


def test_an_area_without_a_range_of_its_own_is_never_negative(tmp_path):
    from xcal.procedures.runner import RunObserver

    class Typist(RunObserver):
        can_ask = True

        def __init__(self):
            self.answers, self.refusals = [Q_(-3, "mm**2"), Q_(3, "mm**2")], []

        def ask(self, name, prompt, unit):
            return self.answers.pop(0)

        def refused(self, text):
            self.refusals.append(text)

    path = tmp_path / "crack-size.yaml"
    path.write_text(AREA_WITHOUT_RANGE, encoding="utf-8")
    typist = Typist()
    result = run_plan(plan_run(str(path), 3), db=tmp_path / "r.sqlite3", observer=typist, simulated_room=simulated_room)
    assert result.entered["crack"] == Q_(3, "mm**2") and len(typist.refusals) == 1
    assert "'crack' = -3 mm² is negative, and an area never is" in typist.refusals[0]
    inputs = tmp_path / "in.yaml"
    inputs.write_text("kind: inputs\nvalues:\n  crack: -3 mm²\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        run_plan(plan_run(str(path), 3), db=tmp_path / "r.sqlite3", inputs=load_inputs(inputs),
                 simulated_room=simulated_room)
    assert "is negative, and an area never is" in refused.value.message and refused.value.line == 3
