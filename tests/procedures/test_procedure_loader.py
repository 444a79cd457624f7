"""Procedure files: the built-in ones load; each kind of mistake gives one error at file:line:column."""

import pytest

from xcal.errors import ConfigError
from xcal.limits.sets import load_library
from xcal.procedures.loader import find_procedure, load_procedure
from xcal.units import Q_

GOOD = """\
kind: procedure
id: kv-test
version: 0.1.0
title: kV test
instruments:
  kvp_meter: KvpMeter
parameters:
  repeats: 2
  stations:
    - {kv: 80 kV, ma: 200 mA, time: 100 ms}
steps:
  - expose:
      repeats: repeats
      read:
        kvp_meter: [kvp_ppv]
results:
  kvp_mean:
    function: mean
    of: kvp_ppv
checks:
  - id: kvp
    result: kvp_mean
    nominal: kv
    limit: kvp-accuracy
"""


@pytest.fixture(scope="module")
def limits():
    names = {}
    for s in load_library().values():
        for name, lim in s.limits.items():
            names.setdefault(name, []).append(lim)
    return names


def _load(tmp_path, text, limits):
    path = tmp_path / "proc.yaml"
    path.write_text(text, encoding="utf-8")
    return load_procedure(path, known_limits=limits)


def _error(tmp_path, text, limits):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text, limits)
    e = err.value
    assert e.file.endswith("proc.yaml") and e.fix
    return e


def test_the_good_file_loads(tmp_path, limits):
    p = _load(tmp_path, GOOD, limits)
    assert p.parameters["stations"][0]["kv"] == Q_(80, "kV")
    assert p.instruments == {"kvp_meter": "KvpMeter"}
    assert len(p.sha256) == 64


def test_builtin_kvp_accuracy_has_four_stations_from_60_to_120_kv_with_three_repeats(limits):
    p = find_procedure("kvp-accuracy", limits)
    kvs = [st["kv"].to("kV").magnitude for st in p.parameters["stations"]]
    assert kvs == [60, 80, 100, 120]
    assert p.parameters["repeats"] >= 3
    assert p.checks[0].limit == "kvp-accuracy" and p.checks[0].nominal == "kv"


def test_yaml_syntax_error(tmp_path, limits):
    e = _error(tmp_path, GOOD.replace("  repeats: 2\n", "  repeats: [2\n"), limits)
    assert "YAML syntax error" in e.message
    assert e.line is not None and e.column is not None


def test_unknown_key_names_the_nearest_known_key(tmp_path, limits):
    e = _error(tmp_path, GOOD.replace("results:", "reslts:"), limits)
    assert "unknown key 'reslts'" in e.message
    assert (e.line, e.column) == (16, 1)
    assert "results" in e.fix


def test_a_current_where_a_voltage_is_meant(tmp_path, limits):
    e = _error(tmp_path, GOOD.replace("{kv: 80 kV,", "{kv: 80 mA,"), limits)
    assert "is a current, but a voltage is needed" in e.message
    # "    - {kv: " is 11 characters, so the value starts in column 12 of line 10.
    assert (e.line, e.column) == (10, 12)


def test_a_quantity_without_a_unit(tmp_path, limits):
    e = _error(tmp_path, GOOD.replace("{kv: 80 kV,", "{kv: 80,"), limits)
    assert "has no unit" in e.message


def test_a_limit_name_no_set_defines(tmp_path, limits):
    e = _error(tmp_path, GOOD.replace("limit: kvp-accuracy", "limit: kvp-acuracy"), limits)
    assert "no limit set defines the limit 'kvp-acuracy'" in e.message
    assert e.line == 24


def test_an_unknown_capability(tmp_path, limits):
    e = _error(tmp_path, GOOD.replace("kvp_meter: KvpMeter", "kvp_meter: KvMeter"), limits)
    assert "unknown capability 'KvMeter'" in e.message
    assert (e.line, e.column) == (6, 14)
    assert "KvpMeter" in e.fix


def test_a_reading_the_capability_cannot_deliver(tmp_path, limits):
    e = _error(tmp_path, GOOD.replace("[kvp_ppv]", "[charge]"), limits)
    assert "cannot deliver 'charge'" in e.message


