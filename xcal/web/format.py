"""Jinja filters: the CSS tone of a verdict or a status, and short date-times. Tones are those of the reports."""

from __future__ import annotations

from typing import Any

from ..reports.model import VERDICT_TONES

STATUS_TONES = {"OK": "pass", "DUE": "warn", "NEVER RUN": "warn", "NEVER DONE": "warn", "DUE SOON": "warn",
                "OVERDUE": "fail", "RETEST REQUIRED": "fail", "INCOMPLETE": "fail", "DUE AFTER SERVICE": "alert",
                "EXPIRED": "fail", "MISSING": "fail", "ENDED": "muted", "NOT SCHEDULED": "muted", "open": "fail",
                "in progress": "warn", "resolved": "warn", "verified": "pass", "valid": "pass"}


def tone(text: Any) -> str:
    """'t-pass', 't-fail' ... for a verdict or status; '' for anything else."""
    name = VERDICT_TONES.get(str(text)) or STATUS_TONES.get(str(text), "")
    return f"t-{name}" if name else ""


def when(text: Any) -> str:
    """An ISO time as 'YYYY-MM-DD HH:MM' (UTC as recorded); '—' for none."""
    if not text:
        return "—"
    value = str(text)
    return value[:16].replace("T", " ") if len(value) > 10 else value


def value(number: Any, digits: int = 4) -> str:
    """A number to `digits` significant figures; '—' for none."""
    from ..reports.text import num

    return num(number, digits) if number is not None else "—"


FILTERS = {"tone": tone, "when": when, "value": value}
