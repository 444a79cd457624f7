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
The accounts table is their projection: each account as its entries leave it, written in the transaction of each
entry (`_append`), so a look-up reads one row however long the chain; `verify` replays the entries and compares
(`account_problems`). A password is kept only as its Argon2id hash (argon2-cffi's PasswordHasher with its
defaults, rehashed at the next sign-in when those defaults change) in the credentials table; the entry of a
password change holds the sha256 of that hash (useless for guessing without the hash's own salt), which the
accounts row repeats: a hash swapped in the table behind xcal's back is refused at sign-in and named by `verify`.

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
  (`set_password`, an admin's reset) ends a lockout. Each new row removes those older than KEEP seconds (WINDOW +
  LOCKOUT, all a lockout is decided from): the table is operating state, and the lockouts themselves are entries.
- A store with no account at all keeps signatures by a name as typed (signatures.py); its first account ends that.
- A password set by someone other than its owner (an admin's reset, an account made for someone) is temporary
  (§11.300(b)): the account may sign in only to set its own, and cannot sign until it has (`change_own_password`,
  which asks the old one). The flag is in the password's entry, so `verify` checks the accounts row's copy.
- Each account has a session generation (table sessions): operating state outside the chain like the sign-in
  attempts, since a sign-out is no record. A web session carries the generation it began with and ends when it
  changes: at sign-out, a new password, a disable or a role change (`end_sessions`, `session_generation`).
- A sign-in attempt is recorded as pending in the transaction that reads the lockout, before the slow password
  check, and pending attempts count as failures: concurrent guesses cannot outrun the lockout.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
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
    from .chain import Entry
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
KEEP = WINDOW + LOCKOUT
"""How long a sign-in attempt is kept: no lockout can depend on an older one."""
AUTOMATIC = "xcal (automatic)"
PASSWORD_SET = "password set"
"""The login_attempts outcome that marks a new password: failures before it no longer count."""
PENDING = "pending"
"""The login_attempts outcome of an attempt whose password is being checked: a failure until it is decided."""
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Account:
    """One account as its entries say: username, full (printed) name, role, and whether it may sign in."""

    username: str
    full_name: str
    role: str
    active: bool
    temporary: bool = False
    """Its password was set by someone else: it must set its own before anything else, and cannot sign."""

    def to_dict(self) -> dict[str, Any]:
        """The account as JSON (`xcal users list --json`): never anything about its password."""
        return {"username": self.username, "full_name": self.full_name, "role": self.role, "active": self.active,
                "permissions": [p for p in PERMISSIONS if can(self, p)], "temporary_password": self.temporary}


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


def valid_username(username: str) -> bool:
    """Whether `username` (any case, spaces around) has the form of a username: what sign-in accepts to look up."""
    return bool(_USERNAME.fullmatch((username or "").strip().lower()))


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


@dataclass(frozen=True)
class _State:
    """An account as its entries leave it: one row of the accounts table."""

    account: Account
    credential: str
    """sha256 of the hash the latest password entry set."""
    seq: int
    """The account's latest entry."""


_COLUMNS = "username, full_name, role, active, temporary, credential, seq"


def _after(state: _State | None, entry: Entry) -> _State:
    """The account after one of its entries: how the accounts row is written, and how `verify` replays the chain."""
    data = entry.data()
    name = str(data.get("username", ""))
    if entry.kind == ACCOUNT_CREATED:
        if state is not None:
            raise RecordError(f"{entry.label()}: account '{name}' was already created by an earlier entry",
                              fix="run `xcal verify`; the chain was edited outside xcal")
        return _State(Account(name, str(data.get("full_name", "")), str(data.get("role", "")), True,
                              bool(data.get("temporary", False))), str(data.get("credential", "")), entry.seq)
    if state is None:
        raise RecordError(f"{entry.label()}: it names account '{name}', which no earlier entry created",
                          fix="run `xcal verify`; the chain was edited outside xcal")
    old, credential = state.account, state.credential
    account = old
    if entry.kind == ACCOUNT_ROLE_CHANGED:
        account = Account(name, old.full_name, str(data.get("role", "")), old.active, old.temporary)
    elif entry.kind in (ACCOUNT_DISABLED, ACCOUNT_ENABLED):
        account = Account(name, old.full_name, old.role, entry.kind == ACCOUNT_ENABLED, old.temporary)
    elif entry.kind == ACCOUNT_PASSWORD_SET:
        credential = str(data.get("credential", ""))
        account = Account(name, old.full_name, old.role, old.active, bool(data.get("temporary", False)))
    return _State(account, credential, entry.seq)


def _state(row: Any) -> _State:
    """An accounts row as read: its values are taken as they are (`account_problems` judges them)."""
    return _State(Account(str(row[0]), str(row[1]), str(row[2]), bool(row[3]), bool(row[4])), str(row[5]), row[6])


def _state_of(store: Store, name: str) -> _State | None:
    """The accounts row of `name` (inside a write, as that transaction sees it), or None."""
    rows = list(store.select(f"SELECT {_COLUMNS} FROM accounts WHERE username = ?", (name,)))
    return _state(rows[0]) if rows else None


def _append(store: Store, tx: Transaction, kind: str, payload: dict[str, Any]) -> _State:
    """Append an account entry and write the account's row as it leaves it, in the same transaction."""
    name = payload["username"]
    before = _state_of(store, name)
    state = _after(before, tx.append(kind, "", payload))
    a = state.account
    values = (a.full_name, a.role, int(a.active), int(a.temporary), state.credential, state.seq, name)
    if before is None:
        tx.execute("INSERT INTO accounts (full_name, role, active, temporary, credential, seq, username) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", values)
    else:
        tx.execute("UPDATE accounts SET full_name = ?, role = ?, active = ?, temporary = ?, credential = ?, seq = ? "
                   "WHERE username = ?", values)
    if kind in (ACCOUNT_ROLE_CHANGED, ACCOUNT_DISABLED) or (kind == ACCOUNT_PASSWORD_SET
                                                           and payload.get("by") != AUTOMATIC):
        _end_sessions(tx, name)
    return state


def _end_sessions(tx: Transaction, name: str) -> None:
    tx.execute("INSERT INTO sessions (username, generation) VALUES (?, 1) ON CONFLICT (username) "
               "DO UPDATE SET generation = sessions.generation + 1", (name,))


def session_generation(store: Store, username: str) -> int:
    """The account's session generation: a web session begun under another one has ended (0 before any)."""
    rows = list(store.select("SELECT generation FROM sessions WHERE username = ?", ((username or "").lower(),)))
    return int(rows[0][0]) if rows else 0


def end_sessions(store: Store, username: str) -> None:
    """End every web session of the account (sign-out): its session generation moves on."""
    name = _username(username)

    def change(tx: Transaction) -> list[tuple[str, dict[str, Any]]]:
        _end_sessions(tx, name)
        return []

    store.write_with_entries(change)


def list_accounts(store: Store) -> list[Account]:
    """Every account, disabled ones included, by username."""
    return [_state(r).account for r in store.select(f"SELECT {_COLUMNS} FROM accounts ORDER BY username")]


def get_account(store: Store, username: str) -> Account | None:
    """The account of `username` (any case), or None: one row of the accounts table."""
    state = _state_of(store, (username or "").strip().lower())
    return state.account if state else None


def _has_accounts(store: Store) -> bool:
    return bool(list(store.select("SELECT username FROM accounts LIMIT 1")))


def _require(state: _State | None, username: str) -> _State:
    if state is None:
        raise RecordError(f"there is no account '{username}'", fix="run `xcal users list` to see the accounts")
    return state


def add_account(store: Store, username: str, full_name: str, role: str, password: str, *, by: str,
                temporary: bool = False) -> Account:
    """Create an account with its first password (`temporary`: chosen by someone else, see the module's notes);
    the store's first account must be an admin."""
    name, role, who = _username(username), _role(role), _by(by)
    full = " ".join((full_name or "").split())
    if not full:
        raise ConfigError(f"account '{name}' needs the full name of its owner, as signatures print it",
                          fix="give --name 'Full Name'")
    check_password(name, password)
    hashed = _hasher().hash(password)

    def change(tx: Transaction) -> list[tuple[str, dict[str, Any]]]:
        taken = _state_of(store, name)
        if taken is not None:
            raise ConfigError(f"the username '{name}' is already taken (by {taken.account.full_name}); a "
                              f"username is never given to anyone else", fix="choose another username")
        if role != "admin" and not _has_accounts(store):
            raise ConfigError(f"the first account of a store must be an admin, not a {role}: once a store has "
                              f"accounts every signature needs one, and only an admin manages accounts",
                              fix="create an admin first: `xcal users add USERNAME --name 'Full Name' --role admin`")
        _put_hash(tx, name, hashed)
        _append(store, tx, ACCOUNT_CREATED, {"username": name, "full_name": full, "role": role, "by": who,
                                             "credential": _digest(hashed), **_flag(temporary)})
        return []

    store.write_with_entries(change)
    return Account(name, full, role, True, temporary)


def _flag(temporary: bool) -> dict[str, Any]:
    """The payload key of a temporary password (absent otherwise, as in entries made before it existed)."""
    return {"temporary": True} if temporary else {}


def _last_admin(store: Store, name: str, what: str) -> None:
    admins = [r[0] for r in store.select("SELECT username FROM accounts WHERE active = 1 AND role = 'admin'")]
    if admins == [name]:
        raise ConfigError(f"'{name}' is the store's last active admin and cannot be {what}",
                          fix="make another account an admin first (`xcal users role USERNAME admin`)")


Step = Callable[["_State"], tuple[str, dict[str, Any]]]
"""One account change: from the changed account's state, the entry to append (kind, payload)."""


def _change(store: Store, username: str, by: str, step: Step) -> Account:
    """Append the entry `step(state)` gives (kind, payload) for one account; the account after it."""
    name, who = _username(username), _by(by)
    after: list[_State] = []

    def change(tx: Transaction) -> list[tuple[str, dict[str, Any]]]:
        kind, payload = step(_require(_state_of(store, name), name))
        after.append(_append(store, tx, kind, {"username": name, **payload, "by": who}))
        return []

    store.write_with_entries(change)
    return after[-1].account


def disable_account(store: Store, username: str, *, by: str) -> Account:
    """Stop the account from signing in or signing; its username stays taken and its signatures stay."""
    def step(state: _State) -> tuple[str, dict[str, Any]]:
        if not state.account.active:
            raise ConfigError(f"account '{state.account.username}' is already disabled", fix="nothing to do")
        _last_admin(store, state.account.username, "disabled")
        return ACCOUNT_DISABLED, {}

    return _change(store, username, by, step)


def enable_account(store: Store, username: str, *, by: str) -> Account:
    """Let a disabled account sign in again."""
    def step(state: _State) -> tuple[str, dict[str, Any]]:
        if state.account.active:
            raise ConfigError(f"account '{state.account.username}' is already enabled", fix="nothing to do")
        return ACCOUNT_ENABLED, {}

    return _change(store, username, by, step)


def set_role(store: Store, username: str, role: str, *, by: str) -> Account:
    """Give the account another role (recorded with the one it had)."""
    role = _role(role)

    def step(state: _State) -> tuple[str, dict[str, Any]]:
        if state.account.role == role:
            raise ConfigError(f"account '{state.account.username}' is already a {role}", fix="nothing to do")
        if state.account.role == "admin":
            _last_admin(store, state.account.username, f"made a {role}")
        return ACCOUNT_ROLE_CHANGED, {"role": role, "from": state.account.role}

    return _change(store, username, by, step)


def set_password(store: Store, username: str, new_password: str, *, by: str, temporary: bool = False) -> None:
    """Replace the account's password (its owner's change, or an admin's reset: `by` says which, and an admin's is
    `temporary`); this also ends a sign-in lockout of the account and its web sessions."""
    name, who = _username(username), _by(by)
    check_password(name, new_password)
    hashed = _hasher().hash(new_password)

    def change(tx: Transaction) -> list[tuple[str, dict[str, Any]]]:
        _require(_state_of(store, name), name)
        _put_hash(tx, name, hashed)
        _attempt(tx, name, time.time(), PASSWORD_SET)
        _append(store, tx, ACCOUNT_PASSWORD_SET, {"username": name, "credential": _digest(hashed), "by": who,
                                                  **_flag(temporary)})
        return []

    store.write_with_entries(change)


def change_own_password(store: Store, username: str, old_password: str, new_password: str) -> Account:
    """The owner replaces their password, proving the old one (checked as a sign-in: recorded, lockout applies);
    this ends a temporary password. The new one must differ from the old."""
    account = authenticate(store, username, old_password)
    if new_password == old_password:
        raise ConfigError(f"the new password for '{account.username}' is the old one",
                          fix="choose a password you have not used here")
    set_password(store, account.username, new_password, by=account.username)
    return Account(account.username, account.full_name, account.role, account.active, False)


def _put_hash(tx: Transaction, name: str, hashed: str) -> None:
    tx.execute("DELETE FROM credentials WHERE username = ?", (name,))
    tx.execute("INSERT INTO credentials (username, hash, set_at) VALUES (?, ?, ?)", (name, hashed, _iso()))


def _attempt(tx: Transaction, name: str, moment: float, outcome: str, attempt: str = "") -> None:
    """Record a sign-in attempt (or a new password) and remove the attempts older than KEEP seconds; `attempt`
    names a pending one so that its outcome can be written once known."""
    tx.execute("DELETE FROM login_attempts WHERE epoch < ?", (moment - KEEP,))
    tx.execute("INSERT INTO login_attempts (username, at, epoch, outcome, attempt) VALUES (?, ?, ?, ?, ?)",
               (name, _iso(moment), moment, outcome, attempt))


def _iso(epoch: float | None = None) -> str:
    moment = dt.datetime.now(dt.UTC) if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.isoformat(timespec="milliseconds")


def locked_until(attempts: list[tuple[float, str]], now: float) -> float | None:
    """When the lockout that `attempts` (epoch, outcome) of one username put in place ends, or None if none holds
    at `now`: MAX_FAILURES failures (pending attempts count as failures) within WINDOW seconds, with no sign-in or
    new password after them, lock LOCKOUT seconds from the last of them."""
    failures: list[float] = []
    for epoch, outcome in sorted(attempts):
        if outcome in ("ok", PASSWORD_SET):
            failures = []
        elif outcome in ("failed", PENDING):
            failures.append(epoch)
    ends = [failures[i] + LOCKOUT for i in range(MAX_FAILURES - 1, len(failures))
            if failures[i] - failures[i - MAX_FAILURES + 1] <= WINDOW]
    return max(ends) if ends and max(ends) > now else None


def _attempts(store: Store, name: str, now: float) -> list[tuple[float, str]]:
    rows = store.select("SELECT epoch, outcome FROM login_attempts WHERE username = ? AND epoch > ? ORDER BY epoch",
                        (name, now - KEEP))
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
    1970) stands in for the clock. A name that cannot be a username is refused before anything is recorded."""
    moment = time.time() if now is None else now
    name = (username or "").strip().lower()
    if not _USERNAME.fullmatch(name):
        raise AuthError("wrong username or password: that is not a username",
                        fix="a username is 1 to 64 lower-case letters, digits, '.', '_' or '-'; check it")
    if not _has_accounts(store):
        raise AuthError("this record store has no accounts yet",
                        fix="create the first one, an admin: `xcal users add USERNAME --name 'Full Name' --role admin`")
    attempt = secrets.token_hex(8)
    until = _begin(store, name, moment, attempt)
    if until is not None:
        raise AuthError(f"sign-in for '{name}' is locked until {_iso(until)} (UTC) after {MAX_FAILURES} failed "
                        f"attempts within {WINDOW / 60:.0f} minutes",
                        fix=f"try again after {_iso(until)}, or ask an admin to set a new password")
    state = _state_of(store, name)
    row = list(store.select("SELECT hash FROM credentials WHERE username = ?", (name,)))
    hashed = str(row[0][0]) if row else None
    if state is None or hashed is None or not _verify(hashed, password or ""):
        if state is None or hashed is None:
            _verify(None, password or "")
        _failed(store, name, moment, attempt, state is not None)
        raise AuthError("wrong username or password", fix="check both and try again")
    if _digest(hashed) != state.credential:
        _decided(store, name, attempt, "failed")
        raise RecordError(f"the stored password hash of '{name}' is not the one its last password change recorded: "
                          f"the credentials table was changed outside xcal",
                          fix="run `xcal verify`, then have an admin set a new password (`xcal users passwd`)")
    if not state.account.active:
        _decided(store, name, attempt, "disabled")
        raise AuthError(f"account '{name}' is disabled", fix="ask an admin to enable it (`xcal users enable`)")
    _decided(store, name, attempt, "ok", _rehashed(name, hashed, password), state.account.temporary)
    return state.account


def _begin(store: Store, name: str, moment: float, attempt: str) -> float | None:
    """In one write transaction: read the lockout, then record the attempt as locked (returning when the lockout
    ends) or as pending (returning None), so no concurrent attempt decides from the same count."""
    until: list[float | None] = []

    def change(tx: Transaction) -> list[tuple[str, dict[str, Any]]]:
        until.append(locked_until(_attempts(store, name, moment), moment))
        _attempt(tx, name, moment, "locked" if until[0] is not None else PENDING, attempt)
        return []

    store.write_with_entries(change)
    return until[0]


def _rehashed(name: str, hashed: str, password: str) -> str | None:
    hasher = _hasher()
    return hasher.hash(password) if hasher.check_needs_rehash(hashed) else None


def _decided(store: Store, name: str, attempt: str, outcome: str, rehash: str | None = None,
             temporary: bool = False) -> None:
    """Write the outcome of the pending attempt `attempt`, with a rehash of the password when one is due."""
    def change(tx: Transaction) -> list[tuple[str, dict[str, Any]]]:
        tx.execute("UPDATE login_attempts SET outcome = ? WHERE username = ? AND attempt = ?", (outcome, name, attempt))
        if rehash is not None:
            _put_hash(tx, name, rehash)
            _append(store, tx, ACCOUNT_PASSWORD_SET, {
                "username": name, "credential": _digest(rehash), "by": AUTOMATIC, **_flag(temporary),
                "why": "rehashed with the current Argon2 parameters at sign-in"})
        return []

    store.write_with_entries(change)


def _failed(store: Store, name: str, moment: float, attempt: str, known: bool) -> None:
    """Record a failed attempt; when it completes a lockout, say so (and record it in the chain for an account).
    Only decided failures count here, read in the same transaction, so the lockout entry is made once."""
    until: list[float | None] = []

    def change(tx: Transaction) -> list[tuple[str, dict[str, Any]]]:
        decided = [(e, o) for e, o in _attempts(store, name, moment) if o != PENDING]
        until.append(locked_until(decided + [(moment, "failed")], moment))
        tx.execute("UPDATE login_attempts SET outcome = 'failed' WHERE username = ? AND attempt = ?", (name, attempt))
        if until[0] is not None and known:
            _append(store, tx, ACCOUNT_LOCKED, {"username": name, "until": _iso(until[0]), "failures": MAX_FAILURES,
                                                "by": AUTOMATIC})
        return []

    store.write_with_entries(change)
    if until[0] is not None:
        raise AuthError(f"wrong username or password; after {MAX_FAILURES} failed attempts within "
                        f"{WINDOW / 60:.0f} minutes, sign-in for '{name}' is locked until {_iso(until[0])} (UTC)",
                        fix=f"try again after {_iso(until[0])}, or ask an admin to set a new password")


def sign_run(store: Store, run_id: str, meaning: str, username: str, password: str, *,
             now: float | None = None) -> Signature:
    """Sign a run as an account: its password is checked now, then its role must allow the meaning; the signature
    names the username and the account's full name at this moment (signatures.py)."""
    if meaning not in MEANINGS:
        raise ConfigError(f"'{meaning}' is not a signature meaning", fix=f"sign as one of: {', '.join(MEANINGS)}")
    account = authenticate(store, username, password, now=now)
    if account.temporary:
        raise AuthError(f"'{account.username}' has a temporary password, set by an admin; it cannot sign until its "
                        f"owner sets their own", fix="sign in and set your own password (web: 'Change my password')")
    if not may_sign(account, meaning):
        allowed = SIGN_MEANINGS.get(account.role, ())
        what = f"signs only as {', '.join(allowed)}" if allowed else "may not sign"
        raise AuthError(f"'{account.username}' is a {account.role}, who {what}; not '{meaning}'",
                        fix="have a physicist, RSO or admin sign it, or ask an admin for another role")
    return store.sign(run_id, meaning, account.full_name, account=account.username)


def account_for_change(store: Store, username: str | None, password: str | None, *, name: str = "") -> str:
    """Who a change made outside the web (a correction) is recorded as: in a store with accounts, the account whose
    password this is and whose role may act (its username); in one without, `name` as typed (as signatures)."""
    if username is None:
        if _has_accounts(store):
            raise AuthError("this record store has accounts, so a correction must name one and be made with its "
                            "password", fix="give --user USERNAME (the password is asked)")
        return name
    account = authenticate(store, username, password or "")
    if account.temporary:
        raise AuthError(f"'{account.username}' has a temporary password, set by an admin; its owner must set their "
                        f"own first", fix="sign in on the web and set your own password")
    if not can(account, "act"):
        raise AuthError(f"'{account.username}' is a {account.role}, who may not correct records",
                        fix="have a technician, physicist, RSO or admin make the correction")
    return account.username


def account_problems(store: Store) -> list[tuple[int | None, str]]:
    """How the accounts and credentials tables disagree with the account entries (`xcal verify`): each problem
    with the seq of the entry it concerns (None for a row no entry accounts for)."""
    found: list[tuple[int | None, str]] = []
    states: dict[str, _State] = {}
    last: dict[str, Entry] = {}
    password: dict[str, Entry] = {}
    for entry in store.entries_of_kind(ACCOUNT_KINDS):
        try:
            name = str(entry.data().get("username", ""))
            states[name] = _after(states.get(name), entry)
        except RecordError as exc:
            found.append((entry.seq, exc.message))
            continue
        last[name] = entry
        if entry.kind in (ACCOUNT_CREATED, ACCOUNT_PASSWORD_SET):
            password[name] = entry
    rows = {str(r[0]): tuple(r) for r in store.select(f"SELECT {_COLUMNS} FROM accounts")}
    hashes = {str(r[0]): r[1] for r in store.select("SELECT username, hash FROM credentials")}
    for name, state in sorted(states.items()):
        row, a = rows.get(name), state.account
        recorded = (name, a.full_name, a.role, int(a.active), int(a.temporary), state.credential, state.seq)
        if row is None:
            found.append((state.seq, f"{last[name].label()}: its accounts row is missing"))
        for column, stored, value in zip(_COLUMNS.split(", "), row or recorded, recorded, strict=True):
            if stored != value or type(stored) is not type(value):
                found.append((state.seq, f"{last[name].label()}: stored accounts.{column} of '{name}' {stored!r} "
                                         f"differs from the recorded {value!r}"))
                break
        hashed = hashes.get(name)
        if hashed is None or _digest(str(hashed)) != state.credential:
            what = "is missing" if hashed is None else "is not the one this entry recorded"
            found.append((password[name].seq, f"{password[name].label()}: the stored password hash of '{name}' "
                                              f"{what}; the credentials table was changed outside xcal"))
    for table, names in (("accounts", rows), ("credentials", hashes)):
        found += [(None, f"{table} row '{name}' has no entry in the audit chain") for name in sorted(names)
                  if name not in states]
    return found

