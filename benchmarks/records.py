"""The record store at hospital-group scale: import, commit, trend, history, show-run, due; the trend command.

    python benchmarks/records.py                          # SQLite grown to 20 000 then 50 000 runs
    python benchmarks/records.py --sizes 20000,50000,100000
    XCAL_BENCH_PG=postgresql://user@host/dbname python benchmarks/records.py    # then PostgreSQL as well

It grows a store from 500 rooms over 10 years through the store's own bulk path (`Store.import_runs`: the
same rows and audit-chain entries a live run leaves, in transactions of about 50 000 readings) to each size
of `--sizes` (in runs of 42 readings on average; 10 million readings are 238 095 runs, about 10 GB, more
than is built here by default: `--sizes 20000,100000,238095` builds it, in about 15 minutes on 2 cores), and
measures at each size, each figure printed with its target and "met" or "NOT met":

- import: readings per second of `import_runs` over the runs added, the time spent making the runs taken out
  (target >= 50 000 readings/s; the rate with the making and the process's CPU rate are printed beside it);
- commit: the time `add_reading` takes to commit one reading of a new run, as the runner does for every
  reading (median, 95th percentile and worst of 200; target: median <= 5 ms);
- trend: `xcal trend`'s query for one room and one check (`records.trend.trend`), first on a room not read
  yet, then the median over 20 rooms (target: median <= 50 ms);
- history: `xcal history`'s query, the latest 50 runs with their corrections, of all rooms and of one room
  (target: the slower median <= 50 ms);
- show-run: `xcal show-run`'s query (`Store.get_run`) of 20 runs picked at random (target: median <= 100 ms);
- due: `xcal due`'s report (`schedule.due_report`) for a site scheduling both procedures in every room
  annually (1 000 lines): the time (target <= 200 ms) and the peak of Python allocations (<= 100 MiB);
- then, once, the `xcal trend` command as a person runs it (a new process), on a room of `--trend-points`
  points (default 10 000) in a store of its own (target <= 200 ms), as installed: after one run that compiles
  its modules, and with PYTHONDONTWRITEBYTECODE dropped (set, every run compiles what changed since the last
  compiled copy, 20-60 ms);
- and, toward 10 M: each figure per size, and where a straight line through them arrives at 238 095 runs (or
  the figure measured there, when the store was grown that far);
- with --verify, at the largest size: `verify` over the whole store (target >= 1 000 000 entries per 10 s on 2
  cores), and `verify --since-anchor` after one anchor and a day's runs on top of it (target <= 1 s).

    python benchmarks/records.py --verify-only          # the verify figures alone, on 1 million readings

The verify time is wall time, which a busy machine stretches; it is printed with the CPU seconds of this process
and of the two worker processes verify starts (verify.py), and the time an idle 2-core machine would take:
the largest of this process's CPU time, half the workers' (they split the runs evenly) and half of all of it.
"A day's runs" for --since-anchor are the store's runs per day, at least 50.

The runs are shaped like the built-in procedures, alternating per room:
  kvp-accuracy           4 stations x 3 repeats = 12 exposures x (kvp_ppv, kvp_max, exposure_time, air_kerma)
                         = 48 readings; checks: kvp-accuracy and timer-accuracy per station, kvp reproducibility
                         = 9 checks
  output-reproducibility 4 mA stations x 3 repeats = 12 exposures x (air_kerma, exposure_time, kvp_ppv)
                         = 36 readings; checks: output reproducibility per station, 3 mA linearity pairs,
                         output = 8 checks
so 42 readings and 8.5 checks per run on average. Each run carries a 2 kB snapshot like a real one
(instruments with calibration, limits with sources, room equipment). Waveforms are left out: a real
kvp-accuracy run also stores 12 of about 12 kB each, which would dominate the size but not the figures timed
here. The machine this runs on may be shared: the figures are wall-clock times, as a person waits them.

With `--db URL` the store goes into a new schema `xcal_bench_<hex>` of that database (the URL's user needs
the right to create one), dropped afterwards; a SQLite store goes into a temporary folder, removed
afterwards; a SQLite file named with `--db` is kept. `--keep` keeps any of them and prints where it is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import math
import os
import random
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from xcal.records.backend import display_location, is_url
from xcal.records.store import ImportedRun, RunHeader, Store, StoredCheck, StoredReading
from xcal.records.trend import trend

IMPORT_TARGET = 50_000          # readings per second
COMMIT_TARGET = 5.0             # ms, median
TREND_TARGET = 50.0             # ms, median
HISTORY_TARGET = 50.0           # ms, median
SHOW_TARGET = 100.0             # ms, median
DUE_TARGET = 200.0              # ms
DUE_MEMORY_TARGET = 100.0       # MiB
TREND_COMMAND_TARGET = 200.0    # ms, median, at 10 000 points
TEN_MILLION_RUNS = round(10_000_000 / 42)
VERIFY_TARGET = 100_000         # entries per second (1 million per 10 s)
SINCE_ANCHOR_TARGET = 1.0       # s, after a day's runs
START = dt.datetime(2016, 1, 4, 8, 0, tzinfo=dt.UTC)

KVP_STATIONS = [(60, 200, 100), (80, 200, 100), (100, 200, 50), (120, 200, 50)]     # kV, mA, ms
OUTPUT_STATIONS = [(80, 100, 100), (80, 200, 100), (80, 320, 100), (80, 400, 100)]
LIMIT_SOURCE = "EX-DXR500-SM rev. C, section 9.2, Technique factor accuracy"


def snapshot(room: int, procedure: str) -> dict:
    """A run snapshot of the size and shape the runner writes (about 2 kB)."""
    return {
        "calibration_override": None,
        "instruments": {"kvp_meter": {
            "calibration": {"certificate": f"CAL-2025-{room:04d}", "date": "2025-01-15", "due": "2026-01-15",
                            "laboratory": "Example Calibration Laboratory (ISO/IEC 17025)",
                            "note": "calibrated for RQR 3 to RQR 10 beam qualities"},
            "capabilities": ["KvpMeter"], "driver": "declarative", "id": "kvp-1", "make": "Example Instruments",
            "model": "XR-1", "reported_identity": {"firmware": "2.4.1", "make": "Example Instruments",
                                                   "model": "XR-1", "serial": f"XR1-{room:06d}"},
            "resource": "ASRL/dev/ttyUSB0::INSTR", "serial": f"XR1-{room:06d}", "simulated": False}},
        "limits": {name: {"limit_set": "example-dxr-manufacturer", "name": name, "source": LIMIT_SOURCE,
                          "limit_set_title": "Example X-Ray Co. DXR-500 generator specifications",
                          "tolerance": tol, "verification": "checked against the service manual", "warn_fraction": 0.8}
                   for name, tol in (("kvp-accuracy", "±max(5 %, 2 kV)"), ("timer-accuracy", "±(5 % + 1 ms)"),
                                     ("reproducibility", "max 5 %"))},
        "parameters": {"repeats": 3, "sid": "100 cm",
                       "stations": [{"kv": f"{kv} kV", "ma": f"{ma} mA", "time": f"{ms} ms"} for kv, ma, ms
                                    in (KVP_STATIONS if procedure == "kvp-accuracy" else OUTPUT_STATIONS)]},
        "procedure": {"file": f"<built-in>/procedures/{procedure}.yaml", "id": procedure,
                      "sha256": "454ead53c5ace19a94a0676c056572677f40f02f2e63cbaf2a2103509df6a29d", "version": "1.0.0"},
        "room": {"equipment": {"collimator": {"make": "Example X-Ray Co.", "model": "XC-2", "serial": f"XC2-{room}"},
                               "generator": {"make": "Example X-Ray Co.", "model": "DXR-500",
                                             "serial": f"DXR5-{room}", "type": "high-frequency"},
                               "installed": "2015-03-14",
                               "tube": {"make": "Example X-Ray Co.", "model": "XT-150", "serial": f"XT-{room}"}},
                 "id": str(room), "limit_sets": ["example-dxr-manufacturer", "cfr-1020", "aapm-74"],
                 "modality": "radiography", "name": f"Radiography {room}"},
        "site": {"facility": {"address": "1 Example Way, Springfield", "name": "Example Health Network",
                              "registration": "RAD-2231"},
                 "file": "/etc/xcal/site.yaml", "name": "Example Health Network",
                 "sha256": "acb75abbe427866e1b8326c17afda6411143bed2e9d38162110fc25f0305585a"},
    }


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _check(check_id: str, title: str, station: int | None, setting: str, value: float, nominal: float | None,
           unit: str, allowed: float, limit: str, tolerance: str) -> StoredCheck:
    deviation = None if nominal is None else value - nominal
    verdict = "PASS" if abs(deviation if deviation is not None else value) <= allowed else "FAIL"
    return StoredCheck(check_id=check_id, title=title, station=station, setting=setting, value=value, nominal=nominal,
                       unit=unit, deviation=deviation, allowed=allowed, limit_name=limit, limit_text=tolerance,
                       limit_set="example-dxr-manufacturer", source=LIMIT_SOURCE, verdict=verdict)


def run_id_of(i: int, step: float) -> str:
    """The id of run number i of a store whose runs start `step` seconds apart."""
    started = START + dt.timedelta(seconds=i * step)
    return started.strftime("%Y%m%d-%H%M%S-") + f"{i & 0xffff:04x}"


def make_run(i: int, rooms: int, step: float, rng: random.Random) -> ImportedRun:
    """Run number i of the store: room i mod rooms, started i x step seconds after START."""
    room = i % rooms
    procedure = "kvp-accuracy" if (i // rooms) % 2 == 0 else "output-reproducibility"
    started = START + dt.timedelta(seconds=i * step)
    run_id = run_id_of(i, step)
    header = RunHeader(procedure, "1.0.0", "ab" * 32, procedure.replace("-", " "), "Example Health Network",
                       str(room), f"Radiography {room}", "t.technician", False, "0.9.0",
                       snapshot(room, procedure), run_id=run_id, started_at=_iso(started))
    offset = rng.gauss(0, 0.015)
    readings: list[StoredReading] = []
    checks: list[StoredCheck] = []
    stations = KVP_STATIONS if procedure == "kvp-accuracy" else OUTPUT_STATIONS
    exposure = 0
    for s, (kv, ma, ms) in enumerate(stations, start=1):
        kvps, times, kermas = [], [], []
        for repeat in range(1, 4):
            exposure += 1
            taken = _iso(started + dt.timedelta(seconds=30 * exposure))
            kvp = round(kv * (1 + offset + rng.gauss(0, 0.004)), 2)
            t = round(ms * (1 + rng.gauss(0, 0.01)), 2)
            kerma = round(0.09 * kv * kv * ma * ms / 1000 / 100 * (1 + rng.gauss(0, 0.01)), 2)
            values = [("kvp_ppv", kvp, "kV"), ("exposure_time", t, "ms"), ("air_kerma", kerma, "µGy")]
            if procedure == "kvp-accuracy":
                values.insert(1, ("kvp_max", round(kvp * 1.006, 2), "kV"))
            for quantity, value, unit in values:
                readings.append(StoredReading(exposure=exposure, station=s, repeat=repeat, role="kvp_meter",
                                              instrument_id="kvp-1", quantity=quantity, value=value, unit=unit,
                                              taken_at=taken))
            kvps.append(kvp)
            times.append(t)
            kermas.append(kerma)
        setting = f"{s}: {kv} kV {ma} mA {ms} ms"
        if procedure == "kvp-accuracy":
            checks.append(_check("kvp-accuracy", "kVp accuracy", s, setting, statistics.fmean(kvps), kv, "kV",
                                 max(0.05 * kv, 2.0), "kvp-accuracy", "±max(5 %, 2 kV)"))
            checks.append(_check("timer-accuracy", "Exposure time accuracy", s, setting, statistics.fmean(times),
                                 ms, "ms", 0.05 * ms + 1, "timer-accuracy", "±(5 % + 1 ms)"))
        else:
            cv = statistics.stdev(kermas) / statistics.fmean(kermas) * 100
            checks.append(_check("output-reproducibility", "Output reproducibility", s, setting, cv, None, "%",
                                 5.0, "reproducibility", "max 5 %"))
    if procedure == "kvp-accuracy":
        checks.append(_check("kvp-reproducibility", "kVp reproducibility", None, "run",
                             abs(rng.gauss(0, 0.3)), None, "%", 5.0, "reproducibility", "max 5 %"))
    else:
        for pair in range(1, 4):
            checks.append(_check("ma-linearity", "mA linearity", pair, f"stations {pair}-{pair + 1}",
                                 abs(rng.gauss(0, 0.02)), None, "", 0.1, "linearity", "max 0.1"))
        checks.append(_check("output", "Output at 80 kV", None, "run", 1 + rng.gauss(0, 0.05), 1.0, "µGy/mAs",
                             0.2, "output", "±20 %"))
    verdict = "FAIL" if any(c.verdict == "FAIL" for c in checks) else "PASS"
    return ImportedRun(header, readings, checks, verdict, _iso(started + dt.timedelta(seconds=30 * exposure + 60)))


def runs_for(readings: int, rooms: int, years: float, seed: int = 1) -> tuple[int, Iterator[ImportedRun]]:
    """How many runs make about `readings` readings (42 a run), and the runs, oldest first."""
    count = max(1, round(readings / 42))
    step = years * 365.25 * 86400 / count
    rng = random.Random(seed)
    return count, (make_run(i, rooms, step, rng) for i in range(count))


def _with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["options"] = (query.get("options", "") + f" -csearch_path={schema}").strip()
    return urlunsplit(parts._replace(query=urlencode(query)))


def _ms(seconds: float) -> float:
    return seconds * 1000


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


@dataclass
class Figure:
    """One measured figure at one store size, against its target (`at_most`: lower is better)."""

    name: str
    value: float
    unit: str
    target: float
    at_most: bool
    note: str = ""

    @property
    def met(self) -> bool:
        return self.value <= self.target if self.at_most else self.value >= self.target

    def line(self) -> str:
        sign = "<=" if self.at_most else ">="
        return (f"{self.name:15s} {self.value:12,.2f} {self.unit:11s} target {sign} {self.target:,g} {self.unit:11s} "
                f"{_verdict(self.met):8s} {self.note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a postgresql:// URL (a new schema is made in it, dropped afterwards) or a "
                                     "SQLite file that does not exist yet (kept afterwards); default: a SQLite file "
                                     "in a temporary folder, removed afterwards, then PostgreSQL when XCAL_BENCH_PG "
                                     "or XCAL_TEST_PG gives a URL")
    parser.add_argument("--sizes", default="20000,50000",
                        help="store sizes in runs (42 readings each), comma-separated: the store is grown to each "
                             "and measured there (default 20000,50000; 238095 runs are 10 million readings)")
    parser.add_argument("--readings", type=int, help="one size in readings instead of --sizes")
    parser.add_argument("--rooms", type=int, default=500)
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=50_000, help="readings per import transaction")
    parser.add_argument("--trend-points", type=int, default=10_000,
                        help="points of the room whose `xcal trend` command is timed (default 10 000)")
    parser.add_argument("--verify", action="store_true", help="also time `verify` over the whole store")
    parser.add_argument("--verify-only", action="store_true",
                        help="build the store (1 million readings unless --readings says) and time only verify")
    parser.add_argument("--keep", action="store_true", help="keep the store afterwards")
    args = parser.parse_args(argv)
    if args.verify_only and "--readings" not in " ".join(argv or sys.argv):
        args.readings = 1_000_000
    sizes = [max(1, round(args.readings / 42))] if args.readings else sorted({int(s) for s in args.sizes.split(",")})

    if args.db:
        return _bench(args, args.db, sizes)
    code = _bench(args, None, sizes)
    url = os.environ.get("XCAL_BENCH_PG") or os.environ.get("XCAL_TEST_PG")
    if url:
        print()
        code = max(code, _bench(args, url, sizes))
    return code


def _bench(args: argparse.Namespace, db: str | None, sizes: list[int]) -> int:
    """Build and measure one store (a new schema of `db` when it is a URL, else a new SQLite file)."""
    folder = schema = None
    if db and is_url(db):
        import psycopg

        schema = f"xcal_bench_{secrets.token_hex(4)}"
        with psycopg.connect(db, autocommit=True) as con:
            con.execute(f"CREATE SCHEMA {schema}")
        location: str | Path = _with_schema(db, schema)
    elif db:
        location = Path(db)
        if location.exists():
            sys.exit(f"{location} exists; give a new file so the store starts empty")
    else:
        folder = Path(tempfile.mkdtemp(prefix="xcal-bench-"))
        location = folder / "records.sqlite3"
    try:
        return _run(args, location, sizes)
    finally:
        if args.keep:
            print(f"kept: {display_location(location)}")
        elif schema:
            import psycopg

            with psycopg.connect(db, autocommit=True) as con:
                con.execute(f"DROP SCHEMA {schema} CASCADE")
        elif folder:
            shutil.rmtree(folder, ignore_errors=True)


def _run(args: argparse.Namespace, location: str | Path, sizes: list[int]) -> int:
    count = sizes[-1]
    step = args.years * 365.25 * 86400 / count
    rng = random.Random(1)
    runs = (make_run(i, args.rooms, step, rng) for i in range(count))
    measured: list[tuple[int, list[Figure]]] = []
    with Store(location) as store:
        print(f"store: {store.backend} at {display_location(location)}; {args.rooms} rooms over {args.years:g} years "
              f"(at {count} runs), grown to {', '.join(f'{s:,}' for s in sizes)} runs in transactions of about "
              f"{args.batch:,} readings")
        done = readings = 0
        for size in sizes:
            added, figure = _import(store, itertools.islice(runs, size - done), size - done, args.batch)
            done, readings = size, readings + added
            if args.verify_only:
                print(figure.line())
                return 0 if _verify_figures(store, args, count) else 1
            figures = [figure] + _queries(store, args.rooms, size, step)
            print(f"\n== {size:,} runs, {readings:,} readings ({store.backend}) ==")
            for f in figures:
                print(f.line())
            measured.append((size, figures))
        size_bytes = store.size_bytes()
        print(f"store size      {size_bytes / 1e9:12.2f} GB          {size_bytes / readings:.0f} bytes per reading "
              f"(entries, rows and indexes)")
        if args.verify and not _verify_figures(store, args, count):
            return 1
    command = _trend_command(location, args)
    print()
    print(command.line())
    _toward_10m(measured)
    return 0 if command.met and all(f.met for _, figures in measured for f in figures) else 1


def _import(store: Store, runs: Iterator[ImportedRun], count: int, batch: int) -> tuple[int, Figure]:
    """Import `count` runs; the rate of the store itself (the time spent making the runs taken out)."""
    making = making_cpu = 0.0

    def timed() -> Iterator[ImportedRun]:
        nonlocal making, making_cpu
        while True:
            start, cpu_start = time.perf_counter(), time.process_time()
            run = next(runs, None)
            making += time.perf_counter() - start
            making_cpu += time.process_time() - cpu_start
            if run is None:
                return
            yield run

    start = time.perf_counter()
    cpu = time.process_time()
    summary = store.import_runs(_progress(timed(), count), batch_readings=batch)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    rate = summary.readings / (elapsed - making)
    print(file=sys.stderr)
    note = (f"({summary.readings:,} readings in {elapsed - making:.1f} s; {summary.readings / elapsed:,.0f}/s with "
            f"making the runs; {summary.readings / (cpu - making_cpu):,.0f}/s of the store's CPU time, which a "
            f"shared machine does not stretch)")
    return summary.readings, Figure("bulk import", rate, "readings/s", IMPORT_TARGET, False, note)


def _queries(store: Store, rooms: int, size: int, step: float) -> list[Figure]:
    """Commit, trend query, history, show-run and due on the store as it stands."""
    commit = _commit_times(store, rooms)
    first, trends, points = _trend_times(store, rooms)
    every, one_room = _history_times(store, rooms)
    shown = _show_times(store, size, step)
    due_ms, due_mib, lines = _due(store, rooms)
    return [
        Figure("commit 1 read.", statistics.median(commit), "ms", COMMIT_TARGET, True,
               f"median (95th percentile {_pct(commit, 95):.2f} ms, worst {max(commit):.2f} ms, {len(commit)} "
               f"commits)"),
        Figure("trend query", statistics.median(trends), "ms", TREND_TARGET, True,
               f"median (one room, check kvp-accuracy: {points} points; first query {first:.2f} ms, worst "
               f"{max(trends):.2f} ms over {len(trends)} rooms)"),
        Figure("history", max(statistics.median(every), statistics.median(one_room)), "ms", HISTORY_TARGET, True,
               f"median of the slower (the latest 50 of all rooms {statistics.median(every):.2f} ms, of one room "
               f"{statistics.median(one_room):.2f} ms)"),
        Figure("show-run", statistics.median(shown), "ms", SHOW_TARGET, True,
               f"median (get_run of {len(shown)} runs, worst {max(shown):.2f} ms)"),
        Figure("due (time)", due_ms, "ms", DUE_TARGET, True, f"({lines} room x procedure lines)"),
        Figure("due (memory)", due_mib, "MiB", DUE_MEMORY_TARGET, True, "(peak of Python allocations)"),
    ]


def _verify_figures(store: Store, args: argparse.Namespace, count: int) -> bool:
    """Time a full verify, then anchor, add a day's runs and time `verify --since-anchor`; print both figures."""
    import resource

    from xcal.records.anchor import anchor_store, site_key

    mine, children = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    report = store.verify()
    wall = time.perf_counter() - start
    cpu = time.process_time() - mine
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    idle = max(cpu, workers / 2, (cpu + workers) / 2)
    rate, idle_rate = report.entries / wall, report.entries / idle
    print(f"verify         {rate:10,.0f} entries/s    target >= {VERIFY_TARGET:,} entries/s   "
          f"{_verdict(rate >= VERIFY_TARGET)} as measured; on an idle 2-core machine {idle_rate:,.0f} entries/s "
          f"{_verdict(idle_rate >= VERIFY_TARGET)}   ({report.entries} entries in {wall:.1f} s; CPU: this process "
          f"{cpu:.1f} s, the workers {workers:.1f} s; {report.reason})")
    key = site_key(Path(tempfile.mkdtemp(prefix="xcal-bench-key-")) / "site-key.pem")
    anchor_store(store, key)
    day = max(50, round(count / (args.years * 365.25)))
    rng = random.Random(2)
    step = args.years * 365.25 * 86400 / count
    store.import_runs(make_run(count + i, args.rooms, step, rng) for i in range(day))
    start = time.perf_counter()
    since = store.verify(public=key.public, since_anchor=True)
    took = time.perf_counter() - start
    print(f"since anchor   {took:10.2f} s           target <= {SINCE_ANCHOR_TARGET:g} s   "
          f"{_verdict(took <= SINCE_ANCHOR_TARGET)}   (a day's {day} runs after the anchor: {since.reason})")
    shutil.rmtree(key.path.parent, ignore_errors=True)
    return report.ok and since.ok


