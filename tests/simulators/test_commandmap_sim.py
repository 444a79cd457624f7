"""The command-map simulator as a meter state machine, driven line by line."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.generic.commandmap import CommandMap, load_command_map
from xcal.simulators.commandmap_sim import CommandMapSimulator
from xcal.simulators.server import WireFault
from xcal.units import Q_

EXAMPLE = Path(str(resources.files("xcal.demo") / "instruments" / "example-xr1.yaml"))
IDENTITY = InstrumentIdentity("Example Instruments", "XR-1", "XR1-00042", "2.1.0")
VALUES = {"kvp_max": 81.2, "kvp_avg": 79.9, "kvp_ppv": 80.4, "exposure_time": 100.2, "air_kerma": 812.345}
READ_LINE = "KVP 81.20 KVAVG 79.90 PPV 80.40 T 100.20 D 812.345"


@pytest.fixture
def sim() -> CommandMapSimulator:
    return CommandMapSimulator(EXAMPLE, IDENTITY)


def variant(tmp_path: Path, old: str, new: str) -> CommandMap:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_command_map(path)


def test_the_meter_cycle(sim: CommandMapSimulator) -> None:
    assert sim.handle("*IDN?") == "Example Instruments,XR-1,XR1-00042,2.1.0"
    assert sim.handle("STAT?") == "IDLE"
    assert sim.handle("READ?") == "ERR 3"
    assert sim.handle("ARM") == "OK"
    assert sim.handle("STAT?") == "ARMED"
    assert sim.deliver(VALUES, (0.05, [79.0, 80.0, 81.0])) is True
    assert sim.handle("STAT?") == "DONE"
    assert sim.handle("READ?") == READ_LINE
    assert sim.handle("WAV?") == "0.0500;3;79.00,80.00,81.00"
    assert sim.handle("READ?") == READ_LINE
    assert sim.handle("ARM") == "OK"
    assert sim.handle("READ?") == "ERR 3"
    assert sim.handle("WAV?") == "ERR 3"


def test_a_shot_while_not_armed_is_missed(sim: CommandMapSimulator) -> None:
    assert sim.deliver(VALUES) is False
    assert sim.state == "idle"
    sim.handle("ARM")
    assert sim.deliver(VALUES) is True
    assert sim.deliver({**VALUES, "kvp_max": 99.0}) is False
    assert sim.handle("READ?") == READ_LINE


def test_quantities_are_converted_to_the_map_units(sim: CommandMapSimulator) -> None:
    sim.handle("ARM")
    sim.deliver({**VALUES, "kvp_max": Q_(81_204, "V"), "air_kerma": Q_(0.8123, "mGy")},
                (Q_(50, "µs"), [Q_(79, "kV")]))
    assert sim.handle("READ?") == "KVP 81.20 KVAVG 79.90 PPV 80.40 T 100.20 D 812.300"
    assert sim.handle("WAV?") == "0.0500;1;79.00"


def test_unknown_lines_and_bad_parameters(sim: CommandMapSimulator) -> None:
    assert sim.handle("FIRE") == "ERR 1"
    assert sim.handle("") == "ERR 1"
    assert sim.handle("read?") == "ERR 1"
    assert sim.handle("THR x") == "ERR 2"
    assert sim.handle("THR 5") == "OK"
    assert sim.settings == {"percent": 5}


def test_ranges_make_a_bad_parameter(tmp_path: Path) -> None:
    cmap = variant(tmp_path, '    send: "THR {percent:int}"\n',
                   '    send: "THR {percent:int}"\n    ranges: {percent: [1, 99]}\n')
    sim = CommandMapSimulator(cmap, IDENTITY)
    assert sim.handle("THR 100") == "ERR 2"
    assert sim.handle("THR 99") == "OK"


def test_a_query_answers_the_last_setting(tmp_path: Path) -> None:
    cmap = variant(tmp_path, "  waveform:\n",
                   '  threshold_query:\n    send: "THR?"\n    reply: "THR {percent:int}"\n  waveform:\n')
    sim = CommandMapSimulator(cmap, IDENTITY)
    assert sim.handle("THR?") == "ERR 3"
    sim.handle("THR 12")
    assert sim.handle("THR?") == "THR 12"


def test_without_error_replies_the_meter_stays_silent(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    path = tmp_path / "quiet.yaml"
    path.write_text(text[: text.index("errors:")], encoding="utf-8")
    sim = CommandMapSimulator(path, IDENTITY)
    assert sim.handle("FIRE") is None
    assert sim.handle("READ?") is None


def test_deliveries_that_do_not_fit_the_map_are_refused(sim: CommandMapSimulator) -> None:
    sim.handle("ARM")
    with pytest.raises(ValueError, match="no value for {air_kerma}"):
        sim.deliver({k: v for k, v in VALUES.items() if k != "air_kerma"})
    with pytest.raises(ValueError, match="has no dose"):
        sim.deliver({**VALUES, "dose": 1.0})
    with pytest.raises(ValueError, match="cannot carry nan"):
        sim.deliver({**VALUES, "kvp_max": float("nan")})
    assert sim.state == "armed"


def test_an_identity_the_reply_cannot_carry() -> None:
    with pytest.raises(ValueError, match="may not hold ','"):
        CommandMapSimulator(EXAMPLE, InstrumentIdentity("Example, Inc.", "XR-1", "1", "2"))


def test_command_of_names_the_command(sim: CommandMapSimulator) -> None:
    assert [sim.command_of(line) for line in ("READ?", "THR 3", "ARM", "nope")] == [
        "read", "threshold", "arm", None]


def test_serve_starts_a_loopback_server_with_the_map_faults() -> None:
    sim = CommandMapSimulator(EXAMPLE, IDENTITY, faults=[WireFault("silence", "read")])
    server = sim.serve()
    try:
        assert server.resource == f"TCPIP::127.0.0.1::{server.port}::SOCKET"
        assert server.command_of("READ?") == "read"
        assert server.handler("STAT?") == "IDLE"
    finally:
        server.stop()
