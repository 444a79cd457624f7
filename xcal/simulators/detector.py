"""A simulated DR detector: flat-field and dark images as DICOM DX objects, with the exposure index tags.

Linear model per pixel (i, j): PV = offset + G · g_ij · N_ij + e_ij, where N_ij ~ Poisson(q · K) is the number
of quanta detected for air kerma K at the detector, q quanta per µGy per pixel, G digital values per quantum,
g_ij a fixed gain map (pixel-to-pixel scatter and a linear gradient across the columns: the residual
non-uniformity flat-field correction leaves), and e_ij ~ Normal(0, σ_e) the electronic noise. So the mean
response, offset subtracted, is ∝ K and its quantum variance ∝ K, with a floor σ_e² (qc-reference.md §7b).

The detector's exposure index follows IEC 62494-1 as qc-reference.md §7b quotes it: EI = 100 × K in µGy,
K estimated from the central ROI's mean response; DI = 10·log10(EI/EI_T). The default numbers (350 quanta
per µGy per 0.14 mm pixel, 2 DV per quantum, 100 DV offset, 3 DV electronic noise) are invented to look like
a caesium-iodide detector at RQA5; they are SIMULATED, not any product's data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DetectorFaults:
    """Faults on demand; the defaults describe a healthy detector.

    dead_pixels (row, column) and dead_rows / dead_columns give no response (offset and electronic noise
    only); drift_region (row0, row1, col0, col1, half-open) has its gain multiplied by drift_gain; ei_scale
    multiplies the exposure index the detector reports (1.25 = calibrated 25 % high); ghost_fraction of the
    previous image's response (offset subtracted) stays in the next image (lag: a ghost of the last exposure).
    """

    dead_pixels: tuple[tuple[int, int], ...] = ()
    dead_rows: tuple[int, ...] = ()
    dead_columns: tuple[int, ...] = ()
    drift_region: tuple[int, int, int, int] | None = None
    drift_gain: float = 1.0
    ei_scale: float = 1.0
    ghost_fraction: float = 0.0


@dataclass(frozen=True)
class DetectorModel:
    """A linear DR detector (see the module docstring); `seed` fixes its gain map, each image draws its own noise."""

    rows: int = 128
    columns: int = 128
    pixel_pitch_mm: float = 0.14
    quanta_per_ugy: float = 350.0
    dv_per_quantum: float = 2.0
    offset_dv: float = 100.0
    electronic_noise_dv: float = 3.0
    gain_scatter: float = 0.005
    gain_gradient: float = 0.0
    target_exposure_index: float = 250.0
    bits_stored: int = 14
    station_name: str = "SIMDR"
    device_serial: str = "SIM-DR-0001"
    seed: int = 0
    faults: DetectorFaults = field(default_factory=DetectorFaults)

    def __post_init__(self) -> None:
        for name in ("rows", "columns", "pixel_pitch_mm", "quanta_per_ugy", "dv_per_quantum",
                     "target_exposure_index"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("offset_dv", "electronic_noise_dv", "gain_scatter"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")

    def gain_map(self) -> np.ndarray:
        """g_ij: 1 ± gain_scatter per pixel (seeded), × (1 + gain_gradient·(x − ½)) across the columns,
        × drift_gain in the drift region, 0 on dead pixels and lines."""
        rng = np.random.default_rng(self.seed)
        gain = 1.0 + self.gain_scatter * rng.standard_normal((self.rows, self.columns))
        x = (np.arange(self.columns) + 0.5) / self.columns
        gain *= 1.0 + self.gain_gradient * (x - 0.5)
        f = self.faults
        if f.drift_region is not None:
            r0, r1, c0, c1 = f.drift_region
            gain[r0:r1, c0:c1] *= f.drift_gain
        for r, c in f.dead_pixels:
            gain[r, c] = 0.0
        for r in f.dead_rows:
            gain[r, :] = 0.0
        for c in f.dead_columns:
            gain[:, c] = 0.0
        return gain

    def image(self, air_kerma_ugy: float, rng: np.random.Generator, previous: np.ndarray | None = None) -> np.ndarray:
        """Raw pixel values for a uniform air kerma (µGy) at the detector, saturating at 2^bits_stored − 1 as the
        detector's converter does; 0 gives a dark image. `previous` (the last image's raw values) leaves its
        ghost_fraction share of response behind."""
        if air_kerma_ugy < 0:
            raise ValueError(f"air kerma must not be negative, got {air_kerma_ugy} µGy")
        quanta = rng.poisson(self.quanta_per_ugy * air_kerma_ugy, (self.rows, self.columns))
        noise = self.electronic_noise_dv * rng.standard_normal((self.rows, self.columns))
        raw = self.offset_dv + self.dv_per_quantum * self.gain_map() * quanta + noise
        if previous is not None and self.faults.ghost_fraction:
            raw += self.faults.ghost_fraction * np.clip(previous - self.offset_dv, 0.0, None)
        return np.clip(raw, 0.0, float((1 << self.bits_stored) - 1))

    def exposure_index(self, pixels: np.ndarray) -> float | None:
        """EI = 100 × K (µGy), K from the central half-by-half ROI's mean response, × the ei_scale fault; None
        when there is no response above the offset (a dark image has no EI)."""
        r, c = pixels.shape
        centre = pixels[r // 4: r - r // 4, c // 4: c - c // 4]
        kerma = (float(centre.mean()) - self.offset_dv) / (self.dv_per_quantum * self.quanta_per_ugy)
        return 100.0 * kerma * self.faults.ei_scale if kerma > 0 else None

    def dx(self, air_kerma_ugy: float, *, seed: int, for_processing: bool = True, kvp: float = 70.0,
           exposure_uas: float = 0.0, previous: np.ndarray | None = None) -> Any:
        """A DX dataset (For Processing or For Presentation) of a flat field at `air_kerma_ugy`, with its EI tags."""
        from xcal.dicom.objects import dx_image

        pixels = self.image(air_kerma_ugy, np.random.default_rng(seed), previous)
        # uGy, not µGy: the comment is in DICOM's default character set, plain ASCII.
        kind = "dark image" if air_kerma_ugy == 0 else f"flat field at {air_kerma_ugy:.4g} uGy"
        ei = None if air_kerma_ugy == 0 else self.exposure_index(pixels)      # a dark frame has no EI
        return dx_image(pixels, for_processing=for_processing, exposure_index=ei,
                        target_exposure_index=self.target_exposure_index, kvp=kvp, exposure_uas=exposure_uas,
                        pixel_spacing_mm=self.pixel_pitch_mm, station_name=self.station_name,
                        device_serial=self.device_serial, bits_stored=self.bits_stored,
                        comment=f"SIMULATED DR detector {kind}")


def expose_detector(room: object, detector: DetectorModel, kv: float, ma: float, ms: float, *,
                    sid_cm: float = 100.0, for_processing: bool = True) -> tuple[Any, Any]:
    """Fire the simulated room (a RoomModel) with the detector at `sid_cm` and return (exposure, DX dataset):
    the image is the detector's response to the air kerma the room delivered there."""
    exposure = room.fire(kv, ma, ms, distance_cm=sid_cm)              # type: ignore[attr-defined]
    ds = detector.dx(exposure.air_kerma_ugy, seed=detector.seed * 100003 + exposure.index,
                     for_processing=for_processing, kvp=kv, exposure_uas=ma * ms)
    return exposure, ds


