"""The annual room report: every required test of a room's year with its verdicts, the corrective actions and
their retests, service events and PM, the instruments and calibrations used, incidents, and signature lines.

Built from the stored runs and program records (`program.summary.program_summary`), nothing re-judged; one
function per section, as content.py does for a run. People are named only when `personal` is asked: incident
people become 'person N' and the personnel dosimetry section is left out, since the report leaves the site.
The PDF numbers its pages 'page N of M' and gives each table column at least its longest word's width.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..verdict import Verdict
from .model import (
    ALERT_TONE,
    EMPTY_TONE,
    FAIL_TONE,
    PASS_TONE,
    SIMULATED_BANNER,
    Cell,
    Fields,
    Note,
    Report,
    Section,
    Table,
    verdict_cell,
)
from .text import DASH

SIGNERS = ("Qualified medical physicist (reviewed)", "Radiation safety officer (acknowledged)")
"""The signature lines at the end of the report."""
_NOT_PASSED_SQL = ("SELECT c.run_id, c.check_id, c.title, c.setting, c.value, c.unit, c.limit_text, c.verdict "
                   "FROM runs r JOIN checks c ON c.run_id = r.run_id WHERE r.room_id = ? AND c.verdict IN (?, ?) "
                   "ORDER BY c.check_row")
"""The room's checks not passed, each run's in the order it judged them (its runs, index runs_room)."""


@dataclass
class AnnualData:
    """What the annual report shows, read once from the store: the room's runs of the year (oldest first), the
    checks that did not pass, the schedule lines of the room, and the program summary."""

    site: Any
    room: Any
    year: int
    runs: list[Any]
    not_passed: dict[str, list[dict[str, Any]]]
    schedule: list[Any]
    program: dict[str, Any]
    personal: bool = False
    post_service: dict[str, list[str]] = field(default_factory=dict)
    bundles: list[Any] = field(default_factory=list)


def annual_data(store: Any, site: Any, room: str, year: int, personal: bool = False) -> AnnualData:
    """Read the room's year from `store`; ConfigError for a room the site does not have. The actions are those
    opened on a FAIL of the year (whenever recorded), opened in the year, or still open."""
    from ..program.actions import load_actions
    from ..program.service import outstanding
    from ..program.summary import program_summary

    found = site.room(room)
    prefix = str(year)
    runs = sorted((r for r in store.list_runs(room=found.id) if r.started_at[:4] == prefix),
                  key=lambda r: (r.started_at, r.run_id))
    ids = {r.run_id for r in runs}
    not_passed: dict[str, list[dict[str, Any]]] = {}
    for row in store.select(_NOT_PASSED_SQL, (found.id, Verdict.WARN, Verdict.FAIL)):
        if row[0] in ids:
            not_passed.setdefault(row[0], []).append(
                {"check_id": row[1], "title": row[2], "setting": row[3], "value": row[4], "unit": row[5],
                 "limit": row[6], "verdict": row[7]})
    program = program_summary(store, site, room=found.id, year=year, personal=personal)
    program["actions"] = [a.to_dict() for a in load_actions(store) if a.room == found.id and (
        a.run_id in ids or a.opened_at[:4] == prefix or a.status != "verified")]
    post = {s["service_id"]: outstanding(store, s) for s in program["services"]}
    bundles = sorted((b for b in store.list_bundles(room=found.id) if (b.started_at or "")[:4] == prefix),
                     key=lambda b: b.started_at)
    return AnnualData(site, found, year, runs, not_passed, [e for e in site.schedule if e.room == found.id],
                      program, personal, post, bundles)


def build_annual_report(data: AnnualData) -> Report:
    """The annual report of one room and year as format-neutral blocks."""
    simulated = any(r.simulated for r in data.runs) or bool(getattr(data.site, "is_demo", False))
    failed = sum(1 for r in data.runs if r.verdict == "FAIL")
    verdict = Cell(f"{len(data.runs)} runs, {failed} FAIL, {_open_actions(data)} actions open",
                   FAIL_TONE if _open_actions(data) else PASS_TONE)
    sections = [summary_section(data), required_tests_section(data), runs_section(data), actions_section(data),
                services_section(data), pm_section(data), instruments_section(data), incidents_section(data),
                dosimetry_section(data), signature_lines_section()]
    return Report(
        title=f"Annual QC report: room {data.room.id} {data.room.name}, {data.year}",
        subtitle=f"{data.site.name} · {data.year}-01-01 to {data.year}-12-31",
        run_id=f"room {data.room.id} / {data.year}", simulated=simulated, verdict=verdict,
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), generator=f"xcal {__version__}",
        sections=tuple(sections))


def _open_actions(data: AnnualData) -> int:
    return sum(1 for a in data.program["actions"] if a["status"] != "verified")


def summary_section(data: AnnualData) -> Section:
    """Facility, room and equipment, the year's counts, and whether the records are SIMULATED."""
    counts: dict[str, int] = {}
    for r in data.runs:
        key = r.verdict if r.status == "complete" else r.status
        counts[key or DASH] = counts.get(key or DASH, 0) + 1
    actions = data.program["actions"]
    equipment = "; ".join(f"{k}: {' '.join(str(v.get(x, '')) for x in ('make', 'model', 'serial')).strip()}"
                          for k, v in data.room.equipment.items() if isinstance(v, Mapping))
    rows = [("Facility", Cell(data.site.name)), ("Room", Cell(f"{data.room.id} {data.room.name}")),
            ("Equipment", Cell(equipment or DASH)),
            ("Runs in the year", Cell(f"{len(data.runs)} (" + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
                                      + ")" if data.runs else "none")),
            ("Corrective actions", Cell(f"{len(actions)}, of which {sum(a['status'] == 'verified' for a in actions)} "
                                        f"verified by a retest")),
            ("Service events", Cell(str(len(data.program["services"])))),
            ("Preventive maintenance", Cell(f"{len(data.program['pm'])} logged")),
            ("Incidents", Cell(str(len(data.program["incidents"])))),
            ("Personal data", Cell("included (names and badge doses)" if data.personal else
                                   "left out: people are 'person N', no badge doses", ALERT_TONE if data.personal
                                   else ""))]
    if any(r.simulated for r in data.runs) or getattr(data.site, "is_demo", False):
        rows.append(("Simulated", Cell("YES — simulated rooms and instruments; not measurements", ALERT_TONE)))
    return Section("summary", "Summary", (Fields(tuple(rows)),))


