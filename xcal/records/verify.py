"""`verify`: recompute the audit chain and check the query tables still say what the entries recorded.

Two passes. The chain pass walks every entry in seq order: no gap, each prev_hash is the previous entry's hash,
each hash matches its content. The projection pass replays each run's entries into the rows they should have
produced and compares every column (a store-level `schema_upgraded` entry produces no row); the account entries
are replayed into the accounts rows and the credentials' hashes they recorded (accounts.py). The report names
the lowest-numbered broken entry; a row that no entry accounts for has no seq and is reported only when no
entry is broken.

Alone, the chain vouches only for itself: an entry edited with every later hash recomputed, or a cut-off tail,
leaves a valid chain. With the site's public key, each anchor entry and sealed signature is also held against
the entry before it, and with an anchor file the chain is held against that (anchor.py), which catches both.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from hashlib import sha256
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from ..errors import RecordError
from .chain import (
    ACCOUNT_KINDS,
    ADOPTED,
    ANCHOR,
    BUNDLE_KINDS,
    CHECKS,
    CORRECTION,
    GENESIS,
    KINDS,
    PROGRAM_KINDS,
    READING,
    RUN_CREATED,
    RUN_FINISHED,
    RUN_INCOMPLETE,
    RUN_RESUMED,
    SCHEMA_UPGRADED,
    Entry,
)
from .projection import (
    CHECK_FIELDS,
    READING_FIELDS,
    RUN_FIELDS,
    STATUS_FIELDS,
    check_text,
    columns,
    reading_text,
    row_value,
)

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


def verify_store(store: Store, *, public: Any = None, anchor: Any = None, since_anchor: bool = False
                 ) -> VerifyReport:
    """Check the chain (with `public`, the site's key, also its anchors and sealed signatures; with `anchor`, an
    anchor file, against it too), then the rows of every run against its entries; report the first broken entry.

    `since_anchor` checks only what came after the newest anchor entry that holds for `public`: the anchored
    entry must still hash to the signed head, the entries after it must chain on, and only the runs they touch
    are compared with their rows. The entries before it are taken as checked by an earlier full verify.
    """
    from .anchor import Checkpoints

    worst, count, head = _Worst(), 0, GENESIS
    prev_seq, prev_recomputed = 0, GENESIS
    chain_broken = False
    start, scope = _since(store, public) if since_anchor else (None, "")
    seals = Checkpoints(public, anchor, (start.seq, start.prev_hash, start.store_id) if start else None)
    pending = None if start else _share_out(store)
    if start:
        prev_seq, head = start.seq - 1, start.prev_hash
        prev_recomputed = head
    watched = seals.watched
    touched: set[str] = set()                          # --since-anchor: the runs with an entry after the anchor
    for row in _entry_rows(store, start.seq if start else 1):
        seq, at, kind, run_id, payload, prev_hash, stored = row
        count += 1
        if start and seq > start.seq:
            touched.add(run_id)
        recomputed = sha256((prev_hash + kind + run_id + payload + at).encode("utf-8")).hexdigest()
        if not chain_broken and (seq != prev_seq + 1 or prev_hash != head or recomputed != stored
                                 or kind not in KINDS):
            entry = Entry(*row)
            reason = _link_problem(entry, prev_seq, head) or _content_problem(entry, recomputed)
            if reason:
                worst.add(prev_seq + 1 if seq > prev_seq + 1 else seq, reason)
                chain_broken = True
        if kind in watched or seals.first_after is None or seq == seals.outside_seq:
            seals.see(Entry(*row), recomputed, (prev_seq, prev_recomputed))
        prev_seq, head, prev_recomputed = seq, stored, recomputed
    if start and start.hash != start.signed:
        worst.add(start.seq, f"{start.label}: it no longer has the hash the site key signed; the chain was "
                             f"rewritten before the last anchor: run `xcal verify` without --since-anchor")
    seals.finish(prev_seq)
    for seq, reason in seals.problems:
        worst.add(seq, reason)
    if start:
        found = [(p.seq, p.reason) for p in (check_run(store, r, hashes=False) for r in sorted(touched)) if p]
    else:
        found = _projection_problems(store, pending)
    from .accounts import account_problems

    for seq, reason in found + account_problems(store):
        worst.add(seq, reason)
    if worst.problem is None:
        return VerifyReport(True, count, None, f"{count} entries verified{scope}; the tables agree with them", head)
    return VerifyReport(False, count, worst.problem.seq, worst.problem.reason, head)


def _entry_rows(store: Store, first: int, page: int = 20_000) -> Iterator[Any]:
    """Rows of the entries table from seq `first` on, in seq order, `page` at a time (never all in memory)."""
    sql = f"{_ENTRIES} WHERE seq >= ? ORDER BY seq LIMIT "
    rows = list(store.select(sql + str(page), (first,)))
    while rows:
        yield from rows
        if len(rows) < page:
            return
        rows = list(store.select(sql + str(page), (rows[-1][0] + 1,)))


@dataclass(frozen=True)
class _Start:
    """Where --since-anchor begins: the anchored entry, its stored and signed hashes, the hash before it."""

    seq: int
    hash: str
    signed: str
    prev_hash: str
    label: str
    store_id: str


def _since(store: Store, public: Any) -> tuple[_Start | None, str]:
    from .anchor import latest

    if public is None:
        raise RecordError("--since-anchor needs the site's public key to trust the anchor it starts from",
                          fix="give --public-key FILE, or run it where the site key is")
    found = latest(store)
    if found is None:
        return None, " (the store has no anchor yet, so all of it)"
    seq, anchor = found
    if not anchor.holds(public):
        raise RecordError(f"the newest anchor, entry {seq}, does not hold for the site key",
                          fix="run `xcal verify --public-key FILE` without --since-anchor to find what was edited")
    rows = list(store.select("SELECT seq, at, kind, run_id, payload, prev_hash, hash FROM entries WHERE seq = ?",
                             (anchor.seq,)))
    if not rows and anchor.seq == 0:
        return None, " (its only anchor is of the empty chain, so all of it)"
    if not rows:
        return _Start(anchor.seq, "", anchor.head, GENESIS, f"entry {anchor.seq} (missing)", anchor.store_id), ""
    entry = Entry(*rows[0])
    return (_Start(entry.seq, entry.recomputed_hash(), anchor.head, entry.prev_hash, entry.label(), anchor.store_id),
            f" since the anchor of entry {anchor.seq} made at {anchor.at}")


PARALLEL_RUNS = 2_000
"""From this many runs on, a store's rows are compared with their entries by two worker processes while
this one walks the chain: the two passes are independent, and each worker reads in its own transaction, in
which every run's rows and entries agree (they are committed together), so the split cannot show a false break.
Each worker takes one half of the run ids (split at the middle run), so it reads its tables in run order."""


def _share_out(store: Store) -> Any:
    """Start two workers, each on one half of the run ids (a store with many runs); None when this process does
    it all. A worker is `python -m xcal.records.verify` given the store's location (a URL with its password, so
    through the pipe, never the command line) and its half as JSON on stdin."""
    if (os.cpu_count() or 1) < 2 or store.backend == "sqlite" and not os.path.isfile(str(store.path)):
        return None     # (an in-memory store: a worker would open another one)
    runs = next(iter(store.select("SELECT COUNT(*) FROM runs")))[0]
    if runs < PARALLEL_RUNS:
        return None
    middle = next(iter(store.select("SELECT run_id FROM runs ORDER BY run_id LIMIT 1 OFFSET ?", (runs // 2,))))[0]
    import json
    import subprocess
    import sys

    workers: list[tuple[Any, tuple[str | None, str | None]]] = []
    for share in ((None, middle), (middle, None)):
        try:
            worker = subprocess.Popen([sys.executable, "-m", "xcal.records.verify"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except OSError:
            for started, _ in workers:
                started.kill()
                started.wait()
            return None
        workers.append((worker, share))
    for worker, (after, upto) in workers:
        try:
            assert worker.stdin is not None
            worker.stdin.write(json.dumps({"path": str(store._location), "after": after, "upto": upto}))
            worker.stdin.close()
        except OSError:
            pass    # a worker that died is noticed by its exit code; its share is checked here then
    return workers


def _check_share(path: str, after: str | None, upto: str | None) -> list[tuple[int | None, str]]:
    """A worker's share: the first problem of each record with an id in (after, upto], in one transaction."""
    from .store import Store

    with Store(path) as store, store._snapshot():
        return record_problems(store, after, upto)


