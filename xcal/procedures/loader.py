"""Load and validate procedure files: every mistake is found at load, with file, line, column and fix."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..parameters import MAX_REPEATS, TECHNIQUE_KEYS, finite_quantity_at, parse_parameters
from ..yamlfile import Mark, YList, YMap, check_keys, expect_list, expect_map, expect_str, fail, load_yaml
from .expressions import Expression
from .functions import FUNCTIONS
from .model import (
    _PLACEHOLDER,
    INSTRUMENT_VALUES,
    Bundle,
    CheckDef,
    EnterStep,
    ExposeStep,
    MeasureStep,
    Procedure,
    PromptStep,
    ResultDef,
    station_fault,
)

LIBRARY = Path(__file__).with_name("library")


def _capabilities() -> dict[str, tuple[str, ...]]:
    from ..drivers.capabilities import CAPABILITIES

    return {name: tuple(q) for name, q in CAPABILITIES.items()}


def _parse_expose(node: Any, mark: Mark, params: dict[str, Any], roles: dict[str, str]) -> ExposeStep:
    node = expect_map(node, mark, "an expose step")
    check_keys(node, "an expose step", required=("read",), optional=("stations", "repeats"))
    stations = str(node.get("stations", "stations"))
    if not isinstance(params.get(stations), list):
        raise fail(f"expose step: '{stations}' is not a station list among the parameters",
                   node.value_mark("stations") if "stations" in node else mark,
                   fix="add a `stations:` list under `parameters:` or name the right one")
    repeats = node.get("repeats", 1)
    if isinstance(repeats, str):
        if not isinstance(params.get(repeats), int):
            raise fail(f"expose step: repeats refers to '{repeats}', which is not a whole-number parameter",
                       node.value_mark("repeats"), fix="write a number or the name of an integer parameter")
    elif not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
        raise fail("expose step: repeats must be a positive whole number", node.value_mark("repeats"),
                   fix="write e.g. `repeats: 3`")
    elif repeats > MAX_REPEATS:
        raise fail(f"expose step: repeats is {repeats}, more than {MAX_REPEATS} exposures at a station",
                   node.value_mark("repeats"), fix=f"write a whole number from 1 to {MAX_REPEATS}, e.g. `repeats: 3`")
    read_node = expect_map(node["read"], node.value_mark("read"), "read")
    caps = _capabilities()
    reads: dict[str, tuple[str, ...]] = {}
    for role, quantities in read_node.items():
        if role not in roles:
            raise fail(f"read: '{role}' is not an instrument role of this procedure", read_node.key_mark(role),
                       fix=f"use one of: {', '.join(roles)} (declared under `instruments:`)")
        qlist = expect_list(quantities, read_node.value_mark(role), f"the readings of '{role}'")
        names = []
        for i, q in enumerate(qlist):
            if q not in caps[roles[role]]:
                raise fail(f"read: a {roles[role]} cannot deliver '{q}'", qlist.item_mark(i),
                           fix=f"a {roles[role]} delivers: {', '.join(caps[roles[role]])}")
            names.append(str(q))
        reads[role] = tuple(names)
    return ExposeStep(stations, repeats, reads)


def _parse_enter(node: Any, mark: Mark, params: dict[str, Any]) -> EnterStep:
    from ..units import parse_quantity

    node = expect_map(node, mark, "an enter step")
    values: dict[str, tuple[str, str]] = {}
    ranges: dict[str, tuple[Any, Any]] = {}
    for name, spec in node.items():
        spec = expect_map(spec, node.value_mark(name), f"entered value '{name}'")
        check_keys(spec, f"entered value '{name}'", required=("unit",), optional=("prompt", "range"))
        if "range" in spec:
            ranges[str(name)] = _parse_range(spec, name)
        if name in params:
            raise fail(f"entered value '{name}' has the name of a parameter", node.key_mark(name),
                       fix="give the entered value another name")
        try:
            parse_quantity(f"1 {spec['unit']}")
        except ValueError as exc:
            raise fail(f"entered value '{name}': {exc}", spec.value_mark("unit"), fix="write a unit, e.g. cm") from None
        values[str(name)] = (str(spec["unit"]), str(spec.get("prompt", name)))
    if not values:
        raise fail("an enter step names no value", mark, fix="list the values to enter, e.g. `left: {unit: cm}`")
    return EnterStep(values, ranges)


def _parse_range(spec: YMap, name: str) -> tuple[Any, Any]:
    """`range: [60 kPa, 110 kPa]`: two quantities of the value's kind, lowest first."""
    from ..units import Q_

    bounds = expect_list(spec["range"], spec.value_mark("range"), f"range of '{name}'")
    if len(bounds) != 2:
        raise fail(f"range of '{name}' must give two values, lowest and highest", spec.value_mark("range"),
                   fix="write e.g. `range: [60 kPa, 110 kPa]`")
    low, high = (finite_quantity_at(bounds, i, None, f"range of '{name}'") for i in range(2))
    unit = Q_(1, str(spec["unit"]))
    if low.dimensionality != unit.dimensionality or high.dimensionality != unit.dimensionality or not low < high:
        raise fail(f"range of '{name}' must be two values like {spec['unit']}, lowest first",
                   spec.value_mark("range"), fix=f"write e.g. `range: [LOW {spec['unit']}, HIGH {spec['unit']}]`")
    return low, high


