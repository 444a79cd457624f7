"""Survey meters read against a measured background: net = gross − background, each reading first corrected
for the counter's dead time (n = m / (1 − mτ), non-paralyzable) by the GQ counter's own correction code, with
numbers worked by hand from raw counts; and station lists apart from each other (numbering, results' scope)."""

from __future__ import annotations

import datetime as dt

import pytest

from xcal.demo.wiring import simulated_room
from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.instruments.gq.gmc import CounterCalibration
from xcal.errors import ConfigError
from xcal.procedures.loader import load_procedure
from xcal.procedures.runner import OperatorControl, RunObserver, execute
from xcal.procedures.session import plan_run, run_plan
from xcal.records.store import Store
from xcal.units import Q_


class NoControl:
    def request_exposure(self, station):
        pass

    def set_field(self, station):
        pass


class CountingMeter:
    """A GQ counter whose raw counts per minute come from a list; each is turned into a count rate and a dose
    rate by the driver's CounterCalibration, as GqGmc.read_now does with the count GETCPM gives."""

    def __init__(self, counts):
        self.counts = list(counts)
        self.calibration = CounterCalibration(Q_(153.8, "cpm/(µSv/h)"), Q_(100, "µs"), "non-paralyzable")

    def identify(self):
        return InstrumentIdentity("GQ Electronics", "GMC-320", "0320-77A1", "5.04")

    def read_now(self):
        return self.calibration.readings(Q_(self.counts.pop(0), "cpm"), "gm-1")

    def close(self):
        pass


def _run(plan, counts, tmp_path, control=None):
    meter = CountingMeter(counts)
    with Store(tmp_path / "r.sqlite3") as store:
        result = execute(plan, {"survey_meter": meter}, control or NoControl(), store, operator="tester")
    assert meter.counts == []
    return result


# Dead time τ = 100 µs, m in counts per second (cpm / 60), n = m / (1 − mτ):
#   background 30 cpm: mτ = 0.5 × 1e-4 = 5e-5, n = 30 / 0.99995 = 30.001500 cpm
#   background 36 cpm: mτ = 0.6 × 1e-4 = 6e-5, n = 36 / 0.99994 = 36.002160 cpm; mean 33.001830 cpm
#   = 33.001830 / 153.8 = 0.2145763 µSv/h
BACKGROUND_CPM = 33.00183010
BACKGROUND = BACKGROUND_CPM / 153.8


def test_survey_meter_calibration_subtracts_the_background_after_the_dead_time(tmp_path):
    one = [{"scale": "10–100 µSv/h", "reference_rate": Q_(80, "µSv/h")}]
    plan = plan_run("survey-meter-calibration", 3,
                    parameters={"stations": one, "repeats": 1, "background_repeats": 2})
    result = _run(plan, [30, 36, 12000], tmp_path)
    # Gross 12000 cpm = 200 cps: mτ = 0.02, n = 12000 / 0.98 = 12244.898 cpm (79.6157 µSv/h gross).
    # Net = 12244.898 − 33.00183 = 12211.896 cpm = 79.40115 µSv/h; CF = 80 / 79.40115 = 1.007542.
    (background,) = [c for c in result.checks if c.check_id == "background_rate"]
    assert background.value.to("µSv/h").magnitude == pytest.approx(BACKGROUND, rel=1e-7)
    (check,) = [c for c in result.checks if c.check_id == "survey-meter-accuracy"]
    assert check.value.to("µSv/h").magnitude == pytest.approx(79.401145, rel=1e-6)
    assert check.deviation_percent == pytest.approx((79.401145 / 80 - 1) * 100, rel=1e-5)
    (factor,) = [c for c in result.checks if c.check_id == "calibration_factor"]
    assert factor.value.magnitude == pytest.approx(1.0075421, rel=1e-6)
    assert result.verdict == "PASS" and result.plan.procedure.version == "1.2.0"


def test_check_source_constancy_subtracts_the_background_after_the_dead_time(tmp_path):
    plan = plan_run("check-source-constancy", 3, parameters={"repeats": 2, "background_repeats": 2})
    result = _run(plan, [30, 36, 6000, 6200], tmp_path)
    # Gross 6000 cpm = 100 cps: n = 6000 / 0.99 = 6060.6061; 6200 cpm = 103.333 cps: n = 6200 / 0.98966667
    # = 6264.7356; mean 6162.6708 cpm. Net = 6162.6708 − 33.00183 = 6129.6690 cpm = 39.854805 µSv/h.
    (check,) = [c for c in result.checks if c.check_id == "check-source-constancy"]
    assert check.value.to("µSv/h").magnitude == pytest.approx(39.854805, rel=1e-6)
    # Against the baseline 40 µSv/h of 2026-01-15 decayed with Cs-137's 30.08 y to today.
    years = (dt.date.today() - dt.date(2026, 1, 15)).days / 365.25
    assert check.nominal.to("µSv/h").magnitude == pytest.approx(40 * 2 ** (-years / 30.08), rel=1e-9)
    (background,) = [c for c in result.checks if c.check_id == "background_rate"]
    assert background.value.to("µSv/h").magnitude == pytest.approx(BACKGROUND, rel=1e-7)
    assert result.plan.procedure.version == "1.1.0"


