"""Prepare a run: pick the procedure, the room's instruments by role and the limits that apply.

Everything that can be wrong before a meter is touched is found here: unknown room, a role with no
instrument or an instrument without the capability, a limit no room set defines or of the wrong unit,
and calibration past due (refused unless overridden with a reason).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..dicom.nodes import DICOM_CAPABILITIES
from ..errors import ConfigError
from ..limits.sets import Limit, resolve
from ..site import Instrument, RoomConfig, SiteConfig
from ..yamlfile import fail
from .model import ExposeStep, Procedure, ResultDef, Station


@dataclass(frozen=True)
class StationValue:
    """A value from an instrument's site entry read for one station (k_Q at its kV), and where it came from."""

    value: Any
    source: str


@dataclass
class RunPlan:
    site: SiteConfig
    room: RoomConfig
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
    station_values: dict[str, dict[int, StationValue]] = field(default_factory=dict)
    """Values of model.STATION_INSTRUMENT_VALUES by name (ROLE_k_q), then by station number."""

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


def known_limits(site: SiteConfig) -> dict[str, list[Limit]]:
    """Every limit name defined by any set the site knows, with each definition."""
    names: dict[str, list[Limit]] = {}
    for limit_set in site.limit_sets.values():
        for name, limit in limit_set.limits.items():
            names.setdefault(name, []).append(limit)
    return names


