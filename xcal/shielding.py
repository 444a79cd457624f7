"""`xcal shielding`: the barrier a room needs, per NCRP Report 147, for a barrier described on the command line.

Required transmission B from the design goal, distance, workload, occupancy (and use factor for a primary
barrier), then the lead and concrete thickness that give it from the Archer fit of the workload spectrum;
a primary barrier may subtract the pre-shielding of the image receptor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True)
class BarrierThickness:
    material: str
    thickness: Any            # Quantity, mm, after any pre-shielding
    before_preshielding: Any  # Quantity, mm
    fit: Any                  # ArcherFit used


@dataclass(frozen=True)
class ShieldingResult:
    workload: str
    barrier: str
    design_goal: Any
    distance: Any
    k1: Any
    patients_per_week: Any
    occupancy: float
    use_factor: float | None
    transmission: Any
    preshielding: str | None
    thicknesses: tuple[BarrierThickness, ...]


def compute(*, workload: str, barrier: str, distance: str, area: str | None, design_goal: str | None,
            occupancy: str, patients: str, use_factor: float | None, k1: str | None,
            preshielding: str | None) -> ShieldingResult:
    """Validate the command line's values (with units) and compute the barrier."""
    from .analysis import shielding as ncrp
    from .units import Q_, parse_quantity

    def quantity(text: str, unit_hint: str, what: str, dimension: str | None = None) -> Any:
        try:
            return parse_quantity(text, dimension)
        except ValueError as exc:
            raise ConfigError(f"{what}: {exc}", fix=f"write it with a unit, e.g. {unit_hint}") from None

    try:
        goal = quantity(design_goal, "'0.02 mGy/week'", "--design-goal") if design_goal else \
            ncrp.design_goal(area or "uncontrolled")
        try:
            t = float(occupancy)
        except ValueError:
            t = ncrp.occupancy_factor(occupancy)
        n = quantity(patients if any(c.isalpha() for c in patients) else f"{patients} / week",
                     "'110 / week'", "--patients")
        if k1 is not None:
            kerma = quantity(k1, "'0.034 mGy'", "--k1", "air_kerma")
        else:
            table = ncrp.K1_PRIMARY_MGY if barrier == "primary" else ncrp.K1_SECONDARY_MGY
            key = next((name for name in table if ncrp._key(name) == ncrp._key(workload)), None)
            if key is None:
                raise ConfigError(f"NCRP 147 gives no K1 for the {barrier} barrier of '{workload}' in xcal's table",
                                  fix=f"give --k1 (the unshielded air kerma per patient at 1 m); tabulated: "
                                      f"{', '.join(table)}")
            kerma = Q_(table[key], "mGy")
        d = quantity(distance, "'2.1 m'", "--distance", "length")
        b = ncrp.required_transmission(barrier, goal, d, kerma, n, t, use_factor)
        results = []
        for material in ncrp.MATERIALS:
            fit = ncrp.fit_parameters(workload, barrier, material)
            x = ncrp.barrier_thickness(b, fit.alpha, fit.beta, fit.gamma)
            pre = 0.0
            if preshielding:
                if barrier != "primary":
                    raise ConfigError("pre-shielding applies to primary barriers only",
                                      fix="leave out --preshielding for a secondary barrier")
                if preshielding not in ncrp.PRESHIELDING_MM:
                    raise ConfigError(f"unknown pre-shielding '{preshielding}'",
                                      fix=f"use one of: {', '.join(ncrp.PRESHIELDING_MM)}")
                pre = ncrp.PRESHIELDING_MM[preshielding][material]
            left = max(x.to("mm").magnitude - pre, 0.0)
            results.append(BarrierThickness(material, Q_(left, "mm"), x, fit))
    except ValueError as exc:
        raise ConfigError(f"shielding: {exc}", fix="see `xcal shielding --help` for the accepted values") from None
    return ShieldingResult(workload, barrier, goal, d, kerma, n, t, use_factor, b, preshielding, tuple(results))
