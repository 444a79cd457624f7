"""Detector QC of DX images: read flat-field (and dark) images and apply xcal.analysis.detector to them.

Reports numbers, no verdict: the tolerances belong in limit sets with their sources (see the analysis
module for which formulas are verified and which are not).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class DetectorAssessment:
    """The metrics of one flat-field image: tags as read, offset used, SNR, non-uniformities, defects, EI accuracy."""

    source: str
    sop_class: str
    exposure_index: float | None
    target_exposure_index: float | None
    deviation_index: float | None
    offset: float
    offset_from: str
    snr: float
    global_nonuniformity: float
    local_nonuniformity: float
    grid: int
    defective_pixels: int
    dead_rows: tuple[int, ...]
    dead_columns: tuple[int, ...]
    ei_error: float | None
    expected_exposure_index: float | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def assess(flat: str | Path, *, dark: str | Path | None = None, offset: float | None = None,
           air_kerma: Any = None, grid: int = 5) -> DetectorAssessment:
    """Metrics of the flat field `flat`: offset from the mean of `dark`, or `offset`, or 0 (said in offset_from);
    EI accuracy when the air kerma measured at the detector is given (a pint Quantity)."""
    from ..analysis import detector as metrics
    from . import require
    from .objects import read_image

    require()
    image = read_image(flat)
    if dark is not None and offset is not None:
        raise ConfigError("give either a dark image or an offset, not both", fix="drop --offset or --dark")
    if dark is not None:
        offset, offset_from = float(read_image(dark).pixels.mean()), f"mean of the dark image {dark}"
    elif offset is not None:
        offset_from = "as given"
    else:
        offset, offset_from = 0.0, "none given: 0 (give --dark for a detector with an offset)"
    try:
        roi = metrics.roi_grid(image.pixels, grid, grid, offset=offset)
        found = metrics.defects(image.pixels, offset=offset)
        snr = metrics.snr(image.pixels, offset=offset)
    except ValueError as exc:
        raise ConfigError(f"{flat}: {exc}", fix="give a flat-field image of at least 10 × 10 pixels with noise, "
                                                "and --grid smaller than a fifth of its size") from None
    ei_error = expected = None
    if air_kerma is not None:
        if image.exposure_index is None:
            raise ConfigError(f"{flat} has no Exposure Index (0018,1411), so its EI accuracy cannot be checked",
                              fix="leave out --air-kerma, or use an image from a detector that writes the EI")
        result = metrics.ei_accuracy(image.exposure_index, air_kerma)
        ei_error, expected = result.error, result.expected
    return DetectorAssessment(str(flat), image.sop_class, image.exposure_index, image.target_exposure_index,
                              image.deviation_index, float(offset), offset_from, snr,
                              metrics.global_nonuniformity(roi), metrics.local_nonuniformity(roi), grid,
                              found.count, found.rows, found.columns, ei_error, expected)
