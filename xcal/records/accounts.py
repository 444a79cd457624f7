"""Local accounts, roles and password checks: who may view, act, sign and manage accounts (21 CFR Part 11 as the
reference: §11.50 a signature shows the printed name, time and meaning; §11.70 it is bound to its record;
§11.200 it is made with an identification code and a password, by its owner only).

Roles and what they grant (`can`):

    viewer      view
    technician  view, act, sign (meaning 'performed' only)
    physicist   view, act, sign (performed, reviewed, approved)
    rso         view, act, sign (performed, reviewed, approved)
    admin       view, act, sign (any meaning), admin (account management)

'act' covers what changes records other than signatures: corrective actions, service, PM, corrections.

An account lives as store-level entries of the audit chain (created with its full name and role, role changed,
disabled, enabled, password set, locked), each naming who did it, so `xcal verify` and the anchors cover them.
A password is kept only as its Argon2id hash (argon2-cffi's PasswordHasher with its defaults, rehashed at the
next sign-in when those defaults change) in the credentials table; the entry of a password change holds the
sha256 of that hash (useless for guessing without the hash's own salt), so a hash swapped in the table behind
xcal's back is refused at sign-in.

Decisions:
- A username (lower case) is never reused: once created, a disabled account keeps it, so a signature always
  names one person (§11.100(a)).
- A store's first account must be an admin: from then on signing needs an account, and only an admin can manage
  the others in the web front end. The last active admin cannot be disabled or lose the role.
- Who makes a change (`by`) is recorded as given; the front end decides who may (the web checks `can(...,
  'admin')`; whoever can run `xcal users` can already write the store itself).
- Sign-in attempts (ok, failed, locked, disabled) are rows of login_attempts, never with a password. After
  MAX_FAILURES failures for a username within WINDOW seconds (no sign-in in between) every attempt is refused for
  LOCKOUT seconds, right password or not; a lockout of an existing account is also a chain entry. A new password
  (`set_password`, an admin's reset) ends a lockout. The rows are kept: a failed sign-in is no secret.
- A store with no account at all keeps signatures by a name as typed (signatures.py); its first account ends that.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import AuthError, ConfigError, RecordError
from .chain import (
    ACCOUNT_CREATED,
    ACCOUNT_DISABLED,
    ACCOUNT_ENABLED,
    ACCOUNT_KINDS,
    ACCOUNT_LOCKED,
    ACCOUNT_PASSWORD_SET,
    ACCOUNT_ROLE_CHANGED,
)
from .signatures import MEANINGS, Signature

if TYPE_CHECKING:
    from .ledger import Transaction
    from .store import Store

ROLES = ("viewer", "technician", "physicist", "rso", "admin")
PERMISSIONS = ("view", "act", "sign", "admin")
GRANTS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"view"}),
    "technician": frozenset({"view", "act", "sign"}),
    "physicist": frozenset({"view", "act", "sign"}),
    "rso": frozenset({"view", "act", "sign"}),
    "admin": frozenset(PERMISSIONS),
}
SIGN_MEANINGS: dict[str, tuple[str, ...]] = {"viewer": (), "technician": ("performed",), "physicist": MEANINGS,
                                             "rso": MEANINGS, "admin": MEANINGS}
MIN_PASSWORD = 10
MAX_FAILURES = 5
WINDOW = 15 * 60.0
LOCKOUT = 15 * 60.0
AUTOMATIC = "xcal (automatic)"
PASSWORD_SET = "password set"
"""The login_attempts outcome that marks a new password: failures before it no longer count."""
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Account:
    """One account as its entries say: username, full (printed) name, role, and whether it may sign in."""

    username: str
    full_name: str
    role: str
    active: bool

    def to_dict(self) -> dict[str, Any]:
        """The account as JSON (`xcal users list --json`): never anything about its password."""
        return {"username": self.username, "full_name": self.full_name, "role": self.role, "active": self.active,
                "permissions": [p for p in PERMISSIONS if can(self, p)]}


def can(account: Account, permission: str) -> bool:
    """Whether the account, if active, has `permission` (view, act, sign, admin); an unknown one is a ConfigError."""
    if permission not in PERMISSIONS:
        raise ConfigError(f"'{permission}' is not a permission", fix=f"ask for one of: {', '.join(PERMISSIONS)}")
    return account.active and permission in GRANTS.get(account.role, frozenset())


def may_sign(account: Account, meaning: str) -> bool:
    """Whether the account may sign with this meaning (a technician: 'performed' only)."""
    return can(account, "sign") and meaning in SIGN_MEANINGS.get(account.role, ())


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def _digest(hashed: str) -> str:
    return hashlib.sha256(hashed.encode("utf-8")).hexdigest()


def _username(username: str) -> str:
    name = (username or "").strip().lower()
    if not _USERNAME.fullmatch(name):
        raise ConfigError(f"'{username}' is not a username",
                          fix="use 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or "
                              "digit, e.g. 'jdoe'")
    return name


def _by(by: str) -> str:
    who = (by or "").strip()
    if not who:
        raise ConfigError("an account change needs the name of the person making it", fix="give --by NAME")
    return who


def _role(role: str) -> str:
    if role not in ROLES:
        raise ConfigError(f"'{role}' is not a role", fix=f"use one of: {', '.join(ROLES)}")
    return role


def check_password(username: str, password: str) -> None:
    """ConfigError when `password` breaks the minimum rules: at least MIN_PASSWORD characters, not the username."""
    if len(password or "") < MIN_PASSWORD:
        raise ConfigError(f"the password for '{username}' is {len(password or '')} characters long; it needs at "
                          f"least {MIN_PASSWORD}", fix="choose a longer password, e.g. a phrase of several words")
    if password.strip().lower() == username.lower():
        raise ConfigError(f"the password for '{username}' is the username", fix="choose a password of its own")


@dataclass
class _State:
    account: Account
    credential: str
    """sha256 of the hash the latest password entry set."""


def _fold(store: Store) -> dict[str, _State]:
    states: dict[str, _State] = {}
    for entry in store.entries_of_kind(ACCOUNT_KINDS):
        data = entry.data()
        name = data.get("username", "")
        if entry.kind == ACCOUNT_CREATED:
            states[name] = _State(Account(name, str(data.get("full_name", "")), str(data.get("role", "")), True),
                                  str(data.get("credential", "")))
            continue
        state = states.get(name)
        if state is None:
            raise RecordError(f"{entry.label()}: it names account '{name}', which no earlier entry created",
                              fix="run `xcal verify`; the chain was edited outside xcal")
        old = state.account
        if entry.kind == ACCOUNT_ROLE_CHANGED:
            state.account = Account(name, old.full_name, str(data.get("role", "")), old.active)
        elif entry.kind in (ACCOUNT_DISABLED, ACCOUNT_ENABLED):
            state.account = Account(name, old.full_name, old.role, entry.kind == ACCOUNT_ENABLED)
        elif entry.kind == ACCOUNT_PASSWORD_SET:
            state.credential = str(data.get("credential", ""))
    return states


def list_accounts(store: Store) -> list[Account]:
    """Every account, disabled ones included, by username."""
    return [s.account for _, s in sorted(_fold(store).items())]


def get_account(store: Store, username: str) -> Account | None:
    """The account of `username` (any case), or None."""
    state = _fold(store).get((username or "").strip().lower())
    return state.account if state else None


def _require(states: dict[str, _State], username: str) -> _State:
    if username not in states:
        raise RecordError(f"there is no account '{username}'", fix="run `xcal users list` to see the accounts")
    return states[username]


def add_account(store: Store, username: str, full_name: str, role: str, password: str, *, by: str) -> Account:
    """Create an account with its first password; the store's first account must be an admin."""
    name, role, who = _username(username), _role(role), _by(by)
    full = " ".join((full_name or "").split())
    if not full:
        raise ConfigError(f"account '{name}' needs the full name of its owner, as signatures print it",
                          fix="give --name 'Full Name'")
    check_password(name, password)
    hashed = _hasher().hash(password)

    def change(tx: Transaction) -> list[tuple[str, dict[str, Any]]]:
        states = _fold(store)
        if name in states:
            raise ConfigError(f"the username '{name}' is already taken (by {states[name].account.full_name}); a "
                              f"username is never given to anyone else", fix="choose another username")
        if not states and role != "admin":
            raise ConfigError(f"the first account of a store must be an admin, not a {role}: once a store has "
                              f"accounts every signature needs one, and only an admin manages accounts",
                              fix="create an admin first: `xcal users add USERNAME --name 'Full Name' --role admin`")
        _put_hash(tx, name, hashed)
        return [(ACCOUNT_CREATED, {"username": name, "full_name": full, "role": role, "by": who,
                                   "credential": _digest(hashed)})]

    store.write_with_entries(change)
    return Account(name, full, role, True)


