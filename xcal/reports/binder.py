"""The inspection binder of a room and year: one zip file with the annual report (PDF and HTML), each run's report,
the audit-chain proof (a verify result and a signed anchor with the site's public key), the instrument
calibration list, the open actions, and a manifest giving each file's sha256.

The anchor is made when the binder is written (it is also an entry of the chain, as `xcal anchor` makes), so the
inspector can later check the store against it with `xcal verify --anchor anchor.json --public-key
site-public-key.pem`. Badge doses and the names of incident people stay out unless `personal` is asked for.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from .. import __version__

MANIFEST = "manifest.json"


def binder_files(store: Any, site: Any, *, room: str, year: int, personal: bool = False,
                 key: str | os.PathLike[str] | None = None) -> dict[str, bytes]:
    """The binder's files by name (the manifest last), each as the bytes to store."""
    from ..program.actions import load_actions, report_rows
    from ..records.anchor import anchor_store, site_key
    from . import html_document, render_html
    from .annual import annual_data, build_annual_report, instrument_rows, write_annual_pdf

    data = annual_data(store, site, room, year, personal)
    report = build_annual_report(data)
    files: dict[str, bytes] = {"annual-report.html": html_document(report).encode("utf-8")}
    with tempfile.TemporaryDirectory(prefix="xcal-binder-") as folder:
        files["annual-report.pdf"] = write_annual_pdf(report, Path(folder) / "annual.pdf").read_bytes()
    for run in data.runs:
        full = store.get_run(run.run_id)
        full.corrective_actions = report_rows(store, run.run_id)
        files[f"runs/{run.run_id}.html"] = render_html(full, store.signatures(run.run_id)).encode("utf-8")
    signer = site_key(key)
    anchor = anchor_store(store, signer)
    verified = store.verify(public=signer.public, anchor=anchor)
    files["audit/verify.json"] = _json({"ok": verified.ok, "entries": verified.entries,
                                        "first_broken": verified.first_broken, "reason": verified.reason,
                                        "head": verified.head, "store": str(store.path)})
    files["audit/anchor.json"] = anchor.to_json().encode("utf-8")
    files["audit/site-public-key.pem"] = signer.public_pem().encode("utf-8")
    files["instruments.csv"] = _csv(instrument_rows(data.runs), ("id", "make", "model", "serial", "certificate",
                                                                  "calibrated", "due", "runs", "first", "last",
                                                                  "simulated"))
    open_actions = [a.to_dict() for a in load_actions(store) if a.room == data.room.id and a.status != "verified"]
    files["open-actions.json"] = _json({"room": data.room.id, "as_of": dt.date.today().isoformat(),
                                        "actions": open_actions})
    files[MANIFEST] = _json(manifest(files, room=data.room.id, year=year, personal=personal,
                                     simulated=report.simulated, verified=verified.ok))
    return files


def manifest(files: dict[str, bytes], **about: Any) -> dict[str, Any]:
    """Each file's name, size and sha256, with what the binder is about."""
    return {"format": "xcal-binder", "format_version": 1, "generator": f"xcal {__version__}",
            "made_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **about,
            "files": [{"name": name, "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
                      for name, raw in files.items() if name != MANIFEST]}


def write_binder(store: Any, site: Any, output: str | os.PathLike[str], *, room: str, year: int,
                 personal: bool = False, key: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Write the binder to `output` (a zip, moved into place when complete) and return its manifest."""
    from ..errors import RecordError

    files = binder_files(store, site, room=room, year=year, personal=personal, key=key)
    target = Path(output)
    part = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, raw in files.items():
                zf.writestr(name, raw)
        os.replace(part, target)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise RecordError(f"cannot write the binder {target}: {exc.strerror or exc}",
                          fix="give -o a path in a folder that exists and that you may write to") from None
    result: dict[str, Any] = json.loads(files[MANIFEST])
    return result


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
