"""`xcal show-run` shows what `xcal correct` needs and what an auditor asks: reading ids, corrections,
signatures, the room's equipment, and the inputs behind each ratio result (µGy/mAs per station for linearity,
the kVp and the table's number for the HVL minimum, the SID and the entered edges for collimation); `xcal show`
prints a table limit's number at each station's setting."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from xcal.cli import main
from xcal.demo.wiring import simulated_room
from xcal.procedures.loader import load_inputs
from xcal.procedures.session import plan_run, run_plan
from xcal.records.store import Store

INPUTS = Path(__file__).resolve().parents[2] / "xcal" / "demo" / "inputs"


def _show(db, run_id: str) -> str:
    result = CliRunner().invoke(main, ["--db", str(db), "show-run", run_id], terminal_width=240)
    assert result.exit_code == 0, result.output
    return result.output


def test_show_run_lists_reading_ids_corrections_signatures_and_equipment(tmp_path):
    db = tmp_path / "r.sqlite3"
    run = run_plan(plan_run("kvp-accuracy", 4), db=db, simulated_room=simulated_room)
    with Store(db) as store:
        reading = next(r for r in store.get_run(run.run_id).readings if r.quantity == "kvp_ppv")
        store.correct_reading(run.run_id, reading.reading_id, 59.9, "kV", "transcription", "P. Hys")
        store.sign(run.run_id, "reviewed", "P. Hys")
    text = _show(db, run.run_id)
    assert "xcal correct RUN_ID READING_ID" in text
    row = next(line for line in text.splitlines() if f"│ {reading.reading_id} " in line)
    assert "kvp_ppv" in row and "59.9 kV" in row
    assert f"of reading {reading.reading_id}: " in text and "-> 59.9 kV by P. Hys" in text
    assert "signed reviewed by P. Hys" in text
    assert "equipment  generator: Example X-Ray Co. DXR-500 serial DXR5-10377" in text


def test_linearity_shows_the_air_kerma_per_mas_of_each_station(tmp_path):
    db = tmp_path / "r.sqlite3"
    run = run_plan(plan_run("ma-linearity", 3), db=db, simulated_room=simulated_room)
    text = _show(db, run.run_id)
    line = next(t for t in text.splitlines() if t.strip().startswith("mA linearity") and "at 1–2" in t)
    assert "station 1: air_kerma mean" in line and "µGy/mAs at 5 mAs" in line and "µGy/mAs at 10 mAs" in line
    assert "kvp_ppv" not in line                     # a dose result shows its dose readings


def test_hvl_shows_the_minimum_as_a_number_at_the_kvp_used(tmp_path):
    db = tmp_path / "r.sqlite3"
    run = run_plan(plan_run("hvl", 3), db=db, simulated_room=simulated_room)
    text = _show(db, run.run_id)
    assert "set 80 kV; kVp read" in text and "limit there ≥ table hvl-minimum-c = 2.9 mm" in text
    shown = CliRunner().invoke(main, ["show", "hvl", "--room", "5"], terminal_width=240)
    assert shown.exit_code == 0 and "that is ≥ 2.9 mm at 80 kV (stations 1, 2, 3, 4, 5, 6)" in shown.output


def test_collimation_shows_the_sid_and_the_entered_edges(tmp_path):
    db = tmp_path / "r.sqlite3"
    run = run_plan(plan_run("collimation", 3), db=db, inputs=load_inputs(INPUTS / "collimation-good.yaml"),
                   simulated_room=simulated_room)
    text = _show(db, run.run_id)
    assert "SID 100 cm; entered " in text and " cm" in text
