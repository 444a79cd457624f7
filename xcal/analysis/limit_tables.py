"""Named bounds that vary with a condition of the measurement, for the `≥ table NAME` form of limit sets.

A limit such as the minimum HVL is not one number but a table in kVp; limit sets name the table here and
the runner passes the condition (e.g. {"kvp": 80 kV}) when it evaluates. Each table carries its source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from xcal.analysis._checks import scalar
from xcal.analysis.hvl import MAMMOGRAPHY_SOURCE, TABLE_1_SOURCE, hvl_minimum
from xcal.units import Q_

if TYPE_CHECKING:  # pragma: no cover
    import pint


@dataclass(frozen=True)
class LimitTable:
    """A bound as a function of one context variable (looked up under `variable` or one of `aliases`)."""

    name: str
    description: str
    variable: str
    aliases: tuple[str, ...]
    variable_unit: str
    unit: str
    source: str
    verification: str
    function: Callable[[pint.Quantity], pint.Quantity]

    def variable_from(self, context: Mapping[str, Any] | None) -> pint.Quantity:
        """The table's variable out of `context`; ValueError naming the key and the unit it needs."""
        for key in (self.variable, *self.aliases):
            if context and key in context:
                return scalar(context[key], f"context['{key}']", self.variable_unit)
        keys = " or ".join(repr(k) for k in (self.variable, *self.aliases))
        raise ValueError(f"table '{self.name}' needs the {keys} of the measurement (in {self.variable_unit}) "
                         f"in `context`, e.g. context={{'{self.variable}': Q_(80, '{self.variable_unit}')}}")

    def bound(self, context: Mapping[str, Any] | None) -> pint.Quantity:
        """The bound at the condition given in `context`, in the table's unit."""
        return self.function(self.variable_from(context)).to(self.unit)


def _aec_minimum_time(ma: pint.Quantity) -> pint.Quantity:
    current = scalar(ma, "ma", "mA")
    if current.magnitude <= 0:
        raise ValueError(f"the tube current must be positive, got {current:~P}")
    return max(Q_(1 / 60, "s"), (Q_(5, "mAs") / current).to("s"))


def _aec_backup_mas(kvp: pint.Quantity) -> pint.Quantity:
    return Q_(2000.0 if kvp.to("kV").magnitude < 51 else 600.0, "mAs")


def _hvl_column(column: str) -> Callable[[pint.Quantity], pint.Quantity]:
    return lambda kvp: hvl_minimum(kvp, column)


_KVP = ("kvp", ("kv",), "kV")
_HVL_TABLE_1_NOTE = "[V for A and B; V for C up to 80 kVp; C at 90-150 kVp M]"

LIMIT_TABLES: Mapping[str, LimitTable] = MappingProxyType({
    "hvl-minimum-a": LimitTable(
        "hvl-minimum-a", "minimum HVL, Table 1 column A (dental intraoral made after 1 Dec 1980)", *_KVP,
        "mm", f"{TABLE_1_SOURCE}, column A", "checked", _hvl_column("A")),
    "hvl-minimum-b": LimitTable(
        "hvl-minimum-b", "minimum HVL, Table 1 column B (dental intraoral made on/before 1 Dec 1980, other "
        "systems made before 10 Jun 2006)", *_KVP, "mm", f"{TABLE_1_SOURCE}, column B", "checked",
        _hvl_column("B")),
    "hvl-minimum-c": LimitTable(
        "hvl-minimum-c", "minimum HVL, Table 1 column C (all but dental intraoral, made on/after 10 Jun 2006); "
        f"{_HVL_TABLE_1_NOTE}", *_KVP, "mm", f"{TABLE_1_SOURCE}, column C", "quoted", _hvl_column("C")),
    "hvl-minimum-mammography": LimitTable(
        "hvl-minimum-mammography", "minimum HVL of mammography, kVp/100 + 0.03 mm Al (compression paddle in "
        "place)", *_KVP, "mm", MAMMOGRAPHY_SOURCE, "quoted",
        lambda kvp: hvl_minimum(kvp, mammography=True)),
    "aec-minimum-time": LimitTable(
        "aec-minimum-time", "AEC minimum exposure time at >= 51 kVp: 1/60 s or the time for 5 mAs at the "
        "tube current, whichever is greater", "ma", (), "mA", "ms", "21 CFR 1020.31(a)(3)", "quoted",
        _aec_minimum_time),
    "aec-backup-mas": LimitTable(
        "aec-backup-mas", "AEC backup termination: 600 mAs at >= 51 kVp, 2000 mAs below 51 kVp (the 60 kWs "
        "alternative is the limit aec-backup-energy)", *_KVP, "mAs", "21 CFR 1020.31(a)(3)", "quoted",
        _aec_backup_mas),
})
"""Every table a limit set may name, by name."""


def limit_table(name: str) -> LimitTable:
    """The table called `name`; ValueError listing the known names."""
    try:
        return LIMIT_TABLES[name]
    except KeyError:
        raise ValueError(f"unknown table '{name}'; known tables: {', '.join(LIMIT_TABLES)}") from None
