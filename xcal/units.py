"""The one pint UnitRegistry of xcal, with the units of X-ray QC.

Everything that carries a unit goes through `ureg` / `Q_`. pint is imported on first use so that the
command line starts without it. `R` means roentgen here (not the gas constant); `mAs` is milliampere-second;
`cpm`/`cps` are counts per minute/second.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:  # pragma: no cover
    import pint
    from pint.facets.plain import PlainUnit

    Quantity: TypeAlias = pint.Quantity
    """A value with its unit, for annotations (`from xcal.units import Quantity` under TYPE_CHECKING)."""
    Unit: TypeAlias = PlainUnit
    """A unit, as `Quantity.units` gives it, for annotations."""

_DEFINITIONS = (
    "R = roentgen",
    "mAs = milliampere * second",
    "cpm = count / minute",
    "cps = count / second",
)


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """Build the registry once, on first use.

    pint keeps its parsed definitions in the user's cache folder (`cache_folder=":auto:"`), which brings the
    registry's start from about half a second to a few tens of milliseconds in every later process.
    """
    import pint

    reg: pint.UnitRegistry
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


def __getattr__(name: str) -> Any:
    """`Quantity` and `Unit` outside type checking, importing pint only when they are asked for."""
    if name in ("Quantity", "Unit"):
        import pint

        return getattr(pint, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def Q_(value: Any, unit: str | Unit | None = None) -> pint.Quantity:
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


def dimension_name(quantity: pint.Quantity) -> str:
    """The name from DIMENSIONS that fits this quantity, or its raw pint dimensionality."""
    for name, unit in DIMENSIONS.items():
        if quantity.dimensionality == registry().Quantity(1, unit).dimensionality:
            return name
    return str(quantity.dimensionality)


def has_dimension(quantity: pint.Quantity, name: str) -> bool:
    """Whether `quantity` has the named dimension (a key of DIMENSIONS)."""
    return quantity.dimensionality == registry().Quantity(1, DIMENSIONS[name]).dimensionality


MAX_TEXT = 200
"""Longest quantity text read: `0.25 Gy*cm**2/s` is 15 characters; pint's parser is recursive and slow on more."""
MAX_NESTING = 4
"""Deepest parentheses in a quantity (`cpm/(Sv/h)` has one level)."""
MAX_POWER = 12
"""Largest exponent written after `**` or `^` (`cm**2`, `s^-1`); `9**9**9` would never finish."""

_POWER = re.compile(r"(\*\*|\^)\s*(\(?)\s*([+-]?)\s*([0-9]*\.?[0-9]*)")


def bounded_text(text: str) -> str:
    """`text` unchanged if pint can read it quickly, else ValueError naming it: too long, parentheses unbalanced
    or nested deeper than MAX_NESTING, or a power that is not a small number (MAX_POWER), or chained."""
    shown = repr(text[:40]) + ("..." if len(text) > 40 else "")
    if len(text) > MAX_TEXT:
        raise ValueError(f"{shown} has {len(text)} characters, more than the {MAX_TEXT} a quantity may have; "
                         "write a number and a unit such as '80 kV'")
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0 or depth > MAX_NESTING:
            break
    if depth != 0:
        raise ValueError(f"{shown} has unbalanced parentheses or more than {MAX_NESTING} levels of them; "
                         "write a unit such as 'cpm/(Sv/h)'")
    for match in _POWER.finditer(text):
        digits = match.group(4)
        after = text[match.end():].lstrip(" )")
        if (not digits.strip(".") or float(digits) > MAX_POWER or after.startswith(("**", "^"))
                or (match.group(2) and not text[match.end():].lstrip().startswith(")"))):
            raise ValueError(f"{shown} has a power that is not a number from -{MAX_POWER} to {MAX_POWER}; "
                             "write powers as in 'cm**2' or 's^-1'")
    return text


