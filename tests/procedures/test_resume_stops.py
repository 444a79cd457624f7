"""A stopped run says how to continue it, and a run made from a procedure FILE can be resumed from anywhere,
unless that file is gone or changed; a blank calibration override reason is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from xcal.demo.wiring import simulated_room
from xcal.errors import ConfigError, RunAborted
from xcal.procedures.runner import RunObserver
from xcal.procedures.session import plan_resume, plan_run, run_plan
from xcal.records.store import Store

LIBRARY = Path(__file__).resolve().parents[2] / "xcal" / "procedures" / "library"
READINGS_PER_EXPOSURE = 5        # kvp-accuracy: kvp_ppv, kvp_max, exposure_time, air_kerma + the waveform


class CtrlCAt(RunObserver):
    """Presses Ctrl-C as exposure `at` is about to be made."""

    def __init__(self, at: int) -> None:
        self.at = at

    def exposure(self, n, total, station, repeat):
        if n == self.at:
            raise KeyboardInterrupt


def _my_kvp(folder: Path) -> Path:
    """A copy of kvp-accuracy with its own id: a procedure that is not built in."""
    text = (LIBRARY / "kvp-accuracy.yaml").read_text(encoding="utf-8")
    assert "\nid: kvp-accuracy\n" in text
    path = folder / "my.yaml"
    path.write_text(text.replace("\nid: kvp-accuracy\n", "\nid: my-kvp\n"), encoding="utf-8")
    return path


def _stopped_run(tmp_path, monkeypatch, at: int = 3) -> tuple[str, Path, Path]:
    """Start my.yaml by a RELATIVE path in its folder, Ctrl-C before exposure `at`; then go elsewhere."""
    folder = tmp_path / "procedures"
    folder.mkdir()
    path = _my_kvp(folder)
    db = tmp_path / "r.sqlite3"
    monkeypatch.chdir(folder)
    with pytest.raises(RunAborted) as caught:
        run_plan(plan_run("my.yaml", 3), db=db, observer=CtrlCAt(at), simulated_room=simulated_room)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return caught.value.run_id, path, db


def test_ctrl_c_in_a_run_names_the_resume_command_with_the_run_id(tmp_path, monkeypatch):
    run_id, _, db = _stopped_run(tmp_path, monkeypatch, at=3)
    with Store(db) as store:
        run = store.get_run(run_id)
    # two whole exposures were made before Ctrl-C at the third
    assert run.status == "incomplete" and len(run.readings) == 2 * READINGS_PER_EXPOSURE
    with pytest.raises(RunAborted) as again:
        run_plan(plan_run("kvp-accuracy", 3), db=db, observer=CtrlCAt(2), simulated_room=simulated_room)
    assert again.value.exit_code == 3
    assert f"`xcal run --resume {again.value.run_id}`" in again.value.fix
    assert "cable" not in again.value.fix


def test_a_run_from_a_procedure_file_resumes_from_another_folder(tmp_path, monkeypatch):
    run_id, path, db = _stopped_run(tmp_path, monkeypatch)
    with Store(db) as store:
        assert store.get_run(run_id).snapshot["procedure"]["file"] == str(path.resolve())
    plan, stored = plan_resume(run_id, db=db)
    assert plan.procedure.id == "my-kvp"
    result = run_plan(plan, db=db, resume=stored, simulated_room=simulated_room)
    with Store(db) as store:
        run = store.get_run(run_id)
    # 4 stations × 3 repeats, the two exposures made before Ctrl-C not made again
    assert result.run_id == run_id and run.status == "complete"
    assert len(run.readings) == 4 * 3 * READINGS_PER_EXPOSURE


def test_resume_refuses_a_procedure_file_that_is_gone(tmp_path, monkeypatch):
    run_id, path, db = _stopped_run(tmp_path, monkeypatch)
    path.unlink()
    with pytest.raises(ConfigError) as caught:
        plan_resume(run_id, db=db)
    assert str(path.resolve()) in caught.value.message and "not there any more" in caught.value.message
    assert "put that file back" in caught.value.fix


def test_resume_refuses_a_procedure_file_that_changed(tmp_path, monkeypatch):
    run_id, path, db = _stopped_run(tmp_path, monkeypatch)
    path.write_text(path.read_text(encoding="utf-8") + "# edited after the run started\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        plan_resume(run_id, db=db)
    assert f"the procedure file {path.resolve()} has changed since run {run_id}" in caught.value.message
    with Store(db) as store:
        assert store.get_run(run_id).status == "incomplete"


@pytest.mark.parametrize("reason", ["", "   ", "\t \n"])
def test_a_blank_calibration_override_reason_is_refused(reason):
    with pytest.raises(ConfigError, match="expired calibration .* is blank") as caught:
        plan_run("kvp-accuracy", 3, allow_expired_calibration=reason)
    assert "--allow-expired-calibration" in caught.value.fix
