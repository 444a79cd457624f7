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
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RecordError
from . import bundles, lease, ledger
from .backend import default_location, display_location, is_url, open_backend
from .chain import (
    CHECKS,
    CORRECTION,
    READING,
    RESUME_CHANGES,
    RUN_CREATED,
    RUN_FINISHED,
    RUN_INCOMPLETE,
    RUN_RESUMED,
    SIGNATURE,
    Entry,
    run_hash,
)
from .corrections import corrections_of, latest_by_reading, recorded_reading, require_text, require_value
from .models import Correction, ImportedRun, RunHeader, StoredCheck, StoredReading, StoredRun, new_run_id, now_utc
from .projection import (
    CHECK_FIELDS,
    READING_FIELDS,
    RUN_FIELDS,
    STATUS_FIELDS,
    check_payload,
    column,
    reading_payload,
    run_payload,
)
from .schema import SCHEMA_VERSION, prepare

if TYPE_CHECKING:                          # imported where used: `xcal trend` and the like need none of them
    from . import bulk
    from . import signatures as sig
    from .verify import VerifyReport

__all__ = ["Correction", "ImportedRun", "RunHeader", "SCHEMA_VERSION", "Store", "StoredCheck", "StoredReading",
           "StoredRun", "default_location", "default_path", "display_location", "is_url",
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


_HEADER_COLUMNS = ", ".join("r." + n for n in ("run_id",) + RUN_FIELDS + STATUS_FIELDS if n != "snapshot")
_NEWEST = ("(SELECT run_id FROM runs WHERE room_id = p.column2 AND procedure_id = p.column3{status} "
           "ORDER BY started_at DESC, run_id DESC LIMIT 1)")
_LATEST_CHUNK = 25
"""Room × procedure pairs asked in one statement. Two parameters a pair keep it within what psycopg prepares
and caches (at most 50 parameters, 4 096 bytes), so the statements of an overview are parsed and planned once;
each pair is two searches of the index runs_procedure_room."""


def _latest_sql(pairs: int) -> str:
    """For `xcal due`: of each of `pairs` room × procedure pairs (parameters room, procedure each), its newest
    run (part 1) and newest complete run (part 2), marked with the pair's index. A VALUES list names the
    pairs once (its columns are column1, column2... in SQLite and PostgreSQL alike)."""
    values = ", ".join(f"({k}, ?, ?)" for k in range(pairs))
    newest = " UNION ALL ".join(f"SELECT p.column1 AS pair, {part} AS part, {_NEWEST.format(status=status)} AS "
                                f"run_id FROM p" for part, status in ((1, ""), (2, " AND status = 'complete'")))
    return (f"WITH p AS (SELECT * FROM (VALUES {values}) AS v), q AS ({newest}) "
            f"SELECT {_HEADER_COLUMNS}, '{{}}' AS snapshot, q.pair, q.part FROM q JOIN runs r ON r.run_id = q.run_id")


_RUN_INSERT = _insert("runs", ("run_id",) + RUN_FIELDS + STATUS_FIELDS)
_READING_INSERT = _insert("readings", ("run_id",) + READING_FIELDS, "reading_id")
_CHECK_INSERT = _insert("checks", ("run_id", "room_id") + CHECK_FIELDS, "check_row")


class Store:
    """One record store: a SQLite file or a PostgreSQL database. Each write is its own transaction, committed
    before the call returns.

    `location` is a SQLite path or a `postgresql://` URL (None: `XCAL_DB`, else the user data folder's file).
    `path` is the file's Path, or for PostgreSQL the URL without its password (what messages show); `_location`
    the location as given, a URL with its password, for what opens the store too (verify's workers, leases).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, upgrade_by: str | None = None) -> None:
        """Open (or create) the store. `upgrade_by`, a person's name, allows the upgrades that adopt existing
        records into the chain (schema.py); without it a store needing one is refused. `upgraded_from` lists
        the schema versions this open upgraded from."""
        self._db = open_backend(path)
        self.path: Path | str = self._db.path
        self._dialect = self._db.dialect
        self._location = path if path not in (None, "") else default_location()
        self._heartbeat = lease.Heartbeat(self._location)
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

    def __enter__(self) -> Store:
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
            if tx.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
                raise self._no_run(run_id)
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
        generator, so a large import never sits in memory at once. A SQLite store's log is copied into its
        file every few batches rather than after each (backend.bulk_writes); every commit is on disk either way.
        A PostgreSQL store's planner statistics are refreshed at the end (dialect.after_bulk).
        """
        from . import bulk

        if batch_readings < 1:
            raise RecordError(f"import_runs needs a batch of at least one reading, not {batch_readings}",
                              fix="pass batch_readings=50_000 or leave it out")
        total = bulk.ImportSummary()
        batch: list[ImportedRun] = []
        size = 0
        with self._db.bulk_writes() as checkpoint:
            for run in runs:
                batch.append(run)
                size += len(run.readings) + 1
                if size >= batch_readings:
                    total.add(self._import_batch(batch))
                    batch, size = [], 0
                    if total.batches % bulk.CHECKPOINT_BATCHES == 0:
                        checkpoint()
            if batch:
                total.add(self._import_batch(batch))
        for statement in self._dialect.after_bulk:         # statistics only: the import is committed either way
            with suppress(*self._db.errors):
                self._db.execute(statement)
        return total

    def _import_batch(self, runs: list[ImportedRun]) -> bulk.ImportSummary:
        """One batch of `import_runs`: one transaction, written with the cycle collector off."""
        from . import bulk

        with bulk.collector_paused(), self._write() as tx:
            return bulk.write_batch(tx, runs)

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

    def record_resume_changes(self, run_id: str, changes: dict[str, Any]) -> None:
        """Record, before a cut-off run is resumed, the site-file changes the resume accepts (see session.py)."""
        with self._write() as tx:
            if tx.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
                raise self._no_run(run_id)
            tx.append(RESUME_CHANGES, run_id, changes)

    def _status(self, tx: ledger.Transaction, run_id: str, kind: str, change: dict[str, Any]) -> None:
        names = tuple(change)
        done = tx.execute(f"UPDATE runs SET {', '.join(n + ' = ?' for n in names)} WHERE run_id = ?",
                          tuple(change.values()) + (run_id,))
        if done.rowcount == 0:
            raise self._no_run(run_id)
        tx.append(kind, run_id, change)

    def create_bundle(self, bundle: bundles.StoredBundle) -> str:
        """Record a new bundle in status 'running' with its members (no run ids yet) and return its id."""
        payload = {n: getattr(bundle, n) for n in bundles.BUNDLE_FIELDS}
        payload.update(status="running", verdict=None, finished_at=None, status_note=None,
                       members=bundles.members_payload(bundle.members))
        names = ("bundle_id",) + bundles.BUNDLE_FIELDS + bundles.BUNDLE_STATUS_FIELDS
        with self._write() as tx:
            tx.execute(_insert("bundles", names),
                       (bundle.bundle_id,) + tuple(bundles.column(n, payload[n]) for n in names[1:]))
            tx.append(bundles.BUNDLE_CREATED, bundle.bundle_id, payload)
        return bundle.bundle_id

    def add_bundle_member(self, bundle_id: str, index: int, run_id: str) -> None:
        """Record that member `index` (0-based) of the bundle is run as `run_id`, the moment that run starts."""
        with self._write() as tx:
            row = tx.execute("SELECT members FROM bundles WHERE bundle_id = ?", (bundle_id,)).fetchone()
            if row is None:
                raise self._no_bundle(bundle_id)
            members = bundles.row_value("members", row[0])
            members[index]["run_id"] = run_id
            self._bundle_status(tx, bundle_id, bundles.BUNDLE_MEMBER,
                                {"members": members}, {"index": index, "procedure": members[index]["procedure"],
                                                       "run_id": run_id})

    def finish_bundle(self, bundle_id: str, status: str, verdict: str, note: str | None = None) -> None:
        """Record the bundle's status ('complete' or 'incomplete') and verdict, with why it stopped if it did."""
        with self._write() as tx:
            self._bundle_status(tx, bundle_id, bundles.BUNDLE_FINISHED, {
                "status": status, "verdict": verdict, "finished_at": now_utc(), "status_note": note})

    def resume_bundle(self, bundle_id: str, operator: str) -> None:
        """Open a cut-off bundle again (recorded in the chain); a complete one is refused."""
        with self._write() as tx:
            row = tx.execute("SELECT status FROM bundles WHERE bundle_id = ?", (bundle_id,)).fetchone()
            if row is None:
                raise self._no_bundle(bundle_id)
            if row[0] == "complete":
                raise RecordError(f"bundle {bundle_id} is complete; there is nothing to resume",
                                  fix="start a new bundle with `xcal run BUNDLE --room N`")
            at = now_utc()
            self._bundle_status(tx, bundle_id, bundles.BUNDLE_RESUMED, {
                "status": "running", "finished_at": None, "status_note": f"resumed by {operator} at {at}"})

    def _bundle_status(self, tx: ledger.Transaction, bundle_id: str, kind: str, change: dict[str, Any],
                       extra: dict[str, Any] | None = None) -> None:
        names = tuple(change)
        done = tx.execute(f"UPDATE bundles SET {', '.join(n + ' = ?' for n in names)} WHERE bundle_id = ?",
                          tuple(bundles.column(n, v) for n, v in change.items()) + (bundle_id,))
        if done.rowcount == 0:
            raise self._no_bundle(bundle_id)
        tx.append(kind, bundle_id, {**(extra or {}), **change})

    def is_bundle(self, record_id: str) -> bool:
        """Whether `record_id` names a bundle (rather than a run)."""
        return bool(list(self.select("SELECT bundle_id FROM bundles WHERE bundle_id = ?", (record_id,))))

    def get_bundle(self, bundle_id: str) -> bundles.StoredBundle:
        """One bundle with each member's run status and verdict; 'interrupted' when recorded running but none
        of its member runs is live."""
        with self._snapshot():
            rows = list(self.select("SELECT * FROM bundles WHERE bundle_id = ?", (bundle_id,)))
            if not rows:
                raise self._no_bundle(bundle_id)
            return self._bundle_members(bundles.from_row(rows[0]))

    def list_bundles(self, room: str | None = None, limit: int | None = None) -> list[bundles.StoredBundle]:
        """Bundles with their members, newest first, of one room or all."""
        sql = "SELECT * FROM bundles"
        params: tuple[Any, ...] = ()
        if room is not None:
            sql, params = sql + " WHERE room_id = ?", (str(room),)
        sql += " ORDER BY started_at DESC, bundle_id DESC" + (f" LIMIT {int(limit)}" if limit else "")
        with self._snapshot():
            return [self._bundle_members(bundles.from_row(r)) for r in self.select(sql, params)]

    def _bundle_members(self, bundle: bundles.StoredBundle) -> bundles.StoredBundle:
        live = False
        for member in bundle.members:
            if member.run_id:
                rows = list(self.select("SELECT * FROM runs WHERE run_id = ?", (member.run_id,)))
                if rows:
                    run = self._shown(self._run(rows[0]))
                    member.status, member.verdict = run.status, run.verdict
                    live = live or run.status == "running"
        if bundle.status == "running" and not live:
            bundle.status = "interrupted"
        return bundle

    def _no_bundle(self, bundle_id: str) -> RecordError:
        return RecordError(f"no bundle '{bundle_id}' in {self.path}",
                           fix="run `xcal history` to list the bundles, or point --db at the right store")

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
                                  fix=f"run `xcal show-run {run_id}`: its Readings table gives each reading's id")
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

    def sign(self, run_id: str, meaning: str, name: str, *, account: str | None = None) -> sig.Signature:
        """Bind `name`, now and `meaning` (performed, reviewed or approved) to the run's current hash.

        `account` is the signer's username, once their password was checked (accounts.sign_run); a store that
        has accounts refuses a signature without one. A run still running cannot be signed, nor one whose stored
        rows disagree with its entries.
        """
        from . import signatures as sig
        from .verify import check_run

        meaning, name = sig.require_meaning(meaning, name)
        with self._write() as tx:
            sig.require_account(tx, account)
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
            entry = tx.append(SIGNATURE, run_id, sig.sealed(tx, run_id, meaning, name, bound, account))
        return sig.Signature(run_id, meaning, name, entry.at, bound, entry.seq, account or "")

    def signatures(self, run_id: str) -> list[sig.SignatureStatus]:
        """Every signature of the run, oldest first, each with whether it still holds."""
        from . import signatures as sig

        with self._snapshot():
            self._require_run(run_id)
            return sig.statuses(self, run_id)

    def append_entries(self, build: Callable[[], list[tuple[str, dict[str, Any]]]]) -> list[Entry]:
        """Record store-level entries (program records: run_id ''), all or none; `build` runs inside the write
        transaction, so what it reads (e.g. the next action number) cannot change before they are appended."""
        with self._write() as tx:
            return [tx.append(kind, "", payload) for kind, payload in build()]

    def write_with_entries(self, change: Callable[[ledger.Transaction], list[tuple[str, dict[str, Any]]]]
                           ) -> list[Entry]:
        """Run `change` inside one write transaction and append the store-level entries it returns: for records
        that also keep operating rows outside the chain (accounts.py: credentials, sign-in attempts)."""
        with self._write() as tx:
            return [tx.append(kind, "", payload) for kind, payload in change(tx)]

    def entries_of_kind(self, kinds: Iterable[str]) -> list[Entry]:
        """The store-level entries of these kinds, oldest first (how program records are read back)."""
        wanted = sorted(kinds)
        marks = ", ".join("?" * len(wanted))
        rows = self.select(f"SELECT seq, at, kind, run_id, payload, prev_hash, hash FROM entries WHERE run_id = '' "
                           f"AND kind IN ({marks}) ORDER BY seq", tuple(wanted))
        return [Entry(*r) for r in rows]

    def verify(self, *, public: Any = None, anchor: Any = None, since_anchor: bool = False) -> VerifyReport:
        """Recompute the audit chain and compare the query tables with it; name the first broken entry.

        With the site's public key and an anchor file, also against them (verify.verify_store, anchor.py)."""
        from .verify import verify_store

        with self._snapshot():
            return verify_store(self, public=public, anchor=anchor, since_anchor=since_anchor)

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
        """Run headers with their corrections (without readings and checks), newest first, of one room or all.

        The newest are read from the index runs_started (runs_room for one room), not by sorting every run.
        """
        sql = "SELECT * FROM runs"
        params: tuple[Any, ...] = ()
        if room is not None:
            sql, params = sql + " WHERE room_id = ?", (str(room),)
        sql += " ORDER BY started_at DESC, run_id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        runs = [self._shown(self._run(row)) for row in self.select(sql, params)]
        found = self._corrections([run.run_id for run in runs])
        for run in runs:
            run.corrections = found.get(run.run_id, [])
        return runs

    def _corrections(self, run_ids: list[str], chunk: int = 500) -> dict[str, list[Correction]]:
        """Run id -> its corrections, oldest first, for many runs in few queries.

        The literal kind lets the partial index entries_corrections answer, so a run's readings are not read.
        """
        found: dict[str, list[Correction]] = {}
        for first in range(0, len(run_ids), chunk):
            ids = run_ids[first:first + chunk]
            rows = self.select(f"SELECT seq, at, kind, run_id, payload, prev_hash, hash FROM entries "
                               f"WHERE kind = '{CORRECTION}' AND run_id IN ({', '.join('?' * len(ids))}) "
                               f"ORDER BY seq", tuple(ids))
            for correction in corrections_of(Entry(*r) for r in rows):
                found.setdefault(correction.run_id, []).append(correction)
        return found

    def latest_runs(self, room: str, procedure: str) -> tuple[StoredRun | None, StoredRun | None]:
        """For `xcal due`: the room's latest complete run of `procedure`, and its newest run when that is not
        complete (begun after the latest complete one, not finished); None for either when there is none.

        Headers only, ordered as `list_runs`, without corrections, readings, checks or snapshot (an empty dict: a
        schedule needs none, and a snapshot is most of a run's row); see `latest_runs_of`.
        """
        return self.latest_runs_of([(room, procedure)])[(str(room), procedure)]

    def latest_runs_of(self, pairs: Iterable[tuple[str, str]]
                       ) -> dict[tuple[str, str], tuple[StoredRun | None, StoredRun | None]]:
        """`latest_runs` of each (room, procedure) pair, asked 25 pairs a statement: two searches of the index
        runs_procedure_room each, however many runs the rooms hold, all from one state of the store."""
        wanted = list(dict.fromkeys((str(room), procedure) for room, procedure in pairs))
        found: dict[tuple[str, str], tuple[StoredRun | None, StoredRun | None]] = {}
        with self._snapshot():
            for first in range(0, len(wanted), _LATEST_CHUNK):
                chunk = wanted[first:first + _LATEST_CHUNK]
                rows: dict[tuple[int, int], StoredRun] = {
                    (row["pair"], row["part"]): self._run(row)
                    for row in self._rows(_latest_sql(len(chunk)), tuple(v for pair in chunk for v in pair))}
                for k, pair in enumerate(chunk):
                    newest, complete = rows.get((k, 1)), rows.get((k, 2))
                    opened = None if newest is None or newest.status == "complete" else self._shown(newest)
                    found[pair] = (complete, opened)
        return found

    def runs_of_procedure(self, procedure: str) -> list[StoredRun]:
        """Headers (no corrections, readings or checks) of every run of `procedure` in any room, newest first:
        what `xcal due` looks through for the garments an inspection names in its snapshot (index
        runs_procedure_room: the other procedures' runs are not read)."""
        sql = "SELECT * FROM runs WHERE procedure_id = ? ORDER BY started_at DESC, run_id DESC"
        return [self._shown(self._run(row)) for row in self.select(sql, (procedure,))]

    def started_at(self, run_ids: Iterable[str]) -> dict[str, str]:
        """When each of these runs started (ids the store does not have are left out)."""
        wanted = sorted(set(run_ids))
        found: dict[str, str] = {}
        for first in range(0, len(wanted), 500):                     # within every database's parameter limit
            part = wanted[first:first + 500]
            sql = f"SELECT run_id, started_at FROM runs WHERE run_id IN ({', '.join('?' * len(part))})"
            found.update((r[0], r[1]) for r in self.select(sql, tuple(part)))
        return found

    def get_run(self, run_id: str) -> StoredRun:
        """One run with its readings (each with its latest correction, if any), checks and corrections."""
        with self._snapshot():
            return self._full_run(run_id)

    def _full_run(self, run_id: str) -> StoredRun:
        run = self._shown(self._require_run(run_id))
        run.corrections = self._corrections([run_id]).get(run_id, [])
        latest = latest_by_reading(run.corrections)
        run.readings = [StoredReading(exposure=r["exposure"], station=r["station"], repeat=r["repeat"], role=r["role"],
                                      instrument_id=r["instrument_id"], quantity=r["quantity"], value=r["value"],
                                      unit=r["unit"], taken_at=r["taken_at"], data=_json(r["data"]),
                                      reading_id=r["reading_id"], corrected=latest.get(r["reading_id"]))
                        for r in self.select("SELECT * FROM readings WHERE run_id = ? ORDER BY reading_id",
                                             (run_id,))]
        run.checks = [StoredCheck(**{n: r[n] for n in CHECK_FIELDS})
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

    def _stream(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Any]:
        """Rows of one SELECT read as they are iterated, never all held at once (verify reads whole tables so);
        inside a read transaction (`_snapshot`)."""
        try:
            yield from self._db.stream(sql, params)
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
