"""Detector metrics of xcal.analysis.detector against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xcal.analysis.detector import (
    defects,
    deviation_index,
    ei_accuracy,
    expected_exposure_index,
    global_nonuniformity,
    local_nonuniformity,
    roi_grid,
    snr,
)
from xcal.units import Q_


def blocks(values: list[list[float]], size: int = 2) -> np.ndarray:
    """An image of size × size blocks of the given values."""
    return np.kron(np.asarray(values, dtype=float), np.ones((size, size)))


def test_roi_grid_means_and_sample_sds():
    image = blocks([[100, 200], [300, 400]]) + 20.0
    image[0, 0] += 2.0                                    # ROI (0,0): 122, 120, 120, 120
    grid = roi_grid(image, 2, 2, offset=20.0)
    assert grid.means.tolist() == [[100.5, 200.0], [300.0, 400.0]]
    # sample SD of 102,100,100,100: mean 100.5, squares 2.25+3×0.25 = 3, /3 = 1 → 1.
    assert grid.sds[0, 0] == pytest.approx(1.0) and grid.sds[1, 1] == 0.0


def test_global_and_local_nonuniformity_worked():
    # 4 × 4 ROIs of 100, one at 110 (row 0, col 0) and one at 90 (row 3, col 3), far apart.
    values = [[100.0] * 4 for _ in range(4)]
    values[0][0], values[3][3] = 110.0, 90.0
    grid = roi_grid(blocks(values), 4, 4)
    # mean of the ROI means (14×100 + 110 + 90)/16 = 100 → (110 − 90)/100 = 0.20
    assert global_nonuniformity(grid) == pytest.approx(0.20)
    # worst neighbours: 90 beside 100 → 10/95 = 0.105263 (110 beside 100 gives only 10/105 = 0.095238)
    assert local_nonuniformity(grid) == pytest.approx(10.0 / 95.0)


def test_a_uniform_image_has_no_nonuniformity():
    grid = roi_grid(np.full((20, 20), 500.0), 5, 5)
    assert global_nonuniformity(grid) == 0.0 and local_nonuniformity(grid) == 0.0


def test_snr_worked():
    image = np.array([[90.0, 110.0], [90.0, 110.0]])
    # mean 100, sample SD sqrt(4 × 10² / 3) = 11.547; (100 − 20)/11.547 = 6.9282
    assert snr(image, offset=20.0, roi=(0, 2, 0, 2)) == pytest.approx(80.0 / math.sqrt(400.0 / 3.0))


def test_snr_of_a_noiseless_roi_is_refused():
    with pytest.raises(ValueError, match="no noise"):
        snr(np.full((8, 8), 3.0))


def test_dead_pixel_and_dead_column_are_found():
    image = np.full((16, 16), 1100.0)
    image[3, 4] = 100.0                                   # dead: at the offset
    image[10, 12] = 2000.0                                # hot: response 1900 against 1000
    image[:, 7] = 100.0                                   # a dead column
    found = defects(image, offset=100.0)
    assert found.columns == (7,) and found.rows == ()
    assert (3, 4) in found.pixels and (10, 12) in found.pixels
    assert found.count == 16 + 2                          # the column's 16 pixels and the two others


def test_a_pixel_within_half_its_neighbours_response_is_not_a_defect():
    image = np.full((12, 12), 1100.0)
    image[5, 5] = 100.0 + 0.55 * 1000.0                   # 55 % of the neighbours' response
    assert defects(image, offset=100.0).count == 0


def test_ei_expected_from_air_kerma_and_its_accuracy():
    assert expected_exposure_index(Q_(2.5, "µGy")) == pytest.approx(250.0)
    assert expected_exposure_index(Q_(0.004, "mGy")) == pytest.approx(400.0)
    result = ei_accuracy(312.5, Q_(2.5, "µGy"))
    assert result.expected == pytest.approx(250.0)
    assert result.error == pytest.approx(0.25)
    assert result.deviation_index == pytest.approx(0.969100, abs=1e-6)     # 10·log10(1.25)


def test_deviation_index_worked():
    assert deviation_index(500.0, 250.0) == pytest.approx(3.0103, abs=1e-4)  # a factor of 2 is about +3
    assert deviation_index(250.0, 250.0) == 0.0
    assert deviation_index(125.0, 250.0) == pytest.approx(-3.0103, abs=1e-4)
    with pytest.raises(ValueError, match="positive"):
        deviation_index(0.0, 250.0)


def test_air_kerma_without_a_unit_is_refused():
    with pytest.raises(TypeError, match="Quantity"):
        expected_exposure_index(2.5)
    with pytest.raises(ValueError, match="dimension"):
        expected_exposure_index(Q_(2.5, "mm"))
