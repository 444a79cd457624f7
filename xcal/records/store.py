"""The record store: runs, their readings and check outcomes, committed as they arrive.

The store is a SQLite file (WAL) by default, or a PostgreSQL database given by a `postgresql://` URL, for
sites that share one database; backend.py decides which from the location and is the only place that does.
The statements and the audit chain are the same in both (dialect.py lists what differs).

Runs keep snapshots, not references: procedure id/version/sha256, the limits used with their sources,
instrument identity and calibration, room equipment, operator, software version, SIMULATED or not.

The record itself is the append-only `entries` table, an audit chain (see chain.py): every write below is a
row change in the query tables (runs, readings, checks) plus one entry, in one transaction. Rows are only
INSERTed, except the runs row's status columns, whose every change is itself an entry. Corrections and
signatures exist only as entries. `import_runs` records whole runs in bulk with the same rows and entries.
"""

from __future__ import annotations

import json
import os
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import RecordError
from . import bulk, lease, ledger, signatures as sig
from .backend import default_location, display_location, is_url, open_backend
from .chain import (CHECKS, CORRECTION, READING, RUN_CREATED, RUN_FINISHED, RUN_INCOMPLETE, RUN_RESUMED,
                    SIGNATURE, Entry,
                    run_hash)
from .corrections import corrections_of, latest_by_reading, recorded_reading, require_text, require_value
from .models import (Correction, ImportedRun, RunHeader, StoredCheck, StoredReading, StoredRun, new_run_id,
                     now_utc)
from .projection import (CHECK_FIELDS, READING_FIELDS, RUN_FIELDS, STATUS_FIELDS, check_payload, column,
                         reading_payload, run_payload)
from .schema import SCHEMA_VERSION, prepare
from .verify import VerifyReport, check_run, verify_store

__all__ = ["Correction", "ImportedRun", "RunHeader", "SCHEMA_VERSION", "Store", "StoredCheck", "StoredReading",
           "StoredRun", "VerifyReport", "default_location", "default_path", "display_location", "is_url",
           "new_run_id", "now_utc"]


def default_path() -> Path:
    """The SQLite file of `XCAL_DB`, or xcal.sqlite3 in the platform's user data folder.

    When `XCAL_DB` is a postgresql:// URL there is no file: use `default_location()`, which gives either.
    """
    location = default_location()
    if not isinstance(location, Path):
        raise RecordError(f"XCAL_DB names a PostgreSQL database ({display_location(location)}), not a file",
                          fix="use default_location(), which gives the file path or the URL")
    return location


def _insert(table: str, columns: tuple[str, ...], returning: str | None = None) -> str:
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    return sql + (f" RETURNING {returning}" if returning else "")


_RUN_INSERT = _insert("runs", ("run_id",) + RUN_FIELDS + STATUS_FIELDS)
_READING_INSERT = _insert("readings", ("run_id",) + READING_FIELDS, "reading_id")
_CHECK_INSERT = _insert("checks", ("run_id", "room_id") + CHECK_FIELDS, "check_row")


