"""Tolerances as written in limit files, and their evaluation against a measured value.

Forms: `±5 %`, `±2 kV`, `±(5 % + 1 kV)` (the sum), `±max(5 %, 2 kV)` (whichever is greater),
`≤ 0.05` / `≥ 2.3 mm` (one-sided bounds), `≥ table hvl-minimum-c` / `≤ table NAME` (a bound looked up in a
named table of `xcal.analysis.limit_tables` at a condition of the measurement, given to `evaluate` as
`context`, e.g. {"kvp": 80 kV}), and `as stated by the manufacturer` (no number of its own: the
limit must come from another set). Ratio tests (linearity, range / mean) are bounds on a dimensionless
result: `≤ 0.10`. A value exactly on the limit passes; values are compared unrounded, with only a relative
1e-9 allowance so that binary floating point cannot fail a value that is on the limit to the digit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..verdict import Verdict

if TYPE_CHECKING:
    from ..units import Quantity

_EXACT = 1e-9

PASS, WARN, FAIL, INFO = Verdict.PASS, Verdict.WARN, Verdict.FAIL, Verdict.INFO

_NUM = r"[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
_PM = r"(?:±|\+/-|\+-)"
_PCT = rf"(?P<pct>{_NUM})\s*%"
_ABS = rf"(?P<abs>{_NUM})\s*(?P<unit>[^\s,()%][^,()]*?)"


class Form(StrEnum):
    PERCENT = "percent"
    ABSOLUTE = "absolute"
    SUM = "sum"
    LARGER = "larger"
    MAX = "max"
    MIN = "min"
    DEFER = "defer"
    TABLE = "table"
    REPORTED = "reported"


_TABLE = re.compile(r"^(?P<side>≤|<=|≥|>=)\s*table\s+(?P<table>[A-Za-z0-9][A-Za-z0-9_.-]*)$")
_PATTERNS: list[tuple[Form, re.Pattern[str]]] = [
    (Form.PERCENT, re.compile(rf"^{_PM}\s*{_PCT}$")),
    (Form.SUM, re.compile(rf"^{_PM}\s*\(\s*{_PCT}\s*\+\s*{_ABS}\s*\)$")),
    (Form.LARGER, re.compile(rf"^{_PM}\s*max\s*\(\s*{_PCT}\s*,\s*{_ABS}\s*\)$")),
    (Form.ABSOLUTE, re.compile(rf"^{_PM}\s*{_ABS}$")),
    (Form.MAX, re.compile(rf"^(?:≤|<=|max)\s*(?P<bound>{_NUM}(?:\s*\S.*)?)$")),
    (Form.MIN, re.compile(rf"^(?:≥|>=|min)\s*(?P<bound>{_NUM}(?:\s*\S.*)?)$")),
    (Form.DEFER, re.compile(r"^as stated by the manufacturer$", re.IGNORECASE)),
]

FORMS_HELP = ("write one of: '±5 %', '±2 kV', '±(5 % + 1 kV)', '±max(5 %, 2 kV)', '≤ 0.05', '≥ 2.3 mm', "
              "'≥ table hvl-minimum-c', 'as stated by the manufacturer'")


@dataclass(frozen=True)
class Outcome:
    """The verdict of one value against one tolerance, with what was allowed and how much was used."""

    verdict: str
    allowed: Quantity | None    # the allowed deviation (± forms) or the bound (≤ / ≥ forms); None if reported
    deviation: Quantity | None  # measured − nominal (± forms), None for bounds
    used: float                 # fraction of the allowance used (1.0 = exactly on the limit)


class ToleranceError(ValueError):
    """A tolerance that cannot be read, with the fix to show (a ValueError, as before)."""

    def __init__(self, message: str, fix: str = FORMS_HELP) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True)
class Tolerance:
    """A parsed tolerance. `percent` is a plain number of percent; `amount` and `bound` are Quantities.

    For the table form, `table` is the name in `xcal.analysis.limit_tables.LIMIT_TABLES` and `upper` says
    whether the table gives a maximum (`≤`) or a minimum (`≥`).
    """

    form: Form
    text: str
    percent: float | None = None
    amount: Quantity | None = None
    bound: Quantity | None = None
    table: str | None = None
    upper: bool | None = None

    @property
    def needs_nominal(self) -> bool:
        return self.form in (Form.PERCENT, Form.ABSOLUTE, Form.SUM, Form.LARGER)

    @property
    def unit_quantity(self) -> Any:
        """The Quantity whose dimension the checked value must share, or None if any dimension fits."""
        if self.form is Form.TABLE:
            from ..units import Q_

            return Q_(1, self._limit_table().unit)
        return self.amount if self.amount is not None else self.bound

    @property
    def context_variable(self) -> str | None:
        """The `context` key `evaluate` needs (e.g. "kvp" for an HVL table), or None for other forms."""
        return self._limit_table().variable if self.form is Form.TABLE else None

    def condition(self, context: Mapping[str, Any] | None) -> Any:
        """The setting a table form is read at (e.g. the kVp, from `context`); None for other forms."""
        return self._limit_table().variable_from(context) if self.form is Form.TABLE else None

    def bound_at(self, context: Mapping[str, Any] | None = None) -> Any:
        """The bound of a `≤`/`≥` form as a Quantity; a table form looks it up at the condition in `context`."""
        if self.form is Form.TABLE:
            return self._limit_table().bound(context)
        if self.form in (Form.MAX, Form.MIN):
            return self.bound
        raise ValueError(f"tolerance '{self.text}' is not a bound")

    def _limit_table(self) -> Any:
        from ..analysis.limit_tables import limit_table

        return limit_table(str(self.table))

    def allowed_deviation(self, nominal: Quantity) -> Quantity:
        """The allowed |measured − nominal| for a ± form, in the unit of the nominal value."""
        pct = abs(nominal) * (self.percent / 100.0) if self.percent is not None else None
        amount = self.amount.to(nominal.units) if self.amount is not None else None
        if self.form is Form.PERCENT and pct is not None:
            return pct
        if self.form is Form.ABSOLUTE and amount is not None:
            return amount
        if self.form is Form.SUM and pct is not None and amount is not None:
            return pct + amount
        if self.form is Form.LARGER and pct is not None and amount is not None:
            return max(pct, amount)
        raise ValueError(f"tolerance '{self.text}' is not a ± form")

    def evaluate(self, value: Any, nominal: Any | None = None, warn_fraction: float | None = None, *,
                 context: Mapping[str, Any] | None = None) -> Outcome:
        """Judge `value` (a Quantity); ± forms judge value − nominal. WARN past `warn_fraction` of the allowance.

        A table form needs `context`, the measurement's conditions by name (see `context_variable`).
        """
        if self.form is Form.DEFER:
            raise ValueError("this tolerance defers to the manufacturer and has no number to compare with")
        if self.form is Form.REPORTED:
            return Outcome(INFO, None, None, 0.0)
        if self.needs_nominal:
            if nominal is None:
                raise ValueError(f"tolerance '{self.text}' needs the set (nominal) value")
            allowed = self.allowed_deviation(nominal)
            deviation = (value - nominal).to(nominal.units)
            size, limit = abs(deviation.magnitude), allowed.to(nominal.units).magnitude
        else:
            allowed = self.bound_at(context)
            limit_value = allowed.to(value.units).magnitude
            v = value.magnitude
            if self.form is Form.MAX or (self.form is Form.TABLE and self.upper):
                ok = v <= limit_value + _EXACT * abs(limit_value)
                used = v / limit_value if limit_value else (0.0 if v <= 0 else float("inf"))
            else:
                ok = v >= limit_value - _EXACT * abs(limit_value)
                used = limit_value / v if v else float("inf")
            return Outcome(self._verdict(ok, used, warn_fraction), allowed, None, used)
        ok = size <= limit * (1 + _EXACT)
        used = size / limit if limit else (0.0 if size == 0 else float("inf"))
        return Outcome(self._verdict(ok, used, warn_fraction), allowed, deviation, used)

    @staticmethod
    def _verdict(ok: bool, used: float, warn_fraction: float | None) -> str:
        if not ok:
            return FAIL
        if warn_fraction is not None and used > warn_fraction:
            return WARN
        return PASS


def parse_tolerance(text: Any) -> Tolerance:
    """Parse a tolerance string; raise ValueError naming the accepted forms."""
    from ..units import parse_quantity

    if not isinstance(text, str):
        raise ValueError(f"a tolerance is text such as '±5 %', got {text!r}")
    cleaned = " ".join(text.replace("μ", "µ").split())
    table = _TABLE.match(cleaned)
    if table:
        return _parse_table(table, cleaned)
    for form, pattern in _PATTERNS:
        m = pattern.match(cleaned)
        if not m:
            continue
        groups = m.groupdict()
        percent = float(groups["pct"]) if groups.get("pct") else None
        amount = bound = None
        if groups.get("abs"):
            amount = parse_quantity(f"{groups['abs']} {groups['unit']}")
            if amount.dimensionless:
                raise ValueError(f"'{text}': the amount after the percentage needs a unit, e.g. 1 kV")
        if groups.get("bound"):
            bound = parse_quantity(groups["bound"].strip())
        return Tolerance(form, cleaned, percent, amount, bound)
    raise ToleranceError(f"cannot read the tolerance '{text}'")


def _parse_table(match: re.Match[str], cleaned: str) -> Tolerance:
    """A `≥ table NAME` / `≤ table NAME` tolerance whose NAME must be a known limit table."""
    from ..analysis.limit_tables import LIMIT_TABLES

    name = match.group("table")
    if name not in LIMIT_TABLES:
        raise ToleranceError(f"unknown table '{name}' in '{cleaned}'",
                             fix=f"name one of the tables: {', '.join(LIMIT_TABLES)}")
    return Tolerance(Form.TABLE, cleaned, table=name, upper=match.group("side") in ("≤", "<="))


REPORTED = Tolerance(Form.REPORTED, "reported (no limit)")
"""The 'tolerance' of a result a procedure reports without judging it (verdict INFO); never parsed from YAML."""