def required_tests_section(data: AnnualData) -> Section:
    """Each test the site's schedule requires of the room: how often, how many runs, their verdicts, the last.
    A bundle is counted by its bundle records, or where there are none (runs made one by one, or imported) by
    its members' runs: as many times as every member was run, the last when the whole set was last done."""
    from ..procedures.loader import find_procedure

    rows = []
    for entry in data.schedule:
        members = getattr(find_procedure(entry.procedure), "procedures", None)
        bundles = [b for b in data.bundles if b.bundle == entry.procedure]
        if members and not bundles:
            rows.append(_members_row(data, entry, tuple(members)))
            continue
        runs = bundles or [r for r in data.runs if r.procedure_id == entry.procedure and _is_item(r, entry.item)]
        verdicts = [r.verdict or r.status for r in runs]
        last = runs[-1] if runs else None
        rows.append((Cell(entry.procedure + (f" ({entry.item})" if entry.item else "")), Cell(entry.every),
                     Cell(str(len(runs))), Cell(str(verdicts.count("PASS"))), Cell(str(verdicts.count("WARN"))),
                     Cell(str(verdicts.count("FAIL")), FAIL_TONE if "FAIL" in verdicts else ""),
                     Cell(f"{last.started_at[:10]} {last.verdict or last.status}" if last else "NOT RUN",
                          "" if last else FAIL_TONE)))
    if not rows:
        return Section("required", "Required tests", (Note("the site's schedule requires no test of this room",
                                                           EMPTY_TONE),))
    return Section("required", "Required tests", (Table(
        ("Procedure", "Every", "Runs", "PASS", "WARN", "FAIL", "Last run"), tuple(rows),
        weights=(2.4, 1.6, 0.6, 0.6, 0.6, 0.6, 1.6)),))


