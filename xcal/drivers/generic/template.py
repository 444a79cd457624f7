"""The template language of command maps: literal text plus `{name:type}` placeholders.

Types: number, int, word, text, list (comma-separated numbers) or an alternation `A|B|C`. One template gives
both a full-match parser and a formatter, and the formatter checks its output against the parser, so a
rendered line always parses back. It is not Python formatting: nothing in a template is ever evaluated.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TYPES = ("number", "int", "word", "text", "list")
NUMBER_RE = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
INT_RE = r"[-+]?\d+"
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
NUMBER_FORMAT_RE = re.compile(r"[+\- ]?0?\d{0,2}(?:\.\d{1,2})?[eEfFgG]\Z")
INT_FORMAT_RE = re.compile(r"[+\- ]?0?\d{0,2}d\Z")
DEFAULT_FORMATS = {"number": ".6g", "list": ".6g", "int": "d"}
# What may follow each numeric type in a template without making the boundary ambiguous.
_CANNOT_FOLLOW = {"int": "0123456789", "number": "0123456789.eE", "list": "0123456789.eE,"}


class TemplateError(ValueError):
    """A template breaks the template language; `offset` is the 0-based character where."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Placeholder:
    """One `{name:type}` slot; `choices` holds the options of an alternation (type "choice")."""

    name: str
    type: str
    choices: tuple[str, ...] = ()
    stop: str = ""

    def pattern(self) -> str:
        """The regular expression for this slot's text (no group)."""
        stop = re.escape(self.stop)
        if self.type == "number":
            return NUMBER_RE
        if self.type == "int":
            return INT_RE
        if self.type == "word":
            return rf"[^\s{stop}]+"
        if self.type == "text":
            return rf"[^\r\n{stop}]*"
        if self.type == "list":
            return rf"(?:{NUMBER_RE}(?:,{NUMBER_RE})*)?"
        return "(?:" + "|".join(re.escape(c) for c in sorted(self.choices, key=len, reverse=True)) + ")"

    def render(self, value: Any, spec: str | None) -> str:
        """This slot's text for `value`; ValueError if the value cannot be written so it parses back."""
        if self.type in ("number", "list"):
            items = [value] if self.type == "number" else _items(value, self.name)
            text = ",".join(format(_finite(item, self.name), spec or DEFAULT_FORMATS[self.type])
                            for item in items)
        elif self.type == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"{{{self.name}}} needs a whole number, got {value!r}")
            text = format(int(value), spec or DEFAULT_FORMATS["int"])
        else:
            if not isinstance(value, str):
                raise ValueError(f"{{{self.name}}} needs text, got {value!r}")
            text = value
        if not re.fullmatch(self.pattern(), text):
            raise ValueError(f"{text!r} cannot be written as {{{self.name}:{self.spec()}}}"
                             + (f" (it may not hold {self.stop!r})" if self.stop else ""))
        return text

    def convert(self, text: str) -> Any:
        """The value of this slot's matched text; ValueError for a number too large to be real."""
        if self.type == "number":
            return _finite(float(text), self.name)
        if self.type == "int":
            return int(text)
        if self.type == "list":
            return [_finite(float(t), self.name) for t in text.split(",")] if text else []
        return text

    def spec(self) -> str:
        """The type as written in the template."""
        return "|".join(self.choices) if self.type == "choice" else self.type


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{{{name}}} needs a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{{{name}}} cannot carry {number}")
    return number


def _items(value: Any, name: str) -> list[Any]:
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{{{name}}} needs a list of numbers, got {value!r}")
    try:
        return list(value)
    except TypeError:
        raise ValueError(f"{{{name}}} needs a list of numbers, got {value!r}") from None


