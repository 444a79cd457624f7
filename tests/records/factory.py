"""Builders for the record tests: run headers, readings and checks with known numbers, and raw SQL access.

`raw` and `raw_many` reach the store's database directly, outside the Store (how the tamper tests edit it),
on a SQLite file (a Path) or a PostgreSQL schema (a URL); statements are written with `?` placeholders.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from xcal.records.store import RunHeader, StoredCheck, StoredReading

PG_SKIP = "PostgreSQL store not tested: set XCAL_TEST_PG=postgresql://... to run"

SNAPSHOT = {"limits": {"kvp-accuracy": {"name": "kvp-accuracy", "tolerance": "±5 %", "source": "AAPM TG-74 §3",
                                        "limit_set": "aapm-74"}},
            "instruments": {"kvp_meter": {"make": "Example Instruments", "model": "XR-1", "serial": "XR1-004217",
                                          "calibration": {"certificate": "C-17", "date": "2026-01-15",
                                                          "due": "2027-01-15"}}}}


def header(run_id: str, room: str = "3", *, started_at: str = "2026-11-26T09:00:00+00:00",
           procedure: str = "kvp-accuracy", simulated: bool = True, site: str = "Test site") -> RunHeader:
    return RunHeader(procedure, "1.0.0", "ab" * 32, "kVp accuracy", site, room, f"Rad {room}", "t.tech",
                     simulated, "0.1.0", SNAPSHOT, run_id=run_id, started_at=started_at)


def reading(exposure: int, value: float, quantity: str = "kvp_ppv") -> StoredReading:
    return StoredReading(exposure=exposure, station=1, repeat=exposure, role="kvp_meter", instrument_id="kvp-1",
                         quantity=quantity, value=value, unit="kV", taken_at=f"2026-11-26T09:0{exposure}:00+00:00")


def check(value: float, verdict: str = "PASS", check_id: str = "kvp") -> StoredCheck:
    return StoredCheck(check_id=check_id, title="kVp accuracy", station=1, setting="1: 80 kV 200 mA 100 ms",
                       value=value, nominal=80.0, unit="kV", deviation=value - 80.0, allowed=4.0,
                       limit_name="kvp-accuracy", limit_text="±5 %", limit_set="aapm-74", source="AAPM TG-74 §3",
                       verdict=verdict)


def pg_server() -> str:
    """The PostgreSQL URL of XCAL_TEST_PG, or '' when the PostgreSQL tests are not to run."""
    return os.environ.get("XCAL_TEST_PG", "").strip()


def with_schema(url: str, schema: str) -> str:
    """`url` with the connection's search_path set to `schema` (libpq's `options`)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["options"] = (query.get("options", "") + f" -csearch_path={schema}").strip()
    return urlunsplit(parts._replace(query=urlencode(query)))


_CONNECTIONS: dict[str, Any] = {}


def _pg(url: str) -> Any:
    """One autocommit connection per URL for the whole session (connecting costs more than the statements)."""
    import psycopg

    con = _CONNECTIONS.get(url)
    if con is None or con.closed:
        con = _CONNECTIONS[url] = psycopg.connect(url, autocommit=True)
    return con


@contextmanager
def scratch_schema() -> Iterator[str]:
    """A new, empty schema on the XCAL_TEST_PG server for one test; yields a URL into it, drops it after."""
    server = pg_server()
    name = f"xcal_test_{secrets.token_hex(6)}"
    _pg(server).execute(f"CREATE SCHEMA {name}")
    url = with_schema(server, name)
    try:
        yield url
    finally:
        con = _CONNECTIONS.pop(url, None)
        if con is not None:
            con.close()
        _pg(server).execute(f"DROP SCHEMA {name} CASCADE")


def _is_pg(db: Path | str) -> bool:
    return isinstance(db, str) and db.startswith(("postgresql://", "postgres://"))


def raw(db: Path | str, sql: str, params: tuple = ()) -> list[tuple]:
    """Run SQL on the database directly, outside the Store, and commit; the rows it returns, as tuples."""
    if _is_pg(db):
        cur = _pg(str(db)).execute(sql.replace("?", "%s"), params)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []
    con = sqlite3.connect(db)
    try:
        rows = con.execute(sql, params).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def raw_many(db: Path | str, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert many rows directly (SQLite executemany, PostgreSQL COPY), then ANALYZE the table."""
    if _is_pg(db):
        con = _pg(str(db))
        with con.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        con.execute(f"ANALYZE {table}")
        return
    con = sqlite3.connect(db)
    try:
        con.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                        rows)
        con.execute("ANALYZE")
        con.commit()
    finally:
        con.close()