def test_a_limit_of_the_wrong_kind_for_the_result(tmp_path, limits):
    # output-reproducibility is a bare number (≤ 0.05) — fine for any result; leakage is mGy/h, not kV.
    e = _error(tmp_path, GOOD.replace("limit: kvp-accuracy", "limit: leakage"), limits)
    assert "does not fit the result" in e.message


def test_a_plus_minus_limit_needs_a_nominal(tmp_path, limits):
    e = _error(tmp_path, GOOD.replace("    nominal: kv\n", ""), limits)
    assert "needs the set value" in e.message


def test_yaml_cannot_build_python_objects(tmp_path, limits):
    e = _error(tmp_path, GOOD.replace("title: kV test", "title: !!python/object/apply:os.system ['true']"),
               limits)
    assert "YAML" in e.message


def test_prompt_placeholders_must_be_parameters(tmp_path, limits):
    text = GOOD.replace("steps:\n", "steps:\n  - prompt: Place the meter at {distance}\n")
    e = _error(tmp_path, text, limits)
    assert "{distance}" in e.message


def test_unknown_procedure_name_lists_the_library():
    with pytest.raises(ConfigError) as err:
        find_procedure("kvp-acuracy")
    assert "kvp-accuracy" in err.value.fix


def test_yaml_tags_on_scalars_are_refused_too(tmp_path, limits):
    e = _error(tmp_path, GOOD.replace("title: kV test", "title: !!python/name:os.system ''"), limits)
    assert "YAML error" in e.message and e.line == 4


def _library_text(name, old, new):
    from xcal.procedures.loader import library_paths

    text = library_paths()[name].read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new)


def test_only_must_name_a_text_station_setting(tmp_path, limits):
    e = _error(tmp_path, _library_text("area-survey", "only: {area: controlled}", "only: {occupancy: 1}"), limits)
    assert "'occupancy' is not a text station setting" in e.message and "area" in e.fix


def test_a_per_station_expression_may_use_station_settings_and_a_run_expression_may_not(tmp_path, limits):
    p = _load(tmp_path, _library_text("leakage", "leakage_rate:", "leakage_rate:"), limits)
    assert next(r for r in p.results if r.name == "leakage_rate").per == "station"
    e = _error(tmp_path, _library_text("leakage", "    per: station\n", ""), limits)
    assert "unknown name(s)" in e.message and "kerma_mean" in e.message


def test_report_must_be_a_boolean_and_unit_must_fit(tmp_path, limits):
    e = _error(tmp_path, _library_text("output", "    report: true\n    unit: µGy/mAs",
                                       "    report: yes please\n    unit: µGy/mAs"), limits)
    assert "report must be true or false" in e.message
    e = _error(tmp_path, _library_text("output", "unit: µGy/mAs", "unit: mGy/min"), limits)
    assert "unit 'mGy/min' does not fit" in e.message and e.line is not None


def test_an_expression_may_use_the_role_calibration_values(tmp_path, limits):
    p = _load(tmp_path, _library_text("output", "k_tp(", "k_tp("), limits)
    assert "electrometer_calibration_temperature" in next(r.of for r in p.results if r.name == "k_tp")
    e = _error(tmp_path, _library_text("output", "electrometer_calibration_pressure)",
                                       "dosimeter_calibration_pressure)"), limits)
    assert "dosimeter_calibration_pressure" in e.message


def test_an_entry_range_must_be_two_values_of_its_kind_lowest_first(tmp_path, limits):
    e = _error(tmp_path, _library_text("output", "range: [60 kPa, 110 kPa]", "range: [110 kPa, 60 kPa]"), limits)
    assert "lowest first" in e.message and e.line is not None
    e = _error(tmp_path, _library_text("output", "range: [60 kPa, 110 kPa]", "range: [60 kPa]"), limits)
    assert "two values" in e.message
    e = _error(tmp_path, _library_text("output", "range: [60 kPa, 110 kPa]", "range: [60 cm, 110 cm]"), limits)
    assert "like kPa" in e.message


def test_check_kinds_need_a_procedure_with_a_subject(tmp_path, limits):
    e = _error(tmp_path, _library_text("apron-inspection", "subject: apparel\n", ""), limits)
    assert "kinds applies to a procedure with a subject" in e.message and "subject: apparel" in e.fix
