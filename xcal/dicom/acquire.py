"""DICOM nodes as a procedure's instruments: a room's DR detector read through its images, and a node's
connectivity read as round-trip times.

A procedure role with a capability of nodes.DICOM_CAPABILITIES is not an instrument of the site file: its
"instrument" is made from the site's `dicom:` section when a run is planned (xcal.procedures.plan), and its
driver is one of the two classes below (`driver_class`), so a run records, judges and schedules them like any
meter.

- DetectorImage (`dicom-detector`): xcal's storage SCP listens (as the site's AE title) while the run goes; the
  room's modality sends each image by C-STORE. An exposure's reading is the image that arrived after the
  detector was armed; a reading without an exposure (`measure`, a dark image) is the next image to arrive. The
  first dark image's mean is the offset subtracted from the later flat fields (uniformity, SNR, defects); a
  resumed run, whose dark image is already in the record, takes it from there (`resume_from`). Each reading
  carries the image's identity (SOP Instance UID, sha256 of its pixel data, its EI tag), so the record says
  which images were judged.
- DicomConnection (`dicom-connection`, role `pacs` or `modality`): association, C-ECHO and, for the PACS, C-STORE
  of a QC test object and storage commitment (xcal.dicom.checks), each as a time in ms; a step that failed is
  given the timeout as its time (no answer came sooner) and counts in `failed_steps`, with its message and fix
  kept beside the reading.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InstrumentError, InstrumentTimeout
from .nodes import DicomNode, DicomSettings

DETECTOR_DRIVER = "dicom-detector"
CONNECTION_DRIVER = "dicom-connection"
RUN_LISTEN_HOST = "0.0.0.0"
"""Where the storage SCP of a run on a real modality listens: every interface, since the modality is on the
network (a simulated one is served on loopback)."""


def driver_class(name: str) -> type | None:
    """The driver class of a DICOM role's instrument, or None for any other driver name."""
    return {DETECTOR_DRIVER: DicomDetector, CONNECTION_DRIVER: DicomConnection}.get(name)


def _seconds(timeout: Any, default: float) -> float:
    if timeout is None:
        return default
    return float(timeout.to("s").magnitude) if hasattr(timeout, "to") else float(timeout)


def parse_resource(resource: str) -> tuple[str, str, int]:
    """`dicom://AE_TITLE@HOST:PORT` -> (AE title, host, port); ConfigError naming the resource otherwise."""
    text = resource.removeprefix("dicom://")
    title, at, where = text.rpartition("@")
    host, colon, port = where.rpartition(":")
    if not resource.startswith("dicom://") or not at or not colon or not title or not port.isdigit():
        raise ConfigError(f"'{resource}' is not a DICOM resource", fix="write it as dicom://AE_TITLE@HOST:PORT")
    return title, host, int(port)


def _identity(make: str, model: str, serial: str, firmware: str) -> Any:
    from ..drivers.capabilities import InstrumentIdentity

    return InstrumentIdentity(make, model, serial, firmware)


