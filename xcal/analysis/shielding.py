"""Structural shielding by NCRP Report 147 (2004): barrier transmission, thickness and required transmission.

Archer form B(x) = [(1 + β/α) e^(αγx) − β/α]^(−1/γ) and its inverse, with the report's fit parameters,
design goals, occupancy factors, pre-shielding and workload figures kept as data (qc-reference.md §5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xcal.analysis._checks import number, positive, scalar
from xcal.units import Q_

if TYPE_CHECKING:  # pragma: no cover
    import pint

NCRP_147 = "NCRP Report No. 147 (2004)"
MATERIALS = ("lead", "concrete")
BARRIERS = ("primary", "secondary")


@dataclass(frozen=True)
class ArcherFit:
    """Fit parameters of one workload spectrum, barrier type and material; α and β per mm of material."""

    workload: str
    barrier: str
    material: str
    alpha_per_mm: float
    beta_per_mm: float
    gamma: float
    verification: str
    source: str = f"{NCRP_147}, transmission fit parameters (Archer)"

    @property
    def alpha(self) -> pint.Quantity:
        """α as a Quantity in 1/mm."""
        return Q_(self.alpha_per_mm, "1/mm")

    @property
    def beta(self) -> pint.Quantity:
        """β as a Quantity in 1/mm."""
        return Q_(self.beta_per_mm, "1/mm")


def _rows(workload: str, barrier: str, lead: tuple[float, float, float], concrete: tuple[float, float, float],
          tag: str) -> tuple[ArcherFit, ArcherFit]:
    return (ArcherFit(workload, barrier, "lead", *lead, verification=tag),
            ArcherFit(workload, barrier, "concrete", *concrete, verification=tag))


NCRP147_FITS: tuple[ArcherFit, ...] = (
    *_rows("Rad Room (all barriers)", "primary", (2.346, 15.90, 0.4982), (0.03626, 0.1429, 0.4932), "checked"),
    *_rows("Rad Room (chest bucky)", "primary", (2.264, 13.08, 0.5600), (0.03552, 0.1177, 0.6007), "checked"),
    *_rows("Rad Room (floor/other)", "primary", (2.651, 16.56, 0.4585), (0.03994, 0.1448, 0.4231), "quoted"),
    *_rows("Rad Tube (R&F room)", "primary", (2.295, 13.00, 0.5573), (0.03549, 0.1164, 0.5774), "quoted"),
    *_rows("Chest Room", "primary", (2.283, 10.74, 0.6370), (0.03622, 0.07766, 0.5404), "checked"),
    *_rows("Cardiac Angiography", "primary", (2.389, 14.26, 0.5948), (0.03717, 0.1087, 0.4879), "checked"),
    *_rows("Rad Room (all barriers)", "secondary", (2.298, 17.38, 0.6193), (0.0361, 0.1433, 0.5600), "checked"),
    *_rows("Rad Room (chest bucky)", "secondary", (2.256, 13.80, 0.8837), (0.0356, 0.1079, 0.7705), "checked"),
    *_rows("Chest Room", "secondary", (2.288, 9.848, 1.054), (0.0364, 0.0659, 0.7543), "checked"),
    *_rows("Cardiac Angiography", "secondary", (2.354, 14.94, 0.7481), (0.0371, 0.1067, 0.5733), "checked"),
    *_rows("Fluoroscopy Tube (R&F room)", "secondary", (2.322, 12.91, 0.7575), (0.0363, 0.0936, 0.5955),
           "unverified"),
    *_rows("100 kVp single spectrum", "primary", (2.500, 15.28, 0.7557), (0.03925, 0.08567, 0.4273), "checked"),
)
"""NCRP 147 fit parameters per workload spectrum, barrier and material, with the notes' tag per row."""

DESIGN_GOALS: dict[str, tuple[float, str]] = {
    "controlled": (0.1, "mGy/week"),
    "uncontrolled": (0.02, "mGy/week"),
}
"""Shielding design goals P in air kerma, NCRP 147 [quoted]."""

OCCUPANCY_FACTORS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (1.0, ("office", "laboratory", "reception", "attended waiting room", "adjacent x-ray room",
           "reading room", "nurses' station", "control room")),
    (1 / 2, ("exam room", "treatment room")),
    (1 / 5, ("corridor", "patient room", "staff lounge", "rest room")),
    (1 / 8, ("corridor door",)),
    (1 / 20, ("public toilet", "storage", "unattended waiting room", "outdoor seating")),
    (1 / 40, ("outdoor transient area", "unattended parking", "attic", "stairway", "janitor's closet")),
)
"""Suggested occupancy factors T by kind of area, NCRP 147 [quoted]."""

PRESHIELDING_MM: dict[str, dict[str, float]] = {
    "image receptor in table or wall bucky": {"lead": 0.85, "concrete": 72.0, "steel": 7.0},
    "cross-table": {"lead": 0.3, "concrete": 30.0, "steel": 2.0},
}
"""Pre-shielding a primary barrier may subtract, in mm of each material, NCRP 147 [checked]."""

K1_PRIMARY_MGY: dict[str, float] = {
    "Rad Room (chest bucky)": 2.3,
    "Rad Room (floor/other)": 5.2,
    "Chest Room": 1.2,
    "Rad Tube (R&F room)": 5.9,
}
"""Unshielded primary air kerma per patient at 1 m, K1_P, NCRP 147 [quoted]."""

