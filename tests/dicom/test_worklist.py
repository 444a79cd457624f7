"""Modality worklist: xcal's C-FIND query against the simulated provider, and DCMTK's findscu as an independent
client of that provider (skipped without DCMTK)."""

from __future__ import annotations

import pytest

pytest.importorskip("pydicom", reason="the dicom extra (pydicom) is not installed")
pytest.importorskip("pynetdicom", reason="the dicom extra (pynetdicom) is not installed")

import datetime as dt
import shutil
import subprocess

from xcal.dicom.nodes import DicomNode, DicomSettings
from xcal.dicom.worklist import query_worklist, scheduled_step
from xcal.errors import InstrumentError
from xcal.simulators.pacs import SimulatedScp, demo_worklist

ITEMS = [scheduled_step(station_ae="DR3_AE", modality="DX", date="20261205", time="080000", step_id="S1",
                        description="Detector QC", accession="A1"),
         scheduled_step(station_ae="DR3_AE", modality="DX", date="20261206", time="090000", step_id="S2",
                        description="Connectivity", accession="A2"),
         scheduled_step(station_ae="DR4_AE", modality="DX", date="20261205", time="083000", step_id="S3",
                        description="Detector QC", accession="A3")]


@pytest.fixture
def provider():
    with SimulatedScp("WL_SCP", worklist=ITEMS, known_callers=["XCAL"]) as scp:
        yield scp


def test_steps_of_one_station_in_date_order(provider):
    items = query_worklist(provider.node("wl"), "XCAL", "DR3_AE")
    assert [(i.step_id, i.date, i.accession, i.description) for i in items] == [
        ("S1", "20261205", "A1", "Detector QC"), ("S2", "20261206", "A2", "Connectivity")]
    assert all(i.station_ae == "DR3_AE" and i.modality == "DX" for i in items)


def test_date_and_range_matching(provider):
    assert [i.step_id for i in query_worklist(provider.node(), "XCAL", "DR3_AE", date="20261206")] == ["S2"]
    assert [i.step_id for i in query_worklist(provider.node(), "XCAL", "DR3_AE", date="20261201-20261205")] == ["S1"]
    assert query_worklist(provider.node(), "XCAL", "DR9_AE") == []


def test_a_provider_without_the_worklist_is_named(tmp_path):
    with SimulatedScp("PLAIN", known_callers=["XCAL"]) as scp:
        with pytest.raises(InstrumentError, match="does not offer the Modality Worklist FIND SOP class"):
            query_worklist(scp.node(), "XCAL", "DR3_AE")


def test_an_unknown_caller_is_refused_with_the_reason(provider):
    with pytest.raises(InstrumentError, match="association rejected") as caught:
        query_worklist(provider.node(), "STRANGER", "DR3_AE")
    assert "STRANGER" in caught.value.fix


def test_the_demo_worklist_has_two_qc_steps_today_per_modality():
    settings = DicomSettings("XCAL", 11112, None, {"3": DicomNode("m", "DR3", "simulated", room="3")})
    items = demo_worklist(settings, dt.date(2026, 12, 5))
    steps = [i.ScheduledProcedureStepSequence[0] for i in items]
    assert [(s.ScheduledStationAETitle, s.ScheduledProcedureStepStartDate, s.ScheduledProcedureStepStartTime)
            for s in steps] == [("DR3", "20261205", "080000"), ("DR3", "20261205", "083000")]


def test_cli_worklist_on_the_demo_site():
    from click.testing import CliRunner

    from xcal.cli import main

    out = CliRunner().invoke(main, ["dicom", "worklist", "--room", "3"])
    assert out.exit_code == 0, out.output
    today = dt.date.today().strftime("%Y%m%d")
    assert f"{today} 0800  QC3-1" in out.output and "DR3_DXR500" in out.output


def test_dcmtk_findscu_queries_our_provider(provider):
    findscu = shutil.which("findscu")
    if findscu is None:
        pytest.skip("DCMTK's findscu is not installed: apt-get install dcmtk")
    done = subprocess.run([findscu, "-W", "-aet", "XCAL", "-aec", "WL_SCP",
                           "-k", "ScheduledProcedureStepSequence[0].ScheduledStationAETitle=DR3_AE",
                           "-k", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID",
                           "-k", "AccessionNumber", "127.0.0.1", str(provider.port)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    text = done.stdout + done.stderr
    assert text.count("Find Response:") == 2
    assert "[A1]" in text and "[A2]" in text and "[A3]" not in text
