"""Read YAML keeping where every key and value sits, so errors can name file, line and column.

Only plain data comes out (mappings, lists, strings, numbers, booleans, null, dates): the safe loader never
builds objects, so no code runs from a YAML file. Whatever the bytes, the outcome is data or one ConfigError
with the file (and line where there is one): a non-UTF-8 file, a NUL or control character, a date that does not
exist, a lone UTF-16 surrogate (`"\\uD800"`), a file larger than MAX_FILE_BYTES, a list or mapping longer than
MAX_LIST_ITEMS, nesting deeper than MAX_DEPTH and more than MAX_NODES values (aliases followed) are all refused
that way. Keys are
text as written (`on:` is 'on', not YAML 1.1's True); a key beside a merge (`<<: *base`) overrides the merged one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
_MERGE_TAG = "tag:yaml.org,2002:merge"
MAX_DEPTH = 100
"""Deepest nesting of lists and mappings a file may have; real xcal files stay under 10. Bounding it keeps a
file of thousands of `[` from exhausting Python's recursion."""
MAX_NODES = 200_000
"""Most values (scalars, lists, mappings) a file may expand to once its aliases (`*name`) are followed; the demo
site has about 3000. Bounding it stops an "alias bomb" (aliases of aliases) from running for hours."""
MAX_FILE_BYTES = 4_000_000
"""Largest file xcal reads (4 MB); the demo site is 16 kB. PyYAML takes about 40 times a file's size in memory,
so a 160 MB file would take gigabytes and minutes before any check could speak."""
MAX_LIST_ITEMS = 10_000
"""Most items one list (or entries one mapping) may have; no xcal file needs more than a few hundred."""


