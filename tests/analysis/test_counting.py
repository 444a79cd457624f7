"""Dead-time correction in both models and source decay, with the rates worked out by hand."""

import math

import pytest

from xcal.analysis import HALF_LIVES, dead_time_correct, decay
from xcal.units import Q_

TAU = Q_(100, "us")


def test_non_paralyzable_correction():
    # m = 2000 cps, τ = 100 µs: mτ = 0.2; n = 2000 / 0.8 = 2500 cps.
    assert dead_time_correct(Q_(2000, "cps"), TAU).to("cps").magnitude == pytest.approx(2500.0)


def test_paralyzable_correction_on_the_low_branch():
    # Solve x e^(−x) = 0.2 by the iteration x ← 0.2 e^x from 0.2: 0.24428, 0.25534, 0.25818, 0.25892, ...
    # → 0.2591711; n = 0.2591711 / 100 µs = 2591.711 cps.
    n = dead_time_correct(Q_(2000, "cps"), TAU, "paralyzable")
    assert n.to("cps").magnitude == pytest.approx(2591.711, rel=1e-6)
    # Round trip through the model: n e^(−nτ) gives back the 2000 cps measured.
    x = (n * TAU).to("").magnitude
    assert (n * math.exp(-x)).to("cps").magnitude == pytest.approx(2000.0, rel=1e-12)


def test_rates_keep_the_unit_given():
    # 120 000 cpm = 2000 cps → 2500 cps = 150 000 cpm.
    n = dead_time_correct(Q_(120000, "cpm"), TAU)
    assert n.units == Q_(1, "cpm").units and n.magnitude == pytest.approx(150000.0)


def test_paralyzable_peak_rate_and_beyond():
    # The largest rate shown is 1/(eτ) = 3678.794 cps, reached at n = 1/τ = 10 000 cps.
    peak = Q_(1 / (math.e * 100e-6), "cps")
    assert dead_time_correct(peak, TAU, "paralyzable").to("cps").magnitude == pytest.approx(10000.0, rel=1e-6)
    with pytest.raises(ValueError, match="1/\\(eτ\\)"):
        dead_time_correct(Q_(3700, "cps"), TAU, "paralyzable")


def test_non_paralyzable_saturation_and_bad_input():
    with pytest.raises(ValueError, match="≥ 1"):
        dead_time_correct(Q_(10000, "cps"), TAU)
    with pytest.raises(ValueError, match="model"):
        dead_time_correct(Q_(2000, "cps"), TAU, "extendable")
    with pytest.raises(TypeError):
        dead_time_correct(2000.0, TAU)
    with pytest.raises(ValueError, match="dimension"):
        dead_time_correct(Q_(2000, "cps"), Q_(100, "mm"))


def test_cs137_halves_in_one_half_life():
    value, unit, _source = HALF_LIVES["Cs-137"]
    half_life = Q_(value, unit)
    assert decay(Q_(100, "MBq"), Q_(30.08, "year"), half_life).magnitude == pytest.approx(50.0)
    assert decay(Q_(100, "MBq"), Q_(60.16, "year"), half_life).magnitude == pytest.approx(25.0)


def test_decay_over_ten_years():
    # 2^(−10/30.08) = exp(−0.3324468 × 0.6931472) = exp(−0.2304346) = 0.7941884.
    result = decay(Q_(1.0, "mGy/h"), Q_(10, "year"), Q_(30.08, "year"))
    assert result.units == Q_(1, "mGy/h").units and result.magnitude == pytest.approx(0.7941884, rel=1e-6)
    # The same span in days gives the same answer.
    assert decay(Q_(1.0, "mGy/h"), Q_(3652.5, "day"), Q_(30.08, "year")).magnitude == pytest.approx(0.7941884,
                                                                                                    rel=1e-6)


def test_decay_needs_a_positive_half_life_with_units():
    with pytest.raises(ValueError, match="greater than zero"):
        decay(Q_(1, "MBq"), Q_(1, "year"), Q_(0, "year"))
    with pytest.raises(TypeError):
        decay(Q_(1, "MBq"), 1.0, Q_(30.08, "year"))
