"""A simulated X-ray room: a generator with optional faults that produces kV and dose-rate waveforms.

It stands in for a real room so that procedures, drivers and limits can be exercised end to end. Values
are plain floats in the units named by the field (kv, ma, ms, mm, ugy); this module is internal.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from xcal.simulators.spectrum import BeamQuality, SpectrumModel

DEFAULT_RIPPLE_PERCENT: Mapping[str, float] = {"single-phase": 100.0, "three-phase": 13.0,
                                               "high-frequency": 4.0}
HF_RIPPLE_HZ = 2000.0
"""Ripple frequency of the modelled high-frequency generator.

Real inverter generators ripple at tens of kHz, above the 10 kHz Nyquist limit of the default 0.05 ms
sampling, where the sampled waveform would show an aliased, slower ripple. The model uses 2 kHz so that the
default sampling resolves it (10 samples per period, landing on crest and trough); RoomSimulation refuses
a sample interval coarser than a quarter of the ripple period.
"""
_MIN_SAMPLES_PER_RIPPLE_PERIOD = 4
_PADDING_SAMPLES = 20
_HALF_POWER = 1.0 / math.sqrt(2.0)


@dataclass(frozen=True)
class GeneratorFaults:
    """Deviations of a faulty generator from its settings; the defaults describe a healthy one.

    The set kV is multiplied by kvp_scale only when strictly above kvp_scale_above_kv, then kvp_offset_kv
    is added; actual time = set time × (1 + timer_drift_percent/100); missing_filtration_mm_al is taken off
    the total filtration; ma_factors maps a set mA station to actual/set tube current; extra_output_cv adds
    output scatter in quadrature to the room's output_noise_cv; aec_noise_cv makes the AEC's termination
    erratic (the CV of the detector air kerma at which it ends an exposure).
    """

    kvp_scale: float = 1.0
    kvp_scale_above_kv: float = 0.0
    kvp_offset_kv: float = 0.0
    timer_drift_percent: float = 0.0
    missing_filtration_mm_al: float = 0.0
    ma_factors: Mapping[float, float] = field(default_factory=dict)
    extra_output_cv: float = 0.0
    aec_noise_cv: float = 0.0

    def kv_actual(self, kv_set: float) -> float:
        """Peak kV the generator delivers for a set kV, before per-exposure noise."""
        scale = self.kvp_scale if kv_set > self.kvp_scale_above_kv else 1.0
        return kv_set * scale + self.kvp_offset_kv

    def ma_factor(self, ma_set: float) -> float:
        """Actual/set tube current at this mA station (1 where no factor is given)."""
        for station, factor in self.ma_factors.items():
            if math.isclose(float(station), ma_set, rel_tol=1e-9, abs_tol=1e-9):
                return float(factor)
        return 1.0


@dataclass(frozen=True)
class RoomSimulation:
    """Configuration of a simulated room: generator type, beam geometry, sampling, noise and faults.

    ripple_percent None takes the generator type's default (DEFAULT_RIPPLE_PERCENT). The noise CVs are
    per exposure (peak kV, time, output), drawn from a numpy Generator seeded with `seed`. The ambient
    temperature and pressure are what a vented ion chamber in the room responds to. A fluoroscopy room
    gives the kV and tube currents its automatic brightness control reaches with the beam fully attenuated
    (normal and high-level modes) and the focal spot to measurement point distance; a room with an AEC
    gives its tube current and the detector air kerma at which it ends an exposure. leakage_fraction is
    the tube housing's leakage at 1 m as a fraction of the primary beam's air kerma at 1 m;
    scatter_fraction the air kerma scattered to 1 m from the patient as a fraction of the primary's at
    the patient (NCRP 147 ch. 4 uses the same kind of ratio).
    """

    generator: str = "high-frequency"
    ripple_percent: float | None = None
    mains_hz: float = 60.0
    total_filtration_mm_al: float = 2.7
    anode_angle_deg: float = 12.0
    meter_distance_cm: float = 100.0
    sample_interval_ms: float = 0.05
    rise_time_ms: float = 0.5
    kv_noise_cv: float = 0.003
    output_noise_cv: float = 0.01
    time_noise_cv: float = 0.002
    seed: int = 0
    faults: GeneratorFaults = GeneratorFaults()
    ambient_temperature_c: float = 22.0
    ambient_pressure_kpa: float = 101.325
    fluoro_kv: float | None = None
    fluoro_ma_normal: float | None = None
    fluoro_ma_high: float | None = None
    fluoro_point_distance_cm: float | None = None
    aec_ma: float | None = None
    aec_detector_kerma_ugy: float | None = None
    aec_detector_distance_cm: float = 110.0
    aec_noise_cv: float = 0.01
    phantom_attenuation_per_cm: float = 0.2
    leakage_fraction: float = 1.0e-4
    scatter_fraction: float = 1.0e-3

    def __post_init__(self) -> None:
        if self.generator not in DEFAULT_RIPPLE_PERCENT:
            raise ValueError(f"unknown generator {self.generator!r}; "
                             f"choose one of {sorted(DEFAULT_RIPPLE_PERCENT)}")
        if not 0.0 <= self.effective_ripple_percent <= 100.0:
            raise ValueError(f"ripple_percent must be between 0 and 100, got {self.ripple_percent}")
        positive = {"mains_hz": self.mains_hz, "anode_angle_deg": self.anode_angle_deg,
                    "meter_distance_cm": self.meter_distance_cm, "sample_interval_ms": self.sample_interval_ms}
        not_negative = {"total_filtration_mm_al": self.total_filtration_mm_al, "rise_time_ms": self.rise_time_ms,
                        "kv_noise_cv": self.kv_noise_cv, "output_noise_cv": self.output_noise_cv,
                        "time_noise_cv": self.time_noise_cv, "extra_output_cv": self.faults.extra_output_cv,
                        "aec_noise_cv": self.faults.aec_noise_cv,
                        "room aec_noise_cv": self.aec_noise_cv, "leakage_fraction": self.leakage_fraction,
                        "scatter_fraction": self.scatter_fraction,
                        "phantom_attenuation_per_cm": self.phantom_attenuation_per_cm}
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
        for name, value in not_negative.items():
            if not value >= 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        period_ms = 1000.0 / self.ripple_hz
        if self.sample_interval_ms * _MIN_SAMPLES_PER_RIPPLE_PERIOD > period_ms:
            raise ValueError(f"sample_interval_ms={self.sample_interval_ms} is too coarse for the "
                             f"{self.ripple_hz:g} Hz ripple of a {self.generator} generator; it would alias "
                             f"(use at most {period_ms / _MIN_SAMPLES_PER_RIPPLE_PERIOD:.4g} ms)")

    @property
    def effective_ripple_percent(self) -> float:
        """The configured ripple, or the generator type's default."""
        if self.ripple_percent is None:
            return DEFAULT_RIPPLE_PERCENT[self.generator]
        return float(self.ripple_percent)

    @property
    def ripple_hz(self) -> float:
        """Ripple frequency: 2×mains (single-phase), 6×mains (three-phase), HF_RIPPLE_HZ (high-frequency)."""
        return {"single-phase": 2.0 * self.mains_hz, "three-phase": 6.0 * self.mains_hz,
                "high-frequency": HF_RIPPLE_HZ}[self.generator]

    @property
    def effective_filtration_mm_al(self) -> float:
        """Total filtration less any missing filtration, never below zero."""
        return max(self.total_filtration_mm_al - self.faults.missing_filtration_mm_al, 0.0)


