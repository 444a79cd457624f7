"""The instrument a DICOM role of a procedure stands for: a room's DR detector read through its images, or a
DICOM node (the PACS, the room's modality), made from the site's `dicom:` section.

Neither is a calibrated instrument, so a run records it as what it is (`dicom` in the instrument's snapshot:
what, with the site's detector model and serial, and where it is reached) and no calibration; the console,
reports and exports show that in place of a calibration line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..site import Calibration, Instrument

NOT_CALIBRATED = Calibration("none: a DICOM node, not a calibrated instrument", dt.date(1970, 1, 1), dt.date.max)
"""What a DICOM role's instrument carries for the calibration an Instrument has: never expires, never recorded."""


@dataclass(frozen=True)
class DicomInstrument(Instrument):
    """An Instrument whose snapshot says what the DICOM role is instead of a calibration."""

    what: str = ""
    """In words, with the site's detector make, model and serial: `DR detector Example X-Ray Co. FD-43 serial
    FD43-1180 of modality RF10_RF700 (station RF10)`, `PACS DEMO_PACS`."""
    where: str = ""
    """Where it is reached (`10.0.3.20:104`), or where the detector's images are received; may change on a resume."""
    ae_title: str = ""

    def snapshot(self) -> dict[str, Any]:
        snap = super().snapshot()
        del snap["calibration"]
        snap["dicom"] = {"what": self.what, "where": self.where, "ae_title": self.ae_title}
        return snap


def detector_model(equipment: dict[str, Any], serial: str) -> str:
    """The make and model the room's equipment gives for the detector of `serial` (an `image_receptor` or
    `detector` entry of that serial), or words saying the site file gives none."""
    for part in equipment.values():
        if isinstance(part, dict) and serial and str(part.get("serial", "")) == serial:
            return " ".join(str(part[k]) for k in ("make", "model") if part.get(k))
    return "(model not in the site file's equipment)"


def detector_words(room: Any, node: Any, receiver_ae: str, port: int) -> tuple[str, str]:
    """(what, where) of a room's DR detector read through the images its modality `node` sends to xcal."""
    serial = node.device_serial or "not given"
    station = f" (station {node.station_name})" if node.station_name else ""
    what = (f"DR detector {detector_model(room.equipment, node.device_serial)} serial {serial} of modality "
            f"{node.ae_title}{station}")
    source = "the simulated modality (SIMULATED)" if node.simulated else f"{node.ae_title}"
    return what, f"images from {source} received by {receiver_ae} on port {port}"


def node_words(room: Any, role: str, node: Any) -> tuple[str, str]:
    """(what, where) of a DICOM node checked for connectivity: the PACS or the room's modality."""
    what = f"PACS {node.ae_title}" if role == "pacs" else f"modality {node.ae_title} of {room.label()}"
    if role == "pacs" and node.storage_commitment:
        what += ", storage commitment asked"
    where = "xcal's simulated SCP on loopback (SIMULATED)" if node.simulated else f"at {node.host}:{node.port}"
    return what, where
