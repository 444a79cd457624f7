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
    """Validate the command line's values (with units) and compute the barrier.

    Each value is checked before anything is computed, and an error names the option to give or change and
    the values it accepts (the workload spectra NCRP 147 fits for the barrier, the kinds of area, ...)."""
    from .analysis import shielding as ncrp

    name = _workload(workload, barrier)
    _check_use_factor(barrier, use_factor)
    t = _occupancy(occupancy)
    _check_preshielding(barrier, preshielding)
    goal = _design_goal(design_goal, area)
    n = _patients(patients)
    kerma = _k1(k1, barrier, name)
    d = _positive_quantity(distance, "'2.1 m'", "--distance", "length")
    try:
        b = ncrp.required_transmission(barrier, goal, d, kerma, n, t, use_factor)
        results = tuple(_thickness(name, barrier, material, b, preshielding) for material in ncrp.MATERIALS)
    except ValueError as exc:
        raise ConfigError(f"shielding: {exc}", fix="see `xcal shielding --help` for the accepted values") from None
    return ShieldingResult(workload, barrier, goal, d, kerma, n, t, use_factor, b, preshielding, results)


def _positive_quantity(text: str, unit_hint: str, what: str, dimension: str | None = None, given: str = "") -> Any:
    """The quantity an option gives, more than zero and finite; ConfigError naming the option otherwise."""
    from .units import parse_quantity

    try:
        q = parse_quantity(text, dimension)
    except ValueError as exc:
        raise ConfigError(f"{what}: {exc}", fix=f"write it with a unit, e.g. {what} {unit_hint}") from None
    if not q.magnitude > 0 or q.magnitude == float("inf"):
        raise ConfigError(f"{what} must be more than zero, got {(given or text)!r}", fix=f"e.g. {what} {unit_hint}")
    return q


def _check_use_factor(barrier: str, use_factor: float | None) -> None:
    """A primary barrier needs the use factor U, more than 0 and at most 1; a secondary one takes none."""
    if barrier == "primary" and use_factor is None:
        raise ConfigError("a primary barrier needs the use factor U: the fraction of the primary beam's workload "
                          "aimed at this barrier",
                          fix="give --use-factor U, a number more than 0 and at most 1, e.g. --use-factor 0.25")
    if barrier == "secondary" and use_factor is not None:
        raise ConfigError("the use factor applies to primary barriers only",
                          fix="leave out --use-factor for a secondary barrier, or give --barrier primary")
    if use_factor is not None and not 0 < use_factor <= 1:
        raise ConfigError(f"--use-factor must be more than 0 and at most 1, got {use_factor:g}",
                          fix="give --use-factor the fraction of the workload aimed at the barrier, e.g. "
                              "--use-factor 0.25")


def _check_preshielding(barrier: str, preshielding: str | None) -> None:
    """Pre-shielding, for a primary barrier only, one NCRP 147 tabulates."""
    from .analysis import shielding as ncrp

    if preshielding and barrier != "primary":
        raise ConfigError("pre-shielding applies to primary barriers only",
                          fix="leave out --preshielding for a secondary barrier")
    if preshielding and preshielding not in ncrp.PRESHIELDING_MM:
        raise ConfigError(f"unknown pre-shielding '{preshielding}'",
                          fix="give --preshielding as one of: " + ", ".join(f"'{k}'" for k in ncrp.PRESHIELDING_MM))


def _design_goal(design_goal: str | None, area: str | None) -> Any:
    """The design goal given (an air kerma per week), else NCRP 147's for the kind of area."""
    from .analysis import shielding as ncrp
    from .units import has_dimension

    if not design_goal:
        return ncrp.design_goal(area or "uncontrolled")
    goal = _positive_quantity(design_goal, "'0.02 mGy/week'", "--design-goal")
    if not has_dimension(goal, "air_kerma_rate"):
        raise ConfigError(f"--design-goal: {design_goal!r} is not an air kerma per week",
                          fix="e.g. --design-goal '0.02 mGy/week', or leave it out and give --area")
    return goal


def _patients(patients: str) -> Any:
    """Patients per week; a bare number is per week."""
    from .units import Q_, has_dimension

    n = _positive_quantity(patients if any(c.isalpha() for c in patients) else f"{patients} / week",
                           "'110 / week'", "--patients", given=patients)
    if not has_dimension(n * Q_(1, "s"), "dimensionless"):
        raise ConfigError(f"--patients: {patients!r} is not a number of patients per week",
                          fix="e.g. --patients 110 (per week) or --patients '22 / day'")
    return n


