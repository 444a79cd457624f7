"""`xcal trend -o FILE` through the installed `xcal`: the trend drawn to PNG or SVG, the table still printed.

Three runs of the demo kVp accuracy test in room 3 are made once for the module, in a store of its own. The
expectations come from the procedure and its limit, not from the plot: four stations at 60, 80, 100 and
120 kV, each allowed ±max(5 %, 2 kV), i.e. ±3 kV (57–63 kV) at 60 kV and ±6 kV (114–126 kV) at 120 kV.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"
RUNS = 3
STATIONS = ("1: 60 kV 200 mA 100 ms", "2: 80 kV 200 mA 100 ms", "3: 100 kV 200 mA 50 ms", "4: 120 kV 200 mA 50 ms")
LIMIT = "±max(5 %, 2 kV)"
SOURCE = "EX-DXR500-SM rev. C, section 9.2"   # the kvp-accuracy limit's source in the example-dxr-manufacturer set


@pytest.fixture(scope="module")
def store(xcal_exe: str, tmp_path_factory: pytest.TempPathFactory):
    """Run `xcal --db STORE ARGS...` against a store holding three complete kVp accuracy runs in room 3."""
    folder = tmp_path_factory.mktemp("trend-file")
    db = folder / "records.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("XCAL_SITE", "XCAL_DB")}

    def xcal(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([xcal_exe, "--db", str(db), *args], capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL, env=env, cwd=folder)

    for _ in range(RUNS):
        run = xcal("run", "kvp-accuracy", "--room", "3", "--json")
        assert run.returncode == 0, run.stderr
    xcal.folder = folder  # type: ignore[attr-defined]
    return xcal


def _trend(store, output: Path, *more: str) -> subprocess.CompletedProcess:
    return store("trend", "--room", "3", "--result", "kvp-accuracy", "-o", str(output), *more)


def _svg_texts(path: Path) -> tuple[ET.Element, list[str]]:
    """The parsed SVG and the text of each of its text elements (the plot keeps its text as text)."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return root, ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_png_is_written_and_the_table_still_printed(store, tmp_path):
    out = tmp_path / "trend.png"
    result = _trend(store, out)
    assert result.returncode == 0, result.stderr
    assert "kvp-accuracy in room 3" in result.stdout and "SIMULATED" in result.stdout   # the terminal table
    assert f"plot written to {out}" in result.stdout
    data = out.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 800 <= width <= 2400, width
    assert height > width, (width, height)   # four station panels stacked one above the other


def test_svg_names_room_result_limit_stations_and_the_simulated_mark_and_json_stays_on_stdout(store, tmp_path):
    out = tmp_path / "Trend.SVG"
    result = _trend(store, out, "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == RUNS * len(STATIONS)   # stdout stays the JSON document
    assert f"plot written to {out}" in result.stderr
    root, texts = _svg_texts(out)
    text = " ".join(texts)
    assert "kvp-accuracy in room 3" in text
    assert "SIMULATED" in text
    assert LIMIT in text and SOURCE in text
    assert f"{RUNS} complete runs" in text
    for station in STATIONS:
        assert station in text, station
    assert "±3 kV (57–63 kV)" in text and "±6 kV (114–126 kV)" in text   # each station's own band
    assert "set 60 kV" in text and "set 120 kV" in text
    assert texts.count("kV") == len(STATIONS) and "run started (UTC)" in texts   # the axes' unit and time
    panels = [g for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("axes_")]
    assert len(panels) == len(STATIONS)


@pytest.mark.parametrize("name, said", [("trend.jpg", "'.jpg'"), ("trend", "no suffix"), ("trend.pdf", "'.pdf'")])
def test_a_suffix_other_than_png_or_svg_is_refused(store, tmp_path, name, said):
    out = tmp_path / name
    result = _trend(store, out)
    assert result.returncode == 2
    assert said in result.stderr and ".png" in result.stderr and ".svg" in result.stderr
    assert result.stdout == "" and not out.exists()


def test_no_data_says_so_writes_nothing_and_exits_as_trend_does(store, tmp_path):
    for room, check in (("9", "kvp-accuracy"), ("3", "no-such-check")):
        out = tmp_path / f"{room}-{check}.png"
        plain = store("trend", "--room", room, "--result", check)
        result = store("trend", "--room", room, "--result", check, "-o", str(out))
        assert result.returncode == plain.returncode == 0
        assert f"No complete runs in room {room} with a check '{check}'" in result.stdout
        assert "nothing to plot" in result.stderr and str(out) in result.stderr
        assert not out.exists()
