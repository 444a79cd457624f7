"""The DICOM nodes of a site: xcal's own AE, the PACS, and each room's modality.

Plain data and the DICOM PS3.5 rules for an AE title; no pydicom here, so the site file loads without the
`dicom` extra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

SIMULATED = "simulated"
DETECTOR_FAULTS = ("dead-pixels", "dead-line", "gain-drift", "ei-25", "lag")
"""Faults a simulated modality's DR detector can carry (`detector: {faults: [...]}` in the site file)."""
DICOM_CAPABILITIES = ("DetectorImage", "DicomConnection")
"""Capabilities a procedure's role gets from the site's `dicom:` section rather than from an instrument: the room's
DR detector read through its images (DetectorImage) and a DICOM node's connectivity (DicomConnection, the role
`pacs` or `modality`); see xcal.dicom.acquire."""
AE_TITLE_MAX = 16
"""PS3.5 Table 6.2-1, value representation AE: at most 16 characters."""


def ae_title_problem(text: str) -> str | None:
    """Why `text` is not a valid AE title (PS3.5 VR AE: 1-16 characters of the default repertoire, no
    backslash or control characters, not all spaces), or None when it is."""
    if len(text) > AE_TITLE_MAX:
        return f"it has {len(text)} characters, more than the {AE_TITLE_MAX} DICOM allows"
    if not text.strip():
        return "it is empty or only spaces"
    bad = [c for c in text if c == "\\" or ord(c) < 32 or ord(c) > 126]
    if bad:
        return f"it holds {bad[0]!r}, which an AE title may not (only printable ASCII, no backslash)"
    return None


@dataclass(frozen=True)
class DicomNode:
    """A remote application entity: what xcal calls (its AE title) and where (host, port).

    host `simulated` means xcal's own simulated SCP stands in for it on loopback (port chosen when started).
    """

    name: str
    ae_title: str
    host: str
    port: int | None = None
    room: str | None = None
    station_name: str = ""
    device_serial: str = ""
    storage_commitment: bool = False
    """Ask this node for storage commitment of the QC test object (the PACS only)."""
    detector_faults: tuple[str, ...] = ()
    """A simulated modality's DR detector faults (DETECTOR_FAULTS)."""

    @property
    def simulated(self) -> bool:
        return self.host == SIMULATED

    def where(self) -> str:
        return f"{self.name} {self.ae_title}@{self.host}:{self.port}"


@dataclass(frozen=True)
class DicomSettings:
    """The site's `dicom:` section: xcal's AE title and listening port, the PACS, the modalities by room."""

    ae_title: str = "XCAL"
    port: int = 11112
    pacs: DicomNode | None = None
    modalities: dict[str, DicomNode] = field(default_factory=dict)

    def room_for(self, *, calling_ae: str = "", station_name: str = "", device_serial: str = "") -> str | None:
        """The room whose modality sent an object: matched on calling AE title, then station name, then
        device serial number; None when nothing matches."""
        for key, attribute in ((calling_ae.strip(), "ae_title"), (station_name.strip(), "station_name"),
                               (device_serial.strip(), "device_serial")):
            if not key:
                continue
            for room, node in self.modalities.items():
                if getattr(node, attribute) == key:
                    return room
        return None


class ScpLifetime:
    """The start/stop of a pynetdicom server object in `_server`: a `with` block runs it, `stop` ends it once."""

    _server: Any = None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
