"""Radiation Dose Structured Reports: read an X-Ray Radiation Dose SR into quantities, and make one.

The SR is SOP class 1.2.840.10008.5.1.4.1.1.88.67 (X-Ray Radiation Dose SR Storage, PS3.4 Annex B), whose
content follows template TID 10001 (Projection X-Ray Radiation Dose): accumulated dose data (TID 10002) and
one container per irradiation event (TID 10003, with its X-ray source data, TID 10003B). `read_report` walks
the content tree by concept code and returns a DoseReport: per event DAP (Gy·m²), air kerma at the reference
point, kVp, tube current, exposure time and mAs where present, and the totals. `build_report` makes a report
of that shape for the simulated modality (SIMULATED in its text).

Evidence: the codes below, all of coding scheme DCM (DICOM PS3.16 Annex D), as this module writes or reads them.
Each code's value, scheme and exact meaning was checked against the PS3.16 code dictionary as pydicom 3.0.2
ships it (`pydicom.sr`, generated from the standard): all 34 agree, none was changed. THIRD-PARTY, in xcal's
evidence levels: a source xcal did not write, not PS3.16 itself re-read. tests/dicom/test_rdsr_codes.py repeats
the check for every code in this table and every code a built report holds. Column CID: the context groups
pydicom lists the code in, only the one that applies here when it lists several (— for none). Where each code
sits (the TID rows) and the units the templates give are not in that dictionary and stay as written
[unverified]; DCMTK's `dsrdump` reads the report xcal makes without a warning and holds its relationships to
the X-Ray Radiation Dose SR IOD's constraints (tests/dicom).

| code | meaning | CID (pydicom) | where [unverified] | value |
|---|---|---|---|---|
| 113701 | X-Ray Radiation Dose Report | — | document title (TID 10001) | CONTAINER |
| 121058 | Procedure reported | 6052, 6053 (breast imaging) | TID 10001 | CODE 113704 Projection X-Ray (CID —) |
| 113705 | Scope of Accumulation | — | TID 10001 | CODE 113014 Study (CID 10000 Scope of Accumulation) |
| 110180 | Study Instance UID | 10001 UID Types | property of the scope | UIDREF |
| 121005 | Observer Type | — | observer context (TID 1002) | CODE 121007 Device (CID 270 Observer Type) |
| 121012 | Device Observer UID | — | TID 1004 | UIDREF |
| 121013 | Device Observer Name | — | TID 1004 | TEXT (station name) |
| 121014 | Device Observer Manufacturer | — | TID 1004 | TEXT |
| 121016 | Device Observer Serial Number | — | TID 1004 | TEXT |
| 113702 | Accumulated X-Ray Dose Data | — | TID 10002 | CONTAINER |
| 113764 | Acquisition Plane | — | TID 10002, TID 10003 | CODE 113622 Single Plane (CID 10003 Equipment Plane Id.) |
| 113722 | Dose Area Product Total | 10050 | TID 10002 | NUM Gy.m2 |
| 113725 | Dose (RP) Total | — | TID 10002 | NUM Gy |
| 113727 | Acquisition Dose Area Product Total | 10050 | TID 10002 | NUM Gy.m2 |
| 113729 | Acquisition Dose (RP) Total | — | TID 10002 | NUM Gy |
| 113730 | Total Fluoro Time | 10050 | TID 10002 | NUM s |
| 113731 | Total Number of Radiographic Frames | 10050 | TID 10002 | NUM {frames} |
| 113706 | Irradiation Event X-Ray Data | — | TID 10003 | CONTAINER |
| 113769 | Irradiation Event UID | 10001 UID Types | TID 10003 | UIDREF |
| 111526 | DateTime Started | — | TID 10003 | DATETIME |
| 113721 | Irradiation Event Type | — | TID 10003 | CODE 113611 Stationary Acquisition (CID 10002 Irr. Event Type) |
| 122130 | Dose Area Product | — | TID 10003 | NUM Gy.m2 |
| 113738 | Dose (RP) | — | TID 10003 | NUM Gy (air kerma at the reference point) |
| 111636 | Entrance Exposure at RP | 10050 | read only: some reports' RP air kerma | NUM mGy |
| 113733 | KVP | — | TID 10003B | NUM kV |
| 113734 | X-Ray Tube Current | — | TID 10003B | NUM mA |
| 113824 | Exposure Time | — | TID 10003B | NUM ms |
| 113736 | Exposure | — | TID 10003B | NUM uA.s |
| 113742 | Irradiation Duration | — | read only (fluoroscopy events) | NUM s |

CID 10050 is Summary Radiation Exposure Quantity. The SOP class UID is pydicom's XRayRadiationDoseSRStorage; the
template identifier written is TID 10001 of mapping resource DCMR.

Units are UCUM codes (PS3.16 coding scheme UCUM): Gy.m2, Gy, mGy, s, ms, kV, mA, uA.s, {frames}; a reader
also accepts dGy.cm2, cGy.cm2, mGy.cm2, uGy.m2, Gy.cm2, uGy and mA.s. Each is well formed by UCUM's grammar
(prefix, atom, exponent, `.` for a product, `{}` for an annotation; tests/dicom). pydicom's UCUM dictionary
holds only the units its context groups list: of these, Gy, s, ms and kV, with the meanings "Gy", "second",
"millisecond" and "Kilovolt"; a report here gives each unit's code as its meaning ("frames" for {frames}), as
the templates' units are recalled to do [unverified] (a reader matches units by code, never by meaning).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .objects import dataset_of

XRAY_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"
"""X-Ray Radiation Dose SR Storage (PS3.4 Annex B)."""

REPORT_TITLE = ("113701", "X-Ray Radiation Dose Report")
ACCUMULATED = ("113702", "Accumulated X-Ray Dose Data")
EVENT = ("113706", "Irradiation Event X-Ray Data")
DAP_TOTAL = ("113722", "Dose Area Product Total")
RP_TOTAL = ("113725", "Dose (RP) Total")
ACQ_DAP_TOTAL = ("113727", "Acquisition Dose Area Product Total")
ACQ_RP_TOTAL = ("113729", "Acquisition Dose (RP) Total")
FLUORO_TIME_TOTAL = ("113730", "Total Fluoro Time")
FRAMES_TOTAL = ("113731", "Total Number of Radiographic Frames")
EVENT_UID = ("113769", "Irradiation Event UID")
STARTED = ("111526", "DateTime Started")
EVENT_TYPE = ("113721", "Irradiation Event Type")
DAP = ("122130", "Dose Area Product")
DOSE_RP = ("113738", "Dose (RP)")
ENTRANCE_RP = ("111636", "Entrance Exposure at RP")
KVP = ("113733", "KVP")
TUBE_CURRENT = ("113734", "X-Ray Tube Current")
EXPOSURE_TIME = ("113824", "Exposure Time")
EXPOSURE = ("113736", "Exposure")
DURATION = ("113742", "Irradiation Duration")

UCUM = {"Gy.m2": "Gy*m**2", "Gy.cm2": "Gy*cm**2", "dGy.cm2": "dGy*cm**2", "cGy.cm2": "cGy*cm**2",
        "mGy.cm2": "mGy*cm**2", "uGy.m2": "µGy*m**2", "Gy": "Gy", "mGy": "mGy", "uGy": "µGy", "s": "s", "ms": "ms",
        "kV": "kV", "mA": "mA", "uA.s": "µA*s", "mA.s": "mA*s", "{frames}": ""}
"""The UCUM unit codes a report may use, as xcal.units spells them."""


@dataclass(frozen=True)
class IrradiationEvent:
    """One irradiation event of a report; a quantity the report does not give is None."""

    uid: str
    started: str
    event_type: str
    dap: Any
    rp_air_kerma: Any
    kvp: Any = None
    tube_current: Any = None
    exposure_time: Any = None
    mas: Any = None


@dataclass(frozen=True)
class DoseReport:
    """What an RDSR says: its identity, the device, the totals it states and its events."""

    sop_instance_uid: str
    study_instance_uid: str
    station_name: str
    device_serial: str
    manufacturer: str
    content_datetime: str
    dap_total: Any
    rp_total: Any
    fluoro_time: Any
    events: tuple[IrradiationEvent, ...] = field(default_factory=tuple)
    source: str = ""
    simulated: bool = False

    def summary(self) -> dict[str, Any]:
        """The dose summary as plain values (DAP in Gy·m², air kerma in mGy, times in s and ms, mAs)."""

        def num(q: Any, unit: str) -> float | None:
            return None if q is None else float(q.to(unit).magnitude)

        return {"sop_instance_uid": self.sop_instance_uid, "study_instance_uid": self.study_instance_uid,
                "station_name": self.station_name, "device_serial": self.device_serial,
                "manufacturer": self.manufacturer, "content_datetime": self.content_datetime,
                "simulated": self.simulated, "source": self.source,
                "dap_total_gy_m2": num(self.dap_total, "Gy*m**2"), "rp_total_mgy": num(self.rp_total, "mGy"),
                "fluoro_time_s": num(self.fluoro_time, "s"), "events": len(self.events),
                "event_list": [{"uid": e.uid, "started": e.started, "type": e.event_type,
                                "dap_gy_m2": num(e.dap, "Gy*m**2"), "rp_air_kerma_mgy": num(e.rp_air_kerma, "mGy"),
                                "kvp_kv": num(e.kvp, "kV"), "tube_current_ma": num(e.tube_current, "mA"),
                                "exposure_time_ms": num(e.exposure_time, "ms"), "mas": num(e.mas, "mA*s")}
                               for e in self.events]}


def _code(item: Any) -> str:
    """The item's concept name code value when it is a DCM code (the scheme of every code read here), else ""."""
    seq = item.get("ConceptNameCodeSequence")
    return str(seq[0].CodeValue) if seq and seq[0].get("CodingSchemeDesignator") == "DCM" else ""


