"""The named tables limit sets refer to: their bounds at a condition, and the errors when it is missing."""

import pytest

from xcal.analysis import LIMIT_TABLES, limit_table
from xcal.units import Q_


def test_hvl_tables_follow_table_1():
    # Column C at 80 kVp is 2.9 mm; at 75 kVp 2.5 + 4/9 × 0.4 = 2.677778 mm.
    assert limit_table("hvl-minimum-c").bound({"kvp": Q_(80, "kV")}) == Q_(2.9, "mm")
    assert limit_table("hvl-minimum-c").bound({"kvp": Q_(75, "kV")}).magnitude == pytest.approx(2.677778,
                                                                                                 abs=1e-6)
    assert limit_table("hvl-minimum-a").bound({"kvp": Q_(60, "kV")}) == Q_(1.5, "mm")
    assert limit_table("hvl-minimum-mammography").bound({"kvp": Q_(30, "kV")}).magnitude == pytest.approx(0.33)


def test_the_station_key_kv_is_accepted_for_kvp():
    assert limit_table("hvl-minimum-b").bound({"kv": Q_(80, "kV")}) == Q_(2.3, "mm")


def test_aec_minimum_time_is_the_greater_of_1_60_s_and_5_mas():
    table = limit_table("aec-minimum-time")
    # 200 mA: 5 mAs / 200 mA = 25 ms > 16.67 ms; 500 mA: 10 ms < 1/60 s = 16.667 ms.
    assert table.bound({"ma": Q_(200, "mA")}).to("ms").magnitude == pytest.approx(25.0)
    assert table.bound({"ma": Q_(500, "mA")}).to("ms").magnitude == pytest.approx(1000 / 60)


def test_aec_backup_steps_at_51_kvp():
    table = limit_table("aec-backup-mas")
    assert table.bound({"kvp": Q_(50, "kV")}) == Q_(2000, "mAs")
    assert table.bound({"kvp": Q_(51, "kV")}) == Q_(600, "mAs")


def test_missing_or_wrong_condition():
    with pytest.raises(ValueError, match="'kvp'"):
        limit_table("hvl-minimum-c").bound({})
    with pytest.raises(ValueError, match="'ma'"):
        limit_table("aec-minimum-time").bound(None)
    with pytest.raises(ValueError, match="dimension"):
        limit_table("hvl-minimum-c").bound({"kvp": Q_(80, "mA")})
    with pytest.raises(ValueError, match="known tables"):
        limit_table("hvl-minimum-d")


def test_every_table_cites_its_source_and_verification():
    for table in LIMIT_TABLES.values():
        assert table.source.startswith("21 CFR")
        assert table.verification in ("checked", "quoted", "unverified")
    assert LIMIT_TABLES["hvl-minimum-c"].verification == "quoted"
    assert LIMIT_TABLES["hvl-minimum-a"].verification == "checked"
