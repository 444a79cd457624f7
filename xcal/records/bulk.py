"""Whole runs recorded in bulk: the rows and entries a normal run leaves, written in large transactions.

A run recorded live takes a transaction per write (created, each exposure's readings, checks, finished). An
imported run leaves exactly the same rows and the same chain entries, in the same order and built by the
same functions (projection.py, ledger.py; a reading's or check's row and payload text come from one
pass, `projection.reading_row` / `check_row`), so `verify`, signatures and corrections treat it like any other;
only the entries' `at` differs: it is the time of the import, one per batch. Ids are reserved up front
(`Transaction.reserve_ids`) so each reading's payload names its row before the row is written.

A batch is one transaction of whole runs: it is all in the store, or none of it is.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .chain import CHECKS, READING, RUN_CREATED, RUN_FINISHED, RUN_INCOMPLETE
from .ledger import Transaction
from .models import ImportedRun
from .projection import (
    CHECK_FIELDS,
    READING_FIELDS,
    RUN_FIELDS,
    STATUS_FIELDS,
    check_row,
    reading_row,
    run_payload,
    run_row,
)

CHECKPOINT_BATCHES = 10
"""Batches a SQLite import commits between copies of its write-ahead log into the file (backend.bulk_writes):
measured on a store of 24 000 runs, 200 000 readings imported wrote 585 MB this way, 951 MB with a copy after
every commit. Every commit is on disk either way; this bounds the log to about ten batches."""
RUN_COLUMNS = ("run_id",) + RUN_FIELDS + STATUS_FIELDS
READING_COLUMNS = ("reading_id", "run_id") + READING_FIELDS
CHECK_COLUMNS = ("check_row", "run_id", "room_id") + CHECK_FIELDS


@dataclass
class ImportSummary:
    """What `Store.import_runs` recorded: runs, readings, checks and chain entries, and the batches."""

    runs: int = 0
    readings: int = 0
    checks: int = 0
    entries: int = 0
    batches: int = 0

    def add(self, other: ImportSummary) -> None:
        self.runs += other.runs
        self.readings += other.readings
        self.checks += other.checks
        self.entries += other.entries
        self.batches += other.batches


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a batch is written, and back as it was after.

    A batch makes a few hundred thousand tuples and strings, none in a cycle; each few hundred set off a
    collection, and every few of those walked everything the caller holds (a batch of ~1 200 runs). Imported
    side by side into copies of a store of 100 000 runs, five times each: 47 500-53 100 readings/s with it
    off, 42 600-49 200 with it on. What the caller does between batches runs with the collector as it had it.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def final_status(run: ImportedRun) -> tuple[str, dict[str, Any]]:
    """The status entry's kind and change that end the run, as finish_run or mark_incomplete write them."""
    if run.verdict is not None:
        return RUN_FINISHED, {"status": "complete", "verdict": run.verdict, "finished_at": run.finished_at}
    return RUN_INCOMPLETE, {"status": "incomplete", "finished_at": run.finished_at, "status_note": run.status_note}


def write_batch(tx: Transaction, runs: list[ImportedRun]) -> ImportSummary:
    """Record `runs` inside the open write transaction `tx`.

    The runs' rows go in first (a SQLite store checks each reading's run as it is inserted); the readings'
    rows are then made as they are sent, and the checks' rows and every entry's payload on the same pass, so a
    PostgreSQL server stores one reading while the next is made (measured into a store of 2 000 runs: 69 000-
    73 000 readings/s instead of 62 000).
    """
    readings = sum(len(r.readings) for r in runs)
    next_reading = tx.reserve_ids("readings", "reading_id", readings)
    next_check = tx.reserve_ids("checks", "check_row", sum(len(r.checks) for r in runs))
    finals = [final_status(run) for run in runs]
    made = [run_row(run_payload(run.header), change) for run, (_, change) in zip(runs, finals, strict=True)]
    tx.insert_many("runs", RUN_COLUMNS, [(run.header.run_id,) + row for run, (row, _) in zip(runs, made, strict=True)])
    check_rows: list[tuple[Any, ...]] = []
    entries: list[tuple[str, str, dict[str, Any] | str]] = []        # readings' and checks' payloads as text

    def reading_rows() -> Iterator[tuple[Any, ...]]:
        nonlocal next_reading, next_check
        for run, (kind, change), (_, created) in zip(runs, finals, made, strict=True):
            run_id = run.header.run_id
            entries.append((RUN_CREATED, run_id, created))
            for reading in run.readings:
                row, text = reading_row(reading, next_reading, run_id)
                entries.append((READING, run_id, text))
                next_reading += 1
                yield row
            if run.checks or run.verdict is not None:
                recorded = []
                for check in run.checks:
                    row, text = check_row(check, next_check, run_id, run.header.room_id)
                    check_rows.append(row)
                    recorded.append(text)
                    next_check += 1
                entries.append((CHECKS, run_id, '{"checks":[' + ",".join(recorded) + "]}"))
            entries.append((kind, run_id, change))

    tx.insert_many("readings", READING_COLUMNS, reading_rows())
    tx.insert_many("checks", CHECK_COLUMNS, check_rows)
    appended = tx.append_many(entries)
    return ImportSummary(len(runs), readings, len(check_rows), appended, 1)
