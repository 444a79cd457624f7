"""Technique settings and parameters are checked for their kind, unit form and range before any exposure.

A setting that must be positive (kv, ma, time ...) and is not, a station without a setting its exposure needs,
a workload written as a plain current, an occupancy factor above 1: each is refused with exit 2 at the file and
line where it is written (the procedure file, or the room's parameters in the site file), and no run is recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xcal.errors import ConfigError
from xcal.procedures.loader import load_procedure
from xcal.procedures.session import plan_run
from xcal.records.store import Store
from xcal.site import load_site
from xcal.units import Q_

LIBRARY = Path(__file__).resolve().parents[2] / "xcal" / "procedures" / "library"
KVP = (LIBRARY / "kvp-accuracy.yaml").read_text(encoding="utf-8")
FIRST = "    - {kv: 60 kV, ma: 200 mA, time: 100 ms}\n"
SECOND = "    - {kv: 80 kV, ma: 200 mA, time: 100 ms}\n"


def _write(tmp_path: Path, text: str, name: str = "proc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, fragment: str) -> int:
    """The 1-based line of the only line holding `fragment`."""
    lines = [i for i, line in enumerate(text.splitlines(), 1) if fragment in line]
    assert len(lines) == 1, (fragment, lines)
    return lines[0]


@pytest.mark.parametrize("old, new, key, column_text", [
    (FIRST, "    - {kv: 60 kV, ma: 200 mA, time: -100 ms}\n", "time", "-100 ms"),
    (SECOND, "    - {kv: -80 kV, ma: 200 mA, time: 100 ms}\n", "kv", "-80 kV"),
    (FIRST, "    - {kv: 60 kV, ma: 0 mA, time: 100 ms}\n", "ma", "0 mA"),
    (FIRST, "    - {kv: .nan kV, ma: 200 mA, time: 100 ms}\n", "kv", ".nan kV"),
])
def test_a_setting_that_must_be_positive_is_refused_at_load_where_it_is_written(tmp_path, old, new, key, column_text):
    assert old in KVP
    text = KVP.replace(old, new)
    with pytest.raises(ConfigError) as err:
        load_procedure(_write(tmp_path, text))
    e = err.value
    station = 1 if old == FIRST else 2
    assert f"station {station} {key}" in e.message
    assert e.line == _line_of(text, new.strip())
    assert e.column == new.index(f"{key}: {column_text}") + len(key) + 3
    assert e.exit_code == 2 and f"`{key}:`" in e.fix


def test_a_station_without_the_time_its_exposure_needs_is_refused_at_load(tmp_path):
    text = KVP.replace(FIRST, "    - {kv: 60 kV, ma: 200 mA}\n")
    with pytest.raises(ConfigError) as err:
        load_procedure(_write(tmp_path, text))
    e = err.value
    assert "station 1 (60 kV 200 mA) gives no `time` or `mas`" in e.message
    assert e.line == _line_of(text, "{kv: 60 kV, ma: 200 mA}")
    assert "`time`" in e.fix and "`mas`" in e.fix


def test_mas_stands_in_for_time_and_zero_lead_is_allowed(tmp_path):
    text = KVP.replace(FIRST, "    - {kv: 60 kV, ma: 200 mA, mas: 20 mAs}\n")
    assert load_procedure(_write(tmp_path, text)).parameters["stations"][0]["mas"] == Q_(20, "mAs")


@pytest.mark.parametrize("station, missing", [
    ("{mode: aec, kv: 80 kV, distance: 100 cm}", "`phantom`"),
    ("{mode: fluoro-normal}", "`time`"),
])
def test_each_mode_needs_its_own_settings(tmp_path, station, missing):
    text = KVP.replace(FIRST, f"    - {station}\n")
    with pytest.raises(ConfigError) as err:
        load_procedure(_write(tmp_path, text))
    assert f"gives no {missing}, which the exposure there needs" in err.value.message


SURVEY = """\
kind: procedure
id: survey-check
version: 0.1.0
title: Survey meter check
instruments:
  survey_meter: SurveyMeter
parameters:
  stations:
    - {scale: low, reference_rate: 2 µSv/h}
    - STATION
steps:
  - measure:
      read:
        survey_meter: [dose_rate]
