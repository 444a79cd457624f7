"""Values typed at a prompt: nothing recorded that was not typed, the unit shown, and an interruption at a
prompt (Ctrl-C, Ctrl-D) stops the run like any other, keeping every value already entered."""

from __future__ import annotations

from pathlib import Path

import pytest

from xcal.demo.wiring import simulated_room
from xcal.errors import ConfigError, RunAborted
from xcal.procedures.runner import RunObserver
from xcal.procedures.session import plan_resume, plan_run, run_plan
from xcal.records.store import Store
from xcal.units import Q_


class Typist(RunObserver):
    """A technician at a terminal: answers each question in turn from `answers`; an exception class in the list
    is raised instead (KeyboardInterrupt for Ctrl-C, EOFError for Ctrl-D). Records the names asked."""

    can_ask = True

    def __init__(self, answers: list) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def ask(self, name, prompt, unit):
        self.asked.append(name)
        answer = self.answers.pop(0)
        if isinstance(answer, type) and issubclass(answer, BaseException):
            raise answer
        return answer


def _entries(db, run_id):
    with Store(db) as store:
        run = store.get_run(run_id)
    return run.status, [(r.quantity, r.value, r.unit) for r in run.readings if r.role == "entry"]


@pytest.mark.parametrize("key, stop", [("Ctrl-C", KeyboardInterrupt), ("Ctrl-D", EOFError)])
def test_a_stop_at_a_prompt_keeps_the_values_entered_and_resume_asks_only_the_rest(tmp_path, key, stop):
    db = tmp_path / "r.sqlite3"
    with pytest.raises(RunAborted) as caught:
        run_plan(plan_run("collimation", 3), db=db, observer=Typist([Q_(0.4, "cm"), stop]),
                 simulated_room=simulated_room)
    run_id = caught.value.run_id
    assert caught.value.exit_code == 3                      # a stopped run, never 1 (the FAIL verdict)
    assert f"xcal run --resume {run_id}" in caught.value.fix
    assert _entries(db, run_id) == ("incomplete", [("left", 0.4, "cm")])

    plan, stored = plan_resume(run_id, db=db)
    typist = Typist([Q_(-0.3, "cm"), Q_(0.5, "cm"), Q_(-0.6, "cm")])
    result = run_plan(plan, db=db, observer=typist, resume=stored, simulated_room=simulated_room)
    assert typist.asked == ["right", "top", "bottom"]      # left is in the record: not asked again
    # width (0.4 + 0.3) / 100 = 0.007; length (0.5 + 0.6) / 100 = 0.011, both ≤ 0.02
    assert [round(c.value.magnitude, 6) for c in result.checks] == [0.007, 0.011] and result.verdict == "PASS"
    status, entries = _entries(db, run_id)
    assert status == "complete" and entries == [("left", 0.4, "cm"), ("right", -0.3, "cm"), ("top", 0.5, "cm"),
                                                ("bottom", -0.6, "cm")]


class RefusalListener(Typist):
    """A Typist that also keeps what it is told about refused values."""

    def __init__(self, answers: list) -> None:
        super().__init__(answers)
        self.refusals: list[str] = []

    def refused(self, text):
        self.refusals.append(text)


def test_a_value_out_of_its_range_is_asked_again(tmp_path):
    # output asks the temperature (range 5–45 °C) then the pressure (range 60–110 kPa): 9.9 kPa is a slip for
    # 99 kPa; it is refused, said so, and asked again, and the 99 kPa typed next is what is recorded.
    db = tmp_path / "r.sqlite3"
    typist = RefusalListener([Q_(22, "degC"), Q_(9.9, "kPa"), Q_(99, "kPa")])
    result = run_plan(plan_run("output", 3), db=db, observer=typist, simulated_room=simulated_room)
    assert typist.asked == ["temperature", "pressure", "pressure"]
    assert len(typist.refusals) == 1 and "outside its plausible range" in typist.refusals[0]
    assert _entries(db, result.run_id) == ("complete", [("temperature", 22.0, "°C"), ("pressure", 99.0, "kPa")])


