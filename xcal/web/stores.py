"""Open record stores kept between requests: opening a PostgreSQL store (connect, check the schema) takes tens of
milliseconds, reusing an open one costs one short query that also checks it is still sound.

A store serves one request at a time: it is taken from the pool for the request and given back after it. A store
whose request ended in an exception is closed, not given back. A SQLite store is closed after each request (its
connection belongs to the thread that opened it, and opening one takes a millisecond or two).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

KEEP = 4
"""How many open stores wait for the next requests; more requests at once open more, closed when given back."""


class StorePool:
    """The open stores of one location (a SQLite path or a PostgreSQL URL; None: XCAL_DB or the default store)."""

    def __init__(self, location: str | None, keep: int = KEEP) -> None:
        self.location, self.keep = location, keep
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    @contextmanager
    def store(self) -> Iterator[Any]:
        """An open store for one request, given back (or closed) after it."""
        store = self._take()
        try:
            yield store
        except BaseException:
            _close(store)
            raise
        self._give_back(store)

    def close(self) -> None:
        """Close the waiting stores (when the application stops)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for store in idle:
            _close(store)

    def _take(self) -> Any:
        from ..records.store import Store

        while True:
            with self._lock:
                store = self._idle.pop() if self._idle else None
            if store is None:
                return Store(self.location)
            if _sound(store):
                return store
            _close(store)

    def _give_back(self, store: Any) -> None:
        if store.backend == "postgresql":
            with self._lock:
                if len(self._idle) < self.keep:
                    self._idle.append(store)
                    return
        _close(store)


def _sound(store: Any) -> bool:
    """Whether a waiting PostgreSQL store still answers, has no transaction left open (whose snapshot would show
    old records: then now(), the transaction's start, is before this statement's) and still has the schema this
    xcal opened it with (a server restarted, a connection cut or a store upgraded by a newer xcal meanwhile: it is
    opened again)."""
    from ..records.schema import SCHEMA_VERSION

    try:
        rows = list(store.select("SELECT value, now() = statement_timestamp() FROM meta "
                                 "WHERE key = 'schema_version'"))
    except Exception:
        return False
    return len(rows) == 1 and str(rows[0][0]) == str(SCHEMA_VERSION) and rows[0][1] is True


def _close(store: Any) -> None:
    """Close a store whose state is not known (a failed request, a dropped connection): errors do not matter."""
    with contextlib.suppress(Exception):
        store.close()
