"""Run leases: which process runs a live run, so it is never run twice at once and a dead run shows as such.

A lease is one row of `leases` (run_id, pid, host, taken_at, heartbeat). It is operating state, not record:
it stays out of the audit chain, is replaced when a run resumes and deleted when it ends. `heartbeat` is in
seconds since 1970 by the database's clock (so consoles with skewed clocks agree), refreshed every
HEARTBEAT_SECONDS by a thread with its own connection. A lease is live while its heartbeat is younger than
TTL_SECONDS and, when it was taken on this host, its process still exists.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import RecordError
from .backend import Backend, open_backend
from .ledger import Transaction

HEARTBEAT_SECONDS = 30.0
TTL_SECONDS = 120.0


@dataclass(frozen=True)
class Lease:
    """Who holds a run: the process id and host, when it took the run, and the heartbeat's age in seconds."""

    run_id: str
    pid: int
    host: str
    taken_at: str
    age: float

    def mine(self) -> bool:
        """Held by this very process (a run it started or resumed and then lost in the same process)."""
        return self.pid == os.getpid() and self.host == socket.gethostname()

    def live(self) -> bool:
        """Its heartbeat is recent and, on this host, its process is still there."""
        if self.age > TTL_SECONDS:
            return False
        return self.host != socket.gethostname() or _process_exists(self.pid)

    def describe(self) -> str:
        """'process 4242 on console-1 holds it (last heartbeat 12 s ago)', for messages."""
        return f"process {self.pid} on {self.host} holds it (last heartbeat {max(self.age, 0):.0f} s ago)"


def _process_exists(pid: int) -> bool:
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def holder(db: Backend | Transaction, run_id: str) -> Lease | None:
    """The run's lease as stored (live or not), or None."""
    row = db.execute(f"SELECT pid, host, taken_at, {db.dialect.epoch_now} - heartbeat FROM leases "
                     f"WHERE run_id = ?", (run_id,)).fetchone()
    return Lease(run_id, int(row[0]), row[1], row[2], float(row[3])) if row else None


def take(tx: Transaction, run_id: str, at: str) -> None:
    """Hold the run for this process from now (any earlier lease of it is replaced)."""
    release(tx, run_id)
    tx.execute(f"INSERT INTO leases (run_id, pid, host, taken_at, heartbeat) "
               f"VALUES (?, ?, ?, ?, {tx.dialect.epoch_now})", (run_id, os.getpid(), socket.gethostname(), at))


def release(tx: Transaction, run_id: str) -> None:
    """The run is no longer held (it ended)."""
    tx.execute("DELETE FROM leases WHERE run_id = ?", (run_id,))


class Heartbeat:
    """Refreshes the leases this process holds in one store, every HEARTBEAT_SECONDS, from a daemon thread.

    The thread opens its own connection at its first beat; a failed beat is tried again at the next one.
    """

    def __init__(self, location: Any) -> None:
        self._location = location
        self._runs: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, run_id: str) -> None:
        with self._lock:
            self._runs.add(run_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=f"xcal-lease-{run_id}", daemon=True)
                self._thread.start()

    def drop(self, run_id: str) -> None:
        with self._lock:
            self._runs.discard(run_id)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _loop(self) -> None:
        db: Backend | None = None
        try:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                with self._lock:
                    runs = sorted(self._runs)
                if not runs:
                    continue
                if db is None:
                    try:
                        db = open_backend(self._location)
                    except RecordError:
                        continue
                try:
                    for run_id in runs:
                        db.execute(f"UPDATE leases SET heartbeat = {db.dialect.epoch_now} "
                                   f"WHERE run_id = ? AND pid = ? AND host = ?",
                                   (run_id, os.getpid(), socket.gethostname()))
                except db.errors:
                    db.close()
                    db = None
        finally:
            if db is not None:
                db.close()
