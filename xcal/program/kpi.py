"""Program KPIs over a period: how well the QC and PM schedules were kept, the corrective actions, downtime
and instrument calibration.

Definitions (the period is `start` to `end`, both days included; "as of" is the earlier of `end` and today):

- QC on-time rate: each scheduled room x procedure falls due on a chain of dates: the first is the frequency's
  step after its last complete run before the period (the period's first day for a test never run before it),
  each next one the step after the run that answered the last. A due date inside the period counts as one test
  that fell due; it was done on time when the first complete run after the previous answering run (any
  verdict: a FAIL is a test done) is on or before it. Rate = on time / fell due. A bundle is answered by its
  complete bundle records.
- Open actions: corrective actions whose failed test was run on or before the as-of day and not verified by
  a passing retest run by then; overdue: those whose due date is before the as-of day.
- Mean time to close: over the actions verified by a retest run within the period, the mean of (day of the
  passing retest - day of the failed test). Both days are the runs' own (when the tests were made), not when
  the action's entries were written: an action opened by hand a week after its failed test counts from the
  test, and runs imported in bulk keep their days.
- Downtime per room: the hours of each service event's downtime that fall within the period, summed per room.
- PM compliance per room and month: the PM of the site's `maintenance:` lines, walked like QC from the PM log
  (a PM answers from its logged date), grouped by the month each PM fell due: fell due, done on time, rate.
- Calibration: the site's instruments (of the room, with `room`) whose calibration falls due within
  CALIBRATION_DAYS after the as-of day, and those already past due.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

CALIBRATION_DAYS = 30
"""How far ahead of the as-of day an instrument counts as due for calibration."""


@dataclass
class Kpis:
    """The program KPIs of one period (and room, or the whole site); `to_dict()` is the JSON of `xcal kpi`."""

    start: str
    end: str
    as_of: str
    room: str | None
    qc_due: int
    qc_on_time: int
    qc_on_time_rate: float | None
    qc_lines: list[dict[str, Any]]
    actions_open: int
    actions_overdue: int
    actions_closed: int
    mean_days_to_close: float | None
    downtime_hours: dict[str, float]
    pm_compliance: dict[str, dict[str, dict[str, Any]]]
    calibration_due: list[dict[str, Any]]
    calibration_overdue: list[dict[str, Any]]
    open_action_ids: list[str] = field(default_factory=list)
    overdue_action_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def occurrences(every: str, done: list[dt.date], start: dt.date, end: dt.date
                ) -> list[tuple[dt.date, dt.date | None]]:
    """The due dates of one schedule line inside [start, end], each with the day it was answered (None if not
    by the end), walked from the answering days `done` as the module docstring defines."""
    from ..frequency import FrequencyError, next_due

    days = sorted(set(done))
    before = [d for d in days if d < start]
    last = before[-1] if before else None
    due = next_due(every, last, start) if last else start
    found = []
    while due <= end:
        answer = next((d for d in days if last is None or d > last), None)
        if due >= start:
            found.append((due, answer if answer is not None and answer <= end else None))
        if answer is None or answer > end:
            break
        last = answer
        try:
            due = next_due(every, answer, start)
        except FrequencyError:
            break
    return found


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


def _qc(site: Any, store: Any, start: dt.date, end: dt.date, room: str | None) -> list[dict[str, Any]]:
    from ..procedures.loader import find_procedure

    lines = []
    for entry in site.schedule:
        if room is not None and entry.room != room:
            continue
        proc = find_procedure(entry.procedure)
        if hasattr(proc, "procedures") and hasattr(store, "list_bundles"):
            done = [_day(b.started_at) for b in store.list_bundles(room=entry.room)
                    if b.bundle == proc.id and b.status == "complete"]
        else:
            done = [_day(r.started_at) for r in store.list_runs(room=entry.room)
                    if r.procedure_id == entry.procedure and r.status == "complete"]
        for due, answered in occurrences(entry.every, done, start, end):
            lines.append({"room": entry.room, "procedure": entry.procedure, "due": due.isoformat(),
                          "done": answered.isoformat() if answered else None,
                          "on_time": answered is not None and answered <= due})
    return lines


def _actions(store: Any, start: dt.date, as_of: dt.date, room: str | None) -> dict[str, Any]:
    from .actions import load_actions

    actions = [a for a in load_actions(store) if room is None or a.room == room]
    made = {run_id: _day(at) for run_id, at in store.started_at(
        [a.run_id for a in actions] + [a.verified_by for a in actions if a.verified_by]).items()}
    failed = {a.action_id: made.get(a.run_id) or _day(a.opened_at) for a in actions}
    retested = {a.action_id: made.get(a.verified_by or "") or _day(a.verified_at or "")
                for a in actions if a.verified_at}
    open_ = [a for a in actions if failed[a.action_id] <= as_of
             and not (a.action_id in retested and retested[a.action_id] <= as_of)]
    overdue = [a for a in open_ if dt.date.fromisoformat(a.due) < as_of]
    closed = [a for a in actions if a.action_id in retested and start <= retested[a.action_id] <= as_of]
    days = [(retested[a.action_id] - failed[a.action_id]).days for a in closed]
    return {"open": [a.action_id for a in open_], "overdue": [a.action_id for a in overdue], "closed": len(closed),
            "mean": sum(days) / len(days) if days else None}


def _downtime(store: Any, start: dt.date, end: dt.date, room: str | None) -> dict[str, float]:
    from .service import load_services

    lo = dt.datetime.combine(start, dt.time(), dt.UTC)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    hours: dict[str, float] = {}
    for s in load_services(store):
        if room is not None and s["room"] != room:
            continue
        a = max(dt.datetime.fromisoformat(s["down_from"]), lo)
        b = min(dt.datetime.fromisoformat(s["down_to"]), hi)
        hours[s["room"]] = hours.get(s["room"], 0.0) + max((b - a).total_seconds(), 0.0) / 3600
    return hours


def _pm(site: Any, store: Any, start: dt.date, end: dt.date, room: str | None) -> dict[str, dict[str, Any]]:
    from .pm import load_pm_log, load_pm_schedule

    log = load_pm_log(store)
    result: dict[str, dict[str, Any]] = {}
    for item in load_pm_schedule(site):
        if room is not None and item.room != room:
            continue
        done = [dt.date.fromisoformat(p["date"]) for p in log
                if p["room"] == item.room and p["component"] == item.component]
        for due, answered in occurrences(item.every, done, start, end):
            month = result.setdefault(item.room, {}).setdefault(due.strftime("%Y-%m"),
                                                                {"due": 0, "on_time": 0, "rate": None})
            month["due"] += 1
            month["on_time"] += int(answered is not None and answered <= due)
    for months in result.values():
        for m in months.values():
            m["rate"] = m["on_time"] / m["due"]
    return result


def _calibration(site: Any, as_of: dt.date, room: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from ..calibration import calibration_report

    due, overdue = [], []
    for c in calibration_report(site, as_of, CALIBRATION_DAYS):
        if room is not None and all(r != room for r, _ in c.rooms):
            continue
        row = {"instrument": c.instrument.id, "due": c.instrument.calibration.due.isoformat(),
               "days_left": c.days_left, "rooms": [r for r, _ in c.rooms]}
        if c.days_left < 0:
            overdue.append(row)
        elif c.days_left <= CALIBRATION_DAYS:
            due.append(row)
    return due, overdue


def compute_kpis(store: Any, site: Any, *, start: dt.date, end: dt.date, room: str | None = None,
                 today: dt.date | None = None) -> Kpis:
    """The KPIs of `start`..`end` (days included) for the site or one room, as the module docstring defines."""
    from ..errors import ConfigError

    if end < start:
        raise ConfigError(f"the period ends ({end}) before it starts ({start})", fix="give --from before --to")
    room_id = site.room(room).id if room is not None else None
    as_of = min(end, today or dt.date.today())
    qc = _qc(site, store, start, end, room_id)
    on_time = sum(1 for line in qc if line["on_time"])
    actions = _actions(store, start, as_of, room_id)
    due, overdue = _calibration(site, as_of, room_id)
    return Kpis(start.isoformat(), end.isoformat(), as_of.isoformat(), room_id, len(qc), on_time,
                on_time / len(qc) if qc else None, qc, len(actions["open"]), len(actions["overdue"]),
                actions["closed"], actions["mean"], _downtime(store, start, end, room_id),
                _pm(site, store, start, end, room_id), due, overdue, actions["open"], actions["overdue"])


def kpi_lines(k: Kpis) -> list[str]:
    """The KPIs as text for the console."""
    def pct(x: float | None) -> str:
        return "—" if x is None else f"{100 * x:.0f} %"

    lines = [f"Program KPIs {k.start} to {k.end}" + (f", room {k.room}" if k.room else "") + f" (as of {k.as_of})",
             f"  QC on time: {pct(k.qc_on_time_rate)} ({k.qc_on_time} of {k.qc_due} tests that fell due)",
             f"  corrective actions: {k.actions_open} open, {k.actions_overdue} overdue"
             + (f" ({', '.join(k.overdue_action_ids)})" if k.overdue_action_ids else ""),
             "  mean time to close: " + ("—" if k.mean_days_to_close is None else
                                         f"{k.mean_days_to_close:.1f} days over {k.actions_closed} closed")]
    for room, hours in sorted(k.downtime_hours.items()):
        lines.append(f"  downtime room {room}: {hours:.1f} h")
    for room, months in sorted(k.pm_compliance.items()):
        cells = ", ".join(f"{m} {v['on_time']}/{v['due']}" for m, v in sorted(months.items()))
        lines.append(f"  PM compliance room {room}: {cells}")
    for c in k.calibration_overdue:
        lines.append(f"  calibration OVERDUE: {c['instrument']} (due {c['due']})")
    for c in k.calibration_due:
        lines.append(f"  calibration due within {CALIBRATION_DAYS} days: {c['instrument']} (due {c['due']})")
    return lines


def period(start: str | None, end: str | None, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """`--from`/`--to` as dates: by default 1 January of this year to today; ConfigError for a bad date."""
    from ..errors import ConfigError

    today = today or dt.date.today()
    days = []
    for text, flag, default in ((start, "--from", dt.date(today.year, 1, 1)), (end, "--to", today)):
        try:
            days.append(dt.date.fromisoformat(text.strip()) if text else default)
        except ValueError:
            raise ConfigError(f"{flag} {text!r} is not a date", fix=f"give {flag} as YYYY-MM-DD") from None
    return days[0], days[1]
