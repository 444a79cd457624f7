"""The site file's dicom section: nodes read as written, and each bad value refused at its line with the fix."""

from __future__ import annotations

import pytest

from xcal.dicom.nodes import ae_title_problem
from xcal.errors import ConfigError
from xcal.site import load_site


def test_the_nodes_are_read_as_written(site_file):
    site = load_site(site_file(port=4242, pacs_port=4243))
    d = site.dicom
    assert (d.ae_title, d.port) == ("XCAL_TEST", 4242)
    assert (d.pacs.ae_title, d.pacs.host, d.pacs.port) == ("PACS_T", "127.0.0.1", 4243)
    assert sorted(d.modalities) == ["1", "2"]
    assert (d.modalities["2"].ae_title, d.modalities["2"].port, d.modalities["2"].station_name,
            d.modalities["2"].device_serial) == ("DR2_AE", 105, "RADTWO", "SN-222")


def test_a_room_is_found_by_ae_title_then_station_name_then_serial(site_file):
    d = load_site(site_file()).dicom
    assert d.room_for(calling_ae="DR2_AE") == "2"
    assert d.room_for(calling_ae="SOMEONE", station_name="RADONE") == "1"
    assert d.room_for(calling_ae="SOMEONE", station_name="ELSE", device_serial="SN-222") == "2"
    assert d.room_for(calling_ae="SOMEONE", station_name="ELSE", device_serial="SN-9") is None


def test_a_site_without_a_dicom_section_has_none(tmp_path, site_file):
    text = site_file().read_text().split("dicom:")[0]
    path = tmp_path / "plain.yaml"
    path.write_text(text)
    assert load_site(path).dicom is None


# Line numbers count from 1 in the SITE text of conftest: ae_title on line 8, pacs on 10, first modality on 12.
@pytest.mark.parametrize("replace, line, words", [
    (("ae_title: XCAL_TEST", "ae_title: XCAL_TEST_WORKSTATION"), 8, "21 characters, more than the 16"),
    (("ae_title: XCAL_TEST", "ae_title: '   '"), 8, "empty or only spaces"),
    (("ae_title: PACS_T", "ae_title: 'PACS\\\\T'"), 10, "'\\\\'"),
])
def test_a_bad_ae_title_is_refused_at_its_line(site_file, replace, line, words):
    with pytest.raises(ConfigError) as err:
        load_site(site_file(replace=replace))
    assert err.value.line == line and words in str(err.value)
    assert "fix:" in str(err.value) and "16" in err.value.fix


@pytest.mark.parametrize("port, line, where", [(70000, 10, "the PACS port"), (0, 10, "the PACS port")])
def test_a_port_out_of_range_is_refused_at_its_line(site_file, port, line, where):
    with pytest.raises(ConfigError) as err:
        load_site(site_file(pacs_port=port))
    assert err.value.line == line
    assert f"{where} must be a whole number from 1 to 65535, got {port}" in str(err.value)


def test_xcal_s_own_port_out_of_range_is_refused(site_file):
    with pytest.raises(ConfigError) as err:
        load_site(site_file(port=65536))
    assert err.value.line == 9 and "dicom port must be a whole number from 1 to 65535, got 65536" in str(err.value)


def test_a_remote_node_without_a_port_is_refused(site_file):
    with pytest.raises(ConfigError) as err:
        load_site(site_file(replace=(", port: 104,", ",")))
    assert err.value.line == 12 and "the modality of room 1 has no port" in str(err.value)


def test_a_modality_of_an_unknown_room_is_refused(site_file):
    with pytest.raises(ConfigError) as err:
        load_site(site_file(replace=("{room: 2,", "{room: 7,")))
    assert err.value.line == 13 and "unknown room '7'" in str(err.value) and "1, 2" in err.value.fix


def test_an_unknown_key_is_refused_with_the_near_one(site_file):
    with pytest.raises(ConfigError) as err:
        load_site(site_file(replace=("station_name: RADONE", "staton_name: RADONE")))
    assert "unknown key 'staton_name'" in str(err.value) and "station_name" in err.value.fix


def test_ae_title_rules():
    assert ae_title_problem("A" * 16) is None
    assert "17 characters" in ae_title_problem("A" * 17)
    assert ae_title_problem("PACS\x01") is not None
    assert ae_title_problem("  ") is not None


def test_the_demo_site_has_a_simulated_pacs_and_three_modalities():
    d = load_site().dicom
    assert d.pacs.simulated and d.pacs.storage_commitment and sorted(d.modalities, key=int) == ["3", "4", "10"]


def test_storage_commitment_must_be_true_or_false(site_file):
    assert not load_site(site_file()).dicom.pacs.storage_commitment
    pacs = "host: 127.0.0.1, port: 11113"
    site = load_site(site_file(replace=(pacs + "}", pacs + ", storage_commitment: true}")))
    assert site.dicom.pacs.storage_commitment
    with pytest.raises(ConfigError) as err:
        load_site(site_file(replace=(pacs + "}", pacs + ", storage_commitment: sometimes}")))
    assert err.value.line == 10 and "storage_commitment must be true or false" in str(err.value)


def test_detector_faults_of_a_simulated_modality(site_file):
    sim = site_file(replace=("{room: 2, ae_title: DR2_AE, host: 127.0.0.1, port: 105,",
                             "{room: 2, ae_title: DR2_AE, host: simulated, detector: {faults: [ei-25, dead-line]},"))
    assert load_site(sim).dicom.modalities["2"].detector_faults == ("ei-25", "dead-line")
    assert load_site().dicom.modalities["4"].detector_faults == ("ei-25",)


def test_an_unknown_detector_fault_is_refused_at_its_line(site_file):
    bad = site_file(replace=("{room: 2, ae_title: DR2_AE, host: 127.0.0.1, port: 105,",
                             "{room: 2, ae_title: DR2_AE, host: simulated, detector: {faults: [broken]},"))
    with pytest.raises(ConfigError) as err:
        load_site(bad)
    assert err.value.line == 13 and "unknown detector fault 'broken'" in str(err.value)
    assert "dead-pixels, dead-line, gain-drift, ei-25" in err.value.fix


def test_a_real_modality_cannot_carry_simulated_detector_faults(site_file):
    bad = site_file(replace=("port: 105,", "port: 105, detector: {faults: [ei-25]},"))
    with pytest.raises(ConfigError) as err:
        load_site(bad)
    assert "has a `detector:` but is not simulated" in str(err.value)
