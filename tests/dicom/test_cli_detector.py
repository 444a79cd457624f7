"""`xcal dicom simulate-detector` and `xcal dicom detector`: a simulated DX file written, and its numbers read back
against the detector model's (q = 350 /µGy, G = 2 DV, offset 100 DV, σ_e = 3 DV, gain scatter 0.5 %)."""

from __future__ import annotations

import pytest

pytest.importorskip("pydicom", reason="the dicom extra (pydicom) is not installed")
pytest.importorskip("pynetdicom", reason="the dicom extra (pynetdicom) is not installed")

import json
import math

import pydicom


def test_a_flat_field_and_a_dark_image_give_the_model_s_numbers(cli, tmp_path):
    flat, dark = tmp_path / "ff.dcm", tmp_path / "dark.dcm"
    done = cli("dicom", "simulate-detector", "-o", str(flat), "--room", "3")
    assert done.returncode == 0, done.stderr
    assert "SIMULATED DX for processing flat field at 2.5 µGy" in done.stdout
    ds = pydicom.dcmread(flat)
    assert (ds.StationName, ds.DeviceSerialNumber) == ("RAD3", "FD43-0917")          # room 3's modality
    assert cli("dicom", "simulate-detector", "-o", str(dark), "--dark").returncode == 0
    done = cli("dicom", "detector", str(flat), "--dark", str(dark), "--air-kerma", "2.5 µGy", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["offset"] == pytest.approx(100.0, abs=0.2)
    # SNR = 1750 / sqrt(4·875 + 9 + (0.005·1750)²) = 1750 / sqrt(3585.6) = 29.23
    assert result["snr"] == pytest.approx(1750 / math.sqrt(3509 + (0.005 * 1750) ** 2), rel=0.04)
    assert result["ei_error"] == pytest.approx(0.0, abs=0.005)
    assert result["expected_exposure_index"] == pytest.approx(250.0)
    assert result["defective_pixels"] == 0 and result["global_nonuniformity"] < 0.01


def test_faults_on_demand_are_found(cli, tmp_path):
    bad = tmp_path / "bad.dcm"
    assert cli("dicom", "simulate-detector", "-o", str(bad), "--fault", "dead-line", "--fault",
                "dead-pixels").returncode == 0
    result = json.loads(cli("dicom", "detector", str(bad), "--offset", "100", "--json").stdout)
    assert result["dead_columns"] == [64] and result["dead_rows"] == []
    assert result["defective_pixels"] == 128 + 4


def test_an_ei_calibrated_25_percent_high_shows_as_plus_25_percent(cli, tmp_path):
    off = tmp_path / "ei.dcm"
    assert cli("dicom", "simulate-detector", "-o", str(off), "--fault", "ei-25").returncode == 0
    done = cli("dicom", "detector", str(off), "--offset", "100", "--air-kerma", "2.5 µGy")
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("EI accuracy"))
    assert float(line.split("error ")[1].rstrip(" %")) == pytest.approx(25.0, abs=0.5)


def test_bad_inputs_are_named_without_a_traceback(cli, tmp_path):
    junk = tmp_path / "junk.dcm"
    junk.write_text("not dicom")
    done = cli("dicom", "detector", str(junk))
    assert done.returncode == 2 and "is not a readable DICOM file" in done.stderr and "Traceback" not in done.stderr
    flat = tmp_path / "ff.dcm"
    assert cli("dicom", "simulate-detector", "-o", str(flat)).returncode == 0
    again = cli("dicom", "simulate-detector", "-o", str(flat))
    assert again.returncode == 2 and "already exists" in again.stderr
    unitless = cli("dicom", "detector", str(flat), "--air-kerma", "2.5")
    assert unitless.returncode == 2 and "--air-kerma" in unitless.stderr and "µGy" in unitless.stderr
    both = cli("dicom", "detector", str(flat), "--offset", "100", "--dark", str(flat))
    assert both.returncode == 2 and "either a dark image or an offset" in both.stderr
    saturating = cli("dicom", "simulate-detector", "-o", str(tmp_path / "x.dcm"), "--air-kerma", "50 µGy")
    assert saturating.returncode == 2 and "saturate" in saturating.stderr


def test_a_room_s_tube_fired_at_a_technique_gives_an_ei_of_100_times_its_air_kerma(cli, tmp_path):
    out = tmp_path / "room3.dcm"
    done = cli("dicom", "simulate-detector", "-o", str(out), "--room", "3", "--technique", "70 kV 10 mA 5 ms")
    assert done.returncode == 0, done.stderr
    kerma = float(done.stdout.split("air kerma at the detector ")[1].split(" µGy")[0])
    ds = pydicom.dcmread(out)
    assert float(ds.ExposureIndex) == pytest.approx(100 * kerma, rel=0.01)
    assert (float(ds.KVP), int(ds.ExposureInuAs)) == (70.0, 50)
    saturated = cli("dicom", "simulate-detector", "-o", str(tmp_path / "s.dcm"), "--room", "3", "--technique",
                     "70 kV 400 mA 500 ms")
    assert saturated.returncode == 2 and "saturates the simulated detector" in saturated.stderr


def test_the_demo_rooms_detector_faults_come_with_the_room(cli, tmp_path):
    room4, room10 = tmp_path / "r4.dcm", tmp_path / "r10.dcm"
    assert "faults: ei-25" in cli("dicom", "simulate-detector", "-o", str(room4), "--room", "4").stdout
    assert cli("dicom", "simulate-detector", "-o", str(room10), "--room", "10").returncode == 0
    r4 = json.loads(cli("dicom", "detector", str(room4), "--offset", "100", "--air-kerma", "2.5 µGy",
                         "--json").stdout)
    assert r4["ei_error"] == pytest.approx(0.25, abs=0.005) and r4["defective_pixels"] == 0
    r10 = json.loads(cli("dicom", "detector", str(room10), "--offset", "100", "--json").stdout)
    assert r10["dead_columns"] == [64] and r10["defective_pixels"] == 128 + 4
