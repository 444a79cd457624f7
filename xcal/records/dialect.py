"""The few things that differ between SQL databases, kept in one place so another backend can swap them.

All SQL in xcal.records is written with `?` placeholders and plain, portable statements; a PostgreSQL adapter
would supply a Dialect with placeholder `%s` and `BEGIN` and reuse every statement unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    """How one database spells placeholders and a write transaction's start."""

    name: str
    placeholder: str
    begin_write: str

    def sql(self, text: str) -> str:
        """`text` with its `?` placeholders in this dialect's spelling (statements hold no literal `?`)."""
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)


SQLITE = Dialect("sqlite", "?", "BEGIN IMMEDIATE")
