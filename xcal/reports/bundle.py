"""The acceptance report of a bundle: one document, one verdict table across its members, then each member's
own report sections, in the bundle's order.

Built from the stored bundle and its members' stored runs; nothing is re-judged. A member not run yet, or cut
off, is shown as such, and the bundle is INCOMPLETE, as `bundles.bundle_verdict` decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from .. import __version__
from .content import build_report
from .model import ALERT_TONE, FAIL_TONE, Cell, Fields, Note, Report, Section, Table, verdict_cell


def build_bundle_report(bundle: Any, runs: Mapping[str, Any],
                        signatures: Mapping[str, Sequence[Any]] | None = None) -> Report:
    """The report of a stored bundle; `runs` maps each started member's run id to its StoredRun."""
    signatures = signatures or {}
    verdict = verdict_cell(bundle.verdict) if bundle.status == "complete" else Cell(
        f"{bundle.verdict or 'INCOMPLETE'} ({bundle.status})", FAIL_TONE)
    sections = [_summary(bundle, verdict), _verdicts(bundle, runs)]
    for n, member in enumerate(bundle.members, 1):
        run = runs.get(member.run_id or "")
        if run is None:
            sections.append(Section(f"m{n}", f"{n}. {member.procedure}",
                                    (Note("Not run yet: the bundle is INCOMPLETE until it is; "
                                          f"`xcal run --resume {bundle.bundle_id}` runs it.", FAIL_TONE),)))
            continue
        member_report = build_report(run, signatures.get(run.run_id))
        sections.append(Section(f"m{n}", f"{n}. {run.procedure_title} — run {run.run_id}",
                                (Fields((("Verdict", member_report.verdict),)),)))
        sections += [Section(f"m{n}-{s.key}", f"{n}. {s.title}", s.blocks) for s in member_report.sections
                     if s.key != "summary"]
    return Report(
        title=f"X-ray QC acceptance record: {bundle.bundle_title or bundle.bundle}",
        subtitle=f"{bundle.site} · room {bundle.room_id} {bundle.room_name} · {(bundle.started_at or '')[:10]}",
        run_id=bundle.bundle_id, simulated=bool(bundle.simulated), verdict=verdict,
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        generator=f"xcal {__version__}", sections=tuple(sections))


def _summary(bundle: Any, verdict: Cell) -> Section:
    """The bundle's verdict, status, who, when, where, and the bundle file's version and hash."""
    blocks: list[Any] = []
    if bundle.status != "complete":
        blocks.append(Note(f"INCOMPLETE — not every member has a complete run"
                           f"{': ' + bundle.status_note if bundle.status_note else ''}. "
                           f"`xcal run --resume {bundle.bundle_id}` finishes it.", FAIL_TONE))
    blocks.append(Fields((
        ("Overall verdict", verdict),
        ("Bundle", Cell(f"{bundle.bundle_title} ({bundle.bundle} {bundle.bundle_version}), sha256 "
                        f"{bundle.bundle_sha256[:16]}…")),
        ("Facility", Cell(bundle.site)),
        ("Room", Cell(f"{bundle.room_id} {bundle.room_name}".strip())),
        ("Performed by (operator)", Cell(bundle.operator)),
        ("Started (UTC)", Cell(bundle.started_at)),
        ("Finished (UTC)", Cell(bundle.finished_at or "—")),
        ("Bundle ID", Cell(bundle.bundle_id)),
        ("Simulated", Cell("YES — simulated instruments and room; not a measurement", ALERT_TONE)
         if bundle.simulated else Cell("no")))))
    return Section("summary", "Summary", tuple(blocks))


def _verdicts(bundle: Any, runs: Mapping[str, Any]) -> Section:
    """One table across the members: procedure, run, status, verdict, and the checks that failed."""
    rows = []
    for n, member in enumerate(bundle.members, 1):
        run = runs.get(member.run_id or "")
        failed = "; ".join(f"{c.title} at {c.setting}" for c in run.checks if c.verdict == "FAIL") if run else ""
        rows.append((Cell(str(n)), Cell(member.procedure), Cell(member.run_id or "not run"),
                     Cell(member.status or "not run", "" if member.status == "complete" else FAIL_TONE),
                     verdict_cell(member.verdict) if member.status == "complete" else Cell("INCOMPLETE", FAIL_TONE),
                     Cell(failed, FAIL_TONE if failed else "")))
    return Section("verdicts", "Verdicts", (Table(("#", "Procedure", "Run", "Status", "Verdict", "Failed checks"),
                                                  tuple(rows), weights=(0.4, 2, 2, 1.2, 1, 3)),))
