"""The QC schedule: which procedure is due in which room, when it was last run, and its instruments' calibration.

The site file assigns procedures to rooms with a frequency: daily, weekly, monthly, quarterly, annual (calendar
steps from the last complete run), or an RFC 5545 rule such as `RRULE:FREQ=MONTHLY;BYMONTHDAY=1`, whose next
occurrence after the last run is the due date. A procedure never run is due now. A bundle counts as run when
each of its procedures has a complete run; its date is the oldest of those. A procedure that inspects a
garment (apron-inspection) is due per garment of the site's apparel inventory, wherever it was last inspected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "annual")


@dataclass(frozen=True)
class ScheduleItem:
    room: str
    procedure: str
    every: str
    item: str | None = None          # one garment; None: every garment, for a procedure with a subject


@dataclass(frozen=True)
class DueItem:
    room: str
    procedure: str
    every: str
    last_run: str | None
    last_date: dt.date | None
    last_verdict: str | None
    next_due: dt.date
    status: str                      # "OK", "DUE", "OVERDUE", "NEVER RUN"
    instruments: tuple[tuple[str, str, str], ...]   # (instrument id, due date, "OK" / "EXPIRED")
    item: str | None = None                         # the garment, for a procedure that inspects one


def check_frequency(text: str) -> None:
    """ValueError naming the accepted forms when `text` is not a frequency."""
    if text in FREQUENCIES:
        return
    if text.upper().startswith("RRULE:"):
        from dateutil.rrule import rrulestr

        try:
            rrulestr(text, dtstart=dt.datetime(2000, 1, 1))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"'{text}' is not a valid RFC 5545 rule ({exc})") from None
        return
    raise ValueError(f"'{text}' is not a frequency; use {', '.join(FREQUENCIES)} or an RFC 5545 rule "
                     "such as RRULE:FREQ=MONTHLY;BYMONTHDAY=1")


def next_due(every: str, last: dt.date | None, today: dt.date) -> dt.date:
    """The date the procedure is next due after a run on `last` (today when it was never run)."""
    if last is None:
        return today
    if every in FREQUENCIES:
        from dateutil.relativedelta import relativedelta

        step = {"daily": relativedelta(days=1), "weekly": relativedelta(weeks=1),
                "monthly": relativedelta(months=1), "quarterly": relativedelta(months=3),
                "annual": relativedelta(years=1)}[every]
        return last + step
    from dateutil.rrule import rrulestr

    rule = rrulestr(every, dtstart=dt.datetime.combine(last, dt.time()))
    following = rule.after(dt.datetime.combine(last, dt.time()), inc=False)
    return following.date() if following is not None else dt.date.max


def due_report(site: Any, store: Any, today: dt.date, room: str | None = None) -> list[DueItem]:
    """Each scheduled room × procedure (× garment): last complete run and verdict, next due date, calibration."""
    from .procedures.loader import find_procedure

    items = []
    for entry in site.schedule:
        if room is not None and entry.room != str(room):
            continue
        proc = find_procedure(entry.procedure)
        instruments = _instruments(site, entry.room, proc, today)
        if getattr(proc, "subject", None) is not None and (entry.item or site.apparel):
            inspected = [r for r in store.list_runs() if r.status == "complete" and r.procedure_id == proc.id]
            for garment in [entry.item] if entry.item else list(site.apparel):
                last = next((r for r in inspected if (r.snapshot.get("item") or {}).get("id") == garment), None)
                items.append(_due_item(entry, [last], today, instruments, garment))
            continue
        complete = [r for r in store.list_runs(room=entry.room) if r.status == "complete"]
        members = list(getattr(proc, "procedures", (entry.procedure,)))
        latest = [next((r for r in complete if r.procedure_id == pid), None) for pid in members]
        items.append(_due_item(entry, latest, today, instruments))
    return items


def _due_item(entry: ScheduleItem, latest: list[Any], today: dt.date,
              instruments: tuple[tuple[str, str, str], ...], item: str | None = None) -> DueItem:
    """The schedule line from the latest complete run of each procedure it needs (None where there is none)."""
    done = all(r is not None for r in latest)
    last = min(latest, key=lambda r: r.started_at) if done else None
    last_date = dt.date.fromisoformat(last.started_at[:10]) if last else None
    verdict = ("FAIL" if any(r.verdict == "FAIL" for r in latest) else "PASS") if done else None
    due = next_due(entry.every, last_date, today)
    status = "NEVER RUN" if last is None else "OVERDUE" if due < today else "DUE" if due == today else "OK"
    return DueItem(entry.room, entry.procedure, entry.every, last.run_id if last else None, last_date,
                   verdict, due, status, instruments, item)


def _instruments(site: Any, room_id: str, proc: Any, today: dt.date) -> tuple[tuple[str, str, str], ...]:
    """(instrument id, calibration due date, OK / EXPIRED / MISSING) for each role the procedure uses in the room."""
    from .procedures.loader import find_procedure

    roles = getattr(proc, "instruments", {})
    if not roles and hasattr(proc, "procedures"):
        roles = {r: c for pid in proc.procedures for r, c in find_procedure(pid).instruments.items()}
    room_obj = site.room(room_id)
    instruments = []
    for role in roles:
        iid = room_obj.instruments.get(role)
        if iid is None:
            instruments.append((f"({role}: none assigned)", "-", "MISSING"))
            continue
        cal = site.instruments[iid].calibration
        instruments.append((iid, cal.due.isoformat(), "OK" if cal.due >= today else "EXPIRED"))
    return tuple(instruments)
