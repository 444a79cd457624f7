"""Piecewise-linear interpolation in tabulated data, shared by the HVL, k_Q and limit tables.

One function so that every table in xcal interpolates the same way; whether a table may be extrapolated
from its end segments is the caller's decision, never a silent default.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise


def interpolate(points: Sequence[tuple[float, float]], x: float, *, extrapolate: bool) -> float:
    """y at `x` on the polyline through `points` (x strictly increasing).

    Outside the points: the end segment's line if `extrapolate`, else ValueError. A single point is a
    constant when extrapolating and otherwise matches only its own x.
    """
    if not points:
        raise ValueError("the table has no points")
    xs = [p[0] for p in points]
    if any(b <= a for a, b in pairwise(xs)):
        raise ValueError(f"table abscissae must increase strictly, got {xs}")
    if not extrapolate and not xs[0] <= x <= xs[-1]:
        raise ValueError(f"{x:g} lies outside the table ({xs[0]:g} to {xs[-1]:g}) and is not extrapolated")
    if len(points) == 1:
        return float(points[0][1])
    i = 0
    while i < len(points) - 2 and x > xs[i + 1]:
        i += 1
    (x0, y0), (x1, y1) = points[i], points[i + 1]
    if x == x1:
        return float(y1)
    return float(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
