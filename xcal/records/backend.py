"""Where a record store lives: a SQLite file or a PostgreSQL database, decided here and nowhere else.

`--db`, `XCAL_DB`, `Store(...)`, `xcal.load_site(db=...)` and `--xcal-db` all take one *store location*:

- a `postgresql://` (or `postgres://`) URL, the libpq form: `postgresql://user:password@host:5432/dbname`,
  or over a Unix socket `postgresql://user@/dbname?host=/var/run/postgresql`. The store's tables go into the
  first schema of the connection's search_path (`public` unless the URL says otherwise, e.g.
  `?options=-csearch_path%3Dxcal` for a schema `xcal`, which must exist). Needs the `postgres` extra;
  psycopg is imported only when a URL is given.
- anything else: the path of a SQLite file, created when missing. Its folder must exist: a misspelt folder
  would otherwise start a new, empty store and scatter the records. Only xcal's own user data folder (the
  default location) is created on first use; any other is created when asked (`create_store_folder`,
  `xcal --create-db-folder`).

A Backend is one open connection with the handful of calls the store needs; the SQL itself is shared
(dialect.py says what differs). Messages never show a URL's password (`display_location`).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import RecordError
from .dialect import POSTGRES, SQLITE, Dialect

URL_SCHEMES = ("postgresql", "postgres")
WRITE_WAIT_SECONDS = 10.0
"""How long a write waits for another process's lock on the store before it gives up (SQLite's busy timeout,
PostgreSQL's lock_timeout)."""
TABLES = ("meta", "entries", "runs", "readings", "checks", "leases")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
INSTALL_FIX = "pip install 'xcal[postgres]' (it installs psycopg, the PostgreSQL driver)"


def is_url(location: str | os.PathLike[str]) -> bool:
    """True for a `postgresql://` or `postgres://` URL; a RecordError for a URL of any other scheme."""
    if not isinstance(location, str):
        return False
    match = _SCHEME.match(location.strip())
    if not match:
        return False
    if match.group(1).lower() in URL_SCHEMES:
        return True
    raise RecordError(f"the record store '{display_location(location)}' is a {match.group(1)}:// URL, which xcal "
                      f"does not open: a store is a SQLite file or a PostgreSQL database",
                      fix="give --db (or XCAL_DB) a SQLite file path such as records.sqlite3, or a "
                          "postgresql://user@host/dbname URL")


def display_location(location: str | os.PathLike[str]) -> str:
    """The location as messages show it: a URL without its password (in the user part or the query)."""
    text = str(location)
    if not _SCHEME.match(text.strip()):
        return text
    parts = urlsplit(text.strip())
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"],
                      safe="/:,=")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def default_location() -> str | Path:
    """`XCAL_DB` as given (a path or a URL), or xcal.sqlite3 in the platform's user data folder."""
    env = os.environ.get("XCAL_DB")
    if env:
        return env if is_url(env) else Path(env)
    return user_data_store()


def user_data_store() -> Path:
    """xcal.sqlite3 in the platform's user data folder: the one store whose folder xcal creates unasked."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("xcal", appauthor=False)) / "xcal.sqlite3"


def create_store_folder(location: str | os.PathLike[str] | None) -> None:
    """Create the folder of a SQLite store (None: `default_location()`), as `--create-db-folder` asks; nothing
    for a PostgreSQL URL. A RecordError when it cannot be made."""
    if location is None or location == "":
        location = default_location()
    if is_url(location):
        return
    folder = Path(location).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordError(f"cannot create the folder {folder} of the record store {location}: "
                          f"{exc.strerror or exc}", fix="check the path and that you may write there") from None


@dataclass(frozen=True)
class Fixes:
    """What to tell a person when the store cannot be opened, prepared, written or read."""

    open: str
    create: str
    prepare: str
    write: str
    commit: str
    read: str


class Cursor(Protocol):
    rowcount: int
    description: Any

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Backend(Protocol):
    """One open connection to a store. Statements are written with `?` placeholders (dialect.py)."""

    dialect: Dialect
    location: str
    path: Path | str
    errors: tuple[type[BaseException], ...]
    fixes: Fixes

    def reason(self, exc: BaseException) -> str: ...

    def fix(self, exc: BaseException, fallback: str) -> str: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Any]: ...

    def insert_many(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None: ...

    def tables(self) -> set[str]: ...

    def create_tables(self, statements: Iterable[str]) -> None: ...

    def reserve_ids(self, table: str, column: str, count: int) -> int: ...

    def bulk_writes(self) -> AbstractContextManager[Callable[[], None]]: ...

    def begin_write(self) -> None: ...

    def begin_read(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    @property
    def in_transaction(self) -> bool: ...

    def size_bytes(self) -> int: ...

    def close(self) -> None: ...


def open_backend(location: str | os.PathLike[str] | None) -> Backend:
    """Open the store at `location` (None: `default_location()`): PostgreSQL for a URL, else a SQLite file."""
    if location is None or location == "":
        location = default_location()
    if is_url(location):
        return PostgresBackend(str(location).strip())
    return SQLiteBackend(Path(location))


class _Transactions:
    """Transaction control both backends share: their dialect's statements on their connection."""

    dialect: Any
    _db: Any
    in_transaction: Any

    def begin_write(self) -> None:
        for statement in self.dialect.begin_write:
            self._db.execute(statement)

    def begin_read(self) -> None:
        self._db.execute(self.dialect.begin_read)

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self._db.execute("ROLLBACK")


