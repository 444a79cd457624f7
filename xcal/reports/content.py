"""From a stored run to the report's sections, in the order an inspector reads them (QC reference §8).

The run's snapshot is read defensively, so older runs, hand-built runs and a store without corrections or
signatures all render. Nothing is re-judged: verdicts, tolerances and sources are shown as recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from .. import __version__
from .images import images_section
from .model import ALERT_TONE, FAIL_TONE, PASS_TONE, WARN_TONE, Cell, Fields, Note, Report, Section, Table, verdict_cell
from .readings import corrections_section, readings_section, waveforms_section
from .results import limits_section, results_section
from .signoff import corrective_actions_section, signatures_section
from .text import DASH, PARAMETER_ORDER, mapping_in, parameter_label, plain

STATION_WIDE = ("sid", "filtration", "added_filtration", "focal_spot")
EQUIPMENT_ORDER = ("generator", "tube", "collimator", "detector")


def build_report(run: Any, signatures: Sequence[Any] | None = None) -> Report:
    """The whole report of one stored run; `signatures` (e.g. `Store.signatures(run_id)`) adds the sign-offs."""
    snap = run.snapshot if isinstance(run.snapshot, Mapping) else {}
    verdict = overall_verdict(run)
    facility = _facility(snap, run)
    sections = (
        summary_section(run, snap, verdict),
        facility_section(snap, run),
        room_section(snap, run),
        instruments_section(snap, run),
        procedure_section(run, snap),
        conditions_section(snap),
        results_section(run, snap),
        limits_section(snap),
        readings_section(run, snap),
        images_section(run),
        waveforms_section(run, snap),
        corrections_section(run),
        corrective_actions_section(run, snap),
        signatures_section(run, signatures),
    )
    return Report(
        title=f"X-ray QC test record: {run.procedure_title or run.procedure_id}",
        subtitle=f"{facility.get('name') or run.site} · room {run.room_id} {run.room_name} · "
                 f"{(run.started_at or '')[:10]}",
        run_id=run.run_id, simulated=bool(run.simulated), verdict=verdict,
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        generator=f"xcal {__version__}", sections=tuple(s for s in sections if s is not None))


def overall_verdict(run: Any) -> Cell:
    """The run's verdict as recorded; INCOMPLETE for a run cut off, NOT FINISHED for one still open."""
    if run.status == "incomplete":
        return Cell("INCOMPLETE", FAIL_TONE)
    if run.status == "complete":
        return verdict_cell(run.verdict)
    return Cell(f"NOT FINISHED ({run.status})", WARN_TONE)


def _facility(snap: Mapping[str, Any], run: Any) -> Mapping[str, Any]:
    site = snap.get("site") or {}
    facility = site.get("facility") if isinstance(site, Mapping) else None
    return facility if isinstance(facility, Mapping) else {"name": run.site}


def summary_section(run: Any, snap: Mapping[str, Any], verdict: Cell) -> Section:
    """The verdict, status (INCOMPLETE and why), failed checks, who ran it, when, with which software."""
    blocks: list[Any] = []
    if run.status == "incomplete":
        blocks.append(Note(f"INCOMPLETE — the run stopped before every reading was taken: "
                           f"{run.status_note or 'no reason was recorded'}. It has no overall verdict.", FAIL_TONE))
    failed = [c for c in run.checks if c.verdict == "FAIL"]
    rows = [("Overall verdict", verdict),
            ("Status", Cell(run.status + (f" — {run.status_note}" if run.status_note else ""),
                            FAIL_TONE if run.status == "incomplete" else "")),
            ("Failed checks", Cell("; ".join(f"{c.title} at {c.setting}" for c in failed), FAIL_TONE)
             if failed else Cell("none" if run.checks else DASH)),
            ("Procedure", Cell(f"{run.procedure_title} ({run.procedure_id} {run.procedure_version})")),
            ("Facility", Cell(str(_facility(snap, run).get("name") or run.site))),
            ("Room", Cell(f"{run.room_id} {run.room_name}".strip())),
            ("Performed by (operator)", Cell(run.operator or DASH)),
            ("Started (UTC)", Cell(run.started_at or DASH)),
            ("Finished (UTC)", Cell(run.finished_at or DASH)),
            ("Run ID", Cell(run.run_id)),
            ("Software version", Cell(f"xcal {run.software_version}" if run.software_version else DASH)),
            ("Simulated", Cell("YES — simulated instruments and room; not a measurement", ALERT_TONE)
             if run.simulated else Cell("no"))]
    override = snap.get("calibration_override")
    if isinstance(override, Mapping):
        rows.append(("Calibration override", Cell(str(override.get("reason") or DASH), ALERT_TONE)))
    blocks.append(Fields(tuple(rows)))
    return Section("summary", "Summary", tuple(blocks))