def _projection_problems(store: Store, pending: Any) -> list[tuple[int | None, str]]:
    if pending is None:
        return record_problems(store)
    import json

    found: list[tuple[int | None, str]] = []
    for worker, share in pending:
        assert worker.stdout is not None
        out = worker.stdout.read()
        worker.stdout.close()
        worker.wait()
        try:
            if worker.returncode != 0:
                raise ValueError
            found += [(seq, reason) for seq, reason in json.loads(out)]
        except (ValueError, TypeError):
            found += record_problems(store, *share)
    return found


def _worker() -> None:
    """`python -m xcal.records.verify`: check the records of the id range on stdin, print their problems as JSON."""
    import json
    import sys

    task = json.load(sys.stdin)
    json.dump(_check_share(task["path"], task["after"], task["upto"]), sys.stdout)


def record_problems(store: Store, after: str | None = None, upto: str | None = None
                    ) -> list[tuple[int | None, str]]:
    """The first problem of each run, bundle and store-level id with an id in (after, upto] (None: no bound).

    One pass over each table in id order (entries, runs, readings, checks, bundles), merged by id, instead of
    a handful of queries per run. Ids the database orders otherwise than Python does (a row edited to hold a
    number or bytes as its id) make it fall back to asking run by run.
    """
    try:
        return [(p.seq, p.reason) for p in (_check_record(*parts) for parts in _records(store, after, upto)) if p]
    except _Unordered:
        ids = [r for r in _all_run_ids(store) if (after is None or r > after) and (upto is None or r <= upto)]
        return [(p.seq, p.reason) for p in (check_run(store, r, hashes=False) for r in ids) if p]


