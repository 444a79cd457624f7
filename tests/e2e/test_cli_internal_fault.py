"""An exception xcal did not foresee (a bug) exits 70, says it is a fault in xcal and how to report it, and
leaves a run in progress incomplete and resumable. Injected in process with click's CliRunner."""

from __future__ import annotations

from click.testing import CliRunner

from xcal.cli import main
from xcal.records.store import Store

FAULT = 70
READINGS_PER_EXPOSURE = 5        # kvp-accuracy: kvp_ppv, kvp_max, exposure_time, air_kerma + the waveform


def test_a_fault_mid_run_exits_70_and_the_run_is_incomplete_and_resumable(monkeypatch, _isolated_store):
    from xcal.console import RunConsole

    shown = RunConsole.reading

    def faulty(self, n, total, station, repeat, values):
        if n == 3:                                   # the third exposure is read and committed, then shown
            raise ZeroDivisionError("float division by zero")
        shown(self, n, total, station, repeat, values)

    monkeypatch.setattr(RunConsole, "reading", faulty)
    result = CliRunner().invoke(main, ["run", "kvp-accuracy", "--room", "3"])
    assert result.exit_code == FAULT, result.output
    assert "Traceback" not in result.output
    error = result.stderr
    assert error.startswith("error: a fault in xcal itself, not in your input or your instruments: "
                            "ZeroDivisionError: float division by zero")
    assert "report it" in error and "xcal --debug" in error and "xcal --version" in error
    with Store(_isolated_store) as store:
        (run,) = store.list_runs()
        kept = store.reading_count(run.run_id)
    assert run.status == "incomplete" and run.verdict is None
    assert run.status_note == "stopped by a fault in xcal: ZeroDivisionError: float division by zero"
    assert kept == 3 * READINGS_PER_EXPOSURE
    assert f"`xcal run --resume {run.run_id}`" in error and f"{kept} readings" in error

    monkeypatch.setattr(RunConsole, "reading", shown)
    resumed = CliRunner().invoke(main, ["run", "--resume", run.run_id])
    assert resumed.exit_code == 0, resumed.output
    with Store(_isolated_store) as store:
        done = store.get_run(run.run_id)
    # The three exposures kept are not made again: 12 exposures × 5 readings in all.
    assert (done.status, done.verdict, len(done.readings)) == ("complete", "PASS", 12 * READINGS_PER_EXPOSURE)


def test_a_fault_outside_a_run_exits_70_not_1_and_shows_the_traceback_only_with_debug(monkeypatch):
    def broken(self, *args, **kwargs):
        raise KeyError("started_at")

    monkeypatch.setattr(Store, "list_runs", broken)
    plain = CliRunner().invoke(main, ["history"])
    assert plain.exit_code == FAULT
    assert plain.stderr.startswith("error: a fault in xcal itself, not in your input or your instruments: "
                                   "KeyError: 'started_at'")
    assert "Traceback" not in plain.output and "--resume" not in plain.output
    debug = CliRunner().invoke(main, ["--debug", "history"])
    assert debug.exit_code == FAULT
    assert "Traceback (most recent call last)" in debug.stderr and "in broken" in debug.stderr


def test_a_usage_error_inside_a_command_is_still_click_s_exit_2(monkeypatch):
    result = CliRunner().invoke(main, ["history", "--limit", "0"])
    assert result.exit_code == 2 and "fault in xcal" not in result.output