@dataclass
class SimulatedExposure:
    """One exposure as the room delivered it, with its sampled kV and dose-rate waveforms."""

    index: int
    kv_set: float
    ma_set: float
    ms_set: float
    kv_peak_actual: float
    ms_actual: float
    sample_interval_ms: float
    kv_waveform: np.ndarray
    dose_rate_waveform: np.ndarray
    air_kerma_ugy: float
    hvl_mm_al: float


def _pulse_shape(generator: str, ripple_hz: float, t_ms: np.ndarray) -> np.ndarray:
    """Ripple pattern between 0 (trough) and 1 (crest) at the generator's ripple frequency.

    Single-phase: a full-wave rectified sinusoid. Three-phase and high-frequency: the ±30° crest
    segments of a rectified sinusoid (6-pulse rectification), so the voltage dwells near its crest and
    its mean lies about a third of the ripple below the crest (a pure sinusoidal ripple would give half).
    """
    cycles = t_ms * ripple_hz / 1000.0
    if generator == "single-phase":
        return np.abs(np.cos(math.pi * cycles))
    angle = (cycles % 1.0 - 0.5) * (math.pi / 3.0)
    floor = math.cos(math.pi / 6.0)
    return (np.cos(angle) - floor) / (1.0 - floor)


def kv_waveform(simulation: RoomSimulation, kv_peak: float, ms_actual: float) -> np.ndarray:
    """Sampled kV waveform: linear rise and fall of rise_time_ms around a rippled plateau at kv_peak.

    The envelope passes 1/√2 of its peak at t = 0 and t = ms_actual, so an ideal meter timing the
    dose rate (∝ kV²) at 50 % of its peak reads ms_actual. Zero samples pad both ends.
    """
    dt, rise = simulation.sample_interval_ms, simulation.rise_time_ms
    start = -rise * _HALF_POWER
    end = ms_actual + rise * _HALF_POWER
    first = start - _PADDING_SAMPLES * dt
    count = int(math.ceil((end - first) / dt)) + _PADDING_SAMPLES + 1
    t_ms = first + dt * np.arange(count)
    if rise > 0.0:
        envelope = np.clip(np.minimum((t_ms - start) / rise, (end - t_ms) / rise), 0.0, 1.0)
    else:
        envelope = ((t_ms >= 0.0) & (t_ms <= ms_actual)).astype(float)
    depth = simulation.effective_ripple_percent / 100.0
    pulses = _pulse_shape(simulation.generator, simulation.ripple_hz, dt * np.arange(count))
    return kv_peak * envelope * (1.0 - depth * (1.0 - pulses))


