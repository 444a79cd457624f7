"""k_TP, k_Q from a certificate table, air kerma, inverse square and ESAK, with hand-worked numbers."""

import pytest

from xcal.analysis import air_kerma, esak, inverse_square, k_q_from_table, k_tp
from xcal.units import Q_

T0, P0 = Q_(22, "degC"), Q_(101.325, "kPa")
KQ_TABLE = [(Q_(2.0, "mm"), 0.98), (Q_(3.0, "mm"), 1.00), (Q_(4.0, "mm"), 1.03)]


def test_k_tp_at_25_c_and_99_kpa_against_us_reference():
    # (273.15 + 25)/(273.15 + 22) × 101.325/99 = 1.0101643 × 1.0234848 = 1.0338879.
    assert k_tp(Q_(25, "degC"), Q_(99, "kPa"), T0, P0).magnitude == pytest.approx(1.0338879, rel=1e-7)


def test_k_tp_takes_kelvin_and_other_pressure_units():
    # The same conditions written as 298.15 K and 990 hPa; against the IEC reference 20 °C it is
    # 298.15/293.15 × 101.325/99 = 1.0170561 × 1.0234848 = 1.0409415.
    assert k_tp(Q_(298.15, "K"), Q_(990, "hPa"), T0, P0).magnitude == pytest.approx(1.0338879, rel=1e-7)
    assert k_tp(Q_(25, "degC"), Q_(99, "kPa"), Q_(20, "degC"), P0).magnitude == pytest.approx(1.0409415,
                                                                                              rel=1e-7)


def test_k_tp_at_reference_conditions_is_one():
    assert k_tp(T0, P0, T0, P0).magnitude == pytest.approx(1.0, abs=1e-15)


def test_k_tp_has_no_hidden_reference_and_refuses_bare_numbers():
    with pytest.raises(TypeError):
        k_tp(Q_(25, "degC"), Q_(99, "kPa"))  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        k_tp(25.0, Q_(99, "kPa"), T0, P0)
    with pytest.raises(ValueError, match="dimension"):
        k_tp(Q_(25, "degC"), Q_(99, "mm"), T0, P0)


def test_k_q_interpolates_linearly_in_hvl():
    # 3.5 mm: halfway between 1.00 and 1.03 = 1.015; 2.58 mm: 0.98 + 0.58 × 0.02 = 0.9916.
    assert k_q_from_table(Q_(3.5, "mm"), KQ_TABLE).magnitude == pytest.approx(1.015)
    assert k_q_from_table(Q_(2.58, "mm"), KQ_TABLE).magnitude == pytest.approx(0.9916)
    assert k_q_from_table(Q_(0.4, "cm"), KQ_TABLE).magnitude == pytest.approx(1.03)


def test_k_q_is_not_extrapolated():
    with pytest.raises(ValueError, match="2-4 mm"):
        k_q_from_table(Q_(1.9, "mm"), KQ_TABLE)
    with pytest.raises(ValueError, match="outside"):
        k_q_from_table(Q_(4.01, "mm"), KQ_TABLE)


KQ_BY_KV = [(Q_(50, "kV"), 1.005), (Q_(70, "kV"), 1.000), (Q_(90, "kV"), 0.996), (Q_(120, "kV"), 0.992)]


def test_k_q_interpolates_linearly_in_tube_voltage():
    # RQR 3/5/7/9 at 50/70/90/120 kV. 80 kV: halfway between 1.000 and 0.996 = 0.998; 60 kV: halfway between
    # 1.005 and 1.000 = 1.0025; 105 kV: 0.996 + (0.992 − 0.996) × 15/30 = 0.994; on a point, its own value.
    assert k_q_from_table(Q_(80, "kV"), KQ_BY_KV).magnitude == pytest.approx(0.998, rel=1e-12)
    assert k_q_from_table(Q_(60, "kV"), KQ_BY_KV).magnitude == pytest.approx(1.0025, rel=1e-12)
    assert k_q_from_table(Q_(105000, "V"), KQ_BY_KV).magnitude == pytest.approx(0.994, rel=1e-12)
    assert k_q_from_table(Q_(120, "kV"), KQ_BY_KV).magnitude == 0.992