def _k1(k1: str | None, barrier: str, name: str) -> Any:
    """The unshielded air kerma per patient at 1 m: as given, else NCRP 147's for the workload and barrier."""
    from .analysis import shielding as ncrp
    from .units import Q_

    if k1 is not None:
        return _positive_quantity(k1, "'0.034 mGy'", "--k1", "air_kerma")
    table = ncrp.K1_PRIMARY_MGY if barrier == "primary" else ncrp.K1_SECONDARY_MGY
    key = next((k for k in table if ncrp._key(k) == ncrp._key(name)), None)
    if key is None:
        tabulated = ", ".join(f"'{k}'" for k in table)
        raise ConfigError(f"xcal's NCRP 147 table has no K1 (the unshielded air kerma per patient at 1 m) for "
                          f"the {barrier} barrier of '{name}'",
                          fix=f"give --k1 with NCRP 147's K1 for this workload, with its unit (--k1 "
                              f"'VALUE mGy'), or give --workload one of: {tabulated}")
    return Q_(table[key], "mGy")


def _thickness(name: str, barrier: str, material: str, transmission: Any, preshielding: str | None
               ) -> BarrierThickness:
    """The thickness of one material that gives the transmission, less the image receptor's pre-shielding."""
    from .analysis import shielding as ncrp
    from .units import Q_

    fit = ncrp.fit_parameters(name, barrier, material)
    x = ncrp.barrier_thickness(transmission, fit.alpha, fit.beta, fit.gamma)
    pre = ncrp.PRESHIELDING_MM[preshielding][material] if preshielding else 0.0
    left = max(x.to("mm").magnitude - pre, 0.0)
    return BarrierThickness(material, Q_(left, "mm"), x, fit)


def _workload(workload: str, barrier: str) -> str:
    """The NCRP 147 name of the workload spectrum (case and punctuation ignored); ConfigError naming the
    spectra with a fit for this barrier, and the nearest one, when there is none."""
    import difflib

    from .analysis import shielding as ncrp

    def spectra(kind: str) -> list[str]:
        return list(dict.fromkeys(f.workload for f in ncrp.NCRP147_FITS if f.barrier == kind))

    names = spectra(barrier)
    for name in names:
        if ncrp._key(name) == ncrp._key(workload):
            return name
    listed = ", ".join(f"'{n}'" for n in names)
    other = next((n for kind in ncrp.BARRIERS if kind != barrier for n in spectra(kind)
                  if ncrp._key(n) == ncrp._key(workload)), None)
    if other is not None:
        fitted = "secondary" if barrier == "primary" else "primary"
        raise ConfigError(f"NCRP 147 gives the workload '{other}' a fit for {fitted} barriers only, not for a "
                          f"{barrier} barrier",
                          fix=f"give --workload one of: {listed}")
    near = difflib.get_close_matches(ncrp._key(workload), [ncrp._key(n) for n in names], n=1, cutoff=0.6)
    hint = next((f"did you mean '{n}'? " for n in names if near and ncrp._key(n) == near[0]), "")
    raise ConfigError(f"NCRP 147 has no {barrier}-barrier transmission fit for the workload '{workload}'",
                      fix=f"{hint}give --workload one of (case and punctuation do not matter): {listed}")


def _occupancy(occupancy: str) -> float:
    """--occupancy as a number more than 0 and at most 1, or an NCRP 147 kind of area (office, corridor ...)."""
    import math

    from .analysis import shielding as ncrp

    areas = ", ".join(a for _, group in ncrp.OCCUPANCY_FACTORS for a in group)
    try:
        t = float(occupancy)
    except ValueError:
        try:
            return ncrp.occupancy_factor(occupancy)
        except ValueError:
            raise ConfigError(f"--occupancy '{occupancy}' is neither a number nor a kind of area NCRP 147 gives "
                              "an occupancy factor for",
                              fix=f"give --occupancy a number more than 0 and at most 1 (e.g. --occupancy 0.2), or "
                                  f"one of: {areas}") from None
    if not (math.isfinite(t) and 0 < t <= 1):
        raise ConfigError(f"--occupancy must be more than 0 and at most 1 (the occupancy factor T), got {occupancy}",
                          fix=f"e.g. --occupancy 1 for an office, --occupancy 0.2 for a corridor; or a kind of area: "
                              f"{areas}")
    return t
