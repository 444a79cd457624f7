"""One write transaction: projection rows and their audit-chain entries land together, or not at all.

The transaction takes the database's write lock before it reads the chain's head (SQLite: BEGIN IMMEDIATE;
PostgreSQL: LOCK TABLE entries, see dialect.py), so two processes writing the same store still append one
entry after the other. Entries are only ever INSERTed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from ..errors import RecordError
from .backend import Backend, Cursor
from .chain import GENESIS, Entry, canonical, entry_hash
from .models import now_utc

ENTRY_COLUMNS = ("seq", "at", "kind", "run_id", "payload", "prev_hash", "hash")
_ENTRY_INSERT = f"INSERT INTO entries ({', '.join(ENTRY_COLUMNS)}) VALUES ({', '.join('?' * len(ENTRY_COLUMNS))})"


class Transaction:
    """Runs statements and appends entries inside one open write transaction."""

    def __init__(self, db: Backend) -> None:
        self._db = db
        self.dialect = db.dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._db.execute(sql, params)

    def insert_returning(self, sql: str, params: Sequence[Any]) -> int:
        """Run an `INSERT ... RETURNING <id>` and give back the id."""
        return int(self.execute(sql, params).fetchone()[0])

    def insert_many(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Insert many rows of one table at once (the rows carry their ids; see `reserve_ids`)."""
        self._db.insert_many(table, columns, rows)

    def reserve_ids(self, table: str, column: str, count: int) -> int:
        """The first of `count` consecutive unused ids of `table.column`, for rows inserted with `insert_many`."""
        return self._db.reserve_ids(table, column, count) if count else 0

    def _head(self) -> tuple[int, str]:
        head = self.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(head[0]), head[1]) if head else (0, GENESIS)

    def append(self, kind: str, run_id: str, payload: dict[str, Any]) -> Entry:
        """Append one entry after the current head and return it as stored."""
        seq, prev = self._head()
        entry = _entry(seq + 1, now_utc(), kind, run_id, canonical(payload), prev)
        self.execute(_ENTRY_INSERT, _row(entry))
        return entry

    def append_many(self, items: Iterable[tuple[str, str, dict[str, Any] | str]]) -> int:
        """Append entries (kind, run_id, payload) in order after the current head, with one time for all; how many.

        Each is the entry `append` would write, chained to the one before it; they go in with one bulk insert,
        each hashed as it is sent (so PostgreSQL stores one while the next is hashed). A payload given as text
        is taken as its canonical JSON already (bulk.py makes readings' so, to encode them once). No Entry
        objects are made: a bulk import appends millions, and only the rows are needed.
        """
        first, prev = self._head()
        seq = first
        at = now_utc()

        def rows() -> Iterator[tuple[Any, ...]]:
            nonlocal seq, prev
            for kind, run_id, payload in items:
                seq += 1
                text = payload if type(payload) is str else canonical(payload)
                before, prev = prev, entry_hash(prev, kind, run_id, text, at)
                yield seq, at, kind, run_id, text, before, prev

        self.insert_many("entries", ENTRY_COLUMNS, rows())
        return seq - first


def _entry(seq: int, at: str, kind: str, run_id: str, text: str, prev: str) -> Entry:
    return Entry(seq, at, kind, run_id, text, prev, entry_hash(prev, kind, run_id, text, at))


def _row(entry: Entry) -> tuple[Any, ...]:
    return (entry.seq, entry.at, entry.kind, entry.run_id, entry.payload, entry.prev_hash, entry.hash)


@contextmanager
def write(db: Backend) -> Iterator[Transaction]:
    """Open a write transaction, commit it when the block ends, roll it back on any error."""
    try:
        db.begin_write()
    except db.errors as exc:
        _rollback(db)
        raise RecordError(f"cannot write to the record store {db.location}: {db.reason(exc)}",
                          fix=db.fix(exc, db.fixes.write)) from None
    try:
        yield Transaction(db)
    except db.errors as exc:
        _rollback(db)
        raise RecordError(f"cannot write to the record store {db.location}: {db.reason(exc)}",
                          fix=db.fix(exc, db.fixes.commit)) from None
    except BaseException:
        _rollback(db)
        raise
    try:
        db.commit()
    except db.errors as exc:
        _rollback(db)
        raise RecordError(f"cannot commit to the record store {db.location}: {db.reason(exc)}",
                          fix=db.fix(exc, db.fixes.commit)) from None


def _rollback(db: Backend) -> None:
    with suppress(*db.errors):
        db.rollback()
