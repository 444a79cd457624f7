"""Which runs are past their retention period, and under which rule. It reports; it never deletes.

Retention differs by jurisdiction and record type, so it is configuration: a plain list of RetentionRule.
For a run, each jurisdiction contributes its most specific rule (the procedure's id before "*"; of two rules
for the same pair, the longer); across jurisdictions the longest keep-until date governs, since the record must
be kept until every authority allows disposal. The clock starts on the run's start date (UTC); a run is past
retention the day after its keep-until date. Event-based rules (MQSA: until the next inspection) are not
periods and are out of scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ConfigError, RecordError

if TYPE_CHECKING:
    from .store import Store

ANY_RECORD = "*"


@dataclass(frozen=True)
class RetentionRule:
    """Keep records of `record_type` (a procedure id, or "*") for `days` or `years` in `jurisdiction`."""

    jurisdiction: str
    record_type: str
    days: int | None = None
    years: int | None = None
    source: str = ""

    def __post_init__(self) -> None:
        given = [n for n in (self.days, self.years) if n is not None]
        if len(given) != 1 or isinstance(given[0], bool) or not isinstance(given[0], int) or given[0] <= 0:
            raise ConfigError(f"retention rule {self.jurisdiction}/{self.record_type}: give a whole positive "
                              f"number of days or of years, not both", fix="e.g. years: 3, or days: 400")

    def keep_until(self, start: dt.date) -> dt.date:
        """The last day the record must be kept; a year from 29 February ends on 28 February."""
        if self.days is not None:
            return start + dt.timedelta(days=self.days)
        year = start.year + (self.years or 0)
        try:
            return start.replace(year=year)
        except ValueError:
            return start.replace(year=year, day=28)


@dataclass(frozen=True)
class RetentionItem:
    """A run past retention, the rule that governs it, its keep-until date and how many days past it is."""

    run_id: str
    procedure_id: str
    site: str
    room_id: str
    started_at: str
    keep_until: dt.date
    rule: RetentionRule
    days_past: int


def retention_report(store: Store, rules: Iterable[RetentionRule], today: dt.date, *,
                     jurisdictions: Mapping[str, Collection[str]] | None = None) -> list[RetentionItem]:
    """Runs past retention on `today`, oldest first; a run no rule covers is kept and not listed.

    `jurisdictions` maps a site name to the jurisdictions its runs fall under; without it every rule's
    jurisdiction applies to every run (one site, the usual case).
    """
    rules = list(rules)
    past = []
    for run in reversed(store.list_runs()):
        allowed = None if jurisdictions is None else set(jurisdictions.get(run.site, ()))
        start = _start_date(run.run_id, run.started_at)
        governing = _governing(rules, run.procedure_id, allowed, start)
        if governing is None:
            continue
        rule, until = governing
        if today > until:
            past.append(RetentionItem(run.run_id, run.procedure_id, run.site, run.room_id, run.started_at, until,
                                      rule, (today - until).days))
    return past


def _governing(rules: list[RetentionRule], procedure_id: str, allowed: set[str] | None,
               start: dt.date) -> tuple[RetentionRule, dt.date] | None:
    best: dict[str, tuple[int, dt.date, RetentionRule]] = {}
    for rule in rules:
        if allowed is not None and rule.jurisdiction not in allowed:
            continue
        if rule.record_type not in (procedure_id, ANY_RECORD):
            continue
        specific = int(rule.record_type == procedure_id)
        candidate = (specific, rule.keep_until(start), rule)
        held = best.get(rule.jurisdiction)
        if held is None or candidate[:2] > held[:2]:
            best[rule.jurisdiction] = candidate
    if not best:
        return None
    _, until, rule = max(best.values(), key=lambda c: c[1])
    return rule, until


def _start_date(run_id: str, started_at: str) -> dt.date:
    try:
        moment = dt.datetime.fromisoformat(started_at)
    except ValueError:
        raise RecordError(f"run {run_id} has a start time '{started_at}' that is not an ISO date",
                          fix="run `xcal verify`; the runs table may have been edited") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date()
