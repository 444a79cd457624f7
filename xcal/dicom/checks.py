"""Connectivity checks of a DICOM node: TCP connect, association, C-ECHO, C-STORE of a QC test object.

Each step is timed; a failure is a ConnectivityStep that names what failed, where, and the fix (refused
connection, no answer, association rejected with its reason, SOP class not accepted, C-STORE status), so
`xcal dicom check` can report every node instead of stopping at the first.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any

from .nodes import DicomNode

VERIFICATION = "1.2.840.10008.1.1"
"""Verification SOP class (C-ECHO), PS3.4 Annex A."""
STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"
STORAGE_COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"
"""Storage Commitment Push Model SOP class and its well-known SOP instance, PS3.4 Annex J."""

_REJECT_FIXES = {
    (1, 3): "register xcal's AE title {calling} (this computer's address) on {name} as a known calling node",
    (1, 7): "set ae_title of {name} in the site file's dicom section to the AE title the node is configured "
            "with (it refused '{called}')",
    (1, 2): "the node does not speak the DICOM application context; check that {host}:{port} is a DICOM port",
    (3, 1): "the node is busy; try again in a few minutes",
    (3, 2): "the node has reached its limit of associations; try again later or raise the limit on the node",
}
_STORE_STATUS = {0xA7: "out of resources (refused: the node's storage is full or failing)",
                 0xA9: "the data set does not match the SOP class",
                 0xC0: "the node cannot understand the object"}


@dataclass(frozen=True)
class ConnectivityStep:
    """One step of a connectivity check: ok or not, its round-trip time in ms, what happened and the fix."""

    node: str
    step: str
    ok: bool
    ms: float | None
    message: str
    fix: str = ""


def _connect(node: DicomNode, timeout_s: float) -> ConnectivityStep:
    started = time.perf_counter()
    try:
        with socket.create_connection((node.host, int(node.port or 0)), timeout=timeout_s):
            pass
    except ConnectionRefusedError:
        return ConnectivityStep(node.name, "connect", False, None,
                           f"connection refused at {node.host}:{node.port}: nothing listens on that port",
                           f"start the DICOM service of {node.name}, or correct host and port of {node.name} in the "
                           "site file's dicom section")
    except socket.gaierror as exc:
        return ConnectivityStep(node.name, "connect", False, None, f"unknown host '{node.host}' ({exc.strerror})",
                           f"correct the host of {node.name} in the site file's dicom section")
    except TimeoutError:
        return ConnectivityStep(node.name, "connect", False, None,
                           f"no answer from {node.host}:{node.port} within {timeout_s:g} s",
                           "check that the host is on and reachable (network, firewall) and the port is right")
    except OSError as exc:
        return ConnectivityStep(node.name, "connect", False, None,
                           f"cannot reach {node.host}:{node.port}: {exc.strerror or exc}",
                           "check the network route to the host and the site file's dicom section")
    return ConnectivityStep(node.name, "connect", True, (time.perf_counter() - started) * 1e3,
                       f"TCP connection to {node.host}:{node.port}")


def _associate(node: DicomNode, calling_ae: str, timeout_s: float, contexts: list[str],
               on_report: Any = None) -> tuple[Any, ConnectivityStep]:
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
    from pynetdicom import AE, evt

    ae = AE(ae_title=calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.connection_timeout = timeout_s
    # The idle limit outlasts the wait for a storage commitment report, so the association is still there to
    # release when that wait ends (an idle abort racing the release upsets pynetdicom's state machine).
    ae.network_timeout = 3 * timeout_s
    for uid in contexts:
        ae.add_requested_context(uid, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    started = time.perf_counter()
    handlers: list[Any] = [(evt.EVT_N_EVENT_REPORT, on_report)] if on_report is not None else []
    assoc = ae.associate(node.host, int(node.port or 0), ae_title=node.ae_title, evt_handlers=handlers)
    ms = (time.perf_counter() - started) * 1e3
    if assoc.is_established:
        return assoc, ConnectivityStep(node.name, "associate", True, ms,
                                  f"association {calling_ae} -> {node.ae_title} accepted")
    if assoc.is_rejected:
        prim: Any = assoc.acceptor.primitive
        kind = "permanently" if prim.result == 1 else "for now (transient)"
        fix = _REJECT_FIXES.get((prim.result_source, prim.diagnostic), "check the node's list of known AE titles")
        return None, ConnectivityStep(node.name, "associate", False, None,
                                 f"association rejected {kind} by {node.ae_title}@{node.host}:{node.port}: "
                                 f"{prim.reason_str} ({prim.source_str})",
                                 fix.format(calling=calling_ae, called=node.ae_title, name=node.name,
                                            host=node.host, port=node.port))
    if ms >= timeout_s * 1e3:                  # pynetdicom aborts by itself when its ACSE timeout runs out
        return None, ConnectivityStep(node.name, "associate", False, None,
                                 f"no association answer from {node.host}:{node.port} within {timeout_s:g} s",
                                 "check that the port is the node's DICOM port (not a web or other service), or "
                                 "raise --timeout for a slow node")
    if assoc.is_aborted:
        return None, ConnectivityStep(node.name, "associate", False, None,
                                 f"{node.host}:{node.port} aborted the association request",
                                 f"check the node's log; it may refuse xcal's AE title {calling_ae} or its address")
    return None, ConnectivityStep(node.name, "associate", False, None,
                             f"no association answer from {node.host}:{node.port} within {timeout_s:g} s",
                             "check that the port is the node's DICOM port (not a web or other service)")


def _echo(node: DicomNode, assoc: Any, timeout_s: float) -> ConnectivityStep:
    if not any(c.abstract_syntax == VERIFICATION for c in assoc.accepted_contexts):
        return ConnectivityStep(node.name, "echo", False, None,
                           f"{node.ae_title} did not accept the Verification SOP class ({VERIFICATION})",
                           "enable C-ECHO (Verification SCP) for xcal's AE title on the node")
    started = time.perf_counter()
    status = assoc.send_c_echo()
    ms = (time.perf_counter() - started) * 1e3
    if not status or "Status" not in status:
        return ConnectivityStep(node.name, "echo", False, None,
                           f"no C-ECHO response from {node.ae_title} within {timeout_s:g} s",
                           "the node accepted the association but did not answer in time; check the node's log, "
                           "or raise --timeout for a slow node")
    if status.Status != 0:
        return ConnectivityStep(node.name, "echo", False, ms, f"C-ECHO answered with status 0x{status.Status:04X}",
                           "check the node's log for the reason")
    return ConnectivityStep(node.name, "echo", True, ms, "C-ECHO success")


def _store(node: DicomNode, assoc: Any, dataset: Any, timeout_s: float) -> ConnectivityStep:
    from .objects import SOP_CLASS_NAMES

    sop = str(dataset.SOPClassUID)
    what = f"{SOP_CLASS_NAMES.get(sop, 'SOP class')} ({sop})"
    if not any(c.abstract_syntax == sop for c in assoc.accepted_contexts):
        return ConnectivityStep(node.name, "store", False, None,
                           f"{node.ae_title} rejected the SOP class {what}: it will not store such objects",
                           f"enable storage of {what} for xcal's AE title on {node.name}")
    started = time.perf_counter()
    status = assoc.send_c_store(dataset)
    ms = (time.perf_counter() - started) * 1e3
    if not status or "Status" not in status:
        return ConnectivityStep(node.name, "store", False, None,
                           f"no C-STORE response from {node.ae_title} within {timeout_s:g} s",
                           "the node took the object but did not answer in time; check the node's log, or raise "
                           "--timeout for a slow node")
    code = int(status.Status)
    if code == 0:
        return ConnectivityStep(node.name, "store", True, ms, f"C-STORE of the QC test object {dataset.SOPInstanceUID} "
                                                         "success")
    if code in (0x0001, 0xB000, 0xB006, 0xB007):
        return ConnectivityStep(node.name, "store", True, ms, f"C-STORE stored with warning status 0x{code:04X}")
    meaning = _STORE_STATUS.get(code >> 8, "failure") if code >> 12 != 0xC else _STORE_STATUS[0xC0]
    return ConnectivityStep(node.name, "store", False, ms, f"C-STORE refused with status 0x{code:04X}: {meaning}",
                       f"check the storage of {node.name} (disk space, its log) and that it accepts {what}")


def _commit(node: DicomNode, assoc: Any, dataset: Any, reports: list[Any], arrived: Any,
            timeout_s: float) -> ConnectivityStep:
    """Ask the node to commit to keeping `dataset` (N-ACTION) and wait for its N-EVENT-REPORT on the same
    association; success only when the report lists the instance as committed."""
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    if not any(c.abstract_syntax == STORAGE_COMMITMENT for c in assoc.accepted_contexts):
        return ConnectivityStep(node.name, "commit", False, None,
                           f"{node.ae_title} did not accept Storage Commitment Push Model ({STORAGE_COMMITMENT})",
                           f"enable storage commitment for xcal's AE title on {node.name}, or leave out "
                           "`storage_commitment: true` for it in the site file")
    request = Dataset()
    request.TransactionUID = generate_uid()
    item = Dataset()
    item.ReferencedSOPClassUID = dataset.SOPClassUID
    item.ReferencedSOPInstanceUID = dataset.SOPInstanceUID
    request.ReferencedSOPSequence = [item]
    started = time.perf_counter()
    status, _ = assoc.send_n_action(request, 1, STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE)
    if not status or "Status" not in status or status.Status != 0:
        code = f"status 0x{status.Status:04X}" if status and "Status" in status else "no response"
        return ConnectivityStep(node.name, "commit", False, None, f"the storage commitment request got {code}",
                           "check the node's log; it refused to commit to the QC test object")
    if not arrived.wait(timeout_s):
        return ConnectivityStep(node.name, "commit", False, None,
                           f"no storage commitment report (N-EVENT-REPORT) from {node.ae_title} within "
                           f"{timeout_s:g} s on the same association",
                           "xcal takes the report on the association that asked for it: configure the node to "
                           "report on the same association, or raise --timeout for a slow node")
    ms = (time.perf_counter() - started) * 1e3
    event_type, info = reports[0]
    if str(info.get("TransactionUID", "")) != str(request.TransactionUID):
        return ConnectivityStep(node.name, "commit", False, ms, "the storage commitment report names another "
                                                           "transaction than the one asked", "check the node's log")
    committed = {str(i.ReferencedSOPInstanceUID) for i in info.get("ReferencedSOPSequence", [])}
    if event_type == 1 and str(dataset.SOPInstanceUID) in committed:
        return ConnectivityStep(node.name, "commit", True, ms,
                           "storage commitment: the node committed to keep the QC test object")
    failed = info.get("FailedSOPSequence", [])
    reason = (f" (failure reason 0x{int(failed[0].FailureReason):04X})" if failed and "FailureReason" in failed[0]
              else "")
    return ConnectivityStep(node.name, "commit", False, ms,
                       f"storage commitment failed: the node did not commit to the QC test object{reason}",
                       f"the object was sent but {node.name} does not hold it safely; check its storage and log")


def check_node(node: DicomNode, calling_ae: str, *, timeout_s: float = 5.0, store: Any = None,
               commit: bool = False) -> list[ConnectivityStep]:
    """Check `node` step by step: connect, associate, C-ECHO and, when `store` is a dataset, C-STORE it and,
    with `commit`, ask for storage commitment of it (the report is awaited on the same association).

    Stops at the first failed step before the DIMSE ones; the association is released at the end.
    """
    from . import require

    require()
    results = [_connect(node, timeout_s)]
    if not results[-1].ok:
        return results
    import threading

    commit = commit and store is not None
    contexts = [VERIFICATION] + ([str(store.SOPClassUID)] if store is not None else [])
    contexts += [STORAGE_COMMITMENT] if commit else []
    reports: list[Any] = []
    arrived = threading.Event()

    def on_report(event: Any) -> tuple[int, None]:
        reports.append((event.event_type, event.event_information))
        arrived.set()
        return 0x0000, None

    assoc, result = _associate(node, calling_ae, timeout_s, contexts, on_report if commit else None)
    results.append(result)
    if assoc is None:
        return results
    try:
        results.append(_echo(node, assoc, timeout_s))
        if store is not None and assoc.is_established:
            results.append(_store(node, assoc, store, timeout_s))
            if commit and results[-1].ok and assoc.is_established:
                results.append(_commit(node, assoc, store, reports, arrived, timeout_s))
    finally:
        if assoc.is_established:
            assoc.release()
    return results


def nodes_to_check(settings: Any, room: str | None, site_path: str) -> list[tuple[DicomNode, bool]]:
    """The nodes `xcal dicom check` tries, each with whether to C-STORE to it: the PACS (echo and store) and
    every room's modality (echo), or with `room` only that room's modality and the PACS.

    ConfigError (naming the site file and the fix) when the site has no dicom section or no node to check.
    """
    from ..errors import ConfigError

    if settings is None:
        raise ConfigError(f"{site_path} has no `dicom:` section", fix="add `dicom:` with xcal's ae_title, the pacs "
                                                                      "and the modalities (see the demo site)")
    nodes: list[tuple[DicomNode, bool]] = [(settings.pacs, True)] if settings.pacs is not None else []
    if room is not None:
        if room not in settings.modalities:
            raise ConfigError(f"{site_path}: room '{room}' has no DICOM modality in the dicom section",
                              fix=f"use one of: {', '.join(settings.modalities) or 'none'}, or add the room under "
                                  "`dicom: modalities:`")
        nodes.append((settings.modalities[room], False))
    else:
        nodes.extend((node, False) for node in settings.modalities.values())
    if not nodes:
        raise ConfigError(f"{site_path}: the dicom section names no PACS and no modality",
                          fix="add `pacs:` or `modalities:` under `dicom:`")
    return nodes


def check_site(settings: Any, room: str | None, site_path: str, *, timeout_s: float = 5.0,
               serve_simulated: Any = None) -> list[ConnectivityStep]:
    """Check the site's nodes (see nodes_to_check); `serve_simulated(settings, calling_ae)` is the front end's
    context manager that stands simulated nodes up on loopback (handed in: the library never imports simulators)."""
    import contextlib

    from . import require
    from .objects import qc_test_object

    require()
    nodes_to_check(settings, room, site_path)
    with contextlib.ExitStack() as stack:
        if serve_simulated is not None:
            settings = stack.enter_context(serve_simulated(settings, settings.ae_title))
        return [r for node, store in nodes_to_check(settings, room, site_path)
                for r in check_node(node, settings.ae_title, timeout_s=timeout_s,
                                    store=qc_test_object(settings.ae_title) if store else None,
                                    commit=store and node.storage_commitment)]
