"""How entry payloads map to the query tables (runs, readings, checks) and back.

The tables are projections of the entries: the store writes a row and a payload built by the same function
here, and `verify` compares them column by column through `row_value`.
"""

from __future__ import annotations

import json
from operator import itemgetter
from typing import Any, Callable, Mapping

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
