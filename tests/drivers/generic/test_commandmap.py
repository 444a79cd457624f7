"""Loading command maps: the shipped example, and every fault named with file:line:column and a fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from xcal.drivers.generic.commandmap import CommandMap, load_command_map
from xcal.errors import ConfigError
from xcal.units import Q_


def test_the_shipped_example_loads_and_says_it_is_fictional(example_map: CommandMap) -> None:
    assert example_map.id == "example-xr1"
    assert "FICTIONAL" in example_map.title
    assert "No real instrument speaks it" in example_map.note
    assert (example_map.make, example_map.model) == ("Example Instruments", "XR-1")
    assert example_map.capabilities == ("KvpMeter",)
    assert example_map.transport.read_termination == "\n"
    assert example_map.transport.timeout == Q_(2, "s")
    assert example_map.states == {"idle": "IDLE", "armed": "ARMED", "done": "DONE"}
    read = example_map.commands["read"]
    assert dict(read.fields) == {"kvp_max": "kV", "kvp_avg": "kV", "kvp_ppv": "kV",
                                 "exposure_time": "ms", "air_kerma": "µGy"}
    assert read.formats["air_kerma"] == ".3f"
    assert set(example_map.commands) == {"identify", "arm", "status", "read", "threshold", "waveform"}
    assert example_map.errors is not None
    assert example_map.errors.meaning("3") == "no exposure recorded since ARM"
    assert example_map.errors.simulator == {"unknown_command": "1", "bad_parameter": "2", "not_ready": "3"}
    assert len(example_map.sha256) == 64


def located(path: Path, text: str, needle: str, occurrence: int = 0) -> tuple[int, int]:
    """1-based line and column of `needle` in `text`."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return line, column


def load_error(write_map: Callable[[str], Path], text: str) -> tuple[ConfigError, Path]:
    path = write_map(text)
    with pytest.raises(ConfigError) as caught:
        load_command_map(path)
    return caught.value, path


def assert_at(err: ConfigError, path: Path, text: str, needle: str, occurrence: int = 0) -> None:
    line, column = located(path, text, needle, occurrence)
    assert (err.file, err.line, err.column) == (str(path), line, column), str(err)
    assert str(err).startswith(f"{path}:{line}:{column}: ")
    assert err.fix


def test_unknown_top_level_key(write_map, example_text: str) -> None:
    text = example_text.replace("model: XR-1\n", "model: XR-1\nmodle: XR-2\n")
    err, path = load_error(write_map, text)
    assert "unknown key 'modle'" in str(err)
    assert "did you mean" in err.fix
    assert_at(err, path, text, "modle:")


def test_unknown_key_inside_a_command(write_map, example_text: str) -> None:
    text = example_text.replace('    send: "ARM"\n', '    send: "ARM"\n    answer: "OK"\n')
    err, path = load_error(write_map, text)
    assert "unknown key 'answer' in command 'arm'" in str(err)
    assert_at(err, path, text, "answer:")


def test_unknown_capability(write_map, example_text: str) -> None:
    text = example_text.replace("capabilities: [KvpMeter]", "capabilities: [KvpMeter, Flux]")
    err, path = load_error(write_map, text)
    assert "unknown capability 'Flux'" in str(err)
    assert "KvpMeter" in err.fix and "Electrometer" in err.fix
    assert_at(err, path, text, "Flux")


def test_a_known_capability_command_maps_cannot_describe_yet(write_map, example_text: str) -> None:
    text = example_text.replace("capabilities: [KvpMeter]", "capabilities: [KvpMeter, DapMeter]")
    err, path = load_error(write_map, text)
    assert "cannot yet describe a DapMeter" in str(err)
    assert_at(err, path, text, "DapMeter")


def test_a_template_trying_attribute_access_is_refused(write_map, example_text: str) -> None:
    text = example_text.replace('send: "STAT?"', 'send: "STAT? {0.__class__}"')
    err, path = load_error(write_map, text)
    assert "'{0.__class__}' is not a placeholder" in str(err)
    assert "at character 7" in str(err)
    assert_at(err, path, text, '"STAT? {0.__class__}"')


def test_a_reading_in_a_unit_of_the_wrong_dimension(write_map, example_text: str) -> None:
    text = example_text.replace("fields: {kvp_max: kV,", "fields: {kvp_max: mA,")
    err, path = load_error(write_map, text)
    assert "the reading 'kvp_max' is given in mA" in str(err)
    assert "kV" in err.fix
    assert_at(err, path, text, "mA,")


