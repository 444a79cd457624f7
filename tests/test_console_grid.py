"""The plain table `xcal trend` draws (console.grid): aligned cells, ANSI colour only where wanted, and ASCII
lines for an output that cannot encode the box characters."""

from __future__ import annotations

import io

import pytest

from xcal.console import colour_wanted, grid

ROWS = [("R1", "80 kV", ("PASS", "green")), ("R22", "120.5 kV", ("FAIL", "bold red"))]


def test_cells_line_up_and_only_the_styled_ones_carry_codes_when_coloured():
    plain = grid(("Run", "Value", "Verdict"), ROWS).splitlines()
    assert plain[3] == "│ R1  │ 80 kV    │ PASS    │"
    assert plain[4] == "│ R22 │ 120.5 kV │ FAIL    │"
    coloured = grid(("Run", "Value", "Verdict"), ROWS, colour=True).splitlines()
    assert coloured[3] == "│ R1  │ 80 kV    │ \x1b[32mPASS   \x1b[0m │"                 # SGR 32: green
    assert coloured[4] == "│ R22 │ 120.5 kV │ \x1b[1;31mFAIL   \x1b[0m │"               # SGR 1;31: bold red
    assert "\x1b[1mRun" in coloured[1]                                             # the header in bold


def test_ascii_lines_for_an_output_that_cannot_encode_box_characters():
    table = grid(("Run", "Verdict"), [("R1", ("PASS", "green"))], ascii_only=True)
    assert table.splitlines() == ["+-----+---------+", "| Run | Verdict |", "+-----+---------+",
                                  "| R1  | PASS    |", "+-----+---------+"]
    table.encode("cp1252")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("env", "stream", "wanted"), [
    ({}, _Tty(), True), ({}, io.StringIO(), False), ({"NO_COLOR": "1"}, _Tty(), False),
    ({"TERM": "dumb"}, _Tty(), False), ({"FORCE_COLOR": "1"}, io.StringIO(), True),
    ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, _Tty(), False)])
def test_colour_follows_the_terminal_no_color_term_and_force_color(monkeypatch, env, stream, wanted):
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert colour_wanted(stream) is wanted


def test_wide_and_combining_characters_and_control_characters_keep_the_columns_in_line():
    # '点' takes two terminal columns, the combining acute accent none; a tab would jump: shown as a space.
    table = grid(("Where", "Value"), [("点 A", "1"), ("e\u0301", "2"), ("a\tb", "3")]).splitlines()
    assert table[3] == "│ 点 A  │ 1     │"
    assert table[4] == "│ e\u0301     │ 2     │"
    assert table[5] == "│ a b   │ 3     │"


@pytest.mark.parametrize(("env", "wanted"), [({}, False), ({"WT_SESSION": "x"}, True), ({"TERM": "xterm"}, True)])
def test_on_windows_only_a_terminal_known_to_read_ansi_codes_gets_them(monkeypatch, env, wanted):
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM", "WT_SESSION", "ANSICON"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert colour_wanted(_Tty(), platform="win32") is wanted
