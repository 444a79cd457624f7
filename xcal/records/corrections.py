"""Corrections as entries: what a correction must say, and the corrections of a run read back from its entries.

A correction never edits a reading. It is a new entry naming the reading (its id and the seq of its entry),
the value first recorded, the new value, the reason, the person and (as the entry's time) when. Corrections
do not re-judge the run's checks or verdict: those stay as they were recorded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..errors import RecordError
from .chain import ADOPTED, CORRECTION, READING, Entry
from .models import Correction


def require_text(value: str, what: str, fix: str) -> str:
    """`value` stripped, or a RecordError naming `what` when it is empty."""
    text = (value or "").strip()
    if not text:
        raise RecordError(f"a correction needs {what}", fix=fix)
    return text


def require_value(value: float, unit: str) -> tuple[float, str]:
    """The corrected value as a float and its unit, checked; a RecordError with the fix otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecordError(f"a corrected value must be a finite number, not {value!r}",
                          fix="give the value as a number and its unit separately, e.g. 80.4 and 'kV'")
    return float(value), require_text(unit, "a unit", "give the unit the value is in, e.g. 'kV'")


def recorded_reading(entries: Iterable[Entry], reading_id: int) -> tuple[int, dict[str, Any]] | None:
    """The seq and payload of the entry that recorded reading `reading_id`, if the run's entries hold one."""
    for entry in entries:
        if entry.kind == READING:
            payload = entry.data()
            if payload.get("reading_id") == reading_id:
                return entry.seq, payload
        elif entry.kind == ADOPTED:
            for payload in entry.data().get("readings", []):
                if payload.get("reading_id") == reading_id:
                    return entry.seq, payload
    return None


def corrections_of(entries: Iterable[Entry]) -> list[Correction]:
    """Every correction among a run's entries, oldest first."""
    found = []
    for entry in entries:
        if entry.kind != CORRECTION:
            continue
        p = entry.data()
        try:
            found.append(Correction(entry.seq, entry.run_id, p["reading_id"], p["reading_seq"], p["original_value"],
                                    p["original_unit"], p["new_value"], p["unit"], p["reason"], p["person"],
                                    entry.at, p.get("supersedes")))
        except KeyError as exc:
            raise RecordError(f"{entry.label()}: its payload lacks {exc}",
                              fix="run `xcal verify`; the entry was edited outside xcal") from None
    return found


def latest_by_reading(corrections: Iterable[Correction]) -> dict[int, Correction]:
    """Reading id -> its latest correction."""
    latest: dict[int, Correction] = {}
    for c in corrections:
        latest[c.reading_id] = c
    return latest


def correct_with_units(store: Any, run_id: str, reading_id: int, value: str, reason: str, person: str) -> int:
    """Correct a reading from text such as '80.4 kV', refusing a value without a unit or of another dimension."""
    from ..errors import ConfigError
    from ..units import Q_, parse_quantity

    try:
        q = parse_quantity(value)
    except ValueError as exc:
        raise ConfigError(f"corrected value: {exc}", fix="write the value with its unit, e.g. '80.4 kV'") from None
    run = store.get_run(run_id)
    original = next((r for r in run.readings if r.reading_id == reading_id), None)
    if original is None:
        raise ConfigError(f"run {run_id} has no reading {reading_id}",
                          fix="see the reading ids with `xcal show-run RUN_ID --json`")
    if q.dimensionless or q.dimensionality != Q_(1, original.unit).dimensionality:
        raise ConfigError(f"reading {reading_id} ({original.quantity}) is in {original.unit}; '{value}' is not of "
                          "that kind", fix=f"give the corrected value in {original.unit} or a unit of the same kind")
    return store.correct_reading(run_id, reading_id, float(q.magnitude), f"{q.units:~P}", reason, person)