def test_a_value_out_of_its_range_five_times_stops_the_run_keeping_the_earlier_ones(tmp_path):
    db = tmp_path / "r.sqlite3"
    with pytest.raises(RunAborted) as caught:
        run_plan(plan_run("output", 3), db=db, observer=Typist([Q_(22, "degC")] + [Q_(9.9, "kPa")] * 5),
                 simulated_room=simulated_room)
    assert caught.value.exit_code == 3 and "outside its plausible range" in caught.value.message
    assert f"xcal run --resume {caught.value.run_id}" in caught.value.fix
    assert _entries(db, caught.value.run_id) == ("incomplete", [("temperature", 22.0, "°C")])


class _Input:
    """Stands in for the console's input(): returns `lines` in turn and keeps each question's markup."""

    def __init__(self, lines: list[str]) -> None:
        self.lines, self.questions = list(lines), []

    def __call__(self, markup: str = "") -> str:
        self.questions.append(markup)
        return self.lines.pop(0)


def _console_asking(monkeypatch, lines):
    from xcal.console import RunConsole

    console = RunConsole()
    fake = _Input(lines)
    monkeypatch.setattr(console.out, "input", fake)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    return console, fake


def test_enter_alone_or_a_unit_alone_is_refused_and_asked_again_with_the_unit(monkeypatch, capsys):
    from rich.text import Text

    console, fake = _console_asking(monkeypatch, ["", "   ", "cm", "cm^2", "4 mA", "0.4"])
    value = console.ask("left", "Left edge: X-ray field minus light field", "cm").value
    assert value == Q_(0.4, "cm")                 # the only thing typed with a number
    assert len(fake.questions) == 6               # asked again after each of the five refusals
    shown = [Text.from_markup(q).plain for q in fake.questions]
    assert set(shown) == {"?? Left edge: X-ray field minus light field [cm]: "}
    said = capsys.readouterr().out
    assert "a value is needed" in said and "'cm' does not start with a number" in said
    assert "'4 mA' is not in a unit like cm" in said


def test_a_unit_with_brackets_and_powers_is_shown_as_written(monkeypatch):
    from rich.text import Text

    console, fake = _console_asking(monkeypatch, ["2.5"])
    assert console.ask("area", "Largest defect", "mm^2").value == Q_(2.5, "mm^2")
    assert Text.from_markup(fake.questions[0]).plain == "?? Largest defect [mm^2]: "


def test_ctrl_d_at_the_console_reaches_the_runner(monkeypatch):
    console, _ = _console_asking(monkeypatch, [])

    def eof(markup=""):
        raise EOFError

    monkeypatch.setattr(console.out, "input", eof)
    with pytest.raises(EOFError):
        console.ask("left", "Left edge", "cm")


def test_resume_without_a_terminal_needs_only_the_values_not_yet_recorded(tmp_path):
    db = tmp_path / "r.sqlite3"
    with pytest.raises(RunAborted) as caught:
        run_plan(plan_run("collimation", 3), db=db, observer=Typist([Q_(0.4, "cm"), Q_(-0.3, "cm"), EOFError]),
                 simulated_room=simulated_room)
    run_id = caught.value.run_id
    plan, stored = plan_resume(run_id, db=db)
    with pytest.raises(ConfigError) as refused:           # nobody to ask (a script), no inputs: exit 2
        run_plan(plan, db=db, resume=stored, simulated_room=simulated_room)
    assert refused.value.exit_code == 2 and "top, bottom" in refused.value.message
    assert "left" not in refused.value.message and f"xcal run --resume {run_id} --inputs FILE" in refused.value.fix
    assert _entries(db, run_id)[0] == "incomplete"
    plan, stored = plan_resume(run_id, db=db)
    result = run_plan(plan, db=db, resume=stored, inputs={"top": Q_(0.5, "cm"), "bottom": Q_(-0.6, "cm")},
                      simulated_room=simulated_room)
    # width (0.4 + 0.3) / 100 = 0.007; length (0.5 + 0.6) / 100 = 0.011
    assert [round(c.value.magnitude, 6) for c in result.checks] == [0.007, 0.011]
    assert len(_entries(db, run_id)[1]) == 4


