"""Sphinx configuration of the xcal documentation: the guides, the exit-code and JSON contract, the API reference.

Built offline and strictly (`sphinx-build -W -n -b html docs OUT`): every warning and every unresolved
reference is an error, and no inventory is fetched from the network. xcal's docstrings are plain text
written for `help()` and the terminal, so they are adapted to reStructuredText as they are read.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import xcal  # noqa: E402  (the package of this checkout, found through ROOT)

project = "xcal"
author = "the xcal authors"
copyright = "the xcal authors"
version = release = xcal.__version__

extensions = ["sphinx.ext.autodoc"]
root_doc = "index"
exclude_patterns = ["_build"]
default_role = "literal"
nitpicky = True
highlight_language = "none"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}

# Other packages' types cannot be linked without their inventory, which this build does not fetch;
# QuantityLike is xcal.analysis's alias of Any and has no entry of its own, nor have xcal.units' Quantity and
# Unit (pint's classes, named for annotations); the private type variables of generic helpers (`_T`) have none
# either.
nitpick_ignore_regex = [
    ("py:class", r"(pint|pathlib|collections\.abc)\..*"),
    ("py:class", r"QuantityLike|Quantity|Unit"),
    ("py:(class|obj)", r"xcal\..*\._T"),
]

html_theme = "alabaster"
html_title = f"xcal {release}"
html_static_path: list[str] = []

_BULLET = re.compile(r"^(\s*)([-*]|\d+\.)\s")
_SUBSTITUTION = re.compile(r"\|")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _escape(line: str) -> str:
    """Escape `|` outside `...` spans, so `|X1 − X2|` is text and not a substitution reference."""
    parts = re.split(r"(`[^`]*`)", line)
    return "".join(part if part.startswith("`") else _SUBSTITUTION.sub(r"\\|", part) for part in parts)


def plain_text_to_rst(lines: list[str]) -> list[str]:
    """Turn a plain-text docstring into reStructuredText: indented examples become literal blocks.

    A block indented deeper than the line before it (other than a list item's continuation) is code or a
    table in these docstrings; it is announced with `::` so it is shown as written. Outside such blocks `|`
    is escaped.
    """
    out: list[str] = []
    literal_base: int | None = None
    previous: str | None = None
    for line in lines:
        if not line.strip():
            out.append(line)
            continue
        indent = _indent(line)
        if literal_base is not None:
            if indent > literal_base:
                out.append(line)
                previous = line
                continue
            literal_base = None
        if previous is not None and indent > _indent(previous):
            bullet = _BULLET.match(previous)
            continuation = bullet is not None and indent == len(bullet.group(0))
            if not continuation:
                literal_base = _indent(previous)
                last = next(i for i in range(len(out) - 1, -1, -1) if out[i].strip())
                if not out[last].rstrip().endswith("::"):
                    out[last] = out[last].rstrip() + (":" if out[last].rstrip().endswith(":") else " ::")
                if out[-1].strip():
                    out.append("")
                out.append(line)
                previous = line
                continue
        out.append(_escape(line))
        previous = line
    return out


def _process_docstring(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    if what == "module" and getattr(obj, "__doc__", None):
        # A module's docstring starts at column 0 in the source; reading it raw keeps an example that
        # follows the summary indented, where cleaning the indentation would make it a paragraph.
        lines[:] = [*obj.__doc__.expandtabs().strip("\n").splitlines(), ""]
    lines[:] = plain_text_to_rst(lines)


def setup(app: Any) -> dict[str, Any]:
    """Adapt docstrings as autodoc reads them."""
    app.connect("autodoc-process-docstring", _process_docstring)
    return {"parallel_read_safe": True}
