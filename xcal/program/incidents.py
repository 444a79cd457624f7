"""Incidents: a radiation incident or equipment failure, its people and their estimated doses, and the
regulatory notification its doses call for.

An incident is an `incident_recorded` entry and any `incident_updated` entries after it (store-level, run_id
''), so the chain covers it; its state is the fold of them, oldest first, each update naming why. The level
its doses reach comes from the cited pack library/notification-levels.yaml (10 CFR 20.2202 / 20.2203): the
first level, in the pack's order, that any one person's dose reaches. The people's names are personal data:
`to_dict(personal=False)` names them "person 1", "person 2"... for anything that leaves the site.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..records.chain import INCIDENT_RECORDED, INCIDENT_UPDATED
from .doses import QUANTITIES, to_msv

LEVELS_FILE = Path(__file__).parent / "library" / "notification-levels.yaml"
KINDS = ("radiation", "equipment")
UPDATABLE = ("what", "immediate_actions", "root_cause", "people", "actions", "notification")
COMPARE = {">=": lambda dose, limit: dose >= limit, ">": lambda dose, limit: dose > limit}
_WITHIN = re.compile(r"immediately|\d+(\.\d+)? [hd]")


@dataclass(frozen=True)
class Threshold:
    """One dose threshold of a level: quantity, comparison, value in mSv, its words, section and how checked."""

    quantity: str
    compare: str
    msv: float
    text: str
    section: str
    verified: bool
    checked_in: str


@dataclass(frozen=True)
class Level:
    """One notification level of the pack and what the regulation asks when it is reached."""

    id: str
    title: str
    section: str
    asks: str
    thresholds: tuple[Threshold, ...]
    within: str = "immediately"
    """How soon the notification is due: 'immediately' or a number of hours ('24 h') or days ('30 d')."""

    @property
    def within_hours(self) -> float | None:
        """`within` in hours; None for 'immediately', which the regulation gives no number for."""
        if self.within == "immediately":
            return None
        number, unit = self.within.split()
        return float(number) * (24 if unit == "d" else 1)


def load_levels(path: str | Path = LEVELS_FILE) -> list[Level]:
    """The notification levels, most urgent first; ConfigError naming file, line and fix for a malformed one."""
    from ..yamlfile import Mark, check_keys, expect_list, expect_map, expect_str, fail, load_yaml

    doc = load_yaml(path, display=f"<built-in>/program/{Path(path).name}" if Path(path) == LEVELS_FILE else None)
    top = expect_map(doc.data, Mark(doc.path, 1, 1), "the notification levels")
    check_keys(top, "the notification levels", ("kind", "id", "version", "title", "levels"), ("note", "jurisdiction"))
    levels = []
    nodes = expect_list(top["levels"], top.value_mark("levels"), "levels")
    for i, node in enumerate(nodes):
        level = expect_map(node, nodes.item_mark(i), f"level {i + 1}")
        check_keys(level, f"level {i + 1}", ("id", "title", "section", "asks", "thresholds"), ("within",))
        items = expect_list(level["thresholds"], level.value_mark("thresholds"), "thresholds")
        thresholds = []
        for j, t in enumerate(items):
            what = f"threshold {j + 1} of level {level['id']}"
            t = expect_map(t, items.item_mark(j), what)
            check_keys(t, what, ("quantity", "compare", "value", "text", "section", "verified", "checked_in"))
            if t["quantity"] not in QUANTITIES or t["compare"] not in COMPARE:
                raise fail(f"{what}: quantity '{t['quantity']}' or compare '{t['compare']}' is not known",
                           t.mark, fix=f"use a quantity of {', '.join(QUANTITIES)} and compare '>=' or '>'")
            if not isinstance(t["verified"], bool):
                raise fail(f"{what}: verified must be true or false", t.value_mark("verified"),
                           fix="write `verified: false` unless the value was read in the regulation's text")
            try:
                msv = to_msv(t["value"], f"{what} value")
            except ConfigError as exc:
                raise fail(exc.message, t.value_mark("value"), fix=exc.fix) from None
            text = {k: expect_str(t[k], t.value_mark(k), k) for k in ("text", "section", "checked_in")}
            thresholds.append(Threshold(t["quantity"], t["compare"], msv, text["text"], text["section"],
                                        t["verified"], text["checked_in"]))
        words = {k: expect_str(level[k], level.value_mark(k), k) for k in ("id", "title", "section", "asks")}
        within = " ".join(str(level.get("within", "immediately")).split())
        if not _WITHIN.fullmatch(within):
            raise fail(f"level {words['id']}: within '{within}' is not 'immediately' or a number of hours or days",
                       level.value_mark("within"), fix="write `within: immediately`, `within: 24 h` or `within: 30 d`")
        levels.append(Level(words["id"], words["title"], words["section"], " ".join(words["asks"].split()),
                            tuple(thresholds), within))
    return levels


def level_reached(people: list[dict[str, Any]], levels: list[Level]) -> dict[str, Any] | None:
    """The first level any person's dose reaches, with each dose that reaches it; None when none is reached."""
    for level in levels:
        reached = [{"person": p["person"], "quantity": t.quantity, "dose_msv": p["doses"][t.quantity],
                    "threshold": t.text, "section": t.section, "verified": t.verified}
                   for p in people for t in level.thresholds
                   if p["doses"].get(t.quantity) is not None and COMPARE[t.compare](p["doses"][t.quantity], t.msv)]
        if reached:
            return {"level": level.id, "title": level.title, "section": level.section, "asks": level.asks,
                    "within": level.within, "within_hours": level.within_hours, "reached_by": reached}
    return None


