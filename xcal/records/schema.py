"""The store's tables and indexes, and the numbered upgrades that bring an older store to this version.

A new store is created whole in one transaction, stamped with SCHEMA_VERSION. An older one is brought up
one version at a time by the steps of UPGRADES (N -> N+1), each in its own transaction that also appends a
`schema_upgraded` entry to the audit chain (store-level: its run_id is ''). A step that adopts existing rows
into the chain is `explicit`: it never runs when a store is merely opened, only when a person names
themselves (`xcal upgrade-store`), so a dropped chain cannot be rebuilt over edited rows
unnoticed. A store that lacks a table of its version, or claims a version it is not, is refused.

Version 6 drops, on PostgreSQL only, the foreign keys from readings and checks to runs (dialect.py,
`run_reference`): the store checks the run itself and `verify` finds a row without its run; no row changes.
Version 5 adds `credentials`, `login_attempts` and `sessions` (accounts.py): password hashes, sign-in attempts and
web-session generations, operating state outside the chain (the accounts themselves are chain entries), and
`accounts`, each account as its entries leave it, projected from them and checked against them by `verify`.
Version 4 adds `bundles` (bundles.py): a bundle of procedures as one record, projected from its chain entries.
Version 3 adds `leases` (lease.py), which process runs a live run: operating state, outside the chain.
Version 2 adds the append-only `entries` table (the record) and a denormalised `room_id` on `checks` (which
`verify` holds against the run's): each run of a version-1 store, as it stands, becomes one `adopted` entry,
so `verify` vouches for those rows from the upgrade on (not for what happened before it). Version-1 stores
were only ever SQLite files; a PostgreSQL store starts at version 2.

The statements are the same for every database except the two integer-key declarations and how a row names
its run, which come from the dialect (dialect.py): `{id_column}`, `{seq_column}` and `{run_reference}` below.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..errors import RecordError
from . import ledger
from .backend import Backend
from .bundles import BUNDLES_INDEX, BUNDLES_TABLE
from .chain import ADOPTED, SCHEMA_UPGRADED
from .dialect import Dialect
from .ledger import Transaction
from .projection import CHECK_FIELDS, READING_FIELDS, RUN_FIELDS, STATUS_FIELDS, row_payload

SCHEMA_VERSION = 6

TABLES_AT: dict[int, tuple[str, ...]] = {
    1: ("meta", "runs", "readings", "checks"),
    2: ("meta", "entries", "runs", "readings", "checks"),
    3: ("meta", "entries", "runs", "readings", "checks", "leases"),
    4: ("meta", "entries", "runs", "readings", "checks", "leases", "bundles"),
    5: ("meta", "entries", "runs", "readings", "checks", "leases", "bundles", "credentials", "login_attempts",
        "accounts", "sessions"),
}
TABLES_AT[6] = TABLES_AT[5]
AUTOMATIC = "xcal (automatic)"
RESTORE = "restore the store from a backup, then run `xcal verify`; xcal never rebuilds a chain over existing " \
          "records"

TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    seq {seq_column},
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    run_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    procedure_id TEXT NOT NULL,
    procedure_version TEXT NOT NULL,
    procedure_sha256 TEXT NOT NULL,
    procedure_title TEXT NOT NULL,
    site TEXT NOT NULL,
    room_id TEXT NOT NULL,
    room_name TEXT NOT NULL,
    operator TEXT NOT NULL,
    simulated INTEGER NOT NULL,
    status TEXT NOT NULL,
    verdict TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    software_version TEXT NOT NULL,
    status_note TEXT,
    snapshot TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS readings (
    reading_id {id_column},
    run_id TEXT NOT NULL{run_reference},
    exposure INTEGER NOT NULL,
    station INTEGER NOT NULL,
    repeat INTEGER NOT NULL,
    role TEXT NOT NULL,
    instrument_id TEXT NOT NULL,
    quantity TEXT NOT NULL,
    value DOUBLE PRECISION,
    unit TEXT NOT NULL,
    data TEXT,
    taken_at TEXT NOT NULL,
    UNIQUE (run_id, exposure, role, quantity)
);
CREATE TABLE IF NOT EXISTS checks (
    check_row {id_column},
    run_id TEXT NOT NULL{run_reference},
    room_id TEXT,
    check_id TEXT NOT NULL,
    title TEXT NOT NULL,
    station INTEGER,
    setting TEXT,
    value DOUBLE PRECISION,
    nominal DOUBLE PRECISION,
    unit TEXT NOT NULL,
    deviation DOUBLE PRECISION,
    allowed DOUBLE PRECISION,
    limit_name TEXT NOT NULL,
    limit_text TEXT NOT NULL,
    limit_set TEXT NOT NULL,
    source TEXT NOT NULL,
    verdict TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    run_id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    heartbeat DOUBLE PRECISION NOT NULL
);
"""