def _progress(runs: Iterator[ImportedRun], count: int) -> Iterator[ImportedRun]:
    start = time.perf_counter()
    readings = 0
    for i, run in enumerate(runs, start=1):
        readings += len(run.readings)
        if i % 5000 == 0 or i == count:
            elapsed = time.perf_counter() - start
            print(f"\r  {i}/{count} runs, {readings} readings, {readings / elapsed:,.0f} readings/s", end="",
                  file=sys.stderr, flush=True)
        yield run


def _commit_times(store: Store, rooms: int) -> list[float]:
    """Milliseconds of each of 200 add_reading calls of a new run in the store, as a live run commits them."""
    now = dt.datetime.now(dt.UTC)
    room = rooms // 2
    header = RunHeader("kvp-accuracy", "1.0.0", "ab" * 32, "kVp accuracy", "Example Health Network", str(room),
                       f"Radiography {room}", "t.technician", False, "0.9.0", snapshot(room, "kvp-accuracy"))
    store.create_run(header)
    times = []
    for n in range(1, 201):
        reading = StoredReading(exposure=n, station=1 + (n - 1) // 50, repeat=n, role="kvp_meter",
                                instrument_id="kvp-1", quantity="kvp_ppv", value=80.0 + n / 100, unit="kV",
                                taken_at=_iso(now))
        start = time.perf_counter()
        store.add_reading(header.run_id, reading)
        times.append(_ms(time.perf_counter() - start))
    store.mark_incomplete(header.run_id, "benchmark: commit timing only")
    return times