def test_numbers_with_an_exponent_are_taken_and_commas_and_infinities_refused(monkeypatch, capsys):
    # "5,5" could be 5.5 or 55: refused, never read as 55; 1e999 overflows to infinity: refused; 1.5e2 is 150.
    console, fake = _console_asking(monkeypatch, ["5,5", "1e999 mGy/min", "1e999", "1.5e2"])
    assert console.ask("displayed_rate", "Displayed rate", "mGy/min").value == Q_(150, "mGy/min")
    assert len(fake.questions) == 4
    said = capsys.readouterr().out
    assert "has a comma" in said and said.count("is not a finite number") == 2
    console, _ = _console_asking(monkeypatch, ["2.5E-3 Gy/min"])
    assert console.ask("displayed_rate", "Displayed rate", "mGy/min").value.to("mGy/min").magnitude == 2.5


def test_a_stop_at_a_prompt_after_the_exposures_counts_them_as_made(tmp_path):
    # fluoro-display-accuracy makes its one exposure, then asks for the displayed values: Ctrl-C there stops
    # the run after 1 of 1 exposures (its reading kept), not "after 0".
    with pytest.raises(RunAborted) as caught:
        run_plan(plan_run("fluoro-display-accuracy", 10), db=tmp_path / "r.sqlite3",
                 observer=Typist([Q_(22, "degC"), Q_(101.325, "kPa"), KeyboardInterrupt]),
                 simulated_room=simulated_room)
    assert "stopped after 1 of 1 exposures" in caught.value.message


def test_the_last_implausible_answer_is_not_told_to_type_again(tmp_path):
    typist = RefusalListener([Q_(22, "degC")] + [Q_(9.9, "kPa")] * 5)
    with pytest.raises(RunAborted):
        run_plan(plan_run("output", 3), db=tmp_path / "r.sqlite3", observer=typist, simulated_room=simulated_room)
    assert len(typist.refusals) == 4                # the fifth answer ends the run instead


CLINIC = Path(__file__).resolve().parents[2] / "examples" / "clinic" / "site.yaml"
TWO_EXPOSURES = (Path(__file__).resolve().parents[1] / "fixtures" / "kvp-two-typed.yaml").read_text(encoding="utf-8")


class MeterReader(Typist):
    """A technician reading a manual meter's display: `ask_text` gets each reading's question in turn; answers
    are text, or an exception class to raise there (Ctrl-C, Ctrl-D). Keeps the questions and what was shown."""

    def __init__(self, answers: list) -> None:
        super().__init__(answers)
        self.questions: list[str] = []
        self.shown: list[str] = []

    def ask_text(self, question):
        self.questions.append(question)
        return self.ask("", question, "")

    def prompt(self, text):
        self.shown.append(text)

    def understood(self, text):
        self.shown.append(text)


def _typed_plan(tmp_path):
    path = tmp_path / "kvp-two-typed.yaml"
    path.write_text(TWO_EXPOSURES, encoding="utf-8")
    return plan_run(str(path), 1, site=CLINIC, allow_expired_calibration="test of typed readings")


@pytest.mark.parametrize("stop, said", [(KeyboardInterrupt, "Ctrl-C"), (EOFError, "Ctrl-D")])
def test_a_stop_at_a_typed_meter_reading_stops_like_any_other_and_resume_numbers_as_stored(tmp_path, stop, said):
    db = tmp_path / "r.sqlite3"
    with pytest.raises(RunAborted) as caught:
        run_plan(_typed_plan(tmp_path), db=db,
                 observer=MeterReader(["80.4 kV", "81 kv", "100 ms", "12 mR", "80.2 kV", stop]),
                 simulated_room=simulated_room)
    run_id = caught.value.run_id
    assert caught.value.exit_code == 3 and said in caught.value.message
    assert "stopped after 1 of 2 exposures" in caught.value.message
    assert f"xcal run --resume {run_id}" in caught.value.fix
    with Store(db) as store:
        run = store.get_run(run_id)
    # exposure 2 was cut off half typed: none of it is kept. 12 mR x 8.76 mGy/R = 0.10512 mGy, kept with the text.
    assert run.status == "incomplete" and [(r.exposure, r.quantity, round(r.value, 6), r.unit, r.data)
                                           for r in run.readings] == [
        (1, "kvp_ppv", 80.4, "kV", None), (1, "kvp_max", 81.0, "kV", None), (1, "exposure_time", 100.0, "ms", None),
        (1, "air_kerma", 0.10512, "mGy", {"typed": "12 mR", "factor": "8.76 mGy/R"})]

    plan, stored = plan_resume(run_id, db=db)
    reader = MeterReader(["80.2 kV", "81 kV", "101 ms", "0.1 mGy"])
    result = run_plan(plan, db=db, observer=reader, resume=stored, simulated_room=simulated_room)
    # the exposure made now is stored as number 2 and asked as such, not as "exposure 1"
    assert [q.split(":")[0] for q in reader.questions] == ["kvp-1, exposure 2 (station 1, repeat 2)"] * 4
    # mean PPV (80.4 + 80.2) / 2 = 80.3 kV
    assert result.checks[0].value.to("kV").magnitude == pytest.approx(80.3)


