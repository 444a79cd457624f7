"""Why the demo's year of history is imported, not run: the run path's cost per run against the whole import.

Times a few runs of each procedure of the year's plan through the run path on the simulated room, multiplies
each mean by the number of runs the plan has of it (what running the year live would take), then times
`add_year_history` over the same 365 days into a fresh store (templates run live, the year imported) and
`xcal verify` of the result. Prints the figures.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

from xcal.demo.history import add_year_history
from xcal.demo.wiring import simulated_room
from xcal.demo.year import plan_year, run_inputs
from xcal.procedures.session import start
from xcal.program.actions import after_run
from xcal.records.store import Store
from xcal.site import load_site

SAMPLES = 3


def main() -> None:
    site = load_site(None)
    today = dt.date.today()
    planned = plan_year(site, today - dt.timedelta(days=365), 365)
    counts: dict[tuple[str, str, str], int] = {}
    for p in planned:
        key = (p.room, p.procedure, p.item or "")
        counts[key] = counts.get(key, 0) + 1
    live = 0.0
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "live.sqlite3"
        for (room, procedure, item), n in sorted(counts.items(), key=lambda kv: -kv[1]):
            times = []
            for _ in range(SAMPLES if n > 1 else 1):
                began = time.perf_counter()
                prepared = start(procedure, room, site=site, db=db, inputs=run_inputs(room, procedure, item or None),
                                 item=item or None)
                prepared.run(operator="benchmark", simulated_room=simulated_room, after_run=after_run)
                times.append(time.perf_counter() - began)
            mean = sum(times) / len(times)
            live += mean * n
            print(f"room {room:>3} {procedure + (' ' + item if item else ''):<32} {n:4d} runs x {mean:6.3f} s")
        print(f"the year run live through the run path: {live:7.1f} s ({len(planned)} planned runs)")
        with Store(Path(folder) / "demo.sqlite3") as store:
            began = time.perf_counter()
            added = add_year_history(store, site, today)
            made = time.perf_counter() - began
            began = time.perf_counter()
            ok = store.verify().ok
            checked = time.perf_counter() - began
        print(f"add_year_history (templates run live, the year imported): {made:6.1f} s; {added[0]}")
        print(f"verify of the result: {checked:5.2f} s, ok={ok}")


if __name__ == "__main__":
    main()