K1_SECONDARY_MGY: dict[str, float] = {
    "Rad Room (all barriers)": 3.4e-2,
}
"""Unshielded secondary (leakage + side scatter) air kerma per patient at 1 m, K1_sec, NCRP 147 [quoted]."""


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def fit_parameters(workload: str, barrier: str, material: str) -> ArcherFit:
    """The NCRP 147 fit for a workload spectrum (name as in the report, case and punctuation ignored:
    "Rad Room (all barriers)" or "rad-room-all-barriers"), a barrier ("primary"/"secondary") and a material
    ("lead"/"concrete"); ValueError naming the choices when there is none."""
    for fit in NCRP147_FITS:
        if _key(fit.workload) == _key(workload) and fit.barrier == barrier and fit.material == material:
            return fit
    choices = sorted({f"{f.workload} / {f.barrier}" for f in NCRP147_FITS})
    raise ValueError(f"no NCRP 147 fit for workload {workload!r}, {barrier} barrier, {material}; "
                     f"materials: {', '.join(MATERIALS)}; workloads: {'; '.join(choices)}")


def occupancy_factor(area: str) -> float:
    """Suggested NCRP 147 occupancy factor T for a kind of area named as in OCCUPANCY_FACTORS."""
    for factor, areas in OCCUPANCY_FACTORS:
        if _key(area) in {_key(a) for a in areas}:
            return factor
    known = [a for _, areas in OCCUPANCY_FACTORS for a in areas]
    raise ValueError(f"no NCRP 147 occupancy factor for {area!r}; known areas: {', '.join(known)}")


def design_goal(area: str) -> pint.Quantity:
    """Design goal P for a "controlled" or "uncontrolled" area, in mGy/week."""
    if area not in DESIGN_GOALS:
        raise ValueError(f"area must be one of {', '.join(DESIGN_GOALS)}, got {area!r}")
    return Q_(*DESIGN_GOALS[area])


def transmission(x: pint.Quantity, alpha: pint.Quantity, beta: pint.Quantity, gamma: Any
                 ) -> pint.Quantity:
    """Broad-beam transmission B(x) = [(1 + β/α) e^(αγx) − β/α]^(−1/γ) (Archer; NCRP 147), dimensionless."""
    a, b, g = _fit(alpha, beta, gamma)
    thickness = scalar(x, "x", "mm").to("mm").magnitude
    if thickness < 0:
        raise ValueError(f"a barrier thickness cannot be negative, got {x:~P}")
    base = (1.0 + b / a) * math.exp(a * g * thickness) - b / a
    return Q_(base ** (-1.0 / g), "")


def barrier_thickness(b: Any, alpha: pint.Quantity, beta: pint.Quantity, gamma: Any) -> pint.Quantity:
    """x = ln[(B^(−γ) + β/α)/(1 + β/α)] / (αγ), the inverse of `transmission`, in mm (NCRP 147).

    A required transmission B ≥ 1 needs no barrier: 0 mm. ValueError for B ≤ 0.
    """
    a, bb, g = _fit(alpha, beta, gamma)
    required = number(b, "b")
    if required <= 0:
        raise ValueError(f"a transmission must be greater than zero, got {required:g}")
    if required >= 1:
        return Q_(0.0, "mm")
    return Q_(math.log((required ** (-g) + bb / a) / (1.0 + bb / a)) / (a * g), "mm")


def required_transmission(barrier: str, design_goal: pint.Quantity, distance: pint.Quantity,
                          k1: pint.Quantity, patients_per_week: pint.Quantity, occupancy: Any,
                          use_factor: Any = None) -> pint.Quantity:
    """Transmission a barrier must achieve, dimensionless (NCRP 147; qc-reference.md §5).

    primary: B = P d² / (K1_P · U · N · T); secondary: B = P d² / (K1_sec · N · T), with P the design goal
    (air kerma per week), d the distance in m to 0.3 m beyond the barrier, K1 the unshielded air kerma per
    patient at 1 m, N patients per week (e.g. Q_(110, '1/week')), T occupancy; U only for a primary barrier.
    """
    if barrier not in BARRIERS:
        raise ValueError(f"barrier must be one of {', '.join(BARRIERS)}, got {barrier!r}")
    if barrier == "primary" and use_factor is None:
        raise ValueError("a primary barrier needs the use factor U (use_factor=...)")
    if barrier == "secondary" and use_factor is not None:
        raise ValueError("the use factor applies to primary barriers only; leave it out for a secondary one")
    p = positive(scalar(design_goal, "design_goal", "mGy/week"), "design_goal")
    d = positive(scalar(distance, "distance", "m"), "distance").to("m").magnitude
    kerma = positive(scalar(k1, "k1", "mGy"), "k1")
    n = positive(scalar(patients_per_week, "patients_per_week", "1/week"), "patients_per_week")
    t = number(occupancy, "occupancy")
    u = 1.0 if use_factor is None else number(use_factor, "use_factor")
    if not (0 < t <= 1 and 0 < u <= 1):
        raise ValueError(f"occupancy and use factor must lie in (0, 1], got T = {t:g}, U = {u:g}")
    return Q_(float((p * d ** 2 / (kerma * u * n * t)).to("").magnitude), "")


def _fit(alpha: pint.Quantity, beta: pint.Quantity, gamma: Any) -> tuple[float, float, float]:
    """α and β in 1/mm and γ as plain numbers, all checked to be positive."""
    a = positive(scalar(alpha, "alpha", "1/mm"), "alpha").to("1/mm").magnitude
    b = scalar(beta, "beta", "1/mm").to("1/mm").magnitude
    g = number(gamma, "gamma")
    if g <= 0:
        raise ValueError(f"gamma must be greater than zero, got {g:g}")
    return a, b, g