def _active_admins(states: dict[str, _State]) -> list[str]:
    return [n for n, s in states.items() if s.account.active and s.account.role == "admin"]


def _last_admin(states: dict[str, _State], name: str, what: str) -> None:
    if _active_admins(states) == [name]:
        raise ConfigError(f"'{name}' is the store's last active admin and cannot be {what}",
                          fix="make another account an admin first (`xcal users role USERNAME admin`)")


Step = Callable[[dict[str, "_State"], "_State"], tuple[str, dict[str, Any]]]
"""One account change: from every account's state and the changed one's, the entry to append (kind, payload)."""


def _change(store: Store, username: str, by: str, step: Step) -> Account:
    """Append the entry `step(states, state)` gives (kind, payload) for one account; the account after it."""
    name, who = _username(username), _by(by)

    def change(tx: Transaction) -> list[tuple[str, dict[str, Any]]]:
        states = _fold(store)
        kind, payload = step(states, _require(states, name))
        return [(kind, {"username": name, **payload, "by": who})]

    store.write_with_entries(change)
    account = get_account(store, name)
    assert account is not None
    return account


def disable_account(store: Store, username: str, *, by: str) -> Account:
    """Stop the account from signing in or signing; its username stays taken and its signatures stay."""
    def step(states: dict[str, _State], state: _State) -> tuple[str, dict[str, Any]]:
        if not state.account.active:
            raise ConfigError(f"account '{state.account.username}' is already disabled", fix="nothing to do")
        _last_admin(states, state.account.username, "disabled")
        return ACCOUNT_DISABLED, {}

    return _change(store, username, by, step)


