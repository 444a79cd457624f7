"""The table form `≥ table NAME`: parsing, evaluation at a condition, and errors in a limit-set file."""

import textwrap

import pytest

from xcal.errors import ConfigError
from xcal.limits.sets import load_library, load_limit_set
from xcal.limits.tolerance import FAIL, PASS, WARN, Form, parse_tolerance
from xcal.units import Q_

HVL_C = parse_tolerance("≥ table hvl-minimum-c")
AT_80 = {"kvp": Q_(80, "kV")}


def test_the_table_form_is_recognised():
    assert HVL_C.form is Form.TABLE and HVL_C.table == "hvl-minimum-c" and HVL_C.upper is False
    assert parse_tolerance("<= table aec-backup-mas").upper is True
    assert not HVL_C.needs_nominal
    assert HVL_C.context_variable == "kvp"
    assert HVL_C.unit_quantity.dimensionality == Q_(1, "mm").dimensionality


def test_other_forms_have_no_context_variable():
    assert parse_tolerance("≤ 0.05").context_variable is None
    assert parse_tolerance("±5 %").context_variable is None


def test_column_c_at_80_kvp_is_2_9_mm_and_compared_unrounded():
    assert HVL_C.evaluate(Q_(2.9, "mm"), context=AT_80).allowed == Q_(2.9, "mm")
    assert HVL_C.evaluate(Q_(2.9, "mm"), context=AT_80).verdict == PASS
    assert HVL_C.evaluate(Q_(2.89, "mm"), context=AT_80).verdict == FAIL
    # 2.8999 mm would print as 2.90 but is below the minimum.
    assert HVL_C.evaluate(Q_(2.8999, "mm"), context=AT_80).verdict == FAIL
    assert HVL_C.evaluate(Q_(0.29, "cm"), context=AT_80).verdict == PASS


def test_the_bound_follows_the_kvp():
    # 75 kVp: 2.5 + 4/9 × 0.4 = 2.677778 mm; a 2.68 mm HVL passes there but would fail at 80 kVp.
    out = HVL_C.evaluate(Q_(2.68, "mm"), context={"kvp": Q_(75, "kV")})
    assert out.verdict == PASS and out.allowed.magnitude == pytest.approx(2.677778, abs=1e-6)
    assert HVL_C.bound_at({"kv": Q_(71, "kV")}) == Q_(2.5, "mm")


def test_warn_band_applies_to_tables():
    # ≤ table aec-minimum-time at 200 mA allows 25 ms; warn at 80 % = 20 ms.
    tol = parse_tolerance("≤ table aec-minimum-time")
    ctx = {"ma": Q_(200, "mA")}
    assert tol.evaluate(Q_(19, "ms"), warn_fraction=0.8, context=ctx).verdict == PASS
    assert tol.evaluate(Q_(21, "ms"), warn_fraction=0.8, context=ctx).verdict == WARN
    assert tol.evaluate(Q_(25, "ms"), context=ctx).verdict == PASS
    assert tol.evaluate(Q_(25.1, "ms"), context=ctx).verdict == FAIL


def test_a_table_needs_its_condition():
    with pytest.raises(ValueError, match="kvp"):
        HVL_C.evaluate(Q_(2.9, "mm"))
    with pytest.raises(ValueError, match="kvp"):
        HVL_C.evaluate(Q_(2.9, "mm"), context={"ma": Q_(200, "mA")})


def test_an_unknown_table_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match="unknown table 'hvl-minimum-z'") as err:
        parse_tolerance("≥ table hvl-minimum-z")
    assert "hvl-minimum-c" in err.value.fix


def test_the_federal_hvl_minimum_limit_uses_column_c():
    limit = load_library()["cfr-1020"].limits["hvl-minimum"]
    assert limit.tolerance.evaluate(Q_(2.9, "mm"), context=AT_80).verdict == PASS
    assert limit.tolerance.evaluate(Q_(2.89, "mm"), context=AT_80).verdict == FAIL


SET = """\
    kind: limit-set
    id: site-y
    title: Site Y
    authority: site
    source: Site Y QA manual
    limits:
      hvl-minimum:
        tolerance: ≥ table hvl-minimum-b
        source: Site Y QA manual 4.2 (equipment made before 2006)
        verification: checked
    """


def _write(tmp_path, text):
    path = tmp_path / "site-y.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_site_set_can_choose_another_column(tmp_path):
    limit = load_limit_set(_write(tmp_path, SET)).limits["hvl-minimum"]
    assert limit.tolerance.bound_at(AT_80) == Q_(2.3, "mm")


def test_an_unknown_table_in_a_file_points_at_its_line_and_column(tmp_path):
    path = _write(tmp_path, SET.replace("hvl-minimum-b", "hvl-minimum-x"))
    with pytest.raises(ConfigError) as err:
        load_limit_set(path)
    assert (err.value.line, err.value.column) == (8, 16)   # "    tolerance: " is 15 characters
    assert str(path) in str(err.value) and ":8:16:" in str(err.value)
    assert "unknown table 'hvl-minimum-x'" in str(err.value)
    assert "hvl-minimum-c" in err.value.fix
