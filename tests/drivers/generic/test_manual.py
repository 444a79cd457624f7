"""The manual-entry driver: typed readings with unit and range checks, and answers from an inputs file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcal.drivers.capabilities import CAPABILITIES, Dosimeter, Environment, InstrumentIdentity, KvpMeter, SurveyMeter
from xcal.drivers.generic.manual import ManualEntry
from xcal.errors import ConfigError, InstrumentError
from xcal.units import Q_


class Technician:
    """Types the scripted answers in turn and keeps the prompts it was shown."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.answers:
            pytest.fail(f"the driver asked more than scripted: {prompt!r}")
        return self.answers.pop(0)


def typed(*answers: str, **options) -> tuple[ManualEntry, Technician]:
    tech = Technician(*answers)
    return ManualEntry("console", name="kvp-manual", ask=tech, **options), tech


@pytest.fixture
def inputs(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "inputs.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_it_declares_every_capability_and_opens_nothing() -> None:
    driver, _ = typed()
    assert ManualEntry.capabilities == tuple(CAPABILITIES)
    assert (ManualEntry.protocol_status, ManualEntry.transports) == ("MANUAL", ("console",))
    for capability in (KvpMeter, Dosimeter, SurveyMeter, Environment):
        assert isinstance(driver, capability)
    driver.close()


def test_an_exposure_typed_with_units() -> None:
    driver, tech = typed("80.3 kV", "100.2 ms", "812 µGy", readings=["kvp_ppv", "exposure_time", "air_kerma"])
    driver.arm()
    driver.wait_for_exposure(Q_(1, "s"))
    assert driver.read_exposure() == {"kvp_ppv": Q_(80.3, "kV"), "exposure_time": Q_(100.2, "ms"),
                                      "air_kerma": Q_(812, "µGy")}
    assert tech.prompts == ["kvp-manual, exposure 1: kVp (PPV) in kV", "kvp-manual, exposure 1: exposure time in ms",
                            "kvp-manual, exposure 1: air kerma in mGy"]


def test_a_bare_number_is_in_the_prompted_unit_and_other_units_of_the_dimension_are_kept() -> None:
    driver, _ = typed("80.3", "0.1 s", readings="kvp_ppv, exposure_time")
    assert driver.read_exposure() == {"kvp_ppv": Q_(80.3, "kV"), "exposure_time": Q_(0.1, "s")}


def test_a_value_of_the_wrong_dimension_is_refused_and_asked_again() -> None:
    driver, tech = typed("80 mA", "80.3 kV", readings=["kvp_ppv"])
    assert driver.read_exposure() == {"kvp_ppv": Q_(80.3, "kV")}
    assert "'80 mA' is not in a unit like kV" in tech.prompts[1] and "try 2 of 3" in tech.prompts[1]


def test_three_bad_answers_are_an_instrument_error() -> None:
    driver, tech = typed("80 mA", "eighty", "", readings=["kvp_ppv"])
    with pytest.raises(InstrumentError, match="no usable kVp \\(PPV\\) after 3 tries"):
        driver.read_exposure()
    assert len(tech.prompts) == 3


def test_an_implausible_value_needs_confirmation() -> None:
    driver, tech = typed("300 kV", "no", "80 kV", readings=["kvp_ppv"])
    assert driver.read_exposure() == {"kvp_ppv": Q_(80, "kV")}
    assert "outside the plausible range 20 kV to 150 kV" in tech.prompts[1]
    driver, _ = typed("0.05 ms", "yes", readings=["exposure_time"])
    assert driver.read_exposure() == {"exposure_time": Q_(0.05, "ms")}


def test_readings_default_to_the_capabilitys_names() -> None:
    driver, tech = typed("1.5 nC", "2 pA", capability="Electrometer")
    assert driver.read_exposure() == {"charge": Q_(1.5, "nC"), "current": Q_(2, "pA")}
    driver, _ = typed("81", "80", "80.5", "100", "1 mGy")
    assert set(driver.read_exposure()) == {"kvp_max", "kvp_avg", "kvp_ppv", "exposure_time", "air_kerma"}


def test_read_now_for_a_survey_meter_and_an_environment_sensor() -> None:
    driver, tech = typed("0.52 µSv/h", capability="SurveyMeter")
    assert driver.read_now() == {"dose_rate": Q_(0.52, "µSv/h")}
    assert tech.prompts == ["kvp-manual: dose rate in µSv/h"]
    driver, _ = typed("21.5 degC", "101.2 kPa", capability="Environment")
    assert driver.read_now() == {"temperature": Q_(21.5, "degC"), "pressure": Q_(101.2, "kPa")}
    driver, _ = typed("120 cpm", now_readings=["count_rate"])
    assert driver.read_now() == {"count_rate": Q_(120, "cpm")}


def test_identity_from_the_options() -> None:
    driver, _ = typed(make="RaySafe", model="X2", serial="X2-1234")
    assert driver.identify() == InstrumentIdentity("RaySafe", "X2", "X2-1234", "")


def test_a_waveform_cannot_be_typed() -> None:
    with pytest.raises(InstrumentError, match="waveform"):
        typed()[0].read_waveform()


@pytest.mark.parametrize("resource, options, problem", [
    ("/dev/ttyUSB0", {}, "`console` or `inputs:<file>`"),
    ("console", {"readings": ["kvp", "exposure_time"]}, "unknown reading\\(s\\) kvp"),
    ("console", {"capability": "Thermometer"}, "capability must be one of"),
])
def test_bad_resource_and_options_are_config_errors(resource: str, options: dict, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        ManualEntry(resource, name="m", **options)


def test_answers_from_an_inputs_file_in_order(inputs) -> None:
    path = inputs("exposures:\n"
                  "  - {kvp_ppv: 80.3 kV, exposure_time: 100.1 ms}\n"
                  "  - {kvp_ppv: 80.1 kV, exposure_time: 99.8 ms}\n"
                  "now:\n"
                  "  - {dose_rate: 0.5 µSv/h}\n")
    driver = ManualEntry(f"inputs:{path}", name="m", readings=["kvp_ppv", "exposure_time"], capability="KvpMeter")
    assert driver.read_exposure() == {"kvp_ppv": Q_(80.3, "kV"), "exposure_time": Q_(100.1, "ms")}
    assert driver.read_exposure() == {"kvp_ppv": Q_(80.1, "kV"), "exposure_time": Q_(99.8, "ms")}
    assert driver.read_now() == {"dose_rate": Q_(0.5, "µSv/h")}
    with pytest.raises(ConfigError) as caught:
        driver.read_exposure()
    assert str(path) in str(caught.value) and "no answer for exposure 3" in str(caught.value)


def test_entries_keyed_by_station_and_repeat(inputs) -> None:
    path = inputs("exposures:\n"
                  "  - {station: 2, repeat: 1, kvp_ppv: 90.2 kV}\n"
                  "  - {station: 1, repeat: 1, kvp_ppv: 70.1 kV}\n")
    driver = ManualEntry("console", name="m", inputs=path, readings=["kvp_ppv"])
    driver.expect_exposure(1, 1)
    assert driver.read_exposure() == {"kvp_ppv": Q_(70.1, "kV")}
    driver.expect_exposure(2, 1)
    assert driver.read_exposure() == {"kvp_ppv": Q_(90.2, "kV")}
    driver.expect_exposure(3, 1)
    with pytest.raises(ConfigError, match=r"no answer for exposure 3 \(station 3, repeat 1\)"):
        driver.read_exposure()


def test_an_entry_marked_for_another_station_is_refused(inputs) -> None:
    path = inputs("exposures:\n  - {station: 2, repeat: 1, kvp_ppv: 90.2 kV}\n")
    driver = ManualEntry("console", name="m", inputs=path, readings=["kvp_ppv"])
    driver.expect_exposure(1, 1)
    with pytest.raises(ConfigError, match="station 1, repeat 1, but this entry is marked station 2"):
        driver.read_exposure()


def test_a_wrong_unit_in_the_file_names_file_line_and_column(inputs) -> None:
    path = inputs("exposures:\n"
                  "  - kvp_ppv: 80.3 kV\n"
                  "    exposure_time: 100 mA\n")
    driver = ManualEntry("console", name="m", inputs=path, readings=["kvp_ppv", "exposure_time"])
    with pytest.raises(ConfigError) as caught:
        driver.read_exposure()
    err = caught.value
    assert (err.file, err.line, err.column) == (str(path), 3, 20)
    assert "'100 mA' is not in a unit like ms" in str(err) and "fix: write it with a unit like ms" in str(err)


@pytest.mark.parametrize("text, line, column, problem", [
    ("exposures:\n  - {kvp_ppv: 80.3}\n", 2, 15, "has no unit"),
    ("exposures:\n  - {kvp_ppv: 300 kV}\n", 2, 15, "outside the plausible range"),
    ("exposures:\n  - {kvp_ppv: eighty kV}\n", 2, 15, "does not start with a number"),
    ("exposures:\n  - {exposure_time: 100 ms}\n", 2, 5, "has no answer for 'kvp_ppv'"),
    ("exposures:\n  - {kvp: 80 kV}\n", 2, 6, "unknown key 'kvp'"),
    ("exposures:\n  - {station: 1, kvp_ppv: 80 kV}\n", 2, 5, "names only its station"),
    ("exposures:\n  - {station: 0, repeat: 1, kvp_ppv: 80 kV}\n", 2, 15, "whole number from 1"),
    ("answers: []\n", 1, 1, "unknown key 'answers'"),
])
def test_inputs_file_errors_point_at_the_place(inputs, text: str, line: int, column: int, problem: str) -> None:
    path = inputs(text)
    driver = ManualEntry("console", name="m", inputs=path, readings=["kvp_ppv"])
    with pytest.raises(ConfigError) as caught:
        driver.read_exposure()
    assert (caught.value.file, caught.value.line, caught.value.column) == (str(path), line, column)
    assert problem in str(caught.value)


def test_an_inputs_file_that_grows_is_read_again(inputs) -> None:
    path = inputs("exposures:\n  - {kvp_ppv: 80 kV}\n")
    driver = ManualEntry(f"inputs:{path}", name="m", readings=["kvp_ppv"])
    assert driver.read_exposure() == {"kvp_ppv": Q_(80, "kV")}
    path.write_text("exposures:\n  - {kvp_ppv: 80 kV}\n  - {kvp_ppv: 81 kV}\n", encoding="utf-8")
    assert driver.read_exposure() == {"kvp_ppv": Q_(81, "kV")}


def test_a_missing_inputs_file_is_a_config_error(tmp_path: Path) -> None:
    driver = ManualEntry(f"inputs:{tmp_path / 'none.yaml'}", name="m")
    with pytest.raises(ConfigError, match="none.yaml"):
        driver.read_exposure()


@settings(max_examples=200, deadline=None)
@given(answers=st.lists(st.text(max_size=20), min_size=6, max_size=6))
def test_whatever_is_typed_ends_in_a_checked_value_or_an_instrument_error(answers: list[str]) -> None:
    driver = ManualEntry("console", name="m", ask=Technician(*answers), readings=["kvp_ppv"])
    try:
        value = driver.read_exposure()["kvp_ppv"]
    except InstrumentError:
        return
    assert value.dimensionality == Q_(1, "kV").dimensionality


@pytest.mark.parametrize("key", [KeyboardInterrupt, EOFError])
def test_ctrl_c_or_ctrl_d_at_the_console_reaches_the_runner_as_itself(monkeypatch, key) -> None:
    def pressed(prompt=""):
        raise key

    monkeypatch.setattr("builtins.input", pressed)
    driver = ManualEntry("console", name="kvp-manual", readings=["kvp_ppv"])
    with pytest.raises(key):                       # not click's Abort, which the runner would take for a fault
        driver.read_exposure()


def test_units_are_read_as_people_type_them_and_exposure_becomes_air_kerma() -> None:
    driver, _ = typed("59.5 kv", "100 MS", "12 mr", readings=["kvp_ppv", "exposure_time", "air_kerma"])
    got = driver.read_exposure()
    # 12 mR x 8.76 mGy/R = 0.10512 mGy
    assert got["kvp_ppv"] == Q_(59.5, "kV") and got["exposure_time"] == Q_(100, "ms")
    assert got["air_kerma"].to("mGy").magnitude == pytest.approx(0.10512)
    assert driver.as_typed == {"air_kerma": "12 mr"}


def test_what_was_understood_is_said_and_back_retypes_the_previous_reading() -> None:
    told: list[str] = []
    driver, tech = typed("80.3 kV", "back", "80.5 kV", "10 mR", readings=["kvp_ppv", "air_kerma"])
    driver.ask_through(None, told.append)
    got = driver.read_exposure()
    assert got["kvp_ppv"] == Q_(80.5, "kV") and got["air_kerma"].to("mGy").magnitude == pytest.approx(0.0876)
    assert [p.split(": ")[1] for p in tech.prompts] == ["kVp (PPV) in kV", "air kerma in mGy", "kVp (PPV) in kV",
                                                       "air kerma in mGy"]
    # 10 mR x 8.76 mGy/R = 0.0876 mGy
    assert told == ["kVp (PPV) 80.3 kV; type 'back' at the next question to retype it",
                    "kVp (PPV) 80.5 kV; type 'back' at the next question to retype it",
                    "air kerma 10 mR = 0.0876 mGy (8.76 mGy/R)"]


def test_back_at_the_first_reading_is_an_answer_it_cannot_read() -> None:
    driver, tech = typed("back", "80.3", readings=["kvp_ppv"])
    assert driver.read_exposure() == {"kvp_ppv": Q_(80.3, "kV")}
    assert "'back' does not start with a number" in tech.prompts[1]


def test_an_inputs_file_is_read_as_typed_too(inputs) -> None:
    path = inputs("exposures:\n  - {kvp_ppv: 80.3 kv, air_kerma: 100 mR}\n")
    driver = ManualEntry(f"inputs:{path}", name="kvp-manual", readings=["kvp_ppv", "air_kerma"])
    got = driver.read_exposure()
    # 100 mR x 8.76 mGy/R = 0.876 mGy
    assert got["kvp_ppv"] == Q_(80.3, "kV") and got["air_kerma"].to("mGy").magnitude == pytest.approx(0.876)
    assert driver.as_typed == {"air_kerma": "100 mR"}


def test_the_exposure_number_the_runner_gives_is_the_one_asked_and_taken_from_a_file(inputs) -> None:
    driver, tech = typed("80.3 kV", readings=["kvp_ppv"])
    driver.expect_exposure(1, 2, 2)
    driver.read_exposure()
    assert tech.prompts[0].startswith("kvp-manual, exposure 2 (station 1, repeat 2): ")
    path = inputs("exposures:\n  - {kvp_ppv: 80.1 kV}\n  - {kvp_ppv: 80.2 kV}\n")
    from_file = ManualEntry(f"inputs:{path}", name="kvp-manual", readings=["kvp_ppv"])
    from_file.expect_exposure(1, 2, 2)
    assert from_file.read_exposure() == {"kvp_ppv": Q_(80.2, "kV")}
