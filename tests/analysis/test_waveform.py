"""PPV, ripple and exposure time against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcal.analysis import WEIGHTINGS, exposure_time, ppv, ripple
from xcal.units import Q_

# Tungsten weight for U >= 20 kV, w = d U^4 + e U^3 + f U^2 + g U + h:
#   U = 60: 0.005 586 59 − 0.035 899 39 + 0.083 094 84 + 0.006 184 92 − 0.017 471 53 = 0.041 495 43
#   U = 80: 0.017 656 40 − 0.085 094 86 + 0.147 724 16 + 0.008 246 56 − 0.017 471 53 = 0.071 060 73
#   U = 25: 0.000 168 38 − 0.002 596 89 + 0.014 426 19 + 0.002 577 05 − 0.017 471 53 = −0.002 896 80
W60, W80 = 0.04149543, 0.07106073
# Mammography weight, w = exp(a U^4 + b U^3 + c U^2 + d U + e):
#   U = 25: exp(−0.836 856 + 4.009 830 − 12.300 862 + 21.267 090 − 15.143 620)
#         = exp(−3.004 419) = 0.049 568
#   U = 30: exp(−1.735 305 + 6.928 986 − 17.713 242 + 25.520 508 − 15.143 620)
#         = exp(−2.142 673) = 0.117 341
M25, M30 = 0.049568, 0.117341


@pytest.mark.parametrize(("weighting", "kv"), [("tungsten", 80.0), ("tungsten", 15.0), ("mammography", 28.0)])
def test_dc_waveform_ppv_is_its_voltage(weighting: str, kv: float) -> None:
    assert ppv(Q_(np.full(50, kv), "kV"), weighting).to("kV").magnitude == pytest.approx(kv, rel=1e-12)


def test_two_level_tungsten_ppv_by_hand() -> None:
    # (60 W60 + 80 W80) / (W60 + W80) = (2.489 726 + 5.684 858) / 0.112 556 = 72.6267 kV;
    # an unweighted mean would be 70 kV.
    samples = Q_([60.0] * 5 + [80.0] * 5, "kV")
    expected = (60 * W60 + 80 * W80) / (W60 + W80)
    assert expected == pytest.approx(72.6267, abs=1e-4)
    assert ppv(samples, "tungsten").magnitude == pytest.approx(expected, rel=1e-6)


def test_two_level_mammography_ppv_by_hand() -> None:
    # (25 M25 + 30 M30) / (M25 + M30) = (1.239 20 + 3.520 23) / 0.166 909 = 28.515 kV
    samples = Q_([25.0, 30.0, 25.0, 30.0], "kV")
    expected = (25 * M25 + 30 * M30) / (M25 + M30)
    assert expected == pytest.approx(28.515, abs=1e-3)
    assert ppv(samples, "mammography").magnitude == pytest.approx(expected, rel=1e-6)


def test_ppv_is_in_the_unit_of_the_samples() -> None:
    result = ppv(Q_([60000.0, 80000.0], "V"))
    assert result.units == Q_(1, "V").units
    assert result.magnitude == pytest.approx(1000 * (60 * W60 + 80 * W80) / (W60 + W80), rel=1e-6)


def test_samples_with_negative_tungsten_weight_are_left_out() -> None:
    # w(25 kV) < 0. Kept, it would give (25·(−0.002 897) + 80·0.071 061) / 0.068 164 = 82.3 kV, above the
    # maximum; left out, only the 80 kV sample counts.
    assert ppv(Q_([25.0, 80.0], "kV")).magnitude == pytest.approx(80.0, rel=1e-12)


def test_no_positive_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        ppv(Q_([25.0, 25.0], "kV"))


def test_mammography_weighting_refuses_above_50_kv() -> None:
    with pytest.raises(ValueError, match="50 kV"):
        ppv(Q_([30.0, 50.5], "kV"), "mammography")
    assert ppv(Q_([50.0, 50.0], "kV"), "mammography").magnitude == pytest.approx(50.0)


def test_unknown_weighting_and_non_voltage_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        ppv(Q_([80.0], "kV"), "molybdenum")
    with pytest.raises(ValueError, match="voltage"):
        ppv(Q_([80.0], "ms"))


def test_weighting_data_carries_source_and_verification() -> None:
    assert WEIGHTINGS["mammography"].verified is True
    assert WEIGHTINGS["tungsten"].verified is False
    for weighting in WEIGHTINGS.values():
        assert "IEC 61676" in weighting.source and "Kramer" in weighting.source
    assert WEIGHTINGS["tungsten"].coefficients["h"] == -1.747153e-2


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=30.0, max_value=150.0), min_size=1, max_size=40))
def test_ppv_lies_within_the_waveform(values: list[float]) -> None:
    result = ppv(Q_(values, "kV")).magnitude
    assert min(values) - 1e-9 <= result <= max(values) + 1e-9


def test_ripple_of_76_to_80_is_5_percent() -> None:
    # (80 − 76) / 80 = 0.05
    result = ripple(Q_([80.0, 78.0, 76.0, 79.0, 80.0], "kV"))
    assert result.units == Q_(1, "percent").units
    assert result.magnitude == pytest.approx(5.0)


def test_ripple_of_dc_is_zero_and_of_nothing_is_refused() -> None:
    assert ripple(Q_([70.0, 70.0], "kV")).magnitude == 0.0
    with pytest.raises(ValueError):
        ripple(Q_([0.0, 0.0], "kV"))


def test_exposure_time_of_a_trapezoid_interpolates_crossings() -> None:
    # Ramp 0 → 100 in steps of 25, three samples at 100, ramp back. Threshold 0.6 → level 60.
    # Rise: between sample 2 (50) and 3 (75): 2 + (60 − 50)/(75 − 50) = 2.4.
    # Fall: between sample 7 (75) and 8 (50): 7 + (75 − 60)/(75 − 50) = 7.6.
    # 7.6 − 2.4 = 5.2 samples × 0.5 ms = 2.6 ms.
    signal = Q_([0, 25, 50, 75, 100, 100, 100, 75, 50, 25, 0], "µGy/s")
    result = exposure_time(signal, Q_(0.5, "ms"), threshold=0.6)
    assert result.units == Q_(1, "ms").units
    assert result.magnitude == pytest.approx(2.6)


def test_exposure_time_default_threshold_is_half_the_peak() -> None:
    # Level 50 is met exactly at samples 2 and 8: 8 − 2 = 6 samples × 1 ms.
    signal = Q_([0, 25, 50, 75, 100, 100, 100, 75, 50, 25, 0], "µGy/s")
    assert exposure_time(signal, Q_(1, "ms")).magnitude == pytest.approx(6.0)


def test_exposure_time_runs_from_first_rise_to_last_fall() -> None:
    # Two pulses: rise at 0.5, fall at 3.5 (level 50 halfway between 0 and 100) → 3 samples × 2 ms = 6 ms
    signal = Q_([0, 100, 0, 100, 0], "kV")
    assert exposure_time(signal, Q_(0.002, "s")).to("ms").magnitude == pytest.approx(6.0)


def test_exposure_time_keeps_the_unit_of_the_interval() -> None:
    result = exposure_time(Q_([0, 100, 100, 0], "µGy/s"), Q_(0.001, "s"))
    assert result.units == Q_(1, "s").units
    assert result.magnitude == pytest.approx(0.002)


def test_exposure_time_without_a_crossing_is_refused() -> None:
    with pytest.raises(ValueError, match="first"):
        exposure_time(Q_([100, 100, 0], "µGy/s"), Q_(1, "ms"))
    with pytest.raises(ValueError, match="last"):
        exposure_time(Q_([0, 100, 100], "µGy/s"), Q_(1, "ms"))
    with pytest.raises(ValueError, match="never crosses"):
        exposure_time(Q_([0, 0, 0], "µGy/s"), Q_(1, "ms"))


def test_exposure_time_checks_its_arguments() -> None:
    signal = Q_([0, 100, 0], "µGy/s")
    with pytest.raises(ValueError, match="between 0 and 1"):
        exposure_time(signal, Q_(1, "ms"), threshold=1.5)
    with pytest.raises(ValueError, match="sample_interval"):
        exposure_time(signal, Q_(1, "kV"))
    with pytest.raises(ValueError, match="sample_interval"):
        exposure_time(signal, Q_(-1, "ms"))
