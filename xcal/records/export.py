"""Export runs for an inspector or a spreadsheet: CSV (a runs file and a readings file) or one JSON document.

Runs come oldest first. Every row says whether it is SIMULATED, every value carries its unit, and each run
lists the tolerances it used with their sources, its check outcomes, corrections and signatures (each with the
signer's printed name and, when signed with an account, its username). Numbers are
written with Python's exact float repr; files are UTF-8 (the ± in tolerances needs it).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RecordError
from .chain import canonical
from .models import StoredRun, now_utc

if TYPE_CHECKING:
    from .store import Store

RUN_COLUMNS = ("run_id", "simulated", "site", "room_id", "room_name", "procedure_id", "procedure_version",
               "procedure_title", "procedure_sha256", "operator", "started_at", "finished_at", "status",
               "status_note", "verdict", "software_version", "instruments", "limits", "checks", "signatures")
READING_COLUMNS = ("run_id", "simulated", "room_id", "procedure_id", "reading_id", "exposure", "station", "repeat",
                   "role", "instrument_id", "instrument_serial", "quantity", "value", "unit", "taken_at",
                   "corrected_value", "corrected_unit", "correction_reason", "corrected_by", "corrected_at", "data")
FORMATS = ("csv", "json")


def export_runs(store: Store, out_path: str | Path, fmt: str = "csv", room: str | None = None, *,
                force: bool = False) -> list[Path]:
    """Write the store's runs (of `room`, or all) and return the files written.

    CSV writes `<stem>-runs.csv` and `<stem>-readings.csv` next to `out_path`; JSON writes `out_path` itself.
    The files must be ones outputs.check_outputs allows (folder there, never the store, another's file only
    with `force`); a ConfigError before anything is written otherwise.
    """
    from .outputs import check_outputs

    if fmt not in FORMATS:
        raise RecordError(f"cannot export as '{fmt}'", fix=f"choose one of: {', '.join(FORMATS)}")
    out = Path(out_path)
    check_outputs([out] if fmt == "json" else _csv_paths(out), store.path, force=force)
    runs = [store.get_run(r.run_id) for r in reversed(store.list_runs(room=room))]
    signed = {run.run_id: store.signatures(run.run_id) for run in runs}
    try:
        if fmt == "json":
            return [_write_json(out, store, room, runs, signed)]
        return _write_csv(out, runs, signed)
    except OSError as exc:
        raise RecordError(f"cannot write the export {out}: {exc}",
                          fix="choose a folder that exists and is writable") from None


def _write_json(out: Path, store: Store, room: str | None, runs: list[StoredRun],
                signed: dict[str, list[Any]]) -> Path:
    document = {"format": "xcal-records", "format_version": 1, "exported_at": now_utc(), "store": str(store.path),
                "room": room,
                "runs": [{**run.to_dict(), "signatures": [asdict(s) for s in signed[run.run_id]]} for run in runs]}
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def _csv_paths(out: Path) -> list[Path]:
    return [out.with_name(f"{out.stem}-runs.csv"), out.with_name(f"{out.stem}-readings.csv")]


def _write_csv(out: Path, runs: list[StoredRun], signed: dict[str, list[Any]]) -> list[Path]:
    runs_path, readings_path = _csv_paths(out)
    with runs_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(RUN_COLUMNS)
        for run in runs:
            writer.writerow(_run_row(run, signed[run.run_id]))
    with readings_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(READING_COLUMNS)
        for run in runs:
            for reading in run.readings:
                serial = run.snapshot.get("instruments", {}).get(reading.role, {}).get("serial", "")
                fix = reading.corrected
                writer.writerow([run.run_id, _simulated(run), run.room_id, run.procedure_id, reading.reading_id,
                                 reading.exposure, reading.station, reading.repeat, reading.role,
                                 reading.instrument_id, serial, reading.quantity, _cell(reading.value), reading.unit,
                                 reading.taken_at, _cell(fix.new_value if fix else None), fix.unit if fix else "",
                                 fix.reason if fix else "", fix.person if fix else "", fix.at if fix else "",
                                 canonical(reading.data) if reading.data is not None else ""])
    return [runs_path, readings_path]


def _run_row(run: StoredRun, signatures: list[Any]) -> list[Any]:
    snap = run.snapshot
    instruments = "; ".join(
        f"{role}: {i['dicom'].get('what')}, {i['dicom'].get('where')} (not a calibrated instrument)" if i.get("dicom")
        else f"{role}: {i.get('make')} {i.get('model')} serial {i.get('serial')}, calibration "
        f"{i.get('calibration', {}).get('certificate')} {i.get('calibration', {}).get('date')} "
        f"due {i.get('calibration', {}).get('due')}"
        for role, i in sorted(snap.get("instruments", {}).items()))
    limits = "; ".join(f"{name}: {lim.get('tolerance')} ({lim.get('source')}) [{lim.get('limit_set')}]"
                       for name, lim in sorted(snap.get("limits", {}).items()))
    checks = "; ".join(f"{c.check_id} {c.setting}: {_cell(c.value)} {c.unit}, limit {c.limit_text} ({c.source}) "
                       f"{c.verdict}" for c in run.checks)
    signs = "; ".join(f"{s.meaning} by {s.name}{f' (account {s.account})' if s.account else ''} at {s.at} "
                      f"({'valid' if s.valid else 'NOT VALID'})" for s in signatures)
    return [run.run_id, _simulated(run), run.site, run.room_id, run.room_name, run.procedure_id,
            run.procedure_version, run.procedure_title, run.procedure_sha256, run.operator, run.started_at,
            run.finished_at or "", run.status, run.status_note or "", run.verdict or "", run.software_version,
            instruments, limits, checks, signs]


def _simulated(run: StoredRun) -> str:
    return "SIMULATED" if run.simulated else "measured"


def _cell(value: float | None) -> str:
    return "" if value is None else repr(value)
