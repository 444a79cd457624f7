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
    status: str                      # "OK", "DUE", "OVERDUE", "NEVER RUN", "ENDED", "RETEST REQUIRED", "INCOMPLETE"
    instruments: tuple[tuple[str, str, str], ...]   # (instrument id, due date, "OK" / "EXPIRED")
    item: str | None = None                         # the garment, for a procedure that inspects one
    open_run: str | None = None                     # a run begun after the last complete one and not finished
    action: str | None = None                       # the corrective action a RETEST REQUIRED awaits (program/)
    service: str | None = None                      # the service event that made it DUE AFTER SERVICE (program/)


CALIBRATION_WINDOW_DAYS = 60
"""How many days ahead `xcal site instruments` warns of a calibration falling due (`--within` changes it)."""


@dataclass(frozen=True)
class CalibrationStatus:
    """One instrument of the site with its calibration and where it serves: OK, DUE SOON (within the window,
    its due day included) or EXPIRED (past the due day, when a run refuses it)."""

    instrument: Any
    rooms: tuple[tuple[str, str], ...]       # (room id, role)
    days_left: int                           # negative once expired
    status: str                              # "OK", "DUE SOON", "EXPIRED"


def calibration_report(site: Any, today: dt.date, within_days: int = CALIBRATION_WINDOW_DAYS
                       ) -> list[CalibrationStatus]:
    """Every instrument of the site, in the site file's order, with its calibration status on `today`."""
    items = []
    for inst in site.instruments.values():
        left = (inst.calibration.due - today).days
        status = "EXPIRED" if left < 0 else "DUE SOON" if left <= within_days else "OK"
        rooms = tuple((room.id, role) for room in site.rooms.values()
                      for role, iid in room.instruments.items() if iid == inst.id)
        items.append(CalibrationStatus(inst, rooms, left, status))
    return items


def window_days(text: str) -> int:
    """The whole days of a warning window written with its unit (`90d`, `12 weeks`); ConfigError otherwise."""
    from .errors import ConfigError
    from .units import parse_quantity

    fix = "give a time with its unit, e.g. --within 90d or --within '12 weeks'"
    try:
        days = parse_quantity(text, "time").to("day").magnitude
    except ValueError as exc:
        raise ConfigError(f"--within {text!r} is not a time: {exc}", fix=fix) from None
    if days < 0:
        raise ConfigError(f"--within {text!r} is negative", fix=fix)
    return int(days)


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