def enable_account(store: Store, username: str, *, by: str) -> Account:
    """Let a disabled account sign in again."""
    def step(states: dict[str, _State], state: _State) -> tuple[str, dict[str, Any]]:
        if state.account.active:
            raise ConfigError(f"account '{state.account.username}' is already enabled", fix="nothing to do")
        return ACCOUNT_ENABLED, {}

    return _change(store, username, by, step)


def set_role(store: Store, username: str, role: str, *, by: str) -> Account:
    """Give the account another role (recorded with the one it had)."""
    role = _role(role)

    def step(states: dict[str, _State], state: _State) -> tuple[str, dict[str, Any]]:
        if state.account.role == role:
            raise ConfigError(f"account '{state.account.username}' is already a {role}", fix="nothing to do")
        if state.account.role == "admin":
            _last_admin(states, state.account.username, f"made a {role}")
        return ACCOUNT_ROLE_CHANGED, {"role": role, "from": state.account.role}

    return _change(store, username, by, step)


def set_password(store: Store, username: str, new_password: str, *, by: str) -> None:
    """Replace the account's password (its owner's change, or an admin's reset: `by` says which); this also
    ends a sign-in lockout of the account."""
    name, who = _username(username), _by(by)
    check_password(name, new_password)
    hashed = _hasher().hash(new_password)

    def change(tx: Transaction) -> list[tuple[str, dict[str, Any]]]:
        _require(_fold(store), name)
        _put_hash(tx, name, hashed)
        moment = time.time()
        tx.execute("INSERT INTO login_attempts (username, at, epoch, outcome) VALUES (?, ?, ?, ?)",
                   (name, _iso(moment), moment, PASSWORD_SET))
        return [(ACCOUNT_PASSWORD_SET, {"username": name, "credential": _digest(hashed), "by": who})]

    store.write_with_entries(change)


def _put_hash(tx: Transaction, name: str, hashed: str) -> None:
    tx.execute("DELETE FROM credentials WHERE username = ?", (name,))
    tx.execute("INSERT INTO credentials (username, hash, set_at) VALUES (?, ?, ?)", (name, hashed, _iso()))


def _iso(epoch: float | None = None) -> str:
    moment = dt.datetime.now(dt.UTC) if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.isoformat(timespec="milliseconds")


def locked_until(attempts: list[tuple[float, str]], now: float) -> float | None:
    """When the lockout that `attempts` (epoch, outcome) of one username put in place ends, or None if none holds
    at `now`: MAX_FAILURES failures within WINDOW seconds, with no sign-in or new password after them, lock LOCKOUT
    seconds from the last of them."""
    failures: list[float] = []
    for epoch, outcome in sorted(attempts):
        if outcome in ("ok", PASSWORD_SET):
            failures = []
        elif outcome == "failed":
            failures.append(epoch)
    ends = [failures[i] + LOCKOUT for i in range(MAX_FAILURES - 1, len(failures))
            if failures[i] - failures[i - MAX_FAILURES + 1] <= WINDOW]
    return max(ends) if ends and max(ends) > now else None


def _attempts(store: Store, name: str, now: float) -> list[tuple[float, str]]:
    rows = store.select("SELECT epoch, outcome FROM login_attempts WHERE username = ? AND epoch > ? ORDER BY epoch",
                        (name, now - WINDOW - LOCKOUT))
    return [(float(r[0]), str(r[1])) for r in rows]


_DUMMY: list[str] = []


