"""Statistics of readings against values worked out by hand."""

from __future__ import annotations

import pint
import pytest

from xcal.analysis import cv, error, mean, percent_error, sample_sd
from xcal.units import Q_

# Readings 1, 2, 3, 4 mGy: mean = 10/4 = 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5;
# sample variance 5/3 = 1.666 667; SD = 1.290 994; CV = 1.290 994 / 2.5 = 0.516 398.
READINGS = Q_([1.0, 2.0, 3.0, 4.0], "mGy")


def test_mean_keeps_the_unit() -> None:
    result = mean(READINGS)
    assert result.units == Q_(1, "mGy").units
    assert result.magnitude == pytest.approx(2.5)


def test_sample_sd_uses_n_minus_1() -> None:
    assert sample_sd(READINGS).to("mGy").magnitude == pytest.approx(1.290994, rel=1e-6)


def test_cv_of_one_to_four_is_0_5164_dimensionless() -> None:
    result = cv(READINGS)
    assert result.dimensionless
    assert result.to("").magnitude == pytest.approx(0.516398, rel=1e-6)


def test_cv_does_not_depend_on_the_unit() -> None:
    assert cv(READINGS.to("µGy")).magnitude == pytest.approx(0.516398, rel=1e-6)


def test_a_sequence_of_quantities_is_converted_to_the_first_unit() -> None:
    # 1 ms and 0.002 s = 2 ms -> mean 1.5 ms
    result = mean([Q_(1, "ms"), Q_(0.002, "s")])
    assert result.units == Q_(1, "ms").units
    assert result.magnitude == pytest.approx(1.5)


def test_empty_input_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        mean([])
    with pytest.raises(ValueError, match="empty"):
        mean(Q_([], "mGy"))


def test_sd_and_cv_need_two_readings() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        sample_sd(Q_([1.0], "mGy"))
    with pytest.raises(ValueError, match="at least 2"):
        cv([Q_(1.0, "mGy")])


def test_cv_of_a_zero_mean_is_refused() -> None:
    with pytest.raises(ValueError, match="mean is zero"):
        cv(Q_([-1.0, 1.0], "mGy"))


def test_bare_numbers_are_refused() -> None:
    with pytest.raises(TypeError, match="units"):
        mean([1.0, 2.0])
    with pytest.raises(TypeError):
        percent_error(82.0, Q_(80, "kV"))


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        mean(Q_([1.0, float("nan")], "mGy"))


def test_percent_error_in_percent() -> None:
    # (82 − 80) / 80 = 0.025 = 2.5 %
    result = percent_error(Q_(82, "kV"), Q_(80, "kV"))
    assert result.units == Q_(1, "percent").units
    assert result.magnitude == pytest.approx(2.5)


def test_percent_error_converts_the_measured_unit() -> None:
    # 76 000 V against 80 kV: (76 − 80) / 80 = −5 %
    assert percent_error(Q_(76000, "V"), Q_(80, "kV")).magnitude == pytest.approx(-5.0)


def test_percent_error_of_zero_nominal_is_refused() -> None:
    with pytest.raises(ValueError, match="zero"):
        percent_error(Q_(1, "ms"), Q_(0, "ms"))


def test_error_is_in_the_unit_of_the_nominal() -> None:
    # 102 ms − 0.1 s = 0.002 s
    result = error(Q_(102, "ms"), Q_(0.1, "s"))
    assert result.units == Q_(1, "s").units
    assert result.magnitude == pytest.approx(0.002)


def test_incompatible_units_are_refused() -> None:
    with pytest.raises(pint.DimensionalityError):
        error(Q_(80, "kV"), Q_(100, "ms"))
