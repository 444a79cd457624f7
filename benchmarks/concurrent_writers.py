"""How many consoles one SQLite store serves: N processes writing runs into one file at once.

    python benchmarks/concurrent_writers.py                        # N = 1, 2, 4, 8, 16, 32 in a temporary folder
    python benchmarks/concurrent_writers.py --writers 4 8 --pace 0.1 --folder /srv/xcal
    python benchmarks/concurrent_writers.py --db postgresql://user@host/dbname --writers 4 16

Each writer process is one console running one run: `create_run`, then `--exposures` exposures, each committed
with `add_readings` as the runner does (kvp_ppv, kvp_max, exposure_time, air_kerma and a 12 kB waveform), then
`finish_run`. `--pace` seconds pass between a writer's exposures (0: back to back, the worst case; a simulated
room takes about 0.1 s per exposure, a technician at a real console several seconds). Printed per N: the commits
made, the median, 99th percentile and worst time of one exposure's commit (lock wait included), how many took
over 1 s, and the errors (a "database is locked" would be one). The chain is verified at the end.

The store lives in `--folder` (default: a temporary folder): measure on the disk the store will really use, as
the commit's fsync dominates.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path

WAVEFORM = {"t_ms": [i * 0.1 for i in range(400)], "kv": [80.0 + (i % 7) * 0.1 for i in range(400)]}


def writer(location: str, name: str, exposures: int, pace: float, start: float, out: mp.Queue) -> None:
    """One console: a run of `exposures` exposures; puts (seconds per commit list, error text or '')."""
    from xcal.errors import XcalError
    from xcal.records.models import now_utc
    from xcal.records.store import RunHeader, Store, StoredCheck, StoredReading

    times: list[float] = []
    try:
        while time.time() < start:
            time.sleep(0.001)
        with Store(location) as store:
            header = RunHeader("kvp-accuracy", "1.0.0", "ab" * 32, "kVp accuracy", "Bench site", name, name,
                               "bench", True, "0.1.0", {}, run_id=name)
            store.create_run(header)
            for n in range(1, exposures + 1):
                at = now_utc()
                rows = [StoredReading(exposure=n, station=1, repeat=n, role="kvp_meter", instrument_id="kvp-1",
                                      quantity=q, value=v, unit=u, taken_at=at)
                        for q, v, u in (("kvp_ppv", 80.1, "kV"), ("kvp_max", 80.9, "kV"),
                                        ("exposure_time", 100.2, "ms"), ("air_kerma", 1.234, "mGy"))]
                rows.append(StoredReading(exposure=n, station=1, repeat=n, role="kvp_meter", instrument_id="kvp-1",
                                          quantity="waveform", value=None, unit="", taken_at=at, data=WAVEFORM))
                began = time.perf_counter()
                store.add_readings(name, rows)
                times.append(time.perf_counter() - began)
                if pace:
                    time.sleep(pace)
            check = StoredCheck(check_id="kvp", title="kVp", station=1, setting="1", value=80.1, nominal=80.0,
                                unit="kV", deviation=0.1, allowed=4.0, limit_name="kvp", limit_text="±5 %",
                                limit_set="bench", source="bench", verdict="PASS")
            store.finish_run(name, "PASS", checks=[check])
        out.put((times, ""))
    except XcalError as exc:
        out.put((times, exc.message))
    except Exception as exc:  # noqa: BLE001 - a benchmark reports every failure and goes on
        out.put((times, f"{type(exc).__name__}: {exc}"))


def measure(location: str, writers: int, exposures: int, pace: float) -> dict[str, float | int | list[str]]:
    """Run `writers` consoles at once on `location`; their commit times and errors."""
    out: mp.Queue = mp.Queue()
    start = time.time() + 1.5
    procs = [mp.Process(target=writer, args=(location, f"W{writers}-{i}", exposures, pace, start, out))
             for i in range(writers)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    times = sorted(t for r in results for t in r[0])
    errors = [r[1] for r in results if r[1]]
    return {"commits": len(times), "median": statistics.median(times) if times else 0.0,
            "p99": times[min(len(times) - 1, int(len(times) * 0.99))] if times else 0.0,
            "worst": times[-1] if times else 0.0, "over_1s": sum(t > 1.0 for t in times), "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--exposures", type=int, default=24)
    parser.add_argument("--pace", type=float, default=0.0)
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--db", default=None, help="a postgresql:// URL instead of a SQLite file")
    args = parser.parse_args()
    from xcal.records.store import Store

    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        print(f"exposures per writer: {args.exposures}, pace {args.pace} s, cpus {os.cpu_count()}, "
              f"store: {args.db or folder}")
        print(f"{'writers':>7} {'commits':>7} {'median ms':>9} {'p99 ms':>7} {'worst ms':>8} {'>1 s':>5}  errors")
        for n in args.writers:
            location = args.db or str(Path(folder) / f"w{n}.sqlite3")
            Store(location).close()
            r = measure(location, n, args.exposures, args.pace)
            errors = r["errors"]
            assert isinstance(errors, list)
            print(f"{n:>7} {r['commits']:>7} {float(r['median']) * 1000:>9.1f} {float(r['p99']) * 1000:>7.0f} "
                  f"{float(r['worst']) * 1000:>8.0f} {r['over_1s']:>5}  {len(errors)} {errors[:1] or ''}")
            with Store(location) as store:
                report = store.verify()
                if not report.ok:
                    print(f"        the chain does not verify: {report.reason}")


if __name__ == "__main__":
    main()