class _Builder:
    """Turns a composed YAML node tree into located data (YMap, YList, scalars), for one file.

    It refuses tags (only plain data is allowed), repeated keys, and documents that expand past MAX_NODES; a
    merge (`<<: *base`) gives keys that a key written beside it may override, as YAML merge semantics say.
    """

    def __init__(self, file: str, loader: Any) -> None:
        self.file, self.loader = file, loader
        self.count = 0
        self.open: list[int] = []        # ids of the containers being built, outermost first
        self.seen: set[int] = set()      # ids of the nodes built: a node met again was reached by an alias
        self.aliased = False

    def build(self, node: Any) -> Any:
        """The located value of `node`, counted against MAX_NODES."""
        import yaml

        self.count += 1
        if id(node) in self.seen:
            self.aliased = True
        self.seen.add(id(node))
        if self.count > MAX_NODES:
            if self.aliased:
                raise ConfigError(f"the file expands to more than {MAX_NODES} values once its aliases (*name) are "
                                  "followed", file=self.file, fix="write the data out plainly, or use fewer aliases "
                                                                  "(an alias should not repeat other aliases)")
            m = _mark(self.file, node)
            raise ConfigError(f"the file holds more than {MAX_NODES} values (numbers, words, lists, mappings)",
                              file=self.file, line=m.line, column=m.column,
                              fix="split the data over several files, or check that this is the file meant")
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and len(node.value) > MAX_LIST_ITEMS:
            m = _mark(self.file, node)
            what = "entries" if isinstance(node, yaml.MappingNode) else "items"
            raise ConfigError(f"a {'mapping' if what == 'entries' else 'list'} here has {len(node.value)} {what}, "
                              f"more than {MAX_LIST_ITEMS} {what}", file=self.file, line=m.line, column=m.column,
                              fix=f"no xcal file needs more than {MAX_LIST_ITEMS}: check that this is the file "
                                  "meant, or split the data")
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            m = _mark(self.file, node)
            raise ConfigError(f"YAML tag '{node.tag}' is not allowed: xcal files hold plain data only",
                              file=self.file, line=m.line, column=m.column,
                              fix="remove the tag (the word starting with !)")
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        self._enter(node)
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node)
            seq = YList(_mark(self.file, node))
            for item in node.value:
                seq.append(self.build(item))
                seq.item_marks.append(_mark(self.file, item))
            return seq
        finally:
            self.open.pop()

    def _enter(self, node: Any) -> None:
        """Open a list or mapping; refuse one that contains itself through an alias, or nests past MAX_DEPTH
        (aliases of aliases can nest deeper than the text shows)."""
        m = _mark(self.file, node)
        if id(node) in self.open:
            raise ConfigError("an alias (*name) here refers to a list or mapping that contains it", file=self.file,
                              line=m.line, column=m.column, fix="an alias may only repeat data given before it, "
                                                                "outside itself")
        if len(self.open) >= MAX_DEPTH:
            raise ConfigError(f"lists and mappings are nested more than {MAX_DEPTH} deep once aliases (*name) are "
                              "followed", file=self.file, line=m.line, column=m.column,
                              fix="write the data with less nesting")
        self.open.append(id(node))

    def _mapping(self, node: Any) -> YMap:
        """A YMap of the node; a key written twice is refused. A merge (`<<: *base`, or `<<: [*a, *b]`) gives the
        keys of each mapping it names, built with its own merges first; of two merged mappings the first wins,
        and a key written beside the merge overrides them all."""
        import yaml

        out = YMap(_mark(self.file, node))
        sources: list[Any] = []
        own: dict[str, tuple[Any, Any]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources.extend(value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node])
                continue
            key = self._key(key_node)
            if key in own:
                m = _mark(self.file, key_node)
                raise ConfigError(f"key '{key}' appears twice in the same mapping", file=self.file,
                                  line=m.line, column=m.column, fix="remove one of the two")
            own[key] = (key_node, value_node)
        for source in sources:
            merged = self.build(source)
            if not isinstance(merged, YMap):
                m = _mark(self.file, source)
                raise ConfigError("a merge (<<:) takes a mapping, or a list of mappings", file=self.file,
                                  line=m.line, column=m.column, fix="write `<<: *name` with an anchored mapping")
            for key, value in merged.items():
                if key not in out and key not in own:
                    out[key] = value
                    out.key_marks[key] = merged.key_marks[key]
                    out.value_marks[key] = merged.value_marks[key]
        for key, (key_node, value_node) in own.items():
            out[key] = self.build(value_node)
            out.key_marks[key] = _mark(self.file, key_node)
            out.value_marks[key] = _mark(self.file, value_node)
        return out

    def _key(self, key_node: Any) -> str:
        """A mapping key as text, as written: `on:` is the key 'on' (not YAML 1.1's True), `010:` is '010'."""
        import yaml

        key = self.build(key_node)
        if key is None or not isinstance(key_node, yaml.ScalarNode):
            m = _mark(self.file, key_node)
            raise ConfigError("a mapping key must be a plain word", file=self.file, line=m.line, column=m.column,
                              fix="write the key as text, e.g. `kv: 80 kV`")
        return key if isinstance(key, str) else str(key_node.value)

    def _scalar(self, node: Any) -> Any:
        """A number, text, boolean, null or date; a date that does not exist (2026-02-30) is refused here."""
        try:
            value = self.loader.construct_object(node, deep=True)
            return _no_surrogates(value, self.file, node) if isinstance(value, str) else value
        except (ValueError, OverflowError) as exc:
            m = _mark(self.file, node)
            if node.tag == "tag:yaml.org,2002:timestamp":
                raise ConfigError(f"'{node.value}' is not a real date ({exc})", file=self.file, line=m.line,
                                  column=m.column, fix="write a date that exists, as YYYY-MM-DD (e.g. "
                                                       "2026-02-28), or put the text in quotes") from None
            raise ConfigError(f"cannot read the value '{node.value}' ({exc})", file=self.file, line=m.line,
                              column=m.column, fix="put the text in quotes") from None


def _no_surrogates(text: str, file: str, node: Any) -> str:
    """Text with each pair of surrogate escapes (`"\\uD83D\\uDE00"`) made the character it encodes; a lone
    surrogate is refused at its place, since no file, terminal or database can hold it (printing one fails)."""
    if not any("\ud800" <= char <= "\udfff" for char in text):
        return text
    try:
        return text.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        bad = next(char for char in text if "\ud800" <= char <= "\udfff")
        m = _mark(file, node)
        raise ConfigError(f"the text holds a lone UTF-16 surrogate (\\u{ord(bad):04X}), which is not a character",
                          file=file, line=m.line, column=m.column,
                          fix="write the character itself, or a complete pair of escapes (e.g. \"\\uD83D\\uDE00\"), "
                              "or remove the escape") from None


def _loader(text: str, file: str) -> Any:
    """A SafeLoader over `text` that refuses nesting deeper than MAX_DEPTH (naming the place)."""
    import yaml

    class Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    m = self.peek_event().start_mark
                    raise ConfigError(f"lists and mappings are nested more than {MAX_DEPTH} deep", file=file,
                                      line=m.line + 1, column=m.column + 1,
                                      fix="check the brackets at that place: each '[' or '{' needs its ']' or '}'")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return Loader(text)