def _check_expression(node: YMap, name: str, entered: dict[str, tuple[str, str]], params: dict[str, Any],
                      earlier: dict[str, str], roles: dict[str, str], station: dict[str, Any] | None) -> str:
    """Check a result expression at load: safe, its names known, units consistent; return its result's unit.

    `station` holds, for a per-station expression, sample values of the station settings and per-station results.
    """
    from ..units import Q_

    try:
        expression = Expression(str(node["expression"]))
        samples: dict[str, Any] = {k: Q_(1.0, unit) for k, (unit, _) in entered.items()}
        samples.update({k: v for k, v in params.items() if hasattr(v, "units")})
        samples.update({f"{role}_{k}": Q_(1.0, unit) for role in roles for k, unit in INSTRUMENT_VALUES.items()})
        samples.update({k: Q_(1.0, unit) for k, unit in earlier.items()})
        samples.update(station or {})
        unknown = expression.names - set(samples)
        if unknown:
            raise ValueError(f"unknown name(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(samples))}")
        value = expression.evaluate(samples)
    except (ValueError, TypeError, ArithmeticError) as exc:
        import pint

        if isinstance(exc, pint.DimensionalityError):
            raise fail(f"result '{name}': the units do not fit together ({exc})", node.value_mark("expression"),
                       fix="add or compare only quantities of the same kind") from None
        raise fail(f"result '{name}': {exc}", node.value_mark("expression"),
                   fix=getattr(exc, "fix", None) or
                   "use entered values, parameters, station settings (with `per: station`), earlier results, "
                   "numbers, + - * / **, abs, min, max, sqrt, k_tp") from None
    return f"{value.units}" if hasattr(value, "units") else ""


def _unit_of(name: str, results: dict[str, ResultDef], expression_units: dict[str, str]) -> str:
    """A unit of the dimension the result `name` (or reading) has."""
    from ..drivers.capabilities import READING_UNITS

    if name in expression_units:
        return expression_units[name]
    if name in results:
        r = results[name]
        return FUNCTIONS[r.function].unit(_unit_of(r.of, results, expression_units))
    return READING_UNITS[name]


def _report_options(node: YMap, name: str, unit_of_result: str) -> tuple[bool, str | None]:
    """`report: true` and `unit: µGy/mAs` of a result; the unit must fit the result's dimension."""
    from ..units import Q_

    report = node.get("report", False)
    if not isinstance(report, bool):
        raise fail(f"result '{name}': report must be true or false", node.value_mark("report"),
                   fix="write `report: true` to keep and show the result without a check")
    if "unit" not in node:
        return report, None
    unit = str(node["unit"])
    try:
        fits = Q_(1, unit).dimensionality == Q_(1, unit_of_result).dimensionality
    except Exception:  # noqa: BLE001 - pint raises several kinds for an unknown unit
        fits = False
    if not fits:
        raise fail(f"result '{name}': unit '{unit}' does not fit the result (a quantity like {unit_of_result})",
                   node.value_mark("unit"), fix="give a unit of the result's kind, e.g. µGy/mAs")
    return report, unit


SUBJECTS = ("apparel",)


def _subject(root: YMap) -> str | None:
    """`subject: apparel`: the procedure tests one item of that site inventory rather than the room."""
    if "subject" not in root:
        return None
    subject = str(root["subject"])
    if subject not in SUBJECTS:
        raise fail(f"subject '{subject}' is not one of {', '.join(SUBJECTS)}", root.value_mark("subject"),
                   fix="write `subject: apparel` for a procedure that inspects one garment, or leave it out")
    return subject


def _parse_group(node: YMap, station_lists: list[dict[str, Any]]) -> str:
    """A check's `group: scale`: a text station setting that every station gives."""
    key = str(node["group"])
    if TECHNIQUE_KEYS.get(key, "") is not None or not station_lists or \
            any(key not in station for station in station_lists):
        raise fail(f"check '{node['id']}': group '{key}' is not a text setting that every station gives",
                   node.value_mark("group"), fix="name a text station setting such as `scale`, and give it "
                                                 "at every station")
    return key


