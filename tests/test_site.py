"""Site files: the demo site, and each kind of site-file mistake with its place and fix."""

import datetime as dt

import pytest

from xcal.errors import CalibrationExpiredError, ConfigError
from xcal.procedures.loader import LIBRARY_INDEX
from xcal.site import DEMO_SITE, load_site


def test_no_site_given_means_the_demo_site(monkeypatch):
    monkeypatch.delenv("XCAL_SITE", raising=False)
    site = load_site()
    assert site.is_demo and "SIMULATED" in site.name
    assert {"3", "4"} <= set(site.rooms)
    room3 = site.room(3)
    assert room3.limit_sets[0] == "example-dxr-manufacturer" and "cfr-1020" in room3.limit_sets
    assert site.instruments[room3.instruments["kvp_meter"]].simulated


def test_demo_room_4_carries_the_kvp_fault():
    faults = load_site(DEMO_SITE).room(4).simulation["faults"]
    assert faults == {"kvp_scale": 1.07, "kvp_scale_above_kv": 100.0}


def test_unknown_room_lists_the_rooms():
    with pytest.raises(ConfigError) as err:
        load_site(DEMO_SITE).room(99)
    assert "no room '99'" in err.value.message and "3" in err.value.fix


def _site(tmp_path, replace=None):
    text = DEMO_SITE.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_copy_of_the_demo_site_loads_as_a_real_site_file(tmp_path):
    site = load_site(_site(tmp_path))
    assert not site.is_demo and site.path.endswith("site.yaml")


def test_unknown_capability_in_a_site_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_site(_site(tmp_path, {"capabilities: [KvpMeter]": "capabilities: [KvpMetre]"}))
    assert "unknown capability 'KvpMetre'" in err.value.message and err.value.line == 16


def test_unknown_limit_set_in_a_room(tmp_path):
    with pytest.raises(ConfigError, match="unknown limit set 'cfr-1021'") as err:
        load_site(_site(tmp_path, {"    limit_sets: [example-dxr-manufacturer, cfr-1020, aapm-74, lambert-mckeon-2001, "
                                   "10cfr35-survey, iec-61223-3-1, ncrp-147, detector-qc, dicom-acceptance]\n"
                                   "    instruments:\n      kvp_meter: kvp-1\n      electrometer":
                                   "    limit_sets: [example-dxr-manufacturer, cfr-1021]\n"
                                   "    instruments:\n      kvp_meter: kvp-1\n      electrometer"}))
    assert "cfr-1020" in err.value.fix


def test_a_room_naming_an_unknown_instrument(tmp_path):
    with pytest.raises(ConfigError, match="instrument 'ec-9'"):
        load_site(_site(tmp_path, {"      electrometer: ec-1": "      electrometer: ec-9"}))


def test_a_calibration_date_that_is_not_a_date(tmp_path):
    with pytest.raises(ConfigError, match="must be a date"):
        load_site(_site(tmp_path, {"due: 2099-12-31": "due: next spring"}))


def test_a_filtration_in_the_wrong_unit(tmp_path):
    with pytest.raises(ConfigError, match="filtration"):
        load_site(_site(tmp_path, {"filtration: 3.5 mm\n      seed: 3": "filtration: 3.5 kV\n      seed: 3"}))


def test_expired_calibration_is_refused_with_the_instrument_and_date(tmp_path):
    inst = load_site(_site(tmp_path, {"due: 2099-12-31": "due: 2026-01-31"})).instruments["kvp-1"]
    with pytest.raises(CalibrationExpiredError) as err:
        inst.check_calibration(dt.date(2026, 2, 1))
    assert "kvp-1" in err.value.message and "2026-01-31" in err.value.message
    assert "--allow-expired-calibration" in err.value.fix
    assert inst.check_calibration(dt.date(2026, 1, 31)) is True          # due today is still in date
    assert inst.check_calibration(dt.date(2026, 2, 1), "spare meter at repair") is False


