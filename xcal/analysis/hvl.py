"""Half-value layer: its measurement from an attenuation series, and the federal minimum it must meet.

The measured HVL is interpolated log-linearly and never extrapolated (qc-reference.md §3); the minimum
comes from 21 CFR 1020.30(m)(1), Table 1, kept here as data with its verification tags (§1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from xcal.analysis._checks import scalar
from xcal.analysis.interpolation import interpolate
from xcal.analysis.statistics import QuantityLike, as_quantity_array
from xcal.units import Q_, registry

if TYPE_CHECKING:  # pragma: no cover
    import pint

TABLE_1_SOURCE = "21 CFR 1020.30(m)(1), Table 1"
MAMMOGRAPHY_SOURCE = "21 CFR 1020.30(m)(1) (mammography: HVL >= kVp/100 + 0.03 mm Al)"
TABLE_1_COLUMNS = {
    "A": "dental intraoral systems made after 1 Dec 1980",
    "B": "dental intraoral systems made on/before 1 Dec 1980, and all other systems made before 10 Jun 2006",
    "C": "all systems except dental intraoral, made on/after 10 Jun 2006",
}
KVP_RANGE = (30.0, 150.0)
MAMMOGRAPHY_MAX_KVP = 50.0


@dataclass(frozen=True)
class HvlRow:
    """One kVp row of Table 1, in mm Al; `verification` gives the tag of columns A, B and C."""

    kvp: float
    a: float
    b: float
    c: float
    verification: tuple[str, str, str]


@dataclass(frozen=True)
class HvlBand:
    """A design operating range of Table 1; interpolation and extrapolation stay inside one band."""

    name: str
    low: float
    low_inclusive: bool
    high: float
    high_inclusive: bool
    rows: tuple[HvlRow, ...]

    def contains(self, kvp: float) -> bool:
        """Whether a kVp (a number of kV) falls in this band."""
        above_low = kvp >= self.low if self.low_inclusive else kvp > self.low
        below_high = kvp <= self.high if self.high_inclusive else kvp < self.high
        return above_low and below_high


_V = ("checked", "checked", "checked")
_M_C = ("checked", "checked", "quoted")

HVL_TABLE_1: tuple[HvlBand, ...] = (
    HvlBand("below 51 kVp", 30.0, True, 51.0, False, (
        HvlRow(30, 1.5, 0.3, 0.3, _V),
        HvlRow(40, 1.5, 0.4, 0.4, _V),
        HvlRow(50, 1.5, 0.5, 0.5, _V),
    )),
    HvlBand("51-70 kVp", 51.0, True, 70.0, True, (
        HvlRow(51, 1.5, 1.2, 1.3, _V),
        HvlRow(60, 1.5, 1.3, 1.5, _V),
        HvlRow(70, 1.5, 1.5, 1.8, _V),
    )),
    HvlBand("above 70 kVp", 70.0, False, 150.0, True, (
        HvlRow(71, 2.1, 2.1, 2.5, _V),
        HvlRow(80, 2.3, 2.3, 2.9, _V),
        HvlRow(90, 2.5, 2.5, 3.2, _M_C),
        HvlRow(100, 2.7, 2.7, 3.6, _M_C),
        HvlRow(110, 3.0, 3.0, 3.9, _M_C),
        HvlRow(120, 3.2, 3.2, 4.3, _M_C),
        HvlRow(130, 3.5, 3.5, 4.7, _M_C),
        HvlRow(140, 3.8, 3.8, 5.0, _M_C),
        HvlRow(150, 4.1, 4.1, 5.4, _M_C),
    )),
)
"""21 CFR 1020.30(m)(1) Table 1 [V for A and B; V for C up to 80 kVp; C at 90-150 kVp M], in mm Al."""


@dataclass(frozen=True)
class HvlResult:
    """A measured HVL, with the two readings it was interpolated between and how it was obtained."""

    value: pint.Quantity
    method: str
    half_reading: pint.Quantity
    lower: tuple[pint.Quantity, pint.Quantity]
    upper: tuple[pint.Quantity, pint.Quantity]


def hvl(thicknesses: QuantityLike, readings: QuantityLike, m0: Any) -> HvlResult:
    """HVL = ta + (tb − ta)·ln(M0/(2 Ma)) / ln(Mb/Ma) between the readings Ma > M0/2 ≥ Mb (qc-reference §3).

    `m0` is the unfiltered reading, or the readings bracketing the series (before and after), which are
    averaged. Readings must fall strictly with thickness. ValueError, never an extrapolation, when no two
    readings straddle M0/2. The result is in the unit of the thicknesses; `.method` says what was done.
    """
    t = as_quantity_array(thicknesses, "thicknesses")
    if t.dimensionality != Q_(1, "mm").dimensionality:
        raise ValueError(f"thicknesses must be lengths (e.g. mm of Al), got {t.units:~P}")
    m_ref = _unfiltered(m0)
    r = as_quantity_array(readings, "readings")
    if r.dimensionality != m_ref.dimensionality:
        raise ValueError(f"readings ({r.units:~P}) and M0 ({m_ref.units:~P}) must be of the same kind")
    tm, rm = t.magnitude, r.to(m_ref.units).magnitude
    if tm.size != rm.size:
        raise ValueError(f"{tm.size} thicknesses but {rm.size} readings; give one reading per thickness")
    order = np.argsort(tm, kind="stable")
    tm, rm = tm[order], rm[order]
    if np.any(np.diff(tm) <= 0):
        raise ValueError("each thickness may appear only once; average repeated readings first")
    if np.any(rm <= 0) or m_ref.magnitude <= 0:
        raise ValueError("readings and M0 must be positive")
    if np.any(np.diff(rm) >= 0):
        raise ValueError("readings must fall as the thickness grows; check the order and the geometry")
    half = m_ref.magnitude / 2.0
    below = np.flatnonzero(rm <= half)
    unit_t, unit_m = t.units, m_ref.units
    if below.size == 0:
        raise ValueError(f"no reading falls to M0/2 = {half:.4g} {unit_m:~P} (the last is {rm[-1]:.4g} at "
                         f"{tm[-1]:g} {unit_t:~P}); add thicker filters, the HVL is not extrapolated")
    j = int(below[0])
    if j == 0:
        if rm[0] != half:
            raise ValueError(f"every reading is already below M0/2 = {half:.4g} {unit_m:~P}; add thinner "
                             "filters, the HVL is not extrapolated")
        value = float(tm[0])
        method = f"reading at {tm[0]:g} {unit_t:~P} equals M0/2 = {half:.4g} {unit_m:~P}"
        lower = upper = (Q_(tm[0], unit_t), Q_(rm[0], unit_m))
    else:
        ta, tb, ma, mb = (float(v) for v in (tm[j - 1], tm[j], rm[j - 1], rm[j]))
        value = ta + (tb - ta) * math.log(half / ma) / math.log(mb / ma)
        method = (f"log-linear interpolation between {ta:g} {unit_t:~P} ({ma:.4g} {unit_m:~P}) and "
                  f"{tb:g} {unit_t:~P} ({mb:.4g} {unit_m:~P}) at M0/2 = {half:.4g} {unit_m:~P}")
        lower, upper = (Q_(ta, unit_t), Q_(ma, unit_m)), (Q_(tb, unit_t), Q_(mb, unit_m))
    return HvlResult(Q_(value, unit_t), method, Q_(half, unit_m), lower, upper)


def hvl_minimum(kvp: pint.Quantity, column: str | None = None, mammography: bool = False) -> pint.Quantity:
    """Minimum HVL in mm Al at the kVp in use, from 21 CFR 1020.30(m)(1) Table 1 column "A", "B" or "C".

    Linear in kVp between the rows of one design-range band (below 51, 51-70, above 70 kVp), extrapolated
    from the band's end rows but never across the step between 70 and 71 kVp; ValueError outside 30-150 kVp.
    With `mammography=True` (and no column): kVp/100 + 0.03 mm Al, for up to 50 kVp.
    """
    kv = scalar(kvp, "kvp", "kV").to("kV").magnitude
    if mammography:
        if column is not None:
            raise ValueError("the mammography minimum has no Table 1 column; leave `column` out")
        if not 0 < kv <= MAMMOGRAPHY_MAX_KVP:
            raise ValueError(f"the mammography minimum is applied up to {MAMMOGRAPHY_MAX_KVP:g} kVp, got {kv:g}")
        return Q_(kv / 100.0 + 0.03, "mm")
    if column is None or column.upper() not in TABLE_1_COLUMNS:
        raise ValueError(f"column must be one of A, B, C (21 CFR 1020.30(m)(1) Table 1), got {column!r}")
    if not KVP_RANGE[0] <= kv <= KVP_RANGE[1]:
        raise ValueError(f"Table 1 covers {KVP_RANGE[0]:g}-{KVP_RANGE[1]:g} kVp; {kv:g} kVp is outside it")
    band = next(b for b in HVL_TABLE_1 if b.contains(kv))
    col = "abc".index(column.lower())
    points = [(row.kvp, (row.a, row.b, row.c)[col]) for row in band.rows]
    return Q_(interpolate(points, kv, extrapolate=True), "mm")


def _unfiltered(m0: Any) -> pint.Quantity:
    """M0 as one Quantity: the value given, or the mean of the bracketing readings."""
    if isinstance(m0, registry().Quantity) and np.ndim(m0.magnitude) == 0:
        return scalar(m0, "m0")
    q = as_quantity_array(m0, "m0")
    return Q_(float(np.mean(q.magnitude)), q.units)