def test_the_background_is_a_station_of_its_own_in_the_record(tmp_path):
    result = run_plan(plan_run("survey-meter-calibration", 3), db=tmp_path / "r.sqlite3", simulated_room=simulated_room)
    # The four reference points keep numbers 1-4; the background list, written after them, is station 5.
    assert [(sr.station.index, sr.station.label()) for sr in result.stations][-1] == (5, "background")
    with Store(tmp_path / "r.sqlite3") as store:
        run = store.get_run(result.run_id)
    by_station: dict[int, list[float]] = {}
    for r in run.readings:
        by_station.setdefault(r.station, []).append(r.value)
    assert sorted(by_station) == [1, 2, 3, 4, 5] and all(len(v) == 3 for v in by_station.values())
    # Each point is judged on its mean less the mean background, recomputed here from the stored readings.
    background = sum(by_station[5]) / 3
    judged = {c.station.index: c.value.to("µSv/h").magnitude for c in result.checks
              if c.check_id == "survey-meter-accuracy"}
    for index in (1, 2, 3, 4):
        assert judged[index] == pytest.approx(sum(by_station[index]) / 3 - background, rel=1e-9)


PROCEDURE = """\
kind: procedure
id: two-lists
version: 1.0.0
title: Two station lists
instruments:
  survey_meter: SurveyMeter
parameters:
  stations:
    - {reference_rate: 20 µSv/h}
  background:
    - {mode: background}
steps:
  - measure:
      stations: background
      read:
        survey_meter: [dose_rate]
  - measure:
      read:
        survey_meter: [dose_rate]
results:
RESULTS
"""


GROSS = "  gross:\n    function: mean\n    of: dose_rate\n    stations: stations\n"


@pytest.mark.parametrize("results, words", [
    ("  gross:\n    function: mean\n    of: dose_rate\n", "does not say which it works on"),
    ("  gross:\n    function: mean\n    of: dose_rate\n    stations: field\n", "'field' is not a station list"),
    (GROSS + "  odd:\n    expression: gross * 2\n    per: station\n    stations: background\n",
     "works on the stations of 'background', and 'gross' on those of 'stations'"),
    (GROSS + "  twice:\n    expression: 2 * gross\n    stations: stations\n",
     "an expression per run works on other results"),
])
def test_results_over_two_station_lists_must_say_which_they_work_on(tmp_path, results, words):
    path = tmp_path / "p.yaml"
    path.write_text(PROCEDURE.replace("RESULTS\n", results), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_procedure(path)
    assert words in err.value.message and err.value.line is not None


def test_a_value_read_per_station_cannot_be_used_once_per_run(tmp_path):
    path = tmp_path / "p.yaml"
    text = PROCEDURE.replace("  survey_meter: SurveyMeter\n",
                             "  survey_meter: SurveyMeter\n  electrometer: Dosimeter\n")
    path.write_text(text.replace("RESULTS\n", "  k:\n    expression: electrometer_k_q\n"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_procedure(path)
    assert "electrometer_k_q differs from station to station" in err.value.message and "per: station" in err.value.fix


def test_in_a_real_room_the_technician_is_asked_to_put_the_sources_away_for_the_background(tmp_path):
    class Prompts(RunObserver):
        def __init__(self):
            self.texts = []

        def prompt(self, text):
            self.texts.append(text)

    observer = Prompts()
    plan = plan_run("check-source-constancy", 3, parameters={"repeats": 1, "background_repeats": 1})
    _run(plan, [30, 6000], tmp_path, control=OperatorControl(observer))
    assert any(t.startswith("Station 2 (background): with every source shielded or away") for t in observer.texts)
    assert not any("reference field for station 2" in t for t in observer.texts)


def test_a_run_cut_off_after_the_background_resumes_without_reading_it_again(tmp_path):
    from xcal.errors import InstrumentError, RunAborted
    from xcal.procedures.session import plan_resume

    class Unplugged(CountingMeter):
        def read_now(self):
            if len(self.counts) == 1:
                raise InstrumentError("gm-1 stopped answering", instrument="gm-1", resource="/dev/ttyUSB0")
            return super().read_now()

    plan = plan_run("check-source-constancy", 3, parameters={"repeats": 1, "background_repeats": 2})
    with Store(tmp_path / "r.sqlite3") as store, pytest.raises(RunAborted) as err:
        execute(plan, {"survey_meter": Unplugged([30, 36, 6000])}, NoControl(), store, operator="tester")
    resumed, stored = plan_resume(err.value.run_id, db=tmp_path / "r.sqlite3")
    assert sorted((r.station, r.repeat) for r in stored.readings) == [(2, 1), (2, 2)]    # the background
    meter = CountingMeter([6000])                    # only the check-source reading is taken again
    with Store(tmp_path / "r.sqlite3") as store:
        result = execute(resumed, {"survey_meter": meter}, NoControl(), store, operator="tester", resume=stored)
    # Net = 6000 / 0.99 − 33.00183 = 6060.6061 − 33.0018 = 6027.6043 cpm = 39.191185 µSv/h.
    (check,) = [c for c in result.checks if c.check_id == "check-source-constancy"]
    assert check.value.to("µSv/h").magnitude == pytest.approx(39.191185, rel=1e-6) and meter.counts == []
