"""Quantities a kVp meter derives from a sampled waveform: practical peak voltage, ripple, exposure time.

The PPV weighting functions are kept as data (coefficients, source, verification status) because the
general-diagnostic polynomial is not yet confirmed against IEC 61676 (see qc-reference.md §3).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from xcal.analysis.compiled import loops
from xcal.analysis.statistics import QuantityLike, as_quantity_array
from xcal.units import Q_, has_dimension, registry

if TYPE_CHECKING:  # pragma: no cover
    import pint

    from xcal.units import Unit

_PPV_SOURCE = "IEC 61676 Annex B; Kramer, Selbach & Iles, BJR 71:200-209 (1998)"


@dataclass(frozen=True)
class PpvWeighting:
    """One PPV weighting function w(U), U in kV: its coefficients and where they come from."""

    name: str
    description: str
    coefficients: Mapping[str, float]
    source: str
    verified: bool
    max_kv: float | None = None
    note: str = ""


WEIGHTINGS: Mapping[str, PpvWeighting] = MappingProxyType({
    "mammography": PpvWeighting(
        name="mammography",
        description="Mo anode; w = exp(a U^4 + b U^3 + c U^2 + d U + e), valid for U <= 50 kV",
        coefficients=MappingProxyType({
            "a": -2.142352e-6, "b": 2.566291e-4, "c": -1.968138e-2, "d": 8.506836e-1, "e": -15.14362,
        }),
        source=_PPV_SOURCE,
        verified=True,
        max_kv=50.0,
    ),
    "tungsten": PpvWeighting(
        name="tungsten",
        description="W anode, general diagnostic incl. CT, dental, fluoroscopy; "
                    "U < 20 kV: w = exp(a U^2 + b U + c); U >= 20 kV: w = d U^4 + e U^3 + f U^2 + g U + h",
        coefficients=MappingProxyType({
            "a": -8.646855e-3, "b": 8.170361e-1, "c": -23.27793,
            "d": 4.310644e-10, "e": -1.662009e-7, "f": 2.308190e-5, "g": 1.030820e-4, "h": -1.747153e-2,
        }),
        source=_PPV_SOURCE,
        verified=False,
        note="the U >= 20 kV polynomial is negative between about 20 and 28 kV; "
             "verify against the standard before relying on it",
    ),
})


def _mammography_weight(u_kv: np.ndarray, c: Mapping[str, float]) -> np.ndarray:
    exponent = (((c["a"] * u_kv + c["b"]) * u_kv + c["c"]) * u_kv + c["d"]) * u_kv + c["e"]
    return np.exp(exponent)


def _tungsten_weight(u_kv: np.ndarray, c: Mapping[str, float]) -> np.ndarray:
    low = np.exp((c["a"] * u_kv + c["b"]) * u_kv + c["c"])
    high = (((c["d"] * u_kv + c["e"]) * u_kv + c["f"]) * u_kv + c["g"]) * u_kv + c["h"]
    return np.where(u_kv < 20.0, low, high)


_WEIGHT_FORMS: Mapping[str, Callable[[np.ndarray, Mapping[str, float]], np.ndarray]] = MappingProxyType({
    "mammography": _mammography_weight,
    "tungsten": _tungsten_weight,
})


def ppv(samples: QuantityLike, weighting: str = "tungsten") -> pint.Quantity:
    """IEC 61676 practical peak voltage of a uniformly sampled kV waveform: Σ w(Uᵢ)·Uᵢ / Σ w(Uᵢ).

    Samples whose weight is zero or negative (the tungsten polynomial between about 20 and 28 kV) are
    left out, since a negative weight would pull the result outside the waveform's range; ValueError if
    no sample keeps a positive weight, or, for "mammography", if any sample is above 50 kV.
    The result is in the unit of the samples.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown PPV weighting {weighting!r}; choose one of {sorted(WEIGHTINGS)}")
    u, units = _magnitudes(samples, _voltage_array, "voltage")
    to_kv = _factor(units, "kV")
    spec = WEIGHTINGS[weighting]
    if spec.max_kv is not None:
        top = float(np.max(u))
        if not math.isfinite(top):
            _voltage_array(samples)                              # raises: NaN or infinite readings
        if top * to_kv > spec.max_kv:
            raise ValueError(f"the {weighting} PPV weighting is defined only up to {spec.max_kv:g} kV; "
                             f"the waveform reaches {top * to_kv:.4g} kV")
    sums = _weighted_sums(u, to_kv, weighting)
    if sums is None:                                             # a NaN or infinity, or an overflow
        _voltage_array(samples)                                  # raises for NaN and infinite readings
        sums = _direct_sums(u * to_kv, _WEIGHT_FORMS[weighting], spec.coefficients)
    sum_wu, sum_w, kept = sums
    if kept == 0:
        raise ValueError(f"no sample has a positive {weighting} PPV weight "
                         f"(waveform between {np.min(u) * to_kv:.4g} and {np.max(u) * to_kv:.4g} kV)")
    value_kv = sum_wu / sum_w
    return registry().Quantity(value_kv * _factor("kV", units), units)