def _members_row(data: AnnualData, entry: Any, members: tuple[str, ...]) -> tuple[Cell, ...]:
    """A bundle requirement counted from its members' runs of the year (see required_tests_section)."""
    by_member = {m: [r for r in data.runs if r.procedure_id == m] for m in members}
    sets = min(len(runs) for runs in by_member.values())
    verdicts = [r.verdict or r.status for runs in by_member.values() for r in runs]
    last = None if not sets else min((runs[-1] for runs in by_member.values()), key=lambda r: r.started_at)
    worst = max((runs[-1].verdict or "FAIL" for runs in by_member.values()), key=_severity) if sets else ""
    return (Cell(f"{entry.procedure} (bundle of {len(members)}: complete sets of its members' runs; verdicts "
                 f"of each member run)"), Cell(entry.every), Cell(f"{sets} set" + ("" if sets == 1 else "s")),
            Cell(str(verdicts.count("PASS"))), Cell(str(verdicts.count("WARN"))),
            Cell(str(verdicts.count("FAIL")), FAIL_TONE if "FAIL" in verdicts else ""),
            Cell(f"{last.started_at[:10]} {worst}" if last else "NOT RUN", "" if last else FAIL_TONE))


def _severity(verdict: str) -> int:
    return Verdict(verdict).severity if verdict in Verdict.__members__ else 99


def _is_item(run: Any, item: str | None) -> bool:
    if item is None:
        return True
    subject = run.snapshot.get("item") if isinstance(run.snapshot, Mapping) else None
    return not subject or (subject.get("id") if isinstance(subject, Mapping) else subject) == item


FREQUENT = ("daily", "weekly")
"""Tests run this often are shown one row per month in the runs table; their runs that did not pass each get a
row of their own."""


def runs_section(data: AnnualData) -> Section:
    """Every run of the year in the room, oldest first, with the checks that did not pass; a daily or weekly
    test's passing runs are counted per month."""
    frequent = {e.procedure for e in data.schedule if e.every in FREQUENT}
    rows: list[tuple[str, tuple[Cell, ...]]] = []
    months: dict[tuple[str, str], list[Any]] = {}
    for r in data.runs:
        checks = data.not_passed.get(r.run_id, [])
        if r.procedure_id in frequent and r.verdict == "PASS" and not checks:
            months.setdefault((r.started_at[:7], r.procedure_id), []).append(r)
            continue
        note = "; ".join(f"{c['verdict']} {c['title']} at {c['setting'] or 'run'}: {_value(c)}" for c in checks)
        tone = FAIL_TONE if r.verdict == "FAIL" or r.status != "complete" else ""
        rows.append((r.started_at, (Cell(r.started_at[:16].replace("T", " ")), Cell(r.run_id), Cell(r.procedure_id),
                                    verdict_cell(r.verdict) if r.status == "complete"
                                    else Cell(r.status.upper(), FAIL_TONE), Cell(note or DASH, tone))))
    for (month, procedure), runs in months.items():
        rows.append((runs[0].started_at, (Cell(f"{month} ({len(runs)} days)"),
                                          Cell(f"{runs[0].run_id} to {runs[-1].run_id}"), Cell(procedure),
                                          verdict_cell("PASS"), Cell(f"{len(runs)} runs, each PASS"))))
    if not rows:
        return Section("runs", "Runs", (Note("no run recorded in this room in the year", EMPTY_TONE),))
    return Section("runs", "Runs", (Table(("Started (UTC)", "Run", "Procedure", "Verdict", "Not passed"),
                                          tuple(row for _, row in sorted(rows, key=lambda x: x[0])),
                                          weights=(1.3, 1.9, 1.9, 0.8, 3.0)),))


