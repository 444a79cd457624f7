"""The QC schedule: which procedure is due in which room, when it was last run, and its instruments' calibration.

The site file assigns procedures to rooms with a frequency: daily, weekly, monthly, quarterly, annual (calendar
steps from the last complete run), or an RFC 5545 rule such as `RRULE:FREQ=MONTHLY;BYMONTHDAY=1`, whose next
occurrence after the last run is the due date. A procedure never run is due now. A bundle counts as run when
each of its procedures has a complete run; its date is the oldest of those. A procedure that inspects a
garment (apron-inspection) is due per garment of the site's apparel inventory, wherever it was last inspected.

A rule is looked at no further than RULE_HORIZON_YEARS ahead: one with no date in that span (BYMONTHDAY=40,
30 February, an UNTIL already past) is refused when the site is loaded, and INTERVAL must be 1 or more, so
finding the next due date never runs on for ever and a test is never silently dropped as "due in 9999".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "annual")
RULE_HORIZON_YEARS = 10
"""How far ahead a schedule rule's next date is looked for; a rule with none in this span is refused."""
RULE_REFERENCE_DATE = dt.date(2000, 1, 1)
"""The start a rule is tried from when the site is loaded: it must give a date within the horizon after this
day, so a rule that can never give one is refused, while one whose UNTIL has since passed still loads (and is
shown ENDED by `xcal due`)."""
RULE_FIX = ("give a rule that yields a date at least every ten years, e.g. RRULE:FREQ=MONTHLY;BYMONTHDAY=1: "
            "check its day (BYMONTHDAY), month (BYMONTH), end date (UNTIL) and that INTERVAL is 1 or more")
"""What to do about a rule that gives no date, in a technician's words."""


