"""Wall time of the `radiographic-acceptance` bundle on demo room 3, its exposures and time per exposure.

Target: the whole bundle within 10 s on 2 cores, so the simulators and the spectrum model are not the
bottleneck. The first run in a fresh cache folder pays for the spectra; the second shows the steady state.
Both are printed.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from xcal.demo.wiring import simulated_room


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        os.environ["XCAL_CACHE_DIR"] = str(Path(folder) / "cache")
        from xcal.procedures.session import plan_run, run_bundle

        for label in ("cold spectrum cache", "warm spectrum cache"):
            start = time.perf_counter()
            plan = plan_run("radiographic-acceptance", 3)
            result = run_bundle(plan, db=Path(folder) / "records.sqlite3", simulated_room=simulated_room)
            wall = time.perf_counter() - start
            exposures = plan.total_exposures()
            print(f"{label:<20} {wall:6.2f} s  {exposures} exposures  {wall / exposures * 1000:6.1f} ms per "
                  f"exposure  verdict {result.verdict}")


if __name__ == "__main__":
    main()
