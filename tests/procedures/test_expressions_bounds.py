"""Expressions that would hang, exhaust memory or crash are refused when the file is loaded (length, depth, size,
constant exponents), and arithmetic that fails on real values (an overflow, the square root of a negative, a
division by zero) stops the run resumably with the expression named, never a traceback or a FAIL."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from xcal.errors import ConfigError
from xcal.procedures.expressions import MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, MAX_NODES, Expression, ExpressionError
from xcal.procedures.loader import LIBRARY, load_procedure
from xcal.units import Q_

X = {"x": Q_(2.0, "cm"), "y": Q_(3.0, "cm")}


@pytest.mark.parametrize("text, words", [
    ("-" * 100_000 + "x", f"longer than {MAX_LENGTH} characters"),
    ("+".join(["x"] * 100_000), f"longer than {MAX_LENGTH} characters"),
    ("-" * (MAX_DEPTH + 5) + "x", f"nested more than {MAX_DEPTH} deep"),
    ("+".join(["x"] * (MAX_NODES // 2 + 1)), f"more than {MAX_NODES} parts"),
    ("x ** 1e308", f"the power 1e+308 is beyond ±{MAX_EXPONENT}"),
    ("9 ** 9999999", f"the power 9999999 is beyond ±{MAX_EXPONENT}"),
    ("x ** -1e308", f"the power -1e+308 is beyond ±{MAX_EXPONENT}"),
    ("x * 1e999", "1e999 is not a finite number"),
])
def test_an_expression_too_big_to_compute_is_refused_when_read(text, words):
    start = time.monotonic()
    with pytest.raises(ExpressionError) as err:
        Expression(text)
    assert words in str(err.value)
    assert time.monotonic() - start < 1


def test_the_node_bound_is_reached_within_the_length_bound():
    text = "+".join(["x"] * (MAX_NODES // 2 + 1))
    assert len(text) <= MAX_LENGTH                               # so the node bound, not the length, refuses it


def test_an_expression_error_is_a_value_error_the_runner_turns_into_a_resumable_stop():
    assert issubclass(ExpressionError, ValueError)


@pytest.mark.parametrize("text, values, words", [
    ("sqrt(-x)", X, "the square root of a negative number (-2 cm)"),
    ("(-x) ** 0.5", X, "a negative number (-2 cm) to the power 0.5 is not a real number"),
    ("x ** 99", {"x": Q_(1e200, "")}, "the result of x ** 99 is too large"),
    ("x * x", {"x": Q_(1e200, "")}, "the result of x * x is too large"),
    ("((x ** 99) ** 99) ** 99", {"x": Q_(9, "")}, "too large"),
    ("((9 ** 99) ** 99) ** 99", {}, "too large"),
    ("x / (y - y)", X, "division by zero"),
    ("0 ** -1 * x", X, "division by zero"),
])
def test_arithmetic_that_fails_on_real_values_names_the_expression(text, values, words):
    start = time.monotonic()
    with pytest.raises(ExpressionError) as err:
        Expression(text).evaluate(values)
    assert f"'{text}'" in str(err.value) and words in str(err.value)
    assert time.monotonic() - start < 1


def test_ordinary_arithmetic_still_works():
    assert Expression("sqrt(x * y) + 2 ** 3 * x").evaluate(X).m_as("cm") == pytest.approx(6 ** 0.5 + 16)
    assert Expression("(x / y) ** -1").evaluate(X).m_as("") == pytest.approx(1.5)
    assert Expression("(-x) ** 2").evaluate(X) == Q_(4.0, "cm ** 2")


def _procedure(tmp_path: Path, expression: str) -> Path:
    text = (LIBRARY / "collimation.yaml").read_text(encoding="utf-8")
    text = text.replace("id: collimation", "id: collimation-bounds")
    text = text.replace("expression: (abs(left) + abs(right)) / sid", f"expression: {expression}")
    path = tmp_path / "collimation-bounds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_load_time_refusal_names_the_procedure_line(tmp_path):
    path = _procedure(tmp_path, "(abs(left) + abs(right)) / sid * 9 ** 9999999")
    with pytest.raises(ConfigError) as err:
        load_procedure(path)
    assert err.value.file == str(path) and err.value.line is not None
    assert f"beyond ±{MAX_EXPONENT}" in err.value.message


def test_a_square_root_of_a_negative_entry_stops_the_run_resumably(xcal, tmp_path):
    path = _procedure(tmp_path, "sqrt(right * sid) / sid")
    inputs = tmp_path / "in.yaml"
    inputs.write_text("kind: inputs\nvalues:\n  left: 0.4 cm\n  right: -0.3 cm\n  top: 0.5 cm\n  bottom: -0.6 cm\n",
                      encoding="utf-8")
    env = {"XCAL_DB": str(tmp_path / "r.sqlite3")}
    shown = xcal("run", str(path), "--room", "3", "--inputs", str(inputs), env=env)
    assert shown.returncode == 3, shown.stdout + shown.stderr
    assert "Traceback" not in shown.stderr
    assert "result 'width_misalignment'" in shown.stderr
    assert "'sqrt(right * sid) / sid'" in shown.stderr and "square root of a negative number" in shown.stderr
    (run,) = json.loads(xcal("history", "--json", env=env).stdout)
    assert run["status"] == "incomplete"


@pytest.mark.parametrize("name", ["sd", "range", "range_ratio", "cv"])
def test_a_result_function_that_overflows_on_huge_readings_is_refused_not_judged(name):
    from xcal.procedures.functions import over_values

    huge = [Q_(1.7e308, "kV"), Q_(-1.7e308, "kV"), Q_(1.7e308, "kV")]
    with pytest.raises(ValueError) as err:
        over_values(name, huge)
    assert f"{name} of the readings is not a finite number" in str(err.value)


@pytest.mark.parametrize("text, words", [
    ("sqrt(x, y)", "sqrt takes 1 value, and sqrt(x, y) gives 2"),
    ("min(x)", "min takes 2 or more values, and min(x) gives 1"),
    ("k_tp(x, y)", "k_tp takes 4 values, and k_tp(x, y) gives 2"),
    ("abs()", "abs takes 1 value, and abs() gives 0"),
])
def test_a_function_given_the_wrong_number_of_values_is_refused_when_read(text, words):
    with pytest.raises(ExpressionError) as err:
        Expression(text)
    assert words in str(err.value) and err.value.fix
