"""Several consoles write one store at once: every run is kept whole, nobody sees "database is locked", and the
chain verifies.

Four `xcal run` processes start together on one fresh store, two of them in the same room, while a fifth
program (a backup tool, say) takes the SQLite file's lock for a moment shorter than the write wait. On
PostgreSQL (XCAL_TEST_PG) the same four consoles run without the fifth; without a server that case is skipped.
How many consoles one SQLite file serves is measured by benchmarks/concurrent_writers.py (user guide).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from xcal.records.store import Store

ROOMS = ("3", "3", "4", "5")     # two consoles in one room, two in others
READINGS_PER_RUN = 12 * 5        # kvp-accuracy: 12 exposures x (kvp_ppv, kvp_max, exposure_time, air_kerma, waveform)
STORED = re.compile(r"Record (\S+) stored in ")

_BRIEF_LOCK = """
import sqlite3, sys, time
from pathlib import Path
path = Path(sys.argv[1])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    if path.exists():
        con = sqlite3.connect(path, isolation_level=None, timeout=30)
        if con.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'readings'").fetchone()[0]:
            if con.execute("SELECT COUNT(*) FROM readings").fetchone()[0] >= 5:
                con.execute("BEGIN EXCLUSIVE")
                print("held", flush=True)
                time.sleep(float(sys.argv[2]))
                con.execute("ROLLBACK")
                break
        con.close()
    time.sleep(0.02)
"""


def _consoles(xcal_exe: str, db: Path | str) -> list[subprocess.Popen]:
    return [subprocess.Popen([xcal_exe, "--db", str(db), "run", "kvp-accuracy", "--room", room],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for room in ROOMS]


def _finished(consoles: list[subprocess.Popen]) -> list[tuple[int, str, str]]:
    done = []
    for console in consoles:
        out, err = console.communicate(timeout=120)
        done.append((console.returncode, out, err))
    return done


def test_four_consoles_writing_one_store_at_once_lose_no_run_and_the_chain_verifies(db, backend, xcal_exe, xcal):
    brief = None
    if backend == "sqlite":
        brief = subprocess.Popen([sys.executable, "-c", _BRIEF_LOCK, str(db), "2"], stdout=subprocess.PIPE,
                                 text=True)
    try:
        done = _finished(_consoles(xcal_exe, db))
    finally:
        if brief is not None:
            held, _ = brief.communicate(timeout=60)
    if brief is not None:
        assert held == "held\n", "the other program never took the store's lock while the consoles ran"
    run_ids = []
    for returncode, out, err in done:
        assert "locked" not in err.lower() and "Traceback" not in err and "error:" not in err, err
        assert returncode in (0, 1), err                  # a verdict: PASS (0) or FAIL (1), never a stop
        stored = STORED.search(out)
        assert stored, out
        run_ids.append(stored.group(1))
    assert len(set(run_ids)) == len(ROOMS)
    with Store(db) as store:
        runs = {run.run_id: run for run in store.list_runs()}
        assert set(runs) == set(run_ids)
        assert sorted(runs[r].room_id for r in run_ids) == sorted(ROOMS)
        for run_id in run_ids:
            run = store.get_run(run_id)
            assert run.status == "complete" and len(run.readings) == READINGS_PER_RUN
        report = store.verify()
        assert report.ok, report.reason
    verified = xcal("--db", str(db), "verify")
    assert verified.returncode == 0, verified.stderr
