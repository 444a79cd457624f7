"""The installed `xcal run` at a terminal (a pty): what a technician types at a value prompt, Enter alone,
Ctrl-C and Ctrl-D, and `--resume` afterwards."""

from __future__ import annotations

import json
import os
import re
import select
import sys
import time

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