# How `ppv` adds up Σ w·U and Σ w over a long waveform.
#
# Where a weighting is a polynomial p(U) of degree 4 (tungsten from 20 kV up, p > 0 above about 27.9 kV),
# Σ w and Σ w·U follow from the six power sums Σ (U − C)^k, k = 0..5, about a voltage C in the middle of the
# samples (see _polynomial_sums). For a waveform of at least _COMPILED_FROM samples, the power sums of the
# samples at or above `floor` (about 30.66 kV for tungsten: p is positive there and its terms do not cancel
# much, see _well_conditioned_from) are added by xcal.analysis.compiled: in one pass compiled by numba where
# it is installed, else in numpy passes over blocks that stay in the processor's cache; the other samples (a
# ramp, a low-kV stretch) are evaluated sample by sample exactly as the formula reads, so that a sample whose
# weight is zero or negative is left out. Shorter waveforms and the exponential forms are evaluated sample by
# sample with numpy, in blocks of _BLOCK. The result agrees with the sample-by-sample formula to a few parts
# in 1e16 (tests/analysis/test_waveform.py compares the two).

_COMPILED_FROM = 32768
_BLOCK = 32768

# Weightings that are a polynomial in U (kV) from some voltage up: (that voltage, coefficient names from the
# highest power down). Used only to add up many samples at once; the weights themselves are _WEIGHT_FORMS.
_POLYNOMIAL_BRANCHES: Mapping[str, tuple[float, tuple[str, ...]]] = MappingProxyType({
    "tungsten": (20.0, ("d", "e", "f", "g", "h")),
})


def _weighted_sums(u: np.ndarray, to_kv: float, weighting: str) -> tuple[float, float, int] | None:
    """Σ w·U and Σ w (U in kV) over the samples with a positive weight, and how many those are.

    `u` is in the unit that `to_kv` converts to kV. None if a sample is NaN or infinite (or a sum overflows).
    """
    spec = WEIGHTINGS[weighting]
    form = _WEIGHT_FORMS[weighting]
    branch = _POLYNOMIAL_BRANCHES.get(weighting)
    compiled = loops() if branch is not None and u.size >= _COMPILED_FROM else None
    by_polynomial = (0.0, 0.0, 0)
    rest = u
    if compiled is not None and branch is not None:
        poly = tuple(float(spec.coefficients[name]) for name in branch[1])
        floor = _well_conditioned_from(poly, branch[0]) / to_kv  # in the unit of u
        if floor < math.inf:
            centre = _centre(u, floor)
            powers = np.empty(6)
            count = compiled.power_sums_at_or_above(u, floor, centre, powers)
            sums = _polynomial_sums(powers, poly, centre, to_kv)
            if sums is None:
                return None
            by_polynomial = sums
            rest = compiled.samples_not_at_or_above(u, floor, count) if count else u[:0]
    sum_wu, sum_w, kept = by_polynomial
    for start in range(0, rest.size, _BLOCK):
        block = rest[start:start + _BLOCK]
        if not (math.isfinite(float(np.min(block))) and math.isfinite(float(np.max(block)))):
            return None
        wu, w, n = _direct_sums(block * to_kv if to_kv != 1.0 else block, form, spec.coefficients)
        sum_wu += wu
        sum_w += w
        kept += n
    if not (math.isfinite(sum_w) and math.isfinite(sum_wu)):
        return None
    return sum_wu, sum_w, kept


