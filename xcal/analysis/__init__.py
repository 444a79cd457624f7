"""Pure analysis functions over pint Quantities: statistics of readings and kV/dose-rate waveforms."""

from xcal.analysis.statistics import as_quantity_array, cv, error, mean, percent_error, sample_sd
from xcal.analysis.waveform import WEIGHTINGS, PpvWeighting, exposure_time, ppv, ripple

__all__ = [
    "WEIGHTINGS",
    "PpvWeighting",
    "as_quantity_array",
    "cv",
    "error",
    "exposure_time",
    "mean",
    "percent_error",
    "ppv",
    "ripple",
    "sample_sd",
]