class DicomDetector:
    """The room's DR detector as an instrument: a storage SCP at `resource` (dicom://AE@HOST:PORT) that takes
    the images of the modality `modality_ae` (or of its station name or device serial) and reads each into the
    DetectorImage readings. Images from other senders are filed aside and not read."""

    capabilities = ("DetectorImage",)

    def __init__(self, resource: str, *, name: str = "detector", modality_ae: str = "", station_name: str = "",
                 expected_serial: str = "", timeout: Any = None, grid: int = 5, folder: str | None = None) -> None:
        from . import require
        from .receiver import StorageReceiver

        require()
        self.name, self.resource, self.grid = name, resource, grid
        self.timeout_s = _seconds(timeout, 60.0)
        ae_title, host, port = parse_resource(resource)
        node = DicomNode(name, modality_ae, "", None, "this room", station_name, expected_serial)
        self._own_folder = folder is None
        self.folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="xcal-images-"))
        self._images: list[Path] = []
        self._arrived = threading.Condition()
        self._armed = 0
        self._next = 0
        self.offset: float | None = None
        self.offset_from = "the first dark image of this session"
        self.reading_data: dict[str, dict[str, Any]] = {}
        self._receiver = StorageReceiver(DicomSettings(ae_title, port, None, {"this room": node}), self.folder,
                                         host=host, port=port, on_received=self._received)
        self._receiver.start()

    def _received(self, item: Any) -> None:
        if item.room is None:
            return
        with self._arrived:
            self._images.append(item.path)
            self._arrived.notify_all()

    def identify(self) -> Any:
        node = self._receiver.settings.modalities["this room"]
        return _identity("DR detector read through DICOM", node.ae_title, node.device_serial,
                         f"images received as {self._receiver.settings.ae_title} on port {self._receiver.port}")

    def arm(self) -> None:
        with self._arrived:
            self._armed = len(self._images)

    def resume_from(self, readings: list[Any]) -> None:
        """Take the offset from the first dark image a resumed run's record keeps (its `pixel_mean`: a dark
        image's reading is the one without an `offset` beside it), as that image is not taken again."""
        dark = [r for r in readings if r.quantity == "pixel_mean" and r.value is not None
                and "offset" not in (r.data or {})]
        if not dark:
            return
        first = min(dark, key=lambda r: r.exposure)
        self.offset = float(first.value)
        self.offset_from = (f"the dark image of exposure {first.exposure} (SOP Instance UID "
                            f"{(first.data or {}).get('sop_instance_uid', 'not recorded')}), read before the run "
                            "was resumed")

    def _wait(self, index: int, timeout_s: float, what: str) -> Path:
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while len(self._images) <= index:
                left = deadline - time.monotonic()
                if left <= 0:
                    node = self._receiver.settings.modalities["this room"]
                    raise InstrumentTimeout(
                        f"no image from {node.ae_title} arrived within {timeout_s:g} s for {what}",
                        instrument=self.name, resource=self.resource,
                        fix=f"send the image from the modality to {self._receiver.settings.ae_title} on port "
                            f"{self._receiver.port} (its DICOM destination), then continue the run")
                self._arrived.wait(left)
            return self._images[index]

    def wait_for_exposure(self, timeout: Any) -> None:
        self._wait(self._armed, _seconds(timeout, self.timeout_s), "the exposure")

    def read_exposure(self) -> dict[str, Any]:
        """The readings of the flat-field image of the last exposure."""
        path = self._wait(self._armed, self.timeout_s, "the exposure")
        self._next = self._armed + 1
        return self._read(path, flat=True)

    def read_now(self) -> dict[str, Any]:
        """The readings of the next image without an exposure (a dark image): pixel_mean and pixel_sd."""
        path = self._wait(self._next, self.timeout_s, "a dark image")
        self._next += 1
        return self._read(path, flat=False)

    def _read(self, path: Path, *, flat: bool) -> dict[str, Any]:
        import numpy as np
        import pydicom

        from ..analysis import detector as metrics
        from ..units import Q_
        from .objects import read_image

        ds = pydicom.dcmread(str(path))
        image = read_image(ds)
        if not image.for_processing:
            raise InstrumentError(f"image {ds.SOPInstanceUID} from {self.name} is For Presentation: its pixel values "
                                  "are processed, so detector response, noise and uniformity cannot be judged on it",
                                  instrument=self.name, resource=self.resource,
                                  fix="set the modality to send DX For Processing images (the unprocessed ones) to "
                                      "xcal, then continue the run")
        identity = {"sop_instance_uid": str(ds.SOPInstanceUID), "sop_class_uid": str(ds.SOPClassUID),
                    "pixel_sha256": hashlib.sha256(ds.PixelData).hexdigest(),
                    "exposure_index": image.exposure_index, "station_name": image.station_name,
                    "device_serial": image.device_serial, "image_comments": str(ds.get("ImageComments", ""))}
        pixels = image.pixels
        r, c = pixels.shape
        centre = (slice(r // 4, r - r // 4), slice(c // 4, c - c // 4))
        if not flat:
            values = {"pixel_mean": Q_(float(pixels[centre].mean()), ""),
                      "pixel_sd": Q_(float(pixels[centre].std(ddof=1)), "")}
            if self.offset is None:
                self.offset = float(pixels[centre].mean())
            self.reading_data = {k: identity for k in values}
            return values
        offset = self.offset or 0.0
        identity["offset_from"] = (self.offset_from if self.offset is not None else
                                   "none: no dark image read before this image, so 0")
        try:
            grid = metrics.roi_grid(pixels, self.grid, self.grid, offset=offset)
            found = metrics.defects(pixels, offset=offset)
            live = np.ones(pixels.shape, dtype=bool)
            for row, column in found.pixels:
                live[row, column] = False
            kept = pixels[centre][live[centre]]          # the central ROI without its defective pixels
            values = {"pixel_mean": Q_(float(kept.mean()), ""), "pixel_sd": Q_(float(kept.std(ddof=1)), ""),
                      "snr": Q_((float(kept.mean()) - offset) / float(kept.std(ddof=1)), "")}
        except (ValueError, ZeroDivisionError) as exc:
            raise InstrumentError(f"image {identity['sop_instance_uid']} from {self.name} cannot be analysed: {exc}",
                                  instrument=self.name, resource=self.resource,
                                  fix="send a flat-field image of at least 10 × 10 pixels") from None
        values["global_nonuniformity"] = Q_(metrics.global_nonuniformity(grid), "")
        values["local_nonuniformity"] = Q_(metrics.local_nonuniformity(grid), "")
        values["defective_pixels"] = Q_(found.count, "")
        values["defective_lines"] = Q_(len(found.rows) + len(found.columns), "")
        if image.exposure_index is not None:
            values["exposure_index"] = Q_(image.exposure_index, "")
        identity["offset"] = offset
        self.reading_data = {k: identity for k in values}
        in_lines = set(found.rows), set(found.columns)
        lone = [list(p) for p in found.pixels if p[0] not in in_lines[0] and p[1] not in in_lines[1]]
        self.reading_data["defective_pixels"] = {**identity, "pixels": lone[:100], "pixels_listed": min(len(lone), 100),
                                                 "pixels_outside_lines": len(lone)}
        self.reading_data["defective_lines"] = {**identity, "rows": list(found.rows), "columns": list(found.columns)}
        return values

    def close(self) -> None:
        self._receiver.stop()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


class DicomConnection:
    """A DICOM node's connectivity as readings: association_ms, echo_ms, store_ms, commit_ms, failed_steps."""

    capabilities = ("DicomConnection",)

    def __init__(self, resource: str, *, name: str = "node", calling_ae: str = "XCAL", store: bool = False,
                 commit: bool = False, timeout: Any = None) -> None:
        from . import require

        require()
        self.name, self.resource = name, resource
        self.calling_ae, self.store, self.commit = calling_ae, store, commit
        self.timeout_s = _seconds(timeout, 5.0)
        title, host, port = parse_resource(resource)
        self.node = DicomNode(name, title, host, port)
        self.reading_data: dict[str, dict[str, Any]] = {}

    def identify(self) -> Any:
        return _identity("DICOM node", self.node.ae_title, "", f"{self.node.host}:{self.node.port}")

    def arm(self) -> None:
        """Nothing to prepare: a connectivity check makes no exposure."""

    def wait_for_exposure(self, timeout: Any) -> None:
        """Nothing to wait for."""

    def read_exposure(self) -> dict[str, Any]:
        return self.read_now()

    def read_now(self) -> dict[str, Any]:
        """Run the check once (xcal.dicom.checks.check_node) and give each step's time; see the module docstring."""
        from ..units import Q_
        from .checks import check_node
        from .objects import qc_test_object

        results = check_node(self.node, self.calling_ae, timeout_s=self.timeout_s,
                             store=qc_test_object(self.calling_ae) if self.store else None, commit=self.commit)
        steps = {"associate": "association_ms", "echo": "echo_ms", "store": "store_ms", "commit": "commit_ms"}
        wanted = ["associate", "echo"] + (["store"] + (["commit"] if self.commit else []) if self.store else [])
        by_step = {r.step: r for r in results}
        values: dict[str, Any] = {}
        failed = 0
        self.reading_data = {}
        for step in wanted:
            result = by_step.get(step) or next((r for r in results if not r.ok), None)
            ok = result is not None and result.step == step and result.ok
            failed += 0 if ok else 1
            ms = result.ms if ok and result is not None and result.ms is not None else self.timeout_s * 1e3
            values[steps[step]] = Q_(ms, "ms")
            self.reading_data[steps[step]] = {"ok": ok, "node": self.node.where(),
                                             "message": result.message if result is not None else "not reached",
                                             "fix": result.fix if result is not None else ""}
        if not self.commit:
            values.setdefault("commit_ms", Q_(0.0, "ms"))
            self.reading_data["commit_ms"] = {"ok": True, "message": "storage commitment not asked of this node"}
        if not self.store:
            values.setdefault("store_ms", Q_(0.0, "ms"))
            self.reading_data["store_ms"] = {"ok": True, "message": "no C-STORE to this node"}
        values["failed_steps"] = Q_(failed, "")
        self.reading_data["failed_steps"] = {"steps": [r.__dict__ for r in results]}
        return values

    def close(self) -> None:
        """Nothing held open between checks."""
