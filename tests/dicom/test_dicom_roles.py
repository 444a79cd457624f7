"""DICOM roles of a procedure (the room's DR detector, the PACS, the modality) as what they are: run headers,
records, reports and exports name the AE title, address, detector model and serial from the site, never a
calibration; the technician is told what a station without an exposure needs (a dark image, nothing at all);
a resumed detector run takes its offset from the dark image already in the record."""

from __future__ import annotations

import pytest

pytest.importorskip("pydicom", reason="the dicom extra (pydicom) is not installed")
pytest.importorskip("pynetdicom", reason="the dicom extra (pynetdicom) is not installed")

from xcal.demo.wiring import simulated_room
from xcal.procedures.runner import OperatorControl, RunObserver
from xcal.procedures.session import plan_resume, plan_run, run_plan, start
from xcal.records.store import Store
from xcal.units import Q_

from .conftest import free_port

DICOM_LIMITS = ("limit_sets: [cfr-1020], instruments: {}}\n  - {id: 2",
                "limit_sets: [dicom-acceptance], instruments: {}}\n  - {id: 2")
"""Room 1 of the test site judged against the DICOM acceptance values."""


class Said(RunObserver):
    """Keeps what the technician is told; presses Ctrl-C as exposure `stop_at` is about to be made."""

    def __init__(self, stop_at: int = 0) -> None:
        self.texts: list[str] = []
        self.stop_at = stop_at

    def prompt(self, text):
        self.texts.append(text)

    def exposure(self, n, total, station, repeat):
        if n == self.stop_at:
            raise KeyboardInterrupt


def test_the_detector_is_the_sites_detector_model_and_serial_not_a_calibrated_instrument():
    # Room 10's equipment lists its image receptor (Example X-Ray Co. FD-43, serial FD43-1180), the serial its
    # modality RF10_RF700 (station RF10) gives; room 3's equipment lists no detector.
    ten = plan_run("detector-qc", 10).instruments["detector"].snapshot()
    assert "calibration" not in ten
    assert ten["dicom"]["what"] == ("DR detector Example X-Ray Co. FD-43 serial FD43-1180 of modality RF10_RF700 "
                                    "(station RF10)")
    three = plan_run("detector-qc", 3).instruments["detector"].snapshot()["dicom"]
    assert three["what"] == ("DR detector (model not in the site file's equipment) serial FD43-0917 of modality "
                             "DR3_DXR500 (station RAD3)")
    assert three["where"] == "images from the simulated modality (SIMULATED) received by XCAL_QC on port 11112"


def test_a_real_nodes_header_shows_its_ae_title_and_address_and_no_calibration(site_file, capsys):
    from xcal.console import RunConsole

    pacs_port = free_port()
    plan = plan_run("dicom-connectivity", "1", site=site_file(pacs_port=pacs_port, replace=DICOM_LIMITS))
    RunConsole().started("R-1", plan, {})
    said = capsys.readouterr().out
    assert (f"pacs: PACS PACS_T, at 127.0.0.1:{pacs_port} (a DICOM role, not a calibrated instrument)" in said)
    assert "modality: modality DR1_AE of room 1 (Rad 1), at 127.0.0.1:104 (a DICOM role" in said
    assert "calibration" not in said.replace("not a calibrated instrument", "") and "9999-12-31" not in said


def test_a_stored_connectivity_run_shows_the_nodes_in_its_record_report_and_export(tmp_path, capsys):
    from xcal.console import print_run
    from xcal.records.export import _run_row
    from xcal.reports.content import build_report

    db = tmp_path / "r.sqlite3"
    said = Said()
    result = start("dicom-connectivity", "3", db=db).run(simulated_room=simulated_room, observer=said)
    with Store(db) as store:
        stored = store.get_run(result.run_id)
    pacs = stored.snapshot["instruments"]["pacs"]
    # the demo PACS asks for storage commitment (site.yaml: storage_commitment: true) and is simulated
    assert "calibration" not in pacs
    assert pacs["dicom"] == {"what": "PACS DEMO_PACS, storage commitment asked",
                             "where": "xcal's simulated SCP on loopback (SIMULATED)", "ae_title": "DEMO_PACS"}
    print_run(stored)
    shown = capsys.readouterr().out
    assert "pacs: PACS DEMO_PACS, storage commitment asked" in shown and "9999-12-31" not in shown
    (section,) = [s for s in build_report(stored).sections if s.key == "instruments"]
    text = " ".join(cell.text for block in section.blocks for _, cell in getattr(block, "rows", ()))
    assert "modality DR3_DXR500 of room 3 (Radiography 3)" in text and "not a calibrated instrument" in text
    assert "9999-12-31" not in text and "PAST DUE" not in text and "no due date" not in text
    row = " ".join(str(c) for c in _run_row(stored, []))
    assert "PACS DEMO_PACS" in row and "9999-12-31" not in row
    # a simulated run asks nothing at the station: the procedure's one prompt is all the technician is told
    assert said.texts == ["Check that the PACS and the room's modality are on and on the network."]


