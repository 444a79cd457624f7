"""How often a test or a maintenance task falls due: schedule frequencies, their next date, and the lines of a
schedule (ScheduleItem: what the site file asks; DueItem: where it stands on a day).

A frequency is daily, weekly, monthly, quarterly, annual (calendar steps from the last run) or an RFC 5545
rule such as `RRULE:FREQ=MONTHLY;BYMONTHDAY=1`, whose next occurrence after the last run is the due date.
A rule is looked at no further than RULE_HORIZON_YEARS ahead: one with no date in that span (BYMONTHDAY=40,
30 February, an UNTIL already past) is refused when the site is loaded, and INTERVAL must be 1 or more, so
finding the next due date never runs on for ever and a test is never silently dropped as "due in 9999".

Kept apart from xcal.schedule, which reads the store, the procedures and the program, so that the site loader
and the PM program can use it without depending on them.
"""

from __future__ import annotations

import datetime as dt
import functools
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


@functools.cache
def _steps() -> dict[str, Any]:
    """The calendar step of each named frequency, made once (dateutil is imported only when a date is due)."""
    from dateutil.relativedelta import relativedelta

    return {"daily": relativedelta(days=1), "weekly": relativedelta(weeks=1), "monthly": relativedelta(months=1),
            "quarterly": relativedelta(months=3), "annual": relativedelta(years=1)}


def next_due(every: str, last: dt.date | None, today: dt.date) -> dt.date:
    """The date the procedure is next due after a run on `last` (today when it was never run).

    FrequencyError when `every` is a rule with no date within RULE_HORIZON_YEARS after `last` (its UNTIL or
    COUNT has run out since the site was loaded)."""
    if last is None:
        return today
    if every in FREQUENCIES:
        return last + _steps()[every]
    following = _next_occurrence(every, last)
    if following is None:
        raise FrequencyError(f"the rule '{every}' gives no date within {RULE_HORIZON_YEARS} years after the last "
                             f"run on {last.isoformat()}", "extend or remove the rule's UNTIL or COUNT, or give "
                                                           "another frequency such as annual")
    return following