@dataclass
class Incident:
    """One incident as its entries say, with the notification level its doses reach."""

    incident_id: str
    date: str
    room: str
    kind: str
    what: str
    people: list[dict[str, Any]]
    immediate_actions: str
    root_cause: str
    actions: list[str]
    notification: dict[str, Any] | None
    recorded_at: str
    by: str
    level: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, personal: bool = True) -> dict[str, Any]:
        """The incident as JSON; `personal=False` replaces each person's name by 'person N'."""
        names = {p["person"]: p["person"] if personal else f"person {i + 1}" for i, p in enumerate(self.people)}
        level = None
        if self.level is not None:
            level = {**self.level, "reached_by": [{**r, "person": names.get(r["person"], r["person"])}
                                                  for r in self.level["reached_by"]]}
        return {"incident_id": self.incident_id, "date": self.date, "room": self.room, "kind": self.kind,
                "what": self.what, "people": [{**p, "person": names[p["person"]]} for p in self.people],
                "immediate_actions": self.immediate_actions, "root_cause": self.root_cause,
                "actions": self.actions, "notification_level": level, "notification": self.notification,
                "notification_due": self.notification_due(),
                "notification_deadline": (deadline.isoformat() if (deadline := self.notification_deadline())
                                          else None),
                "notification_late": self.notification_late(), "recorded_at": self.recorded_at, "by": self.by,
                "history": self.history}

    def notification_deadline(self) -> dt.datetime | None:
        """When the level's notification is due: the incident's date and time plus the level's `within`; None
        when no level is reached or it asks "immediately". A date without a time counts from the end of that
        day, and a notification's date without a time from its start: LATE is said only when it is certain."""
        hours = self.level.get("within_hours") if self.level else None
        if hours is None:
            return None
        return _moment(self.date, end_of_day=True) + dt.timedelta(hours=hours)

    def notification_late(self, now: dt.datetime | None = None) -> bool:
        """Whether the notification came, or is still missing, after its deadline (as of `now`). One due
        immediately is late while it is missing (it was due when the incident was found); once made it is not
        judged, as the regulation gives no number of hours (notification_due says how long it took)."""
        if self.level is None:
            return False
        deadline = self.notification_deadline()
        if deadline is None:
            return self.notification is None
        made = _moment(self.notification["at"]) if self.notification else None
        return (made or now or dt.datetime.now(dt.UTC)) > deadline

    def notification_due(self, now: dt.datetime | None = None) -> str:
        """What the level asks and whether it was done: 'none required', 'REQUIRED, not made' (with its deadline
        and OVERDUE once past it), 'made ...' (LATE when after the deadline, with how long after the incident)."""
        if self.level is None:
            return "none required: no dose reaches a notification level"
        deadline = self.notification_deadline()
        due = f"due by {deadline.isoformat(timespec='minutes')}" if deadline else "due immediately"
        if self.notification is None:
            late = " — OVERDUE" if self.notification_late(now) else ""
            return f"REQUIRED ({self.level['title']}, {self.level['section']}), not recorded as made, {due}{late}"
        n = self.notification
        text = f"made to {n['to']} at {n['at']}" + (f" ({n['reference']})" if n.get("reference") else "")
        after = math.floor((_moment(n["at"]) - _moment(self.date, end_of_day=True)).total_seconds() / 3600)
        if self.notification_late(now):
            text += f" — LATE: at least {after} h after the incident, {due} ({self.level['section']})"
        elif deadline is None and after > 0:
            text += f", at least {after} h after the incident ({due}, {self.level['section']})"
        return text


