"""A small demo history for the web tests, built in-process once per session (SQLite; each module works on its own
copy, see copy_demo_store) and once for the PostgreSQL module: room 4's generator runs 7 % high above 100 kV, so
its kvp-accuracy FAILs at 120 kV (worked in tests/program/test_actions.py: the limit there is ±6 kV and the reading
about +7 to +8 kV) and opens CA-1; room 3's kvp-accuracy passes. Four accounts, one per role in use."""

from __future__ import annotations

import re
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

PASSWORDS = {"ada": "admin-password-1", "pat": "physicist-pass-1", "tom": "technician-pass-1",
             "vic": "viewer-password-1"}
NAMES = {"ada": ("Ada Admin", "admin"), "pat": ("Pat Physicist", "physicist"), "tom": ("Tom Technician", "technician"),
         "vic": ("Vic Viewer", "viewer")}


@dataclass(frozen=True)
class DemoStore:
    db: str
    site: Any
    failed_run: str
    passed_run: str
    spare_run: str


def build_demo_store(folder: Path, db: str | None = None) -> DemoStore:
    """Runs recorded through the API (as `xcal run` records them) and the accounts, in the store at `db` (default: a
    SQLite file under `folder`, where the site key goes too)."""
    import xcal
    from xcal.records.accounts import add_account
    from xcal.records.store import Store

    db = db or str(folder / "records.sqlite3")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XCAL_SITE_KEY", str(folder / "site-key.pem"))
        mp.setenv("XCAL_DB", db)
        mp.delenv("XCAL_SITE", raising=False)
        site = xcal.load_site(db=db)
        failed = site.room("4").session(operator="tom").run("kvp-accuracy")
        passed = site.room("3").session(operator="tom").run("kvp-accuracy")
        spare = site.room("3").session(operator="tom").run("kvp-accuracy")
        with Store(db) as store:
            for username in ("ada", "pat", "tom", "vic"):
                full, role = NAMES[username]
                add_account(store, username, full, role, PASSWORDS[username], by="setup")
    assert failed.verdict == "FAIL" and passed.verdict == "PASS" and spare.verdict == "PASS"
    return DemoStore(db, site.model, failed.run_id, passed.run_id, spare.run_id)


def copy_demo_store(demo: DemoStore, folder: Path) -> DemoStore:
    """The SQLite demo store copied into `folder` (SQLite's backup: a whole, consistent copy), with its site key: the
    same runs, accounts and chain for a module to change, without running the procedures again."""
    source = Path(demo.db)
    db = folder / source.name
    with closing(sqlite3.connect(source)) as old, closing(sqlite3.connect(db)) as new:
        old.backup(new)
    key = source.parent / "site-key.pem"
    if key.exists():
        shutil.copy(key, folder / key.name)
    return replace(demo, db=str(db))


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def signed_in(app: Any, username: str) -> Any:
    """A TestClient of `app` signed in as `username`, through the sign-in form."""
    from starlette.testclient import TestClient

    client = TestClient(app, base_url="http://127.0.0.1")
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"csrf": token, "username": username, "password": PASSWORDS[username],
                                         "next": "/"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def entries_after(db: str, seq: int) -> list[Any]:
    """The chain's entries after entry `seq`."""
    from xcal.records.store import Store

    with Store(db) as store:
        return [e for e in store.entries() if e.seq > seq]


def head(db: str) -> int:
    from xcal.records.store import Store

    with Store(db) as store:
        return max((e.seq for e in store.entries()), default=0)
