"""What a multi-function kVp meter would read from a simulated exposure.

Simulated meter drivers answer with these values, so they are derived the way a meter does: timing on the
dose-rate waveform and kV figures over the samples inside the exposure window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xcal.analysis import exposure_time, ppv
from xcal.simulators.room import SimulatedExposure
from xcal.units import Q_


@dataclass(frozen=True)
class KvpMeterValues:
    """One kVp-meter reading: kV in kV, time in ms, air kerma in µGy, HVL in mm Al, plus the kV trace."""

    kvp_max: float
    kvp_avg: float
    kvp_ppv: float
    exposure_time_ms: float
    air_kerma_ugy: float
    hvl_mm_al: float
    sample_interval_ms: float
    kv_waveform: tuple[float, ...]


def measure_kvp(exposure: SimulatedExposure, threshold: float = 0.5,
                weighting: str = "tungsten") -> KvpMeterValues:
    """Read an exposure as a kVp meter triggered at `threshold` × peak dose rate.

    kvp_max is the maximum of the whole kV waveform; kvp_avg and kvp_ppv (IEC 61676, `weighting`) use
    the samples whose dose rate is at least threshold × its peak. Raises ValueError as analysis.ppv does.
    """
    dt = exposure.sample_interval_ms
    dose_rate = np.asarray(exposure.dose_rate_waveform, dtype=float)
    kv = np.asarray(exposure.kv_waveform, dtype=float)
    duration = exposure_time(Q_(dose_rate, "µGy/s"), Q_(dt, "ms"), threshold)
    window = dose_rate >= threshold * float(np.max(dose_rate))
    return KvpMeterValues(
        kvp_max=float(np.max(kv)),
        kvp_avg=float(np.mean(kv[window])),
        kvp_ppv=float(ppv(Q_(kv[window], "kV"), weighting).to("kV").magnitude),
        exposure_time_ms=float(duration.to("ms").magnitude),
        air_kerma_ugy=float(exposure.air_kerma_ugy),
        hvl_mm_al=float(exposure.hvl_mm_al),
        sample_interval_ms=float(dt),
        kv_waveform=tuple(float(value) for value in kv),
    )