INDEXES = """
CREATE INDEX IF NOT EXISTS entries_run ON entries (run_id, seq);
CREATE INDEX IF NOT EXISTS runs_room ON runs (room_id, started_at);
CREATE INDEX IF NOT EXISTS checks_run_result ON checks (run_id, check_id);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at, run_id);
CREATE INDEX IF NOT EXISTS runs_procedure_room ON runs (procedure_id, room_id, started_at, run_id);
CREATE INDEX IF NOT EXISTS entries_corrections ON entries (run_id, seq) WHERE kind = 'correction';
CREATE INDEX IF NOT EXISTS runs_open ON runs (room_id) WHERE status <> 'complete';
"""
ACCOUNT_TABLES = """
CREATE TABLE IF NOT EXISTS credentials (
    username TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    set_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS login_attempts (
    username TEXT NOT NULL,
    at TEXT NOT NULL,
    epoch DOUBLE PRECISION NOT NULL,
    outcome TEXT NOT NULL,
    attempt TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS login_attempts_user ON login_attempts (username, epoch);
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY,
    full_name TEXT NOT NULL,
    role TEXT NOT NULL,
    active INTEGER NOT NULL,
    temporary INTEGER NOT NULL,
    credential TEXT NOT NULL,
    seq BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    username TEXT PRIMARY KEY,
    generation BIGINT NOT NULL
)
"""
"""Version 5's tables (accounts.py): each account's Argon2 hash, the sign-in attempts of the lockout window (a
pending one named by `attempt`), each account as its entries leave it (whether its password is temporary, the
sha256 of its hash, the seq of its latest entry), and each account's web-session generation (operating state)."""
_INDEX_NAMES = {
    "sqlite": "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'",
    "postgresql": "SELECT indexname, tablename FROM pg_indexes WHERE schemaname = current_schema()",
}


def statements(script: str) -> list[str]:
    """The statements of a `;`-separated script (the scripts here hold no `;` inside a statement)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def table_statements(dialect: Dialect) -> list[str]:
    """CREATE TABLE IF NOT EXISTS for every table, with the dialect's integer keys."""
    return statements(TABLES.format(id_column=dialect.id_column, seq_column=dialect.seq_column,
                                    run_reference=dialect.run_reference))


OBSOLETE_INDEXES = {"readings_run": "readings", "checks_run": "checks", "checks_room_result": "checks"}
"""Indexes (and their tables) an earlier xcal made that this one drops when it opens the store, since each costs
every write: readings_run (run_id, exposure) indexed nothing the UNIQUE (run_id, exposure, role, quantity) of
readings does not; checks_run (run_id) is the start of checks_run_result (run_id, check_id); checks_room_result
(room_id, check_id, run_id) put each run's checks among its room's, so every batch of a bulk import rewrote
nearly every page of it (3 000 rooms and results: ~46 MB per 50 000 readings in a store of 100 000 runs).
Imported side by side into copies of that store: 40 000-44 000 readings/s with it, 57 000-60 000 with
checks_run_result instead; a room's trend reads the room's runs (runs_room) and each run's checks of that
result: 4.3 ms instead of 3.5 ms for 400 points."""


