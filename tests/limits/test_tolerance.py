"""Tolerance forms and their verdicts, with the allowances worked out by hand."""

import pytest

from xcal.limits.tolerance import FAIL, PASS, WARN, Form, parse_tolerance
from xcal.units import Q_


@pytest.mark.parametrize("text, form", [
    ("±5 %", Form.PERCENT), ("+/-5 %", Form.PERCENT), ("±2 kV", Form.ABSOLUTE),
    ("±(5 % + 1 kV)", Form.SUM), ("±max(5 %, 2 kV)", Form.LARGER), ("≤ 0.05", Form.MAX),
    ("<= 88 mGy/min", Form.MAX), ("≥ 2.3 mm", Form.MIN), ("as stated by the manufacturer", Form.DEFER),
])
def test_forms_are_recognised(text, form):
    assert parse_tolerance(text).form is form


@pytest.mark.parametrize("text", ["5 %", "±", "±(5 % + 1)", "about 5 %", "±5 % + 1 kV", "± 2 blorps"])
def test_malformed_tolerances_are_refused(text):
    with pytest.raises(ValueError):
        parse_tolerance(text)


def test_percent_allowance_at_80_kv_is_4_kv():
    # 5 % of 80 kV = 4 kV.
    tol = parse_tolerance("±5 %")
    assert tol.allowed_deviation(Q_(80, "kV")).to("kV").magnitude == pytest.approx(4.0)


def test_sum_form_at_120_kv_allows_7_kv():
    # 5 % of 120 kV = 6 kV, plus 1 kV = 7 kV.
    tol = parse_tolerance("±(5 % + 1 kV)")
    assert tol.allowed_deviation(Q_(120, "kV")).to("kV").magnitude == pytest.approx(7.0)


def test_larger_form_takes_the_absolute_part_at_low_kv():
    # 5 % of 30 kV = 1.5 kV < 2 kV, so 2 kV applies; at 60 kV 5 % = 3 kV > 2 kV.
    tol = parse_tolerance("±max(5 %, 2 kV)")
    assert tol.allowed_deviation(Q_(30, "kV")).to("kV").magnitude == pytest.approx(2.0)
    assert tol.allowed_deviation(Q_(60, "kV")).to("kV").magnitude == pytest.approx(3.0)


def test_value_exactly_on_the_limit_passes_both_sides():
    tol = parse_tolerance("±(5 % + 1 kV)")
    assert tol.evaluate(Q_(127.0, "kV"), Q_(120, "kV")).verdict == PASS
    assert tol.evaluate(Q_(113.0, "kV"), Q_(120, "kV")).verdict == PASS


def test_value_just_past_the_limit_fails():
    tol = parse_tolerance("±(5 % + 1 kV)")
    assert tol.evaluate(Q_(127.01, "kV"), Q_(120, "kV")).verdict == FAIL


def test_room_4_like_reading_fails_with_the_deviation_reported():
    # 120 kV × 1.07 = 128.4 kV: deviation 8.4 kV > 7 kV allowed.
    out = parse_tolerance("±(5 % + 1 kV)").evaluate(Q_(128.4, "kV"), Q_(120, "kV"))
    assert out.verdict == FAIL
    assert out.deviation.to("kV").magnitude == pytest.approx(8.4)
    assert out.used == pytest.approx(8.4 / 7.0)


def test_units_are_converted_before_comparing():
    # ±2 kV on a nominal given in volts: 80 000 V ± 2 000 V; 81 999 V passes, 82 001 V fails.
    tol = parse_tolerance("±2 kV")
    assert tol.evaluate(Q_(81999, "V"), Q_(80000, "V")).verdict == PASS
    assert tol.evaluate(Q_(82001, "V"), Q_(80000, "V")).verdict == FAIL


def test_warn_band_marks_marginal_results():
    # ±5 % at 80 kV allows 4 kV; warn at 80 % of it = 3.2 kV.
    tol = parse_tolerance("±5 %")
    assert tol.evaluate(Q_(83.1, "kV"), Q_(80, "kV"), 0.8).verdict == PASS
    assert tol.evaluate(Q_(83.3, "kV"), Q_(80, "kV"), 0.8).verdict == WARN
    assert tol.evaluate(Q_(84.1, "kV"), Q_(80, "kV"), 0.8).verdict == FAIL


def test_upper_bound_passes_on_the_bound_and_fails_above():
    tol = parse_tolerance("≤ 88 mGy/min")
    assert tol.evaluate(Q_(88, "mGy/min")).verdict == PASS
    assert tol.evaluate(Q_(1.4666, "mGy/s")).verdict == PASS    # 1.4666 × 60 = 87.996 mGy/min
    assert tol.evaluate(Q_(88.1, "mGy/min")).verdict == FAIL


def test_lower_bound():
    tol = parse_tolerance("≥ 2.3 mm")
    assert tol.evaluate(Q_(2.3, "mm")).verdict == PASS
    assert tol.evaluate(Q_(0.229, "cm")).verdict == FAIL


def test_a_plus_minus_form_needs_the_set_value():
    with pytest.raises(ValueError, match="nominal"):
        parse_tolerance("±5 %").evaluate(Q_(80, "kV"))


def test_a_deferring_entry_has_no_number():
    with pytest.raises(ValueError, match="manufacturer"):
        parse_tolerance("as stated by the manufacturer").evaluate(Q_(80, "kV"), Q_(80, "kV"))


def test_control_characters_in_a_quantity_are_a_value_error():
    from xcal.units import parse_quantity

    for text in ("\x1b", "80 \x1bkV", "\x00", "kV\x07"):
        with pytest.raises(ValueError):
            parse_quantity(text)