def facility_section(snap: Mapping[str, Any], run: Any) -> Section:
    """Facility name, address and registration, and the site file the run was made from."""
    facility = _facility(snap, run)
    site = mapping_in(snap, "site")
    rows = [("Name", Cell(str(facility.get("name") or run.site or DASH))),
            ("Address", Cell(plain(facility.get("address")))),
            ("Registration", Cell(plain(facility.get("registration"))))]
    rows += [(parameter_label(k), Cell(plain(v))) for k, v in facility.items()
             if k not in ("name", "address", "registration")]
    if site.get("file"):
        rows.append(("Site file", Cell(f"{site['file']} (sha256 {site.get('sha256') or DASH})")))
    return Section("facility", "Facility", (Fields(tuple(rows)),))


def room_section(snap: Mapping[str, Any], run: Any) -> Section:
    """The room, its limit sets in priority order, and its equipment's make, model and serial."""
    room = mapping_in(snap, "room")
    equipment = mapping_in(room, "equipment")
    rows = [("Room", Cell(f"{room.get('id', run.room_id)} {room.get('name', run.room_name)}".strip())),
            ("Modality", Cell(plain(room.get("modality"))))]
    rows += [(parameter_label(k), Cell(plain(v))) for k, v in equipment.items() if not isinstance(v, Mapping)]
    item = mapping_in(snap, "item")
    if item:
        named = [f"{item.get('id')}: {item.get('kind')}",
                 " ".join(str(item[k]) for k in ("make", "model") if item.get(k)),
                 f"serial {item['serial']}" if item.get("serial") else "", str(item.get("lead_equivalence") or ""),
                 f"kept in {item['location']}" if item.get("location") else ""]
        rows.append(("Item tested", Cell(", ".join(part for part in named if part))))
    sets = room.get("limit_sets") or []
    rows.append(("Limit sets (priority order)", Cell(" > ".join(map(str, sets)) if sets else DASH)))
    parts = sorted(((k, v) for k, v in equipment.items() if isinstance(v, Mapping)),
                   key=lambda kv: EQUIPMENT_ORDER.index(kv[0]) if kv[0] in EQUIPMENT_ORDER else len(EQUIPMENT_ORDER))
    table = Table(("Component", "Make", "Model", "Serial", "Details"),
                  tuple((Cell(parameter_label(k)), Cell(plain(v.get("make"))), Cell(plain(v.get("model"))),
                         Cell(plain(v.get("serial"))),
                         Cell(plain({dk: dv for dk, dv in v.items() if dk not in ("make", "model", "serial")})))
                        for k, v in parts),
                  caption="Equipment", weights=(1.2, 1.6, 1.2, 1.2, 1.6))
    blocks: list[Any] = [Fields(tuple(rows))]
    blocks.append(table if parts else Note("no equipment recorded for this room", ALERT_TONE))
    return Section("room", "Room and equipment", tuple(blocks))


def calibration_state(cal: Mapping[str, Any], run_day: str, overridden: bool) -> Cell:
    """Whether the instrument was in calibration on the day of the run (ISO dates compare as text)."""
    due = str(cal.get("due") or "")
    if not due:
        return Cell("no due date recorded", ALERT_TONE)
    if run_day and due < run_day:
        extra = " — used under the calibration override" if overridden else ""
        return Cell(f"PAST DUE on the day of the run (due {due}){extra}", ALERT_TONE)
    return Cell(f"in calibration on the day of the run (due {due})", PASS_TONE)


def _identity_cell(inst: Mapping[str, Any]) -> Cell:
    reported = inst.get("reported_identity")
    if not isinstance(reported, Mapping):
        return Cell("not reported")
    text = " ".join(str(reported[k]) for k in ("make", "model") if reported.get(k))
    text += f" serial {reported.get('serial') or DASH}, firmware {reported.get('firmware') or DASH}"
    mismatch = reported.get("serial") and inst.get("serial") and str(reported["serial"]) != str(inst["serial"])
    if mismatch:
        return Cell(f"{text} — DIFFERS from the site file's serial {inst['serial']}", ALERT_TONE)
    return Cell(text)


