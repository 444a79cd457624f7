"""The simulated room: a healthy generator reads true, each fault shows where it should."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest

from xcal.analysis import ripple
from xcal.simulators.meters import measure_kvp
from xcal.simulators.room import GeneratorFaults, RoomModel, RoomSimulation, SimulatedExposure
from xcal.units import Q_

RoomFactory = Callable[..., RoomModel]


def test_healthy_hf_room_reads_true(make_room: RoomFactory) -> None:
    exposure = make_room().fire(80.0, 200.0, 100.0)
    values = measure_kvp(exposure)
    assert values.kvp_ppv == pytest.approx(80.0, rel=0.015)
    assert values.exposure_time_ms == pytest.approx(100.0, rel=0.02)
    kerma_per_mas = exposure.air_kerma_ugy / (200.0 * 100.0 / 1000.0)
    assert 30.0 < kerma_per_mas < 120.0
    assert 2.3 < exposure.hvl_mm_al < 4.0


def test_kvp_scale_fault_applies_only_above_its_threshold(make_room: RoomFactory) -> None:
    room = make_room(faults=GeneratorFaults(kvp_scale=1.07, kvp_scale_above_kv=100.0))
    at_120 = room.fire(120.0, 200.0, 100.0)
    at_100 = room.fire(100.0, 200.0, 100.0)
    assert measure_kvp(at_120).kvp_ppv == pytest.approx(128.4, rel=0.015)
    assert at_120.kv_peak_actual == pytest.approx(128.4, rel=0.01)
    assert measure_kvp(at_100).kvp_ppv == pytest.approx(100.0, rel=0.015)
    assert at_100.kv_peak_actual == pytest.approx(100.0, rel=0.01)


def test_kvp_offset_shifts_the_peak(make_room: RoomFactory) -> None:
    healthy = make_room().fire(80.0, 200.0, 100.0)
    offset = make_room(faults=GeneratorFaults(kvp_offset_kv=-3.0)).fire(80.0, 200.0, 100.0)
    assert healthy.kv_peak_actual - offset.kv_peak_actual == pytest.approx(3.0, rel=0.01)


def test_timer_drift_lengthens_the_exposure(make_room: RoomFactory) -> None:
    exposure = make_room(faults=GeneratorFaults(timer_drift_percent=10.0)).fire(80.0, 200.0, 100.0)
    assert measure_kvp(exposure).exposure_time_ms == pytest.approx(110.0, rel=0.02)


def test_ramps_are_placed_so_a_half_peak_dose_rate_meter_reads_the_actual_time(make_room: RoomFactory) -> None:
    # Envelope at 1/√2 at t = 0 and t = ms_actual, so dose rate ∝ kV² is at half its peak there; with
    # 5 ms ramps, placing the ramps anywhere else would move the reading by more than a millisecond.
    exposure = make_room(rise_time_ms=5.0, ripple_percent=0.0).fire(80.0, 200.0, 20.0)
    assert measure_kvp(exposure).exposure_time_ms == pytest.approx(exposure.ms_actual, rel=1e-3)


def test_missing_filtration_lowers_the_hvl(make_room: RoomFactory) -> None:
    healthy = make_room().fire(80.0, 200.0, 100.0)
    thin = make_room(faults=GeneratorFaults(missing_filtration_mm_al=1.0)).fire(80.0, 200.0, 100.0)
    assert thin.hvl_mm_al < healthy.hvl_mm_al - 0.3
    assert thin.air_kerma_ugy > healthy.air_kerma_ugy


def test_ma_factors_scale_the_output_at_their_station_only(make_room: RoomFactory) -> None:
    faulty = make_room(faults=GeneratorFaults(ma_factors={200.0: 0.8}))
    healthy = make_room()
    assert faulty.fire(80.0, 200.0, 100.0).air_kerma_ugy == pytest.approx(
        0.8 * healthy.fire(80.0, 200.0, 100.0).air_kerma_ugy, rel=1e-9)
    assert faulty.fire(80.0, 100.0, 100.0).air_kerma_ugy == pytest.approx(
        healthy.fire(80.0, 100.0, 100.0).air_kerma_ugy, rel=1e-9)


def test_output_follows_the_inverse_square_law(make_room: RoomFactory) -> None:
    near = make_room().fire(80.0, 200.0, 100.0)
    far = make_room(meter_distance_cm=200.0).fire(80.0, 200.0, 100.0)
    assert far.air_kerma_ugy == pytest.approx(near.air_kerma_ugy / 4.0, rel=1e-9)


def test_extra_output_cv_adds_scatter(make_room: RoomFactory) -> None:
    def output_cv(room: RoomModel) -> float:
        kerma = np.array([room.fire(80.0, 200.0, 20.0).air_kerma_ugy for _ in range(40)])
        return float(np.std(kerma, ddof=1) / np.mean(kerma))

    assert output_cv(make_room(faults=GeneratorFaults(extra_output_cv=0.08))) > 3 * output_cv(make_room())


@pytest.mark.parametrize(("generator", "configured", "expected"), [
    ("single-phase", None, 100.0),
    ("three-phase", None, 13.0),
    ("high-frequency", None, 4.0),
    ("three-phase", 8.0, 8.0),
    ("high-frequency", 1.5, 1.5),
])
def test_waveform_ripple_matches_the_configuration(make_room: RoomFactory, generator: str,
                                                   configured: float | None, expected: float) -> None:
    waveform = make_room(generator=generator, ripple_percent=configured).fire(80.0, 200.0, 100.0).kv_waveform
    plateau = waveform[len(waveform) // 4: 3 * len(waveform) // 4]
    assert ripple(Q_(plateau, "kV")).magnitude == pytest.approx(expected, abs=1.0)


def test_waveform_has_zero_padding_and_dose_rate_integrates_to_the_kerma(make_room: RoomFactory) -> None:
    exposure = make_room().fire(80.0, 200.0, 100.0)
    assert exposure.kv_waveform[0] == 0.0 and exposure.kv_waveform[-1] == 0.0
    assert exposure.kv_waveform.shape == exposure.dose_rate_waveform.shape
    integral_ugy = float(np.sum(exposure.dose_rate_waveform)) * exposure.sample_interval_ms / 1000.0
    assert integral_ugy == pytest.approx(exposure.air_kerma_ugy, rel=1e-9)
    assert np.argmax(exposure.dose_rate_waveform) == np.argmax(exposure.kv_waveform)


def test_same_seed_repeats_and_other_seed_differs(make_room: RoomFactory) -> None:
    def run(room: RoomModel) -> list[SimulatedExposure]:
        return [room.fire(80.0, 200.0, 100.0) for _ in range(3)]

    first, again, other = run(make_room(seed=7)), run(make_room(seed=7)), run(make_room(seed=8))
    for a, b in zip(first, again, strict=True):
        assert (a.kv_peak_actual, a.ms_actual, a.air_kerma_ugy) == (b.kv_peak_actual, b.ms_actual, b.air_kerma_ugy)
        assert np.array_equal(a.kv_waveform, b.kv_waveform)
        assert np.array_equal(a.dose_rate_waveform, b.dose_rate_waveform)
    assert [e.air_kerma_ugy for e in first] != [e.air_kerma_ugy for e in other]
    assert [e.kv_peak_actual for e in first] != [e.kv_peak_actual for e in other]
    assert len({e.air_kerma_ugy for e in first}) == 3


def test_listeners_see_every_exposure_in_order(make_room: RoomFactory) -> None:
    room = make_room()
    seen: list[SimulatedExposure] = []
    room.subscribe(seen.append)
    fired = [room.fire(80.0, 100.0, 10.0), room.fire(80.0, 100.0, 10.0)]
    assert seen == fired
    assert [e.index for e in fired] == [1, 2]
    assert (fired[0].kv_set, fired[0].ma_set, fired[0].ms_set) == (80.0, 100.0, 10.0)


def test_firing_from_many_threads_counts_each_exposure_once(make_room: RoomFactory) -> None:
    room = make_room()
    room.fire(80.0, 100.0, 5.0)
    indices: list[int] = []
    room.subscribe(lambda exposure: indices.append(exposure.index))

    def fire_five() -> None:
        for _ in range(5):
            room.fire(80.0, 100.0, 5.0)

    threads = [threading.Thread(target=fire_five) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(indices) == list(range(2, 22))


def test_bad_configurations_are_refused() -> None:
    with pytest.raises(ValueError, match="generator"):
        RoomSimulation(generator="capacitor-discharge")
    with pytest.raises(ValueError, match="alias"):
        RoomSimulation(sample_interval_ms=0.2)
    with pytest.raises(ValueError, match="ripple"):
        RoomSimulation(ripple_percent=120.0)
    with pytest.raises(ValueError, match="meter_distance_cm"):
        RoomSimulation(meter_distance_cm=0.0)


def test_bad_techniques_are_refused(make_room: RoomFactory) -> None:
    with pytest.raises(ValueError):
        make_room().fire(80.0, 0.0, 100.0)


def test_an_aec_exposure_ends_at_the_detector_target(make_room: RoomFactory) -> None:
    # Detector at 110 cm behind 10 cm of acrylic (transmission e^(−0.2 × 10)), 100 mA, target 1 µGy:
    # t = 1 / (Y µGy/mAs × 0.1 mA/ms × (100/110)² × e^−2) ms. The meter at 100 cm then reads Y × 0.1 × t.
    room = make_room(aec_ma=100.0, aec_detector_kerma_ugy=1.0, aec_noise_cv=0.0, output_noise_cv=0.0,
                     time_noise_cv=0.0, kv_noise_cv=0.0)
    y = room._beam(80.0, 0.0).kerma_ugy_per_mas_at_1m
    expected_ms = 1.0 / (y * 0.1 * (100 / 110) ** 2 * np.exp(-2.0))
    exposure = room.fire_aec(80.0, 10.0)
    assert exposure.ms_actual == pytest.approx(expected_ms, rel=1e-9)
    thicker = room.fire_aec(80.0, 15.0)
    assert thicker.ms_actual / exposure.ms_actual == pytest.approx(np.exp(0.2 * 5), rel=1e-9)


def test_an_aec_compensates_output_noise(make_room: RoomFactory) -> None:
    room = make_room(aec_ma=200.0, aec_detector_kerma_ugy=2.5, aec_noise_cv=0.0, output_noise_cv=0.05)
    kerma = [room.fire_aec(80.0, 20.0).air_kerma_ugy for _ in range(8)]
    assert np.std(kerma, ddof=1) / np.mean(kerma) < 0.01
    with pytest.raises(ValueError, match="no automatic exposure control"):
        make_room().fire_aec(80.0, 20.0)


def test_fluoroscopy_technique_and_the_meter_distance(make_room: RoomFactory) -> None:
    room = make_room(fluoro_kv=110.0, fluoro_ma_normal=2.0, fluoro_ma_high=4.0, fluoro_point_distance_cm=50.0,
                     output_noise_cv=0.0)
    assert room.fluoro_technique("high") == (110.0, 4.0, 50.0)
    with pytest.raises(ValueError, match="no fluoroscopy"):
        make_room().fluoro_technique("normal")
    near = room.fire(80.0, 100.0, 100.0, distance_cm=50.0).air_kerma_ugy
    far = room.fire(80.0, 100.0, 100.0).air_kerma_ugy
    assert near / far == pytest.approx(4.0, rel=0.01)   # (100 cm / 50 cm)², within the time noise


def test_scatter_at_a_survey_point_follows_fraction_distance_and_barrier(make_room: RoomFactory) -> None:
    room = make_room(scatter_fraction=1e-3)
    y = room._beam(100.0, 0.0).kerma_ugy_per_mas_at_1m
    # Primary at the patient (100 cm): Y × 3 mA × 3600 s/h; × 1e-3 to 1 m; ÷ 2² at 2 m; × 0.1 transmission.
    assert room.scatter_rate_ugy_h(100.0, 3.0, 2.0, 0.1) == pytest.approx(y * 3 * 3600 * 1e-3 / 4 * 0.1, rel=1e-12)
    with pytest.raises(ValueError):
        room.scatter_rate_ugy_h(100.0, 3.0, 0.0)
