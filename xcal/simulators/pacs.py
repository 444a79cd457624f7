"""A simulated PACS (and simulated modalities) for the demo site and the tests: a pynetdicom SCP on loopback.

It answers C-ECHO and stores what it is sent in memory; faults on demand stand for the failures a real
PACS shows: an AE title it does not know calling, SOP classes it will not store, a failure status, a slow
answer. SIMULATED: nothing it holds is a real image.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any, Self

from xcal.dicom.checks import (
    STORAGE_COMMITMENT,
    STORAGE_COMMITMENT_INSTANCE,
    VERIFICATION,
)
from xcal.dicom.nodes import DicomNode, DicomSettings, ScpLifetime
from xcal.dicom.objects import DX_FOR_PRESENTATION, DX_FOR_PROCESSING, SECONDARY_CAPTURE
from xcal.dicom.rdsr import XRAY_DOSE_SR
from xcal.dicom.worklist import WORKLIST_FIND, matches, response

STORABLE = (SECONDARY_CAPTURE, DX_FOR_PRESENTATION, DX_FOR_PROCESSING, XRAY_DOSE_SR)


class SimulatedScp(ScpLifetime):
    """An SCP with AE title `ae_title` on 127.0.0.1 (port 0 = any free port).

    known_callers: when given, a calling AE title not in it is rejected (reason 3); the called AE title must
    always be `ae_title` (reason 7). storage=False makes a Verification-only node (a modality);
    refuse_sop_classes are not accepted; store_status is the C-STORE answer; delay_s holds every answer.
    A storing node also offers Storage Commitment, reporting on the same association; commitment is
    "report" (commit what it holds, fail the rest with reason 0x0112, no such object instance), "silent"
    (never reports) or "fail" (fails every instance with 0x0110, processing failure). A storing node given a
    `worklist` (scheduled procedure step items, xcal.dicom.worklist) also answers Modality Worklist C-FIND.
    """

    def __init__(self, ae_title: str, *, port: int = 0, storage: bool = True, known_callers: list[str] | None = None,
                 refuse_sop_classes: tuple[str, ...] = (), store_status: int = 0x0000, delay_s: float = 0.0,
                 commitment: str = "report", worklist: list[Any] | None = None) -> None:
        if commitment not in ("report", "silent", "fail"):
            raise ValueError(f"commitment must be report, silent or fail, got {commitment!r}")
        self.commitment = commitment
        self.ae_title, self.port = ae_title, port
        self.storage, self.known_callers = storage, known_callers
        self.refuse_sop_classes, self.store_status, self.delay_s = refuse_sop_classes, store_status, delay_s
        self.received: list[Any] = []
        self.worklist = worklist
        self._lock = threading.Lock()
        self._server: Any = None

    def start(self) -> Self:
        """Start serving in a background thread; `port` then holds the port bound."""
        from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
        from pynetdicom import AE, evt

        ae = AE(ae_title=self.ae_title)
        ae.require_called_aet = True
        if self.known_callers is not None:
            ae.require_calling_aet = list(self.known_callers)
        syntaxes = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
        ae.add_supported_context(VERIFICATION, syntaxes)
        if self.storage:
            for uid in STORABLE:
                if uid not in self.refuse_sop_classes:
                    ae.add_supported_context(uid, syntaxes)
            if STORAGE_COMMITMENT not in self.refuse_sop_classes:
                ae.add_supported_context(STORAGE_COMMITMENT, syntaxes)
            if self.worklist is not None:
                ae.add_supported_context(WORKLIST_FIND, syntaxes)
        handlers: list[Any] = [(evt.EVT_C_ECHO, self._on_echo), (evt.EVT_C_STORE, self._on_store),
                               (evt.EVT_N_ACTION, self._on_commit), (evt.EVT_C_FIND, self._on_find)]
        self._server = ae.start_server(("127.0.0.1", self.port), block=False, evt_handlers=handlers)
        self.port = self._server.server_address[1]
        return self

    def node(self, name: str = "the simulated PACS") -> DicomNode:
        return DicomNode(name, self.ae_title, "127.0.0.1", self.port)

    def _on_echo(self, event: Any) -> int:
        time.sleep(self.delay_s)
        return 0x0000

    def _on_store(self, event: Any) -> int:
        time.sleep(self.delay_s)
        if self.store_status == 0x0000:
            ds = event.dataset
            ds.file_meta = event.file_meta
            with self._lock:
                self.received.append(ds)
        return self.store_status

    def _on_find(self, event: Any) -> Iterator[tuple[int, Any]]:
        """Modality Worklist C-FIND: a pending response (0xFF00) per matching item, then success."""
        time.sleep(self.delay_s)
        query = event.identifier
        for item in self.worklist or []:
            if event.is_cancelled:
                yield 0xFE00, None
                return
            if matches(item, query):
                yield 0xFF00, response(item, query)
        yield 0x0000, None

    def _on_commit(self, event: Any) -> tuple[int, None]:
        """Accept the request, then report from another thread once the N-ACTION response is out."""
        from pydicom.dataset import Dataset

        request, assoc = event.action_information, event.assoc
        with self._lock:
            held = {str(ds.SOPInstanceUID) for ds in self.received}
        report = Dataset()
        report.TransactionUID = request.TransactionUID
        done: list[Any] = []
        failed: list[Any] = []
        for item in request.get("ReferencedSOPSequence", []):
            ok = self.commitment == "report" and str(item.ReferencedSOPInstanceUID) in held
            entry = Dataset()
            entry.ReferencedSOPClassUID = item.ReferencedSOPClassUID
            entry.ReferencedSOPInstanceUID = item.ReferencedSOPInstanceUID
            if not ok:
                entry.FailureReason = 0x0112 if self.commitment == "report" else 0x0110
            (done if ok else failed).append(entry)
        if done:
            report.ReferencedSOPSequence = done
        if failed:
            report.FailedSOPSequence = failed

        def send() -> None:
            time.sleep(0.05 + self.delay_s)
            if assoc.is_established:
                assoc.send_n_event_report(report, 2 if failed else 1, STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE)

        if self.commitment != "silent":
            threading.Thread(target=send, name="simulated-commitment-report", daemon=True).start()
        return 0x0000, None


@contextlib.contextmanager
def serve_simulated_nodes(settings: DicomSettings, calling_ae: str) -> Iterator[DicomSettings]:
    """Start a simulated SCP for each `host: simulated` node of `settings` (the PACS stores, modalities
    answer C-ECHO only, both know only `calling_ae`) and yield the settings with their loopback ports."""
    with contextlib.ExitStack() as stack:
        def serve(node: DicomNode, storage: bool) -> DicomNode:
            if not node.simulated:
                return node
            scp = stack.enter_context(SimulatedScp(node.ae_title, storage=storage, known_callers=[calling_ae]))
            return dataclasses.replace(node, host="127.0.0.1", port=scp.port)

        def serve_pacs(node: DicomNode) -> DicomNode:
            if not node.simulated:
                return node
            scp = stack.enter_context(SimulatedScp(node.ae_title, known_callers=[calling_ae],
                                                   worklist=demo_worklist(settings)))
            return dataclasses.replace(node, host="127.0.0.1", port=scp.port)

        pacs = serve_pacs(settings.pacs) if settings.pacs is not None else None
        modalities = {room: serve(node, False) for room, node in settings.modalities.items()}
        yield dataclasses.replace(settings, pacs=pacs, modalities=modalities)


def demo_worklist(settings: DicomSettings, today: dt.date | None = None) -> list[Any]:
    """The simulated worklist: for each room's modality, two QC steps scheduled today (a detector QC at 08:00 and
    a connectivity check at 08:30) for xcal's QC patient ID. SIMULATED: no real patient or order."""
    from xcal.dicom.worklist import scheduled_step

    day = (today or dt.date.today()).strftime("%Y%m%d")
    items = []
    for room, node in sorted(settings.modalities.items()):
        for n, (hhmm, what) in enumerate((("080000", "Detector QC (SIMULATED)"),
                                          ("083000", "DICOM connectivity check (SIMULATED)")), start=1):
            items.append(scheduled_step(station_ae=node.ae_title, modality="DX", date=day, time=hhmm,
                                        step_id=f"QC{room}-{n}", description=what,
                                        accession=f"XQC{room}{n:02d}", station_name=node.station_name))
    return items