def test_ctrl_c_after_the_last_typed_exposure_keeps_both_and_names_the_resume(tmp_path, monkeypatch):
    from xcal.procedures import runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_judge", interrupted)       # Ctrl-C lands while the results are worked out
    db = tmp_path / "r.sqlite3"
    with pytest.raises(RunAborted) as caught:
        run_plan(_typed_plan(tmp_path), db=db, observer=MeterReader(["80.4 kV", "81 kV", "100 ms", "0.1 mGy",
                                                                         "80.2 kV", "81 kV", "101 ms", "0.1 mGy"]),
                 simulated_room=simulated_room)
    run_id = caught.value.run_id
    assert caught.value.exit_code == 3 and "stopped after 2 of 2 exposures" in caught.value.message
    assert f"xcal run --resume {run_id}" in caught.value.fix
    with Store(db) as store:
        run = store.get_run(run_id)
    assert run.status == "incomplete" and len(run.readings) == 8


def test_ctrl_c_in_the_last_exposures_display_stops_the_run_with_all_kept(tmp_path):
    class StopAtLast(MeterReader):
        def reading(self, n, total, station, repeat, values):
            if n == total:
                raise KeyboardInterrupt

    db = tmp_path / "r.sqlite3"
    with pytest.raises(RunAborted) as caught:
        run_plan(_typed_plan(tmp_path), db=db, observer=StopAtLast(["80.4 kV", "81 kV", "100 ms", "0.1 mGy",
                                                                    "80.2 kV", "81 kV", "101 ms", "0.1 mGy"]),
                 simulated_room=simulated_room)
    assert caught.value.exit_code == 3 and f"xcal run --resume {caught.value.run_id}" in caught.value.fix
    with Store(db) as store:
        assert store.get_run(caught.value.run_id).status == "incomplete"


@pytest.mark.parametrize("procedure, room, first", [("collimation", 3, "left"), ("pbl", 3, "field_length"),
                                                    ("apron-inspection", 10, "critical_defect"),
                                                    ("receptor-centering", 3, "across")])
def test_the_set_up_is_shown_before_the_first_question_of_a_typed_only_procedure(tmp_path, procedure, room, first):
    events: list[str] = []

    class Watcher(Typist):
        def prompt(self, text):
            events.append(f"prompt: {text}")

        def ask(self, name, prompt, unit):
            events.append(f"ask: {name}")
            raise KeyboardInterrupt

    from xcal.procedures.model import PromptStep, fill_text

    plan = plan_run(procedure, room, item="APR-01" if procedure == "apron-inspection" else None)
    setup = next(s for s in plan.procedure.steps if isinstance(s, PromptStep))
    with pytest.raises(RunAborted):
        run_plan(plan, db=tmp_path / "r.sqlite3", observer=Watcher([]), simulated_room=simulated_room)
    assert events == [f"prompt: {fill_text(setup.text, plan.parameters)}", f"ask: {first}"]