"""


@pytest.mark.parametrize("station, missing", [
    ("{scale: high}", "`reference_rate`"),
    ("{point: Door, kv: 100 kV, distance: 2 m}", "`ma`"),
])
def test_a_reading_without_an_exposure_needs_its_field(tmp_path, station, missing):
    text = SURVEY.replace("STATION", station)
    with pytest.raises(ConfigError) as err:
        load_procedure(_write(tmp_path, text))
    assert "station 2 " in err.value.message
    assert f"gives no {missing}, which the reading there needs" in err.value.message
    assert err.value.line == _line_of(text, station)
    assert load_procedure(_write(tmp_path, SURVEY.replace("STATION", "{mode: check-source}"))).id == "survey-check"


def test_a_bad_station_is_refused_by_the_cli_before_any_exposure(xcal, tmp_path, _isolated_store):
    path = _write(tmp_path, KVP.replace(FIRST, "    - {kv: 60 kV, ma: 200 mA, time: -100 ms}\n"))
    validated = xcal("validate", str(path))
    assert validated.returncode == 2 and "station 1 time" in validated.stderr
    run = xcal("run", str(path), "--room", "3")
    assert run.returncode == 2, run.stderr
    assert f"{path}:{_line_of(path.read_text(), '-100 ms')}" in run.stderr
    with Store(_isolated_store) as store:
        assert store.list_runs() == []


def test_a_parameter_named_like_a_station_setting_has_its_kind(tmp_path):
    text = KVP.replace("  sid: 100 cm\n", "  sid: 100 kV\n")
    with pytest.raises(ConfigError) as err:
        load_procedure(_write(tmp_path, text))
    assert "parameter 'sid'" in err.value.message and "a voltage, not a length" in err.value.message
    assert err.value.line == _line_of(text, "sid: 100 kV")


def test_a_workload_of_a_procedure_file_must_be_an_amount_per_time(tmp_path):
    text = (LIBRARY / "area-survey.yaml").read_text(encoding="utf-8")
    assert "  workload: 250 mA*min/week\n" in text
    for written in ("250 mA", "-250 mA*min/week"):
        bad = text.replace("  workload: 250 mA*min/week\n", f"  workload: {written}\n")
        with pytest.raises(ConfigError) as err:
            load_procedure(_write(tmp_path, bad))
        assert "parameter 'workload'" in err.value.message and "mA*min/week" in err.value.fix
        assert err.value.line == _line_of(bad, f"workload: {written}")
    # mAs per week is the same kind, written as an amount per period: accepted.
    good = load_procedure(_write(tmp_path, text.replace("250 mA*min/week", "15000 mAs/week")))
    assert good.parameters["workload"].to("mA*min/week").magnitude == pytest.approx(250)


# Room 3 of the demo site gives area-survey its own workload and survey points.
WORKLOAD = ("        workload: 250 mA*min/week\n        stations:\n"
            "          - {point: Control booth, area: controlled, occupancy: 1,")


@pytest.mark.parametrize("written, words", [
    ("250 mA", "must be like 250 mA·min/week, got 250 mA, which is not a current × time per period of time"),
    ("-250 mA*min/week", "= -250 mA·min/week must be more than zero"),
])
def test_a_room_workload_of_the_wrong_form_or_sign_is_refused_naming_the_room_and_line(site_copy, written, words):
    path = site_copy({WORKLOAD: WORKLOAD.replace("250 mA*min/week", written)})
    site = load_site(path)
    with pytest.raises(ConfigError) as err:
        plan_run("area-survey", 3, site=site)
    e = err.value
    assert "parameter 'workload' of area-survey (in room 3 (Radiography 3)'s parameters)" in e.message
    assert words in e.message
    text = path.read_text(encoding="utf-8")
    first = next(i for i, line in enumerate(text.splitlines(), 1) if f"workload: {written}" in line)
    assert (e.file, e.line) == (str(path), first)
    assert "`workload: 250 mA*min/week`" in e.fix


def test_a_room_occupancy_above_one_is_refused_when_the_site_loads(site_copy):
    path = site_copy({WORKLOAD: WORKLOAD.replace("occupancy: 1,", "occupancy: 5,")})
    with pytest.raises(ConfigError) as err:
        load_site(path)
    e = err.value
    assert "station 1 occupancy: 5 must be more than 0 and at most 1" in e.message
    text = path.read_text(encoding="utf-8")
    assert e.line == next(i for i, line in enumerate(text.splitlines(), 1) if "occupancy: 5," in line)
    assert "occupancy factor T" in e.fix


def test_a_room_workload_problem_stops_the_cli_before_anything_is_recorded(xcal, site_copy, _isolated_store):
    path = site_copy({WORKLOAD: WORKLOAD.replace("250 mA*min/week", "-250 mA*min/week")})
    result = xcal("--site", str(path), "run", "area-survey", "--room", "3")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "parameter 'workload'" in result.stderr and "Traceback" not in result.stderr
    with Store(_isolated_store) as store:
        assert store.list_runs() == []


def test_stations_given_through_the_api_are_checked_too():
    good = {"kv": Q_(80, "kV"), "ma": Q_(200, "mA"), "time": Q_(100, "ms")}
    with pytest.raises(ConfigError) as err:
        plan_run("kvp-accuracy", 3, parameters={"stations": [{**good, "kv": Q_(-80, "kV")}]})
    assert "station 1: kv = -80 kV must be more than zero" in err.value.message
    with pytest.raises(ConfigError) as err:
        plan_run("kvp-accuracy", 3, parameters={"stations": [{**good, "kv": Q_(80, "mA")}]})
    assert "'kv'" in err.value.message and "like V" in err.value.message
    with pytest.raises(ConfigError) as err:
        plan_run("kvp-accuracy", 3, parameters={"stations": [{"kv": Q_(80, "kV"), "ma": Q_(200, "mA")}]})
    assert "gives no `time` or `mas`" in err.value.message
    with pytest.raises(ConfigError) as err:
        plan_run("kvp-accuracy", 3, parameters={"repeats": 0})
    assert "parameter 'repeats' of kvp-accuracy must be at least 1" in err.value.message
    assert plan_run("kvp-accuracy", 3, parameters={"stations": [good]}).total_exposures() == 3
