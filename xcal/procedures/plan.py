"""Prepare a run: pick the procedure, the room's instruments by role and the limits that apply.

Everything that can be wrong before a meter is touched is found here: unknown room, a role with no
instrument or an instrument without the capability, a limit no room set defines or of the wrong unit,
and calibration past due (refused unless overridden with a reason).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..limits.sets import Limit, resolve
from ..site import Instrument, Room, Site
from ..yamlfile import fail
from .model import ExposeStep, Procedure, Station


@dataclass
class RunPlan:
    site: Site
    room: Room
    procedure: Procedure
    parameters: dict[str, Any]
    instruments: dict[str, Instrument]
    limits: dict[str, Limit]
    expired_calibration: list[str] = field(default_factory=list)
    calibration_override: str | None = None
    instrument_values: dict[str, Any] = field(default_factory=dict)
    """Values from the instruments' site entries, named ROLE_NAME (see model.INSTRUMENT_VALUES)."""
    item: Any = None
    """The inventory item under test (a garment), for a procedure with a `subject`."""

    @property
    def simulated(self) -> bool:
        """Any simulated instrument, or a procedure of entered values run on the demo site."""
        return any(inst.simulated for inst in self.instruments.values()) or (
            not self.instruments and self.site.is_demo)

    def expose_steps(self) -> list[ExposeStep]:
        return [s for s in self.procedure.steps if isinstance(s, ExposeStep)]

    def stations(self, step: ExposeStep) -> list[Station]:
        return self.procedure.stations(self.parameters, step.stations)

    def repeats(self, step: ExposeStep) -> int:
        return int(self.parameters[step.repeats]) if isinstance(step.repeats, str) else int(step.repeats)

    def total_exposures(self) -> int:
        return sum(len(self.stations(s)) * self.repeats(s) for s in self.expose_steps())


def known_limits(site: Site) -> dict[str, list[Limit]]:
    """Every limit name defined by any set the site knows, with each definition."""
    names: dict[str, list[Limit]] = {}
    for limit_set in site.limit_sets.values():
        for name, limit in limit_set.limits.items():
            names.setdefault(name, []).append(limit)
    return names


def prepare(site: Site, room_id: str | int, procedure: Procedure, *, parameters: dict[str, Any] | None = None,
            allow_expired_calibration: str | None = None, today: dt.date | None = None,
            item: str | None = None, require_item: bool = True) -> RunPlan:
    room = site.room(room_id)
    if procedure.modality == "fluoroscopy" and "fluoro" not in room.modality.lower():
        kind = room.modality or "room of no stated modality"
        raise ConfigError(f"{procedure.id} is a fluoroscopy test and {room.label()} is a {kind} room",
                          fix="run it in a fluoroscopy room, or give the room `modality: fluoroscopy` in the site "
                              "file if it has fluoroscopy")
    _refuse_general_radiography_in_dental_room(room, procedure, parameters)
    subject = _item(site, procedure, item) if item is not None or require_item else None
    params = _parameters(room, procedure, parameters)

    instruments: dict[str, Instrument] = {}
    for role, capability in procedure.instruments.items():
        iid = room.instruments.get(role)
        if iid is None:
            raise ConfigError(f"{room.label()} has no instrument for the role '{role}' ({capability}) that "
                              f"{procedure.id} needs", fix=f"add `{role}: INSTRUMENT_ID` under the room's "
                              "`instruments:` in the site file")
        inst = site.instruments[iid]
        if capability not in inst.capabilities:
            raise ConfigError(f"instrument {inst.describe()} in the role '{role}' is not a {capability}",
                              fix=f"assign an instrument with the {capability} capability to '{role}'")
        instruments[role] = inst

    from ..drivers.registry import get_driver_class

    for step in procedure.steps:
        for role, names in getattr(step, "reads", {}).items():
            inst = instruments[role]
            if "waveform" in names and not getattr(get_driver_class(inst.driver), "gives_waveform", True):
                raise ConfigError(f"{procedure.id} reads a waveform from {inst.describe()}, and its '{inst.driver}' "
                                  "driver cannot give one", fix="use a procedure without `waveform` in its readings "
                                  "(copy it and take `waveform` out of `read:`), or a meter with a waveform readout")

    limits: dict[str, Limit] = {}
    for check in procedure.checks:
        limit = resolve(check.limit, list(room.limit_sets), site.limit_sets, room=room.label())
        limits[check.limit] = limit

    today = today or dt.date.today()
    values = _instrument_values(procedure, instruments, today)
    expired = []
    for inst in instruments.values():
        if not inst.check_calibration(today, allow_expired_calibration):
            expired.append(inst.id)
    return RunPlan(site, room, procedure, params, instruments, limits, expired,
                   allow_expired_calibration if expired else None, values, subject)


