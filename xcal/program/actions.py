"""Corrective actions: a failed run opens one; only a later passing run of the same checks verifies it.

An action lives as store-level entries of the audit chain (chain.py's action_* kinds, run_id ''), never as a
table row, so `xcal verify` and the anchors cover it and no schema change is needed. Its state is the fold
of its entries, oldest first: opened (what failed, by how much, from the stored checks) -> assigned ->
in progress -> resolved (what was done) -> verified (a retest: same procedure, same room, begun later,
complete, every check that failed now not FAIL). Nothing is edited: a second resolution names the one it
supersedes and why.

Decisions: a failed run while an action of the same room and procedure is still unverified is recorded on
that action as a failed retest (one action per fault, not one per attempt). A passing retest verifies the
action whatever its status (the retest is the proof); an action verified without a resolution says so, and
a resolution may still be added. A new action is unassigned and due ACTION_DUE_DAYS after it was opened.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..records.chain import (
    ACTION_ASSIGNED,
    ACTION_OPENED,
    ACTION_PROGRESS,
    ACTION_RESOLVED,
    ACTION_RETESTED,
    ACTION_VERIFIED,
)

ACTION_DUE_DAYS = 30
"""Days from opening to an action's due date unless `--due` says otherwise."""
AUTOMATIC = "xcal (automatic)"
"""Who the record names for what xcal does by itself (opening on a FAIL, verifying on a passing retest)."""
ACTION_KINDS = (ACTION_OPENED, ACTION_ASSIGNED, ACTION_PROGRESS, ACTION_RESOLVED, ACTION_RETESTED, ACTION_VERIFIED)
STATUSES = ("open", "in progress", "resolved", "verified")