def _value(check: Mapping[str, Any]) -> str:
    from .text import num

    return f"{num(check['value'])} {check['unit']} against {check['limit']}"


def actions_section(data: AnnualData) -> Section:
    """Each corrective action of the room opened in the year or still open: what failed, what was done, and
    the retests, the one that verified it named."""
    rows = []
    for a in data.program["actions"]:
        failed = "; ".join(f"{f['check_id']} at {f['setting'] or 'run'}: {f['value']:.4g} {f['unit']} against "
                           f"{f['limit']}" for f in a["failed"])
        done = a["resolution"]["done"] if a["resolution"] else "not resolved"
        retests = ", ".join(f"{t['run_id']} {t['verdict']}" for t in a["retests"]) or "none yet"
        rows.append((Cell(a["action_id"]), Cell(f"{a['run_id']} ({a['procedure']}): {failed}"),
                     Cell(a["status"], PASS_TONE if a["status"] == "verified" else FAIL_TONE),
                     Cell(done), Cell(retests)))
    if not rows:
        return Section("actions", "Corrective actions", (Note("none recorded", EMPTY_TONE),))
    return Section("actions", "Corrective actions", (Table(
        ("Action", "Failed run and checks", "Status", "Done", "Retests"), tuple(rows),
        weights=(0.7, 3.0, 0.9, 2.0, 1.8)),))


def services_section(data: AnnualData) -> Section:
    """Each service event: component and work, who, downtime, what was done, parts, and the post-service tests
    with those still outstanding."""
    rows = []
    for s in data.program["services"]:
        left = data.post_service.get(s["service_id"], [])
        tests = ", ".join(i["procedure"] for i in s["invalidates"])
        rows.append((Cell(s["service_id"]), Cell(f"{s['component']} {s['work']}"),
                     Cell(f"{s['vendor']}, {s['engineer']}"),
                     Cell(f"{s['down_from'][:16].replace('T', ' ')} to {s['down_to'][:16].replace('T', ' ')}"),
                     Cell(s["done"] + (f" Parts: {', '.join(s['parts'])}." if s["parts"] else "")),
                     Cell(f"{tests}; " + (f"OUTSTANDING: {', '.join(left)}" if left else "all done after it"),
                          FAIL_TONE if left else PASS_TONE)))
    if not rows:
        return Section("service", "Service events", (Note("none recorded", EMPTY_TONE),))
    return Section("service", "Service events", (Table(
        ("Event", "Work", "By", "Downtime (UTC)", "Done", "Post-service tests"), tuple(rows),
        weights=(0.6, 1.1, 1.4, 1.5, 2.4, 2.0)),))


def pm_section(data: AnnualData) -> Section:
    """Each preventive maintenance logged in the year: day, component, what was done, who."""
    rows = [(Cell(p["date"]), Cell(p["pm_id"]), Cell(p["component"]),
             Cell(p["done"] + (f" Parts: {', '.join(p['parts'])}." if p["parts"] else "")),
             Cell(f"{p['engineer']} ({p['vendor']})")) for p in data.program["pm"]]
    if not rows:
        return Section("pm", "Preventive maintenance", (Note("none logged", EMPTY_TONE),))
    return Section("pm", "Preventive maintenance", (Table(("Date", "PM", "Component", "Done", "By"), tuple(rows),
                                                          weights=(0.9, 0.6, 1.0, 3.2, 1.8)),))