def _parameters(room: Room, procedure: Procedure, parameters: dict[str, Any] | None) -> dict[str, Any]:
    """The procedure's parameters with the room's (site file) and the run's own values put in, each checked
    against the procedure's default before anything is measured: the same kind (dimension, and a unit written
    the same way: a workload in mA·min/week, not mA), a finite number in the range its meaning allows (a
    parameter named like a station setting or in model.PARAMETER_KINDS; any other quantity not negative when its
    default is not), a whole number of at least 1, stations whose settings have their units and ranges and give
    what each exposure needs. Errors name the room's parameters and, where it is known, the site file's line."""
    from ..units import DIMENSIONS, has_dimension
    from .model import (RANGE_FIX, SETTING_EXAMPLES, SETTING_RANGES, TECHNIQUE_KEYS, form_problem, parameter_kind,
                        station_fault, unit_form, value_problem)

    from_room = room.parameters.get(procedure.id, {})
    given = parameters or {}
    marks: dict[str, Any] = getattr(from_room, "marks", {})
    station_marks: dict[str, list[Any]] = getattr(from_room, "station_marks", {})

    def refuse(message: str, fix: str, mark: Any = None) -> ConfigError:
        return fail(message, mark, fix=fix) if mark is not None else ConfigError(message, fix=fix)

    params = dict(procedure.parameters)
    for key, value in {**from_room, **given}.items():
        in_room = key in from_room and key not in given
        if key not in params:
            raise ConfigError(f"procedure {procedure.id} has no parameter '{key}'",
                              fix=f"use one of: {', '.join(params)}")
        default = params[key]
        origin = f" (in {room.label()}'s parameters)" if in_room else ""
        mark = marks.get(key) if in_room else None
        same_kind = (value.dimensionality == default.dimensionality if hasattr(default, "units")
                     and hasattr(value, "units") else type(value) is type(default))
        if not same_kind or isinstance(value, bool):
            place = f"at {mark.file}:{mark.line}:{mark.column}, " if mark is not None else ""
            raise ConfigError(f"parameter '{key}' of {procedure.id}{origin} must be like {_shown(default)}, got "
                              f"{_shown(value)}",
                              fix=f"{place}give a value of the same kind as the procedure's default ("
                                  + (f"e.g. `{_example(key, default)}`" if hasattr(default, "units") else
                                     "a whole number" if isinstance(default, int) else "a list of stations")
                                  + ")")
        what = f"parameter '{key}' of {procedure.id}{origin}"
        if hasattr(value, "units"):
            kind = parameter_kind(key)
            example = _example(key, default)
            if unit_form(value) != unit_form(default):
                form = form_problem(value, kind[0], kind[1]) if kind and kind[1] else None
                raise refuse(f"{what} must be like {_shown(default)}, got {_shown(value)}"
                             + (f", which {form}" if form else ""),
                             f"write it in a unit like the procedure's own, e.g. `{example}`", mark)
            allowed = kind[2] if kind else ("not negative" if default.magnitude >= 0 else None)
            problem = value_problem(value, allowed)
            if problem:
                raise refuse(f"{what} = {_shown(value)} {problem}",
                             f"give it a value {RANGE_FIX.get(allowed or '', 'that is a finite number')}, "
                             f"e.g. `{example}`", mark)
        elif isinstance(value, int) and value < 1:
            raise refuse(f"{what} must be at least 1, got {value}", "use a positive whole number", mark)
        if isinstance(value, list):
            for i, station in enumerate(value, 1):
                at = station_marks.get(key, [])[i - 1:i] if in_room else []
                for k, v in dict(station).items():
                    dimension = TECHNIQUE_KEYS.get(k, "")
                    if k not in TECHNIQUE_KEYS or (dimension is not None and not (
                            hasattr(v, "units") and has_dimension(v, dimension))):
                        unit = DIMENSIONS.get(dimension or "", "")
                        raise refuse(f"{what} station {i}: '{k}' = {v!r} is not a technique setting with a unit"
                                     + (f" like {unit}" if unit else ""),
                                     f"use keys {', '.join(TECHNIQUE_KEYS)}, each with a unit of its kind",
                                     at[0] if at else None)
                    problem = value_problem(v, SETTING_RANGES.get(k)) if dimension is not None else None
                    if problem:
                        raise refuse(f"{what} station {i}: {k} = {_shown(v)} {problem}",
                                     f"give `{k}:` a value {RANGE_FIX[SETTING_RANGES[k]]}, e.g. "
                                     f"`{SETTING_EXAMPLES[k]}`", at[0] if at else None)
        params[key] = value

    fault = station_fault(procedure, params)
    if fault:
        in_room = fault.stations in from_room and fault.stations not in given
        where = f" with {room.label()}'s parameters" if in_room else ""
        at = station_marks.get(fault.stations or "", [])[(fault.index or 0) - 1:fault.index] if in_room else []
        raise refuse(f"{procedure.id}{where}: {fault.message}", fault.fix,
                     at[0] if at else (marks.get(fault.stations or "") if in_room else None))
    return params


