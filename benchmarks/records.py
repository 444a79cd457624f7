"""The record store at clinic-network scale: bulk import rate, one reading's commit, a trend query, the size.

    python benchmarks/records.py                       # 10 million readings into SQLite in a temporary folder
    python benchmarks/records.py --readings 100000     # a quick try
    python benchmarks/records.py --db postgresql://user@host/dbname   # PostgreSQL (needs the postgres extra)

It builds a store of `--readings` readings (default 10 000 000) from 500 rooms over 10 years, through the
store's own bulk path (`Store.import_runs`: the same rows and audit-chain entries a live run leaves, in
transactions of about 50 000 readings), then measures, on the full store:

- import: readings per second over the whole import, the generation of the runs included
  (target >= 20 000 readings/s);
- commit: the time `add_reading` takes to commit one reading of a new run, as the runner does for every
  reading (median, 95th percentile and worst of 200; target: median <= 5 ms);
- trend: `xcal trend` for one room and one check (`records.trend.trend`), first on a room not read yet,
  then the median over 20 rooms (target: median <= 50 ms);
- size: the SQLite file with its WAL, or the PostgreSQL tables with their indexes.

The runs are shaped like the built-in procedures, alternating per room:
  kvp-accuracy           4 stations x 3 repeats = 12 exposures x (kvp_ppv, kvp_max, exposure_time, air_kerma)
                         = 48 readings; checks: kvp-accuracy and timer-accuracy per station, kvp reproducibility
                         = 9 checks
  output-reproducibility 4 mA stations x 3 repeats = 12 exposures x (air_kerma, exposure_time, kvp_ppv)
                         = 36 readings; checks: output reproducibility per station, 3 mA linearity pairs,
                         output = 8 checks
so 42 readings and 8.5 checks per run on average: 10 million readings are about 238 000 runs, 476 per room, one
every week or so. Each run carries a 2 kB snapshot like a real one (instruments with calibration, limits
with sources, room equipment). Waveforms are left out: a real kvp-accuracy run also stores 12 of about 12 kB
each, which would dominate the size but not the figures timed here.

With `--db URL` the store goes into a new schema `xcal_bench_<hex>` of that database (the URL's user needs
the right to create one), dropped afterwards; a SQLite store goes into a temporary folder, removed
afterwards; a SQLite file named with `--db` is kept. `--keep` keeps any of them and prints where it is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from xcal.records.backend import display_location, is_url
from xcal.records.store import ImportedRun, RunHeader, Store, StoredCheck, StoredReading
from xcal.records.trend import trend

IMPORT_TARGET = 20_000          # readings per second
COMMIT_TARGET = 5.0             # ms, median
TREND_TARGET = 50.0             # ms, median
START = dt.datetime(2016, 1, 4, 8, 0, tzinfo=dt.timezone.utc)

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
                       "stations": [{"kv": f"{kv} kV", "ma": f"{ma} mA", "time": f"{ms} ms"}
                                    for kv, ma, ms in (KVP_STATIONS if procedure == "kvp-accuracy" else OUTPUT_STATIONS)]},
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
    return StoredCheck(check_id, title, station, setting, value, nominal, unit, deviation, allowed, limit, tolerance,
                       "example-dxr-manufacturer", LIMIT_SOURCE, verdict)


def make_run(i: int, rooms: int, step: float, rng: random.Random) -> ImportedRun:
    """Run number i of the store: room i mod rooms, started i x step seconds after START."""
    room = i % rooms
    procedure = "kvp-accuracy" if (i // rooms) % 2 == 0 else "output-reproducibility"
    started = START + dt.timedelta(seconds=i * step)
    run_id = started.strftime("%Y%m%d-%H%M%S-") + f"{i & 0xffff:04x}"
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
                readings.append(StoredReading(exposure, s, repeat, "kvp_meter", "kvp-1", quantity, value, unit, taken))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a postgresql:// URL (a new schema is made in it, dropped afterwards) or a "
                                     "SQLite file that does not exist yet (kept afterwards); default: a SQLite file "
                                     "in a temporary folder, removed afterwards")
    parser.add_argument("--readings", type=int, default=10_000_000, help="readings to import (default 10 000 000)")
    parser.add_argument("--rooms", type=int, default=500)
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=50_000, help="readings per import transaction")
    parser.add_argument("--verify", action="store_true", help="also time `verify` over the whole store")
    parser.add_argument("--keep", action="store_true", help="keep the store afterwards")
    args = parser.parse_args(argv)

    folder = schema = None
    if args.db and is_url(args.db):
        import psycopg

        schema = f"xcal_bench_{secrets.token_hex(4)}"
        with psycopg.connect(args.db, autocommit=True) as con:
            con.execute(f"CREATE SCHEMA {schema}")
        location: str | Path = _with_schema(args.db, schema)
    elif args.db:
        location = Path(args.db)
        if location.exists():
            parser.error(f"{location} exists; give a new file so the store starts empty")
    else:
        folder = Path(tempfile.mkdtemp(prefix="xcal-bench-"))
        location = folder / "records.sqlite3"
    try:
        return _run(args, location)
    finally:
        if args.keep:
            print(f"kept: {display_location(location)}")
        elif schema:
            import psycopg

            with psycopg.connect(args.db, autocommit=True) as con:
                con.execute(f"DROP SCHEMA {schema} CASCADE")
        elif folder:
            shutil.rmtree(folder, ignore_errors=True)


def _run(args: argparse.Namespace, location: str | Path) -> int:
    count, runs = runs_for(args.readings, args.rooms, args.years)
    sample_runs = max(1, min(count, 2000))
    start = time.perf_counter()
    sample = sum(len(r.readings) for r in runs_for(sample_runs * 42, args.rooms, args.years)[1])
    generate_per_reading = (time.perf_counter() - start) / sample

    with Store(location) as store:
        print(f"store: {store.backend} at {display_location(location)}")
        print(f"building: {count} runs in {args.rooms} rooms over {args.years:g} years, about {args.readings} "
              f"readings, in transactions of about {args.batch} readings")
        start = time.perf_counter()
        summary = store.import_runs(_progress(runs, count), batch_readings=args.batch)
        elapsed = time.perf_counter() - start
        print(file=sys.stderr)
        rate = summary.readings / elapsed
        print(f"  {summary.runs} runs, {summary.readings} readings, {summary.checks} checks, {summary.entries} "
              f"chain entries in {summary.batches} transactions, {elapsed:.0f} s")

        commit = _commit_times(store, args.rooms)
        first, trends, points = _trend_times(store, args.rooms)
        size = store.size_bytes()

        ok_import, ok_commit, ok_trend = rate >= IMPORT_TARGET, statistics.median(commit) <= COMMIT_TARGET, \
            statistics.median(trends) <= TREND_TARGET
        print()
        print(f"bulk import    {rate:10,.0f} readings/s   target >= {IMPORT_TARGET:,} readings/s   "
              f"{_verdict(ok_import)}   (generating the runs took {generate_per_reading * rate * 100:.0f} % "
              f"of it)")
        print(f"commit 1 read. {statistics.median(commit):10.2f} ms median   target <= {COMMIT_TARGET:g} ms   "
              f"{_verdict(ok_commit)}   (95th percentile {_pct(commit, 95):.2f} ms, worst {max(commit):.2f} ms, "
              f"{len(commit)} commits)")
        print(f"trend query    {statistics.median(trends):10.2f} ms median   target <= {TREND_TARGET:g} ms   "
              f"{_verdict(ok_trend)}   (one room, check kvp-accuracy: {points} points; first query "
              f"{first:.2f} ms, worst {max(trends):.2f} ms over {len(trends)} rooms)")
        print(f"store size     {size / 1e9:10.2f} GB          {size / summary.readings:.0f} bytes per reading "
              f"(entries, rows and indexes)")
        if args.verify:
            start = time.perf_counter()
            report = store.verify()
            print(f"verify         {time.perf_counter() - start:10.1f} s           {report.reason}")
            if not report.ok:
                return 1
    return 0 if ok_import and ok_commit and ok_trend else 1


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
    now = dt.datetime.now(dt.timezone.utc)
    room = rooms // 2
    header = RunHeader("kvp-accuracy", "1.0.0", "ab" * 32, "kVp accuracy", "Example Health Network", str(room),
                       f"Radiography {room}", "t.technician", False, "0.9.0", snapshot(room, "kvp-accuracy"))
    store.create_run(header)
    times = []
    for n in range(1, 201):
        reading = StoredReading(n, 1 + (n - 1) // 50, n, "kvp_meter", "kvp-1", "kvp_ppv", 80.0 + n / 100, "kV",
                                _iso(now))
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


def _pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


if __name__ == "__main__":
    sys.exit(main())
