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
a survey meter's scale; `mode`: how the exposure is made (aec, fluoro-normal, fluoro-high, leakage), or
what a survey meter is read in without one (check-source: its check source; background: no source at all)."""

SETTING_RANGES: dict[str, str] = {
    "kv": "positive",
    "ma": "positive",
    "time": "positive",
    "mas": "positive",
    "sid": "positive",
    "distance": "positive",
    "reference_rate": "positive",
    "filtration": "not negative",
    "added_filtration": "not negative",
    "phantom": "not negative",
    "barrier": "not negative",
    "occupancy": "fraction",
}
"""The values a station setting with a unit may take: `positive` (more than zero), `not negative` (zero allowed:
no added filtration, no phantom, no lead) or `fraction` (more than 0 and at most 1: the NCRP 147 occupancy
factor T). Every value must also be a finite number."""

SETTING_EXAMPLES: dict[str, str] = {
    "kv": "kv: 80 kV", "ma": "ma: 200 mA", "time": "time: 100 ms", "mas": "mas: 20 mAs", "sid": "sid: 100 cm",
    "distance": "distance: 100 cm", "reference_rate": "reference_rate: 20 µSv/h", "filtration": "filtration: 2.5 mm",
    "added_filtration": "added_filtration: 1 mm", "phantom": "phantom: 20 cm", "barrier": "barrier: 1.5 mm",
    "occupancy": "occupancy: 0.125",
}
"""How each setting with a unit is written, for the fix of an error."""

PARAMETER_KINDS: dict[str, tuple[str, str | None, str, str]] = {
    "workload": ("current_time", "time", "positive", "workload: 250 mA*min/week"),
}
"""Parameters with a fixed meaning besides those named like a station setting (`sid`, `distance`, ...):
name -> (dimension of the unit's numerator, dimension it is per or None, range as in SETTING_RANGES, example).
A workload is a tube current × time per period (mA·min/week, NCRP 147); `250 mA` is dimensionally the same but
means something else, so the unit must be written as an amount per time."""


def parameter_kind(name: str) -> tuple[str, str | None, str, str] | None:
    """(numerator dimension, per dimension, range, example) of a parameter with a fixed meaning, or None."""
    if name in PARAMETER_KINDS:
        return PARAMETER_KINDS[name]
    dimension = TECHNIQUE_KEYS.get(name)
    if dimension is not None and name in SETTING_RANGES:
        return dimension, None, SETTING_RANGES[name], SETTING_EXAMPLES[name]
    return None


MAX_STATIONS = 200
"""Most stations one station list may have (the library's longest has 6): a file's typing error, not a survey."""
MAX_REPEATS = 100
"""Most exposures at one station (`repeats`, and every whole-number parameter, which counts them); the library's
most is 10. Without a bound `repeats: 2147483648` passed validation and made a run that never ends."""

RANGE_FIX = {"positive": "of more than zero", "not negative": "of zero or more",
             "fraction": "of more than 0 and at most 1 (the NCRP 147 occupancy factor T: 1 for an office, "
                         "1/8 for a corridor door)"}
"""A range of SETTING_RANGES in the words of a fix: `give it a value of more than zero`."""


def value_problem(value: Any, allowed: str | None) -> str | None:
    """What is wrong with a quantity's number for the range `allowed` (see SETTING_RANGES), or None."""
    import math

    magnitude = value.to("").magnitude if allowed == "fraction" else value.magnitude
    try:
        number = float(magnitude)
    except (TypeError, ValueError):
        return "is not a single number"
    if not math.isfinite(number):
        return "is not a finite number"
    if allowed == "positive" and not number > 0:
        return "must be more than zero"
    if allowed == "not negative" and number < 0:
        return "must not be negative"
    if allowed == "fraction" and not 0 < number <= 1:
        return "must be more than 0 and at most 1 (a fraction)"
    return None


def unit_form(value: Any) -> tuple[Any, Any]:
    """The dimensionality of a quantity's unit above and below the line: `mA*min/week` -> (current × time,
    time), `mA` -> (current, dimensionless). Two quantities of one dimensionality may differ in this form."""
    from ..units import Q_

    def part(sign: int) -> Any:
        unit = Q_(1, "")
        for name, exponent in value.unit_items():
            if exponent * sign > 0:
                unit = unit * Q_(1, name) ** abs(exponent)
        return unit.dimensionality

    return part(1), part(-1)


def form_problem(value: Any, numerator: str, per: str | None) -> str | None:
    """None when the quantity is a `numerator` (a dimension name of xcal.units.DIMENSIONS) or, with `per`, is
    written as a `numerator` per `per` (mA·min/week, not mA); else what it is not, in words."""
    from ..units import DIMENSIONS, Q_, dimension_name, has_dimension

    what = numerator.replace("current_time", "current × time").replace("_", " ")
    if per is None:
        if has_dimension(value, numerator):
            return None
        found = dimension_name(value).replace("_", " ")
        return f"is {'a quantity of dimension ' if found.startswith('[') else 'a '}{found}, not a {what}"
    want = (Q_(1, DIMENSIONS[numerator]).dimensionality, Q_(1, DIMENSIONS[per]).dimensionality)
    if unit_form(value) == want:
        return None
    return f"is not a {what} per {'period of time' if per == 'time' else per.replace('_', ' ')}"


class ParameterValues(dict):  # type: ignore[type-arg]
    """Parameters as parsed from a file: a dict of name -> value that also remembers where each was written
    (`marks`: name -> Mark of the value; `station_marks`: name -> Mark of each station), so a check made later
    (against a procedure's defaults, when a site's room gives them) can name the file and line."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: dict[str, Any] = {}
        self.station_marks: dict[str, list[Any]] = {}


INSTRUMENT_VALUES: dict[str, str] = {
    "calibration_temperature": "degC",
    "calibration_pressure": "kPa",
    "check_source_expected": "µSv/h",
    "k_q": "",
}
"""Values a procedure's expressions may take from the site entry of the instrument in a role, named
`ROLE_NAME` (e.g. `electrometer_calibration_temperature`); see xcal.site.Instrument.values."""

STATION_INSTRUMENT_VALUES: frozenset[str] = frozenset({"k_q"})
"""Those of INSTRUMENT_VALUES that differ from station to station, so only `per: station` results may use
them: `k_q`, the certificate's beam-quality correction read at the station's kV (xcal.site.Instrument.k_q_at)."""

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
    stations: str | None = None
    """The station list whose stations it works on (a `background` list apart from the reference fields);
    None: every station measured."""


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

    def applies_to(self, station: Station | None) -> bool:
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
        """The stations of the list `name`, numbered across all station lists in the order they are written
        under `parameters:` (a `background` list after `stations` goes on from its last number), so that a
        number names one station of the run."""
        params = parameters if parameters is not None else self.parameters
        offset = 0
        for key, value in params.items():
            if key == name:
                break
            if isinstance(value, list):
                offset += len(value)
        return [Station(offset + i + 1, dict(values)) for i, values in enumerate(params[name])]

    def station_lists(self) -> list[str]:
        """The station lists the steps expose or measure at, each once, in the order of the steps."""
        names: list[str] = []
        for step in self.steps:
            if isinstance(step, ExposeStep) and step.stations not in names:
                names.append(step.stations)
        return names

    def result_stations(self, parameters: dict[str, Any], result: ResultDef) -> list[Station]:
        """The stations a result works on: those of its `stations` list, else those of every list measured."""
        lists = [result.stations] if result.stations else self.station_lists()
        return sorted((st for name in lists for st in self.stations(parameters, name)), key=lambda st: st.index)


@dataclass(frozen=True)
class StationFault:
    """What is wrong with the stations for a procedure: the message, the fix, and which station of which list
    (for the file and line when the list was written in a file), or the whole parameters."""

    message: str
    fix: str
    stations: str | None = None
    index: int | None = None


def exposure_need(station: Station, measure: bool) -> str | None:
    """The settings an exposure (or, with `measure`, a reading without one) at this station needs and it lacks,
    in words, or None. An exposure needs `kv`, `ma` and `time` or `mas`; with `mode: aec` the kV and the
    `phantom` the AEC ends behind; with `mode: fluoro-normal`/`fluoro-high` the `time` the beam is on. A reading
    without an exposure needs the `reference_rate` of its field, or at a survey `point` the beam-on `kv` and `ma`
    and the `distance`; `mode: check-source` and `mode: background` need nothing."""
    values, mode = station.values, station.values.get("mode")
    if measure:
        if mode in ("check-source", "background"):
            return None
        wanted = ("kv", "ma", "distance") if "point" in values else ("reference_rate",)
    elif mode == "aec":
        wanted = ("kv", "phantom")
    elif mode in ("fluoro-normal", "fluoro-high"):
        wanted = ("time",)
    else:
        wanted = ("kv", "ma")
        if "time" not in values and "mas" not in values:
            wanted = (*wanted, "time` or `mas")
    missing = [k for k in wanted if k not in values]
    return ", ".join(f"`{k}`" for k in missing) if missing else None


_NEEDS = {False: "an exposure needs `kv`, `ma` and `time` (or `mas`); with `mode: aec`, `kv` and `phantom`; "
                 "with a fluoroscopy mode, `time`",
          True: "a reading without an exposure needs the field's `reference_rate`, or at a survey `point` the "
                "beam-on `kv` and `ma` and the `distance`, or `mode: check-source` or `mode: background`"}


def station_fault(procedure: Procedure, parameters: dict[str, Any]) -> StationFault | None:
    """What is wrong with the stations for this procedure's steps, results and checks, or None: a setting a
    per-station expression uses that a station lacks; a setting the exposure (or reading) at a station needs
    that it lacks; a station that no check of a result covers when all of them have `only` (a check that
    matches no station is fine: a room may have no uncontrolled area)."""
    from .expressions import Expression

    uses: dict[str, set[bool]] = {}
    for step in procedure.steps:
        if hasattr(step, "reads"):
            uses.setdefault(step.stations, set()).add(isinstance(step, MeasureStep))
    # (list, number within the list for the file's line, the station numbered across the lists)
    stations = [(name, i + 1, station) for name in sorted(uses)
                for i, station in enumerate(procedure.stations(parameters, name))]
    scopes = {res.name: res.stations for res in procedure.results}

    def scoped(result: str) -> list[tuple[str, int, Station]]:
        return [entry for entry in stations if scopes.get(result) in (None, entry[0])]

    for res in procedure.results:
        if res.function != "expression" or res.per != "station":
            continue
        for key in sorted(Expression(res.of).names & set(TECHNIQUE_KEYS)):
            for name, local, station in scoped(res.name):
                if key not in station.values:
                    return StationFault(f"result '{res.name}' uses the station setting '{key}', and station "
                                        f"{station.index} ({station.label()}) does not give it",
                                        f"give `{key}:` at every station", name, local)
    for name, local, station in stations:
        for measure in sorted(uses[name]):
            missing = exposure_need(station, measure)
            if missing:
                return StationFault(f"station {station.index} ({station.label() or 'no settings'}) gives no "
                                    f"{missing}, which the {'reading' if measure else 'exposure'} there needs",
                                    f"add {missing} to station {station.index}: {_NEEDS[measure]}",
                                    name, local)
    by_result: dict[str, list[CheckDef]] = {}
    for check in procedure.checks:
        by_result.setdefault(check.result, []).append(check)
    for result, checks in by_result.items():
        if all(c.only for c in checks):
            for name, local, station in scoped(result):
                if not any(c.applies_to(station) for c in checks):
                    wanted = "; ".join(", ".join(f"{k}: {v}" for k, v in c.only) for c in checks)
                    return StationFault(f"station {station.index} ({station.label()}) is judged by no check of "
                                        f"'{result}' (they cover {wanted})",
                                        f"give station {station.index} the setting a check of '{result}' judges "
                                        f"({wanted})", name, local)
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
