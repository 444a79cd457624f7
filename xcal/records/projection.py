"""How entry payloads map to the query tables (runs, readings, checks) and back.

The tables are projections of the entries: the store writes a row and a payload built by the same function
here, and `verify` compares them column by column through `row_value`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Mapping

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
    payload = {name: getattr(reading, name) for name in READING_FIELDS}
    return {**_floats(payload), "reading_id": reading_id}


def check_payload(check: StoredCheck, check_row: int) -> dict[str, Any]:
    """One check's part of a checks payload: its columns and the id of its row."""
    return {**_floats(asdict(check)), "check_row": check_row}


def _floats(payload: dict[str, Any]) -> dict[str, Any]:
    """Numbers in REAL columns recorded as floats, so the payload reads the same as the column."""
    return {k: (float(v) if k in _FLOAT_FIELDS and v is not None else v) for k, v in payload.items()}


def column(name: str, value: Any) -> Any:
    """A payload value in the form its column stores (JSON columns as canonical text, booleans as 0/1)."""
    if name in _JSON_COLUMNS:
        return canonical(value) if value is not None else None
    if name == "simulated":
        return int(bool(value))
    return value


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
