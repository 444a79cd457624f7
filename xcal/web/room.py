"""A room: its equipment and instruments, schedule, history, trend plots with their limit bands, service events
and PM; forms to record a service event or a PM (role with "act")."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .app import Page, back, form_text, page, required
from .overview import simulated_runs

HISTORY_SHOWN = 50


def checks_of_room(store: Any, room: str) -> list[str]:
    """The check ids recorded in the room (its runs' checks, indexes runs_room and checks_run_result), in name
    order."""
    rows = store.select("SELECT DISTINCT c.check_id FROM runs r JOIN checks c ON c.run_id = r.run_id "
                        "WHERE r.room_id = ? ORDER BY c.check_id", (str(room),))
    return [row[0] for row in rows]


def room_data(site: Any, store: Any, today: Any, room_id: str) -> dict[str, Any]:
    """What the room page shows."""
    from ..program.pm import load_pm_log, load_pm_schedule
    from ..program.service import WORK, load_services, outstanding
    from ..schedule import due_report

    room = site.room(room_id)
    instruments = [(role, site.instruments.get(iid), iid) for role, iid in room.instruments.items()]
    services = [{**s, "still_due": outstanding(store, s)} for s in load_services(store) if s["room"] == room.id]
    schedule = due_report(site, store, today, room.id)
    shown = [i.last_run for i in schedule if i.last_run and not i.procedure.startswith("pm:")]
    return {"room": room, "instruments": instruments, "schedule": schedule,
            "simulated": simulated_runs(store, shown),
            "runs": store.list_runs(room=room.id, limit=HISTORY_SHOWN), "checks": checks_of_room(store, room.id),
            "services": services, "pm_log": [p for p in load_pm_log(store) if p["room"] == room.id],
            "pm_components": sorted({i.component for i in load_pm_schedule(site) if i.room == room.id}),
            "work_kinds": WORK}


@page("view")
def room(p: Page) -> Response:
    """GET /rooms/{room_id}."""
    data = room_data(p.web.site, p.store, p.today, p.request.path_params["room_id"])
    return p.render("room.html", today=p.today, request=p.request, **data)


@page("view")
def trend_svg(p: Page) -> Response:
    """GET /rooms/{room_id}/trend/{check_id}.svg: the check's trend in the room, with its limit bands."""
    from ..records.trend import trend
    from ..reports.plots import figure_svg, group_checks, trend_figure

    room_id = p.web.site.room(p.request.path_params["room_id"]).id
    check_id = p.request.path_params["check_id"]
    points = trend(p.store, room_id, check_id)
    if not group_checks(points, by="where"):
        return Response(status_code=404)
    svg = figure_svg(trend_figure(points, room_id, check_id))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=60"})


@page("act")
def record_service(p: Page) -> Response:
    """POST /rooms/{room_id}/service: `xcal service record` from the form; the account is who records it."""
    from ..program.service import record_service as record

    f = p.form
    event = record(p.store, p.web.site, room=p.request.path_params["room_id"],
                   component=required(f, "component", "Component"), work=required(f, "work", "Work"),
                   vendor=required(f, "vendor", "Vendor"), engineer=required(f, "engineer", "Engineer"),
                   down_from=required(f, "down_from", "Down from"), down_to=required(f, "down_to", "Down to"),
                   done=required(f, "done", "Work done"), parts=form_text(f, "parts").splitlines(), documents=[],
                   by=p.account.username)
    due = ", ".join(i["procedure"] for i in event["invalidates"]) or "none"
    return back(f"/rooms/{event['room']}", f"service event {event['service_id']} recorded; due after it: {due}")


@page("act")
def log_pm(p: Page) -> Response:
    """POST /rooms/{room_id}/pm: `xcal pm log` from the form; the account is who records it."""
    from ..program.pm import log_pm as log

    f = p.form
    entry = log(p.store, p.web.site, room=p.request.path_params["room_id"],
                component=required(f, "component", "Component"), done=required(f, "done", "Work done"),
                engineer=required(f, "engineer", "Engineer"), vendor=required(f, "vendor", "Vendor"),
                on=form_text(f, "date") or None, parts=form_text(f, "parts").splitlines(), by=p.account.username)
    return back(f"/rooms/{entry['room']}", f"PM {entry['pm_id']} of the {entry['component']} logged")
