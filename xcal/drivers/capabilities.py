"""What a meter can do, independent of make and model.

Procedures ask for a capability (`KvpMeter`, `Electrometer`, ...), never for a model; a driver declares which
capabilities it implements, and `CAPABILITIES` lists the readings each one may deliver so procedures and
command maps can be checked when they are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    import pint

CAPABILITIES: dict[str, tuple[str, ...]] = {
    "KvpMeter": ("kvp_max", "kvp_avg", "kvp_ppv", "exposure_time", "air_kerma", "waveform"),
    "Electrometer": ("charge", "current"),
    "Dosimeter": ("air_kerma", "air_kerma_rate"),
    "DapMeter": ("dap", "dap_rate"),
    "SurveyMeter": ("dose_rate", "exposure_rate", "count_rate", "dose"),
    "Environment": ("temperature", "pressure"),
    "DetectorImage": ("pixel_mean", "pixel_sd", "exposure_index", "snr", "global_nonuniformity",
                      "local_nonuniformity", "defective_pixels", "defective_lines"),
    "DicomConnection": ("association_ms", "echo_ms", "store_ms", "commit_ms", "failed_steps"),
}
"""DetectorImage and DicomConnection are read through DICOM from the site's `dicom:` section (xcal.dicom.acquire)."""

# A unit of the right dimension for each scalar reading: a reading given in any unit of the same dimension is
# accepted (kV or V; ms or s). `waveform` is absent: it is a series of kV samples at a time interval.
READING_UNITS: dict[str, str] = {
    "kvp_max": "kV",
    "kvp_avg": "kV",
    "kvp_ppv": "kV",
    "exposure_time": "ms",
    "air_kerma": "mGy",
    "charge": "nC",
    "current": "pA",
    "air_kerma_rate": "mGy/s",
    "dap": "Gy*cm**2",
    "dap_rate": "Gy*cm**2/s",
    "dose_rate": "µSv/h",
    "exposure_rate": "mR/h",
    "count_rate": "cpm",
    "dose": "µSv",
    "temperature": "degC",
    "pressure": "kPa",
    **{name: "" for name in ("pixel_mean", "pixel_sd", "exposure_index", "snr", "global_nonuniformity",
                             "local_nonuniformity", "defective_pixels", "defective_lines", "failed_steps")},
    **{name: "ms" for name in ("association_ms", "echo_ms", "store_ms", "commit_ms")},
}


@dataclass(frozen=True)
class InstrumentIdentity:
    """Who the instrument says it is; stored with every reading it gives."""

    make: str
    model: str
    serial: str
    firmware: str


@dataclass(frozen=True)
class Waveform:
    """A sampled signal (kV against time for a kVp meter): equally spaced `samples`, `interval` apart."""

    interval: pint.Quantity
    samples: pint.Quantity


@runtime_checkable
class KvpMeter(Protocol):
    """A non-invasive kVp meter: armed before a shot, polled until it has the reading, then read."""

    def identify(self) -> InstrumentIdentity:
        """Ask the meter for its make, model, serial number and firmware."""
        ...

    def arm(self) -> None:
        """Prepare the meter for the next exposure, clearing its last reading."""
        ...

    def wait_for_exposure(self, timeout: pint.Quantity) -> None:
        """Poll the meter until a reading is ready; raise InstrumentTimeout if none comes in `timeout`."""
        ...

    def read_exposure(self) -> dict[str, pint.Quantity]:
        """The last exposure's readings (among kvp_max, kvp_avg, kvp_ppv, exposure_time, air_kerma)."""
        ...

    def read_waveform(self) -> Waveform:
        """The last exposure's kV waveform."""
        ...

    def close(self) -> None:
        """Release the link to the meter."""
        ...


@runtime_checkable
class ExposureInstrument(Protocol):
    """An instrument read around an exposure: arm, expose, wait, read; `read_now` without an exposure cycle."""

    def identify(self) -> InstrumentIdentity: ...
    def arm(self) -> None: ...
    def wait_for_exposure(self, timeout: pint.Quantity) -> None: ...
    def read_exposure(self) -> dict[str, pint.Quantity]: ...
    def read_now(self) -> dict[str, pint.Quantity]: ...
    def close(self) -> None: ...


@runtime_checkable
class Electrometer(ExposureInstrument, Protocol):
    """An electrometer with an ion chamber: arm resets and starts integrating; `read_exposure` gives the
    integrated `charge` (and `current` where the instrument reports it)."""


@runtime_checkable
class Dosimeter(ExposureInstrument, Protocol):
    """A dosimeter that reports air kerma (and its rate) itself, with its own calibration applied."""


@runtime_checkable
class DapMeter(ExposureInstrument, Protocol):
    """A dose-area-product meter: arm (reset), expose, read `dap` (and `dap_rate`)."""


@runtime_checkable
class SurveyMeter(Protocol):
    """A survey meter or counter: `read_now` gives dose_rate and/or count_rate (and dose where kept).

    A count rate becomes a dose rate only through a calibration factor from the site file, never a constant
    hidden in a driver.
    """

    def identify(self) -> InstrumentIdentity: ...
    def read_now(self) -> dict[str, pint.Quantity]: ...
    def close(self) -> None: ...


@runtime_checkable
class Environment(Protocol):
    """A thermometer and barometer for k_TP: `read_now` gives temperature and pressure."""

    def identify(self) -> InstrumentIdentity: ...
    def read_now(self) -> dict[str, pint.Quantity]: ...
    def close(self) -> None: ...