def test_k_q_by_voltage_is_not_extrapolated_and_not_mixed_with_hvl():
    with pytest.raises(ValueError, match="125 kV.*50-120 kV"):
        k_q_from_table(Q_(125, "kV"), KQ_BY_KV)
    with pytest.raises(ValueError, match="45 kV"):
        k_q_from_table(Q_(45, "kV"), KQ_BY_KV)
    with pytest.raises(ValueError, match="dimension"):
        k_q_from_table(Q_(3, "mm"), KQ_BY_KV)


def test_air_kerma_from_charge_with_all_factors():
    # 12 nC × 4.5 mGy/nC × k_TP 1.0338879 × k_Q(3.5 mm) 1.015 = 54 × 1.015 × 1.0338879 = 56.66739 mGy.
    kq = k_tp(Q_(25, "degC"), Q_(99, "kPa"), T0, P0)
    result = air_kerma(Q_(12, "nC"), Q_(4.5, "mGy/nC"), k_tp=kq, hvl=Q_(3.5, "mm"), k_q_table=KQ_TABLE)
    assert result.units == Q_(1, "mGy").units
    assert result.magnitude == pytest.approx(56.66739, rel=1e-6)


def test_air_kerma_rate_from_current():
    # 2 nA × 4.5 mGy/nC = 9 mGy/s; × k_Q 1.01 × k_elec 0.999 = 9.08091 mGy/s.
    result = air_kerma(Q_(2, "nA"), Q_(4.5, "mGy/nC"), k_tp=1.0, k_q=1.01, k_elec=0.999)
    assert result.to("mGy/s").magnitude == pytest.approx(9.08091)


def test_air_kerma_needs_exactly_one_way_to_k_q():
    with pytest.raises(ValueError, match="either"):
        air_kerma(Q_(12, "nC"), Q_(4.5, "mGy/nC"), k_tp=1.0)
    with pytest.raises(ValueError, match="either"):
        air_kerma(Q_(12, "nC"), Q_(4.5, "mGy/nC"), k_tp=1.0, k_q=1.0, k_q_table=KQ_TABLE, hvl=Q_(3, "mm"))
    with pytest.raises(ValueError, match="hvl"):
        air_kerma(Q_(12, "nC"), Q_(4.5, "mGy/nC"), k_tp=1.0, k_q_table=KQ_TABLE)
    with pytest.raises(ValueError, match="not an air kerma"):
        air_kerma(Q_(12, "nC"), Q_(4.5, "mGy"), k_tp=1.0, k_q=1.0)


def test_inverse_square():
    # 1 mGy at 100 cm: at 50 cm × (100/50)² = 4 mGy; at 2 m × (1/2)² = 0.25 mGy.
    assert inverse_square(Q_(1, "mGy"), Q_(100, "cm"), Q_(50, "cm")).magnitude == pytest.approx(4.0)
    assert inverse_square(Q_(1, "mGy"), Q_(100, "cm"), Q_(2, "m")).to("mGy").magnitude == pytest.approx(0.25)
    with pytest.raises(ValueError, match="greater than zero"):
        inverse_square(Q_(1, "mGy"), Q_(100, "cm"), Q_(0, "cm"))


def test_esak():
    # 50 µGy/mAs at 100 cm × 20 mAs = 1 mGy at 100 cm; at FSD 80 cm × (100/80)² = 1.5625 mGy.
    result = esak(Q_(50, "uGy/mAs"), Q_(20, "mAs"), Q_(100, "cm"), Q_(80, "cm"))
    assert result.units == Q_(1, "mGy").units and result.magnitude == pytest.approx(1.5625)
    with pytest.raises(ValueError, match="not an air kerma"):
        esak(Q_(50, "uGy"), Q_(20, "mAs"), Q_(100, "cm"), Q_(80, "cm"))