PAGE_SIZE = 16384
"""Bytes per page of a new SQLite store. An entry (about 570 bytes with its hashes; a run's first entry holds the
2-3 kB snapshot) fills a 4 KiB page after a few rows; with 16 KiB pages a bulk import of 30 000 runs went in at
55 000 instead of 47 000-49 000 readings/s and the file came out 7 % smaller (benchmarks/records.py)."""


BULK_CACHE_KIB = 65536
"""The page cache of a SQLite bulk import, in KiB. With SQLite's default 2 MiB a batch's dirty pages spill into the
log before its commit and the scattered index pages (a room's checks) are read again and again: counted over
504 000 readings imported into a store of 100 000 runs, 243 739 writes and 149 851 reads of pages; with 64 MiB
164 449 and 57 186 (with 128 MiB the reads fall to 38 685, the writes no further)."""


class SQLiteBackend(_Transactions):
    """A SQLite file in WAL mode; each statement outside an explicit transaction commits by itself.

    `synchronous=FULL` syncs the log at every commit, so a commit survives a power cut, not only a crash of xcal.
    A new file gets 16 KiB pages (PAGE_SIZE); a file made with SQLite's default 4 KiB keeps them.
    """

    dialect = SQLITE
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    fixes = Fixes(open="check the path given with --db or XCAL_DB, its folder and permissions",
                  create="check the path given with --db or XCAL_DB, its folder and permissions",
                  prepare="check the disk has space and the file is writable",
                  write="check the disk has space, the file is writable and no other program holds it",
                  commit="check the disk has space and the file is writable",
                  read="check that the file is an xcal record store")

    def __init__(self, path: Path) -> None:
        self.path: Path | str = path
        self.location = str(path)
        if not path.parent.is_dir() and (path.parent.exists() or path != user_data_store()):
            problem = "is not a folder" if path.parent.exists() else "does not exist"
            raise RecordError(f"cannot open the record store {path}: its folder {path.parent} {problem}",
                              fix=f"check --db (or XCAL_DB) for a typo; to start a new store there, create the "
                                  f"folder first: `xcal --create-db-folder --db {path} ...` (or mkdir -p "
                                  f"{path.parent})")
        if path.is_dir():
            raise RecordError(f"cannot open the record store {path}: it is a folder, not a file",
                              fix=f"give --db (or XCAL_DB) a file name inside it, such as {path / 'xcal.sqlite3'}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=WRITE_WAIT_SECONDS, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise self._open_error(exc) from None
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")           # only a file not yet written takes it
            self._into_wal()
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            self._db.close()
            raise self._open_error(exc) from None

    def _into_wal(self) -> None:
        """Put the file in WAL mode. A new, empty file is first written by this very statement, and when several
        processes open it at once SQLite can refuse one of them at once ("database is locked", without waiting:
        two readers that both want to write), so that is tried again until WRITE_WAIT_SECONDS have passed
        (measured: 1 in 20 starts of 8 processes on one new file was refused)."""
        deadline = time.monotonic() + WRITE_WAIT_SECONDS
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(0.02)

    def _open_error(self, exc: BaseException) -> RecordError:
        """The RecordError for a file that cannot be opened: the cause in plain words and its own fix."""
        cause, fix = _sqlite_problem(exc, Path(self.path))
        return RecordError(f"cannot open the record store {self.path}: {cause}", fix=fix or self.fixes.open)

    def reason(self, exc: BaseException) -> str:
        """What went wrong in plain words (locked, disk full, read-only, not a database), then SQLite's own words."""
        return _sqlite_problem(exc, Path(self.path))[0]

    def fix(self, exc: BaseException, fallback: str) -> str:
        """The fix for this very failure (free the disk, close the program holding the lock...), else `fallback`."""
        return _sqlite_problem(exc, Path(self.path))[1] or fallback

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._db.execute(sql, params)

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """The rows of a SELECT read as they are iterated (SQLite steps its cursor row by row)."""
        return iter(self._db.execute(sql, params))

    def insert_many(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """INSERT every row; `rows` may be a generator, read as the rows go in."""
        self._db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) "
                             f"VALUES ({', '.join('?' * len(columns))})", rows)

    def tables(self) -> set[str]:
        """The names of the file's tables."""
        return {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def create_tables(self, statements: Iterable[str]) -> None:
        """Make a new store in one transaction, unless another process made it first (it has a meta table)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            present = self.tables()
            if "meta" not in present:
                foreign = sorted(t for t in present if not t.startswith("sqlite_"))
                if foreign:
                    shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
                    raise RecordError(f"the file {self.path} is a SQLite database of another program (its tables: "
                                      f"{shown}), not an xcal record store; xcal leaves it as it is",
                                      fix="give --db (or XCAL_DB) the path of an xcal record store, or a new file "
                                          "name to start one")
                for statement in statements:
                    self._db.execute(statement)
        except BaseException:
            self.rollback()
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def bulk_writes(self) -> Iterator[Callable[[], None]]:
        """For a bulk import: the write-ahead log is copied into the file (checkpointed) when the import calls the
        function given, and once at the end, instead of after every commit. Each commit is still synced to the
        log first (synchronous=FULL), so a committed batch survives a power cut as before; only the copy into
        the file waits, so that a page several batches change (an index's) is written to the file once. The
        copies asked for during the import run on a connection of their own in another thread, beside the next
        batches (SQLite lets one checkpoint run while another connection writes; measured, an import went in at
        54 000 instead of 47 000-50 000 readings/s); one at a time, and the import waits for it at the end.
        At the end the log is emptied too when no reader holds it, so it does not keep the size ten batches gave
        it. Meanwhile the connection's page cache is BULK_CACHE_KIB instead of SQLite's 2 MiB."""
        every = self._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        cache = self._db.execute("PRAGMA cache_size").fetchone()[0]
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._db.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
        running: list[threading.Thread] = []

        def checkpoint() -> None:
            if running:
                running[-1].join()                       # one at a time, so the log stays bounded
            running.append(threading.Thread(target=self._checkpoint_beside, name="xcal-checkpoint", daemon=True))
            running[-1].start()

        try:
            yield checkpoint
        finally:
            for thread in running:
                thread.join()
            self._checkpoint(truncate=True)
            self._db.execute(f"PRAGMA wal_autocheckpoint={int(every)}")
            self._db.execute(f"PRAGMA cache_size={int(cache)}")

    def _checkpoint_beside(self) -> None:
        """A PASSIVE checkpoint on a connection of its own (for bulk_writes' thread); a failure leaves the copy to
        the next one, since the log keeps every commit anyway."""
        with suppress(sqlite3.Error, RecordError):
            other = SQLiteBackend(Path(self.path))
            try:
                other._checkpoint()
            finally:
                other.close()

    def _checkpoint(self, truncate: bool = False) -> None:
        """Copy what the log holds into the file, as far as readers allow, never waiting for them (with
        `truncate`, then empty the log file if no reader is using it); a checkpoint that cannot run now is left
        to a later commit's, since the log keeps every commit anyway."""
        with suppress(sqlite3.Error):
            if truncate:
                wait = self._db.execute("PRAGMA busy_timeout").fetchone()[0]
                self._db.execute("PRAGMA busy_timeout=0")
                try:
                    if not self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
                        return
                finally:
                    self._db.execute(f"PRAGMA busy_timeout={int(wait)}")
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def reserve_ids(self, table: str, column: str, count: int) -> int:
        """The first of `count` ids no row ever had; rows inserted with them move AUTOINCREMENT's mark past."""
        row = self._db.execute(f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), "
                               f"COALESCE((SELECT MAX({column}) FROM {table}), 0))", (table,)).fetchone()
        return int(row[0]) + 1

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    def size_bytes(self) -> int:
        """The file and its write-ahead log, in bytes."""
        assert isinstance(self.path, Path)
        wal = self.path.with_name(self.path.name + "-wal")
        return sum(p.stat().st_size for p in (self.path, wal) if p.exists())

    def close(self) -> None:
        self._db.close()


class _Row(tuple[Any, ...]):
    """A result row read by position or by column name, like sqlite3.Row."""

    __slots__ = ()
    _names: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


_ROW_CLASSES: dict[tuple[str, ...], type[_Row]] = {}


def _row_factory(cursor: Any) -> Any:
    names = tuple(c.name for c in cursor.description or ())
    cls = _ROW_CLASSES.get(names)
    if cls is None:
        index: dict[str, int] = {}
        for i, name in enumerate(names):
            index.setdefault(name, i)
        cls = _ROW_CLASSES[names] = type("Row", (_Row,), {"__slots__": (), "_names": index})
    return cls


LZ4_COLUMNS = (("entries", "payload"), ("runs", "snapshot"), ("readings", "data"))
"""The long text columns (snapshots, waveforms, checks) a new PostgreSQL store compresses with lz4 instead of
the default pglz, when the server has it (PostgreSQL 14 or later, built with lz4): measured, a bulk import went
in 6 % faster. Only how new values are stored on the server; the text read back is the same."""
LZ4_AVAILABLE = ("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
                 "AND 'lz4' = ANY(enumvals)")


class PostgresBackend(_Transactions):
    """A PostgreSQL database through psycopg 3, in autocommit mode with explicit transactions.

    Writes wait at most WRITE_WAIT_SECONDS for the chain's lock (`lock_timeout`), as a SQLite write waits for the
    file. A server set to `synchronous_commit=off` is overridden for this session: a commit must be on disk on
    return.
    """

    dialect = POSTGRES

    def __init__(self, url: str) -> None:
        self.location = display_location(url)
        self.path: Path | str = self.location
        self.fixes = Fixes(
            open=f"check that the PostgreSQL server of {self.location} is running and reachable from here, and the "
                 f"URL's host, port, database name, user and password (--db or XCAL_DB)",
            create="check that the URL's user may create tables in that database (in the first schema of its "
                   "search_path, which must exist)",
            prepare="check that the URL's user may create tables and indexes in that database, and the server "
                    "has disk space",
            write="check the server is up and has disk space, and that no other session holds the store's lock "
                  "for long",
            commit="check the server is up and has disk space",
            read="check that the URL names the database (and schema) of an xcal record store")
        try:
            import psycopg
        except ImportError:
            raise RecordError(f"the record store {self.location} is a PostgreSQL database, and the PostgreSQL "
                              f"driver (psycopg) is not installed", fix=INSTALL_FIX) from None
        self._psycopg = psycopg
        self._cursors = 0
        self.errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        self._secret = _password(url)
        try:
            conninfo = url
            if "connect_timeout" not in psycopg.conninfo.conninfo_to_dict(url):
                conninfo = psycopg.conninfo.make_conninfo(url, connect_timeout=10)
            self._db = psycopg.connect(conninfo, autocommit=True, row_factory=_row_factory)
        except psycopg.Error as exc:
            raise RecordError(f"cannot connect to the record store {self.location}: {self.reason(exc)}",
                              fix=self.fixes.open) from None
        try:
            self._db.execute(f"SET lock_timeout = '{WRITE_WAIT_SECONDS:g}s'")
            if self._db.execute("SHOW synchronous_commit").fetchone()[0] == "off":
                self._db.execute("SET synchronous_commit = on")
        except psycopg.Error as exc:
            self._db.close()
            raise RecordError(f"cannot open the record store {self.location}: {self.reason(exc)}",
                              fix=self.fixes.open) from None

    def reason(self, exc: BaseException) -> str:
        """The driver's message on one line, without the password should the server echo it."""
        text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        return text.replace(self._secret, "***") if self._secret else text

    def fix(self, exc: BaseException, fallback: str) -> str:
        """The fix for a lock wait that ran out (another session held the store), else `fallback`."""
        if isinstance(exc, self._psycopg.errors.LockNotAvailable):
            return ("another session held the store's lock for more than "
                    f"{WRITE_WAIT_SECONDS:g} s: find it in pg_stat_activity (and end it with pg_terminate_backend "
                    "if it is stuck)")
        return fallback

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._db.execute(self.dialect.sql(sql), tuple(params))

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """The rows of a SELECT through a server-side cursor, a few thousand at a time, so a result of millions of
        rows never sits in memory (a plain execute fetches all of it). Only inside a transaction."""
        self._cursors += 1
        with self._db.cursor(name=f"xcal_stream_{self._cursors}") as cursor:
            cursor.itersize = 5_000
            cursor.execute(self.dialect.sql(sql), tuple(params))
            yield from cursor

    def insert_many(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """COPY the rows in: the same rows an INSERT would write, at bulk speed. `rows` may be a generator: the
        server stores the rows sent while the next are made."""
        with self._db.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def tables(self) -> set[str]:
        """The names of the tables in the store's schema (the first of the search_path)."""
        rows = self._db.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()
        return {r[0] for r in rows}

    def create_tables(self, statements: Iterable[str]) -> None:
        """Make a new store in one transaction, one process at a time (two first opens do not race); a store
        another process made meanwhile (it has a meta table) is left alone."""
        self._db.execute("BEGIN")
        try:
            self._db.execute("SELECT pg_advisory_xact_lock(hashtext('xcal.records.schema'))")
            if "meta" not in self.tables():
                for statement in statements:
                    self._db.execute(statement)
                if self._db.execute(LZ4_AVAILABLE).fetchone() is not None:
                    for table, column in LZ4_COLUMNS:
                        self._db.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")
        except BaseException:
            self.rollback()
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def bulk_writes(self) -> Iterator[Callable[[], None]]:
        """For a bulk import: nothing changes (the server writes its log and files on its own schedule)."""
        yield lambda: None

    def reserve_ids(self, table: str, column: str, count: int) -> int:
        """Take `count` consecutive values of the column's identity sequence and return the first."""
        sequence = f"pg_get_serial_sequence('{table}', '{column}')"
        first = int(self._db.execute(f"SELECT nextval({sequence})").fetchone()[0])
        if count > 1:
            self._db.execute(f"SELECT setval({sequence}, %s)", (first + count - 1,))
        return first

    @property
    def in_transaction(self) -> bool:
        return self._db.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE

    def size_bytes(self) -> int:
        """The store's tables with their indexes and TOAST, in bytes (the tables of the current schema)."""
        row = self._db.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname = ANY(%s)",
            (list(TABLES),)).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()


def _sqlite_problem(exc: BaseException, path: Path) -> tuple[str, str | None]:
    """SQLite's error as a person reads it, with SQLite's own words after it, and the fix when it is specific.

    A busy store, a full disk, a read-only file or folder and a file that is no database each get their own
    words; anything else is shown as SQLite says it.
    """
    raw = str(exc) if not isinstance(exc, OSError) else (exc.strerror or str(exc))
    name = getattr(exc, "sqlite_errorname", "") or ""
    folder = path.parent
    said = f"(SQLite: {raw})"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or raw in ("database is locked", "database is busy"):
        return (f"another program held the store's lock for more than {WRITE_WAIT_SECONDS:g} s {said}",
                ("find the program that holds the file open (`fuser` or `lsof` on it: a database browser, a "
                 "backup or sync tool, a stuck xcal) and close it"))
    if name.startswith("SQLITE_FULL") or "disk is full" in raw or getattr(exc, "errno", None) == 28:
        return (f"the disk that holds {folder} is full {said}",
                f"free space on the disk of {folder} (`df -h {folder}`)")
    cannot_open = name.startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR")) or raw == "unable to open database file"
    if name.startswith("SQLITE_READONLY") or "readonly" in raw or (cannot_open and _read_only_fs(folder)):
        where = (f"the file system that holds {folder} is mounted read-only" if _read_only_fs(folder)
                 else f"{path} or its folder {folder} is read-only for this user")
        return (f"{where} {said}",
                ("xcal needs to write beside the store even to read it (SQLite keeps its -wal and -shm files "
                 "there): make the folder and file writable (or remount the disk read-write), or copy the store "
                 "to a writable folder and give that path with --db"))
    if name.startswith("SQLITE_NOTADB") or raw == "file is not a database":
        return (f"the file is not a SQLite database, so not an xcal record store {said}",
                ("give --db (or XCAL_DB) the path of an xcal record store, or a new file name to start one; if "
                 "this was your store, it is damaged: restore it from its backup"))
    if cannot_open and folder.is_dir() and not os.access(folder, os.W_OK):
        return (f"this user may not write in its folder {folder} {said}",
                f"make {folder} writable for this user, or give --db a store in a folder you may write in")
    return raw, None


def _read_only_fs(folder: Path) -> bool:
    """True when `folder` lies on a file system mounted read-only."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return parts.password
    return dict(parse_qsl(parts.query)).get("password", "")
