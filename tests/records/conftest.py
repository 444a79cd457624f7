"""Fixtures for the record tests: a fresh store on each backend and a factory for complete runs with known numbers.

Every test that takes `db`, `store` or `make_run` runs twice: on a SQLite file and on PostgreSQL. The
PostgreSQL run needs a server: set XCAL_TEST_PG to a URL of a database on it (`.ci/run` starts one and sets
it). Each test then gets its own fresh schema there, dropped afterwards. Without XCAL_TEST_PG the
PostgreSQL runs are reported as skipped, never as passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from xcal.records.store import Store

from .factory import PG_SKIP, check, header, pg_server, reading, scratch_schema

MakeRun = Callable[..., str]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database the test's store lives in."""
    if request.param == "postgres" and not pg_server():
        pytest.skip(PG_SKIP)
    return request.param


@pytest.fixture
def db(backend: str, tmp_path: Path) -> Iterator[Path | str]:
    """Where the test's store lives: a SQLite file, or the URL of a fresh PostgreSQL schema."""
    if backend == "sqlite":
        yield tmp_path / "records.sqlite3"
    else:
        with scratch_schema() as url:
            yield url


@pytest.fixture
def other_db(backend: str, tmp_path: Path) -> Iterator[Path | str]:
    """A second, separate store location on the same backend as `db`."""
    if backend == "sqlite":
        yield tmp_path / "other.sqlite3"
    else:
        with scratch_schema() as url:
            yield url


@pytest.fixture
def store(db: Path | str) -> Iterator[Store]:
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
