"""measure_kvp on hand-built exposures and on exposures from a simulated room."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from xcal.simulators.meters import KvpMeterValues, measure_kvp
from xcal.simulators.room import RoomModel, SimulatedExposure

# Tungsten weights from the U >= 20 kV polynomial (worked in tests/analysis/test_waveform.py)
W60, W80 = 0.04149543, 0.07106073


def hand_exposure() -> SimulatedExposure:
    """kV 0-20-40-60-80-80-80-60-40-20-0 at 1 ms, dose rate = kV² (µGy/s)."""
    kv = np.array([0, 20, 40, 60, 80, 80, 80, 60, 40, 20, 0], dtype=float)
    return SimulatedExposure(index=1, kv_set=80.0, ma_set=100.0, ms_set=5.0, kv_peak_actual=80.0, ms_actual=5.0,
                             sample_interval_ms=1.0, kv_waveform=kv, dose_rate_waveform=kv ** 2,
                             air_kerma_ugy=123.0, hvl_mm_al=2.9)


def test_hand_exposure_at_half_peak() -> None:
    # Dose rate 0 400 1600 3600 6400 6400 6400 3600 1600 400 0, level 3200:
    # rise 2 + (3200 − 1600)/(3600 − 1600) = 2.8; fall 7 + (3600 − 3200)/(3600 − 1600) = 7.2 → 4.4 ms.
    # Window = samples 3..7 = kV 60 80 80 80 60: mean 72; PPV (2·60·W60 + 3·80·W80)/(2 W60 + 3 W80)
    # = (4.979 452 + 17.054 575)/0.296 173 = 74.3958 kV.
    values = measure_kvp(hand_exposure())
    assert isinstance(values, KvpMeterValues)
    assert values.exposure_time_ms == pytest.approx(4.4)
    assert values.kvp_max == 80.0
    assert values.kvp_avg == pytest.approx(72.0)
    assert values.kvp_ppv == pytest.approx((2 * 60 * W60 + 3 * 80 * W80) / (2 * W60 + 3 * W80), rel=1e-6)
    assert values.kvp_ppv == pytest.approx(74.3958, abs=1e-3)
    assert (values.air_kerma_ugy, values.hvl_mm_al, values.sample_interval_ms) == (123.0, 2.9, 1.0)
    assert values.kv_waveform == (0.0, 20.0, 40.0, 60.0, 80.0, 80.0, 80.0, 60.0, 40.0, 20.0, 0.0)


def test_hand_exposure_at_a_quarter_of_the_peak() -> None:
    # Level 1600 is met exactly at samples 2 and 8 → 6 ms; window kV 40 60 80 80 80 60 40, mean 440/7.
    values = measure_kvp(hand_exposure(), threshold=0.25)
    assert values.exposure_time_ms == pytest.approx(6.0)
    assert values.kvp_avg == pytest.approx(440 / 7)


def test_mammography_weighting_refuses_an_80_kv_exposure() -> None:
    with pytest.raises(ValueError, match="50 kV"):
        measure_kvp(hand_exposure(), weighting="mammography")


def test_rippled_waveform_reads_mean_below_ppv_below_max(make_room: Callable[..., RoomModel]) -> None:
    values = measure_kvp(make_room(generator="three-phase").fire(80.0, 200.0, 100.0))
    assert values.kvp_avg < values.kvp_ppv < values.kvp_max
    assert values.kvp_max == pytest.approx(80.0, rel=0.01)