def test_a_waveform_in_a_unit_of_the_wrong_dimension(write_map, example_text: str) -> None:
    text = example_text.replace("fields: {interval: ms,", "fields: {interval: mm,")
    err, path = load_error(write_map, text)
    assert "the waveform's interval is given in mm" in str(err)
    assert_at(err, path, text, "mm,")


def test_an_unknown_unit(write_map, example_text: str) -> None:
    text = example_text.replace("air_kerma: µGy}", "air_kerma: furlong_per_fortnight_xyz}")
    err, path = load_error(write_map, text)
    assert "unit of 'air_kerma'" in str(err)
    assert_at(err, path, text, "furlong_per_fortnight_xyz")


def test_a_missing_read_command(write_map, example_text: str) -> None:
    start = example_text.index("  read:\n")
    end = example_text.index("  threshold:\n")
    text = example_text[:start] + example_text[end:]
    err, path = load_error(write_map, text)
    assert "a KvpMeter needs a 'read' command" in str(err)
    assert "`read:`" in err.fix
    assert_at(err, path, text, "commands:")


def test_a_reading_without_a_unit(write_map, example_text: str) -> None:
    text = example_text.replace(", air_kerma: µGy}", "}")
    err, path = load_error(write_map, text)
    assert "the reading 'air_kerma' has no unit" in str(err)
    assert_at(err, path, text, "fields: {kvp_max")


def test_a_state_the_status_reply_cannot_carry(write_map, example_text: str) -> None:
    text = example_text.replace("done: DONE}", "done: FINISHED}")
    err, path = load_error(write_map, text)
    assert "'FINISHED'" in str(err)
    assert_at(err, path, text, "FINISHED")


def test_missing_states(write_map, example_text: str) -> None:
    text = example_text.replace("states: {idle: IDLE, armed: ARMED, done: DONE}\n", "")
    err, path = load_error(write_map, text)
    assert "needs `states:`" in str(err)
    assert (err.line, err.column) == (1, 1)


def test_a_simulator_code_not_listed(write_map, example_text: str) -> None:
    text = example_text.replace('not_ready: "3"', 'not_ready: "9"')
    err, path = load_error(write_map, text)
    assert "the code '9' for not_ready is not listed" in str(err)
    assert_at(err, path, text, '"9"')


def test_a_format_that_is_not_a_number_format(write_map, example_text: str) -> None:
    text = example_text.replace('air_kerma: ".3f"', 'air_kerma: "{0.__class__}"')
    err, path = load_error(write_map, text)
    assert "is not a format for {air_kerma:number}" in str(err)
    assert_at(err, path, text, '"{0.__class__}"')


def test_a_unit_for_a_name_that_is_no_placeholder(write_map, example_text: str) -> None:
    text = example_text.replace("fields: {interval: ms, samples: kV}",
                                "fields: {interval: ms, samples: kV, spam: kV}")
    err, path = load_error(write_map, text)
    assert "unit for 'spam'" in str(err)
    assert_at(err, path, text, "spam")


def test_a_timeout_that_is_not_a_time(write_map, example_text: str) -> None:
    text = example_text.replace("timeout: 2 s", "timeout: 2 kV")
    err, path = load_error(write_map, text)
    assert "transport timeout" in str(err)
    assert_at(err, path, text, "2 kV")


def test_a_template_holding_the_line_termination(write_map, example_text: str) -> None:
    text = example_text.replace('send: "ARM"', 'send: "ARM\\nNOW"')
    err, path = load_error(write_map, text)
    assert "contains the line termination" in str(err)
    assert_at(err, path, text, '"ARM\\nNOW"')


def test_the_wrong_kind(write_map, example_text: str) -> None:
    text = example_text.replace("kind: command-map", "kind: procedure")
    err, path = load_error(write_map, text)
    assert "not 'command-map'" in str(err)
    assert_at(err, path, text, "procedure")


def test_ranges_are_loaded_and_checked(write_map, example_text: str) -> None:
    text = example_text.replace('    send: "THR {percent:int}"\n',
                                '    send: "THR {percent:int}"\n    ranges: {percent: [1, 99]}\n')
    cmap = load_command_map(write_map(text))
    assert cmap.commands["threshold"].ranges == {"percent": (1.0, 99.0)}
    assert cmap.commands["threshold"].out_of_range({"percent": 100}) == "percent = 100 is outside 1 … 99"
    bad = text.replace("[1, 99]", "[99, 1]")
    err, path = load_error(write_map, bad)
    assert "must be [lowest, highest]" in str(err)
    assert_at(err, path, bad, "[99, 1]")