class _Unordered(Exception):
    """A table's ids did not come in the order Python compares them (see `record_problems`)."""


_ENTRIES = "SELECT seq, at, kind, run_id, payload, prev_hash, hash FROM entries"
_RECORD_TABLES = (     # (the entries without their hashes: the chain pass checks those)
    ("SELECT seq, at, kind, run_id, payload, '' AS prev_hash, '' AS hash FROM entries", "run_id", ", seq"),
    ("SELECT * FROM runs", "run_id", ""),
    (f"SELECT {', '.join(('reading_id', 'run_id') + READING_FIELDS)} FROM readings", "run_id", ""),
    (f"SELECT {', '.join(('check_row', 'run_id', 'room_id') + CHECK_FIELDS)} FROM checks", "run_id", ""),
    ("SELECT * FROM bundles", "bundle_id", ""),
)


def _records(store: Store, after: str | None, upto: str | None) -> Iterator[tuple[Any, ...]]:
    """(id, entries, runs rows, readings rows, checks rows, bundles rows) of each id in (after, upto], in order."""
    binary = store._dialect.binary_order
    streams = []
    for select, key, then in _RECORD_TABLES:
        bounds, params = [], []
        if after is not None:
            bounds.append(f"{key} > ?")
            params.append(after)
        if upto is not None:
            bounds.append(f"{key} <= ?")
            params.append(upto)
        where = f" WHERE {' AND '.join(bounds)}" if bounds else ""
        streams.append(itertools.groupby(store._stream(f"{select}{where} ORDER BY {key}{binary}{then}",
                                                       tuple(params)), itemgetter(key)))
    heads: list[Any] = [next(s, None) for s in streams]
    last: Any = None
    while True:
        keys = [h[0] for h in heads if h is not None]
        if not keys:
            return
        try:
            key = min(keys)
            if last is not None and key <= last:
                raise _Unordered
        except TypeError:
            raise _Unordered from None
        parts: list[list[Any]] = []
        for i, head in enumerate(heads):
            if head is not None and head[0] == key:
                parts.append(list(head[1]))
                heads[i] = next(streams[i], None)
            else:
                parts.append([])
        last = key
        yield (key, [Entry(*r) for r in parts[0]], *parts[1:])


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


def _content_problem(entry: Entry, recomputed: str | None = None) -> str:
    if (recomputed or entry.recomputed_hash()) != entry.hash:
        return f"{entry.label()}: its hash does not match its content; the entry was edited after it was written"
    if entry.kind not in KINDS:
        return f"{entry.label()}: '{entry.kind}' is not a kind of entry xcal writes"
    return ""


def _all_run_ids(store: Store) -> list[str]:
    rows = store.select("SELECT run_id FROM runs UNION SELECT run_id FROM entries UNION "
                        "SELECT bundle_id FROM bundles UNION "
                        "SELECT run_id FROM readings UNION SELECT run_id FROM checks ORDER BY run_id")
    return [r["run_id"] for r in rows]


