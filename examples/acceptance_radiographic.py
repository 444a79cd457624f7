"""Radiographic acceptance from a script: kVp accuracy, timer accuracy and HVL in one room, through the xcal API.

    python examples/acceptance_radiographic.py                 # room 3 of the built-in simulated demo site
    python examples/acceptance_radiographic.py 4               # the demo room whose kV runs high: exit 1
    python examples/acceptance_radiographic.py 1 --site site.yaml --operator "J. Rivera"

A vendor engineer's acceptance script is a few lines of API: load the site, take the room, open a session and
run each procedure. Every procedure is run even when an earlier one fails, so the engineer sees the whole
room at once. Each check is printed with where it applies, the value, the limit, the limit set and its
source. The exit code follows the `xcal` command: 0 when every procedure passes, 1 when one fails, and the
error's own code (2 bad input or configuration, 3 instrument or run error) when a run cannot be made.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import xcal
from xcal.api import Check
from xcal.errors import XcalError

PROCEDURES = ("kvp-accuracy", "timer-accuracy", "hvl")


def describe(check: Check) -> str:
    """One line per check: where, the value (and the set value), the limit with its limit set and source."""
    where = "run" if check.station == "run" else f"station {check.station}"
    nominal = f" (set {check.nominal:~P})" if check.nominal is not None else ""
    return (f"  {check.verdict:<4}  {check.name} at {where}: {check.value:.4g~P}{nominal}; "
            f"limit {check.limit} [{check.limit_set}: {check.source}]")


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The room (default 3), and optionally the site file, record store and operator."""
    parser = argparse.ArgumentParser(
        description="Run kVp accuracy, timer accuracy and HVL on one room and print every check.")
    parser.add_argument("room", nargs="?", default="3", help="room id from the site file (default: 3)")
    parser.add_argument("--site", metavar="FILE",
                        help="site file (default: XCAL_SITE, else the built-in simulated demo site)")
    parser.add_argument("--db", metavar="PATH",
                        help="record store (default: XCAL_DB, else xcal.sqlite3 in the user data folder)")
    parser.add_argument("--operator", help="who performs the tests (default: the OS user)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the three procedures, print each result as it comes and return the exit code."""
    args = parse_arguments(argv)
    try:
        site = xcal.load_site(args.site, db=args.db)
        room = site.room(args.room)
        print(f"{site.name}, room {room.id} ({room.name}); limit sets {', '.join(room.limit_sets)}"
              + ("; SIMULATED demo site" if site.is_demo else ""))
        results = []
        with room.session(operator=args.operator) as session:
            for procedure in PROCEDURES:
                result = session.run(procedure)
                results.append(result)
                flag = " (SIMULATED)" if result.simulated else ""
                print(f"{procedure}: {result.verdict}{flag}, run {result.run_id}")
                for check in result.checks:
                    print(describe(check))
    except XcalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    failed = [r.procedure for r in results if not r.passed]
    print(f"ACCEPTANCE: {'FAIL (' + ', '.join(failed) + ')' if failed else 'PASS'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
