"""How entry payloads map to the query tables (runs, readings, checks) and back.

The tables are projections of the entries: the store writes a row and a payload built by the same function
here, and `verify` compares them column by column through `row_value`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring as _json_text
from operator import attrgetter, itemgetter
from typing import Any

from .chain import canonical
from .models import RunHeader, StoredCheck, StoredReading

RUN_FIELDS = ("procedure_id", "procedure_version", "procedure_sha256", "procedure_title", "site", "room_id",
              "room_name", "operator", "simulated", "software_version", "snapshot", "started_at")
STATUS_FIELDS = ("status", "verdict", "finished_at", "status_note")
READING_FIELDS = ("exposure", "station", "repeat", "role", "instrument_id", "quantity", "value", "unit", "data",
                  "taken_at")
CHECK_FIELDS = ("check_id", "title", "station", "setting", "value", "nominal", "unit", "deviation", "allowed",
                "limit_name", "limit_text", "limit_set", "source", "verdict")
_JSON_COLUMNS = frozenset({"snapshot", "data"})
_FLOAT_FIELDS = frozenset({"value", "nominal", "deviation", "allowed"})


def run_payload(header: RunHeader) -> dict[str, Any]:
    """The run-created payload: the header and the status a new run starts in."""
    payload = {name: getattr(header, name) for name in RUN_FIELDS}
    payload["simulated"] = bool(header.simulated)
    return {**payload, "status": "running", "verdict": None, "finished_at": None, "status_note": None}


def reading_payload(reading: StoredReading, reading_id: int) -> dict[str, Any]:
    """A reading's payload: its columns and the id of its row."""
    payload = _floats({name: getattr(reading, name) for name in READING_FIELDS})
    payload["reading_id"] = reading_id
    return payload


def check_payload(check: StoredCheck, check_row: int) -> dict[str, Any]:
    """One check's part of a checks payload: its columns and the id of its row."""
    payload = _floats({name: getattr(check, name) for name in CHECK_FIELDS})
    payload["check_row"] = check_row
    return payload


def _floats(payload: dict[str, Any]) -> dict[str, Any]:
    """Numbers in REAL columns recorded as floats, so the payload reads the same as the column (in place)."""
    for name in _FLOAT_FIELDS:
        value = payload.get(name)
        if value is not None and type(value) is not float:
            payload[name] = float(value)
    return payload


def column(name: str, value: Any) -> Any:
    """A payload value in the form its column stores (JSON columns as canonical text, booleans as 0/1)."""
    if name in _JSON_COLUMNS:
        return canonical(value) if value is not None else None
    if name == "simulated":
        return int(bool(value))
    return value


_ROW_GETTERS: dict[tuple[str, ...], tuple[Callable[[Mapping[str, Any]], Any], tuple[str, ...]]] = {}


def columns(payload: Mapping[str, Any], names: tuple[str, ...]) -> tuple[Any, ...]:
    """`column(name, payload[name])` for each of `names` (two or more), as one row's tuple, quickly.

    The bulk path (bulk.py) builds millions of rows: values that need no conversion are taken as they are.
    """
    found = _ROW_GETTERS.get(names)
    if found is None:
        found = _ROW_GETTERS[names] = (itemgetter(*names),
                                       tuple(n for n in names if n in _JSON_COLUMNS or n == "simulated"))
    getter, converted = found
    if any(payload[n] is not None for n in converted):
        return tuple(column(n, payload[n]) for n in names)
    return getter(payload)


def run_row(created: dict[str, Any], change: dict[str, Any]) -> tuple[tuple[Any, ...], str]:
    """An imported run's row (RUN_FIELDS + STATUS_FIELDS, its final status `change` applied) and the canonical
    text of its `created` payload, with the snapshot (most of both) encoded once instead of twice."""
    final = {**created, **change}
    snapshot = created["snapshot"]
    if snapshot is None:
        return columns(final, RUN_FIELDS + STATUS_FIELDS), canonical(created)
    snapshot_text = canonical(snapshot)
    row = tuple(snapshot_text if n == "snapshot" else column(n, final[n]) for n in RUN_FIELDS + STATUS_FIELDS)
    before = canonical({k: v for k, v in created.items() if k < "snapshot"})
    after = canonical({k: v for k, v in created.items() if k > "snapshot"})
    return row, f'{before[:-1]},"snapshot":{snapshot_text},{after[1:]}'


def reading_row(reading: StoredReading, reading_id: int, run_id: str) -> tuple[tuple[Any, ...], str]:
    """A reading's row (reading_id, run_id, then READING_FIELDS) and its entry's payload as canonical text.

    The bulk path's one pass over a reading: the same row as `columns(reading_payload(...))` and the same text,
    byte for byte, as `canonical` of that payload, with `data` encoded once for both. Anything but plain ints,
    text and finite floats goes the general way, which also says what is wrong with it.
    """
    r = reading
    value, data = r.value, r.data
    if type(value) is int:                                           # as _floats records it
        value = float(value)
    if not (type(r.exposure) is int and type(r.station) is int and type(r.repeat) is int and type(r.role) is str
            and type(r.instrument_id) is str and type(r.quantity) is str and type(r.unit) is str
            and type(r.taken_at) is str and (value is None or (type(value) is float and value - value == 0.0))):
        payload = reading_payload(reading, reading_id)
        return (reading_id, run_id) + columns(payload, READING_FIELDS), canonical(payload)
    data_text = None if data is None else canonical(data)
    row = (reading_id, run_id, r.exposure, r.station, r.repeat, r.role, r.instrument_id, r.quantity, value, r.unit,
           data_text, r.taken_at)
    return row, _reading_text(row)


