"""The simulated DR detector: its DX objects, response and noise against the model's own numbers worked by
hand, and its faults found by the detector metrics."""

from __future__ import annotations

import pytest

pytest.importorskip("pydicom", reason="the dicom extra (pydicom) is not installed")
pytest.importorskip("pynetdicom", reason="the dicom extra (pynetdicom) is not installed")

import math

import numpy as np

from xcal.analysis.detector import (
    defects,
    ei_accuracy,
    global_nonuniformity,
    local_nonuniformity,
    roi_grid,
    snr,
)
from xcal.dicom.objects import DX_FOR_PRESENTATION, DX_FOR_PROCESSING, read_image, save
from xcal.simulators.detector import (
    DetectorFaults,
    DetectorModel,
    dark_dx,
    expose_detector,
)
from xcal.units import Q_

# q = 350 quanta/µGy, G = 2 DV/quantum, offset 100 DV, σ_e = 3 DV. At K = 2.5 µGy: N = 875 quanta,
# mean = 100 + 2 × 875 = 1850 DV; variance = G²·N + σ_e² = 4 × 875 + 9 = 3509 DV² (SD 59.24).
PLAIN = DetectorModel(gain_scatter=0.0)


def test_a_flat_field_is_a_dx_for_processing_object_with_the_ei_tags():
    ds = PLAIN.dx(2.5, seed=1)
    assert ds.SOPClassUID == DX_FOR_PROCESSING and ds.Modality == "DX"
    assert ds.PresentationIntentType == "FOR PROCESSING"
    ei = float(ds[0x0018, 0x1411].value)
    assert float(ds[0x0018, 0x1412].value) == 250.0
    assert float(ds[0x0018, 0x1413].value) == pytest.approx(10 * math.log10(ei / 250.0), abs=1e-4)
    # EI = 100 × K: the central ROI (4096 pixels) pins the mean to ±0.93 DV of 1750, 0.05 %.
    assert ei == pytest.approx(250.0, rel=0.005)
    assert PLAIN.dx(2.5, seed=1, for_processing=False).SOPClassUID == DX_FOR_PRESENTATION


def test_flat_field_mean_and_noise_follow_the_model(tmp_path):
    image = read_image(save(PLAIN.dx(2.5, seed=7), tmp_path / "ff.dcm"))
    pixels = image.pixels
    assert pixels.shape == (128, 128)
    # standard error of the mean sqrt(3509/16384) = 0.46 DV; allow 5 of them.
    assert pixels.mean() == pytest.approx(1850.0, abs=2.5)
    # variance: rounding to whole DV adds 1/12; the sample variance's relative SE is sqrt(2/16384) = 1.1 %.
    assert pixels.var(ddof=1) == pytest.approx(3509.0 + 1 / 12, rel=0.05)
    assert image.exposure_index == pytest.approx(250.0, rel=0.005)


def test_a_dark_image_is_offset_and_electronic_noise_without_an_ei():
    ds = dark_dx(PLAIN, seed=3)
    image = read_image(ds)
    assert image.pixels.mean() == pytest.approx(100.0, abs=0.2)
    assert image.pixels.std(ddof=1) == pytest.approx(math.sqrt(9 + 1 / 12), rel=0.05)
    assert image.exposure_index is None and "ExposureIndex" not in ds


def test_snr_rises_as_the_square_root_of_air_kerma_over_the_electronic_floor():
    # SNR = G·q·K / sqrt(G²·q·K + σ_e²):
    # 1750/sqrt(3509) = 29.54 at 2.5 µGy, 7000/sqrt(14009) = 59.14 at 10 µGy.
    low = snr(read_image(PLAIN.dx(2.5, seed=11)).pixels, offset=100.0)
    high = snr(read_image(PLAIN.dx(10.0, seed=12)).pixels, offset=100.0)
    assert low == pytest.approx(1750 / math.sqrt(3509), rel=0.04)
    assert high == pytest.approx(7000 / math.sqrt(14009), rel=0.04)