@dataclass(frozen=True)
class Template:
    """A parsed template: literal strings and Placeholders, with its full-match regex."""

    source: str
    parts: tuple[str | Placeholder, ...]
    regex: re.Pattern[str] = field(compare=False, repr=False)

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        """The slots, in order."""
        return tuple(p for p in self.parts if isinstance(p, Placeholder))

    @property
    def names(self) -> tuple[str, ...]:
        """The slot names, in order."""
        return tuple(p.name for p in self.placeholders)

    @property
    def prefix(self) -> str:
        """The literal text before the first slot (the command's head)."""
        return self.parts[0] if self.parts and isinstance(self.parts[0], str) else ""

    def placeholder(self, name: str) -> Placeholder:
        """The slot called `name`."""
        return next(p for p in self.placeholders if p.name == name)

    def parse(self, text: str) -> dict[str, Any] | None:
        """The values in `text` if it matches the whole template, else None; ValueError for absurd numbers."""
        match = self.regex.fullmatch(text)
        if match is None:
            return None
        return {p.name: p.convert(match.group(f"p{i}")) for i, p in enumerate(self.placeholders)}

    def format(self, values: Mapping[str, Any], formats: Mapping[str, str] | None = None) -> str:
        """Render the template with `values`; ValueError if a value is missing or cannot parse back."""
        formats = formats or {}
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            if part.name not in values:
                raise ValueError(f"no value for {{{part.name}}} in {self.source!r}")
            out.append(part.render(values[part.name], formats.get(part.name)))
        text = "".join(out)
        if self.regex.fullmatch(text) is None:
            raise ValueError(f"{text!r} does not parse back as {self.source!r}")
        return text


def parse_template(source: str) -> Template:
    """Parse the template language; TemplateError (with the character offset) for anything else."""
    parts: list[str | Placeholder] = []
    offsets: list[int] = []
    literal: list[str] = []
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "}":
            raise TemplateError("a '}' with no '{' before it (templates have no escapes for braces)", i)
        if ch != "{":
            literal.append(ch)
            i += 1
            continue
        end = source.find("}", i + 1)
        inner_open = source.find("{", i + 1)
        if end < 0 or 0 <= inner_open < end:
            raise TemplateError("a '{' that does not close a {name:type} placeholder", i)
        if literal:
            parts.append("".join(literal))
            offsets.append(i - len(literal))
            literal = []
        elif parts:
            raise TemplateError("two placeholders must be separated by literal text", i)
        parts.append(_placeholder(source[i + 1:end], i))
        offsets.append(i)
        i = end + 1
    if literal:
        parts.append("".join(literal))
        offsets.append(len(source) - len(literal))
    return _compile(source, parts, offsets)


def _placeholder(inner: str, offset: int) -> Placeholder:
    name, colon, spec = inner.partition(":")
    if not colon or not NAME_RE.match(name):
        raise TemplateError(f"'{{{inner}}}' is not a placeholder of the form {{name:type}} "
                            f"(name: letters, digits, _)", offset)
    if "|" in spec:
        choices = tuple(spec.split("|"))
        if any(not c or c != c.strip() or "\r" in c or "\n" in c for c in choices):
            raise TemplateError(f"'{{{inner}}}' has an empty option or one with spaces at its ends", offset)
        if len(set(choices)) != len(choices):
            raise TemplateError(f"'{{{inner}}}' lists an option twice", offset)
        return Placeholder(name, "choice", choices)
    if spec not in TYPES:
        raise TemplateError(f"'{{{inner}}}' has the unknown type '{spec}' (types: {', '.join(TYPES)}, "
                            f"or options A|B|C)", offset)
    return Placeholder(name, spec)


def _compile(source: str, parts: list[str | Placeholder], offsets: list[int]) -> Template:
    seen: set[str] = set()
    for index, part in enumerate(parts):
        if not isinstance(part, Placeholder):
            continue
        if part.name in seen:
            raise TemplateError(f"the placeholder name '{part.name}' is used twice", offsets[index])
        seen.add(part.name)
        following = parts[index + 1] if index + 1 < len(parts) else ""
        stop = following[:1] if isinstance(following, str) else ""
        if stop and stop in _CANNOT_FOLLOW.get(part.type, ""):
            raise TemplateError(f"'{stop}' right after {{{part.name}:{part.type}}} makes the end of the "
                                f"{part.type} ambiguous", offsets[index])
        if part.type in ("word", "text"):
            parts[index] = Placeholder(part.name, part.type, part.choices, stop)
    pattern = []
    slot = 0
    for part in parts:
        if isinstance(part, str):
            pattern.append(re.escape(part))
        else:
            pattern.append(f"(?P<p{slot}>{part.pattern()})")
            slot += 1
    return Template(source, tuple(parts), re.compile("".join(pattern), re.DOTALL))
