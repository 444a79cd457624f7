"""Service events: a visit that replaced, adjusted or repaired a room's component, and the tests it makes due.

A service event is one store-level `service_recorded` entry (run_id ''), so the chain covers it. The tests it
invalidates are worked out once, when it is recorded, from the rule set (library/post-service.yaml: component
and work -> procedures or a bundle, each rule with its source), and stored with it: a later change to the
rules never rewrites what a past event asked for. Each is due at once in `xcal due` (DUE AFTER SERVICE) until
a complete run of it in the room, begun after the downtime ended, does not FAIL.

Documents: the service report file is copied into `documents/<sha256>` beside a SQLite store (content
addressed, so the same file twice is kept once and an edited copy is caught by its hash); for a PostgreSQL
store only the hash and the file name are kept, and the file stays where the site files it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..records.chain import SERVICE_RECORDED

RULES_FILE = Path(__file__).parent / "library" / "post-service.yaml"
WORK = ("replaced", "adjusted", "repaired", "major-repair")


@dataclass(frozen=True)
class Rule:
    """One rule of the set: this work on this component invalidates these procedures (or bundles)."""

    component: str
    work: tuple[str, ...]
    invalidates: tuple[str, ...]
    source: str
    rationale: str


def load_rules(path: str | Path = RULES_FILE) -> list[Rule]:
    """The post-service rules; ConfigError naming file, line and fix for a malformed one or an unknown
    procedure."""
    from ..procedures.loader import find_procedure
    from ..yamlfile import Mark, check_keys, expect_list, expect_map, expect_str, fail, load_yaml

    doc = load_yaml(path, display=f"<built-in>/program/{Path(path).name}" if Path(path) == RULES_FILE else None)
    top = expect_map(doc.data, Mark(doc.path, 1, 1), "the rule file")
    check_keys(top, "the rule file", ("kind", "id", "version", "title", "rules"), ("note",))
    rules = []
    items = expect_list(top["rules"], top.value_mark("rules"), "rules")
    for i, node in enumerate(items):
        rule = expect_map(node, items.item_mark(i), f"rule {i + 1}")
        check_keys(rule, f"rule {i + 1}", ("component", "work", "invalidates", "source", "rationale"))
        work = [expect_str(w, rule.value_mark("work"), "work") for w in expect_list(rule["work"],
                                                                                    rule.value_mark("work"), "work")]
        for w in work:
            if w not in WORK:
                raise fail(f"rule {i + 1}: unknown work '{w}'", rule.value_mark("work"),
                           fix=f"use one of {', '.join(WORK)}")
        procs = [expect_str(p, rule.value_mark("invalidates"), "invalidates")
                 for p in expect_list(rule["invalidates"], rule.value_mark("invalidates"), "invalidates")]
        for p in procs:
            try:
                find_procedure(p)
            except ConfigError as exc:
                raise fail(f"rule {i + 1}: {exc.message}", rule.value_mark("invalidates"), fix=exc.fix) from None
        rules.append(Rule(expect_str(rule["component"], rule.value_mark("component"), "component"), tuple(work),
                          tuple(procs), expect_str(rule["source"], rule.value_mark("source"), "source"),
                          expect_str(rule["rationale"], rule.value_mark("rationale"), "rationale")))
    return rules


def invalidated(rules: list[Rule], component: str, work: str) -> list[dict[str, str]]:
    """The procedures this work on this component makes due, each with the rule's source; ConfigError when no
    rule covers it (so a typing error never records a service that makes nothing due)."""
    matching = [r for r in rules if r.component == component and work in r.work]
    if not matching:
        known = sorted({f"{r.component} {w}" for r in rules for w in r.work})
        raise ConfigError(f"no post-service rule for '{work}' work on the '{component}'",
                          fix=f"give a component and work the rules know: {', '.join(known)}")
    seen: dict[str, dict[str, str]] = {}
    for rule in matching:
        for proc in rule.invalidates:
            seen.setdefault(proc, {"procedure": proc, "source": rule.source})
    return list(seen.values())


def _instant(text: str, what: str) -> str:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{what} {text!r} is not a date and time",
                          fix=f"give {what} as YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC), e.g. 2026-12-01T08:30") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds" if value.microsecond else "seconds")


def store_document(store: Any, file: str | Path) -> dict[str, Any]:
    """Hash the service report and keep it: copied to documents/<sha256> beside a SQLite store; for PostgreSQL
    only the hash and name. ConfigError naming the file when it cannot be read."""
    path = Path(file)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the service document {path}: {exc.strerror}",
                          fix="give the path of the service report file (PDF, scan) with --document") from None
    digest = hashlib.sha256(raw).hexdigest()
    stored = None
    if isinstance(store.path, Path):
        folder = store.path.parent / "documents"
        target = folder / digest
        try:
            folder.mkdir(exist_ok=True)
            if not target.exists():
                shutil.copyfile(path, target)
        except OSError as exc:
            raise ConfigError(f"cannot keep the service document in {folder}: {exc.strerror}",
                              fix="make the store's folder writable, or keep the file and its sha256 yourself") \
                from None
        stored = str(target)
    return {"name": path.name, "sha256": digest, "bytes": len(raw), "stored": stored}


def record_service(store: Any, site: Any, *, room: str, component: str, work: str, vendor: str, engineer: str,
                   down_from: str, down_to: str, done: str, parts: list[str], documents: list[str], by: str,
                   rules: list[Rule] | None = None, stock_parts: list[str] | None = None) -> dict[str, Any]:
    """Record a service event with the procedures it makes due, and return it as recorded. `stock_parts`
    ('PART' or 'PART:QTY') are taken from the parts inventory in the same write, named with the event."""
    from .parts import parse_use, stock_entries

    room_id = site.room(room).id
    due = invalidated(rules if rules is not None else load_rules(), component, work)
    start, end = _instant(down_from, "--down-from"), _instant(down_to, "--down-to")
    if end < start:
        raise ConfigError(f"the downtime ends ({end}) before it starts ({start})",
                          fix="give --down-to after --down-from")
    for text, what in ((vendor, "--vendor"), (engineer, "--engineer"), (done, "--done"), (by, "--name")):
        if not text or not text.strip():
            raise ConfigError(f"{what} is empty", fix=f"give {what} with the words or name it asks for")
    used = [parse_use(p) for p in stock_parts or []]
    docs = [store_document(store, d) for d in documents]
    made: list[str] = []

    def build() -> list[tuple[str, dict[str, Any]]]:
        service_id = f"SE-{len(store.entries_of_kind([SERVICE_RECORDED])) + 1}"
        made.append(service_id)
        taken = stock_entries(store, used, room_id, service_id, by.strip())
        return [(SERVICE_RECORDED, {"service_id": service_id, "room": room_id, "component": component,
                                    "work": work, "vendor": vendor.strip(), "engineer": engineer.strip(),
                                    "down_from": start, "down_to": end, "done": done.strip(),
                                    "parts": [p.strip() for p in parts if p.strip()]
                                    + [f"{n} x{q} (from stock)" for n, q in used], "documents": docs,
                                    "parts_used": [{"part": n, "quantity": q} for n, q in used],
                                    "invalidates": due, "by": by.strip()})] + taken

    store.append_entries(build)
    return get_service(store, made[0])


def load_services(store: Any) -> list[dict[str, Any]]:
    """Every service event, oldest first, each as recorded with `recorded_at`."""
    return [{**e.data(), "recorded_at": e.at} for e in store.entries_of_kind([SERVICE_RECORDED])]


def get_service(store: Any, service_id: str) -> dict[str, Any]:
    """One service event; ConfigError naming how to list them otherwise."""
    found = next((s for s in load_services(store) if s["service_id"].lower() == service_id.strip().lower()), None)
    if found is None:
        raise ConfigError(f"no service event '{service_id}' in {store.path}",
                          fix="run `xcal service list` to see the service events and their ids")
    return found


def outstanding(store: Any, service: dict[str, Any]) -> list[str]:
    """The procedures the event invalidated with no complete, non-failed run in its room begun after the
    downtime ended (a bundle: each of its procedures)."""
    from ..procedures.loader import find_procedure

    ended = dt.datetime.fromisoformat(service["down_to"])
    runs = [r for r in store.list_runs(room=service["room"]) if r.status == "complete" and r.verdict != "FAIL"
            and dt.datetime.fromisoformat(r.started_at) >= ended]
    done = {r.procedure_id for r in runs}
    left = []
    for item in service["invalidates"]:
        members = getattr(find_procedure(item["procedure"]), "procedures", (item["procedure"],))
        if not all(m in done for m in members):
            left.append(item["procedure"])
    return left
