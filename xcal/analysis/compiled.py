"""The power sums PPV needs over a long waveform: one pass compiled by numba, or a few whole-array numpy passes.

With numpy alone the sums take about eight passes over the samples (a mask, three products, five sums and dot
products); compiled by numba (the optional [fast] extra), they take one. numba is imported and the loops
compiled only when a long waveform is first analysed, which costs that first call about a second; nothing is
written to disk. Both forms give the same sums to rounding (tests/analysis/test_waveform.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class Loops:
    """The compiled forms of the two functions of the same names below."""

    power_sums_at_or_above: Callable[[np.ndarray, float, float, np.ndarray], int]
    samples_not_at_or_above: Callable[[np.ndarray, float, int], np.ndarray]


@lru_cache(maxsize=1)
def loops() -> Loops:
    """The loops compiled by numba (the [fast] extra) where it can be imported, else their numpy forms."""
    try:
        import numba
    except ImportError:
        return Loops(power_sums_at_or_above=numpy_power_sums_at_or_above,
                     samples_not_at_or_above=numpy_samples_not_at_or_above)
    # reassoc lets each sum be split over vector lanes (many partial sums, which also keeps the rounding error
    # of a million-sample sum small); contract lets a product and a sum be fused.
    fast = numba.njit(nogil=True, fastmath={"reassoc", "contract"})
    return Loops(power_sums_at_or_above=fast(power_sums_at_or_above),
                 samples_not_at_or_above=numba.njit(nogil=True)(samples_not_at_or_above))


# The loops as Python: compiled by `loops()`; run as they are only by the tests that check them line by line.

def power_sums_at_or_above(u: np.ndarray, floor: float, centre: float, sums: np.ndarray) -> int:
    """S_j = Σ (u − centre)^j (j = 0..5) over the samples ≥ floor, into `sums`; returns how many samples are not
    ≥ floor."""
    others = 0
    s1 = s2 = s3 = s4 = s5 = 0.0
    for i in range(u.size):
        at_or_above = u[i] >= floor
        others += 0 if at_or_above else 1
        x = u[i] - centre if at_or_above else 0.0
        x2 = x * x
        s1 += x
        s2 += x2
        s3 += x2 * x
        s4 += x2 * x2
        s5 += x2 * x2 * x
    sums[0] = u.size - others
    sums[1] = s1
    sums[2] = s2
    sums[3] = s3
    sums[4] = s4
    sums[5] = s5
    return others


def samples_not_at_or_above(u: np.ndarray, floor: float, count: int) -> np.ndarray:
    """The `count` samples of `u` that are not ≥ floor (lower, or NaN), in order."""
    out = np.empty(count)
    j = 0
    for i in range(u.size):
        if not u[i] >= floor:
            out[j] = u[i]
            j += 1
    return out


def numpy_power_sums_at_or_above(u: np.ndarray, floor: float, centre: float, sums: np.ndarray) -> int:
    """power_sums_at_or_above in whole-array numpy passes, for installs without numba (same sums to rounding)."""
    below = ~(u >= floor)
    x = u - centre
    x[below] = 0.0
    x2 = x * x
    x4 = x2 * x2
    others = int(np.count_nonzero(below))
    sums[:] = (u.size - others, float(np.sum(x)), float(np.sum(x2)), float(np.dot(x2, x)), float(np.sum(x4)),
               float(np.dot(x4, x)))
    return others


def numpy_samples_not_at_or_above(u: np.ndarray, floor: float, count: int) -> np.ndarray:
    """samples_not_at_or_above with a numpy mask."""
    return u[~(u >= floor)]
