"""Sign-offs: a name, a time and a meaning bound to the hash of a run's entries, and whether each still holds.

Once a store has accounts (accounts.py), a signature names the signer's account (`account`, the username) and
the full name it had at that moment (`name`, the printed name), and is made only after the signer's password was
checked. A store without any account keeps the older signatures with a name as typed and no account; reports
show those as "(no account: name as typed)".

The run hash covers every entry of the run except signatures, so several people can sign the same content.
Any later entry of the run, a correction included, changes the run hash: signatures made before it no longer
hold and the run must be signed again. A signature also fails when the stored run no longer agrees with its
entries (a table edited behind the store's back).

Each signature also records the chain head it was made at (entry number, hash, store id) and a seal: the site
key's signature over the run, meaning, name, account (when there is one), run hash and that head (anchor.py).
Someone who can write the store but lacks the site key can then neither forge, move, nor re-word a signature
unnoticed by `xcal verify`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import AuthError, RecordError
from .chain import ACCOUNT_CREATED, ANCHOR, GENESIS, SIGNATURE, Entry, run_hash
from .verify import check_run

if TYPE_CHECKING:
    from .store import Store

MEANINGS = ("performed", "reviewed", "approved")
NO_ACCOUNT = "(no account: name as typed)"
"""How a report names the account of a signature made before the store had accounts."""


@dataclass(frozen=True)
class Signature:
    """A signature as written: `seq` is its entry; `run_hash` the run's hash it binds to."""

    run_id: str
    meaning: str
    name: str
    at: str
    run_hash: str
    seq: int
    account: str = ""


@dataclass(frozen=True)
class SignatureStatus:
    """A signature and whether it still holds for the run as stored now; `reason` says why not."""

    name: str
    meaning: str
    at: str
    run_hash: str
    valid: bool
    reason: str = ""
    account: str = ""
    """The signer's username; '' for a signature made without an account (see NO_ACCOUNT)."""


def require_meaning(meaning: str, name: str) -> tuple[str, str]:
    """The meaning and name of a sign-off, checked; a RecordError with the fix otherwise."""
    if meaning not in MEANINGS:
        raise RecordError(f"'{meaning}' is not a signature meaning",
                          fix=f"sign as one of: {', '.join(MEANINGS)}")
    signer = (name or "").strip()
    if not signer:
        raise RecordError("a signature needs the signer's name", fix="give the full name of the person signing")
    return meaning, signer


def require_account(tx: Any, account: str | None) -> None:
    """AuthError when a signature without an account is asked of a store that has accounts (in `tx`)."""
    if not account and tx.execute(f"SELECT seq FROM entries WHERE run_id = '' AND kind = '{ACCOUNT_CREATED}' "
                                      f"LIMIT 1").fetchone() is not None:
        raise AuthError("this record store has accounts, so a signature must name one and be made with its password",
                        fix="sign with `xcal sign RUN --meaning MEANING --user USERNAME` (it asks the password)")


def sealed(tx: Any, run_id: str, meaning: str, name: str, bound: str, account: str | None = None
           ) -> dict[str, Any]:
    """The payload of a signature entry about to be appended in `tx`: what it binds, the chain head it is made
    at and the site key's seal over both (the key is created on first use, see anchor.site_key)."""
    from .anchor import seal_message, site_key

    row = tx.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    seq, head = (int(row[0]), row[1]) if row else (0, GENESIS)
    first = tx.execute("SELECT payload FROM entries WHERE run_id = '' AND kind = ? ORDER BY seq LIMIT 1",
                       (ANCHOR,)).fetchone()
    store_id = str(json.loads(first[0]).get("store_id", "")) if first else ""
    seal = site_key().sign(seal_message(run_id, meaning, name, bound, seq, head, store_id, account))
    return {"meaning": meaning, "name": name, "run_hash": bound, **({"account": account} if account else {}),
            "anchor": {"seq": seq, "head": head, "store_id": store_id}, "seal": seal}


def statuses(store: Store, run_id: str) -> list[SignatureStatus]:
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
        reason = _why_not(entry, signed.get("run_hash"), current, entries, problem.reason if problem else "") \
            or _head_moved(store, entry, signed.get("anchor"))
        found.append(SignatureStatus(signed.get("name", ""), signed.get("meaning", ""), entry.at,
                                     signed.get("run_hash", ""), not reason, reason, signed.get("account") or ""))
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


def _head_moved(store: Store, sig: Entry, made_at: Any) -> str:
    """Why the chain head a signature records is no longer the entry before it ('' when it still is)."""
    if not isinstance(made_at, dict):
        return ""
    rows = list(store.select("SELECT seq, at, kind, run_id, payload, prev_hash, hash FROM entries WHERE seq = ?",
                             (made_at.get("seq"),)))
    if made_at.get("seq") != sig.seq - 1 or (rows and Entry(*rows[0]).recomputed_hash() != made_at.get("head")):
        return (f"it was made at entry {made_at.get('seq')}, which no longer hashes to the head it recorded: the "
                f"signature was moved or the chain before it rewritten")
    return ""
