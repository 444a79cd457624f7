"""Summary statistics of repeated readings, kept as pint Quantities so a unit is never lost.

Used for reproducibility (coefficient of variation, 21 CFR 1020.30(b)) and accuracy checks
(error and percent error of a measured value against its nominal setting).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from xcal.units import Q_, registry

if TYPE_CHECKING:  # pragma: no cover
    import pint

QuantityLike = Any
"""A pint Quantity (scalar or 1-D array) or a sequence of scalar Quantities."""


def as_quantity_array(values: QuantityLike, what: str = "values") -> pint.Quantity:
    """Turn a Quantity array or a sequence of Quantities into a 1-D float Quantity array.

    Items of a sequence are converted to the unit of the first one; bare numbers are refused because
    a reading without its unit cannot be compared or reported.
    """
    quantity_type = registry().Quantity
    if isinstance(values, quantity_type):
        quantity = values
    elif isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a Quantity array or a sequence of Quantities, "
                        f"got {type(values).__name__}")
    else:
        items = list(values)
        if not items:
            raise ValueError(f"{what} is empty; at least one reading is needed")
        bare = [item for item in items if not isinstance(item, quantity_type)]
        if bare:
            raise TypeError(f"{what} must all carry units (e.g. Q_(80, 'kV')); "
                            f"got the bare value {bare[0]!r}")
        unit = items[0].units
        magnitudes = np.array([item.to(unit).magnitude for item in items], dtype=float)
        quantity = quantity_type(magnitudes, unit)
    magnitudes = np.atleast_1d(np.asarray(quantity.magnitude, dtype=float))
    if magnitudes.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {magnitudes.shape}")
    if magnitudes.size == 0:
        raise ValueError(f"{what} is empty; at least one reading is needed")
    if not np.all(np.isfinite(magnitudes)):
        raise ValueError(f"{what} contains NaN or infinite readings")
    return quantity_type(magnitudes, quantity.units)


def mean(values: QuantityLike) -> pint.Quantity:
    """Arithmetic mean of the readings, in their unit."""
    q = as_quantity_array(values)
    return registry().Quantity(float(np.mean(q.magnitude)), q.units)


def sample_sd(values: QuantityLike) -> pint.Quantity:
    """Sample standard deviation (divisor n − 1), in the unit of the readings; needs n ≥ 2."""
    q = as_quantity_array(values)
    if q.magnitude.size < 2:
        raise ValueError(f"a sample standard deviation needs at least 2 readings, got {q.magnitude.size}")
    return registry().Quantity(float(np.std(q.magnitude, ddof=1)), q.units)


def cv(values: QuantityLike) -> pint.Quantity:
    """Coefficient of variation s / |mean| with the sample SD, as a dimensionless Quantity.

    This is the C of 21 CFR 1020.30(b); the absolute mean keeps a limit test `cv <= 0.05` honest for
    negative readings. Needs n ≥ 2 and a non-zero mean.
    """
    q = as_quantity_array(values)
    centre = float(np.mean(q.magnitude))
    if centre == 0.0:
        raise ValueError("the coefficient of variation is undefined when the mean is zero")
    spread = sample_sd(q).magnitude
    return Q_(spread / abs(centre), "")


def error(measured: pint.Quantity, nominal: pint.Quantity) -> pint.Quantity:
    """Measured minus nominal, in the unit of the nominal value (e.g. kV error of a kVp reading)."""
    _require_quantity(measured, "measured")
    _require_quantity(nominal, "nominal")
    return measured.to(nominal.units) - nominal


def percent_error(measured: pint.Quantity, nominal: pint.Quantity) -> pint.Quantity:
    """(measured − nominal) / nominal in percent, the usual form of a technique-factor accuracy check."""
    _require_quantity(measured, "measured")
    _require_quantity(nominal, "nominal")
    if np.any(np.asarray(nominal.magnitude) == 0):
        raise ValueError("percent error is undefined for a nominal value of zero")
    ratio = (measured.to(nominal.units).magnitude - nominal.magnitude) / nominal.magnitude
    return Q_(ratio * 100.0, "percent")


def _require_quantity(value: Any, what: str) -> None:
    """Refuse a bare number where a Quantity is needed."""
    if not isinstance(value, registry().Quantity):
        raise TypeError(f"{what} must be a Quantity with a unit (e.g. Q_(80, 'kV')), got {value!r}")
