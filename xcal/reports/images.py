"""The report's images: which DICOM images a run judged, by SOP Instance UID and sha256 of their pixel data.

A detector read through DICOM (xcal.dicom.acquire) keeps each image's identity beside its readings; this
section lists them, one row per image, so the record says which images the verdicts were made on.
"""

from __future__ import annotations

from typing import Any

from .model import Cell, Section, Table
from .text import DASH


def images_section(run: Any) -> Section | None:
    """One row per image judged (exposure, station, SOP Instance UID, pixel sha256, EI tag, the image's own
    comment, which says SIMULATED for a simulated detector); None when the run judged no image."""
    seen: dict[str, Any] = {}
    found: dict[str, list[str]] = {}
    for r in run.readings:
        data = r.data if isinstance(r.data, dict) else {}
        uid = data.get("sop_instance_uid")
        if uid and uid not in seen:
            seen[uid] = (r, data)
        if uid:
            found.setdefault(uid, []).extend(_defects(data))
    if not seen:
        return None
    rows = tuple((Cell(str(r.exposure)), Cell(str(r.station)), Cell(uid), Cell(str(data.get("pixel_sha256", DASH))),
                  Cell(DASH if data.get("exposure_index") is None else f"{float(data['exposure_index']):g}"),
                  Cell("; ".join(found.get(uid, [])) or DASH), Cell(str(data.get("image_comments") or DASH)))
                 for uid, (r, data) in seen.items())
    return Section("images", "Images judged", (
        Table(("Exposure", "Station", "SOP Instance UID", "Pixel data sha256", "EI", "Defects found", "Image comment"),
              rows, caption="DICOM images received from the room's modality and read for this run",
              weights=(0.7, 0.7, 2.4, 2.4, 0.7, 1.6, 1.6)),))


def _defects(data: dict[str, Any]) -> list[str]:
    """The defective lines and pixels a reading's data lists, as `column 64` and `pixel (10, 12)`."""
    out = [f"row {r}" for r in data.get("rows", [])] + [f"column {c}" for c in data.get("columns", [])]
    pixels = data.get("pixels", [])
    out += [f"pixel ({p[0]}, {p[1]})" for p in pixels]
    if data.get("pixels_outside_lines", 0) > len(pixels):
        out.append(f"and {data['pixels_outside_lines'] - len(pixels)} more pixels")
    return out
