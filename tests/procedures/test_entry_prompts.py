"""Values typed at a prompt: nothing recorded that was not typed, the unit shown, and an interruption at a
prompt (Ctrl-C, Ctrl-D) stops the run like any other, keeping every value already entered."""

from __future__ import annotations

import pytest

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
        run_plan(plan_run("collimation", 3), db=db, observer=Typist([Q_(0.4, "cm"), stop]))
    run_id = caught.value.run_id
    assert caught.value.exit_code == 3                      # a stopped run, never 1 (the FAIL verdict)
    assert f"xcal run --resume {run_id}" in caught.value.fix
    assert _entries(db, run_id) == ("incomplete", [("left", 0.4, "cm")])

    plan, stored = plan_resume(run_id, db=db)
    typist = Typist([Q_(-0.3, "cm"), Q_(0.5, "cm"), Q_(-0.6, "cm")])
    result = run_plan(plan, db=db, observer=typist, resume=stored)
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
    result = run_plan(plan_run("output", 3), db=db, observer=typist)
    assert typist.asked == ["temperature", "pressure", "pressure"]
    assert len(typist.refusals) == 1 and "outside its plausible range" in typist.refusals[0]
    assert _entries(db, result.run_id) == ("complete", [("temperature", 22.0, "°C"), ("pressure", 99.0, "kPa")])


def test_a_value_out_of_its_range_five_times_stops_the_run_keeping_the_earlier_ones(tmp_path):
    db = tmp_path / "r.sqlite3"
    with pytest.raises(RunAborted) as caught:
        run_plan(plan_run("output", 3), db=db, observer=Typist([Q_(22, "degC")] + [Q_(9.9, "kPa")] * 5))
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
    value = console.ask("left", "Left edge: X-ray field minus light field", "cm")
    assert value == Q_(0.4, "cm")                 # the only thing typed with a number
    assert len(fake.questions) == 6               # asked again after each of the five refusals
    shown = [Text.from_markup(q).plain for q in fake.questions]
    assert set(shown) == {"?? Left edge: X-ray field minus light field [cm]: "}
    said = capsys.readouterr().out
    assert "a value is needed" in said and "'cm' does not start with a number" in said
    assert "4 mA is not in a unit like cm" in said


def test_a_unit_with_brackets_and_powers_is_shown_as_written(monkeypatch):
    from rich.text import Text

    console, fake = _console_asking(monkeypatch, ["2.5"])
    assert console.ask("area", "Largest defect", "mm^2") == Q_(2.5, "mm^2")
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
        run_plan(plan_run("collimation", 3), db=db, observer=Typist([Q_(0.4, "cm"), Q_(-0.3, "cm"), EOFError]))
    run_id = caught.value.run_id
    plan, stored = plan_resume(run_id, db=db)
    with pytest.raises(ConfigError) as refused:           # nobody to ask (a script), no inputs: exit 2
        run_plan(plan, db=db, resume=stored)
    assert refused.value.exit_code == 2 and "top, bottom" in refused.value.message
    assert "left" not in refused.value.message and f"xcal run --resume {run_id} --inputs FILE" in refused.value.fix
    assert _entries(db, run_id)[0] == "incomplete"
    plan, stored = plan_resume(run_id, db=db)
    result = run_plan(plan, db=db, resume=stored, inputs={"top": Q_(0.5, "cm"), "bottom": Q_(-0.6, "cm")})
    # width (0.4 + 0.3) / 100 = 0.007; length (0.5 + 0.6) / 100 = 0.011
    assert [round(c.value.magnitude, 6) for c in result.checks] == [0.007, 0.011]
    assert len(_entries(db, run_id)[1]) == 4


def test_numbers_with_an_exponent_are_taken_and_commas_and_infinities_refused(monkeypatch, capsys):
    # "5,5" could be 5.5 or 55: refused, never read as 55; 1e999 overflows to infinity: refused; 1.5e2 is 150.
    console, fake = _console_asking(monkeypatch, ["5,5", "1e999 mGy/min", "1e999", "1.5e2"])
    assert console.ask("displayed_rate", "Displayed rate", "mGy/min") == Q_(150, "mGy/min")
    assert len(fake.questions) == 4
    said = capsys.readouterr().out
    assert "has a comma" in said and said.count("is not a finite number") == 2
    console, _ = _console_asking(monkeypatch, ["2.5E-3 Gy/min"])
    assert console.ask("displayed_rate", "Displayed rate", "mGy/min").to("mGy/min").magnitude == 2.5


def test_a_stop_at_a_prompt_after_the_exposures_counts_them_as_made(tmp_path):
    # fluoro-display-accuracy makes its one exposure, then asks for the displayed values: Ctrl-C there stops
    # the run after 1 of 1 exposures (its reading kept), not "after 0".
    with pytest.raises(RunAborted) as caught:
        run_plan(plan_run("fluoro-display-accuracy", 10), db=tmp_path / "r.sqlite3",
                 observer=Typist([Q_(22, "degC"), Q_(101.325, "kPa"), KeyboardInterrupt]))
    assert "stopped after 1 of 1 exposures" in caught.value.message


def test_the_last_implausible_answer_is_not_told_to_type_again(tmp_path):
    typist = RefusalListener([Q_(22, "degC")] + [Q_(9.9, "kPa")] * 5)
    with pytest.raises(RunAborted):
        run_plan(plan_run("output", 3), db=tmp_path / "r.sqlite3", observer=typist)
    assert len(typist.refusals) == 4                # the fifth answer ends the run instead