def check_run(store: Store, run_id: str, *, hashes: bool = True) -> Problem | None:
    """The first way `run_id`'s rows disagree with its entries (and, with `hashes`, an entry with its hash)."""
    entries = [Entry(*r) for r in store.select(f"{_ENTRIES} WHERE run_id = ? ORDER BY seq", (run_id,))]
    rows = [list(store.select(f"{select} WHERE {key} = ?", (run_id,))) for select, key, _ in _RECORD_TABLES[1:]]
    return _check_record(run_id, entries, *rows, hashes=hashes)


def _check_record(run_id: str, entries: list[Entry], runs: list[Any], readings: list[Any], checks: list[Any],
                  bundles: list[Any], *, hashes: bool = False) -> Problem | None:
    """The first way one id's rows (of runs, readings, checks, bundles) disagree with its entries (in seq order)."""
    worst = _Worst()
    reading_rows = {r["reading_id"]: r for r in readings}
    checks = sorted(checks, key=lambda r: r["check_row"])
    expected = _Expected(run_id, reading_rows, checks)
    for entry in entries:
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
    _compare_run(runs, expected, worst)
    _compare_rows(reading_rows, expected, worst, "readings", READING_FIELDS)
    _compare_rows({r["check_row"]: r for r in checks}, expected, worst, "checks", CHECK_FIELDS + ("room_id",))
    from .bundles import check_bundle

    bundle_problem = check_bundle(run_id, entries, bundles)
    if bundle_problem:
        worst.add(*bundle_problem)
    return worst.problem


@dataclass
class _Recorded:
    """A row as the entries say it should be: each column's value and the seq of the entry that set it."""

    where: Callable[[], str]
    seq: int
    columns: dict[str, tuple[Any, int]] = field(default_factory=dict)
    payload: dict[str, Any] | None = None
    """A reading's payload, kept whole: its row is first compared with it in one go (`_same`), column by column
    only when they differ."""
    same: bool = False
    """The entry's payload is, byte for byte, the text its row makes (`projection.reading_text`): nothing to compare."""

    @property
    def label(self) -> str:
        """Built only for a message: labelling every row would cost as much as checking it."""
        return self.where()

    def set(self, values: dict[str, Any], names: Iterable[str], seq: int) -> None:
        for name in names:
            if name in values:
                self.columns[name] = (values[name], seq)


