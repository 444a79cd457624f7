"""Modality worklist: ask the worklist provider (C-FIND, Modality Worklist Information Model - FIND,
1.2.840.10008.5.1.4.31; PS3.4 Annex K) for the procedure steps scheduled on a room's modality, and the
matching rules the simulated provider answers by.

A query gives the scheduled station AE title and, optionally, the start date (a date or a range
`YYYYMMDD-YYYYMMDD`) and modality, inside the Scheduled Procedure Step Sequence (0040,0100), and asks for
the keys of WorklistItem. Patient names are not asked for: the items are shown for QC scheduling, and
a name is personal data that has no use there.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from ..errors import InstrumentError
from .nodes import DicomNode

WORKLIST_FIND = "1.2.840.10008.5.1.4.31"
"""Modality Worklist Information Model - FIND (PS3.4 Annex K)."""

STEP_KEYS = ("ScheduledStationAETitle", "ScheduledProcedureStepStartDate", "ScheduledProcedureStepStartTime",
             "Modality", "ScheduledProcedureStepDescription", "ScheduledProcedureStepID", "ScheduledStationName")
TOP_KEYS = ("AccessionNumber", "PatientID", "RequestedProcedureID", "RequestedProcedureDescription",
            "StudyInstanceUID")


@dataclass(frozen=True)
class WorklistItem:
    """One scheduled procedure step as the provider returned it."""

    step_id: str
    date: str
    time: str
    modality: str
    station_ae: str
    station_name: str
    description: str
    accession: str
    patient_id: str
    requested_procedure: str


def scheduled_step(*, station_ae: str, modality: str, date: str, time: str, step_id: str, description: str,
                   accession: str, station_name: str = "", patient_id: str = "XCAL-QC",
                   patient_name: str = "XCAL^QC") -> Any:
    """A worklist item (a requested procedure with one scheduled procedure step), as a provider holds it."""
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    item = Dataset()
    item.PatientName, item.PatientID = patient_name, patient_id
    item.AccessionNumber = accession
    item.StudyInstanceUID = generate_uid()
    item.RequestedProcedureID = step_id.split("-")[0]
    item.RequestedProcedureDescription = description
    step = Dataset()
    step.ScheduledStationAETitle = station_ae
    step.ScheduledStationName = station_name
    step.ScheduledProcedureStepStartDate = date
    step.ScheduledProcedureStepStartTime = time
    step.Modality = modality
    step.ScheduledProcedureStepDescription = description
    step.ScheduledProcedureStepID = step_id
    step.ScheduledPerformingPhysicianName = ""
    item.ScheduledProcedureStepSequence = [step]
    return item


def _value_matches(have: str, want: str, keyword: str) -> bool:
    """PS3.4 C.2.2.2 matching as the simulated provider does it: empty is universal; a date range for the start
    date; `*` and `?` wildcards; otherwise single value matching (exact, case sensitive)."""
    if want == "":
        return True
    if keyword == "ScheduledProcedureStepStartDate" and "-" in want:
        low, _, high = want.partition("-")
        return (not low or have >= low) and (not high or have <= high)
    if "*" in want or "?" in want:
        return fnmatch.fnmatchcase(have, want)
    return have == want


def matches(item: Any, query: Any) -> bool:
    """Whether the worklist item matches the C-FIND identifier `query` (its top-level keys and the keys of its
    Scheduled Procedure Step Sequence item)."""
    for keyword in TOP_KEYS:
        if keyword in query and not _value_matches(str(item.get(keyword, "")), str(query.get(keyword) or ""),
                                                   keyword):
            return False
    wanted = query.get("ScheduledProcedureStepSequence")
    if wanted:
        steps = item.get("ScheduledProcedureStepSequence") or []
        return any(all(_value_matches(str(step.get(k, "")), str(wanted[0].get(k) or ""), k)
                       for k in STEP_KEYS if k in wanted[0]) for step in steps)
    return True


def response(item: Any, query: Any) -> Any:
    """The identifier answering `query` from `item`: the keys asked for, with the item's values."""
    from pydicom.dataset import Dataset

    out = Dataset()
    for element in query:
        if element.keyword == "ScheduledProcedureStepSequence":
            sub = Dataset()
            asked = element.value[0] if element.value else Dataset()
            have = item.ScheduledProcedureStepSequence[0]
            for inner in asked:
                setattr(sub, inner.keyword, have.get(inner.keyword, ""))
            out.ScheduledProcedureStepSequence = [sub]
        elif element.keyword:
            setattr(out, element.keyword, item.get(element.keyword, ""))
    if "SpecificCharacterSet" in query:
        out.SpecificCharacterSet = query.SpecificCharacterSet
    return out


