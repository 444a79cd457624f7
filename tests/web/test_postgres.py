"""The web application over a PostgreSQL store: the same pages and writes as on SQLite, because every page goes
through the Store. Needs XCAL_TEST_PG (a database URL; `.ci/run` starts a server and sets it); skipped without."""

from __future__ import annotations

import os
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from .fixtures import PASSWORDS, build_demo_store, csrf_of, entries_after, head, signed_in

SERVER = os.environ.get("XCAL_TEST_PG", "").strip()
pytestmark = pytest.mark.skipif(not SERVER, reason="PostgreSQL store not tested: set XCAL_TEST_PG=postgresql://... "
                                                   "to run")


def _in_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["options"] = (query.get("options", "") + f" -csearch_path={schema}").strip()
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import psycopg

    schema = f"xcal_web_{secrets.token_hex(6)}"
    with psycopg.connect(SERVER, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    try:
        yield build_demo_store(tmp_path_factory.mktemp("web-pg"), _in_schema(SERVER, schema))
    finally:
        with psycopg.connect(SERVER, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")


def test_the_pages_and_a_signature_on_a_postgresql_store(demo):
    from xcal.records.store import Store
    from xcal.web import create_app

    app = create_app(demo.site, demo.db)
    client = signed_in(app, "pat")
    overview = client.get("/").text
    assert 'class="room room-failed" id="room-4"' in overview and demo.failed_run in overview
    for path in ("/rooms/4", f"/runs/{demo.failed_run}", "/actions/CA-1", "/kpis", "/audit"):
        assert client.get(path).status_code == 200, path
    before = head(demo.db)
    token = csrf_of(client.get("/actions").text)
    answer = client.post(f"/runs/{demo.failed_run}/sign", data={"csrf": token, "meaning": "approved", "username": "pat",
                                                                "password": PASSWORDS["pat"]}, follow_redirects=False)
    assert answer.status_code == 303
    (entry,) = entries_after(demo.db, before)
    assert (entry.kind, entry.data()["account"]) == ("signature", "pat")
    with Store(demo.db) as store:
        assert [(s.name, s.meaning, s.valid) for s in store.signatures(demo.failed_run)] == \
            [("Pat Physicist", "approved", True)]
