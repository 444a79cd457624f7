"""The Python API and the pytest plugin, as a vendor engineer's acceptance suite would use them."""

from __future__ import annotations

import sqlite3
import textwrap

import pytest

import xcal

ACCEPTANCE = textwrap.dedent('''
    def test_kvp_accuracy(xcal_room):
        with xcal_room.session(operator="field-eng") as session:
            result = session.run("kvp-accuracy", parameters={"repeats": 3})
        assert result.passed, result
''')


def test_api_runs_a_procedure_and_records_it(tmp_path):
    site = xcal.load_site(db=tmp_path / "r.sqlite3")
    assert site.is_demo and "3" in site.rooms
    with site.room(3).session(operator="field-eng") as session:
        result = session.run("kvp-accuracy", parameters={"repeats": 4})
    assert result.passed and result.simulated
    assert len(result.checks) == 4
    check = result.checks[3]
    assert check.station == "4" and check.limit == "±max(5 %, 2 kV)" and check.source.startswith("EX-DXR500")
    assert check.value.units == xcal.units.ureg.kV
    rows = sqlite3.connect(tmp_path / "r.sqlite3").execute(
        "SELECT operator, COUNT(*) FROM runs JOIN readings USING (run_id) WHERE run_id = ?",
        (result.run_id,)).fetchone()
    assert rows[0] == "field-eng" and rows[1] == 4 * 4 * 5      # 4 stations × 4 repeats × 5 readings


def test_api_failure_names_station_value_limit_and_source(tmp_path):
    with xcal.load_site(db=tmp_path / "r.sqlite3").room(4).session() as session:
        result = session.run("kvp-accuracy")
    assert not result.passed
    text = repr(result)
    assert "station 4" in text and "(set 120 kV)" in text and "±max(5 %, 2 kV)" in text
    assert "EX-DXR500-SM rev. C, section 9.2" in text


def test_api_rejects_an_unknown_parameter(tmp_path):
    from xcal.errors import ConfigError

    with xcal.load_site(db=tmp_path / "r.sqlite3").room(3).session() as session:
        with pytest.raises(ConfigError, match="no parameter 'repeat'"):
            session.run("kvp-accuracy", parameters={"repeat": 5})


def test_connect_opens_a_driver_on_its_own(tmp_path):
    from xcal.drivers.capabilities import InstrumentIdentity
    from xcal.simulators.ptw_unidos import UnidosSimulator
    from xcal.simulators.server import serve_tcp

    with serve_tcp(UnidosSimulator(InstrumentIdentity("PTW", "UNIDOS Tango", "777", "1.2.4"))) as server:
        meter = xcal.connect("ptw-unidos", server.resource, name="ec-9")
        try:
            assert meter.identify().serial == "777"
        finally:
            meter.close()


def test_plugin_suite_passes_in_a_healthy_room(pytester):
    pytester.makepyfile(test_acceptance=ACCEPTANCE)
    outcome = pytester.runpytest_subprocess("--xcal-room", "3", "-p", "no:cacheprovider")
    outcome.assert_outcomes(passed=1)


def test_plugin_failure_message_shows_station_value_limit_and_source(pytester):
    pytester.makepyfile(test_acceptance=ACCEPTANCE)
    outcome = pytester.runpytest_subprocess("--xcal-room", "4", "-p", "no:cacheprovider")
    outcome.assert_outcomes(failed=1)
    output = outcome.stdout.str()
    assert "station 4" in output and "±max(5 %, 2 kV)" in output and "EX-DXR500-SM" in output


def test_plugin_records_to_the_store_given(pytester, tmp_path):
    db = tmp_path / "chosen.sqlite3"
    pytester.makepyfile(test_acceptance=ACCEPTANCE)
    pytester.runpytest_subprocess("--xcal-room", "3", "--xcal-db", str(db)).assert_outcomes(passed=1)
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)


def test_expected_protocol_for_a_third_party_driver(monkeypatch):
    from pathlib import Path

    from xcal.testing import expected_protocol

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "examples" / "xcal-example-driver" / "src"))
    from xcal_example_driver.ratemeter import ExampleRatemeter

    with expected_protocol(ExampleRatemeter, [("ID?", "EXAMPLE,RM-1,42,1.0"), ("RATE?", "0.250")]) as meter:
        assert meter.identify().serial == "42"
        assert meter.read_now()["dose_rate"].to("µSv/h").magnitude == pytest.approx(0.25)
    with pytest.raises(pytest.fail.Exception, match="never made"):
        with expected_protocol(ExampleRatemeter, [("ID?", "EXAMPLE,RM-1,42,1.0"), ("RATE?", "0.1")]) as meter:
            meter.identify()


def test_api_runs_a_procedure_of_entered_values_from_an_inputs_file(tmp_path):
    from pathlib import Path

    inputs = Path(xcal.__file__).parent / "demo" / "inputs" / "collimation-misaligned.yaml"
    with xcal.load_site(db=tmp_path / "r.sqlite3").room(3).session() as session:
        result = session.run("collimation", inputs=inputs)
        by_map = session.run("apron-inspection", inputs={"critical_defect": xcal.units.Q_(16, "mm**2"),
                                                          "other_defect": xcal.units.Q_(0, "mm**2"),
                                                          "thyroid_shield_defect": xcal.units.Q_(0, "mm**2")},
                             item="APR-02")
    assert not result.passed and [c.name for c in result.failed] == ["light-field-congruence-length"]
    assert not by_map.passed and [c.name for c in by_map.failed] == ["apron-defect-critical"]


def test_api_refuses_inputs_written_for_another_procedure_or_misspelt(tmp_path):
    from pathlib import Path

    from xcal.errors import ConfigError

    inputs = Path(xcal.__file__).parent / "demo" / "inputs" / "apron-good.yaml"
    with xcal.load_site(db=tmp_path / "r.sqlite3").room(3).session() as session:
        with pytest.raises(ConfigError, match="is for the procedure 'apron-inspection'"):
            session.run("collimation", inputs=inputs)
        with pytest.raises(ConfigError, match="lefft"):
            session.run("collimation", inputs={"lefft": xcal.units.Q_(0.4, "cm")})
        assert session.results == []


def test_api_rejects_a_parameter_of_the_wrong_kind(tmp_path):
    from xcal.errors import ConfigError

    with xcal.load_site(db=tmp_path / "r.sqlite3").room(3).session() as session:
        with pytest.raises(ConfigError, match="parameter 'sid'"):
            session.run("kvp-accuracy", parameters={"sid": xcal.units.Q_(80, "kV")})
        with pytest.raises(ConfigError, match="parameter 'repeats'"):
            session.run("kvp-accuracy", parameters={"repeats": True})
        with pytest.raises(ConfigError, match="station 1"):
            session.run("kvp-accuracy", parameters={"stations": [{"kv": 80}]})


def test_everything_the_package_lists_it_serves():
    import xcal

    for name in xcal.__all__:
        assert getattr(xcal, name) is not None, name
