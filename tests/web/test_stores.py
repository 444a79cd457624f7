"""The web application's open stores (web/stores.py): a PostgreSQL store is reused between requests while it answers
with no transaction left open; one that stopped answering or kept a transaction, one whose request failed and every
SQLite store are closed, never handed out again."""

from __future__ import annotations

import os

import pytest

SERVER = os.environ.get("XCAL_TEST_PG", "").strip()


class FakeStore:
    """Stands in for records.store.Store: its backend, whether it still answers, and whether it was closed."""

    opened: list[FakeStore] = []

    def __init__(self, location):
        self.backend = "postgresql" if location.startswith("postgresql://") else "sqlite"
        self.answers, self.closed, self.in_transaction = True, False, False
        FakeStore.opened.append(self)

    def select(self, sql, params=()):
        if not self.answers:
            raise ConnectionError("server closed the connection")
        from xcal.records.schema import SCHEMA_VERSION

        return iter([(str(SCHEMA_VERSION), not self.in_transaction)])

    def close(self):
        self.closed = True


@pytest.fixture
def fake(monkeypatch):
    import xcal.records.store

    FakeStore.opened = []
    monkeypatch.setattr(xcal.records.store, "Store", FakeStore)
    return FakeStore.opened


def test_a_postgresql_store_is_reused_until_it_stops_answering(fake):
    from xcal.web.stores import StorePool

    pool = StorePool("postgresql://somewhere/db")
    with pool.store() as first:
        pass
    with pool.store() as again:
        assert again is first and not first.closed
    first.answers = False
    with pool.store() as fresh:
        assert fresh is not first
    assert first.closed and len(fake) == 2
    fresh.in_transaction = True                                # a transaction left open: its snapshot is old
    with pool.store() as third:
        assert third is not fresh
    assert fresh.closed and len(fake) == 3
    pool.close()
    assert third.closed


def test_a_store_whose_request_failed_is_closed_not_given_back(fake):
    from xcal.web.stores import StorePool

    pool = StorePool("postgresql://somewhere/db")
    with pytest.raises(RuntimeError), pool.store() as failed:
        raise RuntimeError("the page failed half way")
    assert failed.closed
    with pool.store() as next_one:
        assert next_one is not failed


def test_no_more_than_keep_stores_wait_and_a_sqlite_store_never_waits(fake):
    from xcal.web.stores import StorePool

    pool = StorePool("postgresql://somewhere/db", keep=1)
    with pool.store() as one, pool.store() as two:            # two requests at once: two stores
        assert one is not two
    assert [one.closed, two.closed] == [True, False]           # given back two, then one: one waits, one is closed
    sqlite = StorePool("records.sqlite3")
    with sqlite.store() as a:
        pass
    with sqlite.store() as b:
        assert b is not a
    assert a.closed


@pytest.mark.skipif(not SERVER, reason="PostgreSQL store not tested: set XCAL_TEST_PG=postgresql://... to run")
def test_a_connection_the_server_ended_is_replaced_on_the_next_request():
    import secrets

    import psycopg

    from xcal.web.stores import StorePool

    from .test_postgres import _in_schema

    schema = f"xcal_web_{secrets.token_hex(6)}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        _reused_then_replaced(StorePool(_in_schema(SERVER, schema)))
    finally:
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def _reused_then_replaced(pool):
    import psycopg

    with pool.store() as store:
        (pid,) = next(iter(store.select("SELECT pg_backend_pid()")))
    with pool.store() as store:
        assert next(iter(store.select("SELECT pg_backend_pid()")))[0] == pid     # the same connection, reused
    with psycopg.connect(SERVER, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0] is True
    with pool.store() as store:
        (other,) = next(iter(store.select("SELECT pg_backend_pid()")))
    assert other != pid
    with pool.store() as store:
        store._db.execute("BEGIN")                             # left open: the next request must not see its snapshot
    with pool.store() as store:
        assert next(iter(store.select("SELECT pg_backend_pid()")))[0] != other
    pool.close()