def _num(item: Any, where: str) -> Any:
    from ..units import Q_

    measured = item.MeasuredValueSequence[0]
    unit = str(measured.MeasurementUnitsCodeSequence[0].CodeValue)
    if unit not in UCUM:
        raise ConfigError(f"{where}: the unit '{unit}' of {item.ConceptNameCodeSequence[0].CodeMeaning} is not one "
                          "xcal reads", fix=f"ask for a report in one of the UCUM units {', '.join(UCUM)}")
    return Q_(float(measured.NumericValue), UCUM[unit])


def _items(container: Any) -> dict[str, Any]:
    return {_code(i): i for i in container.get("ContentSequence", [])}


def read_report(source: str | Path | Any) -> DoseReport:
    """Read an X-Ray Radiation Dose SR (a file or a pydicom Dataset) into a DoseReport; ConfigError naming the
    file when it is not DICOM, not a dose report, or holds a value xcal cannot read."""
    ds, name = dataset_of(source, "give a DICOM Part 10 file of an X-Ray Radiation Dose SR")
    sop = str(ds.get("SOPClassUID", ""))
    if sop != XRAY_DOSE_SR or _code(ds) != REPORT_TITLE[0]:
        raise ConfigError(f"{name} is not an X-Ray Radiation Dose SR (SOP class {sop or 'none'}, title "
                          f"{_code(ds) or 'none'})",
                          fix=f"give a report of SOP class {XRAY_DOSE_SR} titled (113701, DCM, "
                              "\"X-Ray Radiation Dose Report\")")
    try:
        top = _items(ds)
        accumulated = _items(top[ACCUMULATED[0]]) if ACCUMULATED[0] in top else {}
        events = []
        for item in ds.get("ContentSequence", []):
            if _code(item) != EVENT[0]:
                continue
            e = _items(item)
            got = {k: _num(e[k], name) for k in (DAP[0], DOSE_RP[0], ENTRANCE_RP[0], KVP[0], TUBE_CURRENT[0],
                                                  EXPOSURE_TIME[0], EXPOSURE[0], DURATION[0]) if k in e}
            mas = got[EXPOSURE[0]].to("mA*s") if EXPOSURE[0] in got else (
                (got[TUBE_CURRENT[0]] * got[EXPOSURE_TIME[0]]).to("mA*s")
                if TUBE_CURRENT[0] in got and EXPOSURE_TIME[0] in got else None)
            kind = e.get(EVENT_TYPE[0])
            events.append(IrradiationEvent(
                str(e[EVENT_UID[0]].UID) if EVENT_UID[0] in e else "",
                str(e[STARTED[0]].DateTime) if STARTED[0] in e else "",
                str(kind.ConceptCodeSequence[0].CodeMeaning) if kind is not None else "",
                got.get(DAP[0]), got.get(DOSE_RP[0], got.get(ENTRANCE_RP[0])), got.get(KVP[0]),
                got.get(TUBE_CURRENT[0]), got.get(EXPOSURE_TIME[0], got.get(DURATION[0])), mas))
        totals = {k: _num(accumulated[k], name) for k in (DAP_TOTAL[0], RP_TOTAL[0], FLUORO_TIME_TOTAL[0])
                  if k in accumulated}
    except (AttributeError, IndexError, KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"{name}: the dose report's content is not as TID 10001 lays it out ({exc})",
                          fix="check the report with `dsrdump`; xcal reads TID 10002 totals and TID 10003 events")\
            from None
    text = " ".join(str(ds.get(k, "")) for k in ("SeriesDescription", "ContentLabel", "PatientName"))
    return DoseReport(str(ds.get("SOPInstanceUID", "")), str(ds.get("StudyInstanceUID", "")),
                      str(ds.get("StationName", "")), str(ds.get("DeviceSerialNumber", "")),
                      str(ds.get("Manufacturer", "")), f"{ds.get('ContentDate', '')}{ds.get('ContentTime', '')}",
                      totals.get(DAP_TOTAL[0]), totals.get(RP_TOTAL[0]), totals.get(FLUORO_TIME_TOTAL[0]),
                      tuple(events), name, "SIMULATED" in text.upper())


