"""What program records add to `xcal due`: the corrective action a RETEST REQUIRED awaits, the PM lines of
the site's `maintenance:` schedule (pm.py), and the procedures a service event made due (DUE AFTER SERVICE)
until a later run of each passes in the room.

A schedule line already due for another reason (RETEST REQUIRED, INCOMPLETE) keeps that status; one that
is OK, DUE, OVERDUE or NEVER RUN becomes DUE AFTER SERVICE, due today, naming the event. A procedure the
schedule does not list gets a line of its own, with `every` 'after service'.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

KEEP = ("RETEST REQUIRED", "INCOMPLETE")


def program_due(site: Any, store: Any, today: dt.date, room: str | None, items: list[Any],
                instruments: Callable[..., Any]) -> list[Any]:
    """`items` with actions named and post-service lines added; `instruments(site, room, proc, today)` gives
    the calibration column of a new line."""
    from ..frequency import DueItem
    from ..procedures.loader import find_procedure
    from .actions import load_actions
    from .service import load_services, outstanding

    actions = [a for a in load_actions(store) if a.status != "verified"]
    result = []
    for item in items:
        if item.status == "RETEST REQUIRED" and item.item is None:
            members = tuple(getattr(find_procedure(item.procedure), "procedures", (item.procedure,)))
            found = next((a for a in actions if a.room == item.room and a.procedure in members), None)
            if found is not None:
                item = dataclasses.replace(item, action=found.action_id)
        result.append(item)
    from .pm import pm_due

    result.extend(pm_due(site, store, today, room))
    for service in load_services(store):
        if room is not None and service["room"] != str(room):
            continue
        for proc in outstanding(store, service):
            line = next((i for i, it in enumerate(result) if it.room == service["room"] and it.procedure == proc
                         and it.item is None), None)
            if line is not None:
                if result[line].status not in KEEP and result[line].service is None:
                    result[line] = dataclasses.replace(result[line], status="DUE AFTER SERVICE", next_due=today,
                                                       service=service["service_id"])
                continue
            result.append(DueItem(service["room"], proc, "after service", None, None, None, today,
                                  "DUE AFTER SERVICE", instruments(site, service["room"], find_procedure(proc), today),
                                  None, None, None, service["service_id"]))
    return result


def due_notes(items: list[Any]) -> list[str]:
    """One line per program reason a test is due, for the console under the table."""
    lines = []
    for i in items:
        if i.action:
            lines.append(f"CORRECTIVE ACTION: {i.procedure} in room {i.room} awaits action {i.action}; a passing "
                         f"retest verifies it (`xcal action show {i.action}`).")
        if i.service:
            lines.append(f"DUE AFTER SERVICE: {i.procedure} in room {i.room}, made due by service event "
                         f"{i.service} (`xcal service show {i.service}`), until a later run of it there passes.")
    return lines