def instrument_rows(runs: Sequence[Any]) -> list[dict[str, Any]]:
    """The instruments the runs used, once per instrument and calibration certificate: identity, calibration
    and how many runs used it, first and last day (from each run's snapshot)."""
    used: dict[tuple[str, str], dict[str, Any]] = {}
    for r in runs:
        instruments = r.snapshot.get("instruments", {}) if isinstance(r.snapshot, Mapping) else {}
        for inst in instruments.values():
            if not isinstance(inst, Mapping) or inst.get("dicom"):     # a DICOM role: no calibration to list
                continue
            cal = inst.get("calibration") or {}
            key = (str(inst.get("id")), str(cal.get("certificate")))
            line = used.setdefault(key, {"id": inst.get("id"), "make": inst.get("make"), "model": inst.get("model"),
                                         "serial": inst.get("serial"), "certificate": cal.get("certificate"),
                                         "calibrated": cal.get("date"), "due": cal.get("due"), "runs": 0,
                                         "first": r.started_at[:10], "last": r.started_at[:10],
                                         "simulated": bool(inst.get("simulated"))})
            line["runs"] += 1
            line["last"] = r.started_at[:10]
    return sorted(used.values(), key=lambda u: (str(u["id"]), str(u["certificate"])))


def instruments_section(data: AnnualData) -> Section:
    """The instruments and calibrations the year's runs used; a use past the due date is flagged."""
    rows = []
    for u in instrument_rows(data.runs):
        late = bool(u["due"]) and str(u["due"]) < u["last"]
        rows.append((Cell(str(u["id"])), Cell(f"{u['make']} {u['model']}, serial {u['serial']}"),
                     Cell(str(u["certificate"] or DASH)), Cell(str(u["calibrated"] or DASH)),
                     Cell(str(u["due"] or DASH), ALERT_TONE if late or not u["due"] else ""),
                     Cell(f"{u['runs']} ({u['first']} to {u['last']})")))
    if not rows:
        return Section("instruments", "Instruments and calibrations used", (Note("no run, so none", EMPTY_TONE),))
    return Section("instruments", "Instruments and calibrations used", (Table(
        ("Instrument", "Make, model, serial", "Certificate", "Calibrated", "Due", "Runs"), tuple(rows),
        weights=(0.7, 2.0, 2.2, 0.9, 0.9, 1.5)),))


def incidents_section(data: AnnualData) -> Section:
    """The room's incidents of the year: what, who (as 'person N' unless personal) and the doses, the level."""
    rows = []
    for i in data.program["incidents"]:
        people = "; ".join(f"{p['person']}: " + ", ".join(f"{q} {v} mSv" for q, v in p["doses"].items()
                                                          if v is not None) for p in i["people"])
        level = i["notification_level"]
        rows.append((Cell(i["incident_id"]), Cell(i["date"][:10]), Cell(f"{i['kind']}: {i['what']}"),
                     Cell(people or DASH), Cell(level["title"] if level else "none reached",
                                                ALERT_TONE if level else ""),
                     Cell(i["notification_due"])))
    if not rows:
        return Section("incidents", "Incidents", (Note("none recorded", EMPTY_TONE),))
    return Section("incidents", "Incidents", (Table(
        ("Incident", "Date", "What happened", "People and doses", "Notification level", "Notification"),
        tuple(rows), weights=(0.7, 0.9, 2.8, 1.6, 1.2, 1.6)),))


def dosimetry_section(data: AnnualData) -> Section:
    """The site's personnel dose report of the year, only when personal data is asked for."""
    if not data.personal:
        return Section("dosimetry", "Personnel dosimetry", (Note(
            "Badge doses are personal data and are left out of this report; `--include-personal` puts them in.",
            EMPTY_TONE),))
    from ..program.dosimetry import report_lines

    return Section("dosimetry", "Personnel dosimetry", tuple(Note(line) for line in
                                                              report_lines(data.program["dosimetry"])))


