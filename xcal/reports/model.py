"""The report as format-neutral blocks (fields, tables, notes, plots) so HTML and PDF show the same content.

`content.build_report` fills these from a stored run; `html` and `pdf` only lay them out. Every string here
is plain text taken from the record: each renderer escapes it for its own format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..verdict import LOOKS

PASS_TONE, WARN_TONE, FAIL_TONE, ALERT_TONE, MUTED_TONE, EMPTY_TONE = "pass", "warn", "fail", "alert", "muted", "empty"

VERDICT_TONES = {**{str(v): look.tone for v, look in LOOKS.items()}, "INCOMPLETE": FAIL_TONE}

SIMULATED_BANNER = "SIMULATED — not a measurement"


@dataclass(frozen=True)
class Cell:
    """One piece of text with an optional tone (pass, warn, fail, alert, muted) that renderers colour."""

    text: str
    tone: str = ""


@dataclass(frozen=True)
class Fields:
    """Label/value pairs, e.g. the facility's name, address and registration."""

    rows: tuple[tuple[str, Cell], ...]
    caption: str = ""


@dataclass(frozen=True)
class Table:
    """A table with a header row; `weights` hint the relative width of each column for page layout."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str = ""
    weights: tuple[float, ...] = ()


@dataclass(frozen=True)
class Note:
    """A boxed sentence: 'none recorded', a highlighted override, the reason a run is incomplete."""

    text: str
    tone: str = ""


@dataclass(frozen=True)
class Plot:
    """A figure to draw: `draw(ax)` draws it on a matplotlib Axes; `height` is its preferred height in inches."""

    caption: str
    draw: Callable[[Any], None]
    height: float = 2.6


Block = Fields | Table | Note | Plot


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Report:
    """A whole report: a title line, the overall verdict, and its sections in reading order."""

    title: str
    subtitle: str
    run_id: str
    simulated: bool
    verdict: Cell
    generated_at: str
    generator: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def footer(self) -> str:
        return f"run {self.run_id} · report made {self.generated_at} by {self.generator}"


def verdict_cell(verdict: str | None) -> Cell:
    """A verdict as a cell toned by its meaning (PASS green, FAIL red ...)."""
    text = verdict or "—"
    return Cell(text, VERDICT_TONES.get(text, ""))
