"""Read YAML keeping where every key and value sits, so errors can name file, line and column.

Only plain data comes out (mappings, lists, strings, numbers, booleans, null): the safe loader never
builds objects, so no code runs from a YAML file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .errors import ConfigError


@dataclass(frozen=True)
class Mark:
    """A place in a file, 1-based."""

    file: str
    line: int
    column: int


class Node:
    """Mix-in for located containers: where the container starts."""

    mark: Mark


class YMap(dict, Node):
    """A mapping that remembers the mark of each key and each value."""

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.key_marks: dict[str, Mark] = {}
        self.value_marks: dict[str, Mark] = {}

    def key_mark(self, key: str) -> Mark:
        return self.key_marks.get(key, self.mark)

    def value_mark(self, key: str) -> Mark:
        return self.value_marks.get(key, self.mark)


class YList(list, Node):
    """A list that remembers the mark of each item."""

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.item_marks: list[Mark] = []

    def item_mark(self, index: int) -> Mark:
        return self.item_marks[index] if index < len(self.item_marks) else self.mark


@dataclass
class YamlDocument:
    """A loaded file: its located data, its path as given, its text and sha256."""

    data: Any
    path: str
    text: str
    sha256: str


def _mark(file: str, node: Any) -> Mark:
    m = node.start_mark
    return Mark(file, m.line + 1, m.column + 1)


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _construct(node: Any, file: str, loader: Any) -> Any:
    import yaml

    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
        m = _mark(file, node)
        raise ConfigError(f"YAML tag '{node.tag}' is not allowed: xcal files hold plain data only",
                          file=file, line=m.line, column=m.column, fix="remove the tag (the word starting with !)")
    if isinstance(node, yaml.MappingNode):
        out = YMap(_mark(file, node))
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = _construct(key_node, file, loader)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise ConfigError("a mapping key must be a plain word", file=file,
                                  line=key_node.start_mark.line + 1,
                                  column=key_node.start_mark.column + 1,
                                  fix="write the key as text, e.g. `kv: 80 kV`")
            key = str(key)
            if key in out:
                m = _mark(file, key_node)
                raise ConfigError(f"key '{key}' appears twice in the same mapping", file=file,
                                  line=m.line, column=m.column, fix="remove one of the two")
            out[key] = _construct(value_node, file, loader)
            out.key_marks[key] = _mark(file, key_node)
            out.value_marks[key] = _mark(file, value_node)
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = YList(_mark(file, node))
        for item in node.value:
            seq.append(_construct(item, file, loader))
            seq.item_marks.append(_mark(file, item))
        return seq
    return loader.construct_object(node, deep=True)


def parse_yaml(text: str, file: str) -> Any:
    """Parse YAML text into located data; a syntax error becomes a ConfigError with line and column."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError("the file is empty", file=file, line=1, column=1,
                              fix="write the file's content, starting with its `kind:`")
        return _construct(root, file, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        kind = "YAML error" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise ConfigError(f"{kind}: {problem}", file=file,
                          line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None,
                          fix="check indentation, colons and quotes at that place "
                              "(a value holding ':' or '#' must be quoted)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", file=file,
                          fix="check the file is valid YAML") from None
    finally:
        loader.dispose()


def load_yaml(path: str | Path, *, display: str | None = None) -> YamlDocument:
    """Load a YAML file from disk."""
    shown = display or str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {shown}: {exc.strerror}",
                          fix="check the path and the file's permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown} is not UTF-8 text (byte {exc.start})",
                          fix="save the file as UTF-8") from None
    return YamlDocument(parse_yaml(text, shown), shown, text, hashlib.sha256(raw).hexdigest())


def fail(message: str, mark: Mark, fix: str | None = None) -> ConfigError:
    """Build the ConfigError for a place in a file."""
    return ConfigError(message, file=mark.file, line=mark.line, column=mark.column, fix=fix)


def expect_map(value: Any, mark: Mark, what: str) -> YMap:
    if not isinstance(value, YMap):
        raise fail(f"{what} must be a mapping of `key: value` lines", mark,
                   fix=f"write {what} as indented `key: value` lines")
    return value


def expect_list(value: Any, mark: Mark, what: str) -> YList:
    if not isinstance(value, YList):
        raise fail(f"{what} must be a list", mark, fix=f"write {what} as lines starting with '- '")
    return value


def expect_str(value: Any, mark: Mark, what: str) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise fail(f"{what} must be text, got {type(value).__name__}", mark,
                   fix=f"write {what} as a word or a quoted string")
    return str(value)


def check_keys(node: YMap, what: str, required: Iterable[str] = (),
               optional: Iterable[str] = ()) -> None:
    """Refuse unknown keys (naming the nearest known one) and missing required keys."""
    import difflib

    required, optional = list(required), list(optional)
    allowed = required + optional
    for key in node:
        if key not in allowed:
            near = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean '{near[0]}'? " if near else ""
            raise fail(f"unknown key '{key}' in {what}", node.key_mark(key),
                       fix=f"{hint}allowed keys: {', '.join(allowed)}")
    for key in required:
        if key not in node:
            raise fail(f"{what} is missing the key '{key}'", node.mark,
                       fix=f"add `{key}:` to {what}")


def quantity_at(node: YMap | YList, key: Any, dimension: str | None, what: str) -> Any:
    """Parse the quantity at node[key], checking its dimension; errors point at the value."""
    from .units import parse_quantity

    mark = node.value_mark(key) if isinstance(node, YMap) else node.item_mark(key)
    try:
        return parse_quantity(node[key], dimension)
    except ValueError as exc:
        raise fail(f"{what}: {exc}", mark,
                   fix="write a number and a unit of the right kind, e.g. '80 kV', '100 ms', "
                       "'200 mA'") from None
