"""`python -m xcal.records.upgrade [--db LOCATION] --name NAME`: bring a record store to this xcal's schema.

An upgrade that adopts existing records into the audit chain never runs when a store is merely opened: a
person runs it here, and the chain records their name with the upgrade. Exit 0 when done, 2 when refused.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import XcalError
from .schema import SCHEMA_VERSION


def main(argv: list[str] | None = None) -> int:
    """Upgrade the store named by --db (default: XCAL_DB, else the user data folder's file)."""
    parser = argparse.ArgumentParser(prog="python -m xcal.records.upgrade",
                                     description="Upgrade an xcal record store to this xcal's schema version; "
                                                 "back the store up first.")
    parser.add_argument("--db", metavar="LOCATION", help="a SQLite file or a postgresql:// URL (default: XCAL_DB)")
    parser.add_argument("--name", required=True, help="the full name of the person upgrading, kept in the chain")
    args = parser.parse_args(argv)
    from .store import Store

    try:
        with Store(args.db, upgrade_by=args.name) as store:
            where, steps = store.path, store.upgraded_from
    except XcalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if steps:
        print(f"upgraded {where} from schema version {steps[0]} to {SCHEMA_VERSION}; the audit chain records "
              f"it as done by {args.name.strip()}")
    else:
        print(f"{where} is already at schema version {SCHEMA_VERSION}; nothing to do")
    return 0


if __name__ == "__main__":
    sys.exit(main())
