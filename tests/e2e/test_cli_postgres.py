"""The installed `xcal` on a PostgreSQL store: run, verify, history and a tampered row, through a URL.

Needs a server: XCAL_TEST_PG=postgresql://... (`.ci/run` starts one). Each test gets a fresh schema on it.

kvp-accuracy, counted from its procedure file: 4 stations x 3 repeats = 12 exposures, each read for kvp_ppv,
kvp_max, exposure_time, air_kerma and waveform = 60 readings, one entry each; with run_created, one checks
entry (4 checks, one per station) and run_finished the run is 63 entries, and the anchor made at its end one
more. Room 3 of the demo site is healthy.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

pytestmark = pytest.mark.e2e

SERVER = os.environ.get("XCAL_TEST_PG", "").strip()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL into a new, empty schema on the XCAL_TEST_PG server, dropped after the test."""
    if not SERVER:
        pytest.skip("PostgreSQL store not tested: set XCAL_TEST_PG=postgresql://... to run")
    import psycopg

    schema = f"xcal_e2e_{secrets.token_hex(6)}"
    parts = urlsplit(SERVER)
    query = dict(parse_qsl(parts.query))
    query["options"] = (query.get("options", "") + f" -csearch_path={schema}").strip()
    with psycopg.connect(SERVER, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    try:
        yield urlunsplit(parts._replace(query=urlencode(query)))
    finally:
        with psycopg.connect(SERVER, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")


def test_run_verify_history_and_a_tampered_row_on_postgresql(xcal, pg_url, _isolated_store):
    run = xcal("--db", pg_url, "run", "kvp-accuracy", "--room", "3", "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["verdict"] == "PASS" and len(result["checks"]) == 4
    shown, given = urlsplit(result["db"]), urlsplit(pg_url)  # the URL as given (it holds no password)
    assert (shown.scheme, shown.netloc, shown.path) == (given.scheme, given.netloc, given.path)
    assert sorted(parse_qsl(shown.query)) == sorted(parse_qsl(given.query))
    assert not _isolated_store.exists()                   # XCAL_DB's SQLite file was not used: --db won
    verified = xcal("--db", pg_url, "verify", "--json")
    assert verified.returncode == 0, verified.stderr
    report = json.loads(verified.stdout)
    assert report["ok"] is True and report["entries"] == 64
    history = xcal("history", "--json", env={"XCAL_DB": pg_url})
    assert history.returncode == 0, history.stderr
    [listed] = json.loads(history.stdout)
    assert (listed["run_id"], listed["room_id"], listed["status"], listed["verdict"]) == \
        (result["run_id"], "3", "complete", "PASS")

    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as con:        # the first reading, as someone with the password
        con.execute("UPDATE readings SET value = value + 1 WHERE reading_id = (SELECT MIN(reading_id) FROM readings)")
    broken = xcal("--db", pg_url, "verify")
    assert broken.returncode == 1
    assert "BROKEN at entry 2" in broken.stdout and "differs from the recorded" in broken.stdout


def test_an_unreachable_server_is_a_clear_error(xcal):
    pytest.importorskip("psycopg", reason="psycopg is not installed (the postgres extra)")
    result = xcal("--db", "postgresql://xcal:s3cret@127.0.0.1:1/qc", "history")
    assert result.returncode == 2
    assert "error: cannot connect to the record store postgresql://xcal@127.0.0.1:1/qc" in result.stderr
    assert "fix: check that the PostgreSQL server" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout and "Traceback" not in result.stderr
