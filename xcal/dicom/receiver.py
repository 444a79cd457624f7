"""xcal's storage SCP: receives images and files them by room.

The room is found from the sender's calling AE title, then the object's Station Name (0008,1010), then its
Device Serial Number (0018,1000), against the site's `dicom: modalities`; what matches no room is filed
under `unmatched/` rather than refused, so nothing sent is lost. Files are named by SOP Instance UID.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from ..errors import ConfigError
from .nodes import DicomSettings, ScpLifetime

UNMATCHED = "unmatched"


@dataclass(frozen=True)
class Received:
    """One object filed: where, for which room (None when unmatched), from which AE, and how it matched."""

    path: Path
    room: str | None
    calling_ae: str
    sop_class: str
    matched_on: str


def _safe(uid: str) -> str:
    """A UID as a file name: digits and dots only (anything else replaced), so no path can be injected."""
    return re.sub(r"[^0-9.]", "_", uid) or "unnamed"


class StorageReceiver(ScpLifetime):
    """A storage SCP on host:port (loopback by default) with the site's AE title; files into `folder`.

    `on_received` is called (in the SCP's thread) for each object filed.
    """

    def __init__(self, settings: DicomSettings, folder: str | Path, *, host: str = "127.0.0.1",
                 port: int | None = None, on_received: Callable[[Received], None] | None = None) -> None:
        self.settings, self.folder = settings, Path(folder)
        self.host, self.port = host, settings.port if port is None else port
        self.on_received = on_received
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: Any = None

    def start(self) -> Self:
        """Bind and serve in a background thread; ConfigError naming the port when it cannot be bound."""
        from pynetdicom import AE, AllStoragePresentationContexts, evt

        from . import require
        from .checks import VERIFICATION

        require()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the receive folder {self.folder}: {exc.strerror}",
                              fix="give a folder you may write to with --folder") from None
        ae = AE(ae_title=self.settings.ae_title)
        ae.require_called_aet = True
        ae.supported_contexts = AllStoragePresentationContexts
        ae.add_supported_context(VERIFICATION)
        try:
            self._server = ae.start_server((self.host, self.port), block=False,
                                           evt_handlers=[(evt.EVT_C_STORE, self._on_store)])
        except OSError as exc:
            raise ConfigError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}",
                              fix="choose another port with --port (or `dicom: port:` in the site file), or stop "
                                  "the program that holds this one; ports below 1024 need root") from None
        self.port = self._server.server_address[1]
        return self

    def file(self, ds: Any, calling_ae: str) -> Received:
        """File one dataset (with its file meta) under its room's folder and return where it went."""
        calling = calling_ae.strip()
        station, serial = str(ds.get("StationName", "")), str(ds.get("DeviceSerialNumber", ""))
        room, how = None, "nothing"
        for key, label in (({"calling_ae": calling}, f"calling AE title {calling}"),
                           ({"station_name": station}, f"station name {station}"),
                           ({"device_serial": serial}, f"device serial {serial}")):
            room = self.settings.room_for(**key)
            if room is not None:
                how = label
                break
        sub = self.folder / (f"room-{_safe(room)}" if room is not None else UNMATCHED)
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"{_safe(str(ds.get('SOPInstanceUID', '')))}.dcm"
        ds.save_as(path, enforce_file_format=True)
        item = Received(path, room, calling, str(ds.get("SOPClassUID", "")), how)
        with self._lock:
            self.received.append(item)
        if self.on_received is not None:
            self.on_received(item)
        return item

    def _on_store(self, event: Any) -> int:
        ds = event.dataset
        ds.file_meta = event.file_meta
        try:
            self.file(ds, event.assoc.requestor.ae_title)
        except OSError:
            return 0xA700          # out of resources: the disk refused the file
        return 0x0000


def serve_until(settings: DicomSettings | None, site_path: str, folder: str | Path, *, host: str = "127.0.0.1",
                port: int | None = None, count: int | None = None,
                on_received: Callable[[Received], None] | None = None,
                on_listening: Callable[[StorageReceiver], None] | None = None) -> int:
    """Run a StorageReceiver until SIGINT/SIGTERM or `count` objects; returns how many were filed."""
    import signal

    if settings is None:
        raise ConfigError(f"{site_path} has no `dicom:` section, so xcal has no AE title to receive as",
                          fix="add `dicom: {ae_title: XCAL_QC, port: 11112}` to the site file")
    done = threading.Event()

    def stop(signum: int, frame: object) -> None:
        done.set()

    def received(item: Received) -> None:
        if on_received is not None:
            on_received(item)
        if count is not None and len(receiver.received) >= count:
            done.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    receiver = StorageReceiver(settings, folder, host=host, port=port, on_received=received)
    try:
        with receiver:
            if on_listening is not None:
                on_listening(receiver)
            while not done.wait(0.2):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return len(receiver.received)
