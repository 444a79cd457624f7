"""Site values of the wrong kind or out of range are refused when the site is loaded, at their line, with a fix
a technician can follow; never a Python error at run time."""

from __future__ import annotations

import pytest

from xcal.errors import ConfigError
from xcal.site import load_site

SURVEY_POINT = ("{point: Control booth, area: controlled, occupancy: 1, kv: 100 kV, ma: 3 mA, distance: 2.5 m, "
                "barrier: 1.5 mm}")
ROOM3_SETS = ("limit_sets: [example-dxr-manufacturer, cfr-1020, aapm-74, lambert-mckeon-2001, 10cfr35-survey, "
              "iec-61223-3-1, ncrp-147, detector-qc, dicom-acceptance]")

CASES = {
    # id: (text of the demo site, its replacement, the text on the line the error must name, words of the message)
    "capability-mapping": ("capabilities: [KvpMeter]", "capabilities: [{a: 1}]", "capabilities: [{a: 1}]",
                           "a capability of kvp-1 must be text, got a mapping"),
    "room-limit-set-list": (ROOM3_SETS, "limit_sets: [[example-dxr-manufacturer], cfr-1020]",
                            "limit_sets: [[example-dxr", "a limit set of room 3 must be text, got a list"),
    "site-limit-set-list": ("kind: site\n", "kind: site\nlimit_sets: [[extra.yaml]]\n", "limit_sets: [[extra",
                            "a limit_sets file must be text, got a list"),
    "role-list": ("      kvp_meter: kvp-1\n      electrometer: ec-1\n      dap_meter",
                  "      kvp_meter: [kvp-1]\n      electrometer: ec-1\n      dap_meter", "kvp_meter: [kvp-1]",
                  "the kvp_meter of room 3 must be text, got a list"),
    "ma-factor-text": ("{320 mA: 0.75}", "{320 mA: abc}", "{320 mA: abc}",
                       "room 7 simulation faults ma_factors 320 mA: the factor must be a plain number, got abc"),
    "ma-factor-negative": ("{320 mA: 0.75}", "{320 mA: -0.5}", "{320 mA: -0.5}",
                           "ma_factors 320 mA must be zero or more, got -0.5"),
    "seed-fraction": ("      seed: 3\n", "      seed: 3.5\n", "seed: 3.5",
                      "room 3 simulation seed must be a whole number of 0 or more, got 3.5"),
    "seed-negative": ("      seed: 3\n", "      seed: -1\n", "seed: -1",
                      "room 3 simulation seed must be a whole number of 0 or more, got -1"),
    "room-temperature": ("temperature: 24 °C", "temperature: -400 °C", "temperature: -400 °C",
                         "room 3 simulation temperature must be above absolute zero (-273.15 °C), got -400 °C"),
    "room-temperature-kelvin": ("temperature: 24 °C", "temperature: 0 K", "temperature: 0 K",
                                "room 3 simulation temperature must be above absolute zero"),
    "room-pressure": ("pressure: 99.0 kPa", "pressure: 0 kPa", "pressure: 0 kPa",
                      "room 3 simulation pressure must be more than zero, got 0 kPa"),
    "reference-temperature": ("reference_temperature: 22 °C", "reference_temperature: -400 °C",
                              "reference_temperature: -400 °C",
                              "ec-1 calibration reference_temperature must be above absolute zero"),
    "reference-pressure": ("reference_pressure: 101.325 kPa", "reference_pressure: -1 kPa", "reference_pressure: -1",
                           "ec-1 calibration reference_pressure must be more than zero, got -1 kPa"),
    "timeout": ("    timeout: 2 s\n", "    timeout: -2 s\n", "timeout: -2 s",
                "timeout of kvp-1 must be more than zero, got -2 s"),
    "mains": ("      seed: 3\n", "      seed: 3\n      mains: 0 Hz\n", "mains: 0 Hz",
              "room 3 simulation mains must be more than zero"),
    "ripple": ("ripple: 2 %\n      filtration: 3.5 mm\n      seed: 3\n",
               "ripple: 120 %\n      filtration: 3.5 mm\n      seed: 3\n", "ripple: 120 %",
               "room 3 simulation ripple must be between 0 % and 100 %"),
    "half-life": ("      nuclide: Cs-137\n", "      nuclide: Cs-137\n      half_life: 0 d\n", "half_life: 0 d",
                  "check source of gm-1 half_life must be more than zero"),
    "wire-fault-instrument": ("      seed: 3\n", "      seed: 3\n      wire_faults:\n"
                              "        - {instrument: [kvp-1], kind: silence}\n", "{instrument: [kvp-1]",
                              "a wire fault's instrument must be text, got a list"),
    "wire-fault-after": ("      seed: 3\n", "      seed: 3\n      wire_faults:\n"
                         "        - {instrument: kvp-1, kind: silence, after: abc}\n", "after: abc",
                         "wire fault after must be a whole number of 1 or more, got abc"),
    "driver-option-unit": ("    options: {poll_interval: 20 ms}\n",
                           "    options: {poll_interval: 250 mV}\n",
                           "options: {poll_interval",
                           "instrument ec-1: option poll_interval: '250 mV' is a voltage, but a time is needed"),
    "driver-option-range": ("    options: {poll_interval: 20 ms}\n",
                            "    options: {poll_interval: 0 ms}\n",
                            "options: {poll_interval",
                            "instrument ec-1: option poll_interval must be more than 0 s, got 0 ms"),
    "counter-sensitivity-unit": ("sensitivity: 153.8 cpm/(µSv/h)", "sensitivity: 148.6 cpm/mGy",
                                 "sensitivity: 148.6 cpm/mGy",
                                 "instrument gm-1: option sensitivity: '148.6 cpm/mGy' is a [time] / [length] ** 2, "
                                 "but a sensitivity is needed"),
    "survey-distance": (SURVEY_POINT, SURVEY_POINT.replace("distance: 2.5 m", "distance: 0 m"), "distance: 0 m",
                        "distance"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_site_value_is_refused_at_load_at_its_line(site_copy, case):
    old, new, on_line, message = CASES[case]
    path = site_copy({old: new})
    text = path.read_text(encoding="utf-8")
    expected_line = text[:text.index(on_line)].count("\n") + 1
    with pytest.raises(ConfigError) as err:
        load_site(path)
    assert message in err.value.message
    assert (err.value.file, err.value.line) == (str(path), expected_line)
    assert err.value.fix and "Q_(" not in err.value.fix


def test_values_in_range_still_load(site_copy):
    site = load_site(site_copy({"      seed: 3\n": "      seed: 0\n", "temperature: 24 °C": "temperature: -20 °C",
                                "{320 mA: 0.75}": "{320 mA: 0}"}))
    assert site.room(3).simulation["seed"] == 0
    assert site.room(3).simulation["ambient_temperature_c"] == pytest.approx(-20.0)
    assert site.room(7).simulation["faults"]["ma_factors"] == {320.0: 0.0}


@pytest.mark.parametrize("old, new, words", [
    ("    timeout: 2 s\n", "    timeout: -2 s\n", "timeout of kvp-1 must be more than zero"),
    ("      seed: 3\n", "      seed: -1\n", "room 3 simulation seed must be a whole number"),
    ("reference_temperature: 22 °C", "reference_temperature: -400 °C", "must be above absolute zero"),
])
def test_cli_validate_and_run_refuse_a_bad_site_value_with_exit_2(xcal, site_copy, old, new, words):
    path = site_copy({old: new})
    for args in (("validate",), ("run", "kvp-accuracy", "--room", "3")):
        result = xcal("--site", str(path), *args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "Traceback" not in result.stderr and f"{path}:" in result.stderr
        assert words in result.stderr


@pytest.mark.parametrize("old, new, line_text, words", [
    ("    parameters:\n", "    parameters:\n      kvp-accuracy: {repeats: 2147483648}\n", "repeats: 2147483648",
     "parameter 'repeats' is 2147483648, more than 100"),
    ("    parameters:\n", "    parameters:\n      kvp-accuracy:\n        stations: [" + ", ".join(
        ["{kv: 80 kV, ma: 200 mA, time: 100 ms}"] * 201) + "]\n", "stations: [", "more than 200 stations"),
])
def test_a_count_past_its_bound_in_a_room_is_refused_naming_the_bound(site_copy, old, new, line_text, words):
    path = site_copy({old: new})
    text = path.read_text(encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_site(path)
    assert err.value.file == str(path) and err.value.line == text[:text.index(line_text)].count("\n") + 1
    assert words in err.value.message and err.value.fix
