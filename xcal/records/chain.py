"""The audit chain's arithmetic: canonical payloads, entry hashes, run hashes and entry labels.

Every write to the store is also an entry whose hash covers the previous entry's hash, so editing, removing
or reordering any entry breaks the chain from that point on. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import RecordError

GENESIS = "0" * 64

RUN_CREATED = "run_created"
READING = "reading"
CHECKS = "checks"
RUN_FINISHED = "run_finished"
RUN_INCOMPLETE = "run_incomplete"
RUN_RESUMED = "run_resumed"
CORRECTION = "correction"
SIGNATURE = "signature"
ADOPTED = "adopted"
SCHEMA_UPGRADED = "schema_upgraded"
ANCHOR = "anchor"
"""A signed chain head (anchor.py): store-level, run_id ''; it makes no row."""
BUNDLE_CREATED = "bundle_created"
BUNDLE_MEMBER = "bundle_member"
BUNDLE_FINISHED = "bundle_finished"
BUNDLE_RESUMED = "bundle_resumed"
BUNDLE_KINDS = frozenset({BUNDLE_CREATED, BUNDLE_MEMBER, BUNDLE_FINISHED, BUNDLE_RESUMED})
"""A bundle's entries (bundles.py): its run_id is the bundle's id; they make a bundles row, never a runs row."""
RESUME_CHANGES = "resume_changes"
"""Site-file changes a resume accepted (ports, timeouts, notes: nothing the run measured with); no row."""
KINDS = frozenset({RUN_CREATED, READING, CHECKS, RUN_FINISHED, RUN_INCOMPLETE, RUN_RESUMED, CORRECTION, SIGNATURE,
                   ADOPTED, SCHEMA_UPGRADED, RESUME_CHANGES}) | BUNDLE_KINDS
# Program records (xcal/program): store-level entries (run_id ''), read back by kind; they make no table rows.
ACTION_OPENED = "action_opened"
ACTION_ASSIGNED = "action_assigned"
ACTION_PROGRESS = "action_progress"
ACTION_RESOLVED = "action_resolved"
ACTION_RETESTED = "action_retested"
ACTION_VERIFIED = "action_verified"
SERVICE_RECORDED = "service_recorded"
PM_LOGGED = "pm_logged"
PART_RECEIVED = "part_received"
PART_USED = "part_used"
INCIDENT_RECORDED = "incident_recorded"
INCIDENT_UPDATED = "incident_updated"
BADGE_ISSUED = "badge_issued"
DOSE_RECORDED = "dose_recorded"
DOSE_REPORT = "dose_report"
"""The dose summary of one RDSR (xcal.dicom.rdsr), with its comparison against a DAP meter when one was made."""
PROGRAM_KINDS = frozenset({ACTION_OPENED, ACTION_ASSIGNED, ACTION_PROGRESS, ACTION_RESOLVED, ACTION_RETESTED,
                           ACTION_VERIFIED, SERVICE_RECORDED, PM_LOGGED, PART_RECEIVED, PART_USED,
                           INCIDENT_RECORDED, INCIDENT_UPDATED, BADGE_ISSUED, DOSE_RECORDED, DOSE_REPORT})
KINDS = KINDS | PROGRAM_KINDS
# Accounts (accounts.py): store-level entries (run_id ''), read back by kind; the password hashes live in the
# credentials table, never in an entry.
ACCOUNT_CREATED = "account_created"
ACCOUNT_ROLE_CHANGED = "account_role_changed"
ACCOUNT_DISABLED = "account_disabled"
ACCOUNT_ENABLED = "account_enabled"
ACCOUNT_PASSWORD_SET = "account_password_set"
ACCOUNT_LOCKED = "account_locked"
ACCOUNT_KINDS = frozenset({ACCOUNT_CREATED, ACCOUNT_ROLE_CHANGED, ACCOUNT_DISABLED, ACCOUNT_ENABLED,
                           ACCOUNT_PASSWORD_SET, ACCOUNT_LOCKED})
KINDS = KINDS | ACCOUNT_KINDS


KINDS = KINDS | {ANCHOR}


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical(payload: Any) -> str:
    """JSON with sorted keys and no spaces; floats use Python's shortest exact repr, so they read back bit for bit.

    NaN and infinities are refused: SQLite would keep NaN as NULL and the projection would no longer match.
    (One encoder serves every call: `json.dumps` with these options would build a new one each time.)
    """
    try:
        return _ENCODER.encode(payload)
    except ValueError:
        raise RecordError(f"cannot record a value that is not a finite number: {_first_non_finite(payload)}",
                          fix="check the instrument's reply; a reading must be a finite number") from None
    except TypeError as exc:
        raise RecordError(f"cannot record a value JSON cannot hold: {exc}",
                          fix="pass plain numbers, text, lists and dicts (convert arrays with float())") from None


def _first_non_finite(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _first_non_finite(item)
        if found:
            return f"{key}={found}" if isinstance(value, dict) else found
    return ""


def entry_hash(prev_hash: str, kind: str, run_id: str, payload: str, at: str) -> str:
    """sha256(prev_hash + kind + run_id + payload + at), hex."""
    return hashlib.sha256((prev_hash + kind + run_id + payload + at).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One row of the append-only `entries` table, as stored."""

    seq: int
    at: str
    kind: str
    run_id: str
    payload: str
    prev_hash: str
    hash: str

    def recomputed_hash(self) -> str:
        """The hash this entry's stored content calls for (equal to `hash` unless it was edited)."""
        return entry_hash(self.prev_hash, self.kind, self.run_id, self.payload, self.at)

    def data(self) -> dict[str, Any]:
        """The payload parsed; a RecordError if it is not a JSON object (it was edited by hand)."""
        try:
            value = json.loads(self.payload)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise RecordError(f"{self.label()}: its payload is not a JSON object",
                              fix="restore the store from a backup; the entry was edited outside xcal")
        return value

    def label(self) -> str:
        """'entry 17 (reading of run X, exposure 3 kvp_ppv)': how a person finds the entry."""
        try:
            what = describe(self.kind, self.run_id, json.loads(self.payload))
        except (ValueError, TypeError, AttributeError):
            what = f"{self.kind} of run {self.run_id}"
        return f"entry {self.seq} ({what})"


