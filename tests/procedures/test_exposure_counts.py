"""A run whose statistics need more exposures (or stations) than its parameters give is refused when it is
planned, before any exposure: a coefficient of variation needs two values (sample SD, n − 1), and a rule may
judge only on its own number (21 CFR 1020.31(b): 10 exposures; WAC 246-225-090: 4)."""

from __future__ import annotations

import pytest

from xcal.errors import ConfigError
from xcal.procedures.session import plan_run
from xcal.site import DEMO_SITE, load_site
from xcal.units import Q_


def _refused(*args, **kwargs):
    with pytest.raises(ConfigError) as err:
        plan_run(*args, **kwargs)
    assert err.value.exit_code == 2
    return err.value


def test_output_with_one_exposure_is_refused_naming_the_result_and_the_rule():
    err = _refused("output", 3, parameters={"repeats": 1})
    # Room 3 takes output-reproducibility from cfr-1020: 21 CFR 1020.31(b) judges the CV on 10 exposures.
    assert err.message.startswith("output in room 3 (Radiography 3): result 'kerma_cv'")
    assert "1 exposure at station 1" in err.message and "needs at least 10" in err.message
    assert "a coefficient of variation needs 2" in err.message
    assert "limit output-reproducibility of cfr-1020 judges it on 10" in err.message
    assert "repeats" in err.fix and "10" in err.fix


def test_output_with_five_exposures_still_falls_short_of_the_federal_rule():
    err = _refused("output", 3, parameters={"repeats": 5})
    assert "5 exposures at station 1" in err.message and "needs at least 10" in err.message
    assert "a coefficient of variation needs 2" not in err.message          # 5 is enough for a CV as such
    plan = plan_run("output", 3, parameters={"repeats": 10})
    assert plan.total_exposures() == 10


def test_without_a_rule_of_its_own_a_cv_needs_two_exposures(tmp_path):
    # With aapm-74 ahead of cfr-1020, output-reproducibility is AAPM Report 74's ≤ 0.05, which names no number
    # of exposures: two are the least a sample standard deviation can be computed from.
    old = ("    limit_sets: [example-dxr-manufacturer, cfr-1020, aapm-74, lambert-mckeon-2001, 10cfr35-survey, "
           "iec-61223-3-1, ncrp-147, detector-qc, dicom-acceptance]\n")
    text = DEMO_SITE.read_text(encoding="utf-8")
    assert old in text
    site = tmp_path / "site.yaml"
    site.write_text(text.replace(old, old.replace("cfr-1020, aapm-74", "aapm-74, cfr-1020")), encoding="utf-8")
    (tmp_path / "instruments").symlink_to(DEMO_SITE.parent / "instruments")
    site_obj = load_site(site)
    plan = plan_run("output", 3, site=site_obj, parameters={"repeats": 2})
    assert plan.limits["output-reproducibility"].set_id == "aapm-74"
    err = _refused("output", 3, site=site_obj, parameters={"repeats": 1})
    assert "needs at least 2" in err.message and "a coefficient of variation needs 2" in err.message


def test_repeats_from_the_rooms_parameters_are_refused_at_their_line(tmp_path):
    text = DEMO_SITE.read_text(encoding="utf-8")
    anchor = "    parameters:\n      area-survey:\n"
    site = tmp_path / "site.yaml"
    site.write_text(text.replace(anchor, "    parameters:\n      output:\n        repeats: 1\n      area-survey:\n", 1),
                    encoding="utf-8")
    (tmp_path / "instruments").symlink_to(DEMO_SITE.parent / "instruments")
    err = _refused("output", 3, site=load_site(site))
    assert err.file == str(site) and err.line is not None
    assert "room 3's parameters" in err.message and "kerma_cv" in err.message


def test_a_state_four_exposure_rule_needs_its_four():
    # Room 8 follows Washington: WAC 246-225-090 judges (max − min) / mean on 4 exposures.
    err = _refused("output-reproducibility-4", 8, parameters={"repeats": 3})
    assert "result 'kerma_range_ratio'" in err.message and "needs at least 4" in err.message
    assert "limit output-reproducibility-4 of wa judges it on 4" in err.message


def test_a_linearity_needs_two_stations_and_ten_exposures_at_each():
    one = [{"kv": Q_(80, "kV"), "ma": Q_(200, "mA"), "time": Q_(100, "ms")}]
    err = _refused("ma-linearity", 3, parameters={"stations": one})
    assert "result 'linearity'" in err.message and "1 station" in err.message and "needs at least 2" in err.message
    assert "stations" in err.fix
    err = _refused("ma-linearity", 3, parameters={"repeats": 9})
    assert "9 exposures at station 1" in err.message and "needs at least 10" in err.message


def test_an_hvl_without_two_filtered_stations_is_refused_before_the_first_exposure():
    def station(mm):
        return {"kv": Q_(80, "kV"), "ma": Q_(200, "mA"), "time": Q_(50, "ms"), "added_filtration": Q_(mm, "mm")}

    err = _refused("hvl", 3, parameters={"stations": [station(0), station(3), station(0)]})
    assert "result 'hvl'" in err.message and "2 open-beam stations and 1 filtered" in err.message
    assert "added_filtration" in err.fix