def _reading_text(row: Any) -> str:
    """`canonical` of a reading's payload, written out from its row (data already canonical text or None)."""
    r = row
    return (f'{{"data":{"null" if r[10] is None else r[10]},"exposure":{r[2]},"instrument_id":{_json_text(r[6])},'
            f'"quantity":{_json_text(r[7])},"reading_id":{r[0]},"repeat":{r[4]},"role":{_json_text(r[5])},'
            f'"station":{r[3]},"taken_at":{_json_text(r[11])},"unit":{_json_text(r[9])},'
            f'"value":{"null" if r[8] is None else repr(r[8])}}}')


_READING_TYPES = (int, str, int, int, int, str, str, str, float, str, str, str)
_PLAIN_READING = frozenset(_READING_TYPES[:8] + (value,) + _READING_TYPES[9:10] + (data,) + _READING_TYPES[11:]
                           for value in (float, type(None)) for data in (str, type(None)))
"""The types of a readings row's columns as the store writes them (value and data may be NULL)."""


def reading_text(row: Any) -> str | None:
    """The payload text a readings row (columns reading_id, run_id, then READING_FIELDS) was recorded with, when
    every column holds the type the store writes: `verify` compares it with the entry's text in one go. None
    for a row of any other types (its entry is then parsed and compared column by column)."""
    return _reading_text(row) if tuple(map(type, row)) in _PLAIN_READING else None


_CHECK_VALUES = attrgetter(*CHECK_FIELDS)
_CHECK_FLOATS = frozenset(CHECK_FIELDS.index(name) for name in _FLOAT_FIELDS)
_CHECK_TEXTS = tuple(CHECK_FIELDS.index(name) for name in ("check_id", "title", "unit", "limit_name", "limit_text",
                                                           "limit_set", "source", "verdict"))


def check_row(check: StoredCheck, check_row: int, run_id: str, room_id: str) -> tuple[tuple[Any, ...], str]:
    """A check's row (check_row, run_id, room_id, then CHECK_FIELDS) and its part of the checks payload as
    canonical text: the same as `check_payload` + `columns` + `canonical`, made in one pass (bulk path)."""
    values = _CHECK_VALUES(check)
    if any(type(values[i]) is int for i in _CHECK_FLOATS):           # as _floats records them
        values = tuple(float(v) if i in _CHECK_FLOATS and type(v) is int else v for i, v in enumerate(values))
    text = _check_text(values, check_row)
    if text is None:
        payload = check_payload(check, check_row)
        return (check_row, run_id, room_id) + columns(payload, CHECK_FIELDS), canonical(payload)
    return (check_row, run_id, room_id) + values, text


def _check_text(values: Any, check_row: int) -> str | None:
    """`canonical` of one check's payload from its CHECK_FIELDS values and row id, written out directly (a bulk
    import makes one for every check); None for a value of a type the store does not write, which the general
    path then handles: text where text is due, a finite float (or None) in a REAL column, an int (or None) as
    the station, text (or None) as the setting."""
    (check_id, title, station, setting, value, nominal, unit, deviation, allowed, limit_name, limit_text, limit_set,
     source, verdict) = values
    if not (type(check_row) is int and (station is None or type(station) is int)
            and (setting is None or type(setting) is str) and all(type(values[i]) is str for i in _CHECK_TEXTS)):
        return None
    numbers = []
    for number in (allowed, deviation, nominal, value):
        if number is None:
            numbers.append("null")
        elif type(number) is float and number - number == 0.0:
            numbers.append(repr(number))
        else:
            return None
    text = _json_text
    return (f'{{"allowed":{numbers[0]},"check_id":{text(check_id)},"check_row":{check_row},'
            f'"deviation":{numbers[1]},"limit_name":{text(limit_name)},"limit_set":{text(limit_set)},'
            f'"limit_text":{text(limit_text)},"nominal":{numbers[2]},'
            f'"setting":{"null" if setting is None else text(setting)},"source":{text(source)},'
            f'"station":{"null" if station is None else station},"title":{text(title)},"unit":{text(unit)},'
            f'"value":{numbers[3]},"verdict":{text(verdict)}}}')


def check_text(row: Any) -> str | None:
    """A checks row's part (columns check_row, run_id, room_id, then CHECK_FIELDS) of the text of the checks entry
    it was recorded with, when its values are of the types the store writes: `verify` compares the entry's text
    with its rows' in one go. None otherwise (the entry is then parsed and compared column by column)."""
    return _check_text(tuple(row)[3:], row[0]) if type(row[0]) is int else None


def row_value(name: str, raw: Any) -> Any:
    """A column's stored value in the form its payload holds, for comparison."""
    if name in _JSON_COLUMNS and raw is not None:
        try:
            return json.loads(raw)
        except (TypeError, ValueError):
            return raw
    if name == "simulated" and raw is not None:
        return bool(raw)
    return raw


def row_payload(row: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """A table row as a payload of `fields` (used to adopt rows written before the chain existed)."""
    return {name: row_value(name, row[name]) for name in fields}
