"""The declarative driver against the command-map simulator over a real loopback socket (pyvisa-py)."""

from __future__ import annotations

import threading

import pytest

from xcal.drivers.generic.commandmap import CommandMap
from xcal.drivers.generic.declarative import DeclarativeDriver
from xcal.errors import InstrumentReportedError
from xcal.simulators.commandmap_sim import CommandMapSimulator
from xcal.simulators.server import LineServer
from xcal.units import Q_

from ..conftest import EXAMPLE_VALUES, IDENTITY

ROUNDING = {"kvp_max": 0.005, "kvp_avg": 0.005, "kvp_ppv": 0.005, "exposure_time": 0.005,
            "air_kerma": 0.0005}
UNITS = {"kvp_max": "kV", "kvp_avg": "kV", "kvp_ppv": "kV", "exposure_time": "ms", "air_kerma": "µGy"}


def connect(server: LineServer, cmap: CommandMap) -> DeclarativeDriver:
    return DeclarativeDriver(server.resource, command_map=cmap, name="kvp-1", poll_interval=Q_(5, "ms"))


def test_an_exposure_through_the_socket(server: LineServer, simulator: CommandMapSimulator,
                                        example_map: CommandMap) -> None:
    values = {"kvp_max": 81.2049, "kvp_avg": 79.9, "kvp_ppv": 80.4, "exposure_time": 100.2,
              "air_kerma": 812.3449}
    assert server.resource.startswith("TCPIP::127.0.0.1::") and server.resource.endswith("::SOCKET")
    with connect(server, example_map) as driver:
        assert driver.identify() == IDENTITY
        driver.arm()
        assert driver.state() == "armed"
        shot = threading.Timer(0.05, simulator.deliver, args=(values, (0.05, [79.0, 80.5, 81.25])))
        shot.start()
        driver.wait_for_exposure(Q_(3, "s"))
        shot.join()
        reading = driver.read_exposure()
        for name, value in values.items():
            assert reading[name].units == Q_(1, UNITS[name]).units
            assert reading[name].magnitude == pytest.approx(value, abs=ROUNDING[name])
        wave = driver.read_waveform()
        assert wave.interval.to("ms").magnitude == pytest.approx(0.05)
        assert wave.samples.to("kV").magnitude.tolist() == [79.0, 80.5, 81.25]


def test_a_shot_the_meter_was_not_armed_for_is_missed(server: LineServer, simulator: CommandMapSimulator,
                                                      example_map: CommandMap) -> None:
    with connect(server, example_map) as driver:
        assert simulator.deliver(EXAMPLE_VALUES) is False
        assert driver.state() == "idle"
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_exposure()
        assert caught.value.code == "3"


def test_clients_one_after_another(server: LineServer, simulator: CommandMapSimulator,
                                   example_map: CommandMap) -> None:
    with connect(server, example_map) as first:
        first.arm()
    assert simulator.deliver(EXAMPLE_VALUES) is True
    with connect(server, example_map) as second:
        assert second.state() == "done"
        assert second.read_exposure()["kvp_max"] == Q_(81.2, "kV")