def index_statements() -> list[str]:
    """CREATE INDEX IF NOT EXISTS for every index (the same in every dialect).

    A run's readings are found through the index of their UNIQUE (run_id, exposure, role, quantity), its
    checks through checks_run_result (run_id, check_id).
    """
    return statements(INDEXES)


def add_missing_indexes(db: Backend) -> list[str]:
    """Create the indexes of `index_statements` a store opened lacks (one made by an older xcal), and drop its
    OBSOLETE_INDEXES (`drop_obsolete_indexes`); the names of those created.

    Indexes only speed reads, so this is no schema version and no entry. Only missing ones are created (a
    PostgreSQL CREATE INDEX locks out writers even when the index exists); a store that cannot take them
    (read-only) is read without them. The first open of a large older store takes seconds for this, once.
    """
    present = dict(db.execute(_INDEX_NAMES[db.dialect.name]).fetchall())
    missing = [s for s in index_statements() if s.split()[5] not in present]
    created = []
    if missing:
        try:
            with ledger.write(db) as tx:
                for statement in missing:
                    tx.execute(statement)
            created = [s.split()[5] for s in missing]
        except RecordError:
            pass
    drop_obsolete_indexes(db, [name for name, table in OBSOLETE_INDEXES.items() if present.get(name) == table])
    return created


OBSOLETE_DROP_WAIT = "1s"
"""How long a PostgreSQL store's opener waits to drop an obsolete index: the drop locks the index's table, and
readers who come meanwhile queue behind it, so it gives up soon and leaves the drop to a later open."""


def drop_obsolete_indexes(db: Backend, names: list[str]) -> None:
    """Drop the indexes `names`, each in a transaction of its own, outside the chain's lock (an index is no record);
    one that cannot go now (a reader holds its PostgreSQL table for OBSOLETE_DROP_WAIT, a read-only store, a
    role that does not own the table) stays until an open that can drop it."""
    for name in names:
        try:
            db.execute(db.dialect.begin_write[0])
            if db.dialect.name == "postgresql":
                db.execute(f"SET LOCAL lock_timeout = '{OBSOLETE_DROP_WAIT}'")
            db.execute(f"DROP INDEX IF EXISTS {name}")
            db.commit()
        except db.errors:
            with suppress(*db.errors):
                db.rollback()


def new_store_statements(dialect: Dialect) -> list[str]:
    """Every table and index of this version, and the version stamp: what a new store is made of."""
    return table_statements(dialect) + [BUNDLES_TABLE] + index_statements() + [BUNDLES_INDEX] + \
        statements(ACCOUNT_TABLES) + [
        f"INSERT INTO meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}')"]


@dataclass(frozen=True)
class Upgrade:
    """One step from `version` to `version + 1`; `run` changes the tables and returns details for its entry."""

    version: int
    summary: str
    run: Callable[[Transaction], dict[str, Any]]
    explicit: bool = False


