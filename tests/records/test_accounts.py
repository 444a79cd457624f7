"""Accounts, roles and signatures made with a password: hashes never leave the credentials table, roles grant what
the module's table says, sign-in locks after five failures in fifteen minutes, and a signature names its account.

Most tests hash with cheap Argon2id parameters (`fast_hashing`) to stay quick; the parameters a store really gets
are checked once against RFC 9106's recommendation, which argon2-cffi takes as its default.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from xcal.errors import AuthError, ConfigError, RecordError
from xcal.records import accounts
from xcal.records.accounts import (
    Account,
    add_account,
    authenticate,
    can,
    disable_account,
    enable_account,
    get_account,
    list_accounts,
    locked_until,
    set_password,
    set_role,
    sign_run,
)
from xcal.records.anchor import site_key
from xcal.records.export import export_runs
from xcal.records.store import Store

from .factory import raw

ADMIN_PW = "correct horse battery"
BOB_PW = "tr0ub4dor&3 staple"
REAL_HASHER = accounts._hasher


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    monkeypatch.setattr(accounts, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def staff(store):
    """A store with an admin (ann) and a physicist (bob)."""
    add_account(store, "ann", "Ann Admin", "admin", ADMIN_PW, by="setup")
    add_account(store, "bob", "Bob Physicist", "physicist", BOB_PW, by="ann")
    return store


def _entries(store, kind: str) -> list[dict]:
    return [e.data() for e in store.entries() if e.kind == kind]


def _attempts(db, username: str) -> list[str]:
    return [r[0] for r in raw(db, "SELECT outcome FROM login_attempts WHERE username = ? ORDER BY epoch", (username,))]


# Hashing

def test_a_store_keeps_an_argon2id_hash_with_rfc_9106s_parameters_and_never_the_password(tmp_path, monkeypatch):
    # RFC 9106 §4, second recommended option: Argon2id, t=3 passes, p=4 lanes, m=2^16 KiB, 128-bit salt, 256-bit tag.
    monkeypatch.setattr(accounts, "_hasher", REAL_HASHER)
    path = tmp_path / "r.sqlite3"
    with Store(path) as store:
        add_account(store, "ann", "Ann Admin", "admin", ADMIN_PW, by="setup")
        assert authenticate(store, "ann", ADMIN_PW).username == "ann"
    [(stored,)] = raw(path, "SELECT hash FROM credentials WHERE username = 'ann'")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    _, _, _, _, salt, tag = stored.split("$")
    assert (len(salt), len(tag)) == (22, 43)                      # base64 without padding of 16 and 32 bytes
    assert PasswordHasher().verify(stored, ADMIN_PW)
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("r.sqlite3"))
    assert ADMIN_PW.encode() not in written
    [created] = [json.loads(p) for (p,) in raw(path, "SELECT payload FROM entries WHERE kind = 'account_created'")]
    assert created["credential"] == hashlib.sha256(stored.encode()).hexdigest()
    assert stored not in json.dumps(created) and ADMIN_PW not in json.dumps(created)


def test_a_hash_made_with_older_parameters_is_rehashed_at_sign_in(store, monkeypatch):
    add_account(store, "ann", "Ann Admin", "admin", ADMIN_PW, by="setup")
    monkeypatch.setattr(accounts, "_hasher", REAL_HASHER)
    authenticate(store, "ann", ADMIN_PW)
    [(stored,)] = list(store.select("SELECT hash FROM credentials WHERE username = 'ann'"))
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    [rehashed] = _entries(store, "account_password_set")
    assert rehashed["by"] == "xcal (automatic)"
    assert rehashed["credential"] == hashlib.sha256(stored.encode()).hexdigest()
    assert authenticate(store, "ann", ADMIN_PW).role == "admin" and store.verify().ok


def test_a_hash_swapped_into_the_credentials_table_is_refused(db, staff):
    [(ann_hash,)] = raw(db, "SELECT hash FROM credentials WHERE username = 'ann'")
    raw(db, "UPDATE credentials SET hash = ? WHERE username = 'bob'", (ann_hash,))
    with pytest.raises(RecordError) as refused:
        authenticate(staff, "bob", ADMIN_PW)
    assert "the credentials table was changed outside xcal" in refused.value.message


def test_a_hash_swapped_into_the_credentials_table_is_named_by_verify(db, staff):
    [(ann_hash,)] = raw(db, "SELECT hash FROM credentials WHERE username = 'ann'")
    raw(db, "UPDATE credentials SET hash = ? WHERE username = 'bob'", (ann_hash,))
    [(seq,)] = raw(db, "SELECT seq FROM entries WHERE kind = 'account_created' AND payload LIKE ?",
                   ('%"username":"bob"%',))
    report = staff.verify()
    assert not report.ok and report.first_broken == seq
    assert report.reason == (f"entry {seq} (account bob created by ann): the stored password hash of 'bob' is not "
                             f"the one this entry recorded; the credentials table was changed outside xcal")


def test_sign_in_attempts_older_than_the_lockout_window_go_when_a_new_one_is_recorded(db, staff):
    start = time.time() + 60
    with pytest.raises(AuthError):
        authenticate(staff, "bob", "not the password", now=start)
    # kept WINDOW + LOCKOUT = 900 s + 900 s = 1800 s: still there at start + 1800 s, gone at start + 1801 s
    authenticate(staff, "ann", ADMIN_PW, now=start + 1800)
    assert _attempts(db, "bob") == ["failed"]
    authenticate(staff, "ann", ADMIN_PW, now=start + 1801)
    assert _attempts(db, "bob") == [] and _attempts(db, "ann") == ["ok", "ok"]


# The accounts table: each account as its entries leave it

def test_the_accounts_row_follows_each_entry_of_its_account(db, staff):
    set_role(staff, "bob", "rso", by="ann")
    disable_account(staff, "bob", by="ann")
    set_password(staff, "bob", "a new password 2", by="ann")
    [(hashed,)] = raw(db, "SELECT hash FROM credentials WHERE username = 'bob'")
    [(last,)] = raw(db, "SELECT MAX(seq) FROM entries")
    assert raw(db, "SELECT full_name, role, active, credential, seq FROM accounts WHERE username = 'bob'") == [
        ("Bob Physicist", "rso", 0, hashlib.sha256(hashed.encode()).hexdigest(), last)]
    assert get_account(staff, "BOB ") == Account("bob", "Bob Physicist", "rso", False)
    assert [a.username for a in list_accounts(staff)] == ["ann", "bob"] and staff.verify().ok


def test_an_accounts_row_edited_behind_the_store_is_named_by_verify(db, staff):
    [(seq,)] = raw(db, "SELECT seq FROM accounts WHERE username = 'bob'")
    raw(db, "UPDATE accounts SET role = 'admin' WHERE username = 'bob'")
    assert get_account(staff, "bob").role == "admin"            # the look-up trusts the row; verify does not
    report = staff.verify()
    assert not report.ok and report.first_broken == seq
    assert report.reason == (f"entry {seq} (account bob created by ann): stored accounts.role of 'bob' 'admin' "
                             f"differs from the recorded 'physicist'")


def test_an_accounts_row_removed_or_added_behind_the_store_is_named_by_verify(db, staff):
    raw(db, "INSERT INTO accounts VALUES ('eve', 'Eve Intruder', 'admin', 1, 0, 'x', 1)")
    report = staff.verify()
    assert not report.ok and report.first_broken is None
    assert report.reason == "accounts row 'eve' has no entry in the audit chain"
    [(seq,)] = raw(db, "SELECT seq FROM accounts WHERE username = 'ann'")
    raw(db, "DELETE FROM accounts WHERE username = 'ann'")
    report = staff.verify()
    assert not report.ok and report.first_broken == seq
    assert report.reason == f"entry {seq} (account ann created by setup): its accounts row is missing"


# Rules for accounts

def test_passwords_need_ten_characters_and_not_the_username(store):
    with pytest.raises(ConfigError) as short:
        add_account(store, "ann", "Ann Admin", "admin", "123456789", by="setup")
    assert short.value.message == "the password for 'ann' is 9 characters long; it needs at least 10"
    with pytest.raises(ConfigError, match="is the username"):
        add_account(store, "annabelle1", "Ann Admin", "admin", "AnnaBelle1", by="setup")
    assert add_account(store, "ann", "Ann Admin", "admin", "1234567890", by="setup").active


def test_a_username_is_never_reused_even_after_its_account_is_disabled(staff):
    assert [(a.username, a.role) for a in list_accounts(staff)] == [("ann", "admin"), ("bob", "physicist")]
    disable_account(staff, "bob", by="ann")
    with pytest.raises(ConfigError, match="'bob' is already taken .* never given to anyone else"):
        add_account(staff, "Bob", "Robert Other", "technician", "another password", by="ann")


def test_a_store_without_accounts_refuses_a_first_account_that_is_not_an_admin(store):
    with pytest.raises(ConfigError) as refused:
        add_account(store, "bob", "Bob Physicist", "physicist", BOB_PW, by="setup")
    assert refused.value.message.startswith("the first account of a store must be an admin, not a physicist")
    assert list_accounts(store) == []
    with pytest.raises(AuthError) as nobody:
        authenticate(store, "bob", BOB_PW)
    assert nobody.value.message == "this record store has no accounts yet" and "--role admin" in nobody.value.fix


def test_the_last_active_admin_cannot_be_disabled_or_demoted(staff):
    with pytest.raises(ConfigError, match="last active admin"):
        disable_account(staff, "ann", by="ann")
    with pytest.raises(ConfigError, match="last active admin"):
        set_role(staff, "ann", "physicist", by="ann")
    set_role(staff, "bob", "admin", by="ann")
    assert set_role(staff, "ann", "rso", by="bob") == Account("ann", "Ann Admin", "rso", True)
    changes = _entries(staff, "account_role_changed")
    assert [(c["username"], c["from"], c["role"], c["by"]) for c in changes] == [("bob", "physicist", "admin", "ann"),
                                                                                ("ann", "admin", "rso", "bob")]


# Roles

@pytest.mark.parametrize("role, allowed", [
    ("viewer", {"view"}),
    ("technician", {"view", "act", "sign"}),
    ("physicist", {"view", "act", "sign"}),
    ("rso", {"view", "act", "sign"}),
    ("admin", {"view", "act", "sign", "admin"}),
])
def test_each_role_grants_what_the_table_says_and_a_disabled_account_nothing(role, allowed):
    account = Account("x", "X", role, True)
    assert {p for p in ("view", "act", "sign", "admin") if can(account, p)} == allowed
    assert not any(can(Account("x", "X", role, False), p) for p in ("view", "act", "sign", "admin"))


def test_an_unknown_permission_is_an_error_not_a_no():
    with pytest.raises(ConfigError, match="'delete' is not a permission"):
        can(Account("x", "X", "admin", True), "delete")


# Signing in

def test_a_disabled_account_cannot_sign_in_even_with_its_password_until_enabled(db, staff):
    disable_account(staff, "bob", by="ann")
    with pytest.raises(AuthError, match="account 'bob' is disabled"):
        authenticate(staff, "bob", BOB_PW)
    enable_account(staff, "bob", by="ann")
    assert authenticate(staff, "BOB ", BOB_PW) == Account("bob", "Bob Physicist", "physicist", True)
    assert _attempts(db, "bob") == ["disabled", "ok"]


def test_a_wrong_password_and_an_unknown_username_get_the_same_answer(staff):
    with pytest.raises(AuthError) as wrong:
        authenticate(staff, "bob", ADMIN_PW)
    with pytest.raises(AuthError) as unknown:
        authenticate(staff, "nobody", ADMIN_PW)
    assert wrong.value.message == unknown.value.message == "wrong username or password"


def test_five_failures_in_fifteen_minutes_lock_sign_in_for_fifteen_minutes_even_with_the_right_password(db, staff):
    start = time.time() + 60          # after any attempt made on the real clock
    for k in range(4):
        with pytest.raises(AuthError) as wrong:
            authenticate(staff, "bob", "not the password", now=start + 60 * k)
        assert wrong.value.message == "wrong username or password"
    with pytest.raises(AuthError) as fifth:
        authenticate(staff, "bob", "not the password", now=start + 240)
    # locked from the fifth failure (start + 240 s) for 900 s: until start + 1140 s
    until = accounts._iso(start + 1140)
    assert f"sign-in for 'bob' is locked until {until} (UTC)" in fifth.value.message
    with pytest.raises(AuthError) as refused:
        authenticate(staff, "bob", BOB_PW, now=start + 1139)
    assert refused.value.message.startswith(f"sign-in for 'bob' is locked until {until} (UTC) after 5 failed")
    assert authenticate(staff, "bob", BOB_PW, now=start + 1141).username == "bob"
    assert _attempts(db, "bob") == ["failed"] * 5 + ["locked", "ok"]
    [locked] = _entries(staff, "account_locked")
    assert (locked["username"], locked["until"], locked["by"]) == ("bob", until, "xcal (automatic)")
    assert authenticate(staff, "ann", ADMIN_PW, now=start + 300).username == "ann"      # another username is free
    assert all(BOB_PW not in str(row) for row in raw(db, "SELECT * FROM login_attempts"))


@pytest.mark.parametrize("failures, now, expected", [
    ([0, 300, 600, 899.5, 900], 901, 1800),      # five within 900 s: locked 900 s from the fifth
    ([0, 300, 600, 900, 900.5], 901, None),      # first to fifth 900.5 s apart: not within fifteen minutes
    ([0, 1, 2, 3, 4], 904, None),                # locked until 904: over at 904
    ([0, 1, 2, 3, 4, 903, 904, 905, 906], 907, None),   # after the lock, old failures no longer count
])
def test_the_lock_is_counted_from_the_fifth_failure_within_the_window(failures, now, expected):
    assert locked_until([(t, "failed") for t in failures], now) == expected


def test_a_new_password_ends_a_lockout(db, staff):
    past = time.time() - 100                      # five failures a minute and a half ago, on the real clock
    for k in range(5):
        with pytest.raises(AuthError):
            authenticate(staff, "bob", "not the password", now=past + k)
    with pytest.raises(AuthError, match="is locked until"):
        authenticate(staff, "bob", BOB_PW)
    set_password(staff, "bob", "a fresh password", by="ann")
    assert authenticate(staff, "bob", "a fresh password").username == "bob"
    assert _attempts(db, "bob") == ["failed"] * 5 + ["locked", "password set", "ok"]


def test_a_successful_sign_in_clears_earlier_failures():
    attempts = [(0.0, "failed"), (1.0, "failed"), (2.0, "failed"), (3.0, "failed"), (4.0, "ok"), (5.0, "failed")]
    assert locked_until(attempts, 6.0) is None
    assert locked_until(attempts[:4] + [(5.0, "failed")], 6.0) == 905.0


# Signatures

def test_a_signature_names_the_account_and_its_printed_name_and_needs_the_password(db, staff, make_run):
    make_run("R1")
    before = len(list(staff.entries()))
    with pytest.raises(AuthError, match="wrong username or password"):
        sign_run(staff, "R1", "reviewed", "bob", ADMIN_PW)
    assert len(list(staff.entries())) == before and staff.signatures("R1") == []
    signed = sign_run(staff, "R1", "reviewed", "bob", BOB_PW)
    assert (signed.name, signed.account, signed.meaning) == ("Bob Physicist", "bob", "reviewed")
    [status] = staff.signatures("R1")
    assert (status.name, status.account, status.meaning, status.at, status.valid) == \
        ("Bob Physicist", "bob", "reviewed", signed.at, True)
    staff.correct_reading("R1", 2, 80.0, "kV", "display misread", "Bob Physicist")
    [after] = staff.signatures("R1")
    assert not after.valid and after.reason.startswith("the run changed after signing: entry ")
    assert staff.verify(public=site_key().public).ok


def test_the_csv_export_names_the_signers_account(staff, make_run, tmp_path):
    make_run("R1")
    signed = sign_run(staff, "R1", "reviewed", "bob", BOB_PW)
    runs_csv, _ = export_runs(staff, tmp_path / "audit.csv")
    with runs_csv.open(newline="", encoding="utf-8") as f:
        [row] = list(csv.DictReader(f))
    assert row["signatures"] == f"reviewed by Bob Physicist (account bob) at {signed.at} (valid)"


def test_roles_limit_the_meanings_a_signer_may_give(staff, make_run):
    make_run("R1")
    add_account(staff, "tom", "Tom Technician", "technician", "tech password 1", by="ann")
    add_account(staff, "vic", "Vic Viewer", "viewer", "viewer password", by="ann")
    with pytest.raises(AuthError, match="'tom' is a technician, who signs only as performed; not 'reviewed'"):
        sign_run(staff, "R1", "reviewed", "tom", "tech password 1")
    with pytest.raises(AuthError, match="'vic' is a viewer, who may not sign"):
        sign_run(staff, "R1", "performed", "vic", "viewer password")
    assert sign_run(staff, "R1", "performed", "tom", "tech password 1").account == "tom"
    assert sign_run(staff, "R1", "approved", "ann", ADMIN_PW).name == "Ann Admin"
    assert [(s.account, s.meaning) for s in staff.signatures("R1")] == [("tom", "performed"), ("ann", "approved")]


def test_once_a_store_has_accounts_a_name_as_typed_no_longer_signs(store, make_run):
    make_run("R1")
    legacy = store.sign("R1", "performed", "A. Tech")
    assert legacy.account == "" and store.signatures("R1")[0].account == ""
    add_account(store, "ann", "Ann Admin", "admin", ADMIN_PW, by="setup")
    with pytest.raises(AuthError, match="this record store has accounts, so a signature must name one"):
        store.sign("R1", "reviewed", "A. Tech")
    assert [s.valid for s in store.signatures("R1")] == [True]


def test_the_site_key_seal_covers_the_account(db, staff, make_run):
    make_run("R1")
    signed = sign_run(staff, "R1", "reviewed", "bob", BOB_PW)
    payload = json.loads(raw(db, "SELECT payload FROM entries WHERE seq = ?", (signed.seq,))[0][0])
    payload["account"] = "ann"
    raw(db, "UPDATE entries SET payload = ? WHERE seq = ?",
        (json.dumps(payload, sort_keys=True, separators=(",", ":")), signed.seq))
    prev = "0" * 64
    for seq, at, kind, run_id, text in raw(db, "SELECT seq, at, kind, run_id, payload FROM entries ORDER BY seq"):
        digest = hashlib.sha256((prev + kind + run_id + text + at).encode()).hexdigest()
        raw(db, "UPDATE entries SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq))
        prev = digest
    assert staff.verify().ok                                   # the chain alone was rewritten consistently
    report = staff.verify(public=site_key().public)
    assert not report.ok and report.first_broken == signed.seq
    assert "its site-key seal does not hold" in report.reason


# The record of accounts

def test_verify_names_an_edited_account_event(db, staff):
    [(seq, payload)] = raw(db, "SELECT seq, payload FROM entries WHERE kind = 'account_created' AND payload LIKE ?",
                           ('%"username":"bob"%',))
    raw(db, "UPDATE entries SET payload = ? WHERE seq = ?", (payload.replace('"physicist"', '"admin"'), seq))
    report = staff.verify()
    assert not report.ok and report.first_broken == seq
    assert report.reason == (f"entry {seq} (account bob created by ann): its hash does not match its content; the "
                             f"entry was edited after it was written")


def test_account_events_name_who_made_them_and_never_a_password(staff):
    set_password(staff, "bob", "a new password 2", by="bob")
    disable_account(staff, "bob", by="ann")
    kinds = [(e.kind, e.data()["username"], e.data()["by"]) for e in staff.entries()
             if e.kind.startswith("account_")]
    assert kinds == [("account_created", "ann", "setup"), ("account_created", "bob", "ann"),
                     ("account_password_set", "bob", "bob"), ("account_disabled", "bob", "ann")]
    created = _entries(staff, "account_created")[1]
    assert (created["full_name"], created["role"]) == ("Bob Physicist", "physicist")
    text = " ".join(e.payload for e in staff.entries())
    assert "a new password 2" not in text and BOB_PW not in text and "$argon2" not in text
    assert get_account(staff, "bob") == Account("bob", "Bob Physicist", "physicist", False)


# Schema

def test_a_version_4_store_gains_the_account_tables_when_opened(tmp_path):
    path = tmp_path / "v4.sqlite3"
    Store(path).close()
    con = sqlite3.connect(path)
    con.execute("DROP TABLE credentials")
    con.execute("DROP TABLE login_attempts")
    con.execute("DROP TABLE accounts")
    con.execute("DROP TABLE sessions")
    con.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with Store(path) as store:                                  # no name asked: the step changes no record
        assert store.upgraded_from == [4, 5]
        upgraded = _entries(store, "schema_upgraded")
        assert [(u["from"], u["to"]) for u in upgraded] == [(4, 5), (5, 6)]
        add_account(store, "ann", "Ann Admin", "admin", ADMIN_PW, by="setup")
        assert authenticate(store, "ann", ADMIN_PW).role == "admin" and store.verify().ok
    assert raw(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("6",)]
    assert {"accounts", "credentials", "login_attempts"} <= {r[0] for r in raw(Path(path),
                                                                              "SELECT name FROM sqlite_master")}


# Concurrent guesses, temporary passwords, session generations

def test_twelve_concurrent_wrong_passwords_get_at_most_five_password_checks(db, staff, monkeypatch):
    # Each check is slowed to 0.3 s so that all twelve attempts overlap: a lockout read before the check and a
    # failure written after it would let all twelve be checked; pending attempts counted as failures let five.
    import threading

    checked: list[str] = []
    original = accounts._verify

    def slow(hashed, password):
        checked.append(password)
        time.sleep(0.3)
        return original(hashed, password)

    monkeypatch.setattr(accounts, "_verify", slow)
    start = threading.Barrier(12)
    outcomes: list[str] = []

    def guess(n: int) -> None:
        with Store(db) as own:
            start.wait()
            try:
                authenticate(own, "bob", f"guess number {n}")
            except AuthError as exc:
                outcomes.append("locked" if "is locked until" in exc.message and "wrong" not in exc.message
                                else "wrong")

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(checked) == 5 and sorted(outcomes) == ["locked"] * 7 + ["wrong"] * 5
    assert sorted(_attempts(db, "bob")) == ["failed"] * 5 + ["locked"] * 7
    assert len(_entries(staff, "account_locked")) == 1


def test_a_pending_attempt_counts_as_a_failure_until_decided():
    pending = [(float(t), accounts.PENDING) for t in range(5)]
    assert locked_until(pending, 10.0) == 4.0 + accounts.LOCKOUT
    assert locked_until(pending[:4] + [(4.0, "ok")], 10.0) is None


def test_a_name_that_cannot_be_a_username_is_refused_before_anything_is_recorded(db, staff):
    for name in ("b" * 65, "bob smith", "<script>"):
        with pytest.raises(AuthError, match="not a username"):
            authenticate(staff, name, BOB_PW)
    assert raw(db, "SELECT COUNT(*) FROM login_attempts") == [(0,)]


def test_a_password_set_by_an_admin_is_temporary_until_its_owner_sets_their_own(db, staff, make_run):
    from xcal.records.accounts import change_own_password

    run_id = make_run("R1")
    set_password(staff, "bob", "reset by ann 1", by="ann", temporary=True)
    assert get_account(staff, "bob").temporary is True
    assert _entries(staff, "account_password_set")[-1] == {**_entries(staff, "account_password_set")[-1],
                                                           "by": "ann", "temporary": True}
    with pytest.raises(AuthError, match="temporary password"):
        sign_run(staff, run_id, "reviewed", "bob", "reset by ann 1")
    assert staff.signatures(run_id) == []
    with pytest.raises(AuthError, match="wrong username or password"):
        change_own_password(staff, "bob", "not the old one", "bobs own choice")
    with pytest.raises(ConfigError, match="is the old one"):
        change_own_password(staff, "bob", "reset by ann 1", "reset by ann 1")
    assert change_own_password(staff, "bob", "reset by ann 1", "bobs own choice").temporary is False
    assert get_account(staff, "bob").temporary is False and staff.verify().ok
    assert sign_run(staff, run_id, "reviewed", "bob", "bobs own choice").account == "bob"


def test_a_temporary_flag_cleared_behind_the_store_is_named_by_verify(db, staff):
    set_password(staff, "bob", "reset by ann 1", by="ann", temporary=True)
    raw(db, "UPDATE accounts SET temporary = 0 WHERE username = 'bob'")
    report = staff.verify()
    assert not report.ok and "accounts.temporary of 'bob' 0 differs from the recorded 1" in report.reason


def test_the_session_generation_moves_on_at_sign_out_new_password_disable_and_role_change(staff):
    from xcal.records.accounts import end_sessions, session_generation

    assert session_generation(staff, "bob") == 0
    end_sessions(staff, "bob")
    assert session_generation(staff, "bob") == 1
    set_password(staff, "bob", "another pass 1", by="bob")
    assert session_generation(staff, "bob") == 2
    set_role(staff, "bob", "rso", by="ann")
    assert session_generation(staff, "bob") == 3
    disable_account(staff, "bob", by="ann")
    assert session_generation(staff, "bob") == 4
    enable_account(staff, "bob", by="ann")
    assert (session_generation(staff, "bob"), session_generation(staff, "ann")) == (4, 0)
