"""`xcal binder` on the small year (conftest.py), through the command line in this process: the files it holds,
their sha256 against the manifest (computed here with hashlib), the signed anchor, and no personal data
without --include-personal (searched for in every file's bytes)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import pytest


@pytest.fixture(scope="module")
def binders(small_year, tmp_path_factory):
    """The binder written without --include-personal: (exit code, stdout, zip path)."""
    from click.testing import CliRunner

    from xcal.cli import main

    folder = tmp_path_factory.mktemp("binder")
    out = folder / "plain.zip"
    result = CliRunner().invoke(main, ["--db", str(small_year.db), "binder", "--room", "4", "--year", "2025", "-o",
                                       str(out), "--key", str(folder / "site-key.pem"), "--json"])
    return {"plain": (result.exit_code, result.stdout, out)}


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_the_manifest_names_every_file_with_its_sha256(binders):
    code, stdout, path = binders["plain"]
    assert code == 0, stdout
    files = _members(path)
    manifest = json.loads(files.pop("manifest.json"))
    assert json.loads(stdout) == manifest
    assert {f["name"] for f in manifest["files"]} == set(files)
    for f in manifest["files"]:
        assert hashlib.sha256(files[f["name"]]).hexdigest() == f["sha256"]
        assert len(files[f["name"]]) == f["bytes"]
    assert (manifest["room"], manifest["year"], manifest["personal"], manifest["verified"]) == ("4", 2025, False, True)


def test_the_binder_holds_the_reports_the_proof_and_the_lists(binders, small_year):
    files = _members(binders["plain"][2])
    assert sorted(n for n in files if n.startswith("runs/")) == [f"runs/{r}.html" for r in small_year.runs[:4]]
    assert files["annual-report.pdf"].startswith(b"%PDF")
    assert b"Annual QC report: room 4" in files["annual-report.html"]
    assert json.loads(files["audit/verify.json"])["ok"] is True
    assert json.loads(files["open-actions.json"])["actions"] == []          # CA-1 was verified by its retest
    (row,) = list(csv.DictReader(io.StringIO(files["instruments.csv"].decode())))
    assert (row["id"], row["certificate"], row["due"], row["runs"]) == ("kvp-1", "CERT-2024-17", "2025-06-30", "4")


def test_the_anchor_holds_under_the_public_key_in_the_binder(binders, small_year, tmp_path):
    from xcal.records.anchor import public_key, read_anchor
    from xcal.records.store import Store

    files = _members(binders["plain"][2])
    (tmp_path / "anchor.json").write_bytes(files["audit/anchor.json"])
    (tmp_path / "key.pem").write_bytes(files["audit/site-public-key.pem"])
    anchor = read_anchor(tmp_path / "anchor.json")
    assert anchor.holds(public_key(tmp_path / "key.pem"))
    assert json.loads(files["audit/verify.json"])["entries"] == anchor.seq + 1     # the anchor's own entry follows
    with Store(small_year.db) as store:
        assert store.verify(public=public_key(tmp_path / "key.pem"), anchor=anchor).ok


def test_no_name_or_badge_dose_without_include_personal(binders, small_year):
    plain = _members(binders["plain"][2])
    for name, raw in plain.items():
        for secret in (small_year.person, small_year.wearer, "B-77"):
            assert secret.encode() not in raw, f"{secret} in {name}"
    # the names are in the store and reach the report when asked for: test_annual.py's
    # test_people_are_anonymised_unless_personal_is_asked
