"""`xcal trend`'s table: the latest 50 points unless --all, saying how many there are; JSON always holds all.

Run in process (click's CliRunner) on a store of 30 complete runs in room 3 with two `kvp` checks each: 60
points, oldest first.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from xcal.cli import main
from xcal.records.store import ImportedRun, RunHeader, Store, StoredCheck


def _run(n: int) -> ImportedRun:
    day = f"2026-01-{n + 1:02d}"
    header = RunHeader("kvp-accuracy", "1.0.0", "ab" * 32, "kVp accuracy", "Test site", "3", "Rad 3", "t.tech", True,
                       "0.1.0", {}, run_id=f"R{n:02d}", started_at=f"{day}T09:00:00+00:00")
    checks = [StoredCheck(check_id="kvp", title="kVp accuracy", station=s, setting=f"{s}: 80 kV",
                          value=80.0 + n / 10 + s - 1, nominal=80.0, unit="kV", deviation=0.0, allowed=4.0,
                          limit_name="kvp", limit_text="±5 %", limit_set="aapm-74", source="AAPM TG-74",
                          verdict="PASS") for s in (1, 2)]
    return ImportedRun(header, [], checks, "PASS", f"{day}T10:00:00+00:00")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trend-table") / "records.sqlite3"
    with Store(path) as store:
        store.import_runs(_run(n) for n in range(30))
    return path


def _rows(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("│ R")]


def test_the_table_lists_the_latest_50_of_60_points_and_says_so(db):
    result = CliRunner().invoke(main, ["--db", str(db), "trend", "--room", "3", "--result", "kvp"])
    assert result.exit_code == 0, result.output
    assert "kvp in room 3: the latest 50 of 60 points (--all lists every one)" in result.output
    rows = _rows(result.output)
    assert len(rows) == 50
    assert rows[0].startswith("│ R05") and rows[-1].startswith("│ R29")    # oldest of the latest first


def test_all_lists_every_point_and_json_holds_every_one(db):
    every = CliRunner().invoke(main, ["--db", str(db), "trend", "--room", "3", "--result", "kvp", "--all"])
    assert every.exit_code == 0 and "latest" not in every.output
    rows = _rows(every.output)
    assert len(rows) == 60 and rows[0].startswith("│ R00")
    points = json.loads(CliRunner().invoke(main, ["--db", str(db), "trend", "--room", "3", "--result", "kvp",
                                                  "--json"]).output)
    assert len(points) == 60 and points[0]["run_id"] == "R00" and points[-1]["value"] == 83.9


def test_the_table_lines_up_every_row_under_its_header(db, monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)                      # plain text, as for a pipe
    output = CliRunner().invoke(main, ["--db", str(db), "trend", "--room", "3", "--result", "kvp"]).output
    table = [line for line in output.splitlines() if line and line[0] in "┏┃┡│└"]
    assert len(table) == 1 + 1 + 1 + 50 + 1                                      # top, header, rule, rows, bottom
    assert len({len(line) for line in table}) == 1
    header = table[1]
    columns = [i for i, ch in enumerate(header) if ch == "┃"]
    for row in table[3:-1]:
        assert [i for i, ch in enumerate(row) if ch == "│"] == columns
    assert table[3].split("│")[4].strip() == "80.5 kV"                   # R05 station 1: 80 + 5/10, as _run makes it
