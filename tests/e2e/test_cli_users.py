"""`xcal users` and `xcal sign --user`: accounts made on the command line, passwords asked hidden or read from stdin,
and a signature that names its account and is refused with a wrong password, exit 2, nothing written."""

from __future__ import annotations

import json
import subprocess

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from xcal.cli import main
from xcal.records import accounts
from xcal.records.store import RunHeader, Store, StoredReading

pytestmark = pytest.mark.e2e

ANN_PW = "correct horse battery"
BOB_PW = "tr0ub4dor&3 staple"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    """Cheap Argon2id parameters in this process (tests/records/test_accounts.py checks the real ones); an
    installed `xcal` started here uses the defaults and rehashes at its first sign-in."""
    monkeypatch.setattr(accounts, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _xcal(db, *args: str, stdin: str = ""):
    return CliRunner().invoke(main, ["--db", str(db), *args], input=stdin, terminal_width=200)


def _staff(db) -> None:
    for args, password in ((("ann", "--name", "Ann Admin", "--role", "admin", "--by", "setup"), ANN_PW),
                           (("bob", "--name", "Bob Physicist", "--role", "physicist", "--by", "ann"), BOB_PW)):
        made = _xcal(db, "users", "add", *args, "--password-stdin", stdin=password + "\n")
        assert made.exit_code == 0, made.output


def test_users_add_list_disable_and_passwd_with_json(tmp_path):
    db = tmp_path / "r.sqlite3"
    first = _xcal(db, "users", "add", "bob", "--name", "Bob Physicist", "--role", "physicist", "--password-stdin",
                  stdin=BOB_PW + "\n")
    assert first.exit_code == 2 and "the first account of a store must be an admin" in first.output
    short = _xcal(db, "users", "add", "ann", "--name", "Ann Admin", "--role", "admin", "--password-stdin",
                  stdin="too short\n")
    assert short.exit_code == 2 and "is 9 characters long; it needs at least 10" in short.output
    made = _xcal(db, "users", "add", "ann", "--name", "Ann Admin", "--role", "admin", "--password-stdin", "--json",
                 stdin=ANN_PW + "\n")
    assert made.exit_code == 0, made.output
    assert json.loads(made.output) == {"username": "ann", "full_name": "Ann Admin", "role": "admin", "active": True,
                                       "permissions": ["view", "act", "sign", "admin"], "temporary_password": False}
    _xcal(db, "users", "add", "bob", "--name", "Bob Physicist", "--role", "physicist", "--password-stdin",
          stdin=BOB_PW + "\n")
    disabled = _xcal(db, "users", "disable", "bob", "--by", "ann", "--json")
    assert disabled.exit_code == 0 and json.loads(disabled.output)["active"] is False
    listed = _xcal(db, "users", "list", "--json")
    assert [(a["username"], a["role"], a["active"]) for a in json.loads(listed.output)] == \
        [("ann", "admin", True), ("bob", "physicist", False)]
    changed = _xcal(db, "users", "passwd", "ann", "--password-stdin", "--by", "ann", stdin="a brand new one\n")
    assert changed.exit_code == 0 and "password of ann set" in changed.output
    with Store(db) as store:
        kinds = [(e.kind, e.data().get("by")) for e in store.entries() if e.kind.startswith("account_")]
        assert kinds == [("account_created", _os_user()), ("account_created", _os_user()),
                         ("account_disabled", "ann"), ("account_password_set", "ann")]
        assert store.verify().ok


def _os_user() -> str:
    import getpass

    return getpass.getuser()


def test_a_password_prompt_hides_the_password_and_asks_twice(tmp_path):
    db = tmp_path / "r.sqlite3"
    made = _xcal(db, "users", "add", "ann", "--name", "Ann Admin", "--role", "admin", stdin=f"{ANN_PW}\n{ANN_PW}\n")
    assert made.exit_code == 0, made.output
    assert made.output.count("Password") == 1 and "Repeat for confirmation" in made.output
    assert ANN_PW not in made.output


def test_sign_with_an_account_needs_its_password_and_names_it(tmp_path, xcal_exe):
    db = tmp_path / "r.sqlite3"
    with Store(db) as store:
        run_id = store.create_run(RunHeader(
            procedure_id="kvp-accuracy", procedure_version="1.0.0", procedure_sha256="ab" * 32,
            procedure_title="kVp accuracy", site="Test site", room_id="3", room_name="Rad 3", operator="t.tech",
            simulated=True, software_version="0.1.0", snapshot={}))
        store.add_reading(run_id, StoredReading(exposure=1, station=1, repeat=1, role="kvp_meter",
                                                instrument_id="kvp-1", quantity="kvp_ppv", value=80.4, unit="kV",
                                                taken_at="2026-11-26T09:01:00+00:00"))
        store.finish_run(run_id, "PASS", [])
    _staff(db)
    with Store(db) as store:
        before = len(list(store.entries()))
    wrong = _xcal(db, "sign", run_id, "--meaning", "reviewed", "--user", "bob", "--password-stdin",
                  stdin=ANN_PW + "\n")
    assert wrong.exit_code == 2 and "error: wrong username or password" in wrong.output
    closed = _xcal(db, "sign", run_id, "--meaning", "reviewed", "--user", "bob")          # stdin ends at once
    assert closed.exit_code == 2 and "error: no password was given" in closed.output
    typed = _xcal(db, "sign", run_id, "--meaning", "reviewed", "--name", "Bob Physicist")
    assert typed.exit_code == 2 and "this record store has accounts" in typed.output
    with Store(db) as store:
        assert len(list(store.entries())) == before
    signed = subprocess.run([xcal_exe, "--db", str(db), "sign", run_id, "--meaning", "reviewed", "--user", "bob",
                             "--password-stdin"], input=BOB_PW + "\n", capture_output=True, text=True, timeout=60)
    assert signed.returncode == 0, signed.stderr
    assert f"signed run {run_id}: reviewed by Bob Physicist (bob) at " in signed.stdout
    shown = _xcal(db, "show-run", run_id)
    assert "signed reviewed by Bob Physicist (bob) at " in shown.output and ": holds" in shown.output


def _one_run(db) -> str:
    with Store(db) as store:
        run_id = store.create_run(RunHeader(
            procedure_id="kvp-accuracy", procedure_version="1.0.0", procedure_sha256="ab" * 32,
            procedure_title="kVp accuracy", site="Test site", room_id="3", room_name="Rad 3", operator="t.tech",
            simulated=True, software_version="0.1.0", snapshot={}))
        store.add_reading(run_id, StoredReading(exposure=1, station=1, repeat=1, role="kvp_meter",
                                                instrument_id="kvp-1", quantity="kvp_ppv", value=80.4, unit="kV",
                                                taken_at="2026-11-26T09:01:00+00:00"))
        store.finish_run(run_id, "PASS", [])
    return run_id


def test_a_correction_in_a_store_with_accounts_needs_the_users_password_like_a_signature(tmp_path):
    db = tmp_path / "r.sqlite3"
    run_id = _one_run(db)
    _staff(db)
    with Store(db) as store:
        before = len(list(store.entries()))
    typed = _xcal(db, "correct", run_id, "1", "--value", "80.1 kV", "--reason", "misread", "--name", "Anyone")
    assert typed.exit_code == 2 and "this record store has accounts" in typed.output
    wrong = _xcal(db, "correct", run_id, "1", "--value", "80.1 kV", "--reason", "misread", "--user", "bob",
                  "--password-stdin", stdin=ANN_PW + "\n")
    assert wrong.exit_code == 2 and "wrong username or password" in wrong.output
    with Store(db) as store:
        assert len(list(store.entries())) == before
    done = _xcal(db, "correct", run_id, "1", "--value", "80.1 kV", "--reason", "misread", "--user", "bob",
                 "--password-stdin", stdin=BOB_PW + "\n")
    assert done.exit_code == 0, done.output
    with Store(db) as store:
        (entry,) = [e for e in store.entries() if e.kind == "correction"]
    assert entry.data()["person"] == "bob"


def test_a_password_set_by_someone_else_on_the_command_line_is_temporary(tmp_path):
    db = tmp_path / "r.sqlite3"
    run_id = _one_run(db)
    _staff(db)
    reset = _xcal(db, "users", "passwd", "bob", "--password-stdin", "--by", "ann", stdin="reset by ann 1\n")
    assert reset.exit_code == 0 and "temporary" in reset.output
    refused = _xcal(db, "sign", run_id, "--meaning", "reviewed", "--user", "bob", "--password-stdin",
                    stdin="reset by ann 1\n")
    assert refused.exit_code == 2 and "temporary password" in refused.output
    own = _xcal(db, "users", "passwd", "bob", "--password-stdin", "--by", "bob", stdin="bobs own choice\n")
    assert own.exit_code == 0 and "temporary" not in own.output
    signed = _xcal(db, "sign", run_id, "--meaning", "reviewed", "--user", "bob", "--password-stdin",
                   stdin="bobs own choice\n")
    assert signed.exit_code == 0, signed.output


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path, xcal_exe):
    db = tmp_path / "r.sqlite3"
    _staff(db)
    process = subprocess.Popen([xcal_exe, "--db", str(db), "users", "list", "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()                                  # as `| head -0` does, before xcal writes
    errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141 and errors == ""
