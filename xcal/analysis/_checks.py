"""Argument checks shared by the analysis functions: a Quantity of the right kind holding one finite value.

They keep the public functions honest about units: a bare number is refused where a quantity is meant, and
a quantity of the wrong dimension is refused before any arithmetic is done with it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from xcal.units import Q_, registry

if TYPE_CHECKING:  # pragma: no cover
    import pint


def scalar(value: Any, what: str, like: str | None = None) -> pint.Quantity:
    """`value` as a scalar float Quantity whose dimension is that of the unit `like` (None: any).

    TypeError for a bare number or a non-scalar; ValueError for a wrong dimension or a non-finite value.
    """
    quantity_type = registry().Quantity
    if not isinstance(value, quantity_type):
        hint = f"e.g. Q_(2.5, '{like}')" if like else "e.g. Q_(2.5, 'mm')"
        raise TypeError(f"{what} must be a Quantity with a unit ({hint}), got {value!r}")
    try:
        magnitude = float(value.magnitude)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a single value, got {value!r}") from None
    if not math.isfinite(magnitude):
        raise ValueError(f"{what} must be finite, got {value!r}")
    if like is not None and value.dimensionality != Q_(1, like).dimensionality:
        raise ValueError(f"{what} must have the dimension of {like or 'a pure number'}, "
                         f"got {value.units:~P} ({value!r})")
    return quantity_type(magnitude, value.units)


def number(value: Any, what: str) -> float:
    """A pure number given as a float/int or as a dimensionless Quantity (e.g. Q_(50, '%')), as a float."""
    if isinstance(value, registry().Quantity):
        return float(scalar(value, what, "").to("").magnitude)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number or a dimensionless Quantity, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return float(value)


def positive(quantity: pint.Quantity, what: str) -> pint.Quantity:
    """Refuse a zero or negative quantity (a distance, a half-life, a dead time...)."""
    if quantity.magnitude <= 0:
        raise ValueError(f"{what} must be greater than zero, got {quantity:~P}")
    return quantity