def prepare(db: Backend, upgrade_by: str | None = None) -> list[int]:
    """Create a new store or bring an older one to SCHEMA_VERSION; the versions upgraded from, in order.

    Refuses (RecordError) a damaged store, one from a newer xcal, and an explicit step without `upgrade_by`.
    """
    where = db.location
    if upgrade_by is not None:
        upgrade_by = upgrade_by.strip()
        if not upgrade_by:
            raise RecordError(f"an upgrade of the record store {where} needs the name of the person doing it",
                              fix="give your full name with --name")
    present = db.tables()
    if "meta" not in present:
        leftover = sorted(present & set(TABLES_AT[SCHEMA_VERSION]))
        if leftover:
            raise RecordError(f"the record store {where} has xcal's tables ({', '.join(leftover)}) but no meta "
                              f"table: it was damaged outside xcal", fix=RESTORE)
        try:
            db.create_tables(new_store_statements(db.dialect))
        except db.errors as exc:
            raise RecordError(f"cannot open the record store {where}: {db.reason(exc)}", fix=db.fixes.create) from None
    done: list[int] = []
    version = read_version(db, where)
    while version != SCHEMA_VERSION:
        step = _next_step(db, where, version, upgrade_by)
        with ledger.write(db) as tx:
            if read_version(tx, where) == version:
                details = step.run(tx)
                tx.append(SCHEMA_UPGRADED, "", {"from": version, "to": version + 1, "by": upgrade_by or AUTOMATIC,
                                                "xcal": __version__, "what": step.summary, **details})
                tx.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version + 1),))
                done.append(version)
        version = read_version(db, where)
    _require_tables(db, where, SCHEMA_VERSION)
    add_missing_indexes(db)
    return done


def read_version(db: Backend | Transaction, where: str) -> int:
    """The store's schema version from its meta table; a RecordError when it is missing or not a number."""
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None or not str(row[0]).isdigit() or int(row[0]) < 1:
        found = "has no schema version" if row is None else f"has the schema version '{row[0]}', not a number"
        raise RecordError(f"the record store {where} {found}: its meta table was edited outside xcal", fix=RESTORE)
    return int(row[0])


def _next_step(db: Backend, where: str, version: int, upgrade_by: str | None) -> Upgrade:
    if version > SCHEMA_VERSION:
        raise RecordError(f"the record store {where} is at schema version {version}, newer than this xcal "
                          f"{__version__} reads (up to schema version {SCHEMA_VERSION})",
                          fix="upgrade xcal (pip install --upgrade xcal) to open this store; leave the store as it is")
    step = UPGRADES[version]
    _require_tables(db, where, version)
    problem = _not_at_version(db, version)
    if problem:
        raise RecordError(f"the record store {where} says schema version {version} but is not a version-{version} "
                          f"store: {problem}; its version was set back outside xcal", fix=RESTORE)
    if step.explicit and upgrade_by is None:
        raise RecordError(f"the record store {where} is at schema version {version}, and this xcal {__version__} "
                          f"uses schema version {SCHEMA_VERSION}; the upgrade {step.summary}, which a person "
                          f"must do and put their name to",
                          fix=f"back up the store, then run `xcal --db {where} upgrade-store --name 'YOUR NAME'`")
    return step


def _require_tables(db: Backend, where: str, version: int) -> None:
    present = db.tables()
    missing = [t for t in TABLES_AT[version] if t not in present]
    if "entries" in missing:
        raise RecordError(f"the record store {where} has no audit chain (table entries) although it is at schema "
                          f"version {version}: the chain was removed outside xcal", fix=RESTORE)
    if missing:
        raise RecordError(f"the record store {where} lacks the table(s) {', '.join(missing)} of schema version "
                          f"{version}: they were removed outside xcal", fix=RESTORE)


def _not_at_version(db: Backend, version: int) -> str:
    """What shows a store is not at the version it claims (a table or column of a later version), or ''."""
    present = db.tables()
    for later in range(version + 1, SCHEMA_VERSION + 1):
        for table in TABLES_AT[later]:
            if table not in TABLES_AT[version] and table in present:
                return f"it has the table {table}, which came with version {later}"
    if version == 1 and "room_id" in _columns(db, "checks"):
        return "its checks table has the column room_id, which came with version 2"
    return ""


def _columns(db: Backend | Transaction, table: str) -> set[str]:
    return {d[0] for d in db.execute(f"SELECT * FROM {table} WHERE 1 = 0").description}


