"""The detector-qc procedure end to end on the demo site (images by C-STORE to xcal, air kerma from the meter),
and the DICOM detector driver on small synthetic images with numbers worked by hand."""

from __future__ import annotations

import pytest

pytest.importorskip("pydicom", reason="the dicom extra (pydicom) is not installed")
pytest.importorskip("pynetdicom", reason="the dicom extra (pynetdicom) is not installed")

import math

import numpy as np

from xcal.demo.wiring import simulated_room
from xcal.procedures.session import start
from xcal.records.store import Store


def run(room: str, tmp_path, procedure: str = "detector-qc"):
    db = tmp_path / "records.sqlite3"
    result = start(procedure, room, db=db).run(simulated_room=simulated_room)
    with Store(db) as store:
        stored = store.get_run(result.run_id)
    return result, stored


def verdicts(result) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for c in result.checks:
        if c.verdict != "INFO":
            out.setdefault(c.check_id, set()).add(c.verdict)
    return out


def test_healthy_room_passes_and_the_record_names_each_image(tmp_path):
    result, stored = run("3", tmp_path)
    assert result.verdict == "PASS" and stored.simulated
    assert set(verdicts(result)) == {"ei-accuracy", "response-linearity", "noise-linearity", "electronic-noise",
                                     "uniformity-global", "uniformity-local", "defective-pixels", "defective-lines",
                                     "lag"}
    # The expected EI is 100 × the mean air kerma (in µGy) the meter read at the calibration station (station 2).
    kerma = [r.value for r in stored.readings if r.quantity == "air_kerma" and r.station == 2]
    unit = {r.unit for r in stored.readings if r.quantity == "air_kerma"}
    assert len(kerma) == 3 and unit == {"µGy"}
    ei = next(c for c in result.checks if c.check_id == "ei-accuracy")
    assert float(ei.nominal.magnitude) == pytest.approx(100 * sum(kerma) / 3)
    # Every detector reading carries the identity of its image: one image per exposure, and the EI kept with the
    # image is the EI reading of that exposure.
    detector = [r for r in stored.readings if r.role == "detector"]
    by_exposure = {r.exposure: r.data["sop_instance_uid"] for r in detector}
    assert len(set(by_exposure.values())) == len(by_exposure) == 1 + 3 + 4 + 1 + 1
    for r in detector:
        assert len(r.data["pixel_sha256"]) == 64 and "SIMULATED" in r.data["image_comments"]
        if r.quantity == "exposure_index":
            assert r.data["exposure_index"] == pytest.approx(r.value)


def test_ei_calibrated_25_percent_high_fails_ei_accuracy_only(tmp_path):
    result, _ = run("4", tmp_path)
    failed = {check for check, v in verdicts(result).items() if "FAIL" in v}
    assert failed == {"ei-accuracy"}
    ei = next(c for c in result.checks if c.check_id == "ei-accuracy")
    # The detector reports 1.25 × 100 × K; the meter reads K at the same place: the ratio is 1.25 up to noise.
    assert float(ei.value.magnitude) / float(ei.nominal.magnitude) == pytest.approx(1.25, abs=0.02)


def test_dead_column_and_pixels_fail_the_defect_checks_with_their_positions(tmp_path):
    result, stored = run("10", tmp_path)
    failed = {check for check, v in verdicts(result).items() if "FAIL" in v}
    assert failed == {"defective-pixels", "defective-lines"}
    found = [c for c in result.checks if c.check_id == "defective-pixels"]
    # Room 10's panel: a dead column (128 pixels of the 128 × 128 detector) and the preset's 4 dead pixels.
    assert {float(c.value.magnitude) for c in found} == {128 + 4}
    lines = [r for r in stored.readings if r.quantity == "defective_lines"]
    assert lines and all(r.data["columns"] == [64] and r.data["rows"] == [] for r in lines)
    pixels = [r for r in stored.readings if r.quantity == "defective_pixels"]
    assert all(sorted(map(tuple, r.data["pixels"])) == [(10, 12), (40, 97), (77, 31), (100, 100)] for r in pixels)
    # The report lists each image judged, with the defects found in it.
    from xcal.reports.content import build_report

    (images,) = [s for s in build_report(stored).sections if s.key == "images"]
    rows = images.blocks[0].rows
    assert len(rows) == 10 and [c.text for c in rows[0]][5] == "—"               # the dark image: no defects
    # the 3 + 4 flat fields; the ghost exposure and the lag dark image after them are read for their mean only
    assert all("column 64" in row[5].text and "pixel (77, 31)" in row[5].text for row in rows[1:8])
    assert rows[8][5].text == rows[9][5].text == "—"


def checkerboard(low: float, high: float, size: int = 8) -> np.ndarray:
    rows, cols = np.indices((size, size))
    return np.where((rows + cols) % 2 == 0, low, high)