def dark_dx(detector: DetectorModel, *, seed: int, for_processing: bool = True) -> Any:
    """A dark (unexposed) DX image: offset and electronic noise only."""
    return detector.dx(0.0, seed=seed, for_processing=for_processing, kvp=0.0)


FAULT_PRESETS: dict[str, DetectorFaults] = {
    "dead-pixels": DetectorFaults(dead_pixels=((10, 12), (40, 97), (77, 31), (100, 100))),
    "dead-line": DetectorFaults(dead_columns=(64,)),
    "gain-drift": DetectorFaults(drift_region=(0, 64, 0, 64), drift_gain=0.85),
    "ei-25": DetectorFaults(ei_scale=1.25),
    "lag": DetectorFaults(ghost_fraction=0.05),
}
"""Named faults for the demo (`xcal dicom simulate-detector --fault NAME`), each one of the common DR faults on
the default 128 × 128 detector: four dead pixels, a dead column, the top-left quarter's gain 15 % low, an EI
calibrated 25 % high, 5 % of the last image's response left in the next (lag)."""


def with_faults(names: list[str], **settings: object) -> DetectorModel:
    """A DetectorModel with the named FAULT_PRESETS combined; ValueError naming an unknown one."""
    combined: dict[str, object] = {}
    for name in names:
        if name not in FAULT_PRESETS:
            raise ValueError(f"unknown detector fault '{name}'; use one of: {', '.join(FAULT_PRESETS)}")
        preset = FAULT_PRESETS[name]
        for key, value in preset.__dict__.items():
            if value != getattr(DetectorFaults(), key):
                combined[key] = value
    return DetectorModel(faults=DetectorFaults(**combined), **settings)  # type: ignore[arg-type]


MAX_AIR_KERMA_UGY = 20.0
"""Above about 23 µGy the default detector's 14 bits saturate (100 + 2 × 350 × K > 16383); 20 keeps a margin."""


def air_kerma_ugy(text: str) -> float:
    """An air kerma at the detector written with its unit ('2.5 µGy'), in µGy, within the detector's range;
    ConfigError naming the value and the fix otherwise."""
    from xcal.errors import ConfigError
    from xcal.units import parse_quantity

    try:
        kerma = float(parse_quantity(text, "air_kerma").to("µGy").magnitude)
    except ValueError as exc:
        raise ConfigError(f"--air-kerma: {exc}", fix="write it with its unit, e.g. --air-kerma '2.5 µGy'") from None
    if not 0 < kerma <= MAX_AIR_KERMA_UGY:
        raise ConfigError(f"--air-kerma {text} is outside the simulated detector's range (above 0, up to "
                          f"{MAX_AIR_KERMA_UGY:g} µGy before its 14 bits saturate)",
                          fix="give e.g. --air-kerma '2.5 µGy'")
    return kerma