def _moment(text: str, end_of_day: bool = False) -> dt.datetime:
    """A recorded date or date and time as a moment (a date alone: its first moment, or with `end_of_day` the
    first of the next day; without an offset, as recorded by an earlier xcal or for a date: local time)."""
    value = dt.datetime.fromisoformat(text)
    if end_of_day and "T" not in text and len(text) == 10:
        value += dt.timedelta(days=1)
    return value if value.tzinfo else value.astimezone()


def parse_person(text: str) -> dict[str, Any]:
    """'J. Ray; tede=0.4 mSv; lens=1.2 mSv' -> {person, doses: {tede, lens, shallow} in mSv (None if not given)}."""
    parts = [p.strip() for p in text.split(";")]
    fix = "write --person 'NAME; tede=0.4 mSv; lens=1.2 mSv; shallow=3 mSv' (each dose optional)"
    if not parts[0]:
        raise ConfigError(f"--person {text!r} names nobody", fix=fix)
    doses: dict[str, float | None] = dict.fromkeys(QUANTITIES)
    for item in parts[1:]:
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in QUANTITIES:
            raise ConfigError(f"--person {text!r}: '{item}' is not QUANTITY=DOSE with a quantity of "
                              f"{', '.join(QUANTITIES)}", fix=fix)
        doses[key.strip()] = to_msv(value, f"the {key.strip()} dose of {parts[0]}", fix)
    return {"person": parts[0], "doses": doses}


def parse_notification(to: str | None, at: str | None, reference: str | None) -> dict[str, Any] | None:
    """The notification made (to whom, when, its reference), or None when `to` is not given."""
    if not to or not to.strip():
        if at:
            raise ConfigError("--notified-at without --notified", fix="say to whom: --notified 'NRC Operations Center'")
        return None
    if not at:
        raise ConfigError("--notified without --notified-at", fix="give when, e.g. --notified-at 2026-03-04T10:15")
    return {"to": to.strip(), "at": _when(at, "--notified-at"), "reference": (reference or "").strip() or None}


