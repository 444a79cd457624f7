"""xcal's storage SCP as a library: objects filed by room, unmatched kept, file names made safe, port errors named."""

from __future__ import annotations

import socket

import pytest

pytest.importorskip("pydicom", reason="the dicom extra (pydicom) is not installed")
pytest.importorskip("pynetdicom", reason="the dicom extra (pynetdicom) is not installed")

from xcal.dicom.checks import check_node
from xcal.dicom.nodes import DicomNode
from xcal.dicom.objects import qc_test_object
from xcal.dicom.receiver import StorageReceiver
from xcal.errors import ConfigError
from xcal.site import load_site


def test_objects_are_filed_by_calling_ae_and_unmatched_ones_kept(site_file, tmp_path):
    settings = load_site(site_file()).dicom
    with StorageReceiver(settings, tmp_path / "in", port=0) as receiver:
        target = DicomNode("xcal", "XCAL_TEST", "127.0.0.1", receiver.port)
        first, second = qc_test_object("ELSEWHERE"), qc_test_object("ELSEWHERE")
        assert all(r.ok for r in check_node(target, "DR1_AE", store=first))
        assert all(r.ok for r in check_node(target, "NOBODY", store=second))
    assert [(r.room, r.matched_on) for r in receiver.received] == [("1", "calling AE title DR1_AE"),
                                                                   (None, "nothing")]
    assert (tmp_path / "in" / "room-1" / f"{first.SOPInstanceUID}.dcm").is_file()
    assert (tmp_path / "in" / "unmatched" / f"{second.SOPInstanceUID}.dcm").is_file()


def test_a_uid_cannot_write_outside_the_folder(site_file, tmp_path):
    receiver = StorageReceiver(load_site(site_file()).dicom, tmp_path / "in")
    ds = qc_test_object("RADTWO")
    with pytest.warns(UserWarning, match="Invalid value for VR UI"):          # pydicom's, on setting it
        ds.SOPInstanceUID = "../../evil"
    with pytest.warns(UserWarning, match="Invalid value for VR UI"):          # and on writing it
        item = receiver.file(ds, "SOMEONE")
    assert item.room == "2" and item.path.parent == tmp_path / "in" / "room-2"
    assert item.path.name == ".._.._____.dcm"                  # only digits and dots are kept: no "/"


def test_a_port_in_use_is_a_config_error_naming_it(site_file, tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        with pytest.raises(ConfigError) as err:
            StorageReceiver(load_site(site_file()).dicom, tmp_path / "in", port=port).start()
    assert f"cannot listen on 127.0.0.1:{port}" in str(err.value) and "--port" in err.value.fix