def _trend_times(store: Store, rooms: int) -> tuple[float, list[float], int]:
    """The first trend query (a room not read yet) and 20 more rooms' queries, in milliseconds, and a point count."""
    chosen = random.Random(7).sample(range(rooms), min(21, rooms))
    times, points = [], 0
    for room in chosen:
        start = time.perf_counter()
        found = trend(store, str(room), "kvp-accuracy")
        times.append(_ms(time.perf_counter() - start))
        points = max(points, len(found))
    first = times.pop(0) if len(times) > 1 else times[0]
    return first, times, points


def _history_times(store: Store, rooms: int) -> tuple[list[float], list[float]]:
    """Milliseconds of `xcal history`'s query (the latest 50 runs with their corrections): 5 times over all
    rooms, and once in each of 20 rooms."""
    every, one_room = [], []
    for _ in range(5):
        start = time.perf_counter()
        store.list_runs(limit=50)
        every.append(_ms(time.perf_counter() - start))
    for room in random.Random(11).sample(range(rooms), min(20, rooms)):
        start = time.perf_counter()
        store.list_runs(room=str(room), limit=50)
        one_room.append(_ms(time.perf_counter() - start))
    return every, one_room


def _show_times(store: Store, size: int, step: float) -> list[float]:
    """Milliseconds of `xcal show-run`'s query (`get_run`: the run, its readings, checks and corrections) for 20
    runs picked at random from the store."""
    times = []
    for i in random.Random(13).sample(range(size), min(20, size)):
        run_id = run_id_of(i, step)
        start = time.perf_counter()
        store.get_run(run_id)
        times.append(_ms(time.perf_counter() - start))
    return times


