"""Inputs files are checked strictly: a misspelt name, a value of the wrong kind or not a finite number is refused
at the file's line before any run is recorded, and a file written for another procedure is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from xcal.errors import ConfigError
from xcal.procedures.loader import check_inputs, find_procedure, load_inputs
from xcal.records.store import Store
from xcal.units import Q_

INPUTS = Path(__file__).resolve().parents[2] / "xcal" / "demo" / "inputs"
GOOD = (INPUTS / "collimation-good.yaml").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, fragment: str) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), 1) if fragment in line]
    assert len(lines) == 1, (fragment, lines)
    return lines[0]


def test_the_demo_collimation_inputs_load_with_where_each_value_is():
    inputs = load_inputs(INPUTS / "collimation-good.yaml")
    assert inputs == {"left": Q_(0.4, "cm"), "right": Q_(-0.3, "cm"), "top": Q_(0.5, "cm"), "bottom": Q_(-0.6, "cm")}
    assert inputs.procedure == "collimation"
    assert inputs.marks["left"].line == _line_of(GOOD, "left: 0.4 cm")


def test_a_misspelt_name_is_refused_naming_the_close_match(tmp_path):
    text = GOOD.replace("  left: 0.4 cm", "  lefft: 0.4 cm")
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_inputs(path)
    e = err.value
    assert "'lefft' is not a value collimation asks for" in e.message
    assert (e.file, e.line, e.column) == (str(path), _line_of(text, "lefft"), 3)
    assert e.fix.startswith("did you mean 'left'?") and "left, right, top, bottom" in e.fix


def test_a_value_of_the_wrong_kind_names_the_file_and_line(tmp_path):
    text = GOOD.replace("left: 0.4 cm", "left: 0.4 kg")
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_inputs(path)
    e = err.value
    assert e.message == f"{path}:{_line_of(text, '0.4 kg')}:9: 'left' = 0.4 kg is not in a unit like cm"
    assert "cm" in e.fix


@pytest.mark.parametrize("written", [".nan cm", "inf cm", ".nan"])
def test_a_value_that_is_not_a_finite_number_is_refused_at_load(tmp_path, written):
    # Without `procedure:`, so the value alone is judged.
    text = GOOD.replace("left: 0.4 cm", f"left: {written}").replace("procedure: collimation\n", "")
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_inputs(path)
    assert "input 'left'" in err.value.message and "is not a finite number" in err.value.message
    assert err.value.line == _line_of(text, f"left: {written}")


def test_a_nan_input_stops_the_cli_with_exit_2_and_records_nothing(xcal, tmp_path, _isolated_store):
    path = _write(tmp_path, GOOD.replace("left: 0.4 cm", "left: .nan cm"))
    result = xcal("run", "collimation", "--room", "3", "--inputs", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{path}:" in result.stderr and "not a finite number" in result.stderr
    with Store(_isolated_store) as store:
        assert store.list_runs() == []


def test_a_file_for_another_procedure_is_refused_by_check_inputs():
    apron = load_inputs(INPUTS / "apron-good.yaml")
    with pytest.raises(ConfigError) as err:
        check_inputs(apron, find_procedure("kvp-accuracy"))
    e = err.value
    assert "the inputs file is for the procedure 'apron-inspection', and this run is of kvp-accuracy" in e.message
    assert e.file.endswith("apron-good.yaml") and e.line == 2
    check_inputs(load_inputs(INPUTS / "collimation-good.yaml"), find_procedure("collimation"))


def test_check_inputs_refuses_a_value_the_run_does_not_ask_for_and_one_of_the_wrong_kind():
    # conditions-room-3.yaml names no procedure: it is checked against the procedure run.
    conditions = load_inputs(INPUTS / "conditions-room-3.yaml")
    check_inputs(conditions, find_procedure("output"))
    with pytest.raises(ConfigError) as err:
        check_inputs(conditions, find_procedure("collimation"))
    assert "'temperature' is not a value collimation asks for" in err.value.message
    with pytest.raises(ConfigError) as err:
        check_inputs({"left": Q_(4, "mA"), "right": Q_(0, "cm"), "top": Q_(0, "cm"), "bottom": Q_(0, "cm")},
                     find_procedure("collimation"))
    assert "'left' = 4 mA is not in a unit like cm" in err.value.message