class FrequencyError(ValueError):
    """A schedule frequency that cannot be used, with the fix to show beside it."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True)
class ScheduleItem:
    room: str
    procedure: str
    every: str
    item: str | None = None          # one garment; None: every garment, for a procedure with a subject
    mark: Any = field(default=None, compare=False)   # where `every:` is written in the site file, for errors


@dataclass(frozen=True)
class DueItem:
    room: str
    procedure: str
    every: str
    last_run: str | None
    last_date: dt.date | None
    last_verdict: str | None
    next_due: dt.date | None         # None when the rule has ended (its UNTIL or COUNT has run out)
    status: str                      # "OK", "DUE", "OVERDUE", "NEVER RUN", "ENDED"
    instruments: tuple[tuple[str, str, str], ...]   # (instrument id, due date, "OK" / "EXPIRED")
    item: str | None = None                         # the garment, for a procedure that inspects one


def check_frequency(text: str, today: dt.date | None = None) -> None:
    """FrequencyError (a ValueError) naming the accepted forms when `text` is not a frequency, or when it is a
    rule with no date within RULE_HORIZON_YEARS after `today` (default: the real today)."""
    if text in FREQUENCIES:
        return
    if text.upper().startswith("RRULE:"):
        start = today or dt.date.today()
        if _next_occurrence(text, start) is None:
            raise FrequencyError(f"the rule '{text}' gives no date within {RULE_HORIZON_YEARS} years after "
                                 f"{start.isoformat()}", RULE_FIX)
        return
    raise FrequencyError(f"'{text}' is not a frequency; use {', '.join(FREQUENCIES)} or an RFC 5545 rule "
                         "such as RRULE:FREQ=MONTHLY;BYMONTHDAY=1",
                         "write daily, weekly, monthly, quarterly, annual or RRULE:...")


def _rule(text: str, start: dt.datetime) -> Any:
    """The dateutil rule of `text` from `start`; FrequencyError when dateutil cannot read it or INTERVAL is
    below 1 (dateutil would then repeat one date for ever)."""
    from dateutil.rrule import rrule, rrulestr

    if "\n" in text.strip():
        raise FrequencyError(f"'{text}' spans several lines", "write a single RRULE:... line")
    parts = dict(part.partition("=")[::2] for part in text.split(":", 1)[1].upper().split(";"))
    interval = parts.get("INTERVAL", "1").strip()
    if interval.lstrip("+-").isdigit() and int(interval) < 1:
        raise FrequencyError(f"the rule '{text}' has INTERVAL={interval}; it must be 1 or more",
                             "write INTERVAL=1 or more (INTERVAL=2 with FREQ=MONTHLY is every second month), "
                             "or leave INTERVAL out for 1")
    try:
        rule = rrulestr(text, dtstart=start)
    except (ValueError, TypeError, OverflowError, IndexError, KeyError) as exc:
        raise FrequencyError(f"'{text}' is not a valid RFC 5545 rule ({exc})",
                             "write the rule as RRULE:FREQ=...;... e.g. RRULE:FREQ=MONTHLY;BYMONTHDAY=1") from None
    if not isinstance(rule, rrule):
        raise FrequencyError(f"'{text}' is more than one rule", "write a single RRULE:... line")
    return rule


GREGORIAN_CYCLE_YEARS = 400
"""The Gregorian calendar repeats exactly every 400 years (146097 days, a whole number of weeks): weekdays,
leap days and month lengths of a year are those of the year 400 later."""


def _next_occurrence(text: str, after: dt.date) -> dt.date | None:
    """The rule's first date after `after` (the rule starting on `after`), or None when it has none within
    RULE_HORIZON_YEARS.

    Bounded work: dateutil walks a rule that matches nothing (BYMONTHDAY=40) on to the year 9999 whatever its
    UNTIL, which takes seconds to minutes. So the rule is evaluated whole 400-year cycles later, where the
    calendar is the same and 9999 is less than one cycle past the horizon, then the date is moved back.
    """
    import itertools

    from dateutil.relativedelta import relativedelta

    start = dt.datetime.combine(after, dt.time())
    horizon = start + relativedelta(years=RULE_HORIZON_YEARS)
    shift = GREGORIAN_CYCLE_YEARS * ((dt.MAXYEAR - horizon.year) // GREGORIAN_CYCLE_YEARS)
    shifted_start = start.replace(year=start.year + shift)
    rule = _rule(text, shifted_start)
    until, count = rule._until, rule._count      # dateutil keeps the rule's own UNTIL and COUNT only here
    end = min(until, horizon) if until is not None else horizon
    bounded = rule.replace(count=None, until=end.replace(year=end.year + shift))
    occurrences = iter(bounded) if count is None else itertools.islice(bounded, count)
    following = next((o for o in occurrences if o > shifted_start), None)
    return following.date().replace(year=following.year - shift) if following is not None else None


def next_due(every: str, last: dt.date | None, today: dt.date) -> dt.date:
    """The date the procedure is next due after a run on `last` (today when it was never run).

    FrequencyError when `every` is a rule with no date within RULE_HORIZON_YEARS after `last` (its UNTIL or
    COUNT has run out since the site was loaded)."""
    if last is None:
        return today
    if every in FREQUENCIES:
        from dateutil.relativedelta import relativedelta

        step = {"daily": relativedelta(days=1), "weekly": relativedelta(weeks=1),
                "monthly": relativedelta(months=1), "quarterly": relativedelta(months=3),
                "annual": relativedelta(years=1)}[every]
        return last + step
    following = _next_occurrence(every, last)
    if following is None:
        raise FrequencyError(f"the rule '{every}' gives no date within {RULE_HORIZON_YEARS} years after the last "
                             f"run on {last.isoformat()}", "extend or remove the rule's UNTIL or COUNT, or give "
                                                           "another frequency such as annual")
    return following


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
            for garment in _garments_of(entry, site):
                last = next((r for r in inspected if (r.snapshot.get("item") or {}).get("id") == garment), None)
                items.append(_due_item(entry, [last], today, instruments, garment))
            continue
        complete = [r for r in store.list_runs(room=entry.room) if r.status == "complete"]
        members = list(getattr(proc, "procedures", (entry.procedure,)))
        latest = [next((r for r in complete if r.procedure_id == pid), None) for pid in members]
        items.append(_due_item(entry, latest, today, instruments))
    return items


def _garments_of(entry: ScheduleItem, site: Any) -> list[str]:
    """The garments a schedule entry of an apparel procedure covers, each garment under one entry only: an
    entry naming the garment (`item:`) takes it; otherwise the first entry of that procedure without `item:`."""
    if entry.item:
        return [entry.item]
    same = [e for e in site.schedule if e.procedure == entry.procedure]
    named = {e.item for e in same if e.item}
    first_general = next(e for e in same if not e.item)
    return [g for g in site.apparel if g not in named] if entry is first_general else []


def _due_item(entry: ScheduleItem, latest: list[Any], today: dt.date,
              instruments: tuple[tuple[str, str, str], ...], item: str | None = None) -> DueItem:
    """The schedule line from the latest complete run of each procedure it needs (None where there is none)."""
    done = all(r is not None for r in latest)
    last = min(latest, key=lambda r: r.started_at) if done else None
    last_date = dt.date.fromisoformat(last.started_at[:10]) if last else None
    verdict = ("FAIL" if any(r.verdict == "FAIL" for r in latest) else "PASS") if done else None
    due: dt.date | None
    try:
        due = next_due(entry.every, last_date, today)
    except FrequencyError:                                       # the rule's UNTIL or COUNT has run out
        due = None
    status = ("ENDED" if due is None else "NEVER RUN" if last is None else "OVERDUE" if due < today
              else "DUE" if due == today else "OK")
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
