"""The report's readings: one row per exposure, waveforms summarised (a plot per station), corrections listed.

A corrected reading shows its corrected value next to the value first recorded; the checks and verdict stay
as they were judged on the recorded values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from .model import ALERT_TONE, EMPTY_TONE, Cell, Note, Plot, Section, Table
from .plots import draw_waveform, waveform_series
from .text import DASH, list_in, mapping_in, num, pick, quantity_label, recorded

MAX_WAVEFORM_PLOTS = 12
_QUANTITY_TEXT = re.compile(r"^\s*(?P<value>[-+]?[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>\S+)\s*$")


def waveform_summary(reading: Any) -> str:
    """'1041 samples every 0.05 ms (52 ms), peak 128.8 kV' — a waveform in one line instead of its samples."""
    try:
        times, values, time_unit = waveform_series(reading.data)
    except ValueError:
        return "waveform without samples"
    span = times[-1] + (times[1] - times[0] if len(times) > 1 else 0.0)
    step = times[1] - times[0] if len(times) > 1 else 0.0
    return (f"{len(values)} samples every {num(step)} {time_unit} ({num(span)} {time_unit}), "
            f"peak {num(max(values))} {reading.unit}")


def _value_cell(reading: Any) -> Cell:
    if reading.quantity == "waveform":
        return Cell(waveform_summary(reading))
    shown = f"{recorded(reading.value)} {reading.unit}".rstrip() if reading.value is not None else DASH
    fix = getattr(reading, "corrected", None)
    if fix is None:
        return Cell(shown)
    return Cell(f"{recorded(fix.new_value)} {fix.unit} (corrected, #{fix.correction_id}; recorded {shown})",
                ALERT_TONE)


def readings_section(run: Any, snap: Mapping[str, Any]) -> Section:
    """The readings as recorded, one row per exposure and one column per instrument quantity."""
    readings = list(run.readings)
    if not readings:
        return Section("readings", "Readings", (Note("no readings recorded", EMPTY_TONE),))
    roles = {r.role for r in readings}
    columns: list[tuple[str, str]] = []
    by_exposure: dict[int, dict[tuple[str, str], Any]] = {}
    for r in readings:
        key = (r.role, r.quantity)
        if key not in columns:
            columns.append(key)
        by_exposure.setdefault(r.exposure, {})[key] = r
    headers = tuple(quantity_label(q) + (f" ({role})" if len(roles) > 1 else "") for role, q in columns)
    rows = []
    for exposure in sorted(by_exposure):
        cells = by_exposure[exposure]
        first = next(iter(cells.values()))
        rows.append((Cell(str(exposure)), Cell(str(first.station)), Cell(str(first.repeat)),
                     Cell((first.taken_at or "")[11:23] or DASH))
                    + tuple(_value_cell(cells[k]) if k in cells else Cell(DASH) for k in columns))
    instruments = sorted({f"{r.role}: {r.instrument_id}" for r in readings})
    weights = (0.75, 0.7, 0.7, 1.1) + tuple(2.6 if q == "waveform" else 1.0 for _, q in columns)
    return Section("readings", "Readings", (
        Table(("Exposure", "Station", "Repeat", "Taken (UTC)") + headers, tuple(rows),
              caption=f"Values as read ({', '.join(instruments)})", weights=weights),))


def _set_value(snap: Mapping[str, Any], station: int, unit: str) -> float | None:
    """The station's set kV as a number in `unit`, when the snapshot gives it in that unit."""
    stations = list_in(mapping_in(snap, "parameters"), "stations")
    if not 1 <= station <= len(stations) or not isinstance(stations[station - 1], Mapping):
        return None
    found = _QUANTITY_TEXT.match(str(stations[station - 1].get("kv", "")))
    return float(found["value"]) if found and found["unit"] == unit else None


def _station_label(snap: Mapping[str, Any], station: int) -> str:
    stations = list_in(mapping_in(snap, "parameters"), "stations")
    if 1 <= station <= len(stations) and isinstance(stations[station - 1], Mapping):
        return " ".join(str(v) for v in stations[station - 1].values())
    return ""


def waveforms_section(run: Any, snap: Mapping[str, Any]) -> Section | None:
    """The first recorded waveform of each station as a plot; None when the run recorded no waveform."""
    chosen: dict[int, Any] = {}
    for r in run.readings:
        if r.quantity == "waveform" and r.station not in chosen:
            try:
                waveform_series(r.data)
            except ValueError:
                continue
            chosen[r.station] = r
    if not chosen:
        return None
    blocks: list[Any] = [Note(f"The first exposure of each station is drawn (at most {MAX_WAVEFORM_PLOTS}); "
                              f"every waveform is kept in full in the record.")]
    for station in sorted(chosen)[:MAX_WAVEFORM_PLOTS]:
        r = chosen[station]
        title = f"Exposure {r.exposure}, station {station} ({_station_label(snap, station)}), repeat {r.repeat}"
        blocks.append(Plot(title, partial(draw_waveform, data=r.data, unit=r.unit or "kV",
                                          set_value=_set_value(snap, station, r.unit)), height=2.2))
    return Section("waveforms", "kV waveforms", tuple(blocks))


def corrections_section(run: Any) -> Section:
    """Every correction of a reading: old and new value, reason, person and time; 'none recorded' otherwise."""
    corrections: Sequence[Any] = getattr(run, "corrections", None) or []
    if not corrections:
        return Section("corrections", "Corrections to readings", (Note("none recorded", EMPTY_TONE),))
    readings = {r.reading_id: r for r in run.readings}
    rows = []
    for c in corrections:
        r = readings.get(pick(c, "reading_id"))
        what = f"#{pick(c, 'reading_id')}" + (f" (exposure {r.exposure}, {quantity_label(r.quantity)})" if r else "")
        rows.append((Cell(str(pick(c, "correction_id") or DASH)), Cell(what),
                     Cell(f"{recorded(pick(c, 'original_value'))} {pick(c, 'original_unit') or ''}".rstrip()),
                     Cell(f"{recorded(pick(c, 'new_value'))} {pick(c, 'unit') or ''}".rstrip(), ALERT_TONE),
                     Cell(str(pick(c, "reason") or DASH)), Cell(str(pick(c, "person") or DASH)),
                     Cell(str(pick(c, "at") or DASH)),
                     Cell(f"#{pick(c, 'supersedes')}" if pick(c, "supersedes") else DASH)))
    return Section("corrections", "Corrections to readings", (
        Note("Checks and the verdict were judged on the values as first recorded; a correction does not "
             "re-judge them."),
        Table(("#", "Reading", "Recorded", "Corrected to", "Reason", "By", "When (UTC)", "Replaces"), tuple(rows),
              weights=(0.4, 1.4, 0.9, 0.9, 2.2, 1.1, 1.5, 0.6))))