def build_query(station_ae: str, date: str = "", modality: str = "") -> Any:
    """The C-FIND identifier of a worklist query for one station (optionally a start date or range, a modality)."""
    from pydicom.dataset import Dataset

    query = Dataset()
    for keyword in TOP_KEYS:
        setattr(query, keyword, "")
    step = Dataset()
    for keyword in STEP_KEYS:
        setattr(step, keyword, "")
    step.ScheduledStationAETitle = station_ae
    step.ScheduledProcedureStepStartDate = date
    step.Modality = modality
    query.ScheduledProcedureStepSequence = [step]
    return query


def query_worklist(node: DicomNode, calling_ae: str, station_ae: str, *, date: str = "", modality: str = "",
                   timeout_s: float = 10.0) -> list[WorklistItem]:
    """The procedure steps the worklist provider `node` has scheduled for `station_ae`, sorted by date and time.

    InstrumentError naming the node, what went wrong and the fix when it cannot be asked (the association's
    failure as xcal.dicom.checks names it, a provider without the worklist SOP class, a failure status).
    """
    from . import require
    from .checks import VERIFICATION, _associate

    require()
    # Verification is asked for too, so that a node without the worklist still accepts the association and the
    # missing SOP class can be named (with no context accepted at all the association is simply aborted).
    assoc, result = _associate(node, calling_ae, timeout_s, [VERIFICATION, WORKLIST_FIND])
    if assoc is None:
        raise InstrumentError(f"worklist query: {result.message}", instrument=node.name,
                              resource=f"{node.host}:{node.port}", fix=result.fix)
    items: list[WorklistItem] = []
    try:
        if not any(c.abstract_syntax == WORKLIST_FIND for c in assoc.accepted_contexts):
            raise InstrumentError(f"{node.ae_title} does not offer the Modality Worklist FIND SOP class "
                                  f"({WORKLIST_FIND})", instrument=node.name, resource=f"{node.host}:{node.port}",
                                  fix=f"ask for the worklist at the node that provides it (RIS or broker), or enable "
                                      f"worklist queries for xcal's AE title {calling_ae} on {node.name}")
        for status, identifier in assoc.send_c_find(build_query(station_ae, date, modality), WORKLIST_FIND):
            code = int(status.Status) if status and "Status" in status else None
            if code is None:
                raise InstrumentError(f"no answer from {node.ae_title} to the worklist query within {timeout_s:g} s",
                                      instrument=node.name, resource=f"{node.host}:{node.port}",
                                      fix="check the node's log, or raise --timeout for a slow node")
            if code in (0xFF00, 0xFF01) and identifier is not None:
                step = identifier.ScheduledProcedureStepSequence[0]
                items.append(WorklistItem(
                    str(step.get("ScheduledProcedureStepID", "")), str(step.get("ScheduledProcedureStepStartDate", "")),
                    str(step.get("ScheduledProcedureStepStartTime", "")), str(step.get("Modality", "")),
                    str(step.get("ScheduledStationAETitle", "")), str(step.get("ScheduledStationName", "")),
                    str(step.get("ScheduledProcedureStepDescription", "")), str(identifier.get("AccessionNumber", "")),
                    str(identifier.get("PatientID", "")), str(identifier.get("RequestedProcedureDescription", ""))))
            elif code != 0x0000:
                raise InstrumentError(f"{node.ae_title} answered the worklist query with status 0x{code:04X}",
                                      instrument=node.name, resource=f"{node.host}:{node.port}",
                                      fix="check the query's keys and the node's log")
    finally:
        if assoc.is_established:
            assoc.release()
    return sorted(items, key=lambda i: (i.date, i.time, i.step_id))


def room_worklist(settings: Any, room: str, site_path: str, *, date: str = "", timeout_s: float = 10.0,
                  serve_simulated: Any = None) -> list[WorklistItem]:
    """The worklist of a room's modality, asked of the site's PACS (the worklist provider named in the dicom
    section); `serve_simulated` stands simulated nodes up, as for xcal.dicom.checks.check_site."""
    import contextlib

    from ..errors import ConfigError

    if settings is None:
        raise ConfigError(f"{site_path} has no `dicom:` section", fix="add `dicom:` with the pacs and modalities")
    if room not in settings.modalities:
        raise ConfigError(f"{site_path}: room '{room}' has no DICOM modality in the dicom section",
                          fix=f"use one of: {', '.join(settings.modalities) or 'none'}")
    if settings.pacs is None:
        raise ConfigError(f"{site_path}: the dicom section names no PACS to ask for the worklist",
                          fix="add `pacs:` (the node that provides the modality worklist) under `dicom:`")
    with contextlib.ExitStack() as stack:
        if serve_simulated is not None:
            settings = stack.enter_context(serve_simulated(settings, settings.ae_title))
        return query_worklist(settings.pacs, settings.ae_title, settings.modalities[room].ae_title, date=date,
                              timeout_s=timeout_s)