@dataclass
class Action:
    """One corrective action as its entries say: the failed run and checks, who, when, and what followed."""

    action_id: str
    run_id: str
    room: str
    procedure: str
    failed: list[dict[str, Any]]
    opened_at: str
    opened_by: str
    assignee: str | None
    due: str
    status: str = "open"
    progress: list[dict[str, Any]] = field(default_factory=list)
    resolution: dict[str, Any] | None = None
    retests: list[dict[str, Any]] = field(default_factory=list)
    verified_by: str | None = None
    verified_at: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The action as JSON (docs/exit-codes.rst, `xcal action show`)."""
        return {"action_id": self.action_id, "run_id": self.run_id, "room": self.room,
                "procedure": self.procedure, "status": self.status, "assignee": self.assignee, "due": self.due,
                "opened_at": self.opened_at, "opened_by": self.opened_by, "failed": self.failed,
                "progress": self.progress, "resolution": self.resolution, "retests": self.retests,
                "verified_by": self.verified_by, "verified_at": self.verified_at, "history": self.history}

    def summary(self) -> str:
        """'CA-1 (open, assigned to J. Ray, due 2026-12-31)': how `xcal due` and reports name it."""
        who = f"assigned to {self.assignee}" if self.assignee else "unassigned"
        return f"{self.action_id} ({self.status}, {who}, due {self.due})"


def load_actions(store: Any) -> list[Action]:
    """Every action of the store, in the order they were opened, each folded from its entries."""
    actions: dict[str, Action] = {}
    for entry in store.entries_of_kind(ACTION_KINDS):
        data = entry.data()
        if entry.kind == ACTION_OPENED:
            actions[data["action_id"]] = Action(
                data["action_id"], data["run_id"], data["room"], data["procedure"], data["failed"], entry.at,
                data["by"], data.get("assignee"), data["due"])
        action = actions.get(data.get("action_id", ""))
        if action is None:
            continue
        action.history.append({"seq": entry.seq, "at": entry.at, "kind": entry.kind,
                               "by": data.get("by"), "text": _history_text(entry.kind, data)})
        if entry.kind == ACTION_ASSIGNED:
            action.assignee, action.due = data["assignee"], data["due"]
        elif entry.kind == ACTION_PROGRESS:
            action.progress.append({"at": entry.at, "by": data["by"], "note": data["note"]})
            if action.status == "open":
                action.status = "in progress"
        elif entry.kind == ACTION_RESOLVED:
            action.resolution = {"at": entry.at, "by": data["by"], "done": data["done"],
                                 "retest_run": data.get("retest_run"), "supersedes": data.get("supersedes"),
                                 "reason": data.get("reason")}
            if action.status != "verified":
                action.status = "resolved"
        elif entry.kind == ACTION_RETESTED:
            action.retests.append({"run_id": data["retest_run"], "verdict": data["verdict"], "at": entry.at,
                                   "failed": data.get("failed", [])})
        elif entry.kind == ACTION_VERIFIED:
            action.status, action.verified_by, action.verified_at = "verified", data["retest_run"], entry.at
            action.retests.append({"run_id": data["retest_run"], "verdict": data["verdict"], "at": entry.at,
                                   "failed": []})
    return list(actions.values())


def _history_text(kind: str, data: dict[str, Any]) -> str:
    if kind == ACTION_OPENED:
        return f"opened on the FAIL of run {data['run_id']}"
    if kind == ACTION_ASSIGNED:
        return f"assigned to {data['assignee']}, due {data['due']}"
    if kind == ACTION_PROGRESS:
        return f"in progress: {data['note']}"
    if kind == ACTION_RESOLVED:
        return f"resolved: {data['done']}" + (f" (supersedes the resolution of entry {data['supersedes']}: "
                                              f"{data['reason']})" if data.get("supersedes") else "")
    if kind == ACTION_RETESTED:
        return f"retest run {data['retest_run']} FAILED"
    return f"verified by the passing retest run {data['retest_run']}"


def get_action(store: Any, action_id: str) -> Action:
    """The action `action_id`; ConfigError naming the actions there are otherwise."""
    actions = load_actions(store)
    found = next((a for a in actions if a.action_id.lower() == action_id.strip().lower()), None)
    if found is None:
        known = ", ".join(a.action_id for a in actions[-5:]) or "none yet"
        raise ConfigError(f"no corrective action '{action_id}' in {store.path} (recorded: {known})",
                          fix="run `xcal action list` to see the actions and their ids")
    return found


def failed_checks(run: Any) -> list[dict[str, Any]]:
    """What failed in a stored run and by how much: each FAIL check with its value, set value, deviation,
    the allowed deviation, the limit and its source."""
    return [{"check_id": c.check_id, "title": c.title, "setting": c.setting, "value": c.value, "unit": c.unit,
             "nominal": c.nominal, "deviation": c.deviation, "allowed": c.allowed, "limit": c.limit_text,
             "source": c.source} for c in run.checks if c.verdict == "FAIL"]


def _require_text(text: str | None, what: str, fix: str) -> str:
    if text is None or not text.strip():
        raise ConfigError(f"{what} is empty", fix=fix)
    return text.strip()


def _due_date(text: str | None, opened: dt.date) -> str:
    if text is None:
        return (opened + dt.timedelta(days=ACTION_DUE_DAYS)).isoformat()
    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise ConfigError(f"--due {text!r} is not a date", fix="give the date as YYYY-MM-DD, e.g. --due 2026-12-31") \
            from None


def _unverified(actions: list[Action], room: str, procedure: str) -> Action | None:
    return next((a for a in actions if a.room == room and a.procedure == procedure and a.status != "verified"),
                None)


def open_action(store: Any, run_id: str, *, by: str = AUTOMATIC, assignee: str | None = None,
                due: str | None = None) -> Action:
    """Open an action for the FAIL of `run_id` (`xcal action open`, and on every failed run); ConfigError for a
    run with no failed check, or one an action already covers."""
    run = store.get_run(run_id)
    failed = failed_checks(run)
    if run.status != "complete" or not failed:
        raise ConfigError(f"run {run_id} ({run.procedure_id}, room {run.room_id}) has no failed check "
                          f"(status {run.status}, verdict {run.verdict or '-'})",
                          fix="open an action for a complete run that FAILED; `xcal history` shows the verdicts")
    who = _require_text(by, "the name of who opens the action", "give --name")
    opened: list[Action] = []

    def build() -> list[tuple[str, dict[str, Any]]]:
        actions = load_actions(store)
        covered = next((a for a in actions if a.run_id == run_id or
                        any(r["run_id"] == run_id for r in a.retests)), None)
        if covered is not None:
            raise ConfigError(f"run {run_id} is already covered by corrective action {covered.summary()}",
                              fix=f"see it with `xcal action show {covered.action_id}`")
        action_id = f"CA-{sum(1 for a in actions) + 1}"
        payload = {"action_id": action_id, "run_id": run_id, "room": run.room_id, "procedure": run.procedure_id,
                   "failed": failed, "by": who, "assignee": assignee.strip() if assignee else None,
                   "due": _due_date(due, dt.date.today())}
        opened.append(Action(action_id, run_id, run.room_id, run.procedure_id, failed, "", who, payload["assignee"],
                             payload["due"]))
        return [(ACTION_OPENED, payload)]

    store.append_entries(build)
    return get_action(store, opened[0].action_id)


def assign(store: Any, action_id: str, assignee: str, due: str | None, by: str) -> Action:
    """Give the action to `assignee` (and a new due date); recorded as a new entry."""
    action = get_action(store, action_id)
    name = _require_text(assignee, "--to", "give the assignee's full name, e.g. --to 'J. Ray'")
    who = _require_text(by, "--name", "give your full name")
    store.append_entries(lambda: [(ACTION_ASSIGNED, {"action_id": action.action_id, "assignee": name,
                                                     "due": _due_date(due, dt.date.today()) if due else action.due,
                                                     "by": who})])
    return get_action(store, action.action_id)


def progress(store: Any, action_id: str, note: str, by: str) -> Action:
    """Record work under way on the action (status 'in progress'); refused once it is verified."""
    action = get_action(store, action_id)
    if action.status == "verified":
        raise ConfigError(f"corrective action {action.action_id} is verified (retest run {action.verified_by})",
                          fix="a verified action is closed; a new fault opens a new action")
    text = _require_text(note, "--note", "say what is being done, e.g. --note 'generator board ordered'")
    who = _require_text(by, "--name", "give your full name")
    store.append_entries(lambda: [(ACTION_PROGRESS, {"action_id": action.action_id, "note": text, "by": who})])
    return get_action(store, action.action_id)


def retest_problem(action: Action, retest: Any, failed_run: Any) -> str:
    """Why `retest` cannot verify the action ('' when it does): it must be the same procedure in the same room,
    begun after the failed run, complete, and pass every check that failed."""
    if retest.procedure_id != action.procedure or retest.room_id != action.room:
        return (f"run {retest.run_id} is {retest.procedure_id} in room {retest.room_id}, not {action.procedure} in "
                f"room {action.room}")
    if retest.started_at <= failed_run.started_at:
        return f"run {retest.run_id} began before the failed run {action.run_id}, so it is no retest"
    if retest.status != "complete":
        return f"run {retest.run_id} is {retest.status}, not complete"
    verdicts: dict[str, set[str]] = {}
    for c in retest.checks:
        verdicts.setdefault(c.check_id, set()).add(c.verdict)
    for check_id in sorted({f["check_id"] for f in action.failed}):
        if check_id not in verdicts:
            return f"run {retest.run_id} does not make the check {check_id} that failed"
        if "FAIL" in verdicts[check_id]:
            return f"run {retest.run_id} FAILED {check_id} again"
    return ""


def resolve(store: Any, action_id: str, done: str, by: str, retest_run: str | None = None,
            reason: str | None = None) -> Action:
    """Record what was done; with `retest_run` (a passing retest) the action is verified at once. A second
    resolution needs `reason` and names the one it supersedes."""
    action = get_action(store, action_id)
    text = _require_text(done, "--done", "say what was done, e.g. --done 'replaced the kV feedback board'")
    who = _require_text(by, "--name", "give your full name")
    superseded = None
    if action.resolution is not None:
        superseded = next(h["seq"] for h in reversed(action.history) if h["kind"] == ACTION_RESOLVED)
        reason = _require_text(reason, "--reason", f"{action.action_id} was already resolved "
                               f"({action.resolution['done']!r}); say why this resolution replaces it with --reason")
    entries: list[tuple[str, dict[str, Any]]] = []
    if retest_run is not None:
        retest = store.get_run(retest_run)
        problem = retest_problem(action, retest, store.get_run(action.run_id))
        if problem:
            raise ConfigError(f"run {retest_run} does not verify corrective action {action.action_id}: {problem}",
                              fix=f"give a later complete run of {action.procedure} in room {action.room} that "
                                  f"passes, or resolve without --retest; the next passing run verifies it")
    entries.append((ACTION_RESOLVED, {"action_id": action.action_id, "done": text, "by": who,
                                      "retest_run": retest_run, "supersedes": superseded, "reason": reason}))
    if retest_run is not None and action.status != "verified":
        entries.append((ACTION_VERIFIED, {"action_id": action.action_id, "retest_run": retest_run,
                                          "verdict": store.get_run(retest_run).verdict, "by": who}))
    store.append_entries(lambda: entries)
    return get_action(store, action.action_id)


def after_run(store: Any, run_id: str) -> list[str]:
    """What a finished run does to the actions (called once per run): a FAIL opens an action, or is recorded as
    a failed retest of the action already open there; a pass verifies the unverified actions it retests.
    Returns lines saying what happened, for the console."""
    run = store.get_run(run_id)
    if run.status != "complete":
        return []
    actions = load_actions(store)
    pending = _unverified(actions, run.room_id, run.procedure_id)
    if run.verdict == "FAIL":
        failed = failed_checks(run)
        if pending is not None:
            store.append_entries(lambda: [(ACTION_RETESTED, {"action_id": pending.action_id, "retest_run": run_id,
                                                             "verdict": "FAIL", "failed": failed, "by": AUTOMATIC})])
            return [f"corrective action {pending.action_id} stays open: retest run {run_id} FAILED"]
        opened = open_action(store, run_id)
        return [f"corrective action {opened.action_id} opened for this FAIL (due {opened.due}): "
                f"`xcal action show {opened.action_id}`"]
    lines = []
    for action in [a for a in actions if a.room == run.room_id and a.procedure == run.procedure_id
                   and a.status != "verified"]:
        if retest_problem(action, run, store.get_run(action.run_id)):
            continue
        store.append_entries(lambda a=action: [(ACTION_VERIFIED, {"action_id": a.action_id, "retest_run": run_id,
                                                                  "verdict": run.verdict, "by": AUTOMATIC})])
        lines.append(f"corrective action {action.action_id} verified by this passing retest")
    return lines


def actions_of_run(store: Any, run_id: str) -> list[Action]:
    """The actions a run opened, failed as a retest or verified (for its report)."""
    return [a for a in load_actions(store)
            if a.run_id == run_id or any(r["run_id"] == run_id for r in a.retests)]


def open_action_for(store: Any, room: str, procedures: tuple[str, ...]) -> Action | None:
    """The unverified action of the room for any of these procedures (what `xcal due` names)."""
    return next((a for a in load_actions(store) if a.room == room and a.procedure in procedures
                 and a.status != "verified"), None)


def report_rows(store: Any, run_id: str) -> list[dict[str, str]]:
    """The report's corrective-action rows for a run (the 'Action, By, When, Note' table of reports/signoff.py):
    each action the run opened, failed as a retest or verified, with its status, resolution and retest."""
    rows = []
    for a in actions_of_run(store, run_id):
        role = ("opened by this run's FAIL" if a.run_id == run_id else
                "verified by this run" if a.verified_by == run_id else "this run was a failed retest")
        note = [f"{a.status}; {role}"]
        if a.resolution:
            note.append(f"done: {a.resolution['done']} ({a.resolution['by']})")
        retests = [f"{r['run_id']} {r['verdict']}" for r in a.retests]
        note.append(f"retest: {', '.join(retests)}" if retests else "retest: none yet")
        failed = "; ".join(f"{f['check_id']} at {f['setting'] or 'run'}: {f['value']:.4g} {f['unit']} against "
                           f"{f['limit']}" for f in a.failed)
        rows.append({"action": f"{a.action_id}: {failed} (run {a.run_id})",
                     "person": a.assignee or "unassigned", "at": f"opened {a.opened_at[:10]}, due {a.due}",
                     "note": "; ".join(note)})
    return rows
