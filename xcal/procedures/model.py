"""The procedure model: what a validated procedure file becomes.

A procedure says which instruments it needs (by capability), its parameters (stations, repeats, geometry),
its steps (prompts and exposures with what to read), its results (fixed analysis functions over readings)
and its checks (a result against a named limit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Technique keys a station may set, with the dimension each must have (None: free text).
TECHNIQUE_KEYS: dict[str, str | None] = {
    "kv": "voltage",
    "ma": "current",
    "time": "time",
    "mas": "current_time",
    "sid": "length",
    "filtration": "length",
    "added_filtration": "length",
    "reference_rate": "dose_rate",
    "focal_spot": None,
    "mode": None,
    "distance": "length",
    "phantom": "length",
    "barrier": "length",
    "occupancy": "dimensionless",
    "point": None,
    "area": None,
    "position": None,
    "scale": None,
}
"""`distance`: focal spot (or, at a survey point, the patient) to the meter; `phantom`: acrylic in the beam;
`barrier`: lead between the source and a survey point; `occupancy`: its NCRP 147 factor T; `area`:
controlled or uncontrolled; `point`, `position`, `scale`: names of a survey point, a leakage position,
a survey meter's scale; `mode`: how the exposure is made (aec, fluoro-normal, fluoro-high, leakage,
check-source)."""

INSTRUMENT_VALUES: dict[str, str] = {
    "calibration_temperature": "degC",
    "calibration_pressure": "kPa",
    "check_source_expected": "µSv/h",
}
"""Values a procedure's expressions may take from the site entry of the instrument in a role, named
`ROLE_NAME` (e.g. `electrometer_calibration_temperature`); see xcal.site.Instrument.values."""

_LABEL_ORDER = ("point", "position", "scale", "mode", "kv", "ma", "time", "mas", "sid", "distance", "phantom",
                "filtration", "added_filtration", "barrier", "reference_rate", "focal_spot", "area", "occupancy")

@dataclass(frozen=True)
class Station:
    """One technique setting of a procedure, numbered from 1."""

    index: int
    values: dict[str, Any]

    def label(self) -> str:
        from ..units import format_quantity

        parts = []
        for key in _LABEL_ORDER:
            if key in self.values:
                v = self.values[key]
                text = v if isinstance(v, str) else format_quantity(v)
                if key == "added_filtration":
                    text = f"+{text} Al"
                elif key == "barrier":
                    text = f"{text} Pb"
                elif key == "phantom":
                    text = f"{text} acrylic"
                elif key == "occupancy":
                    text = f"T={text}"
                parts.append(text)
        return " ".join(parts)

    def snapshot(self) -> dict[str, str]:
        return {k: (v if isinstance(v, str) else f"{v:~P}") for k, v in self.values.items()}


@dataclass(frozen=True)
class PromptStep:
    text: str


@dataclass(frozen=True)
class ExposeStep:
    """Expose at each station `repeats` times and read the listed quantities from each instrument role."""

    stations: str
    repeats: str | int
    reads: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class MeasureStep(ExposeStep):
    """Read instruments at each station without an exposure (a survey meter in a reference field)."""


@dataclass(frozen=True)
class EnterStep:
    """Values the technician enters (or an --inputs file gives): name -> (a unit of the right kind, prompt)."""

    values: dict[str, tuple[str, str]]
    ranges: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """Plausible (lowest, highest) of a value, as Quantities: an entry outside is refused as a typing error."""


@dataclass(frozen=True)
class ResultDef:
    """A result: `function` of `of` (or an expression), per station, run or pair. `report` keeps it in the
    record and shows it even without a check (verdict INFO); `unit` is the unit it is shown in."""

    name: str
    function: str
    of: str
    per: str = "station"
    report: bool = False
    unit: str | None = None


@dataclass(frozen=True)
class CheckDef:
    id: str
    title: str
    result: str
    limit: str
    nominal: str | None = None
    only: tuple[tuple[str, str], ...] = ()
    """Station settings (key, text value) a station must have for the check to apply to it."""
    group: str | None = None
    """A text station setting (e.g. `scale`): besides each station, one verdict per value of it, the worst of
    its stations (a survey meter's scale passes only when all its points do)."""
    kinds: tuple[str, ...] = ()
    """For a procedure with a subject: the kinds of item the check judges (`apron` matches `apron (front)`)."""

    def judges_item(self, item: Any) -> bool:
        return not self.kinds or item is None or any(item.kind.startswith(k) for k in self.kinds)

    def applies_to(self, station: "Station | None") -> bool:
        return all(station is not None and station.values.get(k) == v for k, v in self.only)


@dataclass(frozen=True)
class Procedure:
    id: str
    version: str
    title: str
    modality: str
    description: str
    instruments: dict[str, str]
    parameters: dict[str, Any]
    steps: tuple[PromptStep | ExposeStep | MeasureStep | EnterStep, ...]
    results: tuple[ResultDef, ...]
    checks: tuple[CheckDef, ...]
    path: str = ""
    sha256: str = ""
    limit_names: frozenset[str] = field(default_factory=frozenset)
    subject: str | None = None
    """`apparel` when the procedure tests one garment of the site's inventory (named with --item)."""

    def entered_names(self) -> dict[str, tuple[str, str]]:
        return {k: v for s in self.steps if isinstance(s, EnterStep) for k, v in s.values.items()}

    def entered_ranges(self) -> dict[str, tuple[Any, Any]]:
        return {k: v for s in self.steps if isinstance(s, EnterStep) for k, v in s.ranges.items()}

    def stations(self, parameters: dict[str, Any] | None = None, name: str = "stations") -> list[Station]:
        params = parameters if parameters is not None else self.parameters
        return [Station(i + 1, dict(values)) for i, values in enumerate(params[name])]


def station_problem(procedure: Procedure, parameters: dict[str, Any]) -> str | None:
    """What is wrong with the stations for this procedure's results and checks, or None: a setting a
    per-station expression uses that a station lacks; a station that no check of a result covers when all
    of them have `only` (a check that matches no station is fine: a room may have no uncontrolled area)."""
    from .expressions import Expression

    lists = {getattr(step, "stations") for step in procedure.steps if hasattr(step, "reads")}
    stations = [Station(i + 1, dict(values)) for name in sorted(lists) for i, values in enumerate(parameters[name])]
    for res in procedure.results:
        if res.function != "expression" or res.per != "station":
            continue
        for name in sorted(Expression(res.of).names & set(TECHNIQUE_KEYS)):
            for station in stations:
                if name not in station.values:
                    return (f"result '{res.name}' uses the station setting '{name}', and station {station.index} "
                            f"({station.label()}) does not give it")
    by_result: dict[str, list[CheckDef]] = {}
    for check in procedure.checks:
        by_result.setdefault(check.result, []).append(check)
    for result, checks in by_result.items():
        if all(c.only for c in checks):
            for station in stations:
                if not any(c.applies_to(station) for c in checks):
                    wanted = "; ".join(", ".join(f"{k}: {v}" for k, v in c.only) for c in checks)
                    return (f"station {station.index} ({station.label()}) is judged by no check of '{result}' "
                            f"(they cover {wanted})")
    return None


@dataclass(frozen=True)
class Bundle:
    """A list of procedures run one after another on one room, with one verdict."""

    id: str
    version: str
    title: str
    modality: str
    description: str
    procedures: tuple[str, ...]
    path: str = ""
    sha256: str = ""


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill_text(template: str, values: dict[str, Any]) -> str:
    """Replace `{name}` with a parameter's value; nothing else in the text is interpreted."""
    from ..units import format_quantity

    def sub(m: re.Match[str]) -> str:
        v = values.get(m.group(1))
        if v is None:
            return m.group(0)
        return format_quantity(v) if hasattr(v, "magnitude") else str(v)

    return _PLACEHOLDER.sub(sub, template)
