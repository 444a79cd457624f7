"""Defect search of xcal.analysis.detector: a worked small case and the running median it rests on."""

from __future__ import annotations

import numpy as np
import pytest

from xcal.analysis.detector import _median_along, defects


def test_one_dead_pixel_in_a_4_by_4_image():
    image = np.full((4, 4), 1000.0)
    image[1, 2] = 0.0
    # Every 5-wide window (edges reflected) holds at most two zeros, so the local median is 1000 everywhere;
    # |0 − 1000| > 0.5 × 1000 flags (1, 2) alone; a quarter of row 1 is no line.
    found = defects(image)
    assert found.pixels == ((1, 2),) and found.rows == () and found.columns == ()


@pytest.mark.parametrize("size", [3, 5, 7])
def test_running_median_is_the_median_of_each_window(size):
    rng = np.random.default_rng(size)
    array = rng.integers(0, 9, (6, 11)).astype(float)
    pad = size // 2
    padded = np.pad(array, ((0, 0), (pad, pad)), mode="reflect")
    expected = np.array([[np.median(padded[r, c:c + size]) for c in range(11)] for r in range(6)])
    assert np.array_equal(_median_along(array, size, 1), expected)
    assert np.array_equal(_median_along(array.T, size, 0), expected.T)


def test_two_adjacent_dead_columns_leave_the_median_live():
    image = np.full((10, 10), 500.0)
    image[:, 4:6] = 0.0
    found = defects(image)
    assert found.columns == (4, 5) and found.count == 20
