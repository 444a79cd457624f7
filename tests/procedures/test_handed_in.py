"""What the front ends hand in rather than the library importing it: the simulated room that serves a run's
simulated instruments, what follows a finished run, and the procedures a site file's references are checked
against."""

import pytest

from xcal.demo.wiring import simulated_room
from xcal.errors import ConfigError
from xcal.procedures.loader import LIBRARY_INDEX
from xcal.procedures.runner import RunObserver
from xcal.procedures.session import plan_run, run_plan
from xcal.records.store import Store
from xcal.site import load_site


def test_a_simulated_run_with_no_simulated_room_handed_in_is_refused_before_a_record_is_made(tmp_path):
    plan = plan_run("kvp-accuracy", 3)                            # the demo site: every instrument simulated
    db = tmp_path / "r.sqlite3"
    with pytest.raises(ConfigError) as err:
        run_plan(plan, db=db)
    assert "room 3" in err.value.message and "simulated instruments" in err.value.message
    assert "simulated_room=xcal.demo.wiring.simulated_room" in err.value.fix
    with Store(db) as store:
        assert store.list_runs() == []


class Notes(RunObserver):
    def __init__(self):
        self.notes = []

    def note(self, text):
        self.notes.append(text)


def test_the_lines_of_what_follows_a_run_reach_the_operator_once_the_record_is_sealed(tmp_path):
    heard = []

    def after(store, run_id):
        heard.append((store.get_run(run_id).status, run_id))
        return [f"after {run_id}"]

    told = Notes()
    plan = plan_run("timer-accuracy", 3, parameters={"repeats": 1})
    result = run_plan(plan, db=tmp_path / "r.sqlite3", observer=told, simulated_room=simulated_room,
                      after_run=after)
    assert heard == [("complete", result.run_id)]                   # called once, on the sealed record
    assert told.notes == [f"after {result.run_id}"]


def test_a_site_files_procedure_ids_are_checked_against_the_procedures_handed_in(site_copy):
    misspelt = site_copy({"{room: 4, procedure: kvp-accuracy, every: annual}":
                          "{room: 4, procedure: kvp-acuracy, every: annual}"})
    assert [e.procedure for e in load_site(misspelt).schedule if e.room == "4"].count("kvp-acuracy") == 1
    with pytest.raises(ConfigError) as err:
        load_site(misspelt, procedures=LIBRARY_INDEX)
    assert "unknown procedure 'kvp-acuracy'" in err.value.message and err.value.line is not None