def read_reports(path: str | Path) -> list[DoseReport]:
    """The dose reports of a file, or of every DICOM file in a folder (other objects skipped); ConfigError when
    there is none."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    path = Path(path)
    if path.is_file():
        return [read_report(path)]
    if not path.is_dir():
        raise ConfigError(f"{path} is neither a file nor a folder", fix="give an RDSR file or a folder of them")
    found = []
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(str(file), stop_before_pixels=True)
        except (InvalidDicomError, OSError):
            continue
        if str(ds.get("SOPClassUID", "")) == XRAY_DOSE_SR:
            found.append(read_report(file))
    if not found:
        raise ConfigError(f"{path} holds no X-Ray Radiation Dose SR",
                          fix=f"give a folder with DICOM files of SOP class {XRAY_DOSE_SR}")
    return found


# ---- making a report (the simulated modality's) ----

def _concept(code: tuple[str, str]) -> Any:
    from pydicom.dataset import Dataset

    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = code[0], "DCM", code[1]
    return c


def _item(relationship: str, value_type: str, code: tuple[str, str]) -> Any:
    from pydicom.dataset import Dataset

    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = value_type
    item.ConceptNameCodeSequence = [_concept(code)]
    return item


def _code_item(code: tuple[str, str], value: tuple[str, str], relationship: str = "CONTAINS") -> Any:
    item = _item(relationship, "CODE", code)
    item.ConceptCodeSequence = [_concept(value)]
    return item


def _text_item(code: tuple[str, str], text: str, relationship: str = "HAS OBS CONTEXT") -> Any:
    item = _item(relationship, "TEXT", code)
    item.TextValue = text
    return item


def _uid_item(code: tuple[str, str], uid: str, relationship: str = "CONTAINS") -> Any:
    item = _item(relationship, "UIDREF", code)
    item.UID = uid
    return item


def _num_item(code: tuple[str, str], value: float, unit: str, meaning: str) -> Any:
    from pydicom.dataset import Dataset

    item = _item("CONTAINS", "NUM", code)
    measured = Dataset()
    units = Dataset()
    units.CodeValue, units.CodingSchemeDesignator, units.CodeMeaning = unit, "UCUM", meaning
    measured.MeasurementUnitsCodeSequence = [units]
    measured.NumericValue = f"{value:.6g}"
    item.MeasuredValueSequence = [measured]
    return item


SINGLE_PLANE = (("113764", "Acquisition Plane"), ("113622", "Single Plane"))


def build_report(events: list[dict[str, float]], *, station_name: str, device_serial: str,
                 manufacturer: str = "xcal", comment: str = "SIMULATED dose report") -> Any:
    """An X-Ray Radiation Dose SR of projection radiography events, each a dict with dap_gy_m2,
    rp_air_kerma_gy, kvp, ma, ms (and optionally started, a datetime); totals are their sums."""
    from pydicom.uid import generate_uid

    from .objects import base_dataset

    ds = base_dataset(XRAY_DOSE_SR, "SR", station_name, device_serial)
    ds.Manufacturer = manufacturer
    ds.ManufacturerModelName = "simulated modality"
    ds.SoftwareVersions = "xcal"
    ds.SeriesDescription = comment
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.PerformedProcedureCodeSequence = []
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = [_concept(REPORT_TITLE)]
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    from pydicom.dataset import Dataset

    template = Dataset()
    template.MappingResource, template.TemplateIdentifier = "DCMR", "10001"
    ds.ContentTemplateSequence = [template]
    scope = _code_item(("113705", "Scope of Accumulation"), ("113014", "Study"), "HAS CONCEPT MOD")
    scope.ContentSequence = [_uid_item(("110180", "Study Instance UID"), str(ds.StudyInstanceUID),
                                       "HAS PROPERTIES")]
    content = [
        _code_item(("121005", "Observer Type"), ("121007", "Device"), "HAS OBS CONTEXT"),
        _uid_item(("121012", "Device Observer UID"), generate_uid(), "HAS OBS CONTEXT"),
        _text_item(("121013", "Device Observer Name"), station_name),
        _text_item(("121014", "Device Observer Manufacturer"), manufacturer),
        _text_item(("121016", "Device Observer Serial Number"), device_serial),
        _code_item(("121058", "Procedure reported"), ("113704", "Projection X-Ray"), "HAS CONCEPT MOD"),
        scope,
    ]
    dap_sum = sum(e["dap_gy_m2"] for e in events)
    rp_sum = sum(e["rp_air_kerma_gy"] for e in events)
    accumulated = _item("CONTAINS", "CONTAINER", ACCUMULATED)
    accumulated.ContinuityOfContent = "SEPARATE"
    accumulated.ContentSequence = [
        _code_item(*SINGLE_PLANE),
        _num_item(DAP_TOTAL, dap_sum, "Gy.m2", "Gy.m2"),
        _num_item(RP_TOTAL, rp_sum, "Gy", "Gy"),
        _num_item(ACQ_DAP_TOTAL, dap_sum, "Gy.m2", "Gy.m2"),
        _num_item(ACQ_RP_TOTAL, rp_sum, "Gy", "Gy"),
        _num_item(FLUORO_TIME_TOTAL, 0.0, "s", "s"),
        _num_item(FRAMES_TOTAL, float(len(events)), "{frames}", "frames"),
    ]
    content.append(accumulated)
    now = dt.datetime.now()
    for e in events:
        event = _item("CONTAINS", "CONTAINER", EVENT)
        event.ContinuityOfContent = "SEPARATE"
        started = _item("CONTAINS", "DATETIME", STARTED)
        started.DateTime = (e.get("started") or now).strftime("%Y%m%d%H%M%S")  # type: ignore[union-attr]
        event.ContentSequence = [
            _code_item(*SINGLE_PLANE),
            _uid_item(EVENT_UID, generate_uid()),
            started,
            _code_item(EVENT_TYPE, ("113611", "Stationary Acquisition")),
            _num_item(DAP, e["dap_gy_m2"], "Gy.m2", "Gy.m2"),
            _num_item(DOSE_RP, e["rp_air_kerma_gy"], "Gy", "Gy"),
            _num_item(KVP, e["kvp"], "kV", "kV"),
            _num_item(TUBE_CURRENT, e["ma"], "mA", "mA"),
            _num_item(EXPOSURE_TIME, e["ms"], "ms", "ms"),
            _num_item(EXPOSURE, e["ma"] * e["ms"], "uA.s", "uA.s"),
        ]
        content.append(event)
    ds.ContentSequence = content
    return ds


def dap_ratio(report: DoseReport, measured_dap: Any) -> float:
    """The report's DAP total over a DAP meter's reading of the same exposures (1.0 = they agree); ValueError when
    the report states no DAP or the reading is not positive."""
    from ..analysis._checks import scalar

    if report.dap_total is None:
        raise ValueError(f"the dose report {report.sop_instance_uid} states no Dose Area Product Total (113722)")
    meter = scalar(measured_dap, "measured DAP", "Gy*m**2")
    if not meter.magnitude > 0:
        raise ValueError(f"the measured DAP must be positive, got {meter:~P}")
    return float((report.dap_total / meter).to("").magnitude)


def measured_dap(run: Any) -> Any:
    """The sum of a stored run's `dap` readings (its DAP meter's, over every exposure), in Gy·m²; ConfigError
    naming the run when it has none."""
    from ..units import Q_

    values = [Q_(r.value, r.unit).to("Gy*m**2") for r in run.readings if r.quantity == "dap" and r.value is not None]
    if not values:
        raise ConfigError(f"run {run.run_id} ({run.procedure_id}) has no DAP meter reading to compare with",
                          fix="give a run of dap-accuracy (or another procedure that reads a DAP meter)")
    return sum(values[1:], values[0])


def summaries(reports: list[DoseReport], run: Any = None) -> list[dict[str, Any]]:
    """Each report's dose summary; with `run` (a stored run with DAP meter readings), also the ratio of the
    report's DAP total to that run's measured DAP (`compared_with`)."""
    out = []
    meter = measured_dap(run) if run is not None else None
    for report in reports:
        summary = report.summary()
        if meter is not None:
            summary["compared_with"] = {"run_id": run.run_id, "procedure": run.procedure_id,
                                        "measured_dap_gy_m2": float(meter.magnitude),
                                        "ratio": dap_ratio(report, meter)}
        out.append(summary)
    return out


def record_reports(store: Any, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep each dose summary (of `summaries`) in the store as a `dose_report` chain entry, once per SOP Instance
    UID: a report already kept is not kept again. Returns the summaries, each with `recorded` (False when it
    was already kept)."""
    from ..records.chain import DOSE_REPORT

    kept = {e.data().get("sop_instance_uid") for e in store.entries_of_kind([DOSE_REPORT])}
    out: list[dict[str, Any]] = []
    new: list[tuple[str, dict[str, Any]]] = []
    for summary in found:
        fresh = summary["sop_instance_uid"] not in kept
        if fresh:
            new.append((DOSE_REPORT, dict(summary)))
            kept.add(summary["sop_instance_uid"])
        out.append({**summary, "recorded": fresh})
    if new:
        store.append_entries(lambda: new)
    return out


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A dose summary as lines of text: the report, its totals, one line per event, the DAP comparison."""
    def g(value: float | None, scale: float = 1.0, fmt: str = ".4g") -> str:
        return "-" if value is None else format(value * scale, fmt)

    mark = " SIMULATED" if summary["simulated"] else ""
    lines = [f"{summary['source']}: dose report {summary['sop_instance_uid']}{mark}",
             f"  {summary['manufacturer']} {summary['station_name']} serial {summary['device_serial'] or '-'}, "
             f"{summary['events']} irradiation event{'' if summary['events'] == 1 else 's'}",
             f"  DAP total {g(summary['dap_total_gy_m2'], 1e6)} µGy·m², Dose (RP) total "
             f"{g(summary['rp_total_mgy'])} mGy, fluoro time {g(summary['fluoro_time_s'])} s"]
    for n, e in enumerate(summary["event_list"], start=1):
        lines.append(f"  {n:3}  {e['started'] or '-':14}  {e['type'] or '-':24} DAP {g(e['dap_gy_m2'], 1e6)} µGy·m²  "
                     f"K(RP) {g(e['rp_air_kerma_mgy'])} mGy  {g(e['kvp_kv'])} kV  {g(e['tube_current_ma'])} mA  "
                     f"{g(e['exposure_time_ms'])} ms  {g(e['mas'])} mAs")
    compared = summary.get("compared_with")
    if compared:
        lines.append(f"  against run {compared['run_id']} ({compared['procedure']}): measured DAP "
                     f"{compared['measured_dap_gy_m2'] * 1e6:.4g} µGy·m², "
                     f"reported / measured = {compared['ratio']:.3f}")
    if "recorded" in summary:
        lines.append("  kept in the store" if summary["recorded"] else "  already kept in the store")
    return lines