class _Expected:
    """Replays one run's entries into the run, reading and check rows they should have produced.

    `reading_rows` (by reading_id) and `check_rows` (in check_row order) are the run's stored rows, against which
    an entry is first matched as text (`_as_row`, `_as_rows`; the first `claimed` check rows are matched so).
    """

    def __init__(self, run_id: str, reading_rows: dict[int, Any] | None = None,
                 check_rows: list[Any] | None = None) -> None:
        self.run_id = run_id
        self.reading_rows = reading_rows or {}
        self.check_rows = check_rows or []
        self.claimed = 0
        self.run: _Recorded | None = None
        self.readings: dict[Any, _Recorded] = {}
        self.checks: dict[Any, _Recorded] = {}
        self.problems: list[tuple[int, str]] = []

    def replay(self, entry: Entry) -> None:
        if entry.kind == READING and self._as_row(entry) or entry.kind == CHECKS and self._as_rows(entry):
            return
        data = entry.data()
        if entry.kind == ANCHOR:    # store-level: checked by anchor.Checkpoints, no row to replay
            return
        if entry.kind == SCHEMA_UPGRADED or entry.kind in PROGRAM_KINDS or entry.kind in ACCOUNT_KINDS:
            return    # store-level: no run row to replay
        if entry.kind in BUNDLE_KINDS:      # a bundle's entries make its bundles row (bundles.check_bundle)
            return
        if entry.kind in (RUN_CREATED, ADOPTED):
            if self.run is not None:
                self.problems.append((entry.seq, f"{entry.label()}: the run was already created by an earlier "
                                                 f"entry"))
                return
            self.run = _Recorded(entry.label, entry.seq)
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
        def label() -> str:
            return entry.label() if entry.kind == READING else (
                f"{entry.label()[:-1]}, reading {reading_id}: exposure {payload.get('exposure')} "
                f"{payload.get('quantity')})")
        self.readings[reading_id] = _Recorded(label, entry.seq, payload=payload)

    def _as_row(self, entry: Entry) -> bool:
        """Record a reading entry without parsing it when its payload is exactly the text its row makes: the
        common case, checked by one comparison of text. False when it is not (then it is parsed and compared)."""
        payload = entry.payload
        start = payload.find('"reading_id":') + 13
        try:
            reading_id = int(payload[start:payload.index(",", start)])
        except ValueError:
            return False
        row = self.reading_rows.get(reading_id) if start > 12 else None
        if row is None or reading_id in self.readings or self.run is None or reading_text(row) != payload:
            return False
        self.readings[reading_id] = _Recorded(entry.label, entry.seq, same=True)
        return True

    def _as_rows(self, entry: Entry) -> bool:
        """Record a checks entry without parsing it when its payload is exactly the text its rows make (the next
        rows not yet matched, as many as it holds checks), and their room is the run's. False when it is not."""
        count = entry.payload.count('"check_row":')
        rows = self.check_rows[self.claimed:self.claimed + count]
        if self.run is None or not count or len(rows) < count:
            return False
        room = self.run.columns.get("room_id", (None, 0))[0]
        if room is None or any(r["room_id"] != room or r["check_row"] in self.checks for r in rows):
            return False
        texts = [check_text(r) for r in rows]
        if None in texts or '{"checks":[' + ",".join(map(str, texts)) + "]}" != entry.payload:
            return False
        for row in rows:
            self.checks[row["check_row"]] = _Recorded(entry.label, entry.seq, same=True)
        self.claimed += count
        return True

    def _check(self, entry: Entry, payload: dict[str, Any]) -> None:
        row = payload.get("check_row")
        def label() -> str:
            return f"{entry.label()[:-1]}, check {payload.get('check_id')} at {payload.get('setting')})"
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


def _compare_run(rows: list[Any], expected: _Expected, worst: _Worst) -> None:
    if expected.run is None:
        if rows:
            worst.add(None, f"run {expected.run_id} has a runs row but no entry in the audit chain")
        return
    if not rows:
        worst.add(expected.run.seq, f"{expected.run.label}: its runs row is missing")
        return
    _compare(rows[0], expected.run, worst)


def _compare_rows(rows: dict[Any, Any], expected: _Expected, worst: _Worst, table: str,
                  names: tuple[str, ...]) -> None:
    recorded: dict[Any, _Recorded] = getattr(expected, table)
    for row_id, rec in recorded.items():
        row = rows.get(row_id)
        if row is None:
            worst.add(rec.seq, f"{rec.label}: its {table} row {row_id} is missing")
        elif rec.same:
            continue
        elif rec.payload is None:
            _compare(row, rec, worst, names)
        elif not _same(row, rec.payload, names):
            rec.set(rec.payload, names, rec.seq)
            _compare(row, rec, worst, names)
    for row_id in sorted(rows.keys() - recorded.keys()):
        worst.add(None, f"{table} row {row_id} of run {expected.run_id} has no entry in the audit chain")


def _same(row: Any, payload: dict[str, Any], names: tuple[str, ...]) -> bool:
    """Whether the row holds exactly what the payload records, in the columns' stored form (projection.columns).

    Equal values of another type (1 and 1.0, 0 and False) count as different here; `_compare` then decides."""
    try:
        expected = columns(payload, names)
    except (KeyError, RecordError):
        return False
    stored = _getter(names)(row)
    return stored == expected and list(map(type, stored)) == list(map(type, expected))


@functools.cache
def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    return itemgetter(*names)


def _compare(row: Any, rec: _Recorded, worst: _Worst, names: Iterable[str] | None = None) -> None:
    recorded = rec.columns
    for name in names or recorded:
        if name not in recorded:
            continue
        value, seq = recorded[name]
        raw = row[name]
        if raw == value and type(raw) is type(value) and name not in _AS_STORED:
            continue    # the common case, without converting the column (most columns hold what the payload does)
        stored = row_value(name, raw)
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
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(f"{path}[{i}]", x, y)
    return path, a, b


_AS_STORED = frozenset({"snapshot", "data", "simulated"})
"""Columns whose stored form differs from the payload's (JSON text, 0/1): always converted before comparing."""


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


if __name__ == "__main__":
    _worker()