def parse_quantity(text: Any, dimension: str | None = None) -> pint.Quantity:
    """Parse `"80 kV"`; raise ValueError naming what is wrong (no unit, unknown unit, wrong dimension, text
    too long or too deep for the parser: see bounded_text). The one place a quantity's text is parsed."""
    import pint

    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError(f"expected a quantity with a unit such as '80 kV', got {text!r}")
    if isinstance(text, (int, float)):
        if dimension in (None, "dimensionless"):
            return Q_(_finite_enough(text, repr(text)), "")
        raise ValueError(f"{text!r} has no unit; write it with a unit of {dimension}, e.g. "
                         f"'{text} {DIMENSIONS[dimension] or ''}'".rstrip())
    cleaned = bounded_text(text.strip().replace("μ", "µ"))
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in cleaned):
        raise ValueError(f"{text!r} holds control characters; write a number and a unit such as '80 kV'")
    q: pint.Quantity
    try:
        q = registry().Quantity(cleaned)
    except ZeroDivisionError:
        raise ValueError(f"{text!r} divides by zero; write a number and a unit such as '80 kV'") from None
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError) as exc:
        raise ValueError(f"cannot read {text!r} as a quantity ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - pint's tokenizer and evaluator fail on odd text in assorted ways
        raise ValueError(f"cannot read {text!r} as a quantity ({type(exc).__name__}); write a number and a "
                         "unit such as '80 kV'") from None
    if not isinstance(q, registry().Quantity):
        q = Q_(q, "")
    _finite_enough(q.magnitude, repr(text))
    if dimension is not None and not has_dimension(q, dimension):
        want = DIMENSIONS[dimension] or "no unit"
        raise ValueError(f"{text!r} is a {dimension_name(q)}, but a {dimension} is needed "
                         f"(a unit like {want})")
    return q


def _finite_enough(magnitude: Any, shown: str) -> Any:
    """`magnitude` if it fits a float (a 400-digit whole number does not, and fails later in arithmetic)."""
    try:
        float(magnitude)
    except OverflowError:
        raise ValueError(f"{shown[:43]} is a number too large to use; check the value") from None
    except (TypeError, ValueError):
        pass
    return magnitude


def format_quantity(q: pint.Quantity, digits: int = 4) -> str:
    """Short display form, e.g. `80.12 kV`."""
    return f"{q.magnitude:.{digits}g} {q.units:~P}".strip()


AIR_KERMA_PER_ROENTGEN = "8.76 mGy/R"
"""Air kerma per unit exposure: W/e x 1 R = 33.97 J/C x 2.58e-4 C/kg = 8.764 mGy, as 21 CFR 1020 rounds it
(0.88 mGy for 100 mR, 88 mGy/min for 10 R/min); see domain/qc-reference.md."""

TYPED_UNITS = ("kV", "V", "mA", "A", "µA", "nA", "pA", "mAs", "s", "ms", "µs", "min", "h", "Gy", "cGy", "mGy",
               "µGy", "nGy", "Sv", "mSv", "µSv", "nSv", "R", "mR", "µR", "C", "mC", "µC", "nC", "pC", "m", "cm",
               "mm", "µm", "Pa", "kPa", "hPa", "mbar", "bar", "degC", "K", "cpm", "cps", "Hz", "kHz")
"""The units of X-ray QC a technician types. Any spelling of one whatever its case (`KV`, `mgy`, `MR`) means it,
and `u` stands for µ (`uGy`), because the mega- or other units that case alone would tell apart (MGy, MR, Ms)
are absurd here. Where two of them differ only in case (`Pa` pascal, `pA` picoampere) the case must be typed
as written; other words go to pint as typed (`second`, `inch`, `mmHg`)."""


def _typed_spellings() -> dict[str, tuple[str, ...]]:
    spellings: dict[str, list[str]] = {}
    for unit in TYPED_UNITS:
        keys = {unit.lower()} | ({"u" + unit[1:].lower()} if unit.startswith("µ") else set())
        for key in keys:
            spellings.setdefault(key, []).append(unit)
    return {key: tuple(units) for key, units in spellings.items()}


_SPELLINGS = _typed_spellings()
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WORD = re.compile(r"([A-Za-zµ°]+)([23](?![0-9.]))?")


def typed_unit_text(text: str) -> str:
    """A unit part as typed, in the spelling pint reads: `mm2` -> `mm**2`, `kv` -> `kV`, `uGy` -> `µGy`.
    ValueError for a spelling that is ambiguous (`pa`)."""
    def word(match: re.Match[str]) -> str:
        name, power = match.group(1), match.group(2)
        if name not in TYPED_UNITS and name.lower() in _SPELLINGS:
            meant = _SPELLINGS[name.lower()]
            if len(meant) > 1:
                raise ValueError(f"'{name}' could be {' or '.join(sorted(meant))}: type it with that case")
            name = meant[0]
        return name + (f"**{power}" if power else "")

    return _WORD.sub(word, text)


@dataclass(frozen=True)
class Typed:
    """A value as a technician typed it: the text, the quantity it was read as, and the value to use
    (`read` itself, or an exposure in R converted to air kerma by AIR_KERMA_PER_ROENTGEN)."""

    typed: str
    read: pint.Quantity
    value: pint.Quantity

    @property
    def converted(self) -> bool:
        return self.value is not self.read


def parse_typed(text: str, unit: str) -> Typed:
    """Read a value typed at the console or written in an inputs file, for a value asked in `unit`.

    Lenient where a person is: a bare number is in `unit`; unit names in any case (TYPED_UNITS), `u` for µ, a
    trailing 2 or 3 as a power (`mm2`); an exposure (R, mR/min...) where air kerma is asked is converted. Files
    written by engineers (procedures, limits, sites) keep parse_quantity's strict reading. ValueError naming
    the text and what to type otherwise.
    """
    cleaned = (text or "").strip().replace("μ", "µ")
    example = f"e.g. 0.5 or 0.5 {unit}"
    if not cleaned:
        raise ValueError(f"nothing was typed: type a number in {unit} ({example})")
    number = _NUMBER.match(cleaned)
    if number is None:
        raise ValueError(f"'{cleaned}' does not start with a number: type a number in {unit} ({example})")
    if "," in cleaned:
        raise ValueError(f"'{cleaned}' has a comma: type the decimal point as a point ({example})")
    rest = cleaned[number.end():].strip()
    try:
        read = parse_quantity(f"{number.group()} {typed_unit_text(rest) if rest else unit}")
    except ValueError as exc:
        raise ValueError(f"{exc}; type a number in {unit} ({example})") from None
    if not math.isfinite(float(read.magnitude)):
        raise ValueError(f"'{cleaned}' is not a finite number: type a number in {unit} ({example})")
    wanted = Q_(1, unit).dimensionality
    value = read
    if read.dimensionality != wanted:
        kerma = read * Q_(AIR_KERMA_PER_ROENTGEN)
        if kerma.dimensionality != wanted:
            raise ValueError(f"'{cleaned}' is not in a unit like {unit}: type a number in {unit} ({example})")
        value = kerma.to((Q_(1, unit)).units)
    return Typed((text or "").strip(), read, value)


NEVER_NEGATIVE: dict[str, str] = {"an area": "m**2", "a volume": "m**3"}
"""Kinds of entered value that cannot be below zero, whatever range a procedure gives (or does not give)."""


def sign_problem(name: str, value: pint.Quantity) -> str | None:
    """Why an entered value breaks its kind's sign rule (`'crack' = -3 mm² is negative, and an area never is`),
    or None."""
    for kind, unit in NEVER_NEGATIVE.items():
        if value.dimensionality == Q_(1, unit).dimensionality and value.magnitude < 0:
            return f"'{name}' = {value:~P} is negative, and {kind} never is"
    return None
