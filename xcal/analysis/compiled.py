"""The power sums PPV needs over a long waveform: one pass compiled by numba, or numpy passes over short blocks.

With numpy alone each block of _BLOCK samples takes a minimum (are all samples at or above the floor?), a
difference, two products and one small matrix product, all while the block is in the processor's cache; compiled
by numba (the optional [fast] extra), the samples take one pass. numba is imported and the loops compiled only
when a long waveform is first analysed, which costs that first call about a second; nothing is written to disk.
Both forms give the same sums to rounding (tests/analysis/test_waveform.py compares them).
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


# numpy's forms work through the samples in blocks of _BLOCK: short enough that a block and its powers stay in
# the processor's cache (no temporaries the size of the waveform) and that OpenBLAS works each block's matrix
# product (2 × 4 × _BLOCK multiplications) on one thread, well under the 2^18 from which it splits a product over
# threads (on a busy machine that costs many times what it saves); long enough that numpy's cost per call is
# small beside the work.
_BLOCK = 16384


def numpy_power_sums_at_or_above(u: np.ndarray, floor: float, centre: float, sums: np.ndarray) -> int:
    """power_sums_at_or_above in numpy passes over blocks of the samples, for installs without numba (same sums
    to rounding).

    With the rows 1, d, d², d³ of a block (d = u − centre), the product [d; d²] · [1, d, d², d³]ᵀ holds
    [S1 S2 S3 S4; S2 S3 S4 S5]: all five sums from one BLAS call.
    """
    rows = np.empty((4, min(u.size, _BLOCK)))
    rows[0] = 1.0
    products = np.zeros((2, 4))
    others = 0
    for start in range(0, u.size, _BLOCK):
        block = u[start:start + _BLOCK]
        if not block.min() >= floor:                             # a sample below the floor, or NaN
            kept = block[block >= floor]
            others += block.size - kept.size
            block = kept
        if block.size == 0:
            continue
        r = rows[:, :block.size]
        np.subtract(block, centre, out=r[1])
        np.multiply(r[1], r[1], out=r[2])
        np.multiply(r[2], r[1], out=r[3])
        products += r[1:3] @ r.T
    sums[:] = (u.size - others, *products[0], products[1, 3])
    return others


def numpy_samples_not_at_or_above(u: np.ndarray, floor: float, count: int) -> np.ndarray:
    """samples_not_at_or_above with a numpy mask, in blocks; a block whose minimum is at or above the floor has
    none of them."""
    found = [block[~(block >= floor)] for block in (u[start:start + _BLOCK] for start in range(0, u.size, _BLOCK))
             if not block.min() >= floor]
    return np.concatenate(found) if found else u[:0]