def _verify(hashed: str | None, password: str) -> bool:
    """Whether `password` matches `hashed`; with no hash, a check of equal cost that fails (no timing hint)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    if hashed is None:
        if not _DUMMY:
            _DUMMY.append(_hasher().hash("no such account, no such password"))
        hashed, password = _DUMMY[0], password + "\0"
    try:
        return bool(_hasher().verify(hashed, password))
    except (VerificationError, InvalidHashError):
        return False


def authenticate(store: Store, username: str, password: str, *, now: float | None = None) -> Account:
    """The account whose password this is, recording the attempt; AuthError when it is wrong, the account is
    disabled or sign-in for the username is locked (which the right password does not lift). `now` (seconds since
    1970) stands in for the clock."""
    moment = time.time() if now is None else now
    name = (username or "").strip().lower()
    until = locked_until(_attempts(store, name, moment), moment)
    if until is not None:
        _record(store, name, moment, "locked")
        raise AuthError(f"sign-in for '{name}' is locked until {_iso(until)} (UTC) after {MAX_FAILURES} failed "
                        f"attempts within {WINDOW / 60:.0f} minutes",
                        fix=f"try again after {_iso(until)}, or ask an admin to set a new password")
    states = _fold(store)
    if not states:
        raise AuthError("this record store has no accounts yet",
                        fix="create the first one, an admin: `xcal users add USERNAME --name 'Full Name' --role admin`")
    state = states.get(name)
    row = list(store.select("SELECT hash FROM credentials WHERE username = ?", (name,)))
    hashed = str(row[0][0]) if row else None
    if state is None or hashed is None or not _verify(hashed, password or ""):
        if state is None or hashed is None:
            _verify(None, password or "")
        _failed(store, name, moment, state is not None)
        raise AuthError("wrong username or password", fix="check both and try again")
    if _digest(hashed) != state.credential:
        raise RecordError(f"the stored password hash of '{name}' is not the one its last password change recorded: "
                          f"the credentials table was changed outside xcal",
                          fix="run `xcal verify`, then have an admin set a new password (`xcal users passwd`)")
    if not state.account.active:
        _record(store, name, moment, "disabled")
        raise AuthError(f"account '{name}' is disabled", fix="ask an admin to enable it (`xcal users enable`)")
    _record(store, name, moment, "ok", _rehashed(name, hashed, password))
    return state.account


def _rehashed(name: str, hashed: str, password: str) -> str | None:
    hasher = _hasher()
    return hasher.hash(password) if hasher.check_needs_rehash(hashed) else None


def _record(store: Store, name: str, moment: float, outcome: str, rehash: str | None = None,
            entries: list[tuple[str, dict[str, Any]]] | None = None) -> None:
    def change(tx: Transaction) -> list[tuple[str, dict[str, Any]]]:
        tx.execute("INSERT INTO login_attempts (username, at, epoch, outcome) VALUES (?, ?, ?, ?)",
                   (name, _iso(moment), moment, outcome))
        if rehash is None:
            return list(entries or [])
        _put_hash(tx, name, rehash)
        return [(ACCOUNT_PASSWORD_SET, {"username": name, "credential": _digest(rehash), "by": AUTOMATIC,
                                        "why": "rehashed with the current Argon2 parameters at sign-in"})]

    store.write_with_entries(change)


def _failed(store: Store, name: str, moment: float, known: bool) -> None:
    """Record a failed attempt; when it starts a lockout, say so (and record it in the chain for an account)."""
    until = locked_until(_attempts(store, name, moment) + [(moment, "failed")], moment)
    locked = [(ACCOUNT_LOCKED, {"username": name, "until": _iso(until), "failures": MAX_FAILURES, "by": AUTOMATIC})] \
        if until is not None and known else []
    _record(store, name, moment, "failed", entries=locked)
    if until is not None:
        raise AuthError(f"wrong username or password; after {MAX_FAILURES} failed attempts within "
                        f"{WINDOW / 60:.0f} minutes, sign-in for '{name}' is locked until {_iso(until)} (UTC)",
                        fix=f"try again after {_iso(until)}, or ask an admin to set a new password")


def sign_run(store: Store, run_id: str, meaning: str, username: str, password: str, *,
             now: float | None = None) -> Signature:
    """Sign a run as an account: its password is checked now, then its role must allow the meaning; the signature
    names the username and the account's full name at this moment (signatures.py)."""
    if meaning not in MEANINGS:
        raise ConfigError(f"'{meaning}' is not a signature meaning", fix=f"sign as one of: {', '.join(MEANINGS)}")
    account = authenticate(store, username, password, now=now)
    if not may_sign(account, meaning):
        allowed = SIGN_MEANINGS.get(account.role, ())
        what = f"signs only as {', '.join(allowed)}" if allowed else "may not sign"
        raise AuthError(f"'{account.username}' is a {account.role}, who {what}; not '{meaning}'",
                        fix="have a physicist, RSO or admin sign it, or ask an admin for another role")
    return store.sign(run_id, meaning, account.full_name, account=account.username)
