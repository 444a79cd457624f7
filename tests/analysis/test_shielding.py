"""NCRP 147 transmission, thickness and required transmission, with hand-worked values and the data tables."""

import pytest

from xcal.analysis import (
    NCRP147_FITS,
    barrier_thickness,
    design_goal,
    fit_parameters,
    occupancy_factor,
    required_transmission,
    transmission,
)
from xcal.units import Q_

LEAD = fit_parameters("Rad Room (all barriers)", "primary", "lead")


def test_lead_transmission_by_hand():
    # α 2.346, β 15.90 /mm, γ 0.4982, x = 1 mm: β/α = 6.7774936; αγx = 1.1687772; e^1.1687772 = 3.2180552;
    # 7.7774936 × 3.2180552 − 6.7774936 = 18.2509101; 18.2509101^(−1/0.4982) = exp(−2.9042149/0.4982)
    # = exp(−5.8294158) = 0.00293979.
    b = transmission(Q_(1, "mm"), LEAD.alpha, LEAD.beta, LEAD.gamma)
    assert b.dimensionless and b.magnitude == pytest.approx(0.00293979, rel=1e-5)


def test_concrete_transmission_by_hand():
    # Chest Room secondary, concrete: α 0.0364, β 0.0659 /mm, γ 0.7543, x = 10 cm = 100 mm:
    # β/α = 1.8104396; αγx = 2.745652; e^2.745652 = 15.574765; 2.8104396 × 15.574765 − 1.8104396 = 41.961497;
    # 41.961497^(−1/0.7543) = 0.0070556.
    fit = fit_parameters("chest-room", "secondary", "concrete")
    assert transmission(Q_(10, "cm"), fit.alpha, fit.beta, fit.gamma).magnitude == pytest.approx(0.0070556,
                                                                                                 rel=1e-4)


def test_no_barrier_transmits_everything():
    assert transmission(Q_(0, "mm"), LEAD.alpha, LEAD.beta, LEAD.gamma).magnitude == pytest.approx(1.0)
    assert barrier_thickness(1.0, LEAD.alpha, LEAD.beta, LEAD.gamma) == Q_(0.0, "mm")
    assert barrier_thickness(Q_(150, "%"), LEAD.alpha, LEAD.beta, LEAD.gamma) == Q_(0.0, "mm")


@pytest.mark.parametrize("fit", NCRP147_FITS, ids=lambda f: f"{f.workload}-{f.barrier}-{f.material}")
def test_thickness_inverts_transmission_for_every_fit(fit):
    x = Q_(0.8, "mm") if fit.material == "lead" else Q_(75, "mm")
    b = transmission(x, fit.alpha, fit.beta, fit.gamma)
    assert barrier_thickness(b, fit.alpha, fit.beta, fit.gamma).to("mm").magnitude == pytest.approx(
        x.to("mm").magnitude, rel=1e-9)


def test_thickness_for_a_hand_transmission():
    # The inverse of the first test: B = 0.00293979 needs 1 mm of lead.
    assert barrier_thickness(0.00293979, LEAD.alpha, LEAD.beta, LEAD.gamma).magnitude == pytest.approx(
        1.0, rel=1e-5)
    with pytest.raises(ValueError, match="greater than zero"):
        barrier_thickness(0.0, LEAD.alpha, LEAD.beta, LEAD.gamma)


def test_required_transmission_secondary():
    # P 0.02 mGy/week, d 2.1 m, K1_sec 0.034 mGy/patient at 1 m, N 110/week, T 1:
    # 0.02 × 4.41 / (0.034 × 110 × 1) = 0.0882 / 3.74 = 0.0235829.
    b = required_transmission("secondary", Q_(0.02, "mGy/week"), Q_(2.1, "m"), Q_(3.4e-2, "mGy"),
                              Q_(110, "1/week"), 1)
    assert b.dimensionless and b.magnitude == pytest.approx(0.0235829, rel=1e-6)


def test_required_transmission_primary_with_other_units():
    # P 0.1 mGy/week, d 200 cm, K1_P 5.2 mGy, U 1, N 110/week written per day, T 1/2:
    # 0.1 × 4 / (5.2 × 1 × 110 × 0.5) = 0.4 / 286 = 0.0013986014.
    b = required_transmission("primary", Q_(0.1, "mGy/week"), Q_(200, "cm"), Q_(5.2, "mGy"),
                              Q_(110 / 7, "1/day"), 0.5, use_factor=1)
    assert b.magnitude == pytest.approx(0.0013986014, rel=1e-8)


def test_required_transmission_checks_its_factors():
    args = (Q_(0.1, "mGy/week"), Q_(2, "m"), Q_(5.2, "mGy"), Q_(110, "1/week"), 1)
    with pytest.raises(ValueError, match="use factor"):
        required_transmission("primary", *args)
    with pytest.raises(ValueError, match="primary barriers only"):
        required_transmission("secondary", *args, use_factor=0.25)
    with pytest.raises(ValueError, match="barrier"):
        required_transmission("side", *args)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        required_transmission("secondary", *args[:4], 0)
    with pytest.raises(TypeError):
        required_transmission("secondary", 0.1, *args[1:])


def test_fit_lookup_and_row_tags():
    assert len(NCRP147_FITS) == 24
    assert fit_parameters("RAD ROOM (CHEST BUCKY)", "secondary", "lead").gamma == 0.8837
    assert fit_parameters("Rad Room (floor/other)", "primary", "concrete").verification == "quoted"
    assert fit_parameters("Fluoroscopy Tube (R&F room)", "secondary", "lead").verification == "unverified"
    assert fit_parameters("100 kVp single spectrum", "primary", "concrete").alpha == Q_(0.03925, "1/mm")
    with pytest.raises(ValueError, match="workloads"):
        fit_parameters("Chest Room", "primary", "steel")
    with pytest.raises(ValueError, match="workloads"):
        fit_parameters("Fluoroscopy Tube (R&F room)", "primary", "lead")


def test_design_goals_and_occupancy_factors():
    assert design_goal("controlled") == Q_(0.1, "mGy/week")
    assert design_goal("uncontrolled") == Q_(0.02, "mGy/week")
    assert occupancy_factor("Control room") == 1.0
    assert occupancy_factor("corridor") == pytest.approx(1 / 5)
    assert occupancy_factor("corridor door") == pytest.approx(1 / 8)
    assert occupancy_factor("janitor's closet") == pytest.approx(1 / 40)
    with pytest.raises(ValueError, match="known areas"):
        occupancy_factor("roof garden")