def prepare(site: SiteConfig, room_id: str | int, procedure: Procedure, *, parameters: dict[str, Any] | None = None,
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
        if capability in DICOM_CAPABILITIES:      # the room's detector or a DICOM node, from the site's dicom section
            instruments[role] = _dicom_instrument(site, room, role, capability)
            continue
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

    _refuse_too_few_exposures(room, procedure, params, limits, parameters)

    today = today or dt.date.today()
    values = _instrument_values(procedure, instruments, today)
    expired = []
    for inst in instruments.values():
        if not inst.check_calibration(today, allow_expired_calibration):
            expired.append(inst.id)
    return RunPlan(site, room, procedure, params, instruments, limits, expired,
                   allow_expired_calibration if expired else None, values, subject,
                   _station_values(procedure, params, instruments))


def _dicom_instrument(site: SiteConfig, room: RoomConfig, role: str, capability: str) -> Instrument:
    """The instrument a DICOM role stands for, made from the site's `dicom:` section: the room's modality (its
    detector for DetectorImage; for DicomConnection the role `modality`) or the PACS (role `pacs`)."""
    from ..dicom.acquire import CONNECTION_DRIVER, DETECTOR_DRIVER, RUN_LISTEN_HOST
    from .dicom_roles import NOT_CALIBRATED, DicomInstrument, detector_words, node_words

    settings = site.dicom
    if settings is None:
        raise ConfigError(f"{site.path} has no `dicom:` section, and the role '{role}' ({capability}) needs one",
                          fix="add `dicom:` with xcal's ae_title, the pacs and the room's modality (see the demo site)")
    if capability == "DicomConnection" and role == "pacs":
        node = settings.pacs
        if node is None:
            raise ConfigError(f"{site.path}: the dicom section names no PACS", fix="add `pacs:` under `dicom:`")
    elif capability == "DicomConnection" and role != "modality":
        raise ConfigError(f"the DicomConnection role '{role}' is neither `pacs` nor `modality`",
                          fix="name the role `pacs` (the site's PACS) or `modality` (the room's modality)")
    else:
        node = settings.modalities.get(room.id)
        if node is None:
            raise ConfigError(f"{room.label()} has no DICOM modality in {site.path}, and the role '{role}' "
                              f"({capability}) needs one",
                              fix=f"add `{{room: {room.id}, ae_title: ..., host: ..., port: ...}}` under "
                                  "`dicom: modalities:`")
    simulation = {"ae_title": node.ae_title, "station_name": node.station_name, "device_serial": node.device_serial,
                  "faults": list(node.detector_faults), "storage_commitment": node.storage_commitment}
    if capability == "DetectorImage":
        resource = "simulated" if node.simulated else f"dicom://{settings.ae_title}@{RUN_LISTEN_HOST}:{settings.port}"
        what, where = detector_words(room, node, settings.ae_title, settings.port)
        return DicomInstrument(f"detector-{room.id}", "DR detector read through DICOM", node.ae_title,
                               node.device_serial, DETECTOR_DRIVER, resource, ("DetectorImage",), NOT_CALIBRATED,
                               {"station_name": node.station_name, "modality_ae": node.ae_title},
                               simulation=simulation, what=what, where=where, ae_title=node.ae_title)
    resource = "simulated" if node.simulated else f"dicom://{node.ae_title}@{node.host}:{node.port}"
    what, where = node_words(room, role, node)
    return DicomInstrument(f"dicom-{role}-{node.ae_title}", "DICOM node", node.ae_title, "", CONNECTION_DRIVER,
                           resource, ("DicomConnection",), NOT_CALIBRATED,
                           {"calling_ae": settings.ae_title, "store": role == "pacs",
                            "commit": role == "pacs" and node.storage_commitment}, simulation=simulation,
                           what=what, where=where, ae_title=node.ae_title)


def _parameters(room: RoomConfig, procedure: Procedure, parameters: dict[str, Any] | None) -> dict[str, Any]:
    """The procedure's parameters with the room's (site file) and the run's own values put in, each checked
    against the procedure's default before anything is measured: the same kind (dimension, and a unit written
    the same way: a workload in mA·min/week, not mA), a finite number in the range its meaning allows (a
    parameter named like a station setting or in PARAMETER_KINDS; any other quantity not negative when its
    default is not), a whole number of at least 1, stations whose settings have their units and ranges and give
    what each exposure needs. Errors name the room's parameters and, where it is known, the site file's line."""
    given = _Given(room, procedure, room.parameters.get(procedure.id, {}), parameters or {})
    params = dict(procedure.parameters)
    for key, value in {**given.from_room, **given.run}.items():
        if key not in params:
            raise ConfigError(f"procedure {procedure.id} has no parameter '{key}'",
                              fix=f"use one of: {', '.join(params)}")
        _check_same_kind(given, key, value, params[key])
        if hasattr(value, "units"):
            _check_quantity(given, key, value, params[key])
        elif isinstance(value, int) and value < 1:
            raise _refuse(f"{given.what(key)} must be at least 1, got {value}", "use a positive whole number",
                          given.mark(key))
        if isinstance(value, list):
            _check_stations(given, key, value)
        params[key] = value
    _refuse_station_fault(given, params)
    return params


@dataclass(frozen=True)
class _Given:
    """The parameter values given for a run of a procedure in a room: the room's own (from the site file, which
    remembers where each was written) and the run's, which win over the room's."""

    room: RoomConfig
    procedure: Procedure
    from_room: dict[str, Any]
    run: dict[str, Any]

    def in_room(self, key: str | None) -> bool:
        return key in self.from_room and key not in self.run

    def mark(self, key: str) -> Any:
        """Where the room's value of `key` is written in the site file, or None (a run's value, or unknown)."""
        return getattr(self.from_room, "marks", {}).get(key) if self.in_room(key) else None

    def station_mark(self, key: str, index: int) -> Any:
        """Where station `index` (from 1) of the room's list `key` is written, or None."""
        marks = getattr(self.from_room, "station_marks", {}).get(key, []) if self.in_room(key) else []
        return marks[index - 1] if 0 < index <= len(marks) else None

    def what(self, key: str) -> str:
        origin = f" (in {self.room.label()}'s parameters)" if self.in_room(key) else ""
        return f"parameter '{key}' of {self.procedure.id}{origin}"


def _refuse(message: str, fix: str, mark: Any = None) -> ConfigError:
    """The error of a bad parameter value: at its place in the site file when it has one."""
    return fail(message, mark, fix=fix) if mark is not None else ConfigError(message, fix=fix)


def _check_same_kind(given: _Given, key: str, value: Any, default: Any) -> None:
    """A value of the default's kind: a quantity of its dimension, a whole number, or a list of stations."""
    same_kind = (value.dimensionality == default.dimensionality if hasattr(default, "units")
                 and hasattr(value, "units") else type(value) is type(default))
    if same_kind and not isinstance(value, bool):
        return
    mark = given.mark(key)
    place = f"at {mark.file}:{mark.line}:{mark.column}, " if mark is not None else ""
    raise ConfigError(f"{given.what(key)} must be like {_shown(default)}, got {_shown(value)}",
                      fix=f"{place}give a value of the same kind as the procedure's default ("
                          + (f"e.g. `{_example(key, default)}`" if hasattr(default, "units") else
                             "a whole number" if isinstance(default, int) else "a list of stations")
                          + ")")


def _check_quantity(given: _Given, key: str, value: Any, default: Any) -> None:
    """A quantity written in a unit of the default's form, finite and in the range its meaning allows."""
    from ..parameters import RANGE_FIX, form_problem, parameter_kind, unit_form, value_problem

    kind = parameter_kind(key)
    example = _example(key, default)
    if unit_form(value) != unit_form(default):
        form = form_problem(value, kind[0], kind[1]) if kind and kind[1] else None
        raise _refuse(f"{given.what(key)} must be like {_shown(default)}, got {_shown(value)}"
                      + (f", which {form}" if form else ""),
                      f"write it in a unit like the procedure's own, e.g. `{example}`", given.mark(key))
    allowed = kind[2] if kind else ("not negative" if default.magnitude >= 0 else None)
    problem = value_problem(value, allowed)
    if problem:
        raise _refuse(f"{given.what(key)} = {_shown(value)} {problem}",
                      f"give it a value {RANGE_FIX.get(allowed or '', 'that is a finite number')}, "
                      f"e.g. `{example}`", given.mark(key))


def _check_stations(given: _Given, key: str, stations: list[dict[str, Any]]) -> None:
    """Each station's settings are technique keys, each with a unit of its kind and in its range."""
    from ..parameters import RANGE_FIX, SETTING_EXAMPLES, SETTING_RANGES, TECHNIQUE_KEYS, value_problem
    from ..units import DIMENSIONS, has_dimension

    for i, station in enumerate(stations, 1):
        for k, v in dict(station).items():
            dimension = TECHNIQUE_KEYS.get(k, "")
            if k not in TECHNIQUE_KEYS or (dimension is not None and not (
                    hasattr(v, "units") and has_dimension(v, dimension))):
                unit = DIMENSIONS.get(dimension or "", "")
                raise _refuse(f"{given.what(key)} station {i}: '{k}' = {v!r} is not a technique setting with a "
                              "unit" + (f" like {unit}" if unit else ""),
                              f"use keys {', '.join(TECHNIQUE_KEYS)}, each with a unit of its kind",
                              given.station_mark(key, i))
            problem = value_problem(v, SETTING_RANGES.get(k)) if dimension is not None else None
            if problem:
                raise _refuse(f"{given.what(key)} station {i}: {k} = {_shown(v)} {problem}",
                              f"give `{k}:` a value {RANGE_FIX[SETTING_RANGES[k]]}, e.g. `{SETTING_EXAMPLES[k]}`",
                              given.station_mark(key, i))


def _refuse_station_fault(given: _Given, params: dict[str, Any]) -> None:
    """The stations, as the room and the run give them, must serve the procedure's steps, results and checks."""
    from .model import station_fault

    fault = station_fault(given.procedure, params)
    if not fault:
        return
    in_room = given.in_room(fault.stations)
    where = f" with {given.room.label()}'s parameters" if in_room else ""
    at = given.station_mark(fault.stations or "", fault.index or 0)
    raise _refuse(f"{given.procedure.id}{where}: {fault.message}", fault.fix,
                  at if at is not None else (getattr(given.from_room, "marks", {}).get(fault.stations or "")
                                             if in_room else None))


def _example(key: str, default: Any) -> str:
    """How a quantity parameter is written in YAML: the example of its meaning, else the procedure's default."""
    from ..parameters import parameter_kind

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


def _item(site: SiteConfig, procedure: Procedure, item: str | None) -> Any:
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
    from .model import INSTRUMENT_VALUES, STATION_INSTRUMENT_VALUES

    used = {n for r in procedure.results if r.function == "expression" for n in Expression(r.of).names}
    values: dict[str, Any] = {}
    for role, inst in instruments.items():
        have = inst.values(today)
        for name in INSTRUMENT_VALUES:
            key = f"{role}_{name}"
            if key not in used or name in STATION_INSTRUMENT_VALUES:
                continue
            if name not in have:
                what = ("its calibration's reference_temperature and reference_pressure"
                        if name.startswith("calibration_") else "a check_source")
                raise ConfigError(f"{procedure.id} uses {key}, and instrument {inst.describe()} has no "
                                  f"{name.replace('_', ' ')}",
                                  fix=f"give the instrument {what} in the site file, as its certificate states")
            values[key] = have[name]
    return values


def _station_values(procedure: Procedure, params: dict[str, Any], instruments: dict[str, Instrument]
                    ) -> dict[str, dict[int, StationValue]]:
    """ROLE_k_q at each station of the results that use it: the certificate's k_Q read at the station's kV,
    or 1 where the certificate gives none (said so). Refused before any exposure at a station without a kV,
    or at a kV outside the certificate's table (k_Q is not extrapolated)."""
    from .expressions import Expression

    values: dict[str, dict[int, StationValue]] = {}
    for res in procedure.results:
        if res.function != "expression" or res.per != "station":
            continue
        names = Expression(res.of).names
        for role, inst in instruments.items():
            key = f"{role}_k_q"
            if key not in names:
                continue
            for station in procedure.result_stations(params, res):
                where = f"{procedure.id} station {station.index} ({station.label()})"
                kv = station.values.get("kv")
                if kv is None:
                    raise ConfigError(f"{where}: k_Q of {inst.describe()} is read at the station's kV, and the "
                                      "station gives none", fix="give `kv:` at every station of this procedure")
                try:
                    value, source = inst.k_q_at(kv)
                except ValueError as exc:
                    raise ConfigError(f"{where}: {exc}",
                                      fix=f"measure at a tube voltage the certificate covers, or have the chamber "
                                          f"calibrated at a quality that covers {kv:~P} (e.g. RQR 10 at 150 kV) "
                                          f"and add it under {inst.id}'s `calibration: k_q: qualities:` in the "
                                          "site file") from None
                values.setdefault(key, {})[station.index] = StationValue(value, source)
    return values


def _refuse_too_few_exposures(room: RoomConfig, procedure: Procedure, params: dict[str, Any], limits: dict[str, Limit],
                              given: dict[str, Any] | None) -> None:
    """ConfigError, before any exposure, when a result would rest on fewer exposures (or stations) than it
    can be computed from (a CV needs 2, a linearity 2 stations, an HVL an open beam and two filtered ones) or
    than the rule of the limit judging it names (`minimum_exposures`: 21 CFR 1020.31(b) judges on 10)."""
    enough = _Sufficiency(room, procedure, params, given)
    for res in procedure.results:
        enough.check_exposures(res, enough.check_shape(res), limits)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class _Sufficiency:
    """What each result of a procedure rests on in one room with its parameters: its stations and, traced
    down to the readings, the exposures at each (see _refuse_too_few_exposures)."""

    def __init__(self, room: RoomConfig, procedure: Procedure, params: dict[str, Any],
                 given: dict[str, Any] | None) -> None:
        self.room, self.procedure, self.params, self.given = room, procedure, params, given or {}
        self.results = {r.name: r for r in procedure.results}
        self.steps = [s for s in procedure.steps if isinstance(s, ExposeStep)]
        self.from_room = room.parameters.get(procedure.id, {})

    def repeats(self, step: ExposeStep) -> int:
        return int(self.params[step.repeats]) if isinstance(step.repeats, str) else int(step.repeats)

    def counts(self, res: ResultDef) -> list[tuple[Station, int, ExposeStep]]:
        """(station, exposures there, the step that makes them) under a result, traced down to its readings."""
        if res.function == "expression":
            from .expressions import Expression

            return [c for name in sorted(Expression(res.of).names) if name in self.results
                    for c in self.counts(self.results[name])]
        if res.of in self.results:
            return self.counts(self.results[res.of])
        found = []
        for name in ([res.stations] if res.stations else self.procedure.station_lists()):
            reading = [s for s in self.steps if s.stations == name and any(res.of in q for q in s.reads.values())]
            for station in self.procedure.stations(self.params, name) if reading else []:
                found.append((station, sum(self.repeats(s) for s in reading), reading[0]))
        return found

    def check_shape(self, res: ResultDef) -> int:
        """Refuse a result with too few stations, or exposures in all, for its function (an HVL's open and
        filtered beams); the exposures each of its stations must still have (1 when a value per station is
        not what the function counts)."""
        from .functions import FUNCTIONS

        function = FUNCTIONS.get(res.function)
        stations = self.procedure.result_stations(self.params, res)
        least = function.least if function is not None else 1
        if res.function == "hvl":
            added = [st.values.get("added_filtration") for st in stations]
            filtered = sum(1 for a in added if a is not None and a.magnitude > 0)
            if len(added) - filtered < 1 or filtered < 2:
                why = ("an HVL needs a station without added filtration and two with it, to bracket half the "
                       "open-beam reading")
                self.refuse(res, f"{_plural(len(added) - filtered, 'open-beam station')} and {filtered} filtered", 3,
                            [why], "give a station with `added_filtration: 0 mm` and at least two with added "
                            "filtration", "stations")
        elif function is not None and (res.per == "pair" or (res.per == "run" and res.of in self.results)):
            if len(stations) < least:
                self.refuse(res, _plural(len(stations), "station"), least, [function.needs],
                            f"give at least {least} stations in `stations`", "stations")
        elif function is not None and res.per == "run":
            made = self.counts(res)
            total = sum(n for _, n, _ in made)
            if made and total < least:
                param = made[0][2].repeats if isinstance(made[0][2].repeats, str) else None
                self.refuse(res, f"{_plural(total, 'exposure')} in all", least, [function.needs],
                            f"give `{param}` a larger value" if param else "make more exposures", param)
            least = 1
        elif function is not None and res.of in self.results and least > 1:
            self.refuse(res, "1 value at each station", least, [function.needs],
                        "compute it over the run (`per: run`), or of a reading", None)
        return 1 if res.function == "expression" or res.of in self.results else least

    def check_exposures(self, res: ResultDef, least: int, limits: dict[str, Limit]) -> None:
        """Refuse a station with fewer exposures than `least` or than a limit judging the result names."""
        from .functions import FUNCTIONS

        function = FUNCTIONS.get(res.function)
        rules = [limits[c.limit] for c in self.procedure.checks
                 if c.result == res.name and c.limit in limits and limits[c.limit].minimum_exposures]
        need = max([least, *(lim.minimum_exposures or 0 for lim in rules)])
        for station, n, step in self.counts(res):
            if n >= need:
                continue
            reasons = [function.needs] if function is not None and n < least else []
            reasons += [f"limit {lim.name} of {lim.set_id} judges it on {lim.minimum_exposures} ({lim.source})"
                        for lim in rules if n < (lim.minimum_exposures or 0)]
            param = step.repeats if isinstance(step.repeats, str) else None
            fix = (f"give `{param}` a value of {need} or more" if param
                   else f"raise the step's `repeats:` to {need} or more in the procedure file")
            self.refuse(res, f"{_plural(n, 'exposure')} at station {station.index} ({station.label()})", need,
                        reasons, fix, param)

    def refuse(self, res: ResultDef, have: str, need: int, reasons: list[str], fix: str, param: str | None) -> None:
        """Raise the ConfigError: the result, what it has and needs and why; a parameter the room's own
        parameters set is named there (with its file position when known)."""
        room, procedure = self.room, self.procedure
        message = (f"{procedure.id} in {room.label()}: result '{res.name}' is computed from {have}, and needs at "
                   f"least {need}: {'; '.join(reasons)}")
        in_room = param is not None and param in self.from_room and param not in self.given
        mark = getattr(self.from_room, "marks", {}).get(param) if in_room else None
        if in_room:
            message += f" ({param} is set in room {room.id}'s parameters)"
            fix += f" in room {room.id}'s parameters for {procedure.id} in the site file"
        raise fail(message, mark, fix=fix) if mark is not None else ConfigError(message, fix=fix)
