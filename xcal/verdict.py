"""The verdicts a check can have, their one order of severity, and the one look every front end gives them.

A check is PASS, WARN (inside the limit but in its marginal band), FAIL, or INFO (a value reported without a
limit, which never changes a verdict). A check that cannot be made is not a verdict: it stops the run, which is
then INCOMPLETE and resumable (a run status, not a check's verdict).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    """A check's verdict; it is its own text, so records and JSON keep the plain words."""

    INFO = "INFO"
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"

    @property
    def severity(self) -> int:
        """INFO < PASS < WARN < FAIL: the worst of several is the one with the highest severity."""
        return _ORDER.index(self)

    @property
    def look(self) -> Look:
        return LOOKS[self]


_ORDER = (Verdict.INFO, Verdict.PASS, Verdict.WARN, Verdict.FAIL)


@dataclass(frozen=True)
class Look:
    """How a verdict is shown: rich style at the console, colour and marker on plots, tone in reports."""

    console: str
    colour: str
    marker: str
    tone: str


LOOKS: dict[Verdict, Look] = {
    Verdict.INFO: Look("cyan", "#1565c0", "D", "muted"),
    Verdict.PASS: Look("bold green", "#2e7d32", "o", "pass"),
    Verdict.WARN: Look("bold yellow", "#ef6c00", "s", "warn"),
    Verdict.FAIL: Look("bold red", "#c62828", "X", "fail"),
}


def worst(verdicts: Iterable[str]) -> Verdict:
    """The most severe of `verdicts` (INFO for none)."""
    return max((Verdict(v) for v in verdicts), key=lambda v: v.severity, default=Verdict.INFO)


def run_verdict(check_verdicts: Iterable[str]) -> Verdict:
    """A run's verdict from its checks: FAIL if any check fails, else PASS (WARN and INFO pass)."""
    return Verdict.FAIL if any(v == Verdict.FAIL for v in check_verdicts) else Verdict.PASS


def console_style(verdict: str) -> str:
    """The rich style of a verdict word; none for words that are not verdicts (a run status)."""
    return LOOKS[Verdict(verdict)].console if verdict in Verdict.__members__ else ""
