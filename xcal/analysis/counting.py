"""Counter corrections for survey meters and reference sources: GM dead time and radioactive decay.

Formulas from qc-reference.md §4: non-paralyzable n = m/(1 − mτ), paralyzable m = n·e^(−nτ), and
A(t) = A0 · 2^(−t/T½). Correct the gross rate for dead time first, then subtract background.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from xcal.analysis._checks import positive, scalar

if TYPE_CHECKING:  # pragma: no cover
    import pint

HALF_LIVES: dict[str, tuple[float, str, str]] = {
    "Cs-137": (30.08, "year", "qc-reference.md §4 (Cs-137 T½ = 30.08 y)"),
}
"""Half-lives of reference-field sources: (value, unit, source)."""

DEAD_TIME_MODELS = ("non-paralyzable", "paralyzable")


def dead_time_correct(measured_rate: pint.Quantity, tau: pint.Quantity,
                      model: str = "non-paralyzable") -> pint.Quantity:
    """True count rate n from the measured rate m and the dead time τ, in the unit of `measured_rate`.

    non-paralyzable: n = m/(1 − mτ), ValueError if mτ ≥ 1. paralyzable: solves m = n·e^(−nτ) on its low
    branch (n ≤ 1/τ) with the Lambert W function, n = −W0(−mτ)/τ; ValueError if m > 1/(eτ), the largest
    rate a paralyzable counter can show.
    """
    if model not in DEAD_TIME_MODELS:
        raise ValueError(f"model must be one of {', '.join(DEAD_TIME_MODELS)}, got {model!r}")
    m = scalar(measured_rate, "measured_rate", "1/s")
    if m.magnitude < 0:
        raise ValueError(f"a count rate cannot be negative, got {m:~P}")
    t = positive(scalar(tau, "tau", "s"), "tau")
    x = float((m * t).to("").magnitude)
    if model == "non-paralyzable":
        if x >= 1.0:
            raise ValueError(f"m·τ = {x:.4g} ≥ 1: the rate is beyond what a non-paralyzable counter can show")
        return m / (1.0 - x)
    from scipy.special import lambertw

    limit = 1.0 / math.e
    if x > limit:
        raise ValueError(f"m = {m:~P} exceeds 1/(eτ) = {(limit / t).to(m.units):~P}, the peak rate of a "
                         "paralyzable counter; no true rate gives it")
    true_x = float(-lambertw(-min(x, limit), 0).real)
    return (true_x / t).to(m.units)


def decay(a0: pint.Quantity, elapsed: pint.Quantity, half_life: pint.Quantity) -> pint.Quantity:
    """A(t) = A0 · 2^(−t/T½) for activity, or any quantity proportional to it (a reference air-kerma rate)."""
    start = scalar(a0, "a0")
    t = scalar(elapsed, "elapsed", "s")
    half = positive(scalar(half_life, "half_life", "s"), "half_life")
    return start * 2.0 ** (-float((t / half).to("").magnitude))