def _example(key: str, default: Any) -> str:
    """How a quantity parameter is written in YAML: the example of its meaning, else the procedure's default."""
    from .model import parameter_kind

    kind = parameter_kind(key)
    return kind[3] if kind else f"{key}: {default.magnitude:g} {default.units:~C}"


def _shown(value: Any) -> str:
    """A parameter value as a person writes it: `250 mA·min/week`, `3`, or `a list of 4 stations`."""
    if hasattr(value, "units"):
        from ..units import format_quantity

        return format_quantity(value, 6)
    if isinstance(value, list):
        return f"a list of {len(value)} stations"
    return repr(value)


def _refuse_general_radiography_in_dental_room(room: Any, procedure: Procedure,
                                               parameters: dict[str, Any] | None) -> None:
    """A radiography procedure's own stations are techniques of a general radiographic unit (80 kV, hundreds of
    mA); in a dental room it runs only on stations the site gives for that unit."""
    if "dental" not in room.modality.lower() or procedure.modality != "radiography":
        return
    if "stations" not in procedure.parameters:
        raise ConfigError(f"{procedure.id} tests a general radiographic unit, and {room.label()} is a "
                          f"{room.modality} unit", fix=f"leave {procedure.id} out of the tests of {room.label()}")
    if "stations" in room.parameters.get(procedure.id, {}) or "stations" in (parameters or {}):
        return
    adapted = ", ".join(sorted(pid for pid, given in room.parameters.items() if "stations" in given))
    raise ConfigError(f"{procedure.id} has the stations of a general radiographic unit "
                      f"({_technique_span(procedure.parameters['stations'])}), and {room.label()} is a "
                      f"{room.modality} unit",
                      fix=f"give the unit's own techniques in the site file, under the room's `parameters: "
                          f"{procedure.id}: stations:`" + (f" (as it does for {adapted})" if adapted else ""))


def _technique_span(stations: list[dict[str, Any]]) -> str:
    """The kV and mA a list of stations covers, in words (`60–120 kV, 200 mA`)."""
    parts = []
    for key in ("kv", "ma"):
        values = sorted({v[key] for v in stations if key in v}, key=lambda q: q.magnitude)
        if values:
            parts.append(f"{values[0]:~P}" if len(values) == 1 else f"{values[0].magnitude:g}–{values[-1]:~P}")
    return ", ".join(parts) or f"{len(stations)} stations"


def _item(site: Site, procedure: Procedure, item: str | None) -> Any:
    """The garment a procedure with `subject: apparel` inspects; refused when missing, unknown or not wanted."""
    if procedure.subject is None:
        if item is not None:
            raise ConfigError(f"{procedure.id} tests the room, not an item of an inventory (--item {item})",
                              fix="leave out --item")
        return None
    known = ", ".join(site.apparel) or "none: add an `apparel:` list to the site file"
    if item is None:
        raise ConfigError(f"{procedure.id} inspects one garment of the site's apparel inventory; none was named",
                          fix=f"give --item ID, one of: {known}")
    if item not in site.apparel:
        raise ConfigError(f"{site.path} has no garment '{item}' in its apparel inventory",
                          fix=f"use one of: {known}")
    return site.apparel[item]


def _instrument_values(procedure: Procedure, instruments: dict[str, Instrument], today: dt.date) -> dict[str, Any]:
    """The ROLE_NAME values the procedure's expressions use; ConfigError when an instrument's entry lacks one."""
    from .expressions import Expression
    from .model import INSTRUMENT_VALUES

    used = {n for r in procedure.results if r.function == "expression" for n in Expression(r.of).names}
    values: dict[str, Any] = {}
    for role, inst in instruments.items():
        have = inst.values(today)
        for name in INSTRUMENT_VALUES:
            key = f"{role}_{name}"
            if key not in used:
                continue
            if name not in have:
                what = ("its calibration's reference_temperature and reference_pressure"
                        if name.startswith("calibration_") else "a check_source")
                raise ConfigError(f"{procedure.id} uses {key}, and instrument {inst.describe()} has no {name.replace('_', ' ')}",
                                  fix=f"give the instrument {what} in the site file, as its certificate states")
            values[key] = have[name]
    return values