def describe(kind: str, run_id: str, payload: dict[str, Any]) -> str:
    """What an entry records, in words, for messages."""
    if kind == READING:
        return f"reading of run {run_id}, exposure {payload.get('exposure')} {payload.get('quantity')}"
    if kind == CORRECTION:
        return f"correction of reading {payload.get('reading_id')} of run {run_id}"
    if kind == SIGNATURE:
        account = f" ({payload['account']})" if payload.get("account") else ""
        return f"{payload.get('meaning')} signature of run {run_id} by {payload.get('name')}{account}"
    if kind in ACCOUNT_KINDS or kind in PROGRAM_KINDS:
        return _STORE_LEVEL[kind](payload) + (f" by {payload['by']}" if payload.get("by") else "")
    if kind == RESUME_CHANGES:
        return f"site file changes accepted to resume run {run_id}"
    if kind == BUNDLE_MEMBER:
        return f"bundle {run_id} member {payload.get('procedure')} started as run {payload.get('run_id')}"
    if kind in BUNDLE_KINDS:
        return f"bundle {run_id} {kind.split('_', 1)[1]}"
    if kind == ANCHOR:
        return f"anchor of entry {payload.get('seq')} signed with the site key"
    if kind == SCHEMA_UPGRADED:
        return f"store upgraded from schema version {payload.get('from')} to {payload.get('to')} by {payload.get('by')}"
    return {RUN_CREATED: f"run {run_id} created", CHECKS: f"checks of run {run_id}",
            RUN_FINISHED: f"run {run_id} finished", RUN_INCOMPLETE: f"run {run_id} marked incomplete",
            RUN_RESUMED: f"run {run_id} resumed",
            ADOPTED: f"run {run_id} adopted from a store older than the chain"}.get(kind, f"{kind} of run {run_id}")


def _part(p: dict[str, Any]) -> str:
    used = f" in room {p.get('room')}" if p.get("room") else ""
    service = f" for service {p.get('service')}" if p.get("service") else ""
    return f"{p.get('quantity')} of part {p.get('part')} used{used}{service}"


_STORE_LEVEL: dict[str, Callable[[dict[str, Any]], str]] = {
    ACCOUNT_CREATED: lambda p: f"account {p.get('username')} created",
    ACCOUNT_ROLE_CHANGED: lambda p: f"account {p.get('username')} role changed from {p.get('from')} to {p.get('role')}",
    ACCOUNT_DISABLED: lambda p: f"account {p.get('username')} disabled",
    ACCOUNT_ENABLED: lambda p: f"account {p.get('username')} enabled",
    ACCOUNT_PASSWORD_SET: lambda p: f"account {p.get('username')} given a new password",
    ACCOUNT_LOCKED: lambda p: f"account {p.get('username')} locked until {p.get('until')} after {p.get('failures')} "
                              f"failed sign-ins",
    ACTION_OPENED: lambda p: f"corrective action {p.get('action_id')} opened for run {p.get('run_id')}",
    ACTION_ASSIGNED: lambda p: f"corrective action {p.get('action_id')} assigned to {p.get('assignee')}",
    ACTION_PROGRESS: lambda p: f"progress note on corrective action {p.get('action_id')}",
    ACTION_RESOLVED: lambda p: f"corrective action {p.get('action_id')} resolved",
    ACTION_RETESTED: lambda p: f"corrective action {p.get('action_id')} retested by run {p.get('retest_run')}, "
                               f"{p.get('verdict')}",
    ACTION_VERIFIED: lambda p: f"corrective action {p.get('action_id')} verified by run {p.get('retest_run')}",
    SERVICE_RECORDED: lambda p: f"service {p.get('service_id')} of room {p.get('room')} recorded",
    PM_LOGGED: lambda p: f"maintenance {p.get('pm_id')} of room {p.get('room')} logged",
    PART_RECEIVED: lambda p: f"{p.get('quantity')} of part {p.get('part')} received",
    PART_USED: _part,
    INCIDENT_RECORDED: lambda p: f"incident {p.get('incident_id')} in room {p.get('room')} recorded",
    INCIDENT_UPDATED: lambda p: f"incident {p.get('incident_id')} updated",
    BADGE_ISSUED: lambda p: f"dosimetry badge {p.get('badge')} issued",
    DOSE_RECORDED: lambda p: f"dose {p.get('dose_id')} of badge {p.get('badge')} recorded",
    DOSE_REPORT: lambda p: f"dose report {p.get('sop_instance_uid')} from {p.get('source')} kept",
}
"""How each store-level kind reads (`describe` adds who did it): by its ids, never a wearer's name or dose."""


def run_hash(entries: Iterable[Entry]) -> str:
    """sha256 over the hashes, recomputed from content, of a run's entries in order, signatures left out.

    Recomputing (rather than trusting the stored `hash` column) means an edited entry changes the run hash.
    """
    digest = hashlib.sha256()
    for entry in entries:
        if entry.kind != SIGNATURE:
            digest.update(entry.recomputed_hash().encode("ascii"))
    return digest.hexdigest()
