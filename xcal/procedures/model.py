"""The procedure model: what a validated procedure file becomes.

A procedure says which instruments it needs (by capability), its parameters (stations, repeats, geometry),
its steps (prompts and exposures with what to read), its results (fixed analysis functions over readings)
and its checks (a result against a named limit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Technique keys a station may set, with the dimension each must have (None: free text).
TECHNIQUE_KEYS: dict[str, str | None] = {
    "kv": "voltage",
    "ma": "current",
    "time": "time",
    "mas": "current_time",
    "sid": "length",
    "filtration": "length",
    "added_filtration": "length",
    "reference_rate": "dose_rate",
    "focal_spot": None,
    "mode": None,
}

@dataclass(frozen=True)
class Station:
    """One technique setting of a procedure, numbered from 1."""

    index: int
    values: dict[str, Any]

    def label(self) -> str:
        from ..units import format_quantity

        parts = []
        for key in ("kv", "ma", "time", "mas", "sid", "filtration", "added_filtration", "reference_rate",
                    "focal_spot", "mode"):
            if key in self.values:
                v = self.values[key]
                text = v if isinstance(v, str) else format_quantity(v)
                parts.append(f"+{text} Al" if key == "added_filtration" else text)
        return " ".join(parts)

    def snapshot(self) -> dict[str, str]:
        return {k: (v if isinstance(v, str) else f"{v:~P}") for k, v in self.values.items()}


@dataclass(frozen=True)
class PromptStep:
    text: str


@dataclass(frozen=True)
class ExposeStep:
    """Expose at each station `repeats` times and read the listed quantities from each instrument role."""

    stations: str
    repeats: str | int
    reads: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class MeasureStep(ExposeStep):
    """Read instruments at each station without an exposure (a survey meter in a reference field)."""


@dataclass(frozen=True)
class EnterStep:
    """Values the technician enters (or an --inputs file gives): name -> (a unit of the right kind, prompt)."""

    values: dict[str, tuple[str, str]]


@dataclass(frozen=True)
class ResultDef:
    name: str
    function: str
    of: str
    per: str = "station"


@dataclass(frozen=True)
class CheckDef:
    id: str
    title: str
    result: str
    limit: str
    nominal: str | None = None


@dataclass(frozen=True)
class Procedure:
    id: str
    version: str
    title: str
    modality: str
    description: str
    instruments: dict[str, str]
    parameters: dict[str, Any]
    steps: tuple[PromptStep | ExposeStep | MeasureStep | EnterStep, ...]
    results: tuple[ResultDef, ...]
    checks: tuple[CheckDef, ...]
    path: str = ""
    sha256: str = ""
    limit_names: frozenset[str] = field(default_factory=frozenset)

    def entered_names(self) -> dict[str, tuple[str, str]]:
        return {k: v for s in self.steps if isinstance(s, EnterStep) for k, v in s.values.items()}

    def stations(self, parameters: dict[str, Any] | None = None, name: str = "stations") -> list[Station]:
        params = parameters if parameters is not None else self.parameters
        return [Station(i + 1, dict(values)) for i, values in enumerate(params[name])]


@dataclass(frozen=True)
class Bundle:
    """A list of procedures run one after another on one room, with one verdict."""

    id: str
    version: str
    title: str
    modality: str
    description: str
    procedures: tuple[str, ...]
    path: str = ""
    sha256: str = ""


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill_text(template: str, values: dict[str, Any]) -> str:
    """Replace `{name}` with a parameter's value; nothing else in the text is interpreted."""
    from ..units import format_quantity

    def sub(m: re.Match[str]) -> str:
        v = values.get(m.group(1))
        if v is None:
            return m.group(0)
        return format_quantity(v) if hasattr(v, "magnitude") else str(v)

    return _PLACEHOLDER.sub(sub, template)