def test_dead_pixels_and_lines_are_found_exactly():
    faulty = DetectorModel(seed=2, faults=DetectorFaults(dead_pixels=((5, 6), (90, 33)), dead_rows=(20,),
                                                         dead_columns=(40,)))
    found = defects(read_image(faulty.dx(2.5, seed=5)).pixels, offset=100.0)
    assert found.rows == (20,) and found.columns == (40,)
    expected = {(20, c) for c in range(128)} | {(r, 40) for r in range(128)} | {(5, 6), (90, 33)}
    assert set(found.pixels) == expected and found.count == 128 + 128 - 1 + 2


def test_a_healthy_detector_has_no_defects():
    assert defects(read_image(DetectorModel(seed=2).dx(2.5, seed=5)).pixels, offset=100.0).count == 0


def test_a_gain_drift_in_one_region_shows_in_the_uniformity():
    # Top-left 64 × 64 at 0.8 × gain. 4 × 4 ROIs of 32 × 32: four at 0.8 × 1750 = 1400, twelve at 1750.
    # Mean of the means (4 × 1400 + 12 × 1750)/16 = 1662.5 → global (1750 − 1400)/1662.5 = 0.21053;
    # local: 350 / ((1750 + 1400)/2) = 0.22222.
    drift = DetectorModel(faults=DetectorFaults(drift_region=(0, 64, 0, 64), drift_gain=0.8))
    grid = roi_grid(read_image(drift.dx(2.5, seed=9)).pixels, 4, 4, offset=100.0)
    assert global_nonuniformity(grid) == pytest.approx(350 / 1662.5, abs=0.004)
    assert local_nonuniformity(grid) == pytest.approx(350 / 1575, abs=0.004)
    healthy = roi_grid(read_image(DetectorModel().dx(2.5, seed=9)).pixels, 4, 4, offset=100.0)
    assert global_nonuniformity(healthy) < 0.01


def test_an_ei_calibrated_25_percent_high_is_caught():
    off = DetectorModel(faults=DetectorFaults(ei_scale=1.25))
    image = read_image(off.dx(2.5, seed=4))
    result = ei_accuracy(image.exposure_index, Q_(2.5, "µGy"))
    assert result.error == pytest.approx(0.25, abs=0.005)
    assert image.deviation_index == pytest.approx(10 * math.log10(1.25), abs=0.01)   # 0.97 against EI_T 250


def test_an_exposure_of_the_simulated_room_reaches_the_detector():
    from xcal.simulators.room import RoomModel, RoomSimulation

    room = RoomModel(RoomSimulation(total_filtration_mm_al=3.5, seed=3))
    exposure, ds = expose_detector(room, DetectorModel(), 70.0, 10.0, 5.0, sid_cm=100.0)
    kerma = exposure.air_kerma_ugy
    assert 0.5 < kerma < 20.0                                 # inside the 14-bit range of the detector
    assert float(ds.ExposureIndex) == pytest.approx(100.0 * kerma, rel=0.01)
    assert float(ds.KVP) == 70.0 and int(ds.ExposureInuAs) == 50
    assert ei_accuracy(float(ds.ExposureIndex), Q_(kerma, "µGy")).error == pytest.approx(0.0, abs=0.01)


def test_a_negative_air_kerma_is_refused():
    with pytest.raises(ValueError, match="negative"):
        PLAIN.image(-1.0, np.random.default_rng(0))


def test_the_named_faults_are_the_ones_the_site_file_accepts():
    from xcal.dicom.nodes import DETECTOR_FAULTS
    from xcal.simulators.detector import FAULT_PRESETS

    assert tuple(FAULT_PRESETS) == DETECTOR_FAULTS


def test_the_detector_saturates_at_its_bit_depth():
    # 30 µGy: 100 + 2 × 350 × 30 = 21100 DV > 16383, so every pixel reads 16383 = 2^14 − 1.
    pixels = PLAIN.image(30.0, np.random.default_rng(0))
    assert pixels.max() == 16383 and np.all(pixels == 16383)
