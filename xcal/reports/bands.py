"""The band a check's value had to fall in, rebuilt from the stored tolerance text and allowed/nominal values.

A run stores, per check, the tolerance as written (`±max(5 %, 2 kV)`, `≤ 0.10`, `≥ table hvl-minimum-c`),
the allowed deviation (± forms, in the value's unit) or the bound (≤ / ≥ forms, in the bound's own unit),
and the set value. That is enough to draw and print the band without re-reading any limit file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .text import num

TWO_SIDED, UPPER, LOWER = "two-sided", "upper", "lower"

_SIDES = ((TWO_SIDED, ("±", "+/-", "+-")), (UPPER, ("≤", "<=", "max")), (LOWER, ("≥", ">=", "min")))
_LITERAL_BOUND = re.compile(r"^(?:≤|<=|≥|>=|max|min)\s*[0-9.]+(?:[eE][-+]?[0-9]+)?\s*(?P<unit>\S.*)?$")


@dataclass(frozen=True)
class Band:
    """Accepted values lie in [low, high] (None: unbounded); [pass_low, pass_high] is the part without a warning."""

    side: str
    low: float | None
    high: float | None
    pass_low: float | None
    pass_high: float | None
    nominal: float | None = None


def side_of(limit_text: str) -> str | None:
    """Which kind of tolerance the text is: two-sided (±), upper bound (≤) or lower bound (≥); None otherwise."""
    text = (limit_text or "").strip()
    for side, prefixes in _SIDES:
        if text.startswith(prefixes):
            return side
    return None


def bound_in_value_unit(check: Any) -> float | None:
    """A ≤ / ≥ check's stored bound in the unit of its value; None when it cannot be expressed in it."""
    if check.allowed is None:
        return None
    found = _LITERAL_BOUND.match((check.limit_text or "").strip())
    unit = (found.group("unit") or "").strip() if found else ""
    if not unit:
        return float(check.allowed)
    try:
        from ..units import Q_

        return float(Q_(float(check.allowed), unit).to(check.unit or "dimensionless").magnitude)
    except Exception:  # noqa: BLE001 - any unit the registry cannot relate means: no band to draw
        return None


def band_of(check: Any, warn_fraction: float | None = None) -> Band | None:
    """The band of one stored check, or None when its tolerance gives no number in the value's unit."""
    side = side_of(check.limit_text)
    if side is None:
        return None
    wf = warn_fraction if warn_fraction and 0 < warn_fraction < 1 else None
    if side == TWO_SIDED:
        if check.nominal is None or check.allowed is None:
            return None
        n, a = float(check.nominal), abs(float(check.allowed))
        inner = a * wf if wf else a
        return Band(side, n - a, n + a, n - inner, n + inner, n)
    bound = bound_in_value_unit(check)
    if bound is None:
        return None
    if side == UPPER:
        return Band(side, None, bound, None, bound * wf if wf else bound)
    return Band(side, bound, None, bound / wf if wf else bound, None)


def tolerance_text(check: Any) -> str:
    """The tolerance as written and, where it is not already plain, the number it came to for this check."""
    text = check.limit_text or ""
    unit = check.unit or ""
    side = side_of(text)
    if check.allowed is None:
        return text
    if side == TWO_SIDED and check.nominal is not None:
        a, n = abs(float(check.allowed)), float(check.nominal)
        plus = f"±{num(a)} {unit}".rstrip()
        span = f"{num(n - a)}–{num(n + a)} {unit}".rstrip()
        return f"{text} = {plus} ({span})"
    if side in (UPPER, LOWER) and "table" in text:
        bound = bound_in_value_unit(check)
        sign = "≤" if side == UPPER else "≥"
        return f"{text} = {sign} {num(bound)} {unit}".rstrip() if bound is not None else text
    return text
