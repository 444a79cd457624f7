"""Connectivity checks against xcal's simulated PACS, each failure named with its fix, and the CLI."""

from __future__ import annotations

import pytest

pytest.importorskip("pydicom", reason="the dicom extra (pydicom) is not installed")
pytest.importorskip("pynetdicom", reason="the dicom extra (pynetdicom) is not installed")

import dataclasses
import json
import socket

from xcal.dicom.checks import check_node
from xcal.dicom.nodes import DicomNode
from xcal.dicom.objects import SECONDARY_CAPTURE, qc_test_object
from xcal.simulators.pacs import SimulatedScp

from .conftest import free_port


def steps(results):
    return [(r.step, r.ok) for r in results]


def test_echo_and_store_succeed_and_the_pacs_holds_the_test_object():
    with SimulatedScp("PACS_A", known_callers=["XCAL"]) as scp:
        sent = qc_test_object("XCAL")
        results = check_node(scp.node(), "XCAL", store=sent)
        assert steps(results) == [("connect", True), ("associate", True), ("echo", True), ("store", True)]
        assert all(r.ms is not None and r.ms > 0 for r in results)
        assert len(scp.received) == 1
        got = scp.received[0]
        assert got.SOPInstanceUID == sent.SOPInstanceUID and got.SOPClassUID == SECONDARY_CAPTURE
        assert (got.Rows, got.Columns, got.PatientID) == (64, 64, "XCAL-QC")
        # The ramp: column 0 is 0, the last column 4095; the centre square is 4095.
        pixels = got.pixel_array
        assert pixels[0, 0] == 0 and pixels[0, 63] == 4095 and pixels[32, 32] == 4095


def test_an_unknown_calling_ae_title_is_named_with_the_fix():
    with SimulatedScp("PACS_A", known_callers=["XCAL"]) as scp:
        results = check_node(scp.node(), "STRANGER")
    assert steps(results) == [("connect", True), ("associate", False)]
    assert "rejected permanently" in results[-1].message
    assert "Calling AE title not recognised" in results[-1].message
    assert "register xcal's AE title STRANGER" in results[-1].fix


def test_a_wrong_called_ae_title_is_named_with_the_fix():
    with SimulatedScp("PACS_A") as scp:
        node = dataclasses.replace(scp.node(), ae_title="PACS_B")
        results = check_node(node, "XCAL")
    assert "Called AE title not recognised" in results[-1].message
    assert "it refused 'PACS_B'" in results[-1].fix


def test_a_refused_connection_names_host_and_port():
    port = free_port()
    results = check_node(DicomNode("the PACS", "PACS", "127.0.0.1", port), "XCAL", timeout_s=1)
    assert steps(results) == [("connect", False)]
    assert results[0].message == f"connection refused at 127.0.0.1:{port}: nothing listens on that port"


def test_a_port_that_never_answers_the_association_times_out():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)                                  # accepts TCP, never speaks DICOM
        node = DicomNode("the PACS", "PACS", "127.0.0.1", silent.getsockname()[1])
        results = check_node(node, "XCAL", timeout_s=0.5)
    assert steps(results) == [("connect", True), ("associate", False)]
    assert "within 0.5 s" in results[-1].message


def test_a_refused_sop_class_is_named():
    with SimulatedScp("PACS_A", refuse_sop_classes=(SECONDARY_CAPTURE,)) as scp:
        results = check_node(scp.node(), "XCAL", store=qc_test_object())
        assert scp.received == []
    assert steps(results)[-1] == ("store", False)
    assert f"rejected the SOP class Secondary Capture Image Storage ({SECONDARY_CAPTURE})" in results[-1].message


def test_a_failure_status_of_the_store_is_named():
    with SimulatedScp("PACS_A", store_status=0xA700) as scp:
        results = check_node(scp.node(), "XCAL", store=qc_test_object())
    assert steps(results)[-1] == ("store", False)
    assert "status 0xA700: out of resources" in results[-1].message


def test_a_modality_that_stores_nothing_still_answers_echo():
    with SimulatedScp("DR3", storage=False) as scp:
        results = check_node(scp.node(), "XCAL")
    assert steps(results) == [("connect", True), ("associate", True), ("echo", True)]


def test_cli_check_on_the_demo_site_passes_every_node(xcal):
    done = xcal("dicom", "check", "--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    # PACS: connect, associate, echo, store, commit; modalities of rooms 3, 4 and 10: connect, associate, echo.
    assert len(results) == 5 + 3 * 3 and all(r["ok"] for r in results)
    assert [r["step"] for r in results if r["node"] == "the PACS"] == ["connect", "associate", "echo", "store",
                                                                       "commit"]
    assert "SIMULATED" in done.stderr


def test_cli_check_of_a_room_without_a_modality_is_a_config_error(xcal):
    done = xcal("dicom", "check", "--room", "9")
    assert done.returncode == 2
    assert "room '9' has no DICOM modality" in done.stderr and "use one of: 3, 4, 10" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_check_of_an_absent_pacs_fails_with_exit_1_and_the_fix(xcal, site_file):
    path = site_file(pacs_port=free_port())
    done = xcal("--site", str(path), "dicom", "check", "--room", "1", "--timeout", "1")
    assert done.returncode == 1
    assert "FAIL the PACS" in done.stdout and "connection refused" in done.stdout
    assert "fix: start the DICOM service of the PACS" in done.stdout


def test_storage_commitment_of_the_test_object_is_reported_on_the_same_association():
    with SimulatedScp("PACS_A") as scp:
        results = check_node(scp.node(), "XCAL", store=qc_test_object(), commit=True)
    assert steps(results) == [("connect", True), ("associate", True), ("echo", True), ("store", True),
                              ("commit", True)]
    assert "committed to keep the QC test object" in results[-1].message


def test_a_storage_commitment_failure_names_the_reason():
    with SimulatedScp("PACS_A", commitment="fail") as scp:
        results = check_node(scp.node(), "XCAL", store=qc_test_object(), commit=True)
    assert steps(results)[-1] == ("commit", False)
    assert "failure reason 0x0110" in results[-1].message


def test_a_missing_storage_commitment_report_times_out_with_the_fix():
    with SimulatedScp("PACS_A", commitment="silent") as scp:
        results = check_node(scp.node(), "XCAL", store=qc_test_object(), commit=True, timeout_s=0.5)
    assert steps(results)[-1] == ("commit", False)
    assert "no storage commitment report (N-EVENT-REPORT)" in results[-1].message and "0.5 s" in results[-1].message
    assert "same association" in results[-1].fix


def test_a_pacs_without_storage_commitment_is_named():
    with SimulatedScp("PACS_A", refuse_sop_classes=("1.2.840.10008.1.20.1",)) as scp:
        results = check_node(scp.node(), "XCAL", store=qc_test_object(), commit=True)
    assert steps(results)[-1] == ("commit", False)
    assert "did not accept Storage Commitment Push Model (1.2.840.10008.1.20.1)" in results[-1].message


def test_a_pacs_slower_than_the_timeout_is_named():
    with SimulatedScp("PACS_A", delay_s=1.5) as scp:
        results = check_node(scp.node(), "XCAL", timeout_s=0.5)
    assert steps(results) == [("connect", True), ("associate", True), ("echo", False)]
    assert results[-1].message == "no C-ECHO response from PACS_A within 0.5 s"
    assert "--timeout" in results[-1].fix
