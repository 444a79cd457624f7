"""DR detector image metrics on numpy arrays: ROI-grid uniformity, SNR, defective pixels and lines, EI accuracy.

Pure functions, no I/O (xcal.dicom.objects turns a DX file into the array). Images are 2-D arrays of pixel
values of a flat field; `offset` is the detector's dark level (the mean of a dark image), subtracted so that
the response is ∝ air kerma for a linear detector (qc-reference.md §7b). Sources, as qc-reference.md gives
them: EI = 100 × K in µGy and DI = 10·log10(EI/EI_T) from IEC 62494-1 [M]; the ROI-grid uniformity, SNR and
defect definitions follow the usual AAPM TG-150 style, whose section numbers are not yet read [U: unverified].
No tolerance is decided here: limits live in limit sets, with their sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from xcal.analysis._checks import scalar


def _image(image: Any, what: str = "image") -> np.ndarray:
    array = np.asarray(image, dtype=float)
    if array.ndim != 2 or min(array.shape) < 1:
        raise ValueError(f"{what} must be a 2-D array of pixel values, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} holds values that are not finite (NaN or infinity)")
    return array


@dataclass(frozen=True)
class RoiGrid:
    """Means and sample standard deviations (n−1) of a grid of equal, non-overlapping ROIs, row by row."""

    means: np.ndarray
    sds: np.ndarray


def roi_grid(image: Any, rows: int, columns: int, *, offset: float = 0.0) -> RoiGrid:
    """Split `image` (offset subtracted) into rows × columns equal ROIs; pixels left over at the right and bottom
    edges (when the size does not divide) are left out. ValueError when an ROI would be under 2 × 2 pixels."""
    array = _image(image) - float(offset)
    h, w = array.shape[0] // rows, array.shape[1] // columns
    if rows < 1 or columns < 1 or h < 2 or w < 2:
        raise ValueError(f"a {rows} × {columns} ROI grid on a {array.shape[0]} × {array.shape[1]} image leaves ROIs "
                         "smaller than 2 × 2 pixels; use fewer ROIs")
    blocks = array[:rows * h, :columns * w].reshape(rows, h, columns, w).swapaxes(1, 2).reshape(rows, columns, h * w)
    return RoiGrid(blocks.mean(axis=2), blocks.std(axis=2, ddof=1))


def global_nonuniformity(grid: RoiGrid) -> float:
    """(max ROI mean − min ROI mean) / mean of all ROI means, as a fraction [U: TG-150 style, section unread]."""
    m = grid.means
    return float((m.max() - m.min()) / m.mean())


def local_nonuniformity(grid: RoiGrid) -> float:
    """The largest |m_a − m_b| / ((m_a + m_b)/2) over ROIs that share an edge (left-right or up-down), as a
    fraction: a step or a patch that a global figure dilutes [U: TG-150 style, section unread]."""
    m = grid.means
    pairs = [(m[:, 1:], m[:, :-1]), (m[1:, :], m[:-1, :])]
    worst = 0.0
    for a, b in pairs:
        if a.size:
            worst = max(worst, float(np.max(np.abs(a - b) / ((a + b) / 2.0))))
    return worst


def snr(image: Any, *, offset: float = 0.0, roi: tuple[int, int, int, int] | None = None) -> float:
    """Signal-to-noise ratio (mean − offset) / sample SD in an ROI (row0, row1, col0, col1, half-open; default the
    central half by half of the image). For a quantum-limited detector SNR² ∝ K (qc-reference.md §7b)."""
    array = _image(image)
    if roi is None:
        r, c = array.shape
        roi = (r // 4, r - r // 4, c // 4, c - c // 4)
    r0, r1, c0, c1 = roi
    values = array[r0:r1, c0:c1]
    if values.size < 2:
        raise ValueError(f"the ROI {roi} holds fewer than 2 pixels of the {array.shape} image")
    sd = float(values.std(ddof=1))
    if sd == 0:
        raise ValueError("the ROI has no noise at all (every pixel equal): SNR is undefined; is it a real image?")
    return (float(values.mean()) - float(offset)) / sd


@dataclass(frozen=True)
class Defects:
    """Defective pixels (row, column) and the rows and columns in which most pixels are defective (lines)."""

    pixels: tuple[tuple[int, int], ...]
    rows: tuple[int, ...]
    columns: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.pixels)


def _median3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))


def _median_along(array: np.ndarray, size: int, axis: int) -> np.ndarray:
    """The running median of `size` values along `axis` (edges reflected). Sizes 3 and 5 use a min/max network
    (median of 5 = median of e and the larger pair minimum and the smaller pair maximum of a, b, c, d), exact
    and some ten times faster than sorting; other sizes sort."""
    pad = size // 2
    widths = [(0, 0), (0, 0)]
    widths[axis] = (pad, pad)
    padded = np.pad(array, widths, mode="reflect")
    n = array.shape[axis]
    shifted = [padded[k:k + n] if axis == 0 else padded[:, k:k + n] for k in range(size)]
    if size == 3:
        return _median3(*shifted)
    if size == 5:
        a, b, c, d, e = shifted
        return _median3(e, np.maximum(np.minimum(a, b), np.minimum(c, d)),
                        np.minimum(np.maximum(a, b), np.maximum(c, d)))
    return np.median(np.stack(shifted), axis=0)


def _local_median(array: np.ndarray, size: int) -> np.ndarray:
    """The separable size × size median: the median of `size` along each row, then of those down each column. It
    equals the true window median wherever at most size // 2 rows or columns of the window are defective (a dead
    line, a pixel, a small cluster), which is what the defect search needs, and is far faster on a large image."""
    return _median_along(_median_along(array, size, 1), size, 0)


def defects(image: Any, *, offset: float = 0.0, tolerance: float = 0.5, size: int = 5,
            line_fraction: float = 0.5) -> Defects:
    """Pixels whose response (offset subtracted) differs from the median of the size × size window around them
    by more than `tolerance` × that median (0.5: under half or over 1.5 times its neighbours'), and the rows and
    columns where more than `line_fraction` of the pixels are so (a dead line). The 5 × 5 median and the
    factor 0.5 are xcal's choice [U: no source read]. The local median (separable: rows, then columns) stays
    that of live pixels for clusters and lines up to size // 2 pixels wide (2 for the 5 × 5 window); wider dead
    regions need a larger window."""
    response = _image(image) - float(offset)
    if size < 3 or size % 2 == 0:
        raise ValueError(f"the median window must be an odd size of 3 or more, got {size}")
    median = _local_median(response, size)
    bad = np.abs(response - median) > tolerance * np.abs(median)
    rows = tuple(int(r) for r in np.flatnonzero(bad.mean(axis=1) > line_fraction))
    columns = tuple(int(c) for c in np.flatnonzero(bad.mean(axis=0) > line_fraction))
    pixels = tuple((int(r), int(c)) for r, c in zip(*np.nonzero(bad), strict=True))
    return Defects(pixels, rows, columns)


def expected_exposure_index(air_kerma: Any) -> float:
    """EI the detector should report for air kerma K at the detector under the calibration condition:
    EI = 100 × K/µGy (IEC 62494-1 as qc-reference.md §7b quotes it [M])."""
    k = scalar(air_kerma, "air kerma at the detector", "µGy")
    return 100.0 * float(k.to("µGy").magnitude)


def deviation_index(exposure_index: float, target_exposure_index: float) -> float:
    """DI = 10·log10(EI/EI_T) (IEC 62494-1 [M], qc-reference.md §7b): +1 is about +26 %, ±3 a factor of 2."""
    if not (exposure_index > 0 and target_exposure_index > 0):
        raise ValueError(f"EI and EI_T must be positive, got EI {exposure_index} and EI_T {target_exposure_index}")
    return 10.0 * math.log10(exposure_index / target_exposure_index)


@dataclass(frozen=True)
class EiAccuracy:
    """The measured EI against the EI expected from the measured air kerma: error as a fraction, and the DI that
    the error alone amounts to (the DI the detector would show if EI_T were the expected EI)."""

    measured: float
    expected: float
    error: float
    deviation_index: float


def ei_accuracy(measured_exposure_index: float, air_kerma: Any) -> EiAccuracy:
    """Error of a detector's EI: (EI − EI_expected)/EI_expected with EI_expected = 100 × K/µGy [M]; the accuracy
    a physicist should accept (commonly ±10–20 %, AAPM TG-116) is a limit set's business [U]."""
    expected = expected_exposure_index(air_kerma)
    if expected <= 0:
        raise ValueError(f"the air kerma at the detector must be positive, got {air_kerma:~P}")
    measured = float(measured_exposure_index)
    return EiAccuracy(measured, expected, (measured - expected) / expected, deviation_index(measured, expected))
