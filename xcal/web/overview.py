"""The site overview: every room's QC status as `xcal due` works it out, open corrective actions and
instruments due for calibration, with filters by room and modality."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .app import Page, page

ATTENTION = ("OVERDUE", "RETEST REQUIRED", "INCOMPLETE", "DUE AFTER SERVICE", "DUE", "NEVER RUN", "NEVER DONE")


@dataclass
class RoomStatus:
    """One room's lines of `xcal due` and what they add up to."""

    room: Any
    lines: list[Any] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(i.last_verdict == "FAIL" or i.status == "RETEST REQUIRED" for i in self.lines)

    @property
    def worst(self) -> str:
        """The status that most needs attention among the room's lines ('OK' when none does)."""
        found = {i.status for i in self.lines}
        return next((s for s in ATTENTION if s in found), "OK" if self.lines else "NOT SCHEDULED")


def simulated_runs(store: Any, run_ids: list[str]) -> set[str]:
    """Which of these runs are SIMULATED (a few statements however many ids)."""
    found: set[str] = set()
    for first in range(0, len(run_ids), 500):
        ids = run_ids[first:first + 500]
        sql = f"SELECT run_id FROM runs WHERE simulated <> 0 AND run_id IN ({', '.join('?' * len(ids))})"
        found.update(row[0] for row in store.select(sql, tuple(ids)))
    return found


def unscheduled(site: Any, store: Any, rooms: set[str], members: dict[str, tuple[str, ...]]) -> list[Any]:
    """A line for each procedure run in one of `rooms` that its schedule does not cover (neither itself nor a
    bundle holding it): its latest complete run and verdict, status NOT SCHEDULED, so no FAIL goes unseen.
    `members` keeps each scheduled procedure's own procedures (a bundle's members) between calls."""
    from ..frequency import DueItem
    from ..procedures.loader import find_procedure

    covered: set[tuple[str, str]] = set()
    for entry in site.schedule:
        if entry.procedure not in members:
            members[entry.procedure] = tuple(getattr(find_procedure(entry.procedure), "procedures",
                                                     (entry.procedure,)))
        covered.update((entry.room, m) for m in (entry.procedure, *members[entry.procedure]))
    pairs = [(row[0], row[1]) for row in store.select("SELECT DISTINCT room_id, procedure_id FROM runs")
             if row[0] in rooms and (row[0], row[1]) not in covered]
    lines = []
    for (room, procedure), (complete, opened) in sorted(store.latest_runs_of(pairs).items()):
        last = complete or opened
        if last is None:
            continue
        lines.append(DueItem(room, procedure, "not scheduled", last.run_id, dt.date.fromisoformat(last.started_at[:10]),
                             complete.verdict if complete else None, None, "NOT SCHEDULED", (),
                             open_run=opened.run_id if opened else None))
    return lines


def overview_data(site: Any, store: Any, today: Any, room: str | None = None, modality: str | None = None,
                  members: dict[str, tuple[str, ...]] | None = None) -> dict[str, Any]:
    """Everything the overview shows, filtered by room and modality (None: all); `members` as `unscheduled`'s."""
    from ..calibration import calibration_report
    from ..program.actions import load_actions
    from ..schedule import due_report

    rooms = [r for r in site.rooms.values() if (room is None or r.id == room)
             and (modality is None or r.modality == modality)]
    wanted = {r.id for r in rooms}
    statuses = {r.id: RoomStatus(r) for r in rooms}
    lines = due_report(site, store, today, room) + unscheduled(site, store, wanted, {} if members is None else members)
    for item in lines:
        if item.room in statuses:
            statuses[item.room].lines.append(item)
    runs = sorted({i.last_run for s in statuses.values() for i in s.lines if i.last_run and
                   not i.procedure.startswith("pm:")})
    actions = [a for a in load_actions(store) if a.status != "verified" and a.room in wanted]
    calibration = [c for c in calibration_report(site, today) if c.status != "OK"
                   and (not c.rooms or any(rid in wanted for rid, _ in c.rooms))]
    return {"rooms": list(statuses.values()), "simulated": simulated_runs(store, runs), "actions": actions,
            "calibration": calibration, "overdue_actions": {a.action_id for a in actions if a.due < today.isoformat()}}


@page("view")
def overview(p: Page) -> Any:
    """The site overview (GET ?room=ID&modality=NAME filters)."""
    room = p.request.query_params.get("room") or None
    modality = p.request.query_params.get("modality") or None
    if room is not None:
        p.web.site.room(room)
    data = overview_data(p.web.site, p.store, p.today, room, modality, p.web.members)
    modalities = sorted({r.modality for r in p.web.site.rooms.values() if r.modality})
    return p.render("overview.html", chosen_room=room or "", chosen_modality=modality or "", modalities=modalities,
                    today=p.today, **data)
