"""PPV, ripple and exposure time against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcal.analysis import WEIGHTINGS, compiled, exposure_time, ppv, ripple
from xcal.analysis import waveform as waveform_module
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


# --- Long waveforms: the fast path of `ppv` against the formula evaluated sample by sample -------------------
#
# `reference_ppv` is the IEC 61676 formula written out directly from the published coefficients (Kramer,
# Selbach & Iles 1998), independently of xcal: one weight per sample, samples with a weight ≤ 0 left out,
# and both sums added exactly (math.fsum).

TUNGSTEN_LOW = (-8.646855e-3, 8.170361e-1, -23.27793)                               # U < 20 kV: a, b, c
TUNGSTEN_HIGH = (4.310644e-10, -1.662009e-7, 2.308190e-5, 1.030820e-4, -1.747153e-2)  # U ≥ 20 kV: d .. h
MAMMOGRAPHY = (-2.142352e-6, 2.566291e-4, -1.968138e-2, 8.506836e-1, -15.14362)      # a .. e


def reference_ppv(kv: np.ndarray, weighting: str = "tungsten") -> float:
    u = np.asarray(kv, dtype=float)
    if weighting == "tungsten":
        a, b, c = TUNGSTEN_LOW
        d, e, f, g, h = TUNGSTEN_HIGH
        weights = np.where(u < 20.0, np.exp(a * u ** 2 + b * u + c),
                           d * u ** 4 + e * u ** 3 + f * u ** 2 + g * u + h)
    else:
        a, b, c, d, e = MAMMOGRAPHY
        weights = np.exp(a * u ** 4 + b * u ** 3 + c * u ** 2 + d * u + e)
    keep = weights > 0.0
    return math.fsum(weights[keep] * u[keep]) / math.fsum(weights[keep])


def generator_waveform(n: int, peak: float, ripple: float, period: float, rise: int) -> np.ndarray:
    """kV of a generator: linear rise and fall over `rise` samples around a plateau rippled by `ripple`."""
    i = np.arange(n)
    plateau = peak * (1.0 - ripple + ripple * np.cos(2.0 * np.pi * i / period))
    return plateau * np.minimum(1.0, np.minimum(i, n - 1 - i) / rise)


LONG_WAVEFORMS = {
    # the benchmark's waveform: 80 kV, 1 % ripple, ramps of 1000 samples from 0
    "80 kV, 1 % ripple, ramps": generator_waveform(1_000_000, 80.0, 0.01, 5000.0, 1000),
    "80 kV plateau only": generator_waveform(1_000_000, 80.0, 0.01, 5000.0, 1000)[1000:-1000],
    "120 kV, 10 % ripple, ramps": generator_waveform(300_001, 120.0, 0.10, 1667.0, 7000),
    "150 kV, 3 % ripple, no ramp": generator_waveform(250_000, 150.0, 0.03, 833.0, 1),
    # just above where the tungsten weight turns positive (27.9 kV): the sums cancel most
    "29 to 31 kV": 30.0 + np.sin(np.arange(200_000) * 0.001),
    # single-phase: |sin| from 0 to 80 kV, every period through the exponential and negative-weight ranges
    "single-phase 80 kV": 80.0 * np.abs(np.sin(np.arange(120_000) * np.pi / 2000.0)),
    "15 to 32 kV": 23.5 + 8.5 * np.sin(np.arange(50_000) * 0.01),
    "noise 30 to 150 kV": np.random.default_rng(61676).uniform(30.0, 150.0, 100_003),
}


@pytest.mark.parametrize("name", LONG_WAVEFORMS)
def test_tungsten_ppv_of_long_waveforms_matches_the_formula(name: str) -> None:
    kv = LONG_WAVEFORMS[name]
    assert ppv(Q_(kv, "kV")).magnitude == pytest.approx(reference_ppv(kv), rel=1e-9)


def test_long_waveform_in_volts_matches_the_formula() -> None:
    kv = LONG_WAVEFORMS["120 kV, 10 % ripple, ramps"]
    result = ppv(Q_(kv * 1000.0, "V"))
    assert result.units == Q_(1, "V").units
    assert result.magnitude == pytest.approx(1000.0 * reference_ppv(kv), rel=1e-9)


def test_mammography_ppv_of_a_long_waveform_matches_the_formula() -> None:
    kv = generator_waveform(200_000, 28.0, 0.04, 1000.0, 3000)
    assert ppv(Q_(kv, "kV"), "mammography").magnitude == pytest.approx(reference_ppv(kv, "mammography"),
                                                                         rel=1e-9)


@pytest.mark.parametrize("kv", [80.0, 28.5, 27.8876, 27.9, 29.0, 30.66, 31.0, 150.0])
def test_long_dc_waveform_ppv_is_its_voltage(kv: float) -> None:
    # Just above 27.88 kV, where the tungsten weight turns positive, its terms cancel to 1 part in 1800
    assert ppv(Q_(np.full(1_000_000, kv), "kV")).magnitude == pytest.approx(kv, rel=1e-12)


def test_long_waveforms_are_added_up_by_the_compiled_loops() -> None:
    # numba comes with the test extras (and the [fast] extra): there the fast path must not quietly fall back
    pytest.importorskip("numba")
    assert compiled.loops().power_sums_at_or_above is not compiled.numpy_power_sums_at_or_above
    assert waveform_module._COMPILED_FROM <= 40_000


NUMPY_LOOPS = compiled.Loops(power_sums_at_or_above=compiled.numpy_power_sums_at_or_above,
                             samples_not_at_or_above=compiled.numpy_samples_not_at_or_above)


@pytest.mark.parametrize("name", ["80 kV, 1 % ripple, ramps", "single-phase 80 kV", "29 to 31 kV"])
def test_a_default_install_without_numba_adds_up_with_numpy_and_matches_the_formula(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waveform_module, "loops", lambda: NUMPY_LOOPS)
    kv = LONG_WAVEFORMS[name]
    assert ppv(Q_(kv, "kV")).magnitude == pytest.approx(reference_ppv(kv), rel=1e-12)


@pytest.mark.parametrize("name", ["80 kV, 1 % ripple, ramps", "single-phase 80 kV", "29 to 31 kV"])
def test_without_numba_long_waveforms_still_match_the_formula(name: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waveform_module, "loops", lambda: None)
    kv = LONG_WAVEFORMS[name]
    assert ppv(Q_(kv, "kV")).magnitude == pytest.approx(reference_ppv(kv), rel=1e-9)


# u = 1, 2, 30, NaN, 3 with floor 2: the samples 2, 30 and 3 are added up, 1 and NaN are not.
# About 0: S0 = 3; S1 = 2 + 30 + 3 = 35; S2 = 4 + 900 + 9 = 913; S3 = 8 + 27 000 + 27 = 27 035;
#   S4 = 16 + 810 000 + 81 = 810 097; S5 = 32 + 24 300 000 + 243 = 24 300 275.
# About 2 (differences 0, 28, 1): S1 = 29; S2 = 784 + 1 = 785; S3 = 21 952 + 1 = 21 953;
#   S4 = 614 656 + 1 = 614 657; S5 = 17 210 368 + 1 = 17 210 369.
LOOP_SAMPLES = [1.0, 2.0, 30.0, math.nan, 3.0]
LOOP_SUMS = {0.0: [3.0, 35.0, 913.0, 27_035.0, 810_097.0, 24_300_275.0],
             2.0: [3.0, 29.0, 785.0, 21_953.0, 614_657.0, 17_210_369.0]}


@pytest.mark.parametrize("centre", [0.0, 2.0])
@pytest.mark.parametrize("form", ["compiled", "python", "numpy"])
def test_power_sums_loop_adds_the_samples_at_or_above_the_floor(form: str, centre: float) -> None:
    loops = {"compiled": compiled.loops(), "python": compiled, "numpy": NUMPY_LOOPS}[form]
    assert loops is not None
    sums = np.full(6, -1.0)
    assert loops.power_sums_at_or_above(np.array(LOOP_SAMPLES), 2.0, centre, sums) == 2
    assert sums.tolist() == LOOP_SUMS[centre]
    others = loops.samples_not_at_or_above(np.array(LOOP_SAMPLES), 2.0, 2)
    assert others[0] == 1.0 and math.isnan(others[1])


# 40 000 samples 81, 79, 81, 79 ... (about 80: +1 at even places, −1 at odd ones), and five left out, at the
# start and the edges of numpy's blocks of 2^14 samples: 27 kV at 0, 16 383 and 39 998, NaN at 16 384 and 32 768.
# Kept: 39 995 samples, so S0 = S2 = S4 = 39 995; the +1s of the four even places and the −1 of 16 383 are
# missing from a sum of 0, so S1 = S3 = S5 = −(4 − 1) = −3.
@pytest.mark.parametrize("form", ["compiled", "numpy"])
def test_power_sums_leave_out_low_samples_at_the_edges_of_blocks(form: str) -> None:
    u = 80.0 + np.where(np.arange(40_000) % 2 == 0, 1.0, -1.0)
    u[[0, 16383, 39998]] = 27.0
    u[[16384, 32768]] = math.nan
    loops = {"compiled": compiled.loops(), "numpy": NUMPY_LOOPS}[form]
    sums = np.empty(6)
    assert loops.power_sums_at_or_above(u, 30.66, 80.0, sums) == 5
    assert sums.tolist() == [39_995.0, -3.0, 39_995.0, -3.0, 39_995.0, -3.0]
    others = loops.samples_not_at_or_above(u, 30.66, 5)
    assert others[[0, 1, 4]].tolist() == [27.0, 27.0, 27.0] and np.isnan(others[[2, 3]]).all()


# One odd sample in 40 000 at 80 kV, placed at the start, end or edges of blocks of 2^13 and 2^15 samples.
# w(27 kV) = d·531 441 + e·19 683 + f·729 + g·27 + h
#          = 0.000 229 09 − 0.003 271 33 + 0.016 826 71 + 0.002 783 21 − 0.017 471 53 = −0.000 903 86 < 0,
# so a 27 kV sample is left out and the PPV stays exactly 80 kV.
# w(28 kV) = d·614 656 + e·21 952 + f·784 + g·28 + h
#          = 0.000 264 96 − 0.003 648 44 + 0.018 096 21 + 0.002 886 30 − 0.017 471 53 = 0.000 127 49 > 0.
# w(15 kV) = exp(a·225 + b·15 + c) = exp(−1.945 542 + 12.255 542 − 23.277 930) = exp(−12.967 930) = 2.3340e-6.
W28 = 0.00012749
W15 = 2.3340e-6
ODD_POSITIONS = [0, 1, 8191, 8192, 8193, 16383, 32767, 32768, 39999]


@pytest.mark.parametrize("position", ODD_POSITIONS)
def test_one_sample_with_a_negative_weight_is_left_out_of_a_long_waveform(position: int) -> None:
    kv = np.full(40_000, 80.0)
    kv[position] = 27.0
    assert ppv(Q_(kv, "kV")).magnitude == pytest.approx(80.0, rel=1e-12)


@pytest.mark.parametrize(("odd_kv", "odd_weight"), [(28.0, W28), (15.0, W15)])
@pytest.mark.parametrize("position", ODD_POSITIONS)
def test_one_low_sample_with_a_positive_weight_counts_in_a_long_waveform(position: int, odd_kv: float,
                                                                         odd_weight: float) -> None:
    # (39 999 · 80 · W80 + U · w(U)) / (39 999 · W80 + w(U)) with the weights worked out above
    kv = np.full(40_000, 80.0)
    kv[position] = odd_kv
    # The 15 kV sample moves the PPV by only 6.7e-10 of it, so the comparisons are finer than that: the hand
    # weights (5 digits) fix the expected value to about 1e-12, the exact formula to rounding.
    expected = (39_999 * 80.0 * W80 + odd_kv * odd_weight) / (39_999 * W80 + odd_weight)
    assert ppv(Q_(kv, "kV")).magnitude == pytest.approx(expected, rel=1e-11)
    assert ppv(Q_(kv, "kV")).magnitude == pytest.approx(reference_ppv(kv), rel=1e-13)
    assert ppv(Q_(kv, "kV")).magnitude < 80.0 - 5e-8


@pytest.mark.parametrize("seed", range(8))
def test_scattered_samples_near_where_the_tungsten_weight_turns_positive(seed: int) -> None:
    # Samples between 27 and 29 kV (weights of either sign) scattered through a 50 000-sample, 60 kV record
    rng = np.random.default_rng(seed)
    kv = np.full(50_000, 60.0) + rng.normal(0.0, 0.5, 50_000)
    where = rng.choice(kv.size, size=int(rng.integers(1, 40)), replace=False)
    kv[where] = rng.uniform(27.0, 29.0, where.size)
    assert ppv(Q_(kv, "kV")).magnitude == pytest.approx(reference_ppv(kv), rel=1e-9)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("position", [0, 5000, 8191, 8192, 99_999])
def test_a_nan_or_infinity_in_a_long_waveform_is_refused(bad: float, position: int) -> None:
    kv = np.full(100_000, 80.0)
    kv[position] = bad
    for weighting in ("tungsten", "mammography"):
        with pytest.raises(ValueError, match="NaN or infinite"):
            ppv(Q_(kv if weighting == "tungsten" else kv / 2.0, "kV"), weighting)
    signal = np.zeros(100_000)
    signal[10:-10] = 100.0
    signal[position] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        exposure_time(Q_(signal, "µGy/s"), Q_(1, "ms"))


def test_no_positive_weight_in_a_long_waveform_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        ppv(Q_(np.full(50_000, 25.0), "kV"))


# --- Long signals: exposure time -------------------------------------------------------------------------------

@pytest.mark.parametrize(("first", "last"), [(1, 299_998), (4095, 4096), (4096, 150_000), (150_000, 150_000),
                                             (12_287, 287_712), (12_288, 12_288), (299_997, 299_998)])
def test_exposure_time_of_a_rectangular_pulse_in_a_long_signal(first: int, last: int) -> None:
    # 100 from sample `first` to `last`, 0 elsewhere: level 50 is crossed half a sample before `first` and
    # half a sample after `last`, so the time is last − first + 1 samples.
    signal = np.zeros(300_000)
    signal[first:last + 1] = 100.0
    result = exposure_time(Q_(signal, "µGy/s"), Q_(0.01, "ms"))
    assert result.magnitude == pytest.approx((last - first + 1) * 0.01, rel=1e-12)


def test_exposure_time_of_a_long_trapezoid_interpolates_crossings() -> None:
    # s[i] = min(i, n − 1 − i, 1000), n = 200 000; threshold 0.3005 → level 300.5.
    # Rise between samples 300 (300) and 301 (301): 300.5. Fall between n − 302 (301) and n − 301 (300):
    # n − 302 + (301 − 300.5) = n − 301.5. Time: n − 602 = 199 398 samples × 0.1 µs = 19 939.8 µs.
    n = 200_000
    i = np.arange(n, dtype=float)
    signal = np.minimum(np.minimum(i, n - 1 - i), 1000.0)
    result = exposure_time(Q_(signal, "µGy/s"), Q_(0.1, "µs"), threshold=0.3005)
    assert result.magnitude == pytest.approx(19_939.8, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=5.0, max_value=150.0), min_size=1, max_size=60))
def test_tungsten_ppv_of_short_waveforms_matches_the_formula(values: list[float]) -> None:
    kv = np.array(values)
    d, e, f, g, h = TUNGSTEN_HIGH
    # below 20 kV the weight is an exponential, always positive; from 20 kV up the polynomial can be ≤ 0
    positive = (kv < 20.0) | (d * kv ** 4 + e * kv ** 3 + f * kv ** 2 + g * kv + h > 0.0)
    if not np.any(positive):
        with pytest.raises(ValueError, match="positive"):
            ppv(Q_(kv, "kV"))
    else:
        assert ppv(Q_(kv, "kV")).magnitude == pytest.approx(reference_ppv(kv), rel=1e-9)
