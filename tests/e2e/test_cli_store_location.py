"""Where records go: a --db in a folder that does not exist is refused, not made; each run says where it went."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

pytestmark = pytest.mark.e2e


def test_a_db_in_a_missing_folder_is_refused_and_nothing_is_created(xcal, tmp_path):
    db = tmp_path / "recrods" / "xcal.sqlite3"                 # a typo of a folder that does not exist
    result = xcal("--db", str(db), "history")
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert f"cannot open the record store {db}: its folder {tmp_path / 'recrods'} does not exist" in result.stderr
    assert "--create-db-folder" in result.stderr and "\n  fix: " in result.stderr
    assert not (tmp_path / "recrods").exists()


def test_xcal_db_in_a_missing_folder_is_refused_before_a_run_starts(xcal, tmp_path):
    db = tmp_path / "nowhere" / "deeper" / "r.sqlite3"
    result = xcal("run", "kvp-accuracy", "--room", "3", env={"XCAL_DB": str(db)})
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_create_db_folder_makes_the_folder_and_the_store(xcal, tmp_path):
    db = tmp_path / "new" / "site-a" / "xcal.sqlite3"
    result = xcal("--db", str(db), "--create-db-folder", "history", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [] and db.is_file()


def test_the_default_store_folder_is_made_without_asking(xcal_exe, tmp_path):
    # No --db and no XCAL_DB: the store goes to the user data folder ($XDG_DATA_HOME/xcal on Linux), which is
    # xcal's own and is created on first use.
    env = {k: v for k, v in os.environ.items() if k != "XCAL_DB"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    result = subprocess.run([xcal_exe, "history", "--json"], capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "xcal" / "xcal.sqlite3").is_file()


def test_a_run_ends_by_saying_where_its_record_is(xcal, _isolated_store):
    result = xcal("run", "kvp-accuracy", "--room", "3")
    assert result.returncode == 0, result.stderr
    (run,) = json.loads(xcal("history", "--json").stdout)
    assert result.stdout.rstrip().splitlines()[-1] == f"Record {run['run_id']} stored in {_isolated_store}"


def test_with_json_the_store_line_goes_to_stderr(xcal, _isolated_store):
    result = xcal("run", "kvp-accuracy", "--room", "3", "--json")
    run = json.loads(result.stdout)
    assert result.stderr.rstrip().splitlines()[-1] == f"Record {run['run_id']} stored in {_isolated_store}"


def test_the_store_line_of_a_postgresql_store_shows_no_password():
    from xcal.console import stored_line

    line = stored_line(["20261126-114350-f592"], "postgresql://qc:s3cret@db.example/xcal")
    assert line == "Record 20261126-114350-f592 stored in postgresql://qc@db.example/xcal"
    assert stored_line(["A", "B"], "/srv/xcal.sqlite3") == "Records A, B stored in /srv/xcal.sqlite3"
