"""Measured HVL by log-linear interpolation, and the 21 CFR 1020.30(m)(1) Table 1 minimum by band."""

import pytest

from xcal.analysis import HVL_TABLE_1, hvl, hvl_minimum
from xcal.units import Q_

MM = [Q_(t, "mm") for t in (0, 1, 2, 3, 4)]
MGY = [Q_(m, "mGy") for m in (10.0, 7.4, 5.6, 4.3, 3.4)]


def test_hvl_interpolates_between_the_readings_straddling_half_m0():
    # M0 bracketed by 10.0 and 10.2 mGy: mean 10.1, M0/2 = 5.05. Straddling pair: 2 mm (5.6) and 3 mm (4.3).
    # HVL = 2 + (3 − 2)·ln(5.05/5.6)/ln(4.3/5.6) = 2 + (−0.1033784)/(−0.2641516) = 2.391360 mm.
    result = hvl(MM, MGY, [Q_(10.0, "mGy"), Q_(10.2, "mGy")])
    assert result.value.to("mm").magnitude == pytest.approx(2.391360, abs=1e-6)
    assert result.half_reading.to("mGy").magnitude == pytest.approx(5.05)
    assert result.lower[0] == Q_(2, "mm") and result.upper[0] == Q_(3, "mm")
    assert "log-linear" in result.method and "2 mm" in result.method and "3 mm" in result.method


def test_hvl_with_a_single_m0_and_unsorted_series():
    # M0 = 10 mGy, M0/2 = 5: pair 2 mm (5.6) and 3 mm (4.3): 2 + ln(5/5.6)/ln(4.3/5.6)
    # = 2 + (−0.1133287)/(−0.2641516) = 2.429029 mm. The order of the pairs given does not matter.
    result = hvl(list(reversed(MM)), list(reversed(MGY)), Q_(10.0, "mGy"))
    assert result.value.magnitude == pytest.approx(2.429029, abs=1e-6)


def test_a_reading_exactly_at_half_m0_gives_its_thickness():
    # M0 = 8.6 mGy, M0/2 = 4.3 = the reading at 3 mm: ln(4.3/5.6)/ln(4.3/5.6) = 1, HVL = 3 mm exactly.
    assert hvl(MM, MGY, Q_(8.6, "mGy")).value == Q_(3.0, "mm")


def test_hvl_is_not_extrapolated_beyond_the_thickest_filter():
    # M0 = 6 mGy: M0/2 = 3 mGy, but the thickest filter (4 mm) still reads 3.4 mGy.
    with pytest.raises(ValueError, match="not extrapolated"):
        hvl(MM, MGY, Q_(6.0, "mGy"))


def test_hvl_is_not_extrapolated_below_the_thinnest_filter():
    # With M0 = 25 mGy every reading (≤ 10) is already below M0/2 = 12.5.
    with pytest.raises(ValueError, match="thinner"):
        hvl(MM, MGY, Q_(25.0, "mGy"))


def test_hvl_refuses_rising_readings_mismatched_lengths_and_bare_numbers():
    with pytest.raises(ValueError, match="fall"):
        hvl(MM, [Q_(m, "mGy") for m in (10.0, 7.4, 7.5, 4.3, 3.4)], Q_(10.0, "mGy"))
    with pytest.raises(ValueError, match="one reading per thickness"):
        hvl(MM[:4], MGY, Q_(10.0, "mGy"))
    with pytest.raises(TypeError):
        hvl([0, 1, 2, 3, 4], MGY, Q_(10.0, "mGy"))
    with pytest.raises(ValueError, match="same kind"):
        hvl(MM, MGY, Q_(10.0, "nC"))


def test_minimum_column_c_interpolates_inside_the_band_above_70():
    # 75 kVp lies between 71 (2.5) and 80 (2.9): 2.5 + (75 − 71)/(80 − 71) × 0.4 = 2.677778 mm.
    assert hvl_minimum(Q_(75, "kV"), "C").magnitude == pytest.approx(2.677778, abs=1e-6)


def test_minimum_does_not_interpolate_across_the_70_71_step():
    # 70 kVp is the top of the 51-70 band (1.8), 71 the bottom of the band above (2.5).
    assert hvl_minimum(Q_(70, "kV"), "C") == Q_(1.8, "mm")
    assert hvl_minimum(Q_(71, "kV"), "C") == Q_(2.5, "mm")
    # 70.5 kVp belongs to "above 70": extrapolated from 71-80, 2.5 − 0.5/9 × 0.4 = 2.477778, not the 2.15 a
    # line from (70, 1.8) to (71, 2.5) would give.
    assert hvl_minimum(Q_(70.5, "kV"), "C").magnitude == pytest.approx(2.477778, abs=1e-6)


def test_minimum_extrapolates_within_the_band_below_51():
    # Column B at 50.5 kVp: from the 40-50 segment, 0.5 + 0.5 × 0.01 = 0.505, not toward the 51 kVp row (1.2).
    assert hvl_minimum(Q_(50.5, "kV"), "B").magnitude == pytest.approx(0.505)


@pytest.mark.parametrize("kv, column, expected", [
    (30, "A", 1.5), (60, "B", 1.3), (100, "A", 2.7), (80, "C", 2.9), (150, "C", 5.4), (51, "C", 1.3),
])
def test_minimum_on_tabulated_rows(kv, column, expected):
    assert hvl_minimum(Q_(kv, "kV"), column).to("mm").magnitude == pytest.approx(expected, abs=1e-12)


def test_minimum_reads_the_kvp_in_any_voltage_unit():
    assert hvl_minimum(Q_(80000, "V"), "c").magnitude == pytest.approx(2.9)


def test_minimum_outside_30_to_150_kvp_raises():
    with pytest.raises(ValueError, match="30-150"):
        hvl_minimum(Q_(29, "kV"), "A")
    with pytest.raises(ValueError, match="30-150"):
        hvl_minimum(Q_(151, "kV"), "C")


def test_minimum_refuses_an_unknown_column():
    with pytest.raises(ValueError, match="A, B, C"):
        hvl_minimum(Q_(80, "kV"), "D")
    with pytest.raises(ValueError, match="A, B, C"):
        hvl_minimum(Q_(80, "kV"))


def test_mammography_minimum():
    # 28 kVp: 28/100 + 0.03 = 0.31 mm Al.
    assert hvl_minimum(Q_(28, "kV"), mammography=True).magnitude == pytest.approx(0.31)
    with pytest.raises(ValueError, match="column"):
        hvl_minimum(Q_(28, "kV"), "C", mammography=True)
    with pytest.raises(ValueError, match="50"):
        hvl_minimum(Q_(60, "kV"), mammography=True)


def test_table_keeps_the_notes_tags_per_row():
    rows = {row.kvp: row for band in HVL_TABLE_1 for row in band.rows}
    assert rows[80].verification == ("checked", "checked", "checked")
    assert rows[90].verification == ("checked", "checked", "quoted")
    assert rows[150].c == 5.4 and rows[71].a == 2.1
