"""The web overview at hospital-group scale: 500 rooms and 10 years of runs (the store of benchmarks/records.py).

    python benchmarks/web_overview.py                     # a new SQLite store of 20 000 runs, removed afterwards
    python benchmarks/web_overview.py --runs 50000 --keep
    python benchmarks/web_overview.py --db STORE          # reuse a store records.py kept (--keep), 500 rooms
    python benchmarks/web_overview.py --pg URL            # build it in a new schema of that PostgreSQL database

The site is the demo site's instruments and facility with `--rooms` radiography rooms (ids 0 .. rooms-1, as the
records benchmark names them), each scheduled for kvp-accuracy and output-reproducibility annually: 1 000 lines.
It prints, each as the best and the median of `--repeat` calls after one warm-up:

- bare query: the rows the overview is made of, read with no judgement: each room x procedure's latest run and
  latest complete run (`Store.latest_runs_of`, the query `xcal due` makes), the open actions' entries and the
  room x procedure pairs that have runs;
- overview data: the library calls the page makes (`xcal due`'s report, open actions, calibration, unscheduled
  runs: web/overview.overview_data);
- overview page: GET / through the whole application in-process (session, account, role, template), signed in;

against the target: the page in <= 300 ms, judged on the median (what a person mostly waits; the best shows what
the code costs when nothing else runs). The machine may be shared; the figures are wall-clock times. A page over
PostgreSQL reuses the application's open connection (web/stores.py), as a running server does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET_MS = 300.0


def site_file(folder: Path, rooms: int) -> Path:
    """A site file of `rooms` rooms with the demo site's facility, instruments and limit sets."""
    import yaml

    from xcal.site import DEMO_SITE

    demo = yaml.safe_load(DEMO_SITE.read_text(encoding="utf-8"))
    site = {"kind": "site", "facility": {**demo["facility"], "name": "Example Health Network (benchmark)"},
            "instruments": [i for i in demo["instruments"] if i["id"] in ("kvp-1", "ec-1")],
            "schedule": [{"room": r, "procedure": p, "every": "annual"} for r in range(rooms)
                         for p in ("kvp-accuracy", "output-reproducibility")],
            "rooms": [{"id": r, "name": f"Radiography {r}", "modality": "radiography",
                       "equipment": {"generator": {"make": "Example X-Ray Co.", "model": "DXR-500",
                                                   "serial": f"DXR5-{r}", "type": "high-frequency"}},
                       "limit_sets": ["example-dxr-manufacturer", "cfr-1020", "aapm-74"],
                       "instruments": {"kvp_meter": "kvp-1", "electrometer": "ec-1"},
                       "simulation": {"generator": "high-frequency"}} for r in range(rooms)]}
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, sort_keys=False), encoding="utf-8")
    for name in (DEMO_SITE.parent / "instruments").glob("*"):
        target = folder / "instruments" / name.name
        target.parent.mkdir(exist_ok=True)
        shutil.copy(name, target)
    return path


def build(db: Path | str, runs: int, rooms: int, years: float) -> None:
    """Grow the store as benchmarks/records.py does (same rooms, runs, snapshot and chain entries)."""
    from records import make_run

    from xcal.records.store import Store

    step = years * 365.25 * 86400 / runs
    rng = random.Random(1)
    with Store(db) as store:
        start = time.perf_counter()
        summary = store.import_runs(make_run(i, rooms, step, rng) for i in range(runs))
        print(f"built: {runs:,} runs, {summary.readings:,} readings in {time.perf_counter() - start:.1f} s")


