"""Fixtures shared by the driver tests: the shipped example command map and a simulator serving it, and the
test protocols of tests/wire_helpers.py served over TCP and a pty."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import pytest
from wire_helpers import Echo, Framed

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.generic.commandmap import CommandMap, load_command_map
from xcal.simulators.commandmap_sim import CommandMapSimulator
from xcal.simulators.server import LineServer, PtySimServer, TcpSimServer, serve_pty, serve_tcp

EXAMPLE_VALUES = {"kvp_max": 81.2, "kvp_avg": 79.9, "kvp_ppv": 80.4, "exposure_time": 100.2,
                  "air_kerma": 812.345}
IDENTITY = InstrumentIdentity("Example Instruments", "XR-1", "XR1-00042", "2.1.0")


@pytest.fixture(scope="session")
def example_map_path() -> Path:
    """The command map shipped in xcal/demo/instruments."""
    return Path(str(resources.files("xcal.demo") / "instruments" / "example-xr1.yaml"))


@pytest.fixture(scope="session")
def example_map(example_map_path: Path) -> CommandMap:
    return load_command_map(example_map_path)


@pytest.fixture
def example_text(example_map_path: Path) -> str:
    return example_map_path.read_text(encoding="utf-8")


@pytest.fixture
def write_map(tmp_path: Path) -> Callable[[str], Path]:
    """Write command-map text to a file and return its path."""

    def write(text: str, name: str = "map.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def simulator(example_map: CommandMap) -> CommandMapSimulator:
    return CommandMapSimulator(example_map, IDENTITY)


@pytest.fixture
def server(simulator: CommandMapSimulator) -> Iterator[LineServer]:
    """The example meter, served on a loopback port."""
    running = simulator.serve()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def echo() -> Iterator[TcpSimServer]:
    """The line instrument Echo on a loopback port."""
    with serve_tcp(Echo()) as running:
        yield running


@pytest.fixture
def echo_pty() -> Iterator[PtySimServer]:
    """Echo on a pseudo-terminal, as on a serial port."""
    with serve_pty(Echo()) as running:
        yield running


@pytest.fixture
def framed_tcp() -> Iterator[TcpSimServer]:
    """The binary instrument Framed on a loopback port."""
    with serve_tcp(Framed()) as running:
        yield running


@pytest.fixture
def framed_pty() -> Iterator[PtySimServer]:
    """Framed on a pseudo-terminal."""
    with serve_pty(Framed()) as running:
        yield running
