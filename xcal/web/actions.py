"""Corrective actions: the list, one action with its history, and forms to assign it, record progress and
resolve it (role with "act"), each through `program.actions` as `xcal action` does."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .app import Page, Refused, back, form_text, page, required
from .overview import simulated_runs

STEPS = ("assign", "progress", "resolve")


@page("view")
def actions(p: Page) -> Response:
    """GET /actions?status=open|in progress|resolved|verified|unverified&room=ID."""
    from ..program.actions import STATUSES, load_actions

    status = p.request.query_params.get("status") or "unverified"
    room = p.request.query_params.get("room") or None
    shown = [a for a in load_actions(p.store) if (room is None or a.room == room)
             and (status == "all" or a.status == status or (status == "unverified" and a.status != "verified"))]
    return p.render("actions.html", actions=shown, simulated=simulated_runs(p.store, [a.run_id for a in shown]),
                    statuses=("unverified", *STATUSES, "all"), chosen_status=status,
                    today=p.today.isoformat())


@page("view")
def action(p: Page) -> Response:
    """GET /actions/{action_id}."""
    from ..program.actions import get_action

    found = get_action(p.store, p.request.path_params["action_id"])
    runs = [found.run_id, *(r["run_id"] for r in found.retests)]
    return p.render("action.html", action=found, request=p.request, simulated=simulated_runs(p.store, runs))


@page("act")
def update(p: Page) -> Response:
    """POST /actions/{action_id}/assign|progress|resolve."""
    from ..program.actions import assign, get_action, progress, resolve

    step = p.request.path_params["step"]
    if step not in STEPS:
        raise Refused(f"'{step}' is not something one does to an action", status=404)
    action_id = get_action(p.store, p.request.path_params["action_id"]).action_id
    who = p.account.username
    f = p.form
    if step == "assign":
        done: Any = assign(p.store, action_id, required(f, "assignee", "Assign to"), form_text(f, "due") or None, who)
        note = f"{action_id} assigned to {done.assignee}, due {done.due}"
    elif step == "progress":
        done = progress(p.store, action_id, required(f, "note", "Progress"), who)
        note = f"progress recorded on {action_id}"
    else:
        done = resolve(p.store, action_id, required(f, "done", "What was done"), who,
                       form_text(f, "retest_run") or None, form_text(f, "reason") or None)
        note = f"{action_id} is now {done.status}"
    return back(f"/actions/{action_id}", note)
