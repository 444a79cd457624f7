"""xcal held against DCMTK: checks against storescp, storescu and echoscu against `xcal dicom receive`, and
the objects xcal makes read back by dcmdump. Skipped when DCMTK is not installed.

storescp (DCMTK 3.6.7) has no option to bind one address, so it listens on every interface while the test
talks to it over loopback only.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pydicom", reason="the dicom extra (pydicom) is not installed")
pytest.importorskip("pynetdicom", reason="the dicom extra (pynetdicom) is not installed")

import subprocess
from pathlib import Path

import pydicom

from xcal.dicom.checks import check_node
from xcal.dicom.nodes import DicomNode
from xcal.dicom.objects import qc_test_object, save

from .conftest import free_port


def test_echo_and_store_to_dcmtk_storescp(storescp):
    port, out = storescp("DCMTK_SCP")
    sent = qc_test_object("XCAL")
    results = check_node(DicomNode("storescp", "DCMTK_SCP", "127.0.0.1", port), "XCAL", store=sent)
    assert [(r.step, r.ok) for r in results] == [("connect", True), ("associate", True), ("echo", True),
                                                 ("store", True)]
    files = list(out.iterdir())
    assert len(files) == 1
    got = pydicom.dcmread(files[0])
    assert got.SOPInstanceUID == sent.SOPInstanceUID and (got.Rows, got.Columns) == (64, 64)


def test_storescp_refusing_the_association_is_named(storescp):
    port, _ = storescp("DCMTK_SCP", "--refuse")
    results = check_node(DicomNode("storescp", "DCMTK_SCP", "127.0.0.1", port), "XCAL", timeout_s=3)
    assert [(r.step, r.ok) for r in results] == [("connect", True), ("associate", False)]
    # storescp --refuse answers A-ASSOCIATE-RJ (permanent, service user, no reason given) and closes the
    # connection at once; about one time in four (seen on a loaded 2-core machine) the close reaches
    # pynetdicom before the rejection is read, and it reports an abort. Either way the step and the node are named.
    message = results[-1].message
    rejected = "association rejected permanently" in message and "No reason given" in message
    assert rejected or message == f"127.0.0.1:{port} aborted the association request", message


def test_dcmdump_reads_the_test_object(dcmtk, tmp_path):
    path = save(qc_test_object("XCAL"), tmp_path / "qc.dcm")
    dump = subprocess.run([f"{dcmtk}/dcmdump", str(path)], capture_output=True, text=True, timeout=30, check=False)
    assert dump.returncode == 0, dump.stderr
    assert "(0008,0016) UI =SecondaryCaptureImageStorage" in dump.stdout
    assert "(0010,0020) LO [XCAL-QC]" in dump.stdout
    assert "(0028,0010) US 64" in dump.stdout


def _receive(xcal_exe: str, site: Path, folder: Path, port: int, count: int) -> subprocess.Popen:
    proc = subprocess.Popen([xcal_exe, "--site", str(site), "dicom", "receive", "--folder", str(folder),
                             "--port", str(port), "--count", str(count)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    line = proc.stderr.readline()
    assert line.startswith(f"listening on 127.0.0.1:{port} as XCAL_TEST"), line + proc.stderr.read()
    return proc


def test_storescu_sends_to_xcal_receive_which_files_by_room(dcmtk, xcal_exe, site_file, tmp_path):
    port = free_port()
    site = site_file(port=port)
    folder = tmp_path / "in"
    # One object matched on the calling AE title (room 2), one on its station name (room 1), one on nothing.
    by_station, unknown, by_ae = (qc_test_object("RADONE"), qc_test_object("NOBODY"), qc_test_object("NOBODY"))
    files = [save(ds, tmp_path / f"{i}.dcm") for i, ds in enumerate((by_station, unknown, by_ae))]
    proc = _receive(xcal_exe, site, folder, port, 3)
    try:
        for path, calling in ((files[0], "SOMEWHERE"), (files[1], "SOMEWHERE"), (files[2], "DR2_AE")):
            sent = subprocess.run([f"{dcmtk}/storescu", "-aet", calling, "-aec", "XCAL_TEST", "127.0.0.1",
                                   str(port), str(path)], capture_output=True, text=True, timeout=30, check=False)
            assert sent.returncode == 0, sent.stderr
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert (folder / "room-1" / f"{by_station.SOPInstanceUID}.dcm").exists()
    assert (folder / "unmatched" / f"{unknown.SOPInstanceUID}.dcm").exists()
    assert (folder / "room-2" / f"{by_ae.SOPInstanceUID}.dcm").exists()
    assert "room 1 (by station name RADONE)" in out and "room 2 (by calling AE title DR2_AE)" in out
    assert "unmatched (no room matches)" in out and "stopped after 3 objects" in err
    assert pydicom.dcmread(folder / "room-1" / f"{by_station.SOPInstanceUID}.dcm").PatientID == "XCAL-QC"


def test_echoscu_to_xcal_receive_and_a_wrong_called_ae_title_rejected(dcmtk, xcal_exe, site_file, tmp_path):
    port = free_port()
    proc = _receive(xcal_exe, site_file(port=port), tmp_path / "in", port, 1)
    try:
        ok = subprocess.run([f"{dcmtk}/echoscu", "-aet", "DR1_AE", "-aec", "XCAL_TEST", "127.0.0.1", str(port)],
                            capture_output=True, text=True, timeout=30, check=False)
        wrong = subprocess.run([f"{dcmtk}/echoscu", "-aet", "DR1_AE", "-aec", "NOT_XCAL", "127.0.0.1", str(port)],
                               capture_output=True, text=True, timeout=30, check=False)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert ok.returncode == 0, ok.stderr
    assert wrong.returncode != 0 and "Called AE Title Not Recognized" in (wrong.stderr + wrong.stdout)
    assert proc.returncode == 0                           # SIGTERM stops it cleanly


def test_dcmdump_reads_a_simulated_dx_image_with_its_exposure_index_tags(dcmtk, tmp_path):
    from xcal.simulators.detector import DetectorModel

    ds = DetectorModel(gain_scatter=0.0).dx(2.5, seed=1)
    path = save(ds, tmp_path / "dx.dcm")
    dump = subprocess.run([f"{dcmtk}/dcmdump", str(path)], capture_output=True, text=True, timeout=30, check=False)
    assert dump.returncode == 0, dump.stderr
    assert "=DigitalXRayImageStorageForProcessing" in dump.stdout
    assert "(0008,0068) CS [FOR PROCESSING]" in dump.stdout
    for tag, value in (("(0018,1411)", ds.ExposureIndex), ("(0018,1412)", ds.TargetExposureIndex),
                       ("(0018,1413)", ds.DeviationIndex)):
        line = next(x for x in dump.stdout.splitlines() if x.startswith(tag))
        assert " DS [" in line and float(line.split("[")[1].split("]")[0]) == pytest.approx(float(value))


def test_storescu_sends_a_dx_image_filed_by_its_device_serial(dcmtk, xcal_exe, site_file, tmp_path):
    from xcal.dicom.objects import read_image
    from xcal.simulators.detector import DetectorModel

    port = free_port()
    ds = DetectorModel(station_name="UNKNOWN", device_serial="SN-111").dx(2.5, seed=2)
    path = save(ds, tmp_path / "dx.dcm")
    proc = _receive(xcal_exe, site_file(port=port), tmp_path / "in", port, 1)
    try:
        sent = subprocess.run([f"{dcmtk}/storescu", "-aet", "ANY_SCU", "-aec", "XCAL_TEST", "127.0.0.1", str(port),
                               str(path)], capture_output=True, text=True, timeout=30, check=False)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert sent.returncode == 0, sent.stderr
    assert "room 1 (by device serial SN-111)" in out
    image = read_image(tmp_path / "in" / "room-1" / f"{ds.SOPInstanceUID}.dcm")
    assert image.for_processing and image.exposure_index == pytest.approx(float(ds.ExposureIndex))
