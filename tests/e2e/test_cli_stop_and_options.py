"""The installed `xcal`: a stopped run names `xcal run --resume RUN_ID`; a run from a procedure FILE resumes;
a blank calibration override reason, an unknown room and a --limit below 1 are refused with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

LIBRARY = Path(__file__).resolve().parents[2] / "xcal" / "procedures" / "library"
TOTAL_READINGS = 12 * 5          # kvp-accuracy: 4 stations × 3 repeats × (4 values + 1 waveform)
FAST_TIMEOUT = {"    timeout: 2 s\n    calibration:\n      certificate: SIM-CAL-2026-0117":
                "    timeout: 0.5 s\n    calibration:\n      certificate: SIM-CAL-2026-0117"}
EXPIRED = {"date: 2026-01-15": "date: 2024-06-30", "due: 2099-12-31": "due: 2025-06-30"}


def _fault_site(site_copy, fault: str):
    return site_copy({**FAST_TIMEOUT, "      seed: 3\n": f"      seed: 3\n      wire_faults:\n        - {fault}\n"})


def _only_run(xcal):
    (run,) = json.loads(xcal("history", "--json").stdout)
    return run


@pytest.mark.parametrize("fault", ["{instrument: kvp-1, kind: silence, command: read, after: 5}",
                                   "{instrument: kvp-1, kind: garble, command: read, after: 3}",
                                   "{instrument: kvp-1, kind: drop, command: read, after: 3}"])
def test_every_instrument_stop_names_the_resume_command_with_the_run_id(xcal, site_copy, fault):
    result = xcal("--site", str(_fault_site(site_copy, fault)), "run", "kvp-accuracy", "--room", "3")
    run = _only_run(xcal)
    assert result.returncode == 3, result.stderr
    assert run["status"] == "incomplete"
    fix = result.stderr.split("\n  fix: ", 1)[1]
    assert f"`xcal run --resume {run['run_id']}`" in fix


def test_a_run_from_a_procedure_file_is_resumed_from_another_folder(xcal, site_copy, tmp_path):
    text = (LIBRARY / "kvp-accuracy.yaml").read_text(encoding="utf-8")
    mine = tmp_path / "my.yaml"
    mine.write_text(text.replace("\nid: kvp-accuracy\n", "\nid: my-kvp\n"), encoding="utf-8")
    # the meter goes silent at its 5th reading on every connection: 4 exposures per attempt, 12 needed
    site = _fault_site(site_copy, "{instrument: kvp-1, kind: silence, command: read, after: 5}")
    assert xcal("--site", str(site), "run", str(mine), "--room", "3").returncode == 3
    run_id = _only_run(xcal)["run_id"]
    second = xcal("--site", str(site), "run", "--resume", run_id)
    assert second.returncode == 3 and f"xcal run --resume {run_id}" in second.stderr
    third = xcal("--site", str(site), "run", "--resume", run_id, "--json")
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["procedure"]["id"] == "my-kvp"
    stored = json.loads(xcal("show-run", run_id, "--json").stdout)
    assert stored["status"] == "complete" and len(stored["readings"]) == TOTAL_READINGS
    assert stored["snapshot"]["procedure"]["file"] == str(mine.resolve())


def test_resume_says_when_the_procedure_file_is_gone(xcal, site_copy, tmp_path):
    mine = tmp_path / "my.yaml"
    mine.write_text((LIBRARY / "kvp-accuracy.yaml").read_text(encoding="utf-8")
                    .replace("\nid: kvp-accuracy\n", "\nid: my-kvp\n"), encoding="utf-8")
    site = _fault_site(site_copy, "{instrument: kvp-1, kind: silence, command: read, after: 5}")
    assert xcal("--site", str(site), "run", str(mine), "--room", "3").returncode == 3
    run_id = _only_run(xcal)["run_id"]
    mine.unlink()
    refused = xcal("--site", str(site), "run", "--resume", run_id)
    assert refused.returncode == 2
    assert str(mine.resolve()) in refused.stderr and "not there any more" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_blank_override_reason_is_refused_and_nothing_is_recorded(xcal, site_copy, reason):
    site = site_copy(EXPIRED)
    result = xcal("--site", str(site), "run", "kvp-accuracy", "--room", "3", "--allow-expired-calibration", reason)
    assert result.returncode == 2
    assert "is blank" in result.stderr and "--allow-expired-calibration" in result.stderr
    assert "proceeding because" not in result.stderr
    assert json.loads(xcal("history", "--json").stdout) == []


def test_an_override_reason_is_recorded_without_its_surrounding_spaces(xcal, site_copy):
    site = site_copy(EXPIRED)
    result = xcal("--site", str(site), "run", "kvp-accuracy", "--room", "3", "--json",
                  "--allow-expired-calibration", "  recalibration booked  ")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["calibration_override"] == "recalibration booked"


@pytest.mark.parametrize("command", [("history", "--room", "99"),
                                     ("trend", "--room", "99", "--result", "nope"),
                                     ("trend", "--room", "99", "--result", "kvp-accuracy", "--json")])
def test_a_room_the_site_does_not_have_is_refused_naming_the_site_s_rooms(xcal, command):
    from xcal.site import load_site

    result = xcal(*command)
    assert result.returncode == 2
    assert "no room '99'" in result.stderr
    assert f"use one of the site's rooms: {', '.join(load_site(None).rooms)}" in result.stderr
    assert result.stdout == ""


def test_a_room_of_the_site_without_runs_is_an_empty_listing(xcal):
    result = xcal("history", "--room", "9")
    assert result.returncode == 0 and "No runs recorded in room 9 yet." in result.stdout
    assert json.loads(xcal("history", "--room", "9", "--json").stdout) == []


def test_a_room_known_only_from_the_records_is_still_listed(xcal, site_copy):
    # room 9 of the demo site renamed 99 in a site copy: its run is in the store, but not in the demo site
    site = site_copy({"  - id: 9\n": "  - id: 99\n"})
    inputs = Path(__file__).resolve().parents[2] / "xcal" / "demo" / "inputs" / "collimation-good.yaml"
    made = xcal("--site", str(site), "run", "collimation", "--room", "99", "--inputs", str(inputs), "--json")
    assert made.returncode == 0, made.stderr
    listed = xcal("history", "--room", "99", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [json.loads(made.stdout)["run_id"]]


def test_history_limit_must_be_at_least_one(xcal):
    xcal("run", "kvp-accuracy", "--room", "3")
    xcal("run", "kvp-accuracy", "--room", "3")
    for limit in ("0", "-1"):
        result = xcal("history", "--limit", limit, "--json")
        assert result.returncode == 2 and "--limit" in result.stderr and result.stdout == ""
    assert len(json.loads(xcal("history", "--limit", "1", "--json").stdout)) == 1


def test_ctrl_c_outside_a_run_exits_3_not_the_fail_code(monkeypatch):
    # in process: the store's listing is where the interrupt lands; click alone would print "Aborted!", exit 1
    from click.testing import CliRunner

    from xcal.cli import main
    from xcal.records.store import Store

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Store, "list_runs", interrupted)
    result = CliRunner().invoke(main, ["history"])
    assert result.exit_code == 3
    assert "interrupted" in result.output and "Aborted!" not in result.output
