"""The record store: runs, their readings and check outcomes, in SQLite (WAL), committed as they arrive.

Runs keep snapshots, not references: procedure id/version/sha256, the limits used with their sources,
instrument identity and calibration, room equipment, operator, software version, SIMULATED or not. SQL is
kept portable so the same schema can live in PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import RecordError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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
CREATE INDEX IF NOT EXISTS runs_room ON runs (room_id, started_at);
CREATE TABLE IF NOT EXISTS readings (
    reading_id INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE INDEX IF NOT EXISTS readings_run ON readings (run_id, exposure);
CREATE TABLE IF NOT EXISTS checks (
    check_row INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (run_id),
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


def default_path() -> Path:
    """`XCAL_DB`, or xcal.sqlite3 in the platform's user data folder."""
    env = os.environ.get("XCAL_DB")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("xcal", appauthor=False)) / "xcal.sqlite3"


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def new_run_id() -> str:
    """Sortable and short enough to type: UTC date-time plus four random hex digits."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


@dataclass
class RunHeader:
    procedure_id: str
    procedure_version: str
    procedure_sha256: str
    procedure_title: str
    site: str
    room_id: str
    room_name: str
    operator: str
    simulated: bool
    software_version: str
    snapshot: dict[str, Any]
    run_id: str = field(default_factory=new_run_id)
    started_at: str = field(default_factory=now_utc)


@dataclass
class StoredReading:
    exposure: int
    station: int
    repeat: int
    role: str
    instrument_id: str
    quantity: str
    value: float | None
    unit: str
    taken_at: str
    data: Any = None


@dataclass
class StoredCheck:
    check_id: str
    title: str
    station: int | None
    setting: str
    value: float
    nominal: float | None
    unit: str
    deviation: float | None
    allowed: float | None
    limit_name: str
    limit_text: str
    limit_set: str
    source: str
    verdict: str


@dataclass
class StoredRun:
    run_id: str
    procedure_id: str
    procedure_version: str
    procedure_sha256: str
    procedure_title: str
    site: str
    room_id: str
    room_name: str
    operator: str
    simulated: bool
    status: str
    verdict: str | None
    started_at: str
    finished_at: str | None
    software_version: str
    status_note: str | None
    snapshot: dict[str, Any]
    readings: list[StoredReading] = field(default_factory=list)
    checks: list[StoredCheck] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


class Store:
    """One SQLite file. Each write is its own transaction, committed before the call returns."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                             (str(SCHEMA_VERSION),))
        except (sqlite3.Error, OSError) as exc:
            raise RecordError(f"cannot open the record store {self.path}: {exc}",
                              fix="check the path given with --db or XCAL_DB, its folder and permissions") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise RecordError(f"cannot write to the record store {self.path}: {exc}",
                              fix="check the disk has space and the file is writable") from None

    def create_run(self, header: RunHeader) -> str:
        self._write(
            "INSERT INTO runs (run_id, procedure_id, procedure_version, procedure_sha256, procedure_title, site,"
            " room_id, room_name, operator, simulated, status, verdict, started_at, finished_at,"
            " software_version, status_note, snapshot) VALUES (?,?,?,?,?,?,?,?,?,?,'running',NULL,?,NULL,?,NULL,?)",
            (header.run_id, header.procedure_id, header.procedure_version, header.procedure_sha256,
             header.procedure_title, header.site, header.room_id, header.room_name, header.operator,
             int(header.simulated), header.started_at, header.software_version,
             json.dumps(header.snapshot, sort_keys=True)))
        return header.run_id

    def add_reading(self, run_id: str, reading: StoredReading) -> None:
        self._write(
            "INSERT INTO readings (run_id, exposure, station, repeat, role, instrument_id, quantity, value, unit,"
            " data, taken_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, reading.exposure, reading.station, reading.repeat, reading.role, reading.instrument_id,
             reading.quantity, reading.value, reading.unit,
             json.dumps(reading.data) if reading.data is not None else None, reading.taken_at))

    def add_checks(self, run_id: str, checks: list[StoredCheck]) -> None:
        for c in checks:
            self._write(
                "INSERT INTO checks (run_id, check_id, title, station, setting, value, nominal, unit, deviation,"
                " allowed, limit_name, limit_text, limit_set, source, verdict)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, c.check_id, c.title, c.station, c.setting, c.value, c.nominal, c.unit, c.deviation,
                 c.allowed, c.limit_name, c.limit_text, c.limit_set, c.source, c.verdict))

    def finish_run(self, run_id: str, verdict: str) -> None:
        self._write("UPDATE runs SET status='complete', verdict=?, finished_at=? WHERE run_id=?",
                    (verdict, now_utc(), run_id))

    def mark_incomplete(self, run_id: str, reason: str) -> None:
        self._write("UPDATE runs SET status='incomplete', finished_at=?, status_note=? WHERE run_id=?",
                    (now_utc(), reason, run_id))

    def list_runs(self, room: str | None = None, limit: int | None = None) -> list[StoredRun]:
        sql = "SELECT * FROM runs"
        params: tuple[Any, ...] = ()
        if room is not None:
            sql, params = sql + " WHERE room_id = ?", (str(room),)
        sql += " ORDER BY started_at DESC, run_id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [self._run(row) for row in self._query(sql, params)]

    def get_run(self, run_id: str) -> StoredRun:
        rows = list(self._query("SELECT * FROM runs WHERE run_id = ?", (run_id,)))
        if not rows:
            raise RecordError(f"no run '{run_id}' in {self.path}",
                              fix="run `xcal history` to list the runs, or point --db at the right store")
        run = self._run(rows[0])
        run.readings = [StoredReading(r["exposure"], r["station"], r["repeat"], r["role"], r["instrument_id"],
                                      r["quantity"], r["value"], r["unit"], r["taken_at"],
                                      json.loads(r["data"]) if r["data"] else None)
                        for r in self._query("SELECT * FROM readings WHERE run_id = ? ORDER BY reading_id",
                                             (run_id,))]
        run.checks = [StoredCheck(r["check_id"], r["title"], r["station"], r["setting"], r["value"], r["nominal"],
                                  r["unit"], r["deviation"], r["allowed"], r["limit_name"], r["limit_text"],
                                  r["limit_set"], r["source"], r["verdict"])
                      for r in self._query("SELECT * FROM checks WHERE run_id = ? ORDER BY check_row",
                                           (run_id,))]
        return run

    def reading_count(self, run_id: str) -> int:
        return next(iter(self._query("SELECT COUNT(*) AS n FROM readings WHERE run_id = ?", (run_id,))))["n"]

    def _query(self, sql: str, params: tuple[Any, ...]) -> Iterator[sqlite3.Row]:
        self._db.row_factory = sqlite3.Row
        try:
            yield from self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise RecordError(f"cannot read the record store {self.path}: {exc}",
                              fix="check that the file is an xcal record store") from None

    @staticmethod
    def _run(row: sqlite3.Row) -> StoredRun:
        return StoredRun(row["run_id"], row["procedure_id"], row["procedure_version"], row["procedure_sha256"],
                         row["procedure_title"], row["site"], row["room_id"], row["room_name"], row["operator"],
                         bool(row["simulated"]), row["status"], row["verdict"], row["started_at"],
                         row["finished_at"], row["software_version"], row["status_note"],
                         json.loads(row["snapshot"]))
