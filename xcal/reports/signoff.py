"""The report's closing sections: corrective actions (a visible 'none recorded' when there are none) and signatures.

Corrective actions are read from the run (`corrective_actions`) or its snapshot when a record holds them.
Signatures are those passed in (e.g. `Store.signatures(run_id)`) or, failing that, the run's `signatures`;
each shows the printed name, the account (username; "(no account: name as typed)" for one made before the store had
accounts), meaning, time and whether it still holds for the run as stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..records.signatures import NO_ACCOUNT
from .model import EMPTY_TONE, FAIL_TONE, PASS_TONE, Cell, Note, Section, Table
from .text import DASH, pick


def corrective_actions_section(run: Any, snap: Mapping[str, Any]) -> Section:
    """Corrective actions recorded with the run, or a 'none recorded' box."""
    actions = getattr(run, "corrective_actions", None) or snap.get("corrective_actions") or []
    if not actions:
        return Section("corrective-actions", "Corrective actions", (Note("none recorded", EMPTY_TONE),))
    rows = tuple((Cell(str(pick(a, "action", "description", "text") or a)),
                  Cell(str(pick(a, "person", "by", "name") or DASH)),
                  Cell(str(pick(a, "at", "date", "time") or DASH)),
                  Cell(str(pick(a, "note", "reason", "result") or DASH))) for a in actions)
    return Section("corrective-actions", "Corrective actions", (
        Table(("Action", "By", "When", "Note"), rows, weights=(3.0, 1.2, 1.2, 2.0)),))


def signature_status(sig: Any) -> Cell:
    """'valid', or 'INVALID' with the reason a signature no longer holds."""
    valid = pick(sig, "valid")
    if valid is None:
        return Cell("not checked")
    if valid:
        return Cell("valid", PASS_TONE)
    reason = pick(sig, "reason")
    return Cell(f"INVALID: {reason}" if reason else "INVALID", FAIL_TONE)


def signatures_section(run: Any, signatures: Sequence[Any] | None) -> Section:
    """Each signature's printed name, account, meaning, time and status, or a box saying there are none."""
    given = signatures if signatures is not None else getattr(run, "signatures", None)
    if given is None:
        return Section("signatures", "Signatures", (Note("none given with this report", EMPTY_TONE),))
    if not given:
        return Section("signatures", "Signatures", (Note("none recorded", EMPTY_TONE),))
    rows = []
    for sig in given:
        bound = str(pick(sig, "run_hash") or "")
        rows.append((Cell(str(pick(sig, "name") or DASH)), Cell(str(pick(sig, "account") or NO_ACCOUNT)),
                     Cell(str(pick(sig, "meaning") or DASH)),
                     Cell(str(pick(sig, "at") or DASH)), signature_status(sig),
                     Cell(f"{bound[:16]}…" if len(bound) > 16 else (bound or DASH))))
    return Section("signatures", "Signatures", (
        Table(("Printed name", "Account", "Meaning", "Signed (UTC)", "Status", "Bound to run hash"), tuple(rows),
              weights=(1.4, 1.0, 0.9, 1.5, 2.2, 1.2)),
        Note("A signature binds its signer's printed name, account, time and meaning to the hash of the run's "
             "entries; one with an account was made with that account's password at the time of signing. Any later "
             "change to the run makes it invalid. `xcal verify` checks the whole record.")))
