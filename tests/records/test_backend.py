"""Where a store lives: one place tells a SQLite path from a PostgreSQL URL; errors name the store, never a password.

And what both backends must do alike: writers from several connections at once queue for the chain, so
every entry follows the one before it.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import sys
import threading
from itertools import pairwise
from pathlib import Path

import pytest

from xcal.errors import RecordError
from xcal.records.backend import INSTALL_FIX, display_location, is_url
from xcal.records.store import Store, default_location, default_path

from .factory import header, raw, reading


@pytest.mark.parametrize("location", ["postgresql://xcal@db.example/qc", "postgres://localhost/qc",
                                      "  postgresql:///qc?host=/var/run/postgresql", "POSTGRESQL://h/qc"])
def test_a_postgresql_url_is_a_database(location):
    assert is_url(location)


@pytest.mark.parametrize("location", ["records.sqlite3", "/var/lib/xcal/xcal.sqlite3", r"C:\xcal\records.sqlite3",
                                      "postgresql/records.sqlite3", "postgresql:records.sqlite3",
                                      Path("postgresql://x")])
def test_anything_else_is_a_sqlite_path(location):
    assert not is_url(location)


def test_a_url_of_another_database_is_refused_by_name():
    with pytest.raises(RecordError, match="'mysql://xcal@db/qc' is a mysql:// URL") as err:
        Store("mysql://xcal:pw@db/qc")
    assert "postgresql://" in err.value.fix and "pw" not in str(err.value)


@pytest.mark.parametrize("url, shown", [
    ("postgresql://xcal:s3cret@db.example:5433/qc?sslmode=require", "postgresql://xcal@db.example:5433/qc?sslmode=require"),
    ("postgresql://xcal@db.example/qc?password=s3cret&sslmode=require", "postgresql://xcal@db.example/qc?sslmode=require"),
    ("postgresql://xcal@/qc?host=/var/run/postgresql", "postgresql://xcal@/qc?host=/var/run/postgresql"),
    ("postgresql://db.example/qc", "postgresql://db.example/qc"),
    ("/data/records.sqlite3", "/data/records.sqlite3"),
])
def test_a_url_is_shown_without_its_password(url, shown):
    assert display_location(url) == shown


def test_xcal_db_may_name_a_database(monkeypatch):
    monkeypatch.setenv("XCAL_DB", "postgresql://xcal:s3cret@db.example/qc")
    assert default_location() == "postgresql://xcal:s3cret@db.example/qc"
    with pytest.raises(RecordError, match=r"PostgreSQL database \(postgresql://xcal@db.example/qc\), not a file"):
        default_path()


def test_a_missing_driver_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)            # what `import psycopg` meets when not installed
    with pytest.raises(RecordError) as err:
        Store("postgresql://xcal:s3cret@db.example/qc")
    assert err.value.message == ("the record store postgresql://xcal@db.example/qc is a PostgreSQL database, and "
                                 "the PostgreSQL driver (psycopg) is not installed")
    assert err.value.fix == INSTALL_FIX and "pip install 'xcal[postgres]'" in err.value.fix


def test_a_server_that_cannot_be_reached_is_named_without_the_password():
    pytest.importorskip("psycopg", reason="psycopg is not installed (the postgres extra)")
    with pytest.raises(RecordError) as err:
        Store("postgresql://xcal:s3cret@127.0.0.1:1/qc?connect_timeout=5")   # nothing listens on port 1
    text = str(err.value)
    assert err.value.message.startswith("cannot connect to the record store "
                                        "postgresql://xcal@127.0.0.1:1/qc?connect_timeout=5: ")
    assert "s3cret" not in text and "\n\t" not in err.value.message
    assert "PostgreSQL server of postgresql://xcal@127.0.0.1:1/qc" in err.value.fix and "running" in err.value.fix


def test_writers_on_separate_connections_take_turns_on_the_chain(db):
    """Four writers, each its own connection, 1 run + 15 single-reading commits each, all at once: 64 entries
    numbered 1-64 with no gap, each chained to the one before, no write refused."""
    Store(db).close()
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(n: int) -> None:
        try:
            with Store(db) as store:
                start.wait()
                store.create_run(header(f"W{n}", room=str(n)))
                for exposure in range(1, 16):
                    store.add_reading(f"W{n}", reading(exposure, 80.0 + exposure / 10))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with Store(db) as store:
        report = store.verify()
        entries = list(store.entries())
    assert report.ok and report.entries == 64
    assert [e.seq for e in entries] == list(range(1, 65))
    assert all(e.prev_hash == p.hash for p, e in pairwise(entries))
    assert raw(db, "SELECT COUNT(*) FROM readings") == [(60,)]


def test_the_size_covers_what_was_written(db, store, make_run):
    """The store holds at least every byte of its entries' payloads (a lower bound known without the store)."""
    for n in range(20):
        make_run(f"R{n}")
    payload_bytes = sum(len(p.encode()) for (p,) in raw(db, "SELECT payload FROM entries"))
    assert payload_bytes > 20 * 6 * 100                          # 120 entries of well over 100 bytes each
    assert store.size_bytes() >= payload_bytes
    if isinstance(db, Path):
        assert store.size_bytes() == sum(p.stat().st_size for p in db.parent.glob(db.name + "*")
                                         if not p.name.endswith("-shm"))