class _Site:
    """A site of `rooms` rooms, each scheduled for both procedures of the store annually: what `due` reads."""

    def __init__(self, rooms: int) -> None:
        from xcal.frequency import ScheduleItem

        self.schedule = [ScheduleItem(str(room), procedure, "annual") for room in range(rooms)
                         for procedure in ("kvp-accuracy", "output-reproducibility")]
        self.apparel: list[str] = []
        self.instruments: dict[str, object] = {}
        self.is_demo = False
        folder = Path(tempfile.mkdtemp(prefix="xcal-bench-site-"))
        self.path = str(folder / "site.yaml")                 # read by `due` for its maintenance lines: none here
        text = "site: {name: Example Health Network}\n"
        Path(self.path).write_text(text, encoding="utf-8")
        self.sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()

    def room(self, room_id: str) -> SimpleNamespace:
        return SimpleNamespace(id=room_id, instruments={})


def _due(store: Store, rooms: int) -> tuple[float, float, int]:
    """`xcal due`'s report over every room: milliseconds (the best of up to 3 calls, one when a call takes over
    2 s), the peak of Python allocations in MiB (a separate call, traced), and its line count."""
    from xcal.schedule import due_report

    site, today = _Site(rooms), dt.date(2026, 12, 1)
    due_report(site, store, today, "0")                      # procedure files read once, as any command would
    times: list[float] = []
    while len(times) < 3 and sum(times) < 2000:
        start = time.perf_counter()
        lines = len(due_report(site, store, today))
        times.append(_ms(time.perf_counter() - start))
    tracemalloc.start()
    due_report(site, store, today)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    shutil.rmtree(Path(site.path).parent, ignore_errors=True)
    return min(times), peak / 2 ** 20, lines


