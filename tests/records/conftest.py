"""Fixtures for the record tests: a fresh store and a factory for complete runs with known numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from xcal.records.store import Store

from .factory import check, header, reading

MakeRun = Callable[..., str]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "records.sqlite3"


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    with Store(db) as s:
        yield s


@pytest.fixture
def make_run(store: Store) -> MakeRun:
    """A complete run: created, three kvp_ppv readings (80.4, 79.9, 80.2 kV), one check, finished.

    Its entries are, in order: run_created, reading x3, checks, run_finished (six entries).
    """

    def make(run_id: str, room: str = "3", values: tuple[float, ...] = (80.4, 79.9, 80.2),
             check_value: float = 80.2, verdict: str = "PASS", finish: bool = True, **kw: object) -> str:
        store.create_run(header(run_id, room, **kw))
        for n, v in enumerate(values, start=1):
            store.add_reading(run_id, reading(n, v))
        if finish:
            store.add_checks(run_id, [check(check_value, verdict)])
            store.finish_run(run_id, verdict)
        return run_id

    return make
