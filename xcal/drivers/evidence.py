"""Where each command a driver sends is shown outside xcal, and how far that proves the bytes.

A driver and its simulator written from the same notes agree by construction, so agreement proves nothing about
the meter. Each wire driver therefore carries an evidence table: for every command it sends, the public sources
that show that command (a vendor document, an independent client tested on the meter, third-party notes), and
the disagreements found between sources with what was chosen. A command's level is that of its strongest
source; a driver's level is that of its weakest command, so one unshown command marks the whole driver.
`xcal instruments list` prints the driver's level, and `xcal.testing.expected_protocol` fails a protocol test
whose driver sends a command its table does not list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

KINDS = {
    "hardware-client": "an independent client whose tests ran on the real meter",
    "vendor": "the vendor's own protocol document or manual",
    "third-party": "third-party notes or code, not shown to be tested on hardware",
}
"""Kinds of source, strongest first."""

LEVELS = ("HARDWARE-TESTED", "VENDOR-DOCUMENTED", "THIRD-PARTY", "UNSHOWN")
"""Evidence levels, strongest first: the kind of the best source of a command, or UNSHOWN for none."""
_LEVEL_OF_KIND = dict(zip(KINDS, LEVELS, strict=False))        # UNSHOWN, the last level, is no kind of source

_PLACEHOLDER = re.compile(r"\{[a-z_ ]+\}")


@dataclass(frozen=True)
class Source:
    """One public source: a short title, its kind (a key of KINDS) and where to find it."""

    title: str
    kind: str
    where: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"source kind {self.kind!r} is not one of {', '.join(KINDS)}")


@dataclass(frozen=True)
class Command:
    """A command as the driver sends it (`{name}` stands for a parameter) and the keys of the sources showing it."""

    text: str
    sources: tuple[str, ...] = ()
    note: str = ""

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        parts = _PLACEHOLDER.split(self.text)
        return re.compile(".+?".join(re.escape(p) for p in parts), re.DOTALL)


@dataclass(frozen=True)
class Evidence:
    """A driver's evidence table: its sources by key, every command it sends, and the disagreements found."""

    sources: dict[str, Source]
    commands: tuple[Command, ...]
    disagreements: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for command in self.commands:
            unknown = [key for key in command.sources if key not in self.sources]
            if unknown:
                raise ValueError(f"command {command.text!r} names unknown source(s) {', '.join(unknown)}")

    def level_of(self, command: Command) -> str:
        """The level of the strongest source showing `command` (UNSHOWN when none does)."""
        kinds = [self.sources[key].kind for key in command.sources]
        for kind, level in _LEVEL_OF_KIND.items():
            if kind in kinds:
                return level
        return "UNSHOWN"

    @property
    def level(self) -> str:
        """The weakest of the commands' levels: what the driver as a whole can claim."""
        if not self.commands:
            return "UNSHOWN"
        return max((self.level_of(c) for c in self.commands), key=LEVELS.index)

    def find(self, sent: str | bytes) -> Command | None:
        """The table's entry for a command as sent (terminator stripped), or None if the table lacks it."""
        text = sent.decode("latin-1") if isinstance(sent, bytes) else sent
        text = text.rstrip("\r\n")
        for command in self.commands:
            if command.pattern.fullmatch(text):
                return command
        return None

    def unshown(self) -> tuple[Command, ...]:
        """Commands no source shows: each is also marked as such in its driver."""
        return tuple(c for c in self.commands if not c.sources)

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(command, sources, level, note) for the docs and `xcal instruments evidence`; control bytes escaped."""
        return [(printable(c.text), "; ".join(self.sources[k].title for k in c.sources) or "none",
                 self.level_of(c), c.note) for c in self.commands]


def printable(text: str) -> str:
    """`text` with control characters written as escapes, so a command such as b'\\x03' shows as `\\x03`."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def level_of_driver(cls: type) -> str:
    """A driver class's evidence level, or `—` for drivers whose protocol is not xcal's to prove.

    Declarative, manual and import drivers speak what the site's command map, the technician or the vendor
    software says: their evidence is the site's, not xcal's.
    """
    evidence = getattr(cls, "evidence", None)
    return evidence.level if isinstance(evidence, Evidence) else "—"


def _cell(text: str) -> str:
    """Text for one cell of the page: one line, control characters escaped, reStructuredText's marks taken
    literally (a note may hold `*`, `_` or backquotes)."""
    shown = printable(text.replace("\n", " "))
    return "".join("\\" + c if c in "\\*`_|" else c for c in shown) or " "


def rst_page(classes: list[type]) -> str:
    """The docs page `docs/evidence.rst`: one section per wire driver with its sources, table and disagreements.

    The page is written from the drivers' own tables (`python -m xcal.drivers.evidence > docs/evidence.rst`) and
    a test keeps it equal to them, so the docs never say more than the code claims.
    """
    lines = ["Protocol evidence", "=================", "",
             "For every command each driver sends: the public sources that show it and how strong the best of them "
             "is. A driver's level is that of its weakest command. Levels, strongest first: "
             + ", ".join(f"``{lvl}``" for lvl in LEVELS) + " (no source shows the command). Kinds of source: "
             + "; ".join(f"*{kind}*: {meaning}" for kind, meaning in KINDS.items()) + ".",
             "", "This page is generated from the drivers' evidence tables "
             "(``python -m xcal.drivers.evidence > docs/evidence.rst``); ``xcal instruments evidence DRIVER`` prints "
             "the same.", ""]
    for cls in classes:
        evidence: Evidence = cls.evidence  # type: ignore[attr-defined]
        title = f"{cls.driver_name}: {evidence.level}"  # type: ignore[attr-defined]
        lines += [title, "-" * len(title), "", "Sources:", ""]
        lines += [f"* **{_cell(s.title)}** ({s.kind}): {_cell(s.where)}" for s in evidence.sources.values()]
        lines += ["", ".. list-table::", "   :header-rows: 1", "", "   * - Command", "     - Shown by",
                  "     - Level", "     - Note"]
        for command, sources, level, note in evidence.rows():
            lines += [f"   * - ``{command}``", f"     - {_cell(sources)}", f"     - {level}", f"     - {_cell(note)}"]
        lines.append("")
        if evidence.disagreements:
            lines += ["Disagreements between sources, and what was chosen:", ""]
            lines += [f"* {_cell(d)}" for d in evidence.disagreements]
            lines.append("")
    return "\n".join(lines)


def wire_driver_classes() -> list[type]:
    """The built-in drivers that carry an evidence table, by name."""
    from .registry import BUILTIN, get_driver_class

    classes = [get_driver_class(name) for name in sorted(BUILTIN)]
    return [cls for cls in classes if isinstance(getattr(cls, "evidence", None), Evidence)]


if __name__ == "__main__":  # pragma: no cover - the docs page's generator
    # Run as a script this module is `__main__`, not the module whose Evidence class the drivers use.
    from xcal.drivers import evidence

    print(evidence.rst_page(evidence.wire_driver_classes()), end="")
