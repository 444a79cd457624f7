"""The installed `xcal run` at a terminal (a pty): what a technician types at a value prompt, Enter alone,
Ctrl-C and Ctrl-D, and `--resume` afterwards."""

from __future__ import annotations

import json
import os
import re
import select
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")]

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LEFT = "?? Left edge: X-ray field minus light field [cm]: "
RIGHT = "?? Right edge: X-ray field minus light field [cm]: "
TOP = "?? Top (cranial) edge: X-ray field minus light field [cm]: "
BOTTOM = "?? Bottom (caudal) edge: X-ray field minus light field [cm]: "


class Terminal:
    """`xcal ARGS` on a pseudo-terminal: wait for text, type lines and control keys, collect the exit code."""

    def __init__(self, exe: str, *args: str) -> None:
        import pty

        env = {**os.environ, "COLUMNS": "200", "TERM": "xterm"}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child
            os.execve(exe, [exe, *args], env)
        self.seen = ""
        self.transcript = ""
        """Everything shown since the start (`seen` is what is shown since the last expect)."""

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 4096)
        except OSError:
            return False
        text = ANSI.sub("", data.decode("utf-8", "replace")).replace("\r", "")
        self.seen += text
        self.transcript += text
        return bool(data)

    def expect(self, text: str, timeout: float = 60) -> None:
        """Wait until `text` has been shown since the last expect (fails with what was shown)."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            if time.monotonic() > deadline or not self._read(0.2):
                raise AssertionError(f"{text!r} never shown; the terminal showed:\n{self.seen}")
        self.seen = self.seen[self.seen.index(text) + len(text):]

    def shows(self, text: str, timeout: float) -> bool:
        """Whether `text` is shown (or the terminal closed) within `timeout` seconds; what is read stays in `seen`."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            if time.monotonic() > deadline:
                return False
            if not self._read(0.2):
                return True
        return True

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def key(self, char: bytes) -> None:
        os.write(self.fd, char)

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """Read to the end; the exit code and everything shown since the last expect."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._read(0.2):          # end of output: the program has closed the terminal
                _, status = os.waitpid(self.pid, 0)
                return os.waitstatus_to_exitcode(status), self.seen
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"xcal did not end; the terminal showed:\n{self.seen}")


def _run(xcal, run_id):
    return json.loads(xcal("show-run", run_id, "--json").stdout)


def _entries(run):
    return [(r["quantity"], r["value"], r["unit"]) for r in run["readings"] if r["role"] == "entry"]


def _only_run_id(xcal):
    (run,) = json.loads(xcal("history", "--json").stdout)
    return run["run_id"]


def test_enter_alone_is_refused_the_unit_is_shown_and_only_typed_values_are_recorded(xcal, xcal_exe):
    term = Terminal(xcal_exe, "run", "collimation", "--room", "3")
    term.expect(LEFT)
    for _ in range(3):                       # Enter, Enter, Enter: nothing typed, nothing taken
        term.type("")
        term.expect("a value is needed: type a number in cm")
        term.expect(LEFT)
    term.type("0.4")
    term.expect(RIGHT)
    term.type("-0.3 cm")
    term.expect(TOP)
    term.type("5 mm")
    term.expect(BOTTOM)
    term.type("-0.6")
    code, shown = term.finish()
    assert code == 0, shown
    assert "VERDICT: PASS" in shown
    run = _run(xcal, _only_run_id(xcal))
    # 5 mm was typed with its own unit and is kept so; no 1 cm from an empty answer anywhere
    assert _entries(run) == [("left", 0.4, "cm"), ("right", -0.3, "cm"), ("top", 5.0, "mm"), ("bottom", -0.6, "cm")]
    # width (0.4 + 0.3) / 100 = 0.007; length (0.5 + 0.6) / 100 = 0.011
    assert sorted(round(c["value"], 6) for c in run["checks"]) == [0.007, 0.011]


@pytest.mark.parametrize("key, said", [(b"\x04", "Ctrl-D"), (b"\x03", "Ctrl-C")])
def test_ctrl_d_or_ctrl_c_at_a_prompt_stops_the_run_keeps_the_value_and_resume_asks_the_rest(
        xcal, xcal_exe, key, said):
    term = Terminal(xcal_exe, "run", "collimation", "--room", "3")
    term.expect(LEFT)
    term.type("0.4 cm")
    term.expect(RIGHT)
    time.sleep(0.5)                          # let it reach the read of the answer: the key is pressed at a prompt
    term.key(key)
    # A Ctrl-C that lands in the instant before Python starts reading the terminal is only acted on at the
    # next key, as a technician would find; press it again, once, if nothing has happened in 10 s.
    if not term.shows("stopped", 10):
        term.key(key)
    code, shown = term.finish()
    run_id = _only_run_id(xcal)
    assert code == 3, shown
    assert said in shown and f"xcal run --resume {run_id}" in shown and "Aborted!" not in shown
    run = _run(xcal, run_id)
    assert run["status"] == "incomplete" and _entries(run) == [("left", 0.4, "cm")]

    again = Terminal(xcal_exe, "run", "--resume", run_id)
    again.expect(RIGHT)                      # the first question is the right edge: left is in the record
    again.type("-0.3")
    again.expect(TOP)
    again.type("0.5")
    again.expect(BOTTOM)
    again.type("-0.6")
    code, shown = again.finish()
    assert code == 0, shown
    assert "Left edge" not in again.transcript
    run = _run(xcal, run_id)
    assert run["status"] == "complete"
    assert _entries(run) == [("left", 0.4, "cm"), ("right", -0.3, "cm"), ("top", 0.5, "cm"), ("bottom", -0.6, "cm")]


CLINIC = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "clinic", "site.yaml")
TYPED_KVP = (Path(__file__).resolve().parents[1] / "fixtures" / "kvp-two-typed.yaml").read_text(encoding="utf-8")


def _stored(run_id):
    """The run's status and its readings (quantity, value, unit) from the store the test's xcal writes."""
    from xcal.records.store import Store

    with Store(os.environ["XCAL_DB"]) as store:
        run = store.get_run(run_id)
    return run.status, [(r.quantity, r.value, r.unit) for r in run.readings]


@pytest.mark.parametrize("key, said", [(b"\x03", "Ctrl-C"), (b"\x04", "Ctrl-D")])
def test_a_stop_at_a_typed_meter_reading_exits_3_and_resume_asks_the_stored_exposure_number(
        xcal, xcal_exe, tmp_path, key, said):
    procedure = tmp_path / "kvp-two-typed.yaml"
    procedure.write_text(TYPED_KVP, encoding="utf-8")
    term = Terminal(xcal_exe, "--site", CLINIC, "run", str(procedure), "--room", "1")
    term.expect(">> Place the kVp meter on the table, detector face up.")
    term.expect("?? kvp-1, exposure 1 (station 1, repeat 1): kVp (PPV) in kV: ")
    term.type("80.4 kv")
    term.expect("= kVp (PPV) 80.4 kV; type 'back' at the next question to retype it")
    term.expect("kVp (maximum) in kV: ")
    term.type("81")
    term.expect("exposure time in ms: ")
    term.type("100 MS")
    term.expect("air kerma in mGy: ")
    term.type("12 mr")
    term.expect("= air kerma 12 mR = 0.1051 mGy (8.76 mGy/R)")  # 12 mR x 8.76 mGy/R = 0.10512 mGy
    term.expect("?? kvp-1, exposure 2 (station 1, repeat 2): kVp (PPV) in kV: ")
    time.sleep(0.5)
    term.key(key)
    if not term.shows("stopped", 10):
        term.key(key)
    code, shown = term.finish()
    run_id = _only_run_id(xcal)
    assert code == 3, shown
    assert said in shown and f"xcal run --resume {run_id}" in shown and "Aborted!" not in shown
    assert "Traceback" not in term.transcript
    status, readings = _stored(run_id)
    assert status == "incomplete" and len(readings) == 4

    again = Terminal(xcal_exe, "--site", CLINIC, "run", "--resume", run_id)
    again.expect("?? kvp-1, exposure 2 (station 1, repeat 2): kVp (PPV) in kV: ")
    for text in ("80.2", "81", "101", "0.1"):
        again.type(text)
    code, shown = again.finish()
    assert code == 0, shown
    assert "exposure 1 (" not in again.transcript
    assert _stored(run_id)[0] == "complete"


def test_a_typed_only_procedure_shows_its_set_up_first_and_back_retypes_the_last_value(xcal, xcal_exe):
    term = Terminal(xcal_exe, "run", "collimation", "--room", "3")
    term.expect(">> At 100 cm SID, centre the test tool on the table")
    term.expect(LEFT)
    assert "??" not in term.transcript.split(">> At 100 cm SID")[0]   # no question before the set-up
    term.type("4 mm")
    term.expect("= left 4 mm = 0.4 cm; type 'back' at the next question to retype it")
    term.expect(RIGHT)
    term.type("back")
    term.expect(LEFT)
    term.type("16 cm")                                   # outside -10 cm to 10 cm: refused, asked again
    term.expect("outside its plausible range")
    term.expect(LEFT)
    term.type("0.5 CM")
    term.expect(RIGHT)
    for text, question in (("-0.3", TOP), ("0.5", BOTTOM), ("-0.6", None)):
        term.type(text)
        if question:
            term.expect(question)
    code, shown = term.finish()
    assert code == 0, shown
    status, readings = _stored(_only_run_id(xcal))
    assert status == "complete" and readings == [("left", 0.5, "cm"), ("right", -0.3, "cm"), ("top", 0.5, "cm"),
                                                 ("bottom", -0.6, "cm")]
    # width (0.5 + 0.3) / 100 = 0.008; length (0.5 + 0.6) / 100 = 0.011
    assert "0.008" in shown and "0.011" in shown
