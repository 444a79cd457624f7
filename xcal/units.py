"""The one pint UnitRegistry of xcal, with the units of X-ray QC.

Everything that carries a unit goes through `ureg` / `Q_`. pint is imported on first use so that the
command line starts without it. `R` means roentgen here (not the gas constant); `mAs` is milliampere-second;
`cpm`/`cps` are counts per minute/second.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pint

_DEFINITIONS = (
    "R = roentgen",
    "mAs = milliampere * second",
    "cpm = count / minute",
    "cps = count / second",
)


@lru_cache(maxsize=1)
def registry() -> "pint.UnitRegistry":
    """Build the registry once, on first use.

    pint keeps its parsed definitions in the user's cache folder (`cache_folder=":auto:"`), which brings the
    registry's start from about half a second to a few tens of milliseconds in every later process.
    """
    import pint

    try:
        reg = pint.UnitRegistry(on_redefinition="ignore", autoconvert_offset_to_baseunit=True,
                                cache_folder=":auto:")
    except OSError:                                              # no writable user cache folder
        reg = pint.UnitRegistry(on_redefinition="ignore", autoconvert_offset_to_baseunit=True)
    for line in _DEFINITIONS:
        reg.define(line)
    reg.formatter.default_format = "~P"
    pint.set_application_registry(reg)
    return reg


class _LazyRegistry:
    """Stands for the registry and builds it on first attribute access."""

    def __getattr__(self, name: str) -> Any:
        return getattr(registry(), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return registry()(*args, **kwargs)


ureg: Any = _LazyRegistry()


def Q_(value: Any, unit: str | None = None) -> "pint.Quantity":
    """Build a Quantity: `Q_(80, "kV")` or `Q_("80 kV")`."""
    return registry().Quantity(value, unit) if unit is not None else registry().Quantity(value)


# Named dimensions, so files and messages can speak of "voltage" rather than "[mass] * [length] ** 2 ...".
DIMENSIONS: dict[str, str] = {
    "voltage": "V",
    "current": "A",
    "time": "s",
    "charge": "C",
    "current_time": "mAs",
    "length": "m",
    "air_kerma": "Gy",
    "air_kerma_rate": "Gy/s",
    "dose_rate": "Sv/h",
    "sensitivity": "cpm/(Sv/h)",
    "dose_area_product": "Gy*m**2",
    "exposure": "R",
    "temperature": "K",
    "pressure": "Pa",
    "dimensionless": "",
}


def dimension_name(quantity: "pint.Quantity") -> str:
    """The name from DIMENSIONS that fits this quantity, or its raw pint dimensionality."""
    for name, unit in DIMENSIONS.items():
        if quantity.dimensionality == registry().Quantity(1, unit).dimensionality:
            return name
    return str(quantity.dimensionality)


def has_dimension(quantity: "pint.Quantity", name: str) -> bool:
    """Whether `quantity` has the named dimension (a key of DIMENSIONS)."""
    return quantity.dimensionality == registry().Quantity(1, DIMENSIONS[name]).dimensionality


def parse_quantity(text: Any, dimension: str | None = None) -> "pint.Quantity":
    """Parse `"80 kV"`; raise ValueError naming what is wrong (no unit, unknown unit, wrong dimension)."""
    import pint

    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError(f"expected a quantity with a unit such as '80 kV', got {text!r}")
    if isinstance(text, (int, float)):
        if dimension in (None, "dimensionless"):
            return Q_(text, "")
        raise ValueError(f"{text!r} has no unit; write it with a unit of {dimension}, e.g. "
                         f"'{text} {DIMENSIONS[dimension] or ''}'".rstrip())
    cleaned = text.strip().replace("μ", "µ")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in cleaned):
        raise ValueError(f"{text!r} holds control characters; write a number and a unit such as '80 kV'")
    try:
        q = registry().Quantity(cleaned)
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, AttributeError,
            TypeError, ValueError, SyntaxError, AssertionError, KeyError, IndexError) as exc:
        raise ValueError(f"cannot read {text!r} as a quantity ({exc})") from None
    if not isinstance(q, registry().Quantity):
        q = Q_(q, "")
    if dimension is not None and not has_dimension(q, dimension):
        want = DIMENSIONS[dimension] or "no unit"
        raise ValueError(f"{text!r} is a {dimension_name(q)}, but a {dimension} is needed "
                         f"(a unit like {want})")
    return q


def format_quantity(q: "pint.Quantity", digits: int = 4) -> str:
    """Short display form, e.g. `80.12 kV`."""
    return f"{q.magnitude:.{digits}g} {q.units:~P}".strip()
