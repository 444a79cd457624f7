"""The store's tables and indexes, and the one-way upgrade of a version-1 store to the audit chain.

Version 2 adds the append-only `entries` table (the record) and a denormalised `room_id` on `checks` for
trends. A version-1 store is upgraded in one transaction: each of its runs, as it stands, becomes one
`adopted` entry, so `verify` vouches for those rows from the upgrade on (not for what happened before it).
Version-1 stores were only ever SQLite files; a PostgreSQL store starts at version 2.

The statements are the same for every database except the two integer-key declarations, which come from the
dialect (dialect.py): `{id_column}` and `{seq_column}` below.
"""

from __future__ import annotations

from ..errors import RecordError
from .chain import ADOPTED
from .dialect import Dialect
from .ledger import Transaction
from .projection import CHECK_FIELDS, READING_FIELDS, RUN_FIELDS, STATUS_FIELDS, row_payload

SCHEMA_VERSION = 2

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
    run_id TEXT NOT NULL REFERENCES runs (run_id),
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
    run_id TEXT NOT NULL REFERENCES runs (run_id),
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
"""

INDEXES = """
CREATE INDEX IF NOT EXISTS entries_run ON entries (run_id, seq);
CREATE INDEX IF NOT EXISTS runs_room ON runs (room_id, started_at);
CREATE INDEX IF NOT EXISTS readings_run ON readings (run_id, exposure);
CREATE INDEX IF NOT EXISTS checks_run ON checks (run_id);
CREATE INDEX IF NOT EXISTS checks_room_result ON checks (room_id, check_id, run_id);
"""


def statements(script: str) -> list[str]:
    """The statements of a `;`-separated script (the scripts here hold no `;` inside a statement)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def table_statements(dialect: Dialect) -> list[str]:
    """CREATE TABLE IF NOT EXISTS for every table, with the dialect's integer keys."""
    return statements(TABLES.format(id_column=dialect.id_column, seq_column=dialect.seq_column))


def index_statements() -> list[str]:
    """CREATE INDEX IF NOT EXISTS for every index (the same in every dialect)."""
    return statements(INDEXES)


def settle_version(tx: Transaction, where: str) -> None:
    """Stamp a new store with the current version, or upgrade a version-1 store; refuse a newer one."""
    row = tx.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        tx.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        return
    version = int(row[0])
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise RecordError(f"the record store {where} has schema version {version}; this xcal reads up to "
                          f"{SCHEMA_VERSION}", fix="upgrade xcal to open this store")
    _upgrade_from_1(tx)
    tx.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))


def _upgrade_from_1(tx: Transaction) -> None:
    columns = {r[1] for r in tx.execute("PRAGMA table_info(checks)")}
    if "room_id" not in columns:
        tx.execute("ALTER TABLE checks ADD COLUMN room_id TEXT")
    tx.execute("UPDATE checks SET room_id = (SELECT runs.room_id FROM runs WHERE runs.run_id = checks.run_id)")
    runs = _dicts(tx, "SELECT * FROM runs ORDER BY started_at, run_id", ())
    for run in runs:
        readings = _dicts(tx, "SELECT * FROM readings WHERE run_id = ? ORDER BY reading_id", (run["run_id"],))
        checks = _dicts(tx, "SELECT * FROM checks WHERE run_id = ? ORDER BY check_row", (run["run_id"],))
        tx.append(ADOPTED, run["run_id"], {
            "run": row_payload(run, RUN_FIELDS + STATUS_FIELDS),
            "readings": [{**row_payload(r, READING_FIELDS), "reading_id": r["reading_id"]} for r in readings],
            "checks": [{**row_payload(c, CHECK_FIELDS), "check_row": c["check_row"]} for c in checks],
        })


def _dicts(tx: Transaction, sql: str, params: tuple[str, ...]) -> list[dict[str, object]]:
    cursor = tx.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
