"""`verify`: recompute the audit chain and check the query tables still say what the entries recorded.

Two passes. The chain pass walks every entry in seq order: no gap, each prev_hash is the previous entry's hash,
each hash matches its content. The projection pass replays each run's entries into the rows they should have
produced and compares every column (a store-level `schema_upgraded` entry produces no row). The report names
the lowest-numbered broken entry; a row that no entry accounts for has no seq and is reported only when no
entry is broken.

Limit: deleting the newest entries (a truncated tail) leaves a valid shorter chain; it shows only where a row
loses its entry, or against a head hash noted down earlier (the report gives `head`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from ..errors import RecordError
from .chain import (ADOPTED, CHECKS, CORRECTION, GENESIS, KINDS, READING, RUN_CREATED, RUN_FINISHED,
                    RUN_INCOMPLETE, RUN_RESUMED, SCHEMA_UPGRADED, Entry)
from .projection import CHECK_FIELDS, READING_FIELDS, RUN_FIELDS, STATUS_FIELDS, row_value

if TYPE_CHECKING:
    from .store import Store


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of `Store.verify()`; `head` is the last entry's hash, worth writing down to spot truncation."""

    ok: bool
    entries: int
    first_broken: int | None
    reason: str
    head: str = GENESIS


@dataclass(frozen=True)
class Problem:
    """One disagreement: the entry it belongs to (None for a row no entry accounts for) and what is wrong."""

    seq: int | None
    reason: str


@dataclass
class _Worst:
    """Keeps the problem to report: the lowest seq; rows without any entry come after every seq."""

    problem: Problem | None = None

    def add(self, seq: int | None, reason: str) -> None:
        if self.problem is None or _key(seq) < _key(self.problem.seq):
            self.problem = Problem(seq, reason)


def _key(seq: int | None) -> tuple[int, int]:
    return (1, 0) if seq is None else (0, seq)


def verify_store(store: "Store") -> VerifyReport:
    """Check the whole chain, then every run's rows against its entries; report the first broken entry."""
    worst, count, head = _Worst(), 0, GENESIS
    prev_seq = 0
    chain_broken = False
    for entry in store.entries():
        count += 1
        if not chain_broken:
            reason = _link_problem(entry, prev_seq, head) or _content_problem(entry)
            if reason:
                worst.add(prev_seq + 1 if entry.seq > prev_seq + 1 else entry.seq, reason)
                chain_broken = True
        prev_seq, head = entry.seq, entry.hash
    for run_id in _all_run_ids(store):
        problem = check_run(store, run_id, hashes=False)
        if problem:
            worst.add(problem.seq, problem.reason)
    if worst.problem is None:
        return VerifyReport(True, count, None, f"{count} entries verified; the tables agree with them", head)
    return VerifyReport(False, count, worst.problem.seq, worst.problem.reason, head)


def _link_problem(entry: Entry, prev_seq: int, prev_hash: str) -> str:
    if entry.seq > prev_seq + 1:
        missing = prev_seq + 1
        where = f"the chain starts at entry {entry.seq}" if prev_seq == 0 else \
            f"the chain goes from entry {prev_seq} to entry {entry.seq}"
        return f"entry {missing} is missing: {where}"
    if entry.prev_hash != prev_hash:
        before = "the start of the chain" if prev_seq == 0 else f"the hash of entry {prev_seq}"
        return (f"{entry.label()}: its prev_hash does not match {before}; entries were reordered, removed or "
                f"rewritten here")
    return ""


def _content_problem(entry: Entry) -> str:
    if entry.recomputed_hash() != entry.hash:
        return f"{entry.label()}: its hash does not match its content; the entry was edited after it was written"
    if entry.kind not in KINDS:
        return f"{entry.label()}: '{entry.kind}' is not a kind of entry xcal writes"
    return ""


def _all_run_ids(store: "Store") -> list[str]:
    rows = store.select("SELECT run_id FROM runs UNION SELECT run_id FROM entries UNION "
                        "SELECT run_id FROM readings UNION SELECT run_id FROM checks ORDER BY run_id")
    return [r["run_id"] for r in rows]


def check_run(store: "Store", run_id: str, *, hashes: bool = True) -> Problem | None:
    """The first way `run_id`'s rows disagree with its entries (and, with `hashes`, an entry with its hash)."""
    worst = _Worst()
    expected = _Expected(run_id)
    for entry in store.entries(run_id):
        if hashes:
            reason = _content_problem(entry)
            if reason:
                worst.add(entry.seq, reason)
        try:
            expected.replay(entry)
        except RecordError as exc:
            worst.add(entry.seq, exc.message)
        except (AttributeError, TypeError):
            worst.add(entry.seq, f"{entry.label()}: its payload does not hold what a {entry.kind} entry holds")
    for seq, reason in expected.problems:
        worst.add(seq, reason)
    _compare_run(store, expected, worst)
    _compare_rows(store, expected, worst, "readings", "reading_id", READING_FIELDS)
    _compare_rows(store, expected, worst, "checks", "check_row", CHECK_FIELDS + ("room_id",))
    return worst.problem


@dataclass
class _Recorded:
    """A row as the entries say it should be: each column's value and the seq of the entry that set it."""

    label: str
    seq: int
    columns: dict[str, tuple[Any, int]] = field(default_factory=dict)

    def set(self, values: dict[str, Any], names: Iterable[str], seq: int) -> None:
        for name in names:
            if name in values:
                self.columns[name] = (values[name], seq)


