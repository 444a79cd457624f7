"""Account look-up on a store with many store-level entries: what the web front end pays on every request.

    python benchmarks/accounts.py                      # 50 000 store-level entries in a new SQLite store
    python benchmarks/accounts.py --entries 200000 --repeat 200

The store gets an admin and a physicist, then `--entries` store-level program entries (parts received, the
kind a busy site writes most), all in one transaction. It prints the time of reading the account entries from
the chain (what `get_account` did before the accounts table), of `get_account` (median and worst of
`--repeat` calls after one warm-up) and of `list_accounts`, against the share of the overview page's 300 ms
budget a look-up may take (10 ms), and what `xcal verify` spends replaying the account entries against the
accounts and credentials tables (`account_problems`). The machine may be shared; the figures are wall-clock times.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

BUDGET_MS = 10.0


def build(path: Path, entries: int) -> None:
    """A store with two accounts and `entries` store-level part_received entries."""
    from argon2 import PasswordHasher

    from xcal.records import accounts
    from xcal.records.store import Store

    accounts._hasher = lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # type: ignore[assignment]
    with Store(path) as store:
        accounts.add_account(store, "ann", "Ann Admin", "admin", "correct horse battery", by="setup")
        accounts.add_account(store, "bob", "Bob Physicist", "physicist", "tr0ub4dor&3 staple", by="ann")
        store.write_with_entries(lambda tx: [("part_received", {"part": f"P-{i}", "quantity": 1, "by": "stores"})
                                             for i in range(entries)])


def timed(call, repeat: int) -> list[float]:
    """Milliseconds of each of `repeat` calls, after one warm-up call."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()

    from xcal.records.accounts import account_problems, get_account, list_accounts
    from xcal.records.chain import ACCOUNT_KINDS
    from xcal.records.store import Store

    folder = Path(tempfile.mkdtemp(prefix="xcal-accounts-"))
    try:
        path = folder / "records.sqlite3"
        start = time.perf_counter()
        build(path, args.entries)
        print(f"store: {args.entries} store-level entries and 2 accounts, built in {time.perf_counter() - start:.1f} s")
        with Store(path) as store:
            assert get_account(store, "bob") is not None
            replay = timed(lambda: [e.data() for e in store.entries_of_kind(ACCOUNT_KINDS)], args.repeat)
            print(f"before, reading the account entries from the chain (what get_account did): median "
                  f"{statistics.median(replay):.3f} ms, worst {max(replay):.3f} ms")
            for name, call in (("get_account", lambda: get_account(store, "bob")),
                               ("list_accounts", lambda: list_accounts(store))):
                times = timed(call, args.repeat)
                print(f"{name}: median {statistics.median(times):.3f} ms, worst {max(times):.3f} ms "
                      f"({args.repeat} calls; budget {BUDGET_MS:.0f} ms)")
            assert account_problems(store) == []
            times = timed(lambda: account_problems(store), 5)
            print(f"verify's account check: median {statistics.median(times):.1f} ms (5 calls)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
