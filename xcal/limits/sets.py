"""Limit sets: named tolerances, each with its source, loaded from YAML; resolution by room priority.

A room lists its limit sets in priority order (manufacturer, state, federal, professional). The first set
that defines a limit with a number wins; a set whose entry says `as stated by the manufacturer` is passed
over, and if no set gives a number the error cites that entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..yamlfile import Mark, YMap, check_keys, expect_map, expect_str, fail, load_yaml
from .tolerance import FORMS_HELP, Form, Tolerance, parse_tolerance

LIBRARY = Path(__file__).with_name("library")
AUTHORITIES = ("manufacturer", "state", "federal", "professional", "site")
VERIFICATION = ("checked", "quoted", "unverified", "fictional")


@dataclass(frozen=True)
class Limit:
    """One named tolerance and where it comes from."""

    name: str
    tolerance: Tolerance
    source: str
    verification: str
    set_id: str
    set_title: str
    warn_fraction: float | None = None
    note: str | None = None
    mark: Mark | None = None
    """Where the tolerance is written (its value), for errors about it found later, e.g. a unit that does not
    fit the result of a check that uses it (procedures.loader)."""
    minimum_exposures: int | None = None
    """The least number of exposures at each setting the rule judges on (21 CFR 1020.31(b): 10), or None when
    its source names none; a run planned with fewer is refused (procedures.plan)."""

    @property
    def text(self) -> str:
        return self.tolerance.text

    def snapshot(self) -> dict[str, Any]:
        """What a run record keeps of this limit: the value used and where it came from."""
        return {"name": self.name, "tolerance": self.text, "source": self.source,
                "verification": self.verification, "limit_set": self.set_id,
                "limit_set_title": self.set_title, "warn_fraction": self.warn_fraction,
                "minimum_exposures": self.minimum_exposures}


@dataclass(frozen=True)
class LimitSet:
    id: str
    title: str
    authority: str
    jurisdiction: str
    example: bool
    limits: dict[str, Limit] = field(default_factory=dict)
    note: str | None = None
    path: str = ""
    sha256: str = ""


def _warn_fraction(node: YMap) -> float | None:
    if "warn" not in node:
        return None
    text = str(node["warn"]).strip()
    try:
        fraction = float(text.rstrip("%").strip()) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        fraction = -1.0
    if not 0 < fraction < 1:
        raise fail(f"warn must be a share of the allowance between 0 and 100 %, got {node['warn']!r}",
                   node.value_mark("warn"), fix="write e.g. `warn: 80 %`")
    return fraction


def _parse_limit(name: str, node: Any, mark: Mark, set_id: str, set_title: str, example: bool) -> Limit:
    node = expect_map(node, mark, f"limit '{name}'")
    check_keys(node, f"limit '{name}'", required=("tolerance", "source"),
               optional=("verification", "warn", "note", "minimum_exposures"))
    try:
        tolerance = parse_tolerance(node["tolerance"])
    except ValueError as exc:
        raise fail(f"limit '{name}': {exc}", node.value_mark("tolerance"),
                   fix=getattr(exc, "fix", FORMS_HELP)) from None
    source = expect_str(node["source"], node.value_mark("source"), f"the source of limit '{name}'")
    if not source.strip():
        raise fail(f"limit '{name}' has an empty source", node.value_mark("source"),
                   fix="cite the regulation section, report or manufacturer document")
    if "verification" not in node and not example:
        raise fail(f"limit '{name}' does not say how its number was verified", node.mark,
                   fix="add `verification: checked` (read in the source), `quoted` (widely quoted, "
                       "wording not re-read) or `unverified`")
    verification = str(node.get("verification", "fictional"))
    if verification not in VERIFICATION:
        raise fail(f"limit '{name}': verification '{verification}' is not one of {', '.join(VERIFICATION)}",
                   node.value_mark("verification"),
                   fix="use checked (read in the source), quoted (widely quoted), unverified, "
                       "or fictional (example sets only)")
    return Limit(name, tolerance, source.strip(), verification, set_id, set_title,
                 _warn_fraction(node), node.get("note"), node.value_mark("tolerance"),
                 _minimum_exposures(node, name))


def _minimum_exposures(node: YMap, name: str) -> int | None:
    """`minimum_exposures: 10`: a whole number of at least 1, as the limit's source states it."""
    if "minimum_exposures" not in node:
        return None
    value = node["minimum_exposures"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(f"limit '{name}': minimum_exposures must be a whole number of at least 1, got {value!r}",
                   node.value_mark("minimum_exposures"),
                   fix="write the number of exposures the source judges the rule on, e.g. `minimum_exposures: 10`")
    return value


def load_limit_set(path: str | Path, *, display: str | None = None) -> LimitSet:
    """Load and validate one limit-set file."""
    doc = load_yaml(path, display=display)
    root = expect_map(doc.data, Mark(doc.path, 1, 1), "a limit-set file")
    check_keys(root, "a limit set", required=("kind", "id", "title", "authority", "limits", "source"),
               optional=("jurisdiction", "example", "note"))
    if root["kind"] != "limit-set":
        raise fail(f"kind is '{root['kind']}' but this file is read as a limit set",
                   root.value_mark("kind"), fix="write `kind: limit-set`")
    authority = str(root["authority"])
    if authority not in AUTHORITIES:
        raise fail(f"authority '{authority}' is not one of {', '.join(AUTHORITIES)}",
                   root.value_mark("authority"), fix=f"use one of {', '.join(AUTHORITIES)}")
    set_id = expect_str(root["id"], root.value_mark("id"), "id")
    title = expect_str(root["title"], root.value_mark("title"), "title")
    example = root.get("example", False)
    if not isinstance(example, bool):
        raise fail("example must be true or false", root.value_mark("example"),
                   fix="write `example: true` for a fictional, illustrative set")
    limits_node = expect_map(root["limits"], root.value_mark("limits"), "limits")
    limits = {name: _parse_limit(name, value, limits_node.value_mark(name), set_id, title, example)
              for name, value in limits_node.items()}
    return LimitSet(set_id, title, authority, str(root.get("jurisdiction", "")), example, limits,
                    root.get("note"), doc.path, doc.sha256)


def library_paths() -> list[Path]:
    return sorted(LIBRARY.glob("*.yaml"))


def load_library(extra: Iterable[str | Path] = ()) -> dict[str, LimitSet]:
    """The built-in limit sets plus any extra files; a duplicate id is an error."""
    sets: dict[str, LimitSet] = {}
    for path in [*library_paths(), *map(Path, extra)]:
        display = f"<built-in>/limits/{path.name}" if path.parent == LIBRARY else str(path)
        limit_set = load_limit_set(path, display=display)
        if limit_set.id in sets:
            raise ConfigError(f"limit set id '{limit_set.id}' is defined twice: in {sets[limit_set.id].path} "
                              f"and {limit_set.path}", fix="give one of them another id")
        sets[limit_set.id] = limit_set
    return sets


def resolve(name: str, set_ids: list[str], sets: dict[str, LimitSet], *, room: str = "the room") -> Limit:
    """The limit `name` from the first set in `set_ids` that gives it a number."""
    deferred: Limit | None = None
    for set_id in set_ids:
        limit = sets[set_id].limits.get(name)
        if limit is None:
            continue
        if limit.tolerance.form is Form.DEFER:
            deferred = deferred or limit
            continue
        return limit
    if deferred is not None:
        raise ConfigError(
            f"limit '{name}' for {room}: {deferred.set_id} ({deferred.source}) requires the manufacturer's "
            f"stated tolerance, and none of the room's limit sets ({', '.join(set_ids)}) gives one",
            fix="add the equipment manufacturer's limit set (or a site set) ahead of it in the room's "
                "`limit_sets`")
    defining = sorted(s.id for s in sets.values() if name in s.limits)
    hint = (f"sets that define it: {', '.join(defining)}; add one to the room's `limit_sets`" if defining
            else "define it in a limit set the room uses")
    raise ConfigError(f"no limit set of {room} ({', '.join(set_ids) or 'none'}) defines the limit '{name}'",
                      fix=hint)