def _trend_command(location: str | Path, args: argparse.Namespace) -> Figure:
    """Wall time of the `xcal trend` command (a new process, as a person types it) on a room with
    `--trend-points` points, in a store of its own next to the main one (a new schema for PostgreSQL)."""
    runs = max(2, args.trend_points // 2)             # one room: kvp-accuracy (4 points) every second run
    if isinstance(location, Path):
        place: str | Path = location.with_name("trend.sqlite3")
    else:
        place = location.replace("xcal_bench_", "xcal_bench_trend_")
        import psycopg

        schema = parse_qsl(urlsplit(place).query)
        name = dict(schema)["options"].split("search_path=")[1]
        with psycopg.connect(place, autocommit=True) as con:
            con.execute(f"CREATE SCHEMA {name}")
    try:
        step = 3 * 86400
        rng = random.Random(3)
        with Store(place) as store:
            store.import_runs(make_run(i, 1, step, rng) for i in range(runs))
            points = len(trend(store, "0", "kvp-accuracy"))
        if not isinstance(place, Path):
            _settle(place)
        xcal = [sys.executable, "-m", "xcal", "--db", str(place)]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}    # as installed: compiled
        subprocess.run(xcal + ["trend", "--room", "0", "--result", "kvp-accuracy"], capture_output=True, env=env)
        times, cpu = [], []
        for _ in range(9):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(xcal + ["trend", "--room", "0", "--result", "kvp-accuracy"], capture_output=True,
                                  env=env)
            times.append(_ms(time.perf_counter() - start))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(_ms(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime))
            if done.returncode:
                sys.exit(f"xcal trend failed: {done.stderr.decode()}")
        starts = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(xcal + ["--version"], capture_output=True, env=env)
            starts.append(_ms(time.perf_counter() - start))
        return Figure("trend command", statistics.median(times), "ms", TREND_COMMAND_TARGET, True,
                      f"median of 9 (`xcal trend` on a room of {points:,} points; its CPU time "
                      f"{statistics.median(cpu):.0f} ms; starting xcal alone {statistics.median(starts):.0f} ms)")
    finally:
        if isinstance(place, Path):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{place}{suffix}").unlink(missing_ok=True)
        else:
            import psycopg

            with psycopg.connect(place, autocommit=True) as con:
                con.execute(f"DROP SCHEMA {name} CASCADE")


