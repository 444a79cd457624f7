"""Apron and thyroid-shield defect rejection by Lambert & McKeon (2001), boundaries included."""

import pytest

from xcal.analysis import apron_defect_verdict
from xcal.units import Q_


@pytest.mark.parametrize("location, kept, rejected", [
    ("critical-organ", 15, 15.1), ("elsewhere", 670, 671), ("thyroid-shield", 11, 11.5),
])
def test_a_defect_on_the_limit_is_kept_and_a_larger_one_rejected(location, kept, rejected):
    assert apron_defect_verdict(location, Q_(kept, "mm**2")).verdict == "accept"
    verdict = apron_defect_verdict(location, Q_(rejected, "mm**2"))
    assert verdict.reject and verdict.verdict == "reject" and verdict.limit == Q_(kept, "mm**2")


def test_areas_in_other_units():
    # 0.16 cm² = 16 mm² > 15 mm² over a critical organ; 6.5 cm² = 650 mm² ≤ 670 mm² elsewhere.
    assert apron_defect_verdict("critical-organ", Q_(0.16, "cm**2")).reject
    assert not apron_defect_verdict("elsewhere", Q_(6.5, "cm**2")).reject


def test_bad_location_or_area():
    with pytest.raises(ValueError, match="critical-organ"):
        apron_defect_verdict("gonads", Q_(10, "mm**2"))
    with pytest.raises(ValueError, match="dimension"):
        apron_defect_verdict("elsewhere", Q_(10, "mm"))
    with pytest.raises(TypeError):
        apron_defect_verdict("elsewhere", 10.0)
