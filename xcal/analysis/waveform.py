"""Quantities a kVp meter derives from a sampled waveform: practical peak voltage, ripple, exposure time.

The PPV weighting functions are kept as data (coefficients, source, verification status) because the
general-diagnostic polynomial is not yet confirmed against IEC 61676 (see qc-reference.md §3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from xcal.analysis.statistics import QuantityLike, as_quantity_array
from xcal.units import Q_, has_dimension, registry

if TYPE_CHECKING:  # pragma: no cover
    import pint

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


def ppv(samples: QuantityLike, weighting: str = "tungsten") -> "pint.Quantity":
    """IEC 61676 practical peak voltage of a uniformly sampled kV waveform: Σ w(Uᵢ)·Uᵢ / Σ w(Uᵢ).

    Samples whose weight is zero or negative (the tungsten polynomial between about 20 and 28 kV) are
    left out, since a negative weight would pull the result outside the waveform's range; ValueError if
    no sample keeps a positive weight, or, for "mammography", if any sample is above 50 kV.
    The result is in the unit of the samples.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown PPV weighting {weighting!r}; choose one of {sorted(WEIGHTINGS)}")
    q = _voltage_array(samples)
    u_kv = q.to("kV").magnitude
    spec = WEIGHTINGS[weighting]
    if spec.max_kv is not None and np.max(u_kv) > spec.max_kv:
        raise ValueError(f"the {weighting} PPV weighting is defined only up to {spec.max_kv:g} kV; "
                         f"the waveform reaches {np.max(u_kv):.4g} kV")
    weights = _WEIGHT_FORMS[weighting](u_kv, spec.coefficients)
    keep = weights > 0.0
    if not np.any(keep):
        raise ValueError(f"no sample has a positive {weighting} PPV weight "
                         f"(waveform between {np.min(u_kv):.4g} and {np.max(u_kv):.4g} kV)")
    value_kv = float(np.sum(weights[keep] * u_kv[keep]) / np.sum(weights[keep]))
    return Q_(value_kv, "kV").to(q.units)


def ripple(samples: QuantityLike) -> "pint.Quantity":
    """Voltage ripple (Umax − Umin) / Umax in percent, over the samples given."""
    q = _voltage_array(samples)
    top, bottom = float(np.max(q.magnitude)), float(np.min(q.magnitude))
    if top <= 0.0:
        raise ValueError("ripple is undefined for a waveform whose maximum is not positive")
    return Q_((top - bottom) / top * 100.0, "percent")


def exposure_time(signal: QuantityLike, sample_interval: "pint.Quantity",
                  threshold: float = 0.5) -> "pint.Quantity":
    """Time from the first rise above to the last fall below `threshold` × peak of a sampled signal.

    Crossing times are interpolated linearly between samples. The signal must start and end below the
    threshold level (ValueError otherwise). The result is in the unit of `sample_interval`.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold is a fraction of the peak and must lie between 0 and 1, got {threshold}")
    dt = _time_interval(sample_interval)
    s = as_quantity_array(signal, "signal").magnitude
    peak = float(np.max(s))
    if peak <= 0.0:
        raise ValueError("the signal has no positive peak, so it never crosses the threshold")
    level = threshold * peak
    above = np.flatnonzero(s >= level)
    first, last = int(above[0]), int(above[-1])
    if first == 0 or last == s.size - 1:
        raise ValueError("the signal does not cross the threshold: it is already above "
                         f"{threshold:g} × peak at its {'first' if first == 0 else 'last'} sample")
    rise = (first - 1) + (level - s[first - 1]) / (s[first] - s[first - 1])
    fall = last + (s[last] - level) / (s[last] - s[last + 1])
    return registry().Quantity(float((fall - rise) * dt.magnitude), dt.units)


def _voltage_array(samples: QuantityLike) -> "pint.Quantity":
    """Samples as a 1-D Quantity array that must be a voltage."""
    q = as_quantity_array(samples, "samples")
    if not has_dimension(q, "voltage"):
        raise ValueError(f"waveform samples must be voltages (e.g. kV), got unit {q.units}")
    return q


def _time_interval(sample_interval: "pint.Quantity") -> "pint.Quantity":
    """Check that the sample interval is a positive time."""
    q = as_quantity_array(sample_interval, "sample_interval")
    if q.magnitude.size != 1 or not has_dimension(q, "time") or q.magnitude[0] <= 0:
        raise ValueError(f"sample_interval must be one positive time such as Q_(0.05, 'ms'), "
                         f"got {sample_interval!r}")
    return registry().Quantity(float(q.magnitude[0]), q.units)