def _settle(url: str) -> None:
    """Let a PostgreSQL store just imported come to rest before it is timed, as a store a person reads is: its
    tables vacuumed and analysed now, rather than by autovacuum in the middle of the timing (measured: 180 ms
    at rest, 230-270 ms while the server vacuumed the import and flushed it to disk)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        for table in ("entries", "runs", "readings", "checks"):
            con.execute(f"VACUUM (ANALYZE) {table}")
    time.sleep(2)


def _toward_10m(measured: list[tuple[int, list[Figure]]]) -> None:
    """Each figure per store size and where it heads at 10 M readings, never better than the figure at the
    largest size (a line through noise would promise gains nobody measured).

    Times and memory: a straight line through the figures, carried to 10 M. A rate (the bulk import): its time
    per reading on a straight line against the logarithm of the size, as a B-tree's depth grows, carried to
    10 M and turned back into a rate (a straight line through the rates themselves reaches zero, which no
    store does). A store grown to 10 M itself (`--sizes ...,238095`) needs no line: its figures are printed.
    """
    if not measured:
        return
    sizes = [size for size, _ in measured]
    reached = sizes[-1] >= TEN_MILLION_RUNS
    how = "measured there" if reached else ("a line through them carried to 10 M (rates: time per reading "
                                            "against log size)")
    print(f"\ntoward 10 M readings ({TEN_MILLION_RUNS:,} runs): the figure at each size measured, and {how}")
    for k, first in enumerate(measured[0][1]):
        values = [figures[k].value for _, figures in measured]
        projected = values[-1] if reached or len(sizes) < 2 else _carried(first.at_most, sizes, values)
        at_10m = Figure(first.name, projected, first.unit, first.target, first.at_most)
        per_size = ", ".join(f"{size:,}: {value:,.2f}" for size, value in zip(sizes, values, strict=True))
        print(f"  {first.name:15s} {per_size:60s} -> {projected:12,.2f} {first.unit:11s} {_verdict(at_10m.met)}")


def _carried(at_most: bool, sizes: list[int], values: list[float]) -> float:
    """The figure at 10 M on the line `_toward_10m` describes, never better than the last one measured."""
    if at_most:
        slope, intercept = statistics.linear_regression(sizes, values)
        return max(values[-1], intercept + slope * TEN_MILLION_RUNS)
    if not all(v > 0 for v in values):
        return values[-1]
    slope, intercept = statistics.linear_regression([math.log(n) for n in sizes], [1 / v for v in values])
    per_unit = intercept + slope * math.log(TEN_MILLION_RUNS)
    return min(values[-1], 1 / per_unit) if per_unit > 0 else values[-1]


def _pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


if __name__ == "__main__":
    sys.exit(main())