def _centre(u: np.ndarray, floor: float) -> float:
    """A voltage near the middle of the samples ≥ floor (from about a thousand of them), to sum powers about."""
    sample = u[::max(1, u.size // 1024)]
    above = sample[sample >= floor]
    return float(np.mean(above)) if above.size else floor


def _polynomial_sums(powers: np.ndarray, poly: tuple[float, ...], centre: float,
                     to_kv: float) -> tuple[float, float, int] | None:
    """Σ p(U)·U and Σ p(U) (U in kV) and their count, from M_k = Σ (u − centre)^k, k = 0..5 (u in its own unit).

    With C = centre in kV and D = U − C: p(U) = Σ b_k D^k, b_k = Σ_j c_j binom(j, k) C^(j−k) (p expanded about
    C), so Σ p = Σ b_k M_k to_kv^k and Σ p·U = C Σ p + Σ b_k M_(k+1) to_kv^(k+1). Summing powers of U − C rather
    than of U keeps the sums small where the samples are close together (a DC waveform gives exactly C).
    None if a sum is infinite or NaN (an infinite sample).
    """
    m = powers.tolist()
    if not all(math.isfinite(x) for x in m):
        return None
    if not m[0] > 0:
        return 0.0, 0.0, 0
    c_kv = centre * to_kv
    coefficients = list(reversed(poly))                          # coefficients[j] multiplies U^j
    degree = len(coefficients) - 1
    b = [math.fsum(coefficients[j] * math.comb(j, k) * c_kv ** (j - k) for j in range(k, degree + 1))
         for k in range(degree + 1)]
    scale = [to_kv ** k for k in range(degree + 2)]
    sum_w = math.fsum(b[k] * m[k] * scale[k] for k in range(degree + 1))
    spread = math.fsum(b[k] * m[k + 1] * scale[k + 1] for k in range(degree + 1))
    return c_kv * sum_w + spread, sum_w, int(m[0])


def _direct_sums(u_kv: np.ndarray, form: Callable[[np.ndarray, Mapping[str, float]], np.ndarray],
                 coefficients: Mapping[str, float]) -> tuple[float, float, int]:
    """Σ w·U, Σ w and their count over the samples with a positive weight, evaluated sample by sample."""
    weights = form(u_kv, coefficients)
    keep = weights > 0.0
    kept = int(np.count_nonzero(keep))
    if kept == 0:
        return 0.0, 0.0, 0
    if kept < weights.size:
        weights, u_kv = weights[keep], u_kv[keep]
    return float(np.sum(weights * u_kv)), float(np.sum(weights)), kept


@lru_cache(maxsize=16)
def _well_conditioned_from(poly: tuple[float, ...], start: float) -> float:
    """A voltage ≥ `start` from which the polynomial (coefficients from the highest power down) may be summed as
    power sums: positive, and not so close to a root that its terms cancel (Σ |c_j U^j| ≤ 16 · p(U), so that
    the sums keep about 14 of their 16 digits), checked every 0.01 kV up to 1000 kV.

    Infinity if there is no such voltage.
    """
    coefficients = np.trim_zeros(np.asarray(poly, dtype=float), "f")
    if coefficients.size == 0 or not coefficients[0] > 0.0:
        return math.inf
    roots = np.roots(coefficients)
    real = roots.real[np.abs(roots.imag) <= 1e-6 * np.maximum(1.0, np.abs(roots))]
    lowest = max([start, *real.tolist()])
    if lowest >= _CONDITION_SCAN_TO:
        return math.inf
    grid = np.arange(lowest, _CONDITION_SCAN_TO, 0.01)
    powers = grid[:, None] ** np.arange(coefficients.size - 1, -1, -1)
    terms = powers * coefficients
    poor = ~(np.abs(terms).sum(axis=1) <= _CONDITION_LIMIT * terms.sum(axis=1))
    if poor[-1]:
        return math.inf
    last_poor = np.flatnonzero(poor)
    return float(grid[last_poor[-1] + 1]) if last_poor.size else float(grid[0]) + 0.01


_CONDITION_LIMIT = 16.0
_CONDITION_SCAN_TO = 1000.0


def ripple(samples: QuantityLike) -> pint.Quantity:
    """Voltage ripple (Umax − Umin) / Umax in percent, over the samples given."""
    q = _voltage_array(samples)
    top, bottom = float(np.max(q.magnitude)), float(np.min(q.magnitude))
    if top <= 0.0:
        raise ValueError("ripple is undefined for a waveform whose maximum is not positive")
    return Q_((top - bottom) / top * 100.0, "percent")


def exposure_time(signal: QuantityLike, sample_interval: pint.Quantity,
                  threshold: float = 0.5) -> pint.Quantity:
    """Time from the first rise above to the last fall below `threshold` × peak of a sampled signal.

    Crossing times are interpolated linearly between samples. The signal must start and end below the
    threshold level (ValueError otherwise). The result is in the unit of `sample_interval`.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold is a fraction of the peak and must lie between 0 and 1, got {threshold}")
    dt = _time_interval(sample_interval)
    s, _ = _magnitudes(signal, lambda values: as_quantity_array(values, "signal"))
    peak, bottom = float(np.max(s)), float(np.min(s))
    if not (math.isfinite(peak) and math.isfinite(bottom)):
        as_quantity_array(signal, "signal")                      # raises: NaN or infinite readings
    if peak <= 0.0:
        raise ValueError("the signal has no positive peak, so it never crosses the threshold")
    level = threshold * peak
    first = _first_at_or_above(s, level)
    last = s.size - 1 - _first_at_or_above(s[::-1], level)
    if first == 0 or last == s.size - 1:
        raise ValueError("the signal does not cross the threshold: it is already above "
                         f"{threshold:g} × peak at its {'first' if first == 0 else 'last'} sample")
    rise = (first - 1) + (level - s[first - 1]) / (s[first] - s[first - 1])
    fall = last + (s[last] - level) / (s[last] - s[last + 1])
    return registry().Quantity(float((fall - rise) * dt.magnitude), dt.units)


def _first_at_or_above(values: np.ndarray, level: float) -> int:
    """Index of the first value ≥ level (there must be one), looking at ever longer stretches from the start."""
    begin, length = 0, 4096
    while True:
        stretch = values[begin:begin + length] >= level
        i = int(np.argmax(stretch))
        if stretch[i]:
            return begin + i
        begin, length = begin + length, min(2 * length, 1 << 18)


def _magnitudes(values: QuantityLike, validate: Callable[[QuantityLike], pint.Quantity],
                dimension: str | None = None) -> tuple[np.ndarray, Unit]:
    """The magnitudes (not copied) and unit of a 1-D float Quantity array, checked like `validate` does.

    Only the check that every value is finite is left to the caller, which must do it (as a min and a max, or
    sums that a NaN or infinity would spoil) and call `validate` to raise the error. Anything but a non-empty
    1-D float64 Quantity array of the right dimension goes through `validate` itself.
    """
    if isinstance(values, registry().Quantity):
        magnitude = values.magnitude
        if (type(magnitude) is np.ndarray and magnitude.ndim == 1 and magnitude.size > 0
                and magnitude.dtype == np.float64
                and (dimension is None or _has_dimension(values.units, dimension))):
            return magnitude, values.units
    q = validate(values)
    return q.magnitude, q.units


@lru_cache(maxsize=64)
def _has_dimension(units: Unit, dimension: str) -> bool:
    """`has_dimension` for a unit, remembered."""
    return has_dimension(registry().Quantity(1.0, units), dimension)


@lru_cache(maxsize=64)
def _factor(from_units: Unit | str, to_units: Unit | str) -> float:
    """The number that converts a magnitude in `from_units` to `to_units`."""
    return float(registry().Quantity(1.0, from_units).to(to_units).magnitude)


def _voltage_array(samples: QuantityLike) -> pint.Quantity:
    """Samples as a 1-D Quantity array that must be a voltage."""
    q = as_quantity_array(samples, "samples")
    if not has_dimension(q, "voltage"):
        raise ValueError(f"waveform samples must be voltages (e.g. kV), got unit {q.units}")
    return q


def _time_interval(sample_interval: pint.Quantity) -> pint.Quantity:
    """Check that the sample interval is a positive time."""
    q = as_quantity_array(sample_interval, "sample_interval")
    if q.magnitude.size != 1 or not has_dimension(q, "time") or q.magnitude[0] <= 0:
        raise ValueError(f"sample_interval must be one positive time such as Q_(0.05, 'ms'), "
                         f"got {sample_interval!r}")
    return registry().Quantity(float(q.magnitude[0]), q.units)
