"""Loops over long waveforms compiled with numba, so that a sum over a million samples is one pass.

With numpy alone the power sums PPV needs take seven passes over the samples (two products, five dot
products); compiled, they take one. numba is imported and the loops compiled only when a long waveform is
first analysed, which costs that first call about a second; nothing is written to disk (numba's on-disk
cache would save little of that second and leave files in the package).
`loops()` is None where numba cannot be imported; callers then use numpy, whose results agree to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Loops:
    """The compiled forms of the two functions of the same names below."""

    power_sums_at_or_above: Callable[[np.ndarray, float, float, np.ndarray], int]
    samples_not_at_or_above: Callable[[np.ndarray, float, int], np.ndarray]


@lru_cache(maxsize=1)
def loops() -> Loops | None:
    """The compiled loops, or None if numba is not installed or cannot be imported here."""
    try:
        import numba
    except ImportError:
        return None
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
