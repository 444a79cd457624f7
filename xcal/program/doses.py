"""Dose quantities of the program records: read a dose written with its unit and keep it as a number of mSv.

Doses are stored in mSv (a plain number in the chain entry, so its JSON stays exact); any dose unit pint knows
is accepted on the way in (mSv, µSv, Sv, mrem, rem, and Gy or mGy, which count as Sv for X-rays: the radiation
weighting factor of photons is 1).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError

QUANTITIES = {"tede": "total effective dose equivalent (deep dose, Hp(10))",
              "lens": "lens dose equivalent (Hp(3))",
              "shallow": "shallow-dose equivalent to the skin or an extremity (Hp(0.07))"}
"""The dose quantities an incident or a badge report names, as the limits and notification levels use them."""


def to_msv(text: Any, what: str, fix: str | None = None) -> float:
    """`text` ('0.4 mSv', '40 mrem', or a Quantity) as mSv; ConfigError naming `what` for a value that is no dose
    or is negative."""
    from ..units import Q_, parse_quantity

    try:
        q = text if hasattr(text, "dimensionality") else parse_quantity(str(text).strip())
        value = float(q.to("mSv").magnitude) if q.dimensionality == Q_(1, "Sv").dimensionality else None
    except (ValueError, TypeError):
        value = None
    if value is None:
        raise ConfigError(f"{what} {text!r} is not a dose with its unit",
                          fix=fix or "write the dose with a unit, e.g. '0.4 mSv', '40 mrem' or '12 µSv'")
    if value < 0:
        raise ConfigError(f"{what} {text!r} is negative", fix=fix or "a dose is 0 or more")
    return value


def shown(msv: float | None) -> str:
    """A dose in mSv as a person reads it: '1.4 mSv', '—' when not assessed."""
    return "—" if msv is None else f"{msv:.3g} mSv"
