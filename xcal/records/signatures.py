"""Sign-offs: a name, a time and a meaning bound to the hash of a run's entries, and whether each still holds.

The run hash covers every entry of the run except signatures, so several people can sign the same content.
Any later entry of the run, a correction included, changes the run hash: signatures made before it no longer
hold and the run must be signed again. A signature also fails when the stored run no longer agrees with its
entries (a table edited behind the store's back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import RecordError
from .chain import SIGNATURE, Entry, run_hash
from .verify import check_run

if TYPE_CHECKING:
    from .store import Store

MEANINGS = ("performed", "reviewed", "approved")


@dataclass(frozen=True)
class Signature:
    """A signature as written: `seq` is its entry; `run_hash` the run's hash it binds to."""

    run_id: str
    meaning: str
    name: str
    at: str
    run_hash: str
    seq: int


@dataclass(frozen=True)
class SignatureStatus:
    """A signature and whether it still holds for the run as stored now; `reason` says why not."""

    name: str
    meaning: str
    at: str
    run_hash: str
    valid: bool
    reason: str = ""


def require_meaning(meaning: str, name: str) -> tuple[str, str]:
    """The meaning and name of a sign-off, checked; a RecordError with the fix otherwise."""
    if meaning not in MEANINGS:
        raise RecordError(f"'{meaning}' is not a signature meaning",
                          fix=f"sign as one of: {', '.join(MEANINGS)}")
    signer = (name or "").strip()
    if not signer:
        raise RecordError("a signature needs the signer's name", fix="give the full name of the person signing")
    return meaning, signer


def statuses(store: "Store", run_id: str) -> list[SignatureStatus]:
    """The run's signatures, oldest first, each checked against the run as stored now."""
    entries = list(store.entries(run_id))
    current = run_hash(entries)
    problem = check_run(store, run_id)
    found = []
    for entry in entries:
        if entry.kind != SIGNATURE:
            continue
        try:
            signed = entry.data()
        except RecordError as exc:
            found.append(SignatureStatus("", "", entry.at, "", False, exc.message))
            continue
        reason = _why_not(entry, signed.get("run_hash"), current, entries, problem.reason if problem else "")
        found.append(SignatureStatus(signed.get("name", ""), signed.get("meaning", ""), entry.at,
                                     signed.get("run_hash", ""), not reason, reason))
    return found


def _why_not(sig: Entry, signed_hash: str | None, current: str, entries: list[Entry], problem: str) -> str:
    if sig.recomputed_hash() != sig.hash:
        return f"the signature's own entry {sig.seq} was edited after it was written"
    if signed_hash != current:
        later = [e for e in entries if e.seq > sig.seq and e.kind != SIGNATURE]
        if later:
            return f"the run changed after signing: {later[0].label()} at {later[0].at}"
        return "the run's entries were altered after signing"
    if problem:
        return f"the stored run no longer agrees with its record: {problem}"
    return ""