def test_a_certificate_with_one_reference_condition_is_refused(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_site(_site(tmp_path, {"      reference_pressure: 101.325 kPa\n": ""}))
    assert "ec-1" in err.value.message and "reference_temperature without the other" in err.value.message
    assert err.value.line is not None and "reference_pressure" in err.value.fix


KQ_ROWS = ("          - {quality: RQR 3, kv: 50 kV, hvl: 1.78 mm, k_q: 1.005}\n"
           "          - {quality: RQR 5, kv: 70 kV, hvl: 2.58 mm, k_q: 1.000}\n"
           "          - {quality: RQR 7, kv: 90 kV, hvl: 3.48 mm, k_q: 0.996}\n"
           "          - {quality: RQR 9, kv: 120 kV, hvl: 5.00 mm, k_q: 0.992}\n")


def test_the_demo_chamber_certificate_gives_k_q_by_beam_quality_read_at_the_tube_voltage():
    from xcal.units import Q_

    ec1 = load_site(DEMO_SITE).instruments["ec-1"]
    assert [(q.quality, q.kv.to("kV").magnitude, q.k_q) for q in ec1.calibration.k_q.qualities] == [
        ("RQR 3", 50.0, 1.005), ("RQR 5", 70.0, 1.000), ("RQR 7", 90.0, 0.996), ("RQR 9", 120.0, 0.992)]
    assert "SIMULATED" in ec1.calibration.k_q.note
    # 80 kV lies halfway between RQR 5 (70 kV, 1.000) and RQR 7 (90 kV, 0.996): k_Q = 0.998.
    value, source = ec1.k_q_at(Q_(80, "kV"))
    assert value.magnitude == pytest.approx(0.998, rel=1e-12)
    assert "RQR 5" in source and "RQR 7" in source and "SIM-CAL-2026-0118" in source and "80 kV" in source
    value, source = ec1.k_q_at(Q_(90, "kV"))
    assert value.magnitude == 0.996 and "RQR 7" in source and "RQR 5" not in source
    with pytest.raises(ValueError, match="130 kV.*50 kV to 120 kV"):
        ec1.k_q_at(Q_(130, "kV"))
    # The table is part of the calibration a run records.
    assert "RQR 5 70 kV" in ec1.calibration.snapshot()["k_q_table"]


def test_a_certificate_without_a_k_q_table_gives_1_and_says_so(tmp_path):
    from xcal.units import Q_

    value, source = load_site(DEMO_SITE).instruments["dap-1"].k_q_at(Q_(80, "kV"))
    assert value.magnitude == 1.0 and "gives no k_Q" in source and "SIM-CAL-2026-0119" in source


@pytest.mark.parametrize("rows, words", [
    (KQ_ROWS.split("\n", 1)[0] + "\n", "at least two beam qualities"),
    (KQ_ROWS.replace("kv: 90 kV", "kv: 70 kV"), "70 kV twice"),
    (KQ_ROWS.replace("kv: 50 kV", "kv: 50 mm"), "kv"),
    (KQ_ROWS.replace("k_q: 0.996", "k_q: -0.996"), "more than zero"),
    (KQ_ROWS.replace("k_q: 0.996", "k_q: 0.996 kV"), "k_q"),
    (KQ_ROWS.replace("hvl: 2.58 mm", "hvl: 2.58 kV"), "hvl"),
    (KQ_ROWS.replace("quality: RQR 3,", "quality: RQR 3, filter: 2 mm,"), "filter"),
])
def test_a_wrong_k_q_table_is_refused_at_its_line(tmp_path, rows, words):
    with pytest.raises(ConfigError) as err:
        load_site(_site(tmp_path, {KQ_ROWS: rows}))
    assert "ec-1" in err.value.message and words in err.value.message and err.value.line is not None


def test_a_check_source_of_an_unknown_nuclide_needs_its_half_life(tmp_path):
    import datetime as dt

    old = "      source: Cs-137 button source CS-0113 in the meter's check-source holder\n      nuclide: Cs-137\n"
    with pytest.raises(ConfigError) as err:
        load_site(_site(tmp_path, {old: "      source: Co-57 disc\n      nuclide: Co-57\n"}))
    assert "no half-life known for 'Co-57'" in err.value.message and "half_life" in err.value.fix
    site = load_site(_site(tmp_path, {old: "      source: Co-57 disc\n      nuclide: Co-57\n      half_life: 272 d\n"}))
    source = site.instruments["gm-1"].check_source
    # One half-life (272 days) after the 2026-01-15 baseline of 40 µSv/h, 20 µSv/h is expected.
    assert source.expected(dt.date(2026, 1, 15) + dt.timedelta(days=272)).to("µSv/h").magnitude == pytest.approx(20.0)


def test_room_parameters_override_a_procedures_defaults_and_are_checked(tmp_path):
    from xcal.procedures.session import plan_run

    site = load_site(DEMO_SITE)
    plan = plan_run("hvl", 13, site=site)
    assert {s["kv"].to("kV").magnitude for s in plan.parameters["stations"]} == {70}
    assert [s["added_filtration"].to("mm").magnitude for s in plan.parameters["stations"]] == [0, 0.5, 1, 2, 3, 0]
    bad = load_site(_site(tmp_path, {"      hvl:\n": "      hvl:\n        kvp: 70 kV\n"}))
    with pytest.raises(ConfigError) as err:
        plan_run("hvl", 13, site=bad)
    assert "has no parameter 'kvp'" in err.value.message


def test_a_room_simulation_group_with_a_wrong_unit_points_at_it(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_site(_site(tmp_path, {"normal_current: 2.5 mA": "normal_current: 2.5 kV"}))
    assert "normal_current" in err.value.message and err.value.line is not None


def test_room_survey_points_missing_a_setting_or_an_area_are_refused_before_measuring(tmp_path):
    from xcal.procedures.session import plan_run

    missing = load_site(_site(tmp_path, {
        "{point: Office (east wall), area: uncontrolled, occupancy: 1, kv: 100 kV, ma: 3 mA, distance: 3.5 m, "
        "barrier: 0 mm}":
        "{point: Office (east wall), area: uncontrolled, kv: 100 kV, ma: 3 mA, distance: 3.5 m, barrier: 0 mm}"}))
    with pytest.raises(ConfigError) as err:
        plan_run("area-survey", 12, site=missing)
    assert "uses the station setting 'occupancy', and station 2 (Office (east wall)" in err.value.message
    assert "room 12 (Radiography 12)'s parameters" in err.value.message
    public = load_site(_site(tmp_path, {
        "{point: Office (east wall), area: uncontrolled, occupancy: 1, kv: 100 kV, ma: 3 mA, distance: 3.5 m, "
        "barrier: 0 mm}":
        "{point: Office (east wall), area: public, occupancy: 1, kv: 100 kV, ma: 3 mA, distance: 3.5 m, "
        "barrier: 0 mm}"}))
    with pytest.raises(ConfigError) as err:
        plan_run("area-survey", 12, site=public)
    assert "station 2 (Office (east wall)" in err.value.message and "is judged by no check" in err.value.message


BOOTH_STATIONS = ("        workload: 250 mA*min/week\n        stations:\n"
                  "          - {point: Control booth, area: controlled, occupancy: 1, kv: 100 kV, ma: 3 mA, "
                  "distance: 2.5 m, barrier: 1.5 mm}\n          - {point: Office")
"""Room 12's area-survey parameters in the demo site, up to its second station."""


def test_a_misspelt_procedure_under_room_parameters_is_caught_at_load(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_site(_site(tmp_path, {"    parameters:\n      area-survey:\n" + BOOTH_STATIONS:
                                   "    parameters:\n      area-surveys:\n" + BOOTH_STATIONS}),
                  procedures=LIBRARY_INDEX)
    assert "'area-surveys'" in err.value.message and "did you mean 'area-survey'" in err.value.fix
    assert err.value.line is not None


def test_a_room_parameter_of_the_wrong_kind_is_shown_as_written(tmp_path):
    from xcal.procedures.session import plan_run

    site = load_site(_site(tmp_path, {BOOTH_STATIONS: BOOTH_STATIONS.replace("250 mA*min/week", "250 mGy")}))
    with pytest.raises(ConfigError) as err:
        plan_run("area-survey", 12, site=site)
    assert err.value.message == ("parameter 'workload' of area-survey (in room 12 (Radiography 12)'s parameters) "
                                 "must be like 250 mA·min/week, got 250 mGy")