def _parse_only(node: YMap, station_lists: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """A check's `only: {area: controlled}`: text station settings a station must have for the check to apply."""
    only = expect_map(node["only"], node.value_mark("only"), f"check '{node['id']}' only")
    text_keys = [k for k, d in TECHNIQUE_KEYS.items() if d is None]
    pairs = []
    for key, value in only.items():
        if key not in text_keys:
            raise fail(f"check '{node['id']}': only: '{key}' is not a text station setting", only.key_mark(key),
                       fix=f"use one of: {', '.join(text_keys)}")
        pairs.append((str(key), expect_str(value, only.value_mark(key), f"only: {key}")))
    return tuple(pairs)


def _scope(node: YMap, name: str, over_stations: bool, measured: list[str]) -> str | None:
    """A result's `stations:`, the station list it works on. When the steps measure at more than one list
    (the reference fields and a background), a result over stations must say which: the readings of one
    are not to be averaged with the other's."""
    if "stations" in node:
        scope = str(node["stations"])
        if scope not in measured:
            raise fail(f"result '{name}': stations '{scope}' is not a station list the steps expose or measure at",
                       node.value_mark("stations"), fix=f"use one of: {', '.join(measured) or 'none'}")
        return scope
    if over_stations and len(measured) > 1:
        raise fail(f"result '{name}': the steps measure at {len(measured)} station lists ({', '.join(measured)}), "
                   "and the result does not say which it works on", node.mark,
                   fix=f"add `stations: {measured[-1]}` (or another of {', '.join(measured)})")
    return None


def _same_scope(node: YMap, name: str, scope: str | None, used: list[ResultDef]) -> None:
    """A per-station result may build only on per-station results of its own station list."""
    for other in used:
        if other.per == "station" and other.stations != scope:
            raise fail(f"result '{name}' works on the stations of '{scope or 'every list'}', and '{other.name}' "
                       f"on those of '{other.stations or 'every list'}'", node.mark,
                       fix=f"give both the same `stations:`, or use a per-run result of '{other.name}'")


def _no_station_values(node: YMap, name: str, roles: dict[str, str]) -> None:
    """A per-run expression cannot use a value read per station (ROLE_k_q, read at each station's kV)."""
    from .model import STATION_INSTRUMENT_VALUES

    used = Expression(str(node["expression"])).names
    for role in roles:
        for value in sorted(STATION_INSTRUMENT_VALUES):
            if f"{role}_{value}" in used:
                raise fail(f"result '{name}': {role}_{value} differs from station to station (it is read at each "
                           "station's kV), and the result is computed once for the run", node.value_mark("expression"),
                           fix="write `per: station`")


def _a_kind(quantity: Any) -> str:
    """`a voltage`, `an air kerma`, `a quantity of dimension [mass]`."""
    from ..units import dimension_name

    name = dimension_name(quantity).replace("_", " ")
    if name.startswith("["):
        return f"a quantity of dimension {name}"
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _where(mark: Mark | None) -> str:
    return f"{mark.file}:{mark.line}:{mark.column}" if mark else "a limit set"


def _check_limit_units(node: YMap, limit: str, result: str, unit_of_result: Any, definitions: list[Any]) -> None:
    """Each definition of the check's limit must be in a unit of the result's kind. When some definitions fit
    and others do not, the odd limit set is wrong: the error is given at its tolerance, naming the check; when
    none fits, the check names the wrong limit: the error is given at the check, naming the sets."""
    def misfits(lim: Any) -> bool:
        q = lim.tolerance.unit_quantity
        return q is not None and q.dimensionality != unit_of_result.dimensionality

    wrong = [lim for lim in definitions if misfits(lim)]
    if not wrong:
        return
    kind = _a_kind(unit_of_result)
    unit = f"{unit_of_result.units:~P}"
    like = f"a unit like {unit}" if unit else "a plain number"
    check_mark = node.value_mark("limit")
    check_place = f"check '{node['id']}' of {check_mark.file}:{check_mark.line}"
    lim = wrong[0]
    q = lim.tolerance.unit_quantity
    if len(wrong) < len(definitions) and lim.mark is not None:
        fitting = [d for d in definitions if not misfits(d)]
        good = next((d for d in fitting if d.tolerance.unit_quantity is not None), fitting[0])
        raise fail(f"limit '{limit}' of limit set {lim.set_id} is {lim.text}, in {q.units:~P} ({_a_kind(q)}), "
                   f"and {check_place} judges the result '{result}' ({kind}) with it",
                   lim.mark, fix=f"write the tolerance of '{limit}' in {like} or as a percentage, "
                                 f"as limit set {good.set_id} does (`{good.text}`)")
    sets = ", ".join(f"{d.set_id} ({_where(d.mark)}: {d.text})" for d in wrong)
    raise fail(f"check '{node['id']}': limit '{limit}' is in {q.units:~P} ({_a_kind(q)}) in {sets}, "
               f"which does not fit the result '{result}' ({kind})", check_mark,
               fix=f"name under `limit:` a limit for {kind} ({like}), or correct the tolerance in the limit "
                   "set")


PARSED_KEEP = 256
"""How many parsed procedure and bundle files are kept for reuse (the oldest is let go first)."""
_PARSED: dict[tuple[str, str, str | None, str], Any] = {}
_PARSED_LOCK = threading.Lock()


def _file_key(kind: str, path: str | Path, display: str | None) -> tuple[str, str, str | None, str] | None:
    """What a parsed file is kept under: its kind, absolute path, display name and the SHA-256 of its bytes, so an
    edited file (even one of the same size within the same clock tick) is parsed again. None when the file
    cannot be read (the parser then says why)."""
    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
    except (OSError, ValueError):
        return None
    return kind, os.path.abspath(path), display, digest


def _kept(key: tuple[str, str, str | None, str] | None, parsed: Any) -> Any:
    """Keep a parsed file under `key` and return it; not kept when the file could not be read before, or changed
    between being hashed and being parsed (its own `sha256` is the parsed bytes')."""
    if key is not None and getattr(parsed, "sha256", None) == key[3]:
        with _PARSED_LOCK:
            if len(_PARSED) >= PARSED_KEEP:
                _PARSED.pop(next(iter(_PARSED)))
            _PARSED[key] = parsed
    return parsed


def load_procedure(path: str | Path, *, known_limits: dict[str, list[Any]] | None = None,
                   display: str | None = None) -> Procedure:
    """Load a procedure file. `known_limits` maps each limit name to the Limits that define it (all sets).

    A file already parsed without `known_limits` and unchanged since (same bytes) is not parsed again: `xcal due`
    and the web overview ask for the same few procedures on every call. With `known_limits` (`xcal validate`)
    the file is always parsed, so its checks' limits are looked at."""
    key = _file_key("procedure", path, display) if known_limits is None else None
    known = _PARSED.get(key) if key is not None else None
    return known if known is not None else _kept(key, _parse_procedure(path, known_limits, display))


def _parse_procedure(path: str | Path, known_limits: dict[str, list[Any]] | None, display: str | None) -> Procedure:
    doc = load_yaml(path, display=display)
    root = _procedure_root(doc)
    roles = _parse_roles(root)
    params = parse_parameters(expect_map(root.get("parameters", YMap(root.mark)), root.value_mark("parameters"),
                                          "parameters"), fixed_meanings=True)
    steps = _parse_steps(root, params, roles)
    results = _parse_results(root, _Written(params, roles, steps))
    checks = _parse_checks(root, params, results, known_limits)
    procedure = Procedure(
        id=expect_str(root["id"], root.value_mark("id"), "id"),
        version=expect_str(root["version"], root.value_mark("version"), "version"),
        title=expect_str(root["title"], root.value_mark("title"), "title"),
        modality=str(root.get("modality", "")),
        description=str(root.get("description", "")).strip(),
        instruments=roles, parameters=params, steps=steps, results=tuple(results.defined.values()),
        checks=tuple(checks), path=doc.path, sha256=doc.sha256, subject=_subject(root))
    _refuse_station_fault(procedure, root)
    return procedure


def _procedure_root(doc: Any) -> YMap:
    """The top mapping of a procedure file, with only the keys a procedure has and `kind: procedure`."""
    root = expect_map(doc.data, Mark(doc.path, 1, 1), "a procedure file")
    check_keys(root, "a procedure", required=("kind", "id", "version", "title", "steps"),
               optional=("modality", "description", "instruments", "parameters", "results", "checks", "subject"))
    if root["kind"] != "procedure":
        raise fail(f"kind is '{root['kind']}' but this file is read as a procedure", root.value_mark("kind"),
                   fix="write `kind: procedure`")
    return root


def _parse_roles(root: YMap) -> dict[str, str]:
    """`instruments: {ROLE: CAPABILITY}`, each capability a known one."""
    caps = _capabilities()
    inst_node = expect_map(root.get("instruments", YMap(root.mark)), root.value_mark("instruments"), "instruments")
    roles: dict[str, str] = {}
    for role, cap in inst_node.items():
        cap = expect_str(cap, inst_node.value_mark(role), f"the capability of instrument role '{role}'")
        if cap not in caps:
            raise fail(f"unknown capability '{cap}' for instrument role '{role}'", inst_node.value_mark(role),
                       fix=f"use one of: {', '.join(caps)}")
        roles[role] = str(cap)
    return roles


Step = PromptStep | ExposeStep | MeasureStep | EnterStep


def _parse_steps(root: YMap, params: dict[str, Any], roles: dict[str, str]) -> tuple[Step, ...]:
    """`steps:`, each exactly one of prompt, expose, measure or enter; at least one exposes or asks for values."""
    steps_node = expect_list(root["steps"], root.value_mark("steps"), "steps")
    steps: list[Step] = []
    for i, step in enumerate(steps_node):
        mark = steps_node.item_mark(i)
        step = expect_map(step, mark, f"step {i + 1}")
        check_keys(step, f"step {i + 1}", optional=("prompt", "expose", "measure", "enter"))
        if len(step) != 1:
            raise fail(f"step {i + 1} must be exactly one of prompt, expose, measure or enter", mark,
                       fix="split it into separate steps")
        kind = next(iter(step))
        if kind == "prompt":
            steps.append(_parse_prompt(step, params))
        elif kind == "enter":
            steps.append(_parse_enter(step["enter"], step.value_mark("enter"), params))
        else:
            expose = _parse_expose(step[kind], step.value_mark(kind), params, roles)
            steps.append(MeasureStep(expose.stations, expose.repeats, expose.reads) if kind == "measure" else expose)
    if not any(isinstance(s, (ExposeStep, EnterStep)) for s in steps):
        raise fail("the procedure has no expose or enter step", root.value_mark("steps"),
                   fix="add a step `- expose: {read: {ROLE: [QUANTITY, ...]}}` or `- enter: {NAME: {unit: cm}}`")
    return tuple(steps)


def _parse_prompt(step: YMap, params: dict[str, Any]) -> PromptStep:
    """A prompt whose `{placeholders}` each name a parameter."""
    text = expect_str(step["prompt"], step.value_mark("prompt"), "a prompt")
    for m in _PLACEHOLDER.finditer(text):
        if m.group(1) not in params:
            raise fail(f"prompt mentions {{{m.group(1)}}}, which is not a parameter",
                       step.value_mark("prompt"), fix=f"use one of: {', '.join(params)}")
    return PromptStep(text)


@dataclass(frozen=True)
class _Written:
    """What a procedure file's results are checked against: its parameters, instrument roles and steps."""

    params: dict[str, Any]
    roles: dict[str, str]
    steps: tuple[Step, ...]

    @property
    def station_lists(self) -> list[dict[str, Any]]:
        """Every station of every station list, last list first and each list backwards (the sample an
        expression is tried on: a later setting of one key wins)."""
        return [st for v in self.params.values() if isinstance(v, list) for st in reversed(v)]

    @property
    def measured(self) -> list[str]:
        """The station lists the steps expose or measure at, each once, in the order of the steps."""
        return list(dict.fromkeys(s.stations for s in self.steps if isinstance(s, ExposeStep)))

    @property
    def read_in(self) -> set[tuple[str, str]]:
        """(station list, quantity) for each quantity a step reads at a list."""
        return {(s.stations, q) for s in self.steps if isinstance(s, ExposeStep) for qs in s.reads.values()
                for q in qs}

    @property
    def read_names(self) -> set[str]:
        return {q for _, q in self.read_in}

    @property
    def entered(self) -> dict[str, tuple[str, str]]:
        return {k: v for s in self.steps if isinstance(s, EnterStep) for k, v in s.values.items()}


@dataclass
class _Results:
    """The results defined so far, in file order, and the unit each expression result was found to have."""

    defined: dict[str, ResultDef] = field(default_factory=dict)
    expression_units: dict[str, str] = field(default_factory=dict)

    def unit_of(self, name: str) -> str:
        return _unit_of(name, self.defined, self.expression_units)


def _parse_results(root: YMap, written: _Written) -> _Results:
    """`results:`, each a fixed function of a reading or an earlier result, or an expression."""
    results = _Results()
    res_node = expect_map(root.get("results", YMap(root.mark)), root.value_mark("results"), "results")
    for name, node in res_node.items():
        node = expect_map(node, res_node.value_mark(name), f"result '{name}'")
        parse = _expression_result if "expression" in node else _function_result
        results.defined[name] = parse(node, name, written, results)
    return results


def _expression_result(node: YMap, name: str, written: _Written, results: _Results) -> ResultDef:
    """An expression per run (of run results and entered values) or per station (of readings, settings and
    per-station results), tried on sample values so that a unit mistake is found at load."""
    from ..units import Q_

    check_keys(node, f"result '{name}'", required=("expression",), optional=("per", "report", "unit", "stations"))
    per = str(node.get("per", "run"))
    if per not in ("run", "station"):
        raise fail(f"result '{name}': an expression works per run or per station, not per {per}",
                   node.value_mark("per"), fix="write `per: station` or `per: run`")
    if per == "run" and "stations" in node:
        raise fail(f"result '{name}': an expression per run works on other results, not on stations",
                   node.value_mark("stations"), fix="leave out `stations:`, or write `per: station`")
    scope = _scope(node, name, per == "station", written.measured)
    defined = results.defined
    station_samples = None
    if per == "station":
        scoped = list(reversed(written.params[scope])) if scope else written.station_lists
        station_samples = {k: v for st in scoped for k, v in st.items() if hasattr(v, "units")}
        station_samples.update({r: Q_(1.0, results.unit_of(r)) for r, d in defined.items() if d.per == "station"})
    run_units = {r: results.unit_of(r) for r, d in defined.items() if d.per == "run"}
    unit = _check_expression(node, name, written.entered, written.params, run_units, written.roles, station_samples)
    results.expression_units[name] = unit
    if per == "station":
        used = Expression(str(node["expression"])).names
        _same_scope(node, name, scope, [defined[r] for r in used if r in defined])
    else:
        _no_station_values(node, name, written.roles)
    return ResultDef(name, "expression", str(node["expression"]), per, *_report_options(node, name, unit),
                     stations=scope)


def _function_result(node: YMap, name: str, written: _Written, results: _Results) -> ResultDef:
    """A fixed analysis function of a reading the steps take or of an earlier result, per what it allows."""
    check_keys(node, f"result '{name}'", required=("function", "of"), optional=("per", "report", "unit", "stations"))
    function, of = str(node["function"]), str(node["of"])
    defined = results.defined
    if function not in FUNCTIONS:
        raise fail(f"result '{name}': unknown function '{function}'", node.value_mark("function"),
                   fix=f"use one of: {', '.join(FUNCTIONS)}")
    per = str(node.get("per", FUNCTIONS[function].per[0]))
    if of not in written.read_names and of not in defined:
        raise fail(f"result '{name}': '{of}' is neither a reading of an expose step nor an earlier result",
                   node.value_mark("of"), fix=f"use one of: {', '.join(sorted(written.read_names | set(defined)))}")
    if of == "waveform":
        raise fail(f"result '{name}': a waveform is not a single value", node.value_mark("of"),
                   fix="use kvp_ppv, kvp_max or another scalar reading")
    allowed = FUNCTIONS[function].per
    if per not in allowed:
        raise fail(f"result '{name}': {function} works per {' or '.join(allowed)}, not per {per}",
                   node.value_mark("per") if "per" in node else node.mark, fix=f"write `per: {allowed[0]}`")
    if per in ("pair", "run") and function in ("linearity", "hvl") and of not in defined:
        raise fail(f"result '{name}': {function} works on a per-station result, and '{of}' is a reading",
                   node.value_mark("of"), fix="first define a per-station result (e.g. the mean) and name it")
    scope = _scope(node, name, True, written.measured)
    if of in defined:
        _same_scope(node, name, scope, [defined[of]])
    elif scope is not None and (scope, of) not in written.read_in:
        raise fail(f"result '{name}': '{of}' is not read at the stations of '{scope}'", node.value_mark("of"),
                   fix=f"name under `stations:` a list whose step reads {of}")
    unit = FUNCTIONS[function].unit(results.unit_of(of))
    return ResultDef(name, function, of, per, *_report_options(node, name, unit), stations=scope)


def _parse_checks(root: YMap, params: dict[str, Any], results: _Results,
                  known_limits: dict[str, list[Any]] | None) -> list[CheckDef]:
    """`checks:`, each a result against a named limit, with what it applies to."""
    check_nodes = expect_list(root.get("checks", YList(root.mark)), root.value_mark("checks"), "checks")
    return [_parse_check(expect_map(node, check_nodes.item_mark(i), f"check {i + 1}"), i, root, params, results,
                         known_limits)
            for i, node in enumerate(check_nodes)]


def _parse_check(node: YMap, i: int, root: YMap, params: dict[str, Any], results: _Results,
                 known_limits: dict[str, list[Any]] | None) -> CheckDef:
    """One check: a known result, the stations it applies to (`only`, `group`), the kinds of item it judges,
    its nominal (a station setting or a run result) and, when the limits are known, a limit that fits."""
    check_keys(node, f"check {i + 1}", required=("id", "result", "limit"),
               optional=("title", "nominal", "only", "group", "kinds"))
    defined = results.defined
    station_lists = [st for v in params.values() if isinstance(v, list) for st in reversed(v)]
    only = _parse_only(node, station_lists) if "only" in node else ()
    judged = defined.get(str(node["result"]))
    scoped = params[judged.stations] if judged is not None and judged.stations else station_lists
    group = _parse_group(node, scoped) if "group" in node else None
    kinds = _parse_kinds(node, root) if "kinds" in node else ()
    result, limit = str(node["result"]), str(node["limit"])
    if result not in defined:
        raise fail(f"check '{node['id']}': unknown result '{result}'", node.value_mark("result"),
                   fix=f"use one of: {', '.join(defined) or '(define results first)'}")
    nominal = expect_str(node["nominal"], node.value_mark("nominal"), f"check '{node['id']}' nominal") \
        if "nominal" in node else None
    station_keys = {k for v in params.values() if isinstance(v, list) for st in v for k in st}
    references = station_keys | {r for r in defined if defined[r].per == "run" and r != result}
    if nominal is not None and nominal not in references:
        raise fail(f"check '{node['id']}': nominal '{nominal}' is neither a station setting nor a run result",
                   node.value_mark("nominal"), fix=f"use one of: {', '.join(sorted(references))}")
    if known_limits is not None:
        _check_limit(node, limit, result, nominal, results, known_limits)
    return CheckDef(str(node["id"]), str(node.get("title", node["id"])), result, limit,
                    str(nominal) if nominal is not None else None, only, group, kinds)


def _parse_kinds(node: YMap, root: YMap) -> tuple[str, ...]:
    """A check's `kinds:` of item, which only a procedure with a subject may give."""
    if "subject" not in root:
        raise fail(f"check '{node['id']}': kinds applies to a procedure with a subject", node.value_mark("kinds"),
                   fix="add `subject: apparel` to the procedure, or leave out kinds")
    return tuple(expect_str(k, node["kinds"].item_mark(j), "a kind") for j, k in
                 enumerate(expect_list(node["kinds"], node.value_mark("kinds"), "kinds")))


def _check_limit(node: YMap, limit: str, result: str, nominal: str | None, results: _Results,
                 known_limits: dict[str, list[Any]]) -> None:
    """The check's limit is defined by some limit set, in a unit of the result's kind, and a ± tolerance has
    the set value it is taken around."""
    from ..units import Q_

    if limit not in known_limits:
        raise fail(f"check '{node['id']}': no limit set defines the limit '{limit}'", node.value_mark("limit"),
                   fix="use a limit name defined in a limit set (see `xcal validate` of the limit "
                       "library), or define it in a limit set")
    _check_limit_units(node, limit, result, Q_(1, results.unit_of(result)), known_limits[limit])
    for lim in known_limits[limit]:
        if lim.tolerance.needs_nominal and nominal is None:
            raise fail(f"check '{node['id']}': limit '{limit}' ({lim.text}) is a ± tolerance and needs "
                       "the set value", node.mark, fix="add `nominal:` naming the station setting, "
                       "e.g. `nominal: kv`")


def _refuse_station_fault(procedure: Procedure, root: YMap) -> None:
    """ConfigError at the station (or the parameters) that the procedure's steps, results or checks cannot use."""
    fault = station_fault(procedure, procedure.parameters)
    if fault:
        marks = getattr(procedure.parameters, "station_marks", {}).get(fault.stations or "", [])
        mark = marks[fault.index - 1] if fault.index and fault.index <= len(marks) else \
            (root.value_mark("parameters") if "parameters" in root else root.mark)
        raise fail(fault.message, mark, fix=fault.fix)


def load_bundle(path: str | Path, *, display: str | None = None) -> Bundle:
    """Load a bundle file: `kind: bundle` and the ids of the procedures it runs, in order (an unchanged file
    parsed before is not parsed again, as load_procedure)."""
    key = _file_key("bundle", path, display)
    known = _PARSED.get(key) if key is not None else None
    return known if known is not None else _kept(key, _parse_bundle(path, display))


def _parse_bundle(path: str | Path, display: str | None) -> Bundle:
    doc = load_yaml(path, display=display)
    root = expect_map(doc.data, Mark(doc.path, 1, 1), "a bundle file")
    check_keys(root, "a bundle", required=("kind", "id", "version", "title", "procedures"),
               optional=("modality", "description"))
    if root["kind"] != "bundle":
        raise fail(f"kind is '{root['kind']}' but this file is read as a bundle", root.value_mark("kind"),
                   fix="write `kind: bundle`")
    items = expect_list(root["procedures"], root.value_mark("procedures"), "procedures")
    library = library_paths()
    for i, item in enumerate(items):
        if item not in library or _kind_of(library[item]) != "procedure":
            raise fail(f"bundle {root['id']}: '{item}' is not a built-in procedure", items.item_mark(i),
                       fix="use procedure ids from `xcal list`")
    return Bundle(str(root["id"]), str(root["version"]), str(root["title"]), str(root.get("modality", "")),
                  str(root.get("description", "")).strip(), tuple(str(i) for i in items), doc.path, doc.sha256)


def _kind_of(path: Path) -> str:
    """The `kind:` a YAML file declares on a line of its own ("" if none); the file must be UTF-8 text."""
    from ..yamlfile import read_text

    for line in read_text(path)[1].splitlines():
        if line.startswith("kind:"):
            return line.split(":", 1)[1].strip()
    return ""


def library_paths() -> dict[str, Path]:
    return {p.stem: p for p in sorted(LIBRARY.glob("*.yaml"))}


def find_procedure(name_or_path: str, known_limits: dict[str, list[Any]] | None = None) -> Procedure | Bundle:
    """A built-in procedure or bundle by id, or a procedure or bundle file by path."""
    library = library_paths()
    if name_or_path in library:
        path = library[name_or_path]
        display = f"<built-in>/procedures/{path.name}"
    elif Path(name_or_path).suffix in (".yaml", ".yml") or "/" in name_or_path:
        path, display = Path(name_or_path), name_or_path
    else:
        path = None
    if path is not None:
        if path.is_file() and _kind_of(path) == "bundle":
            return load_bundle(path, display=display)
        return load_procedure(path, known_limits=known_limits, display=display)
    import difflib

    near = difflib.get_close_matches(name_or_path, list(library), n=1)
    hint = f"did you mean {near[0]}? " if near else ""
    raise ConfigError(f"no procedure named '{name_or_path}'",
                      fix=f"{hint}run `xcal list` to see the procedures ({', '.join(library)}) or give a file path")


def bundle_member(procedure_id: str, known_limits: dict[str, list[Any]] | None = None) -> Procedure:
    """A procedure a bundle runs: a built-in procedure (load_bundle refuses anything else)."""
    path = library_paths()[procedure_id]
    return load_procedure(path, known_limits=known_limits, display=f"<built-in>/procedures/{path.name}")


class _Library:
    """The built-in procedures as a site file's references to them are checked (xcal.site.ProcedureIndex)."""

    def ids(self) -> list[str]:
        return list(library_paths())

    def subject(self, procedure_id: str) -> str | None:
        return getattr(find_procedure(procedure_id), "subject", None)


LIBRARY_INDEX = _Library()
"""What `xcal.site.load_site(procedures=...)` checks a site file's procedure ids against."""


class Inputs(dict[str, Any]):
    """The values of an inputs file by name (Quantities), with where they were written: `path`, `procedure` (the
    id the file's `procedure:` names, or None), `marks` (name -> Mark of the value) and `key_marks`."""

    def __init__(self, path: str, procedure: str | None = None, procedure_mark: Mark | None = None) -> None:
        super().__init__()
        self.path, self.procedure, self.procedure_mark = path, procedure, procedure_mark
        self.marks: dict[str, Mark] = {}
        self.key_marks: dict[str, Mark] = {}


def load_inputs(path: str | Path) -> Inputs:
    """An inputs file (`kind: inputs`, `values: {name: 0.8 cm, ...}`): the answers to a procedure's enter steps.

    Every value must be a finite number with a unit. When `procedure:` names a built-in procedure (or bundle),
    the values are checked against it here: each name must be a value it asks for (a misspelt name is refused
    with the nearest one), in a unit of its kind and within its plausible range. `check_inputs` makes the same
    checks against the procedure actually run, and refuses a file written for another procedure."""
    doc = load_yaml(path)
    root = expect_map(doc.data, Mark(doc.path, 1, 1), "an inputs file")
    check_keys(root, "an inputs file", required=("kind", "values"), optional=("procedure", "note"))
    if root["kind"] != "inputs":
        raise fail(f"kind is '{root['kind']}' but this file is read as inputs", root.value_mark("kind"),
                   fix="write `kind: inputs`")
    named = expect_str(root["procedure"], root.value_mark("procedure"), "procedure") if "procedure" in root else None
    values = expect_map(root["values"], root.value_mark("values"), "values")
    inputs = Inputs(doc.path, named, root.value_mark("procedure") if named else None)
    for name in values:
        inputs[str(name)] = finite_quantity_at(values, name, None, f"input '{name}'")
        inputs.marks[str(name)] = values.value_mark(name)
        inputs.key_marks[str(name)] = values.key_mark(name)
    if named is not None and named in library_paths():
        found = find_procedure(named)
        procedures = [found] if isinstance(found, Procedure) else [
            p for pid in found.procedures for p in [find_procedure(pid)] if isinstance(p, Procedure)]
        _check_values(inputs, procedures, named)
    return inputs


def check_inputs(inputs: dict[str, Any], procedures: Procedure | Bundle | list[Procedure]) -> None:
    """Refuse, before a run, an inputs file that does not fit the procedure (or the procedures of a bundle) being
    run: written for another procedure (`procedure:`), a value the procedure does not ask for (a misspelt name,
    with the nearest one), a value of the wrong kind or outside its plausible range. Errors name the inputs
    file's line. A plain mapping (the Python API) is checked the same way, without lines."""
    if isinstance(procedures, Procedure):
        run_id, listed = procedures.id, [procedures]
    elif isinstance(procedures, Bundle):
        run_id = procedures.id
        listed = [p for pid in procedures.procedures for p in [find_procedure(pid)] if isinstance(p, Procedure)]
    else:
        listed = list(procedures)
        run_id = listed[0].id if len(listed) == 1 else ", ".join(p.id for p in listed)
    named = getattr(inputs, "procedure", None)
    if named is not None and named != run_id and named not in {p.id for p in listed}:
        raise _refuse(inputs, getattr(inputs, "procedure_mark", None),
                      f"the inputs file is for the procedure '{named}', and this run is of {run_id}",
                      f"give the inputs file written for {run_id} (its `procedure: {run_id}`), or run {named} "
                      "with this one")
    _check_values(inputs, listed, run_id)


def _refuse(inputs: Any, mark: Mark | None, message: str, fix: str) -> ConfigError:
    if mark is not None:
        return fail(message, mark, fix=fix)
    where = getattr(inputs, "path", None)
    return ConfigError(f"{where}: {message}" if where else message, fix=fix)


def check_entered_value(inputs: dict[str, Any], name: str, unit: str, bounds: tuple[Any, Any] | None) -> None:
    """ConfigError (at the value's line in an inputs file) when inputs[name] is not of `unit`'s kind, breaks
    its kind's sign rule (units.sign_problem) or lies outside `bounds`."""
    from ..units import Q_, sign_problem

    value = inputs[name]
    marks: dict[str, Mark] = getattr(inputs, "marks", {})
    if not hasattr(value, "dimensionality") or value.dimensionality != Q_(1, unit).dimensionality:
        shown = f"{value:~P}" if hasattr(value, "units") else repr(value)
        raise _refuse(inputs, marks.get(name), f"'{name}' = {shown} is not in a unit like {unit}",
                      f"give '{name}' in {unit} or another unit of the same kind, e.g. `{name}: 1 {unit}`")
    problem = sign_problem(name, value)
    if problem:
        raise _refuse(inputs, marks.get(name), problem, f"check the reading and the unit of '{name}' and write it "
                                                        "again")
    if bounds is not None:
        low, high = bounds
        if not low <= value <= high:
            raise _refuse(inputs, marks.get(name),
                          f"'{name}' = {value:~P} is outside its plausible range {low:~P} to {high:~P}",
                          f"check the reading and the unit of '{name}' and write it again")


def _check_values(inputs: dict[str, Any], procedures: list[Procedure], run_id: str) -> None:
    """Each value must be one the procedures ask for, of its unit's kind and within its range."""
    import difflib

    asked: dict[str, tuple[str, str]] = {}
    ranges: dict[str, tuple[Any, Any]] = {}
    for procedure in procedures:
        asked.update(procedure.entered_names())
        ranges.update(procedure.entered_ranges())
    key_marks: dict[str, Mark] = getattr(inputs, "key_marks", {})
    for name in inputs:
        if name not in asked:
            near = difflib.get_close_matches(name, list(asked), n=1)
            wanted = ", ".join(asked) if asked else "none: it enters no values, so give no --inputs"
            raise _refuse(inputs, key_marks.get(name),
                          f"'{name}' is not a value {run_id} asks for",
                          (f"did you mean '{near[0]}'? " if near else "") + f"{run_id} asks for: {wanted}")
        check_entered_value(inputs, name, asked[name][0], ranges.get(name))