def _upgrade_from_1(tx: Transaction) -> dict[str, Any]:
    tx.execute(f"""CREATE TABLE entries (seq {tx.dialect.seq_column}, at TEXT NOT NULL, kind TEXT NOT NULL,
        run_id TEXT NOT NULL, payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""")
    tx.execute("ALTER TABLE checks ADD COLUMN room_id TEXT")
    tx.execute("UPDATE checks SET room_id = (SELECT runs.room_id FROM runs WHERE runs.run_id = checks.run_id)")
    for statement in statements("""
        CREATE INDEX IF NOT EXISTS entries_run ON entries (run_id, seq);
        CREATE INDEX IF NOT EXISTS runs_room ON runs (room_id, started_at);
        CREATE INDEX IF NOT EXISTS readings_run ON readings (run_id, exposure);
        CREATE INDEX IF NOT EXISTS checks_run_result ON checks (run_id, check_id)"""):
        tx.execute(statement)
    runs = _dicts(tx, "SELECT * FROM runs ORDER BY started_at, run_id", ())
    for run in runs:
        readings = _dicts(tx, "SELECT * FROM readings WHERE run_id = ? ORDER BY reading_id", (run["run_id"],))
        checks = _dicts(tx, "SELECT * FROM checks WHERE run_id = ? ORDER BY check_row", (run["run_id"],))
        tx.append(ADOPTED, run["run_id"], {
            "run": row_payload(run, RUN_FIELDS + STATUS_FIELDS),
            "readings": [{**row_payload(r, READING_FIELDS), "reading_id": r["reading_id"]} for r in readings],
            "checks": [{**row_payload(c, CHECK_FIELDS), "check_row": c["check_row"]} for c in checks],
        })
    return {"runs_adopted": len(runs)}


def _dicts(tx: Transaction, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    cursor = tx.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _upgrade_from_2(tx: Transaction) -> dict[str, Any]:
    tx.execute("""CREATE TABLE leases (run_id TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL,
        taken_at TEXT NOT NULL, heartbeat DOUBLE PRECISION NOT NULL)""")
    return {}


def _upgrade_from_3(tx: Transaction) -> dict[str, Any]:
    """Add the bundles table; no existing row changes, so it runs when a store is opened."""
    tx.execute(BUNDLES_TABLE)
    tx.execute(BUNDLES_INDEX)
    return {}


def _upgrade_from_4(tx: Transaction) -> dict[str, Any]:
    """Add the credentials, login_attempts, accounts and sessions tables; a version-4 store has no account entries,
    so no row changes and it runs when a store is opened."""
    for statement in statements(ACCOUNT_TABLES):
        tx.execute(statement)
    return {}


def _upgrade_from_5(tx: Transaction) -> dict[str, Any]:
    """PostgreSQL: drop the foreign keys from readings and checks to runs (by the names the server gave them;
    any other constraint stays);
    SQLite: nothing (a foreign key there costs little, and dropping one means rebuilding the table)."""
    if tx.dialect.name != "postgresql":
        return {}
    dropped = []
    for table in ("readings", "checks"):
        names = [r[0] for r in tx.execute("SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = "
                                          "to_regclass(?) AND confrelid = to_regclass('runs') ORDER BY conname",
                                          (table,)).fetchall()]
        for name in names:
            quoted = name.replace('"', '""')
            tx.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{quoted}"')
            dropped.append(f"{table}.{name}")
    return {"foreign_keys_dropped": dropped}


UPGRADES: dict[int, Upgrade] = {
    1: Upgrade(1, "adds the audit chain and adopts every existing run into it as it stands", _upgrade_from_1,
               explicit=True),
    2: Upgrade(2, "adds the leases table: which process runs a live run", _upgrade_from_2),
    3: Upgrade(3, "adds the bundles table: a bundle of procedures as one record", _upgrade_from_3),
    4: Upgrade(4, "adds the accounts, credentials, login_attempts and sessions tables: accounts, their password "
                  "hashes, sign-in attempts and web-session generations", _upgrade_from_4),
    5: Upgrade(5, "drops, on PostgreSQL, the foreign keys from readings and checks to runs (a per-row trigger); "
                  "the store checks a row's run itself", _upgrade_from_5),
}