def timed(call, repeat: int) -> tuple[float, float]:
    """The best and the median time of `repeat` calls after a first one, in ms."""
    import statistics

    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an existing store to measure (records.py --keep); default: build a new one")
    parser.add_argument("--pg", metavar="URL", help="build the store in a new schema of this PostgreSQL database "
                                                    "(dropped afterwards unless --keep)")
    parser.add_argument("--runs", type=int, default=20_000, help="runs of a new store (42 readings each)")
    parser.add_argument("--rooms", type=int, default=500)
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep a new store and print where it is")
    parser.add_argument("--profile", action="store_true", help="also print where the overview data's time goes")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="xcal-web-bench-"))
    os.environ["XCAL_SITE_KEY"] = str(folder / "site-key.pem")
    schema = f"xcal_web_bench_{os.urandom(4).hex()}" if args.pg else None
    if schema:
        import psycopg
        from records import _with_schema

        with psycopg.connect(args.pg, autocommit=True) as con:
            con.execute(f"CREATE SCHEMA {schema}")
        args.new = _with_schema(args.pg, schema)
    try:
        return _measure(args, folder)
    finally:
        if args.keep:
            print(f"kept: {folder}" + (f" and schema {schema}" if schema else ""))
        else:
            shutil.rmtree(folder, ignore_errors=True)
            if schema:
                with psycopg.connect(args.pg, autocommit=True) as con:
                    con.execute(f"DROP SCHEMA {schema} CASCADE")


def _measure(args: argparse.Namespace, folder: Path) -> int:
    from starlette.testclient import TestClient

    from xcal.program.actions import ACTION_KINDS
    from xcal.records.accounts import add_account, get_account
    from xcal.records.store import Store
    from xcal.site import load_site
    from xcal.web import create_app
    from xcal.web.overview import overview_data

    db: Path | str = args.db or getattr(args, "new", None) or folder / "records.sqlite3"
    if not args.db:
        build(db, args.runs, args.rooms, args.years)
    site = load_site(site_file(folder, args.rooms))
    today = dt.date(2026, 12, 1)
    with Store(db) as store:
        if get_account(store, "bench") is None:
            add_account(store, "bench", "Bench Mark", "admin", "benchmark-password", by="benchmark")
        runs = next(iter(store.select("SELECT COUNT(*) FROM runs")))[0]
        pairs = [(e.room, e.procedure) for e in site.schedule]

        def bare() -> None:
            store.latest_runs_of(pairs)
            store.entries_of_kind(ACTION_KINDS)
            list(store.select("SELECT DISTINCT room_id, procedure_id FROM runs"))

        bare_ms = timed(bare, args.repeat)
        data_ms = timed(lambda: overview_data(site, store, today), args.repeat)
        lines = sum(len(r.lines) for r in overview_data(site, store, today)["rooms"])
        if args.profile:
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.runcall(overview_data, site, store, today)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    client = TestClient(create_app(site, str(db)), base_url="http://127.0.0.1")
    page = client.get("/login").text
    token = page.split('name="csrf" value="')[1].split('"')[0]
    client.post("/login", data={"csrf": token, "username": "bench", "password": "benchmark-password"})

    def get() -> None:
        answer = client.get("/")
        assert answer.status_code == 200, answer.status_code

    page_ms = timed(get, args.repeat)
    size = len(client.get("/").content)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"store: {runs:,} runs, {args.rooms} rooms; overview of {lines} lines, {size / 1024:.0f} kB of HTML; "
          f"load average {load} on {os.cpu_count()} CPUs")
    print(f"                best     median  (of {args.repeat} calls)")
    print(f"bare query      {bare_ms[0]:6.1f} ms  {bare_ms[1]:6.1f} ms   (latest runs of {len(pairs)} room x procedure "
          f"pairs, action entries, pairs with runs)")
    print(f"overview data   {data_ms[0]:6.1f} ms  {data_ms[1]:6.1f} ms   (due report, open actions, calibration, "
          f"unscheduled runs)")
    met = page_ms[1] <= TARGET_MS
    print(f"overview page   {page_ms[0]:6.1f} ms  {page_ms[1]:6.1f} ms   target <= {TARGET_MS:.0f} ms (median): "
          f"{'met' if met else 'NOT met'} (GET / signed in, in-process; {page_ms[1] - data_ms[1]:.0f} ms over the "
          f"data: session, account, role, template)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