def test_placeholders_and_percent_signs_are_spelled_for_each_database():
    from xcal.records.dialect import POSTGRES, SQLITE

    statement = "SELECT run_id FROM checks WHERE limit_text = '±5 %' AND room_id = ?"
    assert SQLITE.sql(statement) == statement
    assert POSTGRES.sql(statement) == "SELECT run_id FROM checks WHERE limit_text = '±5 %%' AND room_id = %s"


def test_a_literal_percent_sign_reads_back_on_each_database(store):
    [row] = store.select("SELECT ? || ' %' AS t, 'a%b' AS u", ("±5",))
    assert (row["t"], row["u"], row[0]) == ("±5 %", "a%b", "±5 %")


def test_a_new_sqlite_store_has_16_kib_pages_and_an_older_file_keeps_its_own(tmp_path):
    Store(tmp_path / "new.sqlite3").close()
    assert raw(tmp_path / "new.sqlite3", "PRAGMA page_size") == [(16384,)]
    older = tmp_path / "older.sqlite3"
    con = sqlite3.connect(older)
    con.execute("PRAGMA page_size=4096")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE unrelated (x)")                       # written: its page size is fixed now
    con.execute("DROP TABLE unrelated")
    con.close()
    with Store(older) as store:
        store.create_run(header("R1"))
        assert store.verify().ok
    assert raw(older, "PRAGMA page_size") == [(4096,)]


def test_a_new_postgresql_store_compresses_its_long_columns_with_lz4_when_the_server_has_it(db, store, backend):
    if backend != "postgres":
        pytest.skip("a PostgreSQL storage setting")
    offered = raw(db, "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    if not offered or "lz4" not in offered[0][0]:
        pytest.skip("this PostgreSQL server was built without lz4")
    rows = raw(db, "SELECT c.relname, a.attname, a.attcompression FROM pg_attribute a JOIN pg_class c ON "
                   "c.oid = a.attrelid WHERE c.relnamespace = current_schema()::regnamespace AND a.attnum > 0 "
                   "AND a.attcompression <> ''")
    assert sorted((t, c, m) for t, c, m in rows) == [("entries", "payload", "l"), ("readings", "data", "l"),
                                                     ("runs", "snapshot", "l")]
    waveform = {"interval_ms": 0.1, "kv": [round(80 + (i % 97) / 10, 1) for i in range(4000)]}    # ~25 kB
    store.create_run(header("R1"))
    store.add_reading("R1", dataclasses.replace(reading(1, 80.0), data=waveform))
    assert store.get_run("R1").readings[0].data == waveform              # stored compressed, read back the same
    assert store.verify().ok


class _RefusingAtFirst:
    """A connection whose first `refusals` WAL switches are refused as SQLite refuses one of two processes that
    both opened a new, empty file and both want to write its first page."""

    def __init__(self, real: sqlite3.Connection, refusals: int, error: str = "database is locked") -> None:
        self.real, self.refusals, self.error, self.tries = real, refusals, error, 0

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql == "PRAGMA journal_mode=WAL":
            self.tries += 1
            if self.tries <= self.refusals:
                raise sqlite3.OperationalError(self.error)
        return self.real.execute(sql, *args)


def test_a_wal_switch_refused_at_once_by_a_process_opening_the_same_new_file_is_tried_again(tmp_path):
    from xcal.records.backend import SQLiteBackend

    backend = SQLiteBackend(tmp_path / "s.sqlite3")
    real = backend._db
    backend._db = _RefusingAtFirst(real, refusals=3)                      # type: ignore[assignment]
    backend._into_wal()
    assert backend._db.tries == 4
    assert real.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    backend._db = real
    backend.close()


def test_a_wal_switch_still_refused_after_the_write_wait_or_refused_otherwise_is_an_error(tmp_path, monkeypatch):
    from xcal.records import backend as backend_module

    backend = backend_module.SQLiteBackend(tmp_path / "s.sqlite3")
    real = backend._db
    monkeypatch.setattr(backend_module, "WRITE_WAIT_SECONDS", 0.1)
    backend._db = _RefusingAtFirst(real, refusals=10_000)                 # type: ignore[assignment]
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        backend._into_wal()
    assert 2 <= backend._db.tries <= 10                                    # about 0.1 s of 0.02 s waits, then gives up
    backend._db = _RefusingAtFirst(real, refusals=1, error="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        backend._into_wal()
    assert backend._db.tries == 1                                          # not a lock: not tried again
    backend._db = real
    backend.close()
