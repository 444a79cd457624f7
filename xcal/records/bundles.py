"""Bundle records: a bundle (radiographic-acceptance ...) as one record over the runs of its procedures.

A bundle's record is the `bundles` row (schema version 4) and its chain entries, whose run_id is the bundle's
id: `bundle_created` (the whole row), `bundle_member` (a member's run id once that run is started, with the
members list after it), `bundle_finished` (status, verdict, when) and `bundle_resumed`. The row is only a
projection of those entries; `check_bundle` replays them and compares, as verify.py does for runs.
A bundle's id is `B` and a run-style id (`B20261126-114350-f592`), so no bundle id is ever a run id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from .chain import BUNDLE_CREATED, BUNDLE_FINISHED, BUNDLE_KINDS, BUNDLE_MEMBER, BUNDLE_RESUMED, Entry, canonical

BUNDLE_FIELDS = ("bundle", "bundle_version", "bundle_sha256", "bundle_title", "site", "room_id", "room_name",
                 "operator", "simulated", "software_version", "snapshot", "started_at")
BUNDLE_STATUS_FIELDS = ("status", "verdict", "finished_at", "status_note", "members")
_JSON = frozenset({"snapshot", "members"})
INCOMPLETE = "INCOMPLETE"

BUNDLES_TABLE = """CREATE TABLE IF NOT EXISTS bundles (
    bundle_id TEXT PRIMARY KEY,
    bundle TEXT NOT NULL,
    bundle_version TEXT NOT NULL,
    bundle_sha256 TEXT NOT NULL,
    bundle_title TEXT NOT NULL,
    site TEXT NOT NULL,
    room_id TEXT NOT NULL,
    room_name TEXT NOT NULL,
    operator TEXT NOT NULL,
    simulated INTEGER NOT NULL,
    software_version TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    started_at TEXT NOT NULL,
    status TEXT NOT NULL,
    verdict TEXT,
    finished_at TEXT,
    status_note TEXT,
    members TEXT NOT NULL
)"""
BUNDLES_INDEX = "CREATE INDEX IF NOT EXISTS bundles_room ON bundles (room_id, started_at)"


@dataclass
class BundleMember:
    """One procedure of a bundle, in order, and the run made for it (None until that run is started)."""

    procedure: str
    run_id: str | None = None
    status: str | None = None
    verdict: str | None = None


@dataclass
class StoredBundle:
    """A bundle as recorded: which bundle, where, by whom, its members in order, and its status and verdict."""

    bundle_id: str
    bundle: str
    bundle_version: str
    bundle_sha256: str
    bundle_title: str
    site: str
    room_id: str
    room_name: str
    operator: str
    simulated: bool
    software_version: str
    snapshot: dict[str, Any]
    started_at: str
    status: str
    verdict: str | None
    finished_at: str | None
    status_note: str | None
    members: list[BundleMember] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def run_id(self) -> str:
        """The bundle's record id, under the name a run gives its own (schedule.py treats both alike)."""
        return self.bundle_id

    def run_ids(self) -> list[str]:
        """The run ids of the members started so far, in bundle order."""
        return [m.run_id for m in self.members if m.run_id]


def bundle_verdict(members: list[BundleMember]) -> str:
    """FAIL if any member run failed; INCOMPLETE while a member is not run or not complete; else the worst.

    A failed member decides the bundle even before the rest are run: nothing later can make it pass.
    """
    from ..verdict import run_verdict

    if any(m.verdict == "FAIL" for m in members):
        return "FAIL"
    if any(m.status != "complete" for m in members):
        return INCOMPLETE
    return str(run_verdict(m.verdict for m in members if m.verdict))


def members_payload(members: list[BundleMember]) -> list[dict[str, Any]]:
    """Members as recorded in the chain: procedure and run id only (status and verdict live in the runs)."""
    return [{"procedure": m.procedure, "run_id": m.run_id} for m in members]


def column(name: str, value: Any) -> Any:
    """A payload value as its bundles column stores it (JSON as canonical text, booleans as 0/1)."""
    if name in _JSON:
        return canonical(value)
    if name == "simulated":
        return int(bool(value))
    return value


def row_value(name: str, raw: Any) -> Any:
    """A bundles column as its payload holds it, for comparison with the entries."""
    if name in _JSON and isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    if name == "simulated" and raw is not None:
        return bool(raw)
    return raw


def from_row(row: Any) -> StoredBundle:
    """A bundles row as a StoredBundle (members without their runs' status, which `Store.get_bundle` adds)."""
    members = [BundleMember(m.get("procedure", ""), m.get("run_id")) for m in row_value("members", row["members"])]
    fields: dict[str, Any] = {n: row_value(n, row[n]) for n in BUNDLE_FIELDS}
    return StoredBundle(bundle_id=row["bundle_id"], status=row["status"], verdict=row["verdict"],
                        finished_at=row["finished_at"], status_note=row["status_note"], members=members, **fields)


def check_bundle(bundle_id: str, entries: Iterable[Entry], rows: list[Any]) -> tuple[int | None, str] | None:
    """The first way `bundle_id`'s bundles `rows` disagree with its `entries` (in seq order), as (seq, reason);
    None if they agree.

    Called by verify for every id in the chain; an id with no bundle entry and no bundles row is not a bundle.
    """
    expected: dict[str, tuple[Any, int]] = {}
    first: int | None = None
    for entry in entries:
        if entry.kind not in BUNDLE_KINDS:
            continue
        data = entry.data()
        if entry.kind == BUNDLE_CREATED:
            if first is not None:
                return entry.seq, f"{entry.label()}: the bundle was already created by entry {first}"
            first = entry.seq
            names: tuple[str, ...] = BUNDLE_FIELDS + BUNDLE_STATUS_FIELDS
        elif first is None:
            return entry.seq, f"{entry.label()}: recorded before its bundle was created"
        else:
            names = BUNDLE_STATUS_FIELDS
        expected.update({n: (data[n], entry.seq) for n in names if n in data})
    if first is None:
        return (None, f"bundle {bundle_id} has a bundles row but no entry in the audit chain") if rows else None
    if not rows:
        return first, f"entry {first} (bundle {bundle_id} created): its bundles row is missing"
    for name, (value, seq) in expected.items():
        stored = row_value(name, rows[0][name])
        if stored != value:
            return seq, f"bundle {bundle_id}: stored {name} {stored!r} differs from the recorded {value!r}"
    return None


__all__ = ["BUNDLE_CREATED", "BUNDLE_FINISHED", "BUNDLE_MEMBER", "BUNDLE_RESUMED", "BundleMember", "StoredBundle",
           "bundle_verdict", "check_bundle"]
