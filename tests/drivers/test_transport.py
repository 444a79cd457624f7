"""VisaTransport over a real loopback socket: errors that name the instrument, faults, and the drain."""

from __future__ import annotations

import logging
import socket
import threading

import pytest

from xcal.drivers.commandmap import CommandMap
from xcal.drivers.declarative import DeclarativeDriver
from xcal.drivers.transport import VisaTransport
from xcal.errors import ConfigError, ConnectionLost, InstrumentError, InstrumentTimeout, ProtocolError
from xcal.simulators.commandmap_sim import CommandMapSimulator
from xcal.simulators.server import LineServer, WireFault
from xcal.units import Q_

from .conftest import EXAMPLE_VALUES, IDENTITY

SHORT = Q_(0.3, "s")


def connect(server: LineServer, cmap: CommandMap) -> DeclarativeDriver:
    return DeclarativeDriver(server.resource, command_map=cmap, name="kvp-1", timeout=SHORT,
                             poll_interval=Q_(5, "ms"))


def test_silence_is_a_timeout_naming_instrument_resource_command_and_time(
        server: LineServer, example_map: CommandMap) -> None:
    server.inject(WireFault("silence", "read"))
    with connect(server, example_map) as driver:
        with pytest.raises(InstrumentTimeout) as caught:
            driver.read_exposure()
    err = caught.value
    assert f"kvp-1 ({server.resource}) did not answer 'READ?' within 0.3 s" in str(err)
    assert (err.instrument, err.resource) == ("kvp-1", server.resource)
    assert err.fix


def test_a_dropped_connection_is_connection_lost(server: LineServer, example_map: CommandMap) -> None:
    server.inject(WireFault("drop", "status"))
    with connect(server, example_map) as driver:
        assert driver.identify() == IDENTITY
        with pytest.raises(ConnectionLost) as caught:
            driver.state()
        assert f"kvp-1 ({server.resource})" in str(caught.value)
        with pytest.raises(ConnectionLost):
            driver.identify()


def test_a_garbled_reply_is_a_protocol_error_and_the_link_goes_on(
        server: LineServer, example_map: CommandMap) -> None:
    server.inject(WireFault("garble", "identify", count=1))
    with connect(server, example_map) as driver:
        with pytest.raises(ProtocolError, match="not ascii text"):
            driver.identify()
        assert driver.identify() == IDENTITY


def test_a_late_reply_is_drained_not_taken_for_the_next_one(
        server: LineServer, simulator: CommandMapSimulator, example_map: CommandMap) -> None:
    server.inject(WireFault("delay", "status", count=1, delay_s=0.45))
    with connect(server, example_map) as driver:
        driver.arm()
        with pytest.raises(InstrumentTimeout):
            driver.state()
        assert simulator.deliver(EXAMPLE_VALUES)
        assert driver.state() == "done"
        assert driver.identify() == IDENTITY


def test_a_partial_reply_times_out_and_leaves_nothing_behind(
        server: LineServer, example_map: CommandMap) -> None:
    server.inject(WireFault("partial", "identify", count=1))
    with connect(server, example_map) as driver:
        with pytest.raises(InstrumentTimeout):
            driver.identify()
        assert driver.identify() == IDENTITY


def test_a_refused_connection_is_connection_lost() -> None:
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    resource = f"TCPIP::127.0.0.1::{spare.getsockname()[1]}::SOCKET"
    spare.close()
    with pytest.raises(ConnectionLost, match=f"kvp-1 \\({resource}\\)"):
        VisaTransport(resource, read_termination="\n", write_termination="\n", timeout=SHORT, name="kvp-1")


def test_a_resource_string_visa_rejects() -> None:
    with pytest.raises(InstrumentError, match="'not a resource' is not a VISA resource string") as caught:
        VisaTransport("not a resource", read_termination="\n", write_termination="\n", timeout=SHORT,
                      name="kvp-1")
    assert "TCPIP::" in caught.value.fix


def test_a_timeout_must_be_a_time_quantity(server: LineServer) -> None:
    for bad in (0.3, Q_(0.3, "kV"), Q_(0, "s")):
        with pytest.raises(ConfigError, match="timeout"):
            VisaTransport(server.resource, read_termination="\n", write_termination="\n",
                          timeout=bad, name="kvp-1")


def test_raw_io_is_logged_with_the_instrument_name(server: LineServer, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="xcal.io")
    with VisaTransport(server.resource, read_termination="\n", write_termination="\n", timeout=SHORT,
                       name="kvp-1") as link:
        assert link.query("STAT?") == "IDLE"
    lines = [r.getMessage() for r in caplog.records if r.name == "xcal.io"]
    assert lines == ["kvp-1 > b'STAT?\\n'", "kvp-1 < b'IDLE\\n'"]


def test_threads_sharing_a_link_each_get_their_own_reply(server: LineServer) -> None:
    link = VisaTransport(server.resource, read_termination="\n", write_termination="\n",
                         timeout=Q_(2, "s"), name="kvp-1")
    wrong: list[str] = []

    def ask(command: str, expected: str) -> None:
        for _ in range(25):
            reply = link.query(command)
            if reply != expected:
                wrong.append(reply)

    threads = [threading.Thread(target=ask, args=("STAT?", "IDLE")),
               threading.Thread(target=ask, args=("*IDN?", "Example Instruments,XR-1,XR1-00042,2.1.0"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    link.close()
    assert wrong == []


def test_a_closed_link_refuses_io(server: LineServer) -> None:
    link = VisaTransport(server.resource, read_termination="\n", write_termination="\n", timeout=SHORT,
                         name="kvp-1")
    link.close()
    link.close()
    with pytest.raises(InstrumentError, match="closed"):
        link.query("STAT?")


def test_a_reply_with_another_termination_is_a_protocol_error(example_map: CommandMap) -> None:
    sim = CommandMapSimulator(example_map, IDENTITY)
    with LineServer(sim.handle, line_end="\n", reply_end="\r\n") as crlf:
        with VisaTransport(crlf.resource, read_termination="\r\n", write_termination="\n", timeout=SHORT,
                           name="kvp-1") as link:
            assert link.query("STAT?") == "IDLE"
    with LineServer(sim.handle, line_end="\n", reply_end="\n") as lf:
        with VisaTransport(lf.resource, read_termination="\r\n", write_termination="\n", timeout=SHORT,
                           name="kvp-1") as link:
            with pytest.raises(ProtocolError, match="does not end with the read termination"):
                link.query("STAT?")