def signature_lines_section() -> Section:
    """Blank lines for the physicist's (and the RSO's) printed name, signature and date."""
    blank = Cell("\n\n")
    return Section("sign", "Review and signatures", (
        Note("I have reviewed the tests, corrective actions, service and maintenance records of this room for the "
             "year above."),
        Table(("Role", "Printed name", "Signature", "Date"), tuple((Cell(s), blank, blank, blank) for s in SIGNERS),
              weights=(2.2, 2.0, 2.2, 1.0))))


def write_annual_pdf(report: Report, path: str | os.PathLike[str]) -> Path:
    """The report as PDF at `path`, pages numbered 'page N of M' (each page is kept until the count is known)."""
    from matplotlib.backends.backend_pdf import PdfPages

    from ..errors import RecordError

    target = Path(path)
    part = target.with_name(target.name + ".part")
    metadata = {"Title": ("[SIMULATED] " if report.simulated else "") + report.title,
                "Keywords": "SIMULATED, not a measurement" if report.simulated else "X-ray QC",
                "Creator": report.generator}
    try:
        with PdfPages(part, metadata=metadata) as pdf:
            lay_out(report, pdf)
        os.replace(part, target)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise RecordError(f"cannot write the PDF report to {target}: {exc.strerror or exc}",
                          fix="give a path in a folder that exists and that you may write to") from None
    return target


class _Held:
    """Keeps the laid-out pages until all are there, then writes each with 'page N of M' to the PdfPages."""

    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf
        self.figures: list[Any] = []

    def savefig(self, fig: Any) -> None:
        self.figures.append(fig)


def lay_out(report: Report, pdf: Any) -> int:
    """Lay the report out on A4 pages into `pdf` (anything with `savefig(figure)`), each numbered 'page N of M'
    with the report's footer; returns M."""
    from .pdf import TABLE, _fields, _title
    from .pdf_layout import A4, LEFT, Pages

    class Numbered(Pages):
        def _finish(self) -> None:
            self.pdf.savefig(self.fig)

    held = _Held(pdf)
    pages = Numbered(held, header=report.title, footer=report.footer(), simulated=report.simulated,
                     banner=SIMULATED_BANNER)
    _title(pages, report)
    for section in report.sections:
        pages.heading(section.title)
        for block in section.blocks:
            if isinstance(block, Table):
                pages.grid(block.columns, block.rows, unbroken_widths(pages, block, TABLE), TABLE, block.caption)
            elif isinstance(block, Fields):
                _fields(pages, block)
            elif isinstance(block, Note):
                pages.note(block.text, block.tone)
    pages.close()
    total = len(held.figures)
    for n, fig in enumerate(held.figures, 1):
        fig.text(LEFT / A4[0], 1 - (A4[1] - 0.45) / A4[1], f"page {n} of {total} · {report.footer()}", fontsize=6.5,
                 color="#666666", ha="left", va="top", parse_math=False)
        pdf.savefig(fig)
    return total


def unbroken_widths(pages: Any, table: Table, size: float) -> tuple[float, ...]:
    """Column widths across the page, each at least its longest word (header included) so no word is broken,
    the rest shared by the table's weights."""
    pad = 0.1
    n = len(table.columns)
    weights = table.weights if len(table.weights) == n else (1.0,) * n
    least = []
    for i in range(n):
        words = [w for row in table.rows for w in row[i].text.split()] + table.columns[i].split()
        least.append(max((pages.measure.width(w, size, True) for w in words), default=0.0) / 0.96 + pad)
    spare = pages.width - sum(least)
    if spare <= 0:
        return tuple(w * pages.width / sum(least) for w in least)
    total = sum(weights)
    widths = [max(least[i], pages.width * weights[i] / total) for i in range(n)]
    over = sum(widths) - pages.width
    while over > 1e-6:
        roomy = [i for i in range(n) if widths[i] > least[i] + 1e-9]
        if not roomy:
            break
        give = sum(widths[i] - least[i] for i in roomy)
        for i in roomy:
            widths[i] -= over * (widths[i] - least[i]) / give
        over = sum(widths) - pages.width
    return tuple(widths)