class _Expected:
    """Replays one run's entries into the run, reading and check rows they should have produced."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.run: _Recorded | None = None
        self.readings: dict[int, _Recorded] = {}
        self.checks: dict[int, _Recorded] = {}
        self.problems: list[tuple[int, str]] = []

    def replay(self, entry: Entry) -> None:
        data = entry.data()
        if entry.kind == SCHEMA_UPGRADED:
            return
        if entry.kind in (RUN_CREATED, ADOPTED):
            if self.run is not None:
                self.problems.append((entry.seq, f"{entry.label()}: the run was already created by an earlier "
                                                 f"entry"))
                return
            self.run = _Recorded(entry.label(), entry.seq)
            run = data.get("run", {}) if entry.kind == ADOPTED else data
            self.run.set(run, RUN_FIELDS + STATUS_FIELDS, entry.seq)
        elif self.run is None:
            self.problems.append((entry.seq, f"{entry.label()}: recorded before its run was created"))
        if entry.kind == READING:
            self._reading(entry, data)
        elif entry.kind == CHECKS:
            for check in data.get("checks", []):
                self._check(entry, check)
        elif entry.kind in (RUN_FINISHED, RUN_INCOMPLETE, RUN_RESUMED) and self.run is not None:
            self.run.set(data, STATUS_FIELDS, entry.seq)
        elif entry.kind == CORRECTION:
            self._correction(entry, data)
        elif entry.kind == ADOPTED:
            for reading in data.get("readings", []):
                self._reading(entry, reading)
            for check in data.get("checks", []):
                self._check(entry, check)

    def _reading(self, entry: Entry, payload: dict[str, Any]) -> None:
        reading_id = payload.get("reading_id")
        if reading_id in self.readings:
            self.problems.append((entry.seq, f"{entry.label()}: reading {reading_id} was already recorded"))
            return
        label = entry.label() if entry.kind == READING else (
            f"{entry.label()[:-1]}, reading {reading_id}: exposure {payload.get('exposure')} "
            f"{payload.get('quantity')})")
        recorded = _Recorded(label, entry.seq)
        recorded.set(payload, READING_FIELDS, entry.seq)
        self.readings[reading_id] = recorded

    def _check(self, entry: Entry, payload: dict[str, Any]) -> None:
        row = payload.get("check_row")
        label = f"{entry.label()[:-1]}, check {payload.get('check_id')} at {payload.get('setting')})"
        recorded = _Recorded(label, entry.seq)
        recorded.set(payload, CHECK_FIELDS, entry.seq)
        if self.run is not None and "room_id" in self.run.columns:
            recorded.columns["room_id"] = (self.run.columns["room_id"][0], entry.seq)
        self.checks[row] = recorded

    def _correction(self, entry: Entry, payload: dict[str, Any]) -> None:
        named = self.readings.get(payload.get("reading_id"))
        if named is None or named.seq != payload.get("reading_seq"):
            self.problems.append((entry.seq, f"{entry.label()}: it names reading {payload.get('reading_id')} "
                                             f"recorded by entry {payload.get('reading_seq')}, which the run's "
                                             f"entries do not hold"))


def _compare_run(store: "Store", expected: _Expected, worst: _Worst) -> None:
    rows = list(store.select("SELECT * FROM runs WHERE run_id = ?", (expected.run_id,)))
    if expected.run is None:
        if rows:
            worst.add(None, f"run {expected.run_id} has a runs row but no entry in the audit chain")
        return
    if not rows:
        worst.add(expected.run.seq, f"{expected.run.label}: its runs row is missing")
        return
    _compare(rows[0], expected.run, worst)


def _compare_rows(store: "Store", expected: _Expected, worst: _Worst, table: str, key: str,
                  names: tuple[str, ...]) -> None:
    recorded: dict[int, _Recorded] = getattr(expected, table)
    rows = {r[key]: r for r in store.select(f"SELECT * FROM {table} WHERE run_id = ?", (expected.run_id,))}
    for row_id, rec in recorded.items():
        row = rows.get(row_id)
        if row is None:
            worst.add(rec.seq, f"{rec.label}: its {table} row {row_id} is missing")
        else:
            _compare(row, rec, worst, names)
    for row_id in sorted(rows.keys() - recorded.keys()):
        worst.add(None, f"{table} row {row_id} of run {expected.run_id} has no entry in the audit chain")


def _compare(row: Any, rec: _Recorded, worst: _Worst, names: Iterable[str] | None = None) -> None:
    for name in names or rec.columns:
        if name not in rec.columns:
            continue
        value, seq = rec.columns[name]
        stored = row_value(name, row[name])
        if stored != value:
            worst.add(seq, f"{rec.label}: {_difference(name, stored, value)}")


def _difference(name: str, stored: Any, recorded: Any) -> str:
    path, stored, recorded = _first_difference(name, stored, recorded)
    return f"stored {path} {_show(stored)} differs from the recorded {_show(recorded)}"


def _first_difference(path: str, a: Any, b: Any) -> tuple[str, Any, Any]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            if a.get(key, _ABSENT) != b.get(key, _ABSENT):
                return _first_difference(f"{path}.{key}", a.get(key, _ABSENT), b.get(key, _ABSENT))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(f"{path}[{i}]", x, y)
    return path, a, b


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


_ABSENT = _Absent()


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if value is None:
        return "NULL"
    if isinstance(value, (dict, list)):
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."
    return repr(value)
