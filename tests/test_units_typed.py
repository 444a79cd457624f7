"""Values as technicians type them (xcal.units.parse_typed): lenient unit spelling, and R read as air kerma."""

from __future__ import annotations

import pytest

from xcal.units import parse_quantity, parse_typed


@pytest.mark.parametrize("text, unit, magnitude, understood", [
    ("59.5 kv", "kV", 59.5, "kV"),
    ("20 mm2", "mm**2", 20, "mm²"),
    ("0.4 CM", "cm", 0.4, "cm"),
    ("2 cm3", "cm**3", 2, "cm³"),
    ("5 uGy", "µGy", 5, "µGy"),
    ("5 µGy", "µGy", 5, "µGy"),
    ("5 μGy", "µGy", 5, "µGy"),                 # the Greek letter mu is the micro sign too
    ("12 MGY", "mGy", 12, "mGy"),               # a megagray is absurd in X-ray QC: only milligray is meant
    ("100 Ms", "ms", 100, "ms"),
    ("3 MAS", "mAs", 3, "mAs"),
    ("7", "mGy/min", 7, "mGy/min"),             # a bare number is in the unit asked for
])
def test_unit_names_are_read_whatever_their_case(text, unit, magnitude, understood):
    entry = parse_typed(text, unit)
    assert entry.read.magnitude == pytest.approx(magnitude) and f"{entry.read.units:~P}" == understood
    assert entry.value == entry.read and entry.typed == text.strip()


def test_exposure_in_roentgen_is_taken_as_air_kerma_at_8_76_mgy_per_r():
    entry = parse_typed("12 mr", "mGy")
    # 12 mR x 8.76 mGy/R = 0.012 R x 8.76 mGy/R = 0.10512 mGy
    assert f"{entry.read:~P}" == "12 mR" and entry.value.to("mGy").magnitude == pytest.approx(0.10512)
    rate = parse_typed("10.4 R/min", "mGy/min")
    # 10.4 R/min x 8.76 mGy/R = 91.104 mGy/min
    assert rate.value.to("mGy/min").magnitude == pytest.approx(91.104) and rate.converted


def test_the_cfr_pairs_come_out():
    # 21 CFR 1020 quotes 100 mR as 0.88 mGy and 10 R/min as 88 mGy/min (rounded from 0.876 and 87.6)
    assert round(parse_typed("100 mR", "mGy").value.to("mGy").magnitude, 3) == 0.876
    assert round(parse_typed("10 R/min", "mGy/min").value.to("mGy/min").magnitude, 1) == 87.6


@pytest.mark.parametrize("text, unit, problem", [
    ("3 pa", "kPa", "Pa or pA"),
    ("3 kV", "cm", "not in a unit like cm"),
    ("", "cm", "nothing was typed"),
    ("cm", "cm", "does not start with a number"),
    ("5,5 cm", "cm", "comma"),
    ("1e999 cm", "cm", "finite"),
    ("12 mR", "cm", "not in a unit like cm"),
])
def test_what_cannot_be_meant_is_refused(text, unit, problem):
    with pytest.raises(ValueError, match=problem):
        parse_typed(text, unit)


def test_files_keep_the_strict_reading():
    with pytest.raises(ValueError):
        parse_quantity("59.5 kv")
    with pytest.raises(ValueError):
        parse_quantity("20 mm2", "length")
