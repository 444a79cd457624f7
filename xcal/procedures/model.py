"""The procedure model: what a validated procedure file becomes.

A procedure says which instruments it needs (by capability), its parameters (stations, repeats, geometry),
its steps (prompts and exposures with what to read), its results (fixed analysis functions over readings)
and its checks (a result against a named limit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..parameters import TECHNIQUE_KEYS

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
    wanted: tuple[str, ...]
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
        if isinstance(step, ExposeStep):
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
