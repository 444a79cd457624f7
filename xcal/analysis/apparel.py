"""Rejection of protective aprons and thyroid shields for defects seen at their annual inspection.

Criteria of Lambert K., McKeon T., Health Phys 80 (Suppl 5): S67-S69 (2001) [citation checked, numbers
quoted]: reject a defect larger than 15 mm² over a critical organ, 670 mm² elsewhere, 11 mm² in a thyroid shield.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from xcal.analysis._checks import scalar
from xcal.units import Q_

if TYPE_CHECKING:  # pragma: no cover
    import pint

_EXACT = 1e-9
SOURCE = ("Lambert K., McKeon T., Inspection of lead aprons: criteria for rejection, "
          "Health Phys 80 (Suppl 5): S67-S69, 2001")

APRON_DEFECT_LIMITS_MM2: dict[str, float] = {
    "critical-organ": 15.0,
    "elsewhere": 670.0,
    "thyroid-shield": 11.0,
}
"""Largest acceptable defect area by location, mm² [quoted]: critical organ = gonads or thyroid region;
elsewhere = seams, overlap, back; thyroid-shield = anywhere in a thyroid shield."""


@dataclass(frozen=True)
class ApronDefectVerdict:
    """The decision on one defect: its location and area, the area allowed there, and whether to reject."""

    location: str
    area: pint.Quantity
    limit: pint.Quantity
    reject: bool

    @property
    def verdict(self) -> str:
        """The decision as a word: reject or accept."""
        return "reject" if self.reject else "accept"


def apron_defect_verdict(location: str, area: pint.Quantity) -> ApronDefectVerdict:
    """Reject when the defect area is larger than the limit for its location (Lambert & McKeon 2001).

    `location` is "critical-organ", "elsewhere" or "thyroid-shield"; a defect exactly at the limit is kept.
    """
    if location not in APRON_DEFECT_LIMITS_MM2:
        raise ValueError(f"location must be one of {', '.join(APRON_DEFECT_LIMITS_MM2)}, got {location!r}")
    size = scalar(area, "area", "mm**2")
    if size.magnitude < 0:
        raise ValueError(f"a defect area cannot be negative, got {size:~P}")
    limit = Q_(APRON_DEFECT_LIMITS_MM2[location], "mm**2")
    larger = size.to("mm**2").magnitude > limit.magnitude * (1 + _EXACT)
    return ApronDefectVerdict(location, size, limit, larger)
