"""`xcal shielding` errors name the command-line option to give and the values it accepts."""

from __future__ import annotations

import pytest

from xcal.analysis.shielding import K1_PRIMARY_MGY, NCRP147_FITS, OCCUPANCY_FACTORS
from xcal.errors import ConfigError
from xcal.shielding import compute

pytestmark = pytest.mark.e2e

BASE = {"workload": "Rad Room (all barriers)", "barrier": "secondary", "distance": "2 m", "area": "uncontrolled",
        "design_goal": None, "occupancy": "1", "patients": "110", "use_factor": None, "k1": None,
        "preshielding": None}


def _error(**changes):
    with pytest.raises(ConfigError) as err:
        compute(**{**BASE, **changes})
    return err.value


def test_a_primary_barrier_without_use_factor_names_the_option(xcal):
    result = xcal("shielding", "--barrier", "primary", "--workload", "Chest Room", "--distance", "2 m")
    assert result.returncode == 2
    assert "use factor" in result.stderr and "--use-factor" in result.stderr
    assert "use_factor=" not in result.stderr and "Traceback" not in result.stderr


def test_an_unknown_workload_lists_the_spectra_of_the_barrier_not_k1(xcal):
    result = xcal("shielding", "--barrier", "primary", "--workload", "Nope", "--distance", "2 m")
    assert result.returncode == 2
    assert "'Nope'" in result.stderr and "--workload" in result.stderr and "--k1" not in result.stderr
    primary = {f.workload for f in NCRP147_FITS if f.barrier == "primary"}
    assert all(f"'{name}'" in result.stderr for name in primary)
    # A secondary-only spectrum is not offered for a primary barrier.
    assert "Fluoroscopy Tube (R&F room)" not in result.stderr


def test_a_near_miss_workload_is_named():
    e = _error(workload="chest rom")
    assert e.fix.startswith("did you mean 'Chest Room'?")


def test_a_spectrum_fitted_for_the_other_barrier_says_so():
    e = _error(workload="fluoroscopy tube (R&F room)", barrier="primary", use_factor=1.0)
    assert "secondary barriers only" in e.message and "--workload" in e.fix


def test_a_workload_without_tabulated_k1_asks_for_k1_or_a_tabulated_workload():
    e = _error(workload="Cardiac Angiography", barrier="primary", use_factor=1.0)
    assert "K1" in e.message and "--k1" in e.fix
    assert all(f"'{name}'" in e.fix for name in K1_PRIMARY_MGY)
    # With --k1 the same barrier computes: B = 0.02 × 2² / (3 mGy × 1 × 110 × 1) = 2.4242e-4.
    result = compute(**{**BASE, "workload": "Cardiac Angiography", "barrier": "primary", "use_factor": 1.0,
                        "k1": "3 mGy"})
    assert result.transmission.magnitude == pytest.approx(0.08 / 330, rel=1e-9)


@pytest.mark.parametrize("changes, option", [
    ({"occupancy": "5"}, "--occupancy"),
    ({"occupancy": "attic2"}, "--occupancy"),
    ({"use_factor": 0.25}, "--use-factor"),
    ({"barrier": "primary", "workload": "Chest Room", "use_factor": 1.5}, "--use-factor"),
    ({"patients": "-3"}, "--patients"),
    ({"design_goal": "3 kV"}, "--design-goal"),
])
def test_each_bad_value_names_its_option(changes, option):
    e = _error(**changes)
    assert option in e.message + e.fix
    assert "=..." not in e.message + e.fix


def test_an_unknown_kind_of_area_lists_the_known_ones():
    e = _error(occupancy="attic2")
    assert all(area in e.fix for _, areas in OCCUPANCY_FACTORS for area in areas)
