"""Procedure parameters and stations as written in YAML, and the words and ranges of their settings.

A procedure file's `parameters:` and a site room's own values for a procedure are parsed by the same code, so
both files say the same thing the same way. Kept apart from xcal.procedures and xcal.site so that each of them
can use it without depending on the other.
"""

from __future__ import annotations

import math
from typing import Any

from .yamlfile import Mark, YList, YMap, check_keys, expect_map, expect_str, fail, quantity_at

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
    "prompt": None,
}
"""`distance`: focal spot (or, at a survey point, the patient) to the meter; `phantom`: acrylic in the beam;
`barrier`: lead between the source and a survey point; `occupancy`: its NCRP 147 factor T; `area`:
controlled or uncontrolled; `point`, `position`, `scale`: names of a survey point, a leakage position,
a survey meter's scale; `mode`: how the exposure is made (aec, fluoro-normal, fluoro-high, leakage), or
what a survey meter is read in without one (check-source: its check source; background: no source at all);
`prompt`: what the technician is told at a station read without an exposure, in place of its mode's words (empty:
nothing for the technician to do there)."""

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
    from .units import Q_

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
    from .units import DIMENSIONS, Q_, dimension_name, has_dimension

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


class ParameterValues(dict[str, Any]):
    """Parameters as parsed from a file: a dict of name -> value that also remembers where each was written
    (`marks`: name -> Mark of the value; `station_marks`: name -> Mark of each station), so a check made later
    (against a procedure's defaults, when a site's room gives them) can name the file and line."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: dict[str, Any] = {}
        self.station_marks: dict[str, list[Any]] = {}


def finite_quantity_at(node: YMap | YList, key: Any, dimension: str | None, what: str) -> Any:
    """quantity_at, refusing a value that is not a finite number (`.nan cm`, `inf kV`)."""
    value = quantity_at(node, key, dimension, what)
    try:
        finite = math.isfinite(float(value.magnitude))
    except (TypeError, ValueError):
        finite = False
    if not finite:
        mark = node.value_mark(key) if isinstance(node, YMap) else node.item_mark(key)
        raise fail(f"{what}: {node[key]!r} is not a finite number", mark,
                   fix="write a number and a unit, e.g. '80 kV', '0.4 cm'")
    return value


def parse_station(node: Any, mark: Mark, index: int) -> dict[str, Any]:
    node = expect_map(node, mark, f"station {index}")
    check_keys(node, f"station {index}", optional=TECHNIQUE_KEYS)
    values: dict[str, Any] = {}
    for key, dimension in TECHNIQUE_KEYS.items():
        if key not in node:
            continue
        if dimension is None:
            values[key] = expect_str(node[key], node.value_mark(key), f"station {index} {key}")
            continue
        values[key] = quantity_at(node, key, dimension, f"station {index} {key}")
        problem = value_problem(values[key], SETTING_RANGES.get(key))
        if problem:
            raise fail(f"station {index} {key}: {node[key]!r} {problem}", node.value_mark(key),
                       fix=f"give `{key}:` a value {RANGE_FIX[SETTING_RANGES[key]]}, e.g. `{SETTING_EXAMPLES[key]}`")
    if not values:
        raise fail(f"station {index} sets nothing", mark, fix="give at least `kv:` and `ma:`/`time:`")
    return values


def parse_parameters(node: YMap, *, fixed_meanings: bool = False) -> dict[str, Any]:
    """A `parameters:` mapping (of a procedure file, or of a room in the site file). Stations are checked
    setting by setting. With `fixed_meanings` (a procedure file) a parameter named like a station setting
    (`sid`, `distance`) or listed in PARAMETER_KINDS (`workload`) must have that meaning's unit and range;
    a room's values are checked against the procedure's own when a run is prepared (plan.prepare). The result
    remembers where each value was written (ParameterValues)."""
    params = ParameterValues()
    for name, value in node.items():
        mark = node.value_mark(name)
        params.marks[str(name)] = mark
        if isinstance(value, YList):
            if not value:
                raise fail(f"parameter '{name}' is an empty list", mark, fix="list at least one station")
            if len(value) > MAX_STATIONS:
                raise fail(f"parameter '{name}' lists {len(value)} stations, more than {MAX_STATIONS} stations",
                           mark, fix=f"list at most {MAX_STATIONS} stations, or split the procedure")
            params[name] = [parse_station(item, value.item_mark(i), i + 1) for i, item in enumerate(value)]
            params.station_marks[str(name)] = [value.item_mark(i) for i in range(len(value))]
        elif isinstance(value, bool) or value is None or isinstance(value, YMap):
            raise fail(f"parameter '{name}' must be a number, a quantity or a list of stations", mark,
                       fix="write e.g. `repeats: 3`, `sid: 100 cm` or a list of stations")
        elif isinstance(value, int):
            if value < 1:
                raise fail(f"parameter '{name}' must be at least 1, got {value}", mark,
                           fix="use a positive whole number")
            if value > MAX_REPEATS:
                raise fail(f"parameter '{name}' is {value}, more than {MAX_REPEATS}, the most exposures a "
                           "whole-number parameter (a count of repeats) may ask for", mark,
                           fix=f"use a whole number from 1 to {MAX_REPEATS}, e.g. `repeats: 3`")
            params[name] = value
        else:
            kind = parameter_kind(str(name)) if fixed_meanings else None
            if kind is None:
                params[name] = finite_quantity_at(node, name, None, f"parameter '{name}'")
                continue
            numerator, per, allowed, example = kind
            q = quantity_at(node, name, None, f"parameter '{name}'")
            problem = form_problem(q, numerator, per) or value_problem(q, allowed)
            if problem:
                raise fail(f"parameter '{name}': {value!r} {problem}", mark,
                           fix=f"give it a value {RANGE_FIX[allowed]}, in a unit like the example: `{example}`")
            params[name] = q
    return params