def test_detector_driver_reads_a_dark_and_a_flat_image_sent_to_it(tmp_path):
    from xcal.dicom.acquire import DicomDetector
    from xcal.dicom.objects import dx_image
    from xcal.simulators.detector import send
    from xcal.units import Q_

    from .conftest import free_port

    port = free_port()
    driver = DicomDetector(f"dicom://XCAL_T@127.0.0.1:{port}", name="det", modality_ae="DR_T",
                           expected_serial="SN-1", timeout=Q_(5, "s"), grid=2)
    try:
        def image(pixels: np.ndarray, ei: float | None):
            return dx_image(pixels, for_processing=True, exposure_index=ei, target_exposure_index=250.0, kvp=70.0,
                            exposure_uas=2800.0, pixel_spacing_mm=0.14, station_name="ST", device_serial="SN-1")

        send(image(checkerboard(98.0, 102.0), None), "DR_T", ("XCAL_T", "127.0.0.1", port))
        dark = driver.read_now()
        # central 4 × 4 of the checkerboard: eight 98s and eight 102s: mean 100, sample SD sqrt(16·4/15).
        assert float(dark["pixel_mean"].magnitude) == pytest.approx(100.0)
        assert float(dark["pixel_sd"].magnitude) == pytest.approx(math.sqrt(64 / 15))

        flat = checkerboard(1090.0, 1110.0)
        flat[1, 2] = 100.0                   # dead (response 0) where the checkerboard had 1110, outside the centre
        driver.arm()
        send(image(flat, 250.0), "DR_T", ("XCAL_T", "127.0.0.1", port))
        driver.wait_for_exposure(Q_(5, "s"))
        got = driver.read_exposure()
        assert float(got["exposure_index"].magnitude) == 250.0
        assert float(got["pixel_mean"].magnitude) == pytest.approx(1100.0)
        sd = math.sqrt(16 * 100 / 15)
        assert float(got["snr"].magnitude) == pytest.approx(1000.0 / sd)
        assert float(got["defective_pixels"].magnitude) == 1 and float(got["defective_lines"].magnitude) == 0
        assert driver.reading_data["defective_pixels"]["pixels"] == [[1, 2]]
        # 2 × 2 ROIs of 4 × 4, offset 100: three have mean response 1000; the top-left lost 1010 of its 16 000:
        # 14 990 / 16 = 936.875. Global (1000 − 936.875) / 984.21875; local 63.125 / ((1000 + 936.875) / 2).
        assert float(got["global_nonuniformity"].magnitude) == pytest.approx(63.125 / 984.21875)
        assert float(got["local_nonuniformity"].magnitude) == pytest.approx(63.125 / 968.4375)
    finally:
        driver.close()


def test_an_image_that_never_comes_is_a_timeout_naming_the_modality(tmp_path):
    from xcal.dicom.acquire import DicomDetector
    from xcal.errors import InstrumentTimeout

    from .conftest import free_port

    driver = DicomDetector(f"dicom://XCAL_T@127.0.0.1:{free_port()}", name="det", modality_ae="DR_T",
                           timeout=0.2)
    try:
        with pytest.raises(InstrumentTimeout, match="no image from DR_T arrived within 0.2 s") as caught:
            driver.read_now()
        assert "XCAL_T" in caught.value.fix
    finally:
        driver.close()


def test_simulated_lag_leaves_its_share_of_the_last_image_in_the_next():
    from xcal.simulators.detector import SimulatedModality, with_faults

    modality = SimulatedModality(with_faults(["lag"], electronic_noise_dv=0.0, gain_scatter=0.0), "DR", None)
    modality._image(10.0, 70.0, 0.0)
    modality.set_field(0.0)
    flat, dark = (ds.pixel_array.astype(float) for ds in modality.sent)      # type: ignore[attr-defined]
    # 10 µGy: 350 × 10 quanta × 2 DV = 7000 DV above the 100 DV offset; 5 % of it stays: 350 DV (Poisson noise
    # of the flat field carries into the ghost, so the mean is compared).
    assert flat.mean() - 100.0 == pytest.approx(7000.0, rel=0.01)
    assert (dark.mean() - 100.0) / (flat.mean() - 100.0) == pytest.approx(0.05, rel=1e-3)


def test_a_for_presentation_image_is_refused_with_the_fix(tmp_path):
    from xcal.dicom.acquire import DicomDetector
    from xcal.errors import InstrumentError
    from xcal.simulators.detector import DetectorModel, send

    from .conftest import free_port

    port = free_port()
    driver = DicomDetector(f"dicom://XCAL_T@127.0.0.1:{port}", name="det", modality_ae="DR_T", timeout=5)
    try:
        send(DetectorModel(rows=16, columns=16).dx(0.0, seed=1, for_processing=False), "DR_T",
             ("XCAL_T", "127.0.0.1", port))
        with pytest.raises(InstrumentError, match="is For Presentation") as caught:
            driver.read_now()
        assert "For Processing" in caught.value.fix
    finally:
        driver.close()