def _when(text: str, what: str) -> str:
    """A date as given, or a date and time with its offset: a time without one is this computer's local time
    (what a person at the console means), so deadlines come out right in any zone."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{what} {text!r} is not a date or date and time",
                          fix=f"give {what} as YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    if (value.hour, value.minute, value.second) == (0, 0, 0) and "T" not in text and value.tzinfo is None:
        return value.date().isoformat()
    return (value if value.tzinfo else value.astimezone()).isoformat()


def _linked(store: Any, action_ids: list[str]) -> list[str]:
    from .actions import get_action

    return [get_action(store, a).action_id for a in action_ids if a.strip()]


def load_incidents(store: Any, levels: list[Level] | None = None) -> list[Incident]:
    """Every incident, in the order recorded, each folded from its entries, with the level its doses reach."""
    levels = levels if levels is not None else load_levels()
    found: dict[str, Incident] = {}
    for entry in store.entries_of_kind([INCIDENT_RECORDED, INCIDENT_UPDATED]):
        d = entry.data()
        if entry.kind == INCIDENT_RECORDED:
            found[d["incident_id"]] = Incident(d["incident_id"], d["date"], d["room"], d["kind"], d["what"],
                                               d["people"], d["immediate_actions"], d["root_cause"], d["actions"],
                                               d["notification"], entry.at, d["by"])
            found[d["incident_id"]].history.append({"seq": entry.seq, "at": entry.at, "by": d["by"],
                                                    "text": "recorded"})
            continue
        incident = found.get(d.get("incident_id", ""))
        if incident is None:
            continue
        for key, value in d["changes"].items():
            if key == "actions":
                incident.actions = incident.actions + [a for a in value if a not in incident.actions]
            elif key == "people":
                named = {p["person"]: p for p in value}
                incident.people = [named.pop(p["person"], p) for p in incident.people] + list(named.values())
            else:
                setattr(incident, key, value)
        incident.history.append({"seq": entry.seq, "at": entry.at, "by": d["by"],
                                 "text": f"updated {', '.join(k for k in UPDATABLE if k in d['changes'])}: "
                                         f"{d['reason']}"})
    for incident in found.values():
        incident.level = level_reached(incident.people, levels)
    return list(found.values())


def get_incident(store: Any, incident_id: str) -> Incident:
    """The incident `incident_id`; ConfigError naming how to list them otherwise."""
    found = next((i for i in load_incidents(store) if i.incident_id.lower() == incident_id.strip().lower()), None)
    if found is None:
        raise ConfigError(f"no incident '{incident_id}' in {store.path}",
                          fix="run `xcal incident list` to see the incidents and their ids")
    return found


def record_incident(store: Any, site: Any, *, date: str, room: str, kind: str, what: str, people: list[str],
                    immediate_actions: str, root_cause: str = "", actions: list[str] | None = None,
                    notification: dict[str, Any] | None = None, by: str) -> Incident:
    """Record an incident and return it with the notification level its doses reach."""
    room_id = site.room(room).id
    if kind not in KINDS:
        raise ConfigError(f"incident kind '{kind}' is not one of {', '.join(KINDS)}", fix="give --kind radiation or "
                          "--kind equipment")
    for text, flag in ((what, "--what"), (immediate_actions, "--immediate"), (by, "--name")):
        if not text or not text.strip():
            raise ConfigError(f"{flag} is empty", fix=f"give {flag} with the words or name it asks for")
    day = _when(date, "--date")
    if dt.date.fromisoformat(day[:10]) > dt.date.today():
        raise ConfigError(f"--date {day} is in the future", fix="record an incident on or after the day it happened")
    persons = [parse_person(p) for p in people]
    linked = _linked(store, actions or [])
    made: list[str] = []

    def build() -> list[tuple[str, dict[str, Any]]]:
        incident_id = f"IN-{len(store.entries_of_kind([INCIDENT_RECORDED])) + 1}"
        made.append(incident_id)
        return [(INCIDENT_RECORDED, {"incident_id": incident_id, "date": day, "room": room_id, "kind": kind,
                                     "what": what.strip(), "people": persons,
                                     "immediate_actions": immediate_actions.strip(),
                                     "root_cause": (root_cause or "").strip(), "actions": linked,
                                     "notification": notification, "by": by.strip()})]

    store.append_entries(build)
    return get_incident(store, made[0])


def update_incident(store: Any, incident_id: str, *, reason: str, by: str, what: str | None = None,
                    immediate_actions: str | None = None, root_cause: str | None = None,
                    people: list[str] | None = None, actions: list[str] | None = None,
                    notification: dict[str, Any] | None = None) -> Incident:
    """Add to or correct an incident (root cause found, actions linked, notification made, a dose estimate
    revised); a new entry naming why, never an edit."""
    incident = get_incident(store, incident_id)
    changes: dict[str, Any] = {}
    for key, value in (("what", what), ("immediate_actions", immediate_actions), ("root_cause", root_cause)):
        if value is not None and value.strip():
            changes[key] = value.strip()
    if people:
        changes["people"] = [parse_person(p) for p in people]
    if actions:
        changes["actions"] = _linked(store, actions)
    if notification is not None:
        changes["notification"] = notification
    if not changes:
        raise ConfigError(f"nothing to update on incident {incident.incident_id}",
                          fix="give what changes: --root-cause, --immediate, --what, --person, --action or "
                              "--notified with --notified-at")
    for text, flag in ((reason, "--reason"), (by, "--name")):
        if not text or not text.strip():
            raise ConfigError(f"{flag} is empty", fix=f"give {flag}: the update is recorded with why and by whom")
    store.append_entries(lambda: [(INCIDENT_UPDATED, {"incident_id": incident.incident_id, "changes": changes,
                                                      "reason": reason.strip(), "by": by.strip()})])
    return get_incident(store, incident.incident_id)


def incident_summary(store: Any, *, room: str | None = None, year: int | None = None,
                     personal: bool = False) -> list[dict[str, Any]]:
    """The incidents of a room and year as reports show them (names omitted unless `personal`): id, date, what,
    level reached and notification."""
    return [i.to_dict(personal=personal) for i in load_incidents(store)
            if (room is None or i.room == str(room)) and (year is None or i.date[:4] == str(year))]


def incident_lines(incident: Incident) -> list[str]:
    """The incident as text: what, who and how much, actions, the level reached and what it asks, the history."""
    from .doses import shown

    lines = [f"Incident {incident.incident_id}: {incident.date}, room {incident.room} ({incident.kind})",
             f"  what happened: {incident.what}", f"  immediate actions: {incident.immediate_actions}",
             f"  root cause: {incident.root_cause or 'not yet found'}",
             f"  corrective actions: {', '.join(incident.actions) or 'none linked'}"]
    for p in incident.people:
        lines.append(f"  {p['person']}: " + "; ".join(f"{q} {shown(p['doses'].get(q))}" for q in QUANTITIES))
    if incident.level is None:
        lines.append("  notification level: none reached")
    else:
        lines.append(f"  notification level: {incident.level['title']} ({incident.level['section']})")
        for r in incident.level["reached_by"]:
            lines.append(f"    {r['person']} {r['quantity']} {shown(r['dose_msv'])}: {r['threshold']} "
                         f"[{r['section']}{'' if r['verified'] else ', unverified'}]")
        lines.append(f"  the regulation asks: {incident.level['asks']}")
    lines.append(f"  notification: {incident.notification_due()}")
    lines += [f"  {h['at'][:16]} {h['by']}: {h['text']}" for h in incident.history]
    return lines
