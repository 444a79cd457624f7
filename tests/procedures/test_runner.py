"""The runner with scripted drivers: journal before display, results, verdicts on the limit, aborts."""

import pytest

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.errors import InstrumentTimeout, RunAborted
from xcal.procedures.loader import find_procedure
from xcal.procedures.plan import known_limits, prepare
from xcal.procedures.runner import RunObserver, execute
from xcal.records.store import Store
from xcal.site import load_site
from xcal.units import Q_


class ScriptedMeter:
    """A KvpMeter whose PPV readings come from a list, one per exposure."""

    def __init__(self, ppv_values, fail_at=None):
        self.values = list(ppv_values)
        self.fail_at = fail_at
        self.reads = 0

    def identify(self):
        return InstrumentIdentity("Example Instruments", "XR-1", "XR1-004217", "1.0")

    def arm(self):
        pass

    def wait_for_exposure(self, timeout):
        pass

    def read_exposure(self):
        self.reads += 1
        if self.fail_at == self.reads:
            raise InstrumentTimeout("kvp-1 (TEST::RESOURCE) did not answer 'READ?' within 0.5 s",
                                    instrument="kvp-1", resource="TEST::RESOURCE")
        ppv = self.values.pop(0)
        return {"kvp_ppv": Q_(ppv, "kV"), "kvp_max": Q_(ppv + 1, "kV"), "exposure_time": Q_(100, "ms"),
                "air_kerma": Q_(800, "µGy")}

    def read_waveform(self):
        from xcal.drivers.capabilities import Waveform

        return Waveform(Q_(0.05, "ms"), Q_([79.0, 80.0, 81.0], "kV"))

    def close(self):
        pass


class NoControl:
    def request_exposure(self, station):
        pass


@pytest.fixture(scope="module")
def plan():
    site = load_site()
    return prepare(site, 3, find_procedure("kvp-accuracy", known_limits(site)))


def _run(plan, values, tmp_path, observer=None, fail_at=None):
    store = Store(tmp_path / "r.sqlite3")
    meter = ScriptedMeter(values, fail_at)
    return execute(plan, {"kvp_meter": meter}, NoControl(), store, operator="tester", observer=observer), store


def test_values_exactly_on_the_limit_pass(plan, tmp_path):
    # Room 3: ±max(5 %, 2 kV) -> 3, 4, 5, 6 kV at 60, 80, 100, 120 kV. Means exactly on the upper limit:
    # 63, 84, 105 and (125 + 126 + 127) / 3 = 126 kV.
    values = [63.0] * 3 + [84.0] * 3 + [105.0] * 3 + [125.0, 126.0, 127.0]
    result, _ = _run(plan, values, tmp_path)
    assert [c.verdict for c in result.checks] == ["WARN"] * 4      # on the limit: past the 80 % warn band
    assert result.verdict == "PASS" and result.passed


def test_a_hair_past_the_limit_fails(plan, tmp_path):
    values = [63.0] * 3 + [84.0] * 3 + [105.0] * 3 + [126.01] * 3
    result, _ = _run(plan, values, tmp_path)
    assert [c.verdict for c in result.checks] == ["WARN", "WARN", "WARN", "FAIL"]
    assert result.verdict == "FAIL"


def test_station_results_are_the_means_of_their_readings(plan, tmp_path):
    # Station 2: (79.0 + 80.0 + 81.5) / 3 = 80.1667 kV; error +0.1667 kV = +0.2083 %.
    values = [60.0] * 3 + [79.0, 80.0, 81.5] + [100.0] * 3 + [120.0] * 3
    result, _ = _run(plan, values, tmp_path)
    station2 = result.stations[1]
    assert station2.results["kvp_mean"].to("kV").magnitude == pytest.approx(80.16667, abs=1e-5)
    check = result.checks[1]
    assert check.deviation.to("kV").magnitude == pytest.approx(0.16667, abs=1e-5)
    assert check.deviation_percent == pytest.approx(0.20833, abs=1e-5)
    assert check.verdict == "PASS"
    # kVp CV of station 2: sample SD of (79, 80, 81.5) = 1.2583; / 80.1667 = 0.015696.
    assert station2.results["kvp_cv"].magnitude == pytest.approx(0.015696, abs=1e-6)


def test_each_reading_is_in_the_store_before_it_is_shown(plan, tmp_path):
    seen = []

    class Watcher(RunObserver):
        def started(self, run_id, plan, identities):
            self.run_id = run_id

        def reading(self, n, total, station, repeat, values):
            seen.append(store_probe.reading_count(self.run_id))

    store_probe = Store(tmp_path / "r.sqlite3")
    _run(plan, [80.0] * 12, tmp_path, observer=Watcher())
    assert seen == [5 * n for n in range(1, 13)]       # 4 values + 1 waveform per exposure, already written


def test_a_meter_failing_mid_run_keeps_the_readings_and_marks_the_run_incomplete(plan, tmp_path):
    with pytest.raises(RunAborted) as err:
        _run(plan, [80.0] * 12, tmp_path, fail_at=5)
    assert err.value.exit_code == 3
    assert "TEST::RESOURCE" in err.value.message and "0.5 s" in err.value.message
    store = Store(tmp_path / "r.sqlite3")
    run = store.get_run(err.value.run_id)
    assert run.status == "incomplete" and len(run.readings) == 4 * 5


def test_a_grouped_check_gives_each_group_the_verdict_of_its_worst_station():
    from types import SimpleNamespace

    from xcal.procedures.model import CheckDef, Station
    from xcal.procedures.runner import CheckResult, _group_verdicts

    def judged(index, scale, verdict, used):
        return CheckResult("acc", "Accuracy", Station(index, {"scale": scale}), index, None, None, None,
                           SimpleNamespace(), verdict, str(index), used)

    check = CheckDef("acc", "Accuracy", "r", "lim", group="scale")
    rows = [judged(1, "low", "PASS", 0.9), judged(2, "low", "WARN", 0.85), judged(3, "high", "PASS", 0.2),
            judged(4, "high", "PASS", 0.6)]
    summary = {c.where: (c.verdict, c.value) for c in _group_verdicts(check, rows)}
    # A WARN outranks a PASS that used more of its allowance; among PASSes the larger fraction used wins.
    assert summary == {"scale low (worst: station 2)": ("WARN", 2), "scale high (worst: station 4)": ("PASS", 4)}