class Store:
    """One record store: a SQLite file or a PostgreSQL database. Each write is its own transaction, committed
    before the call returns.

    `location` is a SQLite path or a `postgresql://` URL (None: `XCAL_DB`, else the user data folder's file).
    `path` is the file's Path, or for PostgreSQL the URL without its password (what messages show).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, upgrade_by: str | None = None) -> None:
        """Open (or create) the store. `upgrade_by`, a person's name, allows the upgrades that adopt existing
        records into the chain (schema.py); without it a store needing one is refused. `upgraded_from` lists
        the schema versions this open upgraded from."""
        self._db = open_backend(path)
        self.path: Path | str = self._db.path
        self._dialect = self._db.dialect
        self._heartbeat = lease.Heartbeat(path if path not in (None, "") else default_location())
        try:
            self.upgraded_from = prepare(self._db, upgrade_by)
        except self._db.errors as exc:
            self._db.close()
            raise RecordError(f"cannot prepare the record store {self._db.location}: {self._db.reason(exc)}",
                              fix=self._db.fixes.prepare) from None
        except BaseException:
            self._db.close()
            raise

    @property
    def backend(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self._dialect.name

    def size_bytes(self) -> int:
        """What the store takes: the SQLite file with its WAL, or the PostgreSQL tables with their indexes."""
        return self._db.size_bytes()

    def close(self) -> None:
        self._heartbeat.stop()
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self) -> AbstractContextManager[ledger.Transaction]:
        return ledger.write(self._db)

    def create_run(self, header: RunHeader) -> str:
        """Record a new run in status 'running', held by this process's lease, and return its id."""
        payload = run_payload(header)
        with self._write() as tx:
            tx.execute(_RUN_INSERT, (header.run_id,) + tuple(column(n, payload[n])
                                                               for n in RUN_FIELDS + STATUS_FIELDS))
            entry = tx.append(RUN_CREATED, header.run_id, payload)
            lease.take(tx, header.run_id, entry.at)
        self._heartbeat.hold(header.run_id)
        return header.run_id

    def add_reading(self, run_id: str, reading: StoredReading) -> None:
        """Record one reading; it is on disk when this returns. The same reading twice is a RecordError."""
        self.add_readings(run_id, [reading])

    def add_readings(self, run_id: str, readings: list[StoredReading]) -> None:
        """Record the readings of one exposure together (one entry each): all are on disk, or none."""
        with self._write() as tx:
            for reading in readings:
                payload = reading_payload(reading, 0)
                payload["reading_id"] = tx.insert_returning(
                    _READING_INSERT, (run_id,) + tuple(column(n, payload[n]) for n in READING_FIELDS))
                tx.append(READING, run_id, payload)

    def add_checks(self, run_id: str, checks: list[StoredCheck]) -> None:
        """Record the run's check outcomes as one entry (an empty list is recorded too: nothing was judged)."""
        with self._write() as tx:
            self._add_checks(tx, run_id, checks)

    def _add_checks(self, tx: ledger.Transaction, run_id: str, checks: list[StoredCheck]) -> None:
        room = tx.execute("SELECT room_id FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if room is None:
            raise self._no_run(run_id)
        recorded = []
        for check in checks:
            payload = check_payload(check, 0)
            payload["check_row"] = tx.insert_returning(
                _CHECK_INSERT, (run_id, room[0]) + tuple(payload[n] for n in CHECK_FIELDS))
            recorded.append(payload)
        tx.append(CHECKS, run_id, {"checks": recorded})

    def import_runs(self, runs: Iterable[ImportedRun], *, batch_readings: int = 50_000) -> bulk.ImportSummary:
        """Record whole runs in bulk, with the rows and chain entries each would leave if recorded live.

        Runs are written in batches of whole runs of about `batch_readings` readings, one transaction each:
        a refused run (an id already in the store, the same reading twice, a value that is not a finite
        number) leaves its batch out and raises; the batches before it stay recorded. `runs` may be a
        generator, so a large import never sits in memory at once.
        """
        if batch_readings < 1:
            raise RecordError(f"import_runs needs a batch of at least one reading, not {batch_readings}",
                              fix="pass batch_readings=50_000 or leave it out")
        total = bulk.ImportSummary()
        batch: list[ImportedRun] = []
        size = 0
        for run in runs:
            batch.append(run)
            size += len(run.readings) + 1
            if size >= batch_readings:
                with self._write() as tx:
                    total.add(bulk.write_batch(tx, batch))
                batch, size = [], 0
        if batch:
            with self._write() as tx:
                total.add(bulk.write_batch(tx, batch))
        return total

    def finish_run(self, run_id: str, verdict: str, checks: list[StoredCheck] | None = None) -> None:
        """Mark the run complete with its verdict; with `checks`, record them in the same transaction, so a
        crash leaves both or neither (a resumed run then judges once, not twice)."""
        with self._write() as tx:
            if checks is not None:
                self._add_checks(tx, run_id, checks)
            self._status(tx, run_id, RUN_FINISHED,
                         {"status": "complete", "verdict": verdict, "finished_at": now_utc()})
            lease.release(tx, run_id)
        self._heartbeat.drop(run_id)

    def mark_incomplete(self, run_id: str, reason: str) -> None:
        """Mark the run incomplete with the reason; its readings stay."""
        with self._write() as tx:
            self._status(tx, run_id, RUN_INCOMPLETE,
                         {"status": "incomplete", "finished_at": now_utc(), "status_note": reason})
            lease.release(tx, run_id)
        self._heartbeat.drop(run_id)

    def resume_run(self, run_id: str, operator: str) -> None:
        """Open a cut-off run again so a resumed run can add its missing readings; recorded in the chain.

        Refused while another live process holds the run's lease; this process holds it from here on.
        """
        with self._write() as tx:
            status = tx.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if status is None:
                raise self._no_run(run_id)
            if status[0] == "complete":
                raise RecordError(f"run {run_id} is complete; there is nothing to resume",
                                  fix="start a new run with `xcal run PROCEDURE --room N`")
            held = lease.holder(tx, run_id)
            if held is not None and held.live() and not held.mine():
                raise RecordError(f"run {run_id} is still running: {held.describe()}",
                                  fix="let that run finish, or stop it there (Ctrl-C); resume it once that "
                                      "process is gone")
            at = now_utc()
            self._status(tx, run_id, RUN_RESUMED, {"status": "running", "finished_at": None,
                                                   "status_note": f"resumed by {operator} at {at}"})
            lease.take(tx, run_id, at)
        self._heartbeat.hold(run_id)

    def _status(self, tx: ledger.Transaction, run_id: str, kind: str, change: dict[str, Any]) -> None:
        names = tuple(change)
        done = tx.execute(f"UPDATE runs SET {', '.join(n + ' = ?' for n in names)} WHERE run_id = ?",
                          tuple(change.values()) + (run_id,))
        if done.rowcount == 0:
            raise self._no_run(run_id)
        tx.append(kind, run_id, change)

    def correct_reading(self, run_id: str, reading_id: int, new_value: float, unit: str, reason: str,
                        person: str) -> int:
        """Record a correction of one reading and return its id (the seq of its entry).

        The reading's row is left as recorded; `get_run` shows the correction next to it. The run's checks and
        verdict are not re-judged, and signatures made before the correction stop holding.
        """
        value, unit = require_value(new_value, unit)
        why = require_text(reason, "a reason", "say why the value is corrected, e.g. 'meter display misread'")
        who = require_text(person, "the person making it", "give the full name of the person correcting")
        with self._write() as tx:
            entries = list(self.entries(run_id))
            found = recorded_reading(entries, reading_id)
            if found is None:
                raise RecordError(f"run {run_id} has no reading {reading_id} in its record",
                                  fix=f"run `xcal show-run {run_id} --json` to see its reading ids")
            reading_seq, original = found
            if original.get("quantity") == "waveform":
                raise RecordError(f"reading {reading_id} of run {run_id} is a waveform; a correction replaces "
                                  f"one value", fix="correct the value read from the waveform instead")
            earlier = [c for c in corrections_of(entries) if c.reading_id == reading_id]
            entry = tx.append(CORRECTION, run_id, {
                "reading_id": reading_id, "reading_seq": reading_seq, "original_value": original.get("value"),
                "original_unit": original.get("unit"), "new_value": value, "unit": unit, "reason": why,
                "person": who, "supersedes": earlier[-1].correction_id if earlier else None})
        return entry.seq

    def sign(self, run_id: str, meaning: str, name: str) -> sig.Signature:
        """Bind `name`, now and `meaning` (performed, reviewed or approved) to the run's current hash.

        A run still running cannot be signed, nor one whose stored rows disagree with its entries.
        """
        meaning, name = sig.require_meaning(meaning, name)
        with self._write() as tx:
            status = tx.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if status is None:
                raise self._no_run(run_id)
            if status[0] == "running":
                raise RecordError(f"run {run_id} is still running; a signature binds a finished record",
                                  fix="sign once the run is complete or marked incomplete")
            problem = check_run(self, run_id)
            if problem:
                raise RecordError(f"run {run_id} does not verify, so it cannot be signed: {problem.reason}",
                                  fix="run `xcal verify` and restore the store from a backup")
            bound = run_hash(self.entries(run_id))
            entry = tx.append(SIGNATURE, run_id, {"meaning": meaning, "name": name, "run_hash": bound})
        return sig.Signature(run_id, meaning, name, entry.at, bound, entry.seq)

    def signatures(self, run_id: str) -> list[sig.SignatureStatus]:
        """Every signature of the run, oldest first, each with whether it still holds."""
        with self._snapshot():
            self._require_run(run_id)
            return sig.statuses(self, run_id)

    def verify(self) -> VerifyReport:
        """Recompute the audit chain and compare the query tables with it; name the first broken entry."""
        with self._snapshot():
            return verify_store(self)

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Read inside one transaction, so rows and entries committed meanwhile by a run do not half-show."""
        if self._db.in_transaction:
            yield
            return
        try:
            self._db.begin_read()
        except self._db.errors as exc:
            raise self._read_error(exc) from None
        try:
            yield
        finally:
            if self._db.in_transaction:
                try:
                    self._db.commit()
                except self._db.errors:
                    self._db.rollback()

    def list_runs(self, room: str | None = None, limit: int | None = None) -> list[StoredRun]:
        """Run headers with their corrections (without readings and checks), newest first, of one room or all."""
        sql = "SELECT * FROM runs"
        params: tuple[Any, ...] = ()
        if room is not None:
            sql, params = sql + " WHERE room_id = ?", (str(room),)
        sql += " ORDER BY started_at DESC, run_id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        runs = [self._shown(self._run(row)) for row in self.select(sql, params)]
        for run in runs:
            rows = self.select("SELECT seq, at, kind, run_id, payload, prev_hash, hash FROM entries "
                               "WHERE run_id = ? AND kind = ? ORDER BY seq", (run.run_id, CORRECTION))
            run.corrections = corrections_of(Entry(*r) for r in rows)
        return runs

    def get_run(self, run_id: str) -> StoredRun:
        """One run with its readings (each with its latest correction, if any), checks and corrections."""
        with self._snapshot():
            return self._full_run(run_id)

    def _full_run(self, run_id: str) -> StoredRun:
        run = self._shown(self._require_run(run_id))
        run.corrections = corrections_of(self.entries(run_id))
        latest = latest_by_reading(run.corrections)
        run.readings = [StoredReading(r["exposure"], r["station"], r["repeat"], r["role"], r["instrument_id"],
                                      r["quantity"], r["value"], r["unit"], r["taken_at"], _json(r["data"]),
                                      r["reading_id"], latest.get(r["reading_id"]))
                        for r in self.select("SELECT * FROM readings WHERE run_id = ? ORDER BY reading_id",
                                             (run_id,))]
        run.checks = [StoredCheck(*(r[n] for n in CHECK_FIELDS))
                      for r in self.select("SELECT * FROM checks WHERE run_id = ? ORDER BY check_row", (run_id,))]
        return run

    def reading_count(self, run_id: str) -> int:
        """How many readings the run holds."""
        return next(iter(self.select("SELECT COUNT(*) AS n FROM readings WHERE run_id = ?", (run_id,))))["n"]

    def entries(self, run_id: str | None = None, *, page: int = 10_000) -> Iterator[Entry]:
        """The audit chain in seq order: all of it, or the entries of one run.

        The whole chain is read `page` entries at a time, so a large store's chain never sits in memory at once
        and other reads may run between pages.
        """
        sql = "SELECT seq, at, kind, run_id, payload, prev_hash, hash FROM entries"
        if run_id is not None:
            rows: Iterable[Any] = self.select(sql + " WHERE run_id = ? ORDER BY seq", (run_id,))
        else:
            rows = self._pages(sql, page)
        return (Entry(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows)

    def _pages(self, sql: str, page: int) -> Iterator[Any]:
        rows = list(self.select(f"{sql} ORDER BY seq LIMIT {int(page)}"))
        while rows:
            yield from rows
            if len(rows) < page:
                return
            rows = list(self.select(f"{sql} WHERE seq > ? ORDER BY seq LIMIT {int(page)}", (rows[-1][0],)))

    def select(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Any]:
        """Rows of one read-only SELECT (written with `?` placeholders); for export, trend and verify.

        Each row is read by column name or by position, whichever the database.
        """
        if not sql.lstrip().upper().startswith("SELECT"):
            raise RecordError("Store.select only reads", fix="write through the Store's methods")
        return self._rows(sql, params)

    def _rows(self, sql: str, params: tuple[Any, ...]) -> Iterator[Any]:
        try:
            yield from self._db.execute(sql, params)
        except self._db.errors as exc:
            raise self._read_error(exc) from None

    def _read_error(self, exc: BaseException) -> RecordError:
        return RecordError(f"cannot read the record store {self.path}: {self._db.reason(exc)}",
                           fix=self._db.fixes.read)

    def _shown(self, run: StoredRun) -> StoredRun:
        """The run with status 'interrupted' when it is recorded 'running' but no live process holds it."""
        if run.status == "running":
            held = lease.holder(self._db, run.run_id)
            if held is None or not held.live():
                run.status = "interrupted"
        return run

    def _require_run(self, run_id: str) -> StoredRun:
        rows = list(self.select("SELECT * FROM runs WHERE run_id = ?", (run_id,)))
        if not rows:
            raise self._no_run(run_id)
        return self._run(rows[0])

    def _no_run(self, run_id: str) -> RecordError:
        return RecordError(f"no run '{run_id}' in {self.path}",
                           fix="run `xcal history` to list the runs, or point --db at the right store")

    @staticmethod
    def _run(row: Any) -> StoredRun:
        return StoredRun(row["run_id"], row["procedure_id"], row["procedure_version"], row["procedure_sha256"],
                         row["procedure_title"], row["site"], row["room_id"], row["room_name"], row["operator"],
                         bool(row["simulated"]), row["status"], row["verdict"], row["started_at"],
                         row["finished_at"], row["software_version"], row["status_note"],
                         _json(row["snapshot"]))


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None