def instruments_section(snap: Mapping[str, Any], run: Any) -> Section:
    """Each test instrument's identity and calibration, and any calibration override, highlighted."""
    instruments = mapping_in(snap, "instruments")
    override = mapping_in(snap, "calibration_override")
    overridden = {str(i) for i in (override or {}).get("instruments") or []}
    blocks: list[Any] = []
    if override:
        names = ", ".join(sorted(overridden)) or "an instrument"
        blocks.append(Note(f"CALIBRATION OVERRIDE: {names} used past the calibration due date. Reason recorded: "
                           f"{override.get('reason') or 'none given'}", ALERT_TONE))
    run_day = (run.started_at or "")[:10]
    for role, inst in instruments.items():
        if not isinstance(inst, Mapping):
            continue
        dicom = mapping_in(inst, "dicom")
        if dicom:
            blocks.append(Fields((("DICOM role", Cell(plain(dicom.get("what")))),
                                  ("Reached", Cell(plain(dicom.get("where")))),
                                  ("Site ID / driver", Cell(f"{inst.get('id') or DASH} / {inst.get('driver') or DASH} "
                                                            f"at {inst.get('resource') or DASH}")),
                                  ("Calibration", Cell("none: a DICOM node, not a calibrated instrument")))
                                 + ((("Simulated", Cell("YES — a simulator stood in for it", ALERT_TONE)),)
                                    if inst.get("simulated") else ()), caption=f"{role}"))
            continue
        cal = mapping_in(inst, "calibration")
        rows = [("Instrument", Cell(f"{inst.get('make') or DASH} {inst.get('model') or ''}".strip())),
                ("Serial", Cell(plain(inst.get("serial")))),
                ("Reported by the meter", _identity_cell(inst)),
                ("Site ID / driver", Cell(f"{inst.get('id') or DASH} / {inst.get('driver') or DASH} "
                                          f"at {inst.get('resource') or DASH}")),
                ("Calibration certificate", Cell(plain(cal.get("certificate")))),
                ("Calibration laboratory", Cell(plain(cal.get("laboratory")))),
                ("Calibrated on", Cell(plain(cal.get("date")))),
                ("Calibration due", Cell(plain(cal.get("due")))),
                ("Calibration at the run", calibration_state(cal, run_day, str(inst.get("id")) in overridden))]
        rows += [(parameter_label(k), Cell(plain(v))) for k, v in cal.items()
                 if k not in ("certificate", "laboratory", "date", "due")]
        if inst.get("simulated"):
            rows.append(("Simulated", Cell("YES — a simulator stood in for this instrument", ALERT_TONE)))
        blocks.append(Fields(tuple(rows), caption=f"{role}"))
    if not instruments:
        blocks.append(Note("no instruments recorded for this run", ALERT_TONE))
    return Section("instruments", "Test instruments", tuple(blocks))


def procedure_section(run: Any, snap: Mapping[str, Any]) -> Section:
    """Procedure id, version, file and the sha256 of the file that ran."""
    proc = mapping_in(snap, "procedure")
    rows = [("Procedure", Cell(f"{run.procedure_title} ({run.procedure_id})")),
            ("Version", Cell(run.procedure_version or DASH)),
            ("File", Cell(plain(proc.get("file")))),
            ("File sha256", Cell(run.procedure_sha256 or plain(proc.get("sha256"))))]
    return Section("procedure", "Procedure", (Fields(tuple(rows)),))


def _ordered_keys(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    return sorted(keys, key=lambda k: (PARAMETER_ORDER.index(k) if k in PARAMETER_ORDER else len(PARAMETER_ORDER)))


def conditions_section(snap: Mapping[str, Any]) -> Section:
    """Technique factors and geometry: one row per station, with run-wide SID or filtration filled in; a
    second list (a background) numbered on from the first, as the run's readings are."""
    params = mapping_in(snap, "parameters")
    scalars = {k: v for k, v in params.items() if not isinstance(v, list)}
    blocks: list[Any] = [Fields(tuple((parameter_label(k), Cell(plain(v))) for k, v in scalars.items()))] \
        if scalars else []
    numbers = mapping_in(snap, "station_numbers")
    first = 1     # stations are numbered on across the lists, as the run numbers them (Procedure.stations)
    for name, rows in sorted(params.items(), key=lambda item: numbers.get(item[0], 0)):
        if not isinstance(rows, list):
            continue
        first = numbers.get(name, first)
        dict_rows = [dict(r) if isinstance(r, Mapping) else {"value": r} for r in rows]
        if name == "stations":
            for row in dict_rows:
                for key in STATION_WIDE:
                    if key not in row and key in scalars:
                        row[key] = scalars[key]
        keys = _ordered_keys(dict_rows)
        blocks.append(Table(("Station",) + tuple(parameter_label(k) for k in keys),
                            tuple((Cell(str(i)),) + tuple(Cell(plain(r.get(k))) for k in keys)
                                  for i, r in enumerate(dict_rows, start=first)),
                            caption="Stations" if name == "stations" else parameter_label(name)))
        first += len(dict_rows)
    if not blocks:
        blocks.append(Note("no conditions recorded", ALERT_TONE))
    return Section("conditions", "Conditions", tuple(blocks))
