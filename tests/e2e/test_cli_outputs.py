"""`-o` of `xcal report` and `xcal export`: one rule. The record store is never overwritten, a file xcal did not
write only with --force, and a folder that does not exist is refused, not made."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def recorded(xcal_exe, tmp_path_factory):
    """A store holding one passing run, made once; each test works on its own copy."""
    db = tmp_path_factory.mktemp("outputs") / "records.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("XCAL_SITE", "XCAL_DB")}
    made = subprocess.run([xcal_exe, "--db", str(db), "run", "kvp-accuracy", "--room", "3", "--json"],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env=env,
                          check=False)
    assert made.returncode == 0, made.stderr
    return db, json.loads(made.stdout)["run_id"]


@pytest.fixture
def store(recorded, _isolated_store):
    """A copy of the recorded store where XCAL_DB points (the test's own store), and the run's id."""
    shutil.copy(recorded[0], _isolated_store)
    return _isolated_store, recorded[1]


def _unchanged(xcal, db, run_id, before: bytes):
    assert db.read_bytes() == before
    assert [r["run_id"] for r in json.loads(xcal("history", "--json").stdout)] == [run_id]


@pytest.mark.parametrize("args", [("report", "{run}"), ("report", "{run}", "--format", "pdf"),
                                  ("export", "--format", "json")])
@pytest.mark.parametrize("force", [(), ("--force",)])
def test_the_record_store_is_never_overwritten(xcal, store, args, force):
    db, run_id = store
    before = db.read_bytes()
    result = xcal(*[a.format(run=run_id) for a in args], "-o", str(db), *force)
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert f"{db} is the record store in use" in result.stderr and "\n  fix: " in result.stderr
    _unchanged(xcal, db, run_id, before)


def test_another_record_store_is_not_overwritten_even_with_force(xcal, store, tmp_path):
    db, run_id = store
    other = tmp_path / "other.sqlite3"
    shutil.copy(db, other)
    before = other.read_bytes()
    result = xcal("report", run_id, "-o", str(other), "--force")
    assert result.returncode == 2 and "is a SQLite database" in result.stderr
    assert other.read_bytes() == before


@pytest.mark.parametrize("name, args", [("notes.html", ("report", "{run}")),
                                        ("notes.json", ("export", "--format", "json"))])
def test_a_file_xcal_did_not_write_is_replaced_only_with_force(xcal, store, tmp_path, name, args):
    run_id = store[1]
    mine = tmp_path / name
    mine.write_text("my own notes\n", encoding="utf-8")
    command = [a.format(run=run_id) for a in args]
    refused = xcal(*command, "-o", str(mine))
    assert refused.returncode == 2 and f"{mine} exists and was not written by xcal" in refused.stderr
    assert "--force" in refused.stderr and mine.read_text(encoding="utf-8") == "my own notes\n"
    forced = xcal(*command, "-o", str(mine), "--force")
    assert forced.returncode == 0, forced.stderr
    assert mine.read_text(encoding="utf-8") != "my own notes\n"


def test_a_csv_export_checks_both_files_it_writes(xcal, store, tmp_path):
    (tmp_path / "audit-readings.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    result = xcal("export", "-o", str(tmp_path / "audit.csv"))
    assert result.returncode == 2 and "audit-readings.csv exists and was not written by xcal" in result.stderr
    assert not (tmp_path / "audit-runs.csv").exists()


@pytest.mark.parametrize("args, written", [
    (("report", "{run}", "-o", "{tmp}/r.html"), ["r.html"]),
    (("report", "{run}", "--format", "pdf", "-o", "{tmp}/r.pdf"), ["r.pdf"]),
    (("export", "-o", "{tmp}/audit.csv"), ["audit-runs.csv", "audit-readings.csv"]),
    (("export", "--format", "json", "-o", "{tmp}/audit.json"), ["audit.json"]),
])
def test_what_xcal_wrote_is_written_again_without_force(xcal, store, tmp_path, args, written):
    command = [a.format(run=store[1], tmp=tmp_path) for a in args]
    first = xcal(*command)
    assert first.returncode == 0, first.stderr
    again = xcal(*command)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split() == [str(tmp_path / name) for name in written]


@pytest.mark.parametrize("args", [("report", "{run}", "-o", "{out}/r.html"),
                                  ("export", "-o", "{out}/audit.csv"),
                                  ("export", "--format", "json", "-o", "{out}/audit.json")])
def test_a_missing_folder_is_refused_not_made(xcal, store, tmp_path, args):
    out = tmp_path / "reprots"                                   # a typo of a folder that does not exist
    result = xcal(*[a.format(run=store[1], out=out) for a in args])
    assert result.returncode == 2 and result.stdout == ""
    assert f"the folder {out} does not exist" in result.stderr and f"mkdir -p {out}" in result.stderr
    assert not out.exists()


def test_a_folder_given_as_the_output_is_refused(xcal, store, tmp_path):
    result = xcal("report", store[1], "-o", str(tmp_path))
    assert result.returncode == 2 and f"{tmp_path} is a folder" in result.stderr
