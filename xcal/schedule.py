"""The QC schedule: which procedure is due in which room, when it was last run, and its instruments' calibration.

The site file assigns procedures to rooms with a frequency: daily, weekly, monthly, quarterly, annual (calendar
steps from the last complete run), or an RFC 5545 rule such as `RRULE:FREQ=MONTHLY;BYMONTHDAY=1`, whose next
occurrence after the last run is the due date. A procedure never run is due now. A bundle's members are due
together, as one line: its latest complete bundle record (records/bundles.py) gives the date and the verdict,
and a bundle begun after it and not finished is the open record `xcal run --resume BUNDLE_ID` continues. In
a store with no bundle record of it, a bundle counts as run when each of its procedures has a complete run;
its date is the oldest of those. A procedure that inspects a
garment (apron-inspection) is due per garment of the site's apparel inventory, wherever it was last inspected.

A verdict is not a date: when the latest complete run of a procedure in the room FAILED, it is due now
(RETEST REQUIRED, next due today) until a later run of it there passes, and the next due date counts from
that pass. A run begun and not finished (cut off, crashed, or still going) after the latest complete run is
due now too (INCOMPLETE, naming the run `xcal run --resume` continues); a failed run outranks it, since
only a pass clears a fail. Either way an earlier pass does not keep the room "OK".

Frequencies, their next dates and the schedule's lines (ScheduleItem, DueItem) are in xcal.frequency; the
instruments' calibration status on its own (`xcal site instruments`) in xcal.calibration.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .frequency import DueItem, FrequencyError, ScheduleItem, next_due


def due_report(site: Any, store: Any, today: dt.date, room: str | None = None) -> list[DueItem]:
    """Each scheduled room × procedure (× garment): last complete run and verdict, next due date, calibration.

    The store is asked only for each room × procedure's latest complete run and the unfinished run after it
    (`Store.latest_runs_of`: index searches, many lines a statement), and each procedure file is loaded
    once, so the report takes the same time and memory however many runs the store holds."""
    from .procedures.loader import find_procedure

    items = []
    scheduled = [entry for entry in site.schedule if room is None or entry.room == str(room)]
    procedures: dict[str, Any] = {}
    for entry in scheduled:
        if entry.procedure not in procedures:
            procedures[entry.procedure] = find_procedure(entry.procedure)
    latest_of = store.latest_runs_of((entry.room, pid) for entry in scheduled
                                     for pid in getattr(procedures[entry.procedure], "procedures", (entry.procedure,)))
    for entry in scheduled:
        proc = procedures[entry.procedure]
        instruments = _instruments(site, entry.room, proc, today)
        if getattr(proc, "subject", None) is not None and (entry.item or site.apparel):
            inspected = store.runs_of_procedure(proc.id)
            for garment in _garments_of(entry, site):
                runs = [r for r in inspected if (r.snapshot.get("item") or {}).get("id") == garment]
                items.append(_due_item(entry, [_latest(runs)], today, instruments, garment))
            continue
        bundles = _bundles_of(store, entry.room, proc)
        if bundles:
            items.append(_due_item(entry, [_latest(bundles)], today, instruments))
            continue
        members = list(getattr(proc, "procedures", (entry.procedure,)))
        latest = [latest_of[(entry.room, pid)] for pid in members]
        items.append(_due_item(entry, latest, today, instruments))
    from .program.due import program_due  # open actions named; procedures a service invalidated, due now

    return program_due(site, store, today, room, items, _instruments)


def _bundles_of(store: Any, room: str, proc: Any) -> list[Any]:
    """The bundle records of a scheduled bundle in the room, newest first (none for a single procedure, or for a
    store whose bundles were run before bundles were records: then the members' own runs decide)."""
    if not hasattr(proc, "procedures") or not hasattr(store, "list_bundles"):
        return []
    return [b for b in store.list_bundles(room=room) if b.bundle == proc.id]


def _latest(runs: list[Any]) -> tuple[Any, Any]:
    """From one procedure's runs, newest first: its latest complete run, and the newest run begun after that
    one and not finished (None for either when there is none)."""
    complete = next((r for r in runs if r.status == "complete"), None)
    newer = runs if complete is None else runs[:runs.index(complete)]
    return complete, next((r for r in newer if r.status != "complete"), None)


def _garments_of(entry: ScheduleItem, site: Any) -> list[str]:
    """The garments a schedule entry of an apparel procedure covers, each garment under one entry only: an
    entry naming the garment (`item:`) takes it; otherwise the first entry of that procedure without `item:`."""
    if entry.item:
        return [entry.item]
    same = [e for e in site.schedule if e.procedure == entry.procedure]
    named = {e.item for e in same if e.item}
    first_general = next(e for e in same if not e.item)
    return [g for g in site.apparel if g not in named] if entry is first_general else []


def _due_item(entry: ScheduleItem, latest: list[tuple[Any, Any]], today: dt.date,
              instruments: tuple[tuple[str, str, str], ...], item: str | None = None) -> DueItem:
    """The schedule line from (latest complete run, unfinished run after it) of each procedure it needs."""
    complete = [c for c, _ in latest]
    failed = [c for c in complete if c is not None and c.verdict == "FAIL"]
    unfinished = [o for _, o in latest if o is not None]
    done = all(c is not None for c in complete)
    last = (min(failed, key=lambda r: r.started_at) if failed
            else min(complete, key=lambda r: r.started_at) if done else None)
    last_date = dt.date.fromisoformat(last.started_at[:10]) if last else None
    verdict = "FAIL" if failed else "PASS" if done else None
    open_run = min(unfinished, key=lambda r: r.started_at).run_id if unfinished else None
    due: dt.date | None
    if failed or unfinished:
        due, status = today, "RETEST REQUIRED" if failed else "INCOMPLETE"
    else:
        try:
            due = next_due(entry.every, last_date, today)
        except FrequencyError:                                   # the rule's UNTIL or COUNT has run out
            due = None
        status = ("ENDED" if due is None else "NEVER RUN" if last is None else "OVERDUE" if due < today
                  else "DUE" if due == today else "OK")
    return DueItem(entry.room, entry.procedure, entry.every, last.run_id if last else None, last_date,
                   verdict, due, status, instruments, item, open_run)


def _instruments(site: Any, room_id: str, proc: Any, today: dt.date) -> tuple[tuple[str, str, str], ...]:
    """(instrument id, calibration due date, OK / EXPIRED / MISSING) for each role the procedure uses in the room."""
    from .procedures.loader import bundle_member

    roles = getattr(proc, "instruments", {})
    if not roles and hasattr(proc, "procedures"):
        roles = {r: c for pid in proc.procedures for r, c in bundle_member(pid).instruments.items()}
    room_obj = site.room(room_id)
    instruments = []
    from .dicom.nodes import DICOM_CAPABILITIES

    for role in roles:
        iid = room_obj.instruments.get(role)
        if roles[role] in DICOM_CAPABILITIES:       # a DICOM node of the site's dicom section, not an instrument
            instruments.append((f"({role}: DICOM node)", "-", "OK"))
            continue
        if iid is None:
            instruments.append((f"({role}: none assigned)", "-", "MISSING"))
            continue
        cal = site.instruments[iid].calibration
        instruments.append((iid, cal.due.isoformat(), "OK" if cal.due >= today else "EXPIRED"))
    return tuple(instruments)
