"""Linearity of output between two technique stations and the range test of a short reproducibility series.

Both results are dimensionless so that a limit set can compare them with a plain number (`≤ 0.10`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from xcal.analysis._checks import scalar
from xcal.analysis.statistics import QuantityLike, as_quantity_array
from xcal.units import Q_

if TYPE_CHECKING:  # pragma: no cover
    import pint


def linearity(x1: pint.Quantity, x2: pint.Quantity) -> pint.Quantity:
    """|X1 − X2| / (X1 + X2) for the output per mAs (e.g. mGy/mAs) of two consecutive mA or mAs stations.

    21 CFR 1020.31(c) requires |X1 − X2| ≤ 0.10 (X1 + X2), i.e. this result ≤ 0.10 — not "±10 % of the
    mean" (qc-reference.md §1). Both X must be of the same kind and their sum positive.
    """
    first = scalar(x1, "X1")
    second = scalar(x2, "X2")
    if second.dimensionality != first.dimensionality:
        raise ValueError(f"X1 and X2 must be of the same kind, got {first.units:~P} and {second.units:~P}")
    second = second.to(first.units)
    total = first.magnitude + second.magnitude
    if total <= 0:
        raise ValueError(f"linearity needs a positive X1 + X2, got {first:~P} and {second:~P}")
    return Q_(abs(first.magnitude - second.magnitude) / total, "")


def range_ratio(values: QuantityLike) -> pint.Quantity:
    """(max − min) / mean of repeated readings, the state shortcuts for reproducibility from 4 exposures.

    Washington WAC 246-225-090 passes when (max − min) ≤ 0.10 × mean: this result ≤ 0.10.
    Oregon OAR 333-106-0315 passes when mean ≥ 5 × (max − min): this result ≤ 0.2 (qc-reference.md §1).
    Needs at least two readings with a positive mean.
    """
    q: Any = as_quantity_array(values, "values")
    m = q.magnitude
    if m.size < 2:
        raise ValueError(f"a range needs at least 2 readings, got {m.size}")
    centre = float(np.mean(m))
    if centre <= 0:
        raise ValueError(f"range_ratio needs readings with a positive mean, got {centre:g} {q.units:~P}")
    return Q_(float(np.max(m) - np.min(m)) / centre, "")
