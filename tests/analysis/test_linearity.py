"""Linearity of output per mAs and the range / mean shortcut, with the ratios worked out by hand."""

import pytest

from xcal.analysis import linearity, range_ratio
from xcal.limits.tolerance import FAIL, PASS, parse_tolerance
from xcal.units import Q_


def test_linearity_of_two_stations():
    # |0.050 − 0.061| / (0.050 + 0.061) = 0.011 / 0.111 = 0.099099...
    result = linearity(Q_(0.050, "mGy/mAs"), Q_(0.061, "mGy/mAs"))
    assert result.dimensionless
    assert result.magnitude == pytest.approx(0.0990991, rel=1e-6)


def test_linearity_is_symmetric_and_converts_units():
    # 45 µGy/mAs is 0.045 mGy/mAs: |0.045 − 0.055| / 0.100 = 0.1.
    assert linearity(Q_(45, "uGy/mAs"), Q_(0.055, "mGy/mAs")).magnitude == pytest.approx(0.1)
    assert linearity(Q_(0.055, "mGy/mAs"), Q_(45, "uGy/mAs")).magnitude == pytest.approx(0.1)


def test_linearity_exactly_on_the_cfr_limit_passes_and_just_over_fails():
    tol = parse_tolerance("≤ 0.10")
    # 0.010 / 0.100 = 0.10 exactly: passes.
    assert tol.evaluate(linearity(Q_(0.045, "mGy/mAs"), Q_(0.055, "mGy/mAs"))).verdict == PASS
    # 0.0101 / 0.1001 = 0.100899: fails.
    assert tol.evaluate(linearity(Q_(0.045, "mGy/mAs"), Q_(0.0551, "mGy/mAs"))).verdict == FAIL


def test_linearity_is_not_ten_percent_of_the_mean():
    # X1 = 1.0, X2 = 1.2: |ΔX| / ΣX = 0.2 / 2.2 = 0.0909 passes the CFR test, although X2 is 20 % above X1.
    assert linearity(Q_(1.0, "mGy/mAs"), Q_(1.2, "mGy/mAs")).magnitude == pytest.approx(0.0909091, rel=1e-6)


def test_linearity_refuses_bad_input():
    with pytest.raises(TypeError):
        linearity(0.05, Q_(0.06, "mGy/mAs"))
    with pytest.raises(ValueError, match="same kind"):
        linearity(Q_(0.05, "mGy/mAs"), Q_(0.06, "mGy"))
    with pytest.raises(ValueError, match="positive"):
        linearity(Q_(0, "mGy/mAs"), Q_(0, "mGy/mAs"))


def test_range_ratio_washington_example_passes():
    # 1.00, 1.05, 1.10, 1.05 mGy: range 0.10, mean 1.05; 0.10 / 1.05 = 0.095238 <= 0.10.
    values = [Q_(v, "mGy") for v in (1.00, 1.05, 1.10, 1.05)]
    assert range_ratio(values).magnitude == pytest.approx(0.0952381, rel=1e-6)


def test_range_ratio_separates_the_washington_and_oregon_rules():
    # 10, 11, 12, 11 mGy: range 2, mean 11. WA: 2 > 0.10 × 11 = 1.1 fails; OR: 11 >= 5 × 2 = 10 passes.
    r = range_ratio([Q_(v, "mGy") for v in (10, 11, 12, 11)])
    assert r.magnitude == pytest.approx(2 / 11)
    assert parse_tolerance("≤ 0.10").evaluate(r).verdict == FAIL
    assert parse_tolerance("≤ 0.2").evaluate(r).verdict == PASS


def test_oregon_rule_exactly_on_the_limit_passes():
    # 9, 11, 10, 10: range 2, mean 10 = 5 × range exactly; 2 / 10 = 0.2.
    r = range_ratio([Q_(v, "mGy") for v in (9, 11, 10, 10)])
    assert parse_tolerance("≤ 0.2").evaluate(r).verdict == PASS


def test_range_ratio_accepts_a_quantity_array_and_refuses_too_few_readings():
    assert range_ratio(Q_([2.0, 2.2], "mGy")).magnitude == pytest.approx(0.2 / 2.1)
    with pytest.raises(ValueError, match="at least 2"):
        range_ratio([Q_(1, "mGy")])
    with pytest.raises(TypeError):
        range_ratio([1.0, 1.1])