class RoomModel:
    """Fires exposures in a simulated room and tells subscribed listeners about each one."""

    def __init__(self, simulation: RoomSimulation, spectra: SpectrumModel | None = None) -> None:
        self.simulation = simulation
        self._spectra = spectra if spectra is not None else SpectrumModel()
        self._rng = np.random.default_rng(simulation.seed)
        self._count = 0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[SimulatedExposure], None]] = []

    def subscribe(self, listener: Callable[[SimulatedExposure], None]) -> None:
        """Call `listener` with every exposure fired from now on, in the firing thread."""
        with self._lock:
            self._listeners.append(listener)

    def fire(self, kv: float, ma: float, ms: float, added_filtration_mm_al: float = 0.0, *,
             distance_cm: float | None = None, field_factor: float = 1.0) -> SimulatedExposure:
        """Make one exposure at the set kV, mA and ms, with Al added in the beam before the meter; thread-safe.

        Air kerma = output per mAs at the actual noise-free peak kV and effective filtration × actual mA
        × ∫(U(t)/U_peak)² dt (≈ actual time × its mean over the exposure: output taken ∝ kV², which
        charges ripple and ramps for their lower output) × (100 cm / meter distance)² × field_factor
        × (1 + output noise). distance_cm overrides the room's meter distance for this exposure; field_factor
        scales the air kerma reaching the meter (a housing's leakage fraction, a phantom's transmission).
        Listeners are called after the exposure is built, outside the room's lock; their exceptions propagate.
        """
        self._check_technique(kv, ma, ms, added_filtration_mm_al, distance_cm, field_factor)
        with self._lock:
            self._count += 1
            index = self._count
            kv_draw, time_draw, output_draw = self._rng.standard_normal(3)
            listeners = list(self._listeners)
        faults = self.simulation.faults
        ms_actual = ms * (1.0 + faults.timer_drift_percent / 100.0) * (1.0 + self.simulation.time_noise_cv * time_draw)
        return self._deliver(index, listeners, kv, ma, ms, max(ms_actual, 0.0), kv_draw, output_draw,
                             added_filtration_mm_al, distance_cm, field_factor)

    def fire_aec(self, kv: float, phantom_cm: float, distance_cm: float | None = None) -> SimulatedExposure:
        """An exposure ended by the AEC behind `phantom_cm` of acrylic; the meter sits at the phantom's entrance.

        The AEC ends the exposure when its detector (at aec_detector_distance_cm, behind the phantom, whose
        transmission is exp(−phantom_attenuation_per_cm × thickness)) has received aec_detector_kerma_ugy,
        each time within aec_noise_cv (a sound AEC's scatter) and the fault's, in quadrature. Output and timer
        noise are therefore compensated: the entrance air kerma varies only with the AEC's own scatter.
        Raises ValueError in a room without an AEC.
        """
        sim = self.simulation
        if sim.aec_ma is None or sim.aec_detector_kerma_ugy is None:
            raise ValueError("this room has no automatic exposure control (give `aec:` in its simulation)")
        if phantom_cm < 0:
            raise ValueError(f"phantom thickness cannot be negative, got {phantom_cm} cm")
        self._check_technique(kv, sim.aec_ma, 1.0, 0.0, distance_cm, 1.0)
        with self._lock:
            self._count += 1
            index = self._count
            kv_draw, output_draw, aec_draw = self._rng.standard_normal(3)
            listeners = list(self._listeners)
        beam = self._beam(self.simulation.faults.kv_actual(kv), 0.0)
        output_cv = math.hypot(sim.output_noise_cv, sim.faults.extra_output_cv)
        output_factor = max(1.0 + output_cv * output_draw, 1e-6)
        transmission = math.exp(-sim.phantom_attenuation_per_cm * phantom_cm)
        detector_rate_ugy_per_ms = (beam.kerma_ugy_per_mas_at_1m * sim.aec_ma * sim.faults.ma_factor(sim.aec_ma)
                                    / 1000.0 * (100.0 / sim.aec_detector_distance_cm) ** 2 * transmission
                                    * output_factor)
        target = sim.aec_detector_kerma_ugy * max(1.0 + math.hypot(sim.aec_noise_cv, sim.faults.aec_noise_cv)
                                                  * aec_draw, 0.05)
        ms = target / detector_rate_ugy_per_ms
        return self._deliver(index, listeners, kv, sim.aec_ma, ms, ms, kv_draw, output_draw, 0.0, distance_cm, 1.0,
                             output_factor=output_factor)

    def fluoro_technique(self, mode: str) -> tuple[float, float, float]:
        """(kV, mA, focal spot to measurement point in cm) the ABC reaches in `mode` ('normal' or 'high')."""
        sim = self.simulation
        ma = {"normal": sim.fluoro_ma_normal, "high": sim.fluoro_ma_high}.get(mode)
        if mode not in ("normal", "high"):
            raise ValueError(f"fluoroscopy mode '{mode}' is not 'normal' or 'high'")
        if sim.fluoro_kv is None or ma is None or sim.fluoro_point_distance_cm is None:
            raise ValueError(f"this room has no fluoroscopy in {mode} mode (give `fluoroscopy:` in its simulation)")
        return sim.fluoro_kv, ma, sim.fluoro_point_distance_cm

    def scatter_rate_ugy_h(self, kv: float, ma: float, distance_m: float, transmission: float = 1.0,
                           patient_distance_cm: float = 100.0) -> float:
        """Air-kerma rate (µGy/h) scattered from a patient at `patient_distance_cm` from the focal spot to a
        point `distance_m` from the patient, behind a barrier of the given transmission; noise-free.

        = primary rate at the patient × scatter_fraction × (1 m / distance)² × transmission.
        """
        if distance_m <= 0 or not 0 <= transmission <= 1:
            raise ValueError(f"a survey point needs a positive distance and a transmission in [0, 1], got "
                             f"{distance_m} m and {transmission}")
        sim = self.simulation
        beam = self._beam(sim.faults.kv_actual(kv), 0.0)
        primary_ugy_h = (beam.kerma_ugy_per_mas_at_1m * ma * sim.faults.ma_factor(ma) * 3600.0
                         * (100.0 / patient_distance_cm) ** 2)
        return primary_ugy_h * sim.scatter_fraction / distance_m ** 2 * transmission

    def _beam(self, kv_beam: float, added_filtration_mm_al: float) -> BeamQuality:
        sim = self.simulation
        return self._spectra.beam(kv_beam, sim.effective_filtration_mm_al + added_filtration_mm_al,
                                  sim.anode_angle_deg)

    def _check_technique(self, kv: float, ma: float, ms: float, added: float, distance_cm: float | None,
                         field_factor: float) -> None:
        if kv <= 0 or ma <= 0 or ms <= 0:
            raise ValueError(f"kV, mA and ms must be positive, got {kv} kV, {ma} mA, {ms} ms")
        kv_beam = self.simulation.faults.kv_actual(kv)
        if kv_beam <= 0:
            raise ValueError(f"the faulted generator would deliver {kv_beam} kV at a setting of {kv} kV")
        if added < 0:
            raise ValueError(f"added filtration cannot be negative, got {added} mm Al")
        if distance_cm is not None and distance_cm <= 0:
            raise ValueError(f"the meter distance must be positive, got {distance_cm} cm")
        if field_factor < 0:
            raise ValueError(f"the field factor cannot be negative, got {field_factor}")

    def _deliver(self, index: int, listeners: list[Callable[[SimulatedExposure], None]], kv: float, ma: float,
                 ms: float, ms_actual: float, kv_draw: float, output_draw: float, added: float,
                 distance_cm: float | None, field_factor: float, output_factor: float | None = None
                 ) -> SimulatedExposure:
        sim, faults = self.simulation, self.simulation.faults
        kv_beam = faults.kv_actual(kv)
        beam = self._beam(kv_beam, added)
        if output_factor is None:
            output_cv = math.hypot(sim.output_noise_cv, faults.extra_output_cv)
            output_factor = max(1.0 + output_cv * output_draw, 0.0)
        kv_peak = kv_beam * (1.0 + sim.kv_noise_cv * kv_draw)
        distance = sim.meter_distance_cm if distance_cm is None else distance_cm
        exposure = self._build(index, kv, ma, ms, kv_peak, ms_actual, beam, faults.ma_factor(ma),
                               output_factor * field_factor, distance)
        for listener in listeners:
            listener(exposure)
        return exposure

    def _build(self, index: int, kv: float, ma: float, ms: float, kv_peak: float, ms_actual: float,
               beam: BeamQuality, ma_factor: float, output_factor: float, distance_cm: float) -> SimulatedExposure:
        """Waveforms and air kerma of one exposure from its already drawn actual values."""
        sim = self.simulation
        dt = sim.sample_interval_ms
        kv_trace = kv_waveform(sim, kv_peak, ms_actual)
        relative_power = (kv_trace / kv_peak) ** 2
        effective_ms = float(np.sum(relative_power) * dt)
        air_kerma = (beam.kerma_ugy_per_mas_at_1m * ma * ma_factor * effective_ms / 1000.0
                     * (100.0 / distance_cm) ** 2 * output_factor)
        area = float(np.sum(relative_power)) * dt / 1000.0
        dose_rate = relative_power * (air_kerma / area) if area > 0 else np.zeros_like(kv_trace)
        return SimulatedExposure(index=index, kv_set=kv, ma_set=ma, ms_set=ms, kv_peak_actual=kv_peak,
                                 ms_actual=ms_actual, sample_interval_ms=dt, kv_waveform=kv_trace,
                                 dose_rate_waveform=dose_rate, air_kerma_ugy=air_kerma,
                                 hvl_mm_al=beam.hvl_mm_al)