def technique_of(technique: str, sid: str) -> tuple[float, float, float, float]:
    """(kV, mA, ms, SID in cm) from '70 kV 10 mA 5 ms' and '100 cm'; ConfigError naming what is wrong."""
    from xcal.errors import ConfigError
    from xcal.units import parse_quantity

    parts = technique.split()
    fix = "write the technique as three quantities, e.g. --technique '70 kV 10 mA 5 ms', and --sid '100 cm'"
    if len(parts) != 6:
        raise ConfigError(f"--technique '{technique}' is not 'KV MA MS' with units", fix=fix)
    try:
        kv = parse_quantity(" ".join(parts[0:2]), "voltage").to("kV").magnitude
        ma = parse_quantity(" ".join(parts[2:4]), "current").to("mA").magnitude
        ms = parse_quantity(" ".join(parts[4:6]), "time").to("ms").magnitude
        sid_cm = parse_quantity(sid, "length").to("cm").magnitude
    except ValueError as exc:
        raise ConfigError(f"--technique/--sid: {exc}", fix=fix) from None
    return float(kv), float(ma), float(ms), float(sid_cm)


class SimulatedModality:
    """A room's simulated DR modality: images every exposure of the room model (the detector at the meter's
    place, so both see the same air kerma) and, in a zero field, a dark image; sends each by C-STORE to
    `destination` (called AE title, host, port; None keeps them) as `ae_title`. SIMULATED: no image is real.

    A detector with the `lag` fault keeps a share of the last image in the next one, as a ghost.
    """

    def __init__(self, detector: DetectorModel, ae_title: str, destination: tuple[str, str, int] | None, *,
                 field_area_cm2: float = 100.0) -> None:
        self.detector, self.ae_title, self.destination = detector, ae_title, destination
        self.field_area_cm2 = field_area_cm2
        self.sent: list[object] = []
        self.events: list[dict[str, float]] = []
        self._previous: np.ndarray | None = None
        self._count = 0

    def on_exposure(self, exposure: object) -> None:
        """Image the room model's exposure (a SimulatedExposure) and send it."""
        kerma = float(exposure.air_kerma_ugy)                            # type: ignore[attr-defined]
        self.events.append({"dap_gy_m2": kerma * 1e-6 * self.field_area_cm2 * 1e-4, "rp_air_kerma_gy": kerma * 1e-6,
                            "kvp": float(exposure.kv_set), "ma": float(exposure.ma_set),  # type: ignore[attr-defined]
                            "ms": float(exposure.ms_set)})                              # type: ignore[attr-defined]
        self._image(kerma, float(exposure.kv_set),                      # type: ignore[attr-defined]
                    float(exposure.ma_set) * float(exposure.ms_set))    # type: ignore[attr-defined]

    def dose_report(self) -> object:
        """An X-Ray Radiation Dose SR of every exposure imaged so far: DAP = air kerma × field_area_cm2 (taken at
        the detector's plane), the reference-point air kerma taken as the air kerma at the detector. SIMULATED."""
        from xcal.dicom.rdsr import build_report

        return build_report(self.events, station_name=self.detector.station_name,
                            device_serial=self.detector.device_serial, comment="SIMULATED dose report")

    def set_field(self, rate: float) -> None:
        """A zero field (no source out): acquire a dark image and send it; any other field makes no image."""
        if rate == 0:
            self._image(0.0, 0.0, 0.0)

    def _image(self, kerma: float, kv: float, uas: float) -> None:
        self._count += 1
        ds = self.detector.dx(kerma, seed=self.detector.seed * 100003 + self._count, kvp=kv, exposure_uas=uas,
                              previous=self._previous)
        self._previous = ds.pixel_array.astype(float)
        if self.destination is not None:
            send(ds, self.ae_title, self.destination)
        self.sent.append(ds)


def send(ds: object, calling_ae: str, destination: tuple[str, str, int], timeout_s: float = 10.0) -> None:
    """C-STORE one dataset to (called AE title, host, port); RuntimeError naming the status when it is refused."""
    from pydicom.uid import ExplicitVRLittleEndian
    from pynetdicom import AE

    called, host, port = destination
    ae = AE(ae_title=calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = ae.connection_timeout = timeout_s
    ae.add_requested_context(str(ds.SOPClassUID), [ExplicitVRLittleEndian])          # type: ignore[attr-defined]
    assoc = ae.associate(host, port, ae_title=called)
    if not assoc.is_established:
        raise RuntimeError(f"the simulated modality {calling_ae} could not associate with {called}@{host}:{port}")
    try:
        status = assoc.send_c_store(ds)                                # type: ignore[arg-type]
    finally:
        assoc.release()
    if not status or int(status.Status) != 0:
        raise RuntimeError(f"{called}@{host}:{port} refused the simulated image: {status}")
