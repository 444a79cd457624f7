"""One write transaction: projection rows and their audit-chain entry land together, or not at all.

The transaction takes the database's write lock before it reads the chain's head, so two processes writing the
same store still append one entry after the other. Entries are only ever INSERTed.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import RecordError
from .chain import GENESIS, Entry, canonical, entry_hash
from .dialect import Dialect
from .models import now_utc


class Transaction:
    """Runs statements and appends entries inside one open write transaction."""

    def __init__(self, db: sqlite3.Connection, dialect: Dialect) -> None:
        self._db = db
        self._dialect = dialect

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self._db.execute(self._dialect.sql(sql), params)

    def insert_returning(self, sql: str, params: tuple[Any, ...]) -> int:
        """Run an `INSERT ... RETURNING <id>` and give back the id."""
        return int(self.execute(sql, params).fetchone()[0])

    def append(self, kind: str, run_id: str, payload: dict[str, Any]) -> Entry:
        """Append one entry after the current head and return it as stored."""
        head = self.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
        text, at = canonical(payload), now_utc()
        entry = Entry(seq, at, kind, run_id, text, prev, entry_hash(prev, kind, run_id, text, at))
        self.execute("INSERT INTO entries (seq, at, kind, run_id, payload, prev_hash, hash) VALUES (?,?,?,?,?,?,?)",
                     (entry.seq, entry.at, entry.kind, entry.run_id, entry.payload, entry.prev_hash, entry.hash))
        return entry


@contextmanager
def write(db: sqlite3.Connection, dialect: Dialect, path: Path) -> Iterator[Transaction]:
    """Open a write transaction, commit it when the block ends, roll it back on any error."""
    try:
        db.execute(dialect.begin_write)
    except sqlite3.Error as exc:
        raise RecordError(f"cannot write to the record store {path}: {exc}",
                          fix="check the disk has space, the file is writable and no other program holds it") from None
    try:
        yield Transaction(db, dialect)
    except sqlite3.Error as exc:
        _rollback(db)
        raise RecordError(f"cannot write to the record store {path}: {exc}",
                          fix="check the disk has space and the file is writable") from None
    except BaseException:
        _rollback(db)
        raise
    try:
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        _rollback(db)
        raise RecordError(f"cannot commit to the record store {path}: {exc}",
                          fix="check the disk has space and the file is writable") from None


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        db.execute("ROLLBACK")