def test_in_a_real_room_the_technician_is_told_what_each_station_without_an_exposure_needs(site_file, tmp_path):
    said = Said()
    control = OperatorControl(said)
    plan = plan_run("detector-qc", 3)
    dark = plan.procedure.stations(plan.parameters, "dark")[0]
    lag = plan.procedure.stations(plan.parameters, "lag")[0]
    control.set_field(dark)
    control.set_field(lag)
    assert said.texts[0].startswith("Station 1: no exposure: the detector takes a dark image")
    assert said.texts[1].startswith("Station 8: no exposure: the detector takes a dark image right after the last")
    assert not any("hold the instrument" in t for t in said.texts)
    # Connectivity: nothing for the technician at the station (xcal calls the nodes): only the step's prompt.
    # Nothing listens at the nodes, so the run fails; what matters here is what the technician was told.
    said = Said()
    site = site_file(pacs_port=free_port(), replace=DICOM_LIMITS)
    start("dicom-connectivity", "1", db=tmp_path / "r.sqlite3", site=site).run(observer=said)
    assert said.texts == ["Check that the PACS and the room's modality are on and on the network."]


def test_a_resumed_detector_run_takes_its_offset_from_the_dark_image_in_the_record(tmp_path):
    from xcal.errors import RunAborted

    db = tmp_path / "r.sqlite3"
    beam = {"kv": Q_(70, "kV"), "ma": Q_(100, "mA"), "added_filtration": Q_(21, "mm"), "distance": Q_(150, "cm")}
    fewer = {"calibration_repeats": 1, "stations": [{**beam, "time": Q_(14, "ms")}, {**beam, "time": Q_(56, "ms")}]}
    with pytest.raises(RunAborted) as stopped:        # Ctrl-C as the first flat field is about to be made
        run_plan(plan_run("detector-qc", 3, parameters=fewer), db=db, observer=Said(stop_at=2),
                 simulated_room=simulated_room)
    plan, stored = plan_resume(stopped.value.run_id, db=db)
    (dark,) = [r for r in stored.readings if r.quantity == "pixel_mean"]
    run_plan(plan, db=db, resume=stored, simulated_room=simulated_room)
    with Store(db) as store:
        readings = store.get_run(stored.run_id).readings
    # The dark image (station 1) is not taken again: one dark reading, and every flat field's offset is its mean.
    assert [(r.exposure, r.station) for r in readings if r.quantity == "pixel_mean" and r.station == 1] == [(1, 1)]
    flats = [r for r in readings if r.quantity == "pixel_mean" and r.role == "detector" and r.station in (2, 3, 4, 5)]
    assert len(flats) == 1 + 2 + 1           # calibration, the two stations, the ghost exposure
    assert all(r.data["offset"] == dark.value for r in flats)
    assert all(r.data["offset_from"].startswith("the dark image of exposure 1 (SOP Instance UID "
                                                f"{dark.data['sop_instance_uid']})") for r in flats)


def test_the_demo_schedule_and_the_post_service_rules_make_the_imaging_chain_tests_due(tmp_path, monkeypatch, capsys):
    import datetime as dt

    from rich.console import Console

    from xcal.console import print_due
    from xcal.program.service import invalidated, load_rules
    from xcal.schedule import due_report
    from xcal.site import load_site

    rules = load_rules()
    # a replaced panel: the receptor's centring (AAPM Report 74) and the detector's own QC (a site choice)
    assert [i["procedure"] for i in invalidated(rules, "detector", "replaced")] == ["receptor-centering",
                                                                                    "detector-qc"]
    (network,) = invalidated(rules, "dicom", "adjusted")
    assert network["procedure"] == "dicom-connectivity" and network["source"].startswith("site choice")
    site = load_site(None)
    assert {(e.room, e.procedure, e.every) for e in site.schedule} >= {("3", "detector-qc", "monthly"),
                                                                       ("3", "dicom-connectivity", "quarterly")}
    with Store(tmp_path / "r.sqlite3") as store:
        items = {i.procedure: i for i in due_report(site, store, dt.date(2026, 12, 1), room="3")}
    # never run: both due on the day asked, their DICOM roles listed as nodes, not as instruments to calibrate
    assert items["detector-qc"].instruments == (("kvp-1", "2099-12-31", "OK"), ("(detector: DICOM node)", "-", "OK"))
    assert items["dicom-connectivity"].next_due == dt.date(2026, 12, 1)
    monkeypatch.setattr("xcal.console._console", lambda to_stderr=False: Console(width=400, highlight=False))
    print_due(list(items.values()))
    shown = capsys.readouterr().out
    assert "kvp-1 cal. due 2099-12-31 OK; (detector: DICOM node) OK" in shown and "node) cal. due" not in shown
