"""The report's results: each check with its measured and set value, deviation, tolerance, source and verdict.

Also the limits the run used (from its snapshot), with their limit set and how far each source was verified,
and one results plot per kind of check.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from .bands import tolerance_text
from .model import ALERT_TONE, EMPTY_TONE, Cell, Note, Plot, Section, Table, verdict_cell
from .plots import draw_results, group_checks, results_title
from .text import DASH, num, percent_of, plain, qty, signed_qty

UNVERIFIED = ("fictional", "unverified")


def _limits(snap: Mapping[str, Any]) -> Mapping[str, Any]:
    limits = snap.get("limits")
    return limits if isinstance(limits, Mapping) else {}


def _verification(limit: Any) -> str:
    return str(limit.get("verification") or "not stated") if isinstance(limit, Mapping) else "not recorded"


def _check_row(check: Any, limits: Mapping[str, Any]) -> tuple[Cell, ...]:
    unit = check.unit or ""
    deviation = signed_qty(check.deviation, unit)
    pct = percent_of(check.deviation, check.nominal)
    verification = _verification(limits.get(check.limit_name))
    return (Cell(check.title or check.check_id),
            Cell(check.setting or DASH),
            Cell(qty(check.nominal, unit)),
            Cell(qty(check.value, unit)),
            Cell(f"{deviation} ({pct})" if pct else deviation),
            Cell(tolerance_text(check)),
            Cell(f"{check.limit_set}: {check.source} [verification: {verification}]",
                 ALERT_TONE if verification in UNVERIFIED else ""),
            verdict_cell(check.verdict))


def results_section(run: Any, snap: Mapping[str, Any]) -> Section:
    """One row per check as recorded, then one results plot per kind of check."""
    limits = _limits(snap)
    if not run.checks:
        why = "the run is incomplete" if run.status == "incomplete" else "the record holds no check outcomes"
        return Section("results", "Results", (Note(f"no checks were judged: {why}", EMPTY_TONE),))
    table = Table(("Check", "Station / pair", "Set", "Measured", "Deviation", "Tolerance", "Limit set: source",
                   "Verdict"),
                  tuple(_check_row(c, limits) for c in run.checks),
                  weights=(1.5, 1.5, 0.75, 1.0, 1.15, 1.5, 2.35, 0.8))
    blocks: list[Any] = [table]
    for group in group_checks(run.checks).values():
        limit = limits.get(group[0].limit_name)
        wf = limit.get("warn_fraction") if isinstance(limit, Mapping) else None
        title = results_title(group)
        blocks.append(Plot(f"Results: {title}", partial(draw_results, checks=group, warn_fraction=wf)))
    return Section("results", "Results", tuple(blocks))


def limits_section(snap: Mapping[str, Any]) -> Section:
    """The limits the run used, as snapshotted: tolerance, limit set, source and its verification."""
    limits = _limits(snap)
    if not limits:
        return Section("limits", "Limits used", (Note("no limits recorded in the run's snapshot", ALERT_TONE),))
    rows = []
    for name, limit in limits.items():
        limit = limit if isinstance(limit, Mapping) else {}
        verification = _verification(limit)
        warn = limit.get("warn_fraction")
        rows.append((Cell(str(name)), Cell(plain(limit.get("tolerance"))),
                     Cell(f"{limit.get('limit_set') or DASH} — {limit.get('limit_set_title') or DASH}"),
                     Cell(plain(limit.get("source"))),
                     Cell(verification, ALERT_TONE if verification in UNVERIFIED else ""),
                     Cell(f"{num(100 * warn, 3)} % of the allowance" if isinstance(warn, (int, float)) else DASH)))
    return Section("limits", "Limits used and their sources", (
        Table(("Limit", "Tolerance", "Limit set", "Source", "Verification", "Warn past"), tuple(rows),
              weights=(1.1, 1.1, 2.0, 2.6, 0.9, 1.0)),))