def _reader_error(exc: Any, text: str, file: str) -> ConfigError:
    """The ConfigError for a character YAML does not allow (a NUL byte, a control character), at its line."""
    position = exc.position if isinstance(exc.position, int) else 0
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    what = "a NUL byte" if exc.character == 0 else f"the control character U+{exc.character:04X}"
    return ConfigError(f"the file holds {what}, which YAML text may not contain", file=file, line=line,
                       column=column, fix="the file must be plain text: delete that character, or save the file "
                                          "again as UTF-8 text from a text editor")


def _fast_loader(text: str) -> Any:
    """PyYAML's C loader (libyaml) over `text` where it is installed and the text cannot nest past MAX_DEPTH.

    libyaml builds the node tree in C, out of reach of the depth check, so it is used only when a cheap bound
    shows the nesting is shallow: a block collection nests only under one indented further (or, for a list
    under a key, at the same indentation), and a flow collection only inside a bracket. None means: use the
    Python loader, which checks the depth as it goes.
    """
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", None)
    if loader_class is None:
        return None
    indent = max((len(line) - len(line.lstrip(" -")) for line in text.splitlines()), default=0)
    depth = brackets = 0
    for char in text:
        if char in "[{":
            depth += 1
            brackets = max(brackets, depth)
        elif char in "]}" and depth:
            depth -= 1
    if 2 * (indent + 1) + brackets >= MAX_DEPTH:
        return None
    return loader_class(text)


def parse_yaml(text: str, file: str) -> Any:
    """Parse YAML text into located data; a syntax error becomes a ConfigError with line and column.

    The C loader is used where it can be (about five times faster); any error it meets is reported by the
    Python loader parsing the same text, so messages and places are the same with and without libyaml.
    """
    import yaml

    fast = None
    try:
        fast = _fast_loader(text)
        root = fast.get_single_node() if fast is not None else None
    except yaml.YAMLError:
        fast, root = None, None
    if fast is not None:
        try:
            if root is None:
                raise ConfigError("the file is empty", file=file, line=1, column=1,
                                  fix="write the file's content, starting with its `kind:`")
            try:
                return _Builder(file, fast).build(root)
            except yaml.YAMLError:
                pass
        finally:
            fast.dispose()
    return _parse_checked(text, file)


def _parse_checked(text: str, file: str) -> Any:
    """parse_yaml with the Python loader, which checks the nesting depth and reports errors at their place."""
    import yaml

    loader = None
    try:
        loader = _loader(text, file)
        root = loader.get_single_node()
        if root is None:
            raise ConfigError("the file is empty", file=file, line=1, column=1,
                              fix="write the file's content, starting with its `kind:`")
        return _Builder(file, loader).build(root)
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, file) from None
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
        if loader is not None:
            loader.dispose()


def read_text(path: str | Path, display: str | None = None) -> tuple[bytes, str]:
    """The bytes of a file and their UTF-8 text; an unreadable or non-UTF-8 file is a ConfigError naming the
    place of the first bad byte (a file saved as Latin-1, say), so no caller meets a UnicodeDecodeError."""
    shown = display or str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(f"the file is {size / 1_000_000:.1f} MB, more than xcal reads "
                              f"({MAX_FILE_BYTES // 1_000_000} MB)", file=shown,
                              fix="check that this is the file meant: a site, procedure, limit set or inputs "
                                  "file is a few kB")
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {shown}: {exc.strerror}",
                          fix="check the path and the file's permissions") from None
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[raw.rfind(b"\n", 0, exc.start) + 1:exc.start].decode("utf-8", "replace")) + 1
        raise ConfigError(f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be read)", file=shown,
                          line=line, column=column,
                          fix="save the file as UTF-8 (in the editor's Save As, choose the UTF-8 encoding)") from None


def load_yaml(path: str | Path, *, display: str | None = None) -> YamlDocument:
    """Load a YAML file from disk."""
    shown = display or str(path)
    raw, text = read_text(path, shown)
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


def kind_of(value: Any) -> str:
    """What a YAML value is, in the words of someone editing the file: a list, a mapping, true/false..."""
    if isinstance(value, YMap):
        return "a mapping (`key: value` or `{...}`)"
    if isinstance(value, YList):
        return "a list (`- ...` or `[...]`)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"the date {value.isoformat()}"
    return repr(value)


def expect_str(value: Any, mark: Mark, what: str) -> str:
    """Text (a word, or a number read as its text); a list, mapping, yes/no or empty value is refused."""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise fail(f"{what} must be text, got {kind_of(value)}", mark,
                   fix=f"write {what} as a word or a quoted string, on one line")
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