class Listener(Typist):
    """A Typist that keeps what it is told back (understood) and refused."""

    def __init__(self, answers: list) -> None:
        super().__init__(answers)
        self.told: list[str] = []
        self.refusals: list[str] = []

    def understood(self, text):
        self.told.append(text)

    def refused(self, text):
        self.refusals.append(text)


def test_each_value_is_said_back_in_the_procedures_unit_and_back_retypes_the_previous(tmp_path):
    from xcal.procedures.runner import BACK
    from xcal.units import parse_typed

    db = tmp_path / "r.sqlite3"
    typist = Listener([BACK, parse_typed("0.4 CM", "cm"), BACK, parse_typed("5 mm", "cm"), Q_(-0.3, "cm"),
                       Q_(0.5, "cm"), Q_(-0.6, "cm")])
    result = run_plan(plan_run("collimation", 3), db=db, observer=typist, simulated_room=simulated_room)
    assert typist.asked == ["left", "left", "right", "left", "right", "top", "bottom"]
    assert typist.refusals == ["there is no value of this step to retype here; type this one"]
    assert typist.told == ["left 0.4 cm; type 'back' at the next question to retype it",
                           "left 5 mm = 0.5 cm; type 'back' at the next question to retype it",
                           "right -0.3 cm; type 'back' at the next question to retype it",
                           "top 0.5 cm; type 'back' at the next question to retype it", "bottom -0.6 cm"]
    # the value typed back over is never recorded: width (0.5 + 0.3) / 100 = 0.008; length (0.5 + 0.6) / 100 = 0.011
    assert [round(c.value.magnitude, 6) for c in result.checks] == [0.008, 0.011]
    assert _entries(db, result.run_id) == ("complete", [("left", 5.0, "mm"), ("right", -0.3, "cm"),
                                                        ("top", 0.5, "cm"), ("bottom", -0.6, "cm")])


def test_an_exposure_typed_in_roentgen_is_entered_as_air_kerma_and_the_text_kept(tmp_path):
    from xcal.units import parse_typed

    db = tmp_path / "r.sqlite3"
    typist = Listener([Q_(22, "degC"), Q_(101.325, "kPa"), parse_typed("10 R/min", "mGy/min"),
                       parse_typed("100 mr", "mGy")])
    result = run_plan(plan_run("fluoro-display-accuracy", 10), db=db, observer=typist, simulated_room=simulated_room)
    # 10 R/min x 8.76 mGy/R = 87.6 mGy/min; 100 mR x 8.76 mGy/R = 0.876 mGy
    assert result.entered["displayed_rate"].to("mGy/min").magnitude == pytest.approx(87.6)
    assert result.entered["displayed_cumulative"].to("mGy").magnitude == pytest.approx(0.876)
    assert typist.told[-2:] == [("displayed_rate 10 R/min = 87.6 mGy/min; type 'back' at the next question to "
                                 "retype it"), "displayed_cumulative 100 mR = 0.876 mGy"]
    with Store(db) as store:
        rows = {r.quantity: (round(r.value, 6), r.unit, r.data) for r in store.get_run(result.run_id).readings
                if r.role == "entry"}
    assert rows["displayed_rate"] == (87.6, "mGy/min", {"typed": "10 R/min", "factor": "8.76 mGy/R"})
    assert rows["displayed_cumulative"] == (0.876, "mGy", {"typed": "100 mr", "factor": "8.76 mGy/R"})


def test_the_console_reads_units_as_typed_passes_back_and_stops_the_progress_bar_while_typing(monkeypatch):
    from xcal.procedures.runner import BACK

    console, _ = _console_asking(monkeypatch, ["0.4 CM", "back", "20 mm2"])
    events: list[str] = []

    class Bar:
        def stop(self):
            events.append("stop")

        def start(self):
            events.append("start")

    console._progress = Bar()
    typed_input = console.out.input

    def watched(markup=""):
        events.append("input")
        return typed_input(markup)

    monkeypatch.setattr(console.out, "input", watched)
    assert console.ask("left", "Left edge", "cm").value == Q_(0.4, "cm")
    assert console.ask("right", "Right edge", "cm") == BACK
    assert console.ask("area", "Largest defect", "mm²").value == Q_(20, "mm**2")
    assert events == ["stop", "input", "start"] * 3
