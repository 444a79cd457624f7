"""serve_tcp and LineServer over raw loopback sockets: framing, several clients, each wire fault, streaming."""

from __future__ import annotations

import socket
import time
from importlib import resources
from itertools import pairwise
from pathlib import Path

import pytest
from wire_helpers import Meter

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.generic.commandmap import load_command_map
from xcal.drivers.generic.declarative import DeclarativeDriver
from xcal.errors import InstrumentReportedError
from xcal.simulators.commandmap_sim import CommandMapSimulator
from xcal.simulators.server import LineServer, TcpSimServer, WireFault, garble, serve_tcp
from xcal.units import Q_

EXAMPLE = Path(str(resources.files("xcal.demo") / "instruments" / "example-xr1.yaml"))


def shout(line: str) -> str | None:
    """A handler: echoes in capitals, says nothing to 'quiet'."""
    return None if line == "quiet" else line.upper()


class Client:
    """A bare socket client reading whole lines."""

    def __init__(self, server: TcpSimServer) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=1.0)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError(self.buffer)
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def nothing_within(self, seconds: float) -> bool:
        """True if no byte (and no hang-up) arrives within `seconds`."""
        self.sock.settimeout(seconds)
        try:
            self.sock.recv(4096)
        except TimeoutError:
            return True
        finally:
            self.sock.settimeout(1.0)
        return False

    def close(self) -> None:
        self.sock.close()


def serve(*faults: WireFault) -> LineServer:
    return LineServer(shout, faults=faults, command_of=lambda line: line.split()[0] if line else None)


def test_lines_in_chunks_and_several_per_chunk() -> None:
    with serve() as server:
        assert server.resource == f"TCPIP::127.0.0.1::{server.port}::SOCKET"
        client = Client(server)
        client.send(b"he")
        client.send(b"llo\nwor")
        client.send(b"ld\nquiet\nagain\n")
        assert [client.line(), client.line(), client.line()] == [b"HELLO", b"WORLD", b"AGAIN"]
        assert server.received == [b"hello", b"world", b"quiet", b"again"]
        client.close()


def test_clients_in_sequence_and_at_once() -> None:
    with serve() as server:
        for n in range(3):
            client = Client(server)
            client.send(f"n{n}\n".encode())
            assert client.line() == f"N{n}".encode()
            client.close()
        a, b = Client(server), Client(server)
        a.send(b"a\n")
        b.send(b"b\n")
        assert (a.line(), b.line()) == (b"A", b"B")
        a.close()
        b.close()


def test_stop_closes_open_connections() -> None:
    server = serve().start()
    client = Client(server)
    client.send(b"x\n")
    assert client.line() == b"X"
    server.stop()
    with pytest.raises((EOFError, ConnectionError)):
        client.line()
    client.close()


def test_silence_from_the_after_th_request_of_a_command_on() -> None:
    with serve(WireFault("silence", "read", after=2)) as server:
        client = Client(server)
        client.send(b"read 1\n")
        assert client.line() == b"READ 1"
        client.send(b"read 2\n")
        assert client.nothing_within(0.15)
        client.send(b"ping\n")
        assert client.line() == b"PING"
        client.send(b"read 3\n")
        assert client.nothing_within(0.15)
        assert server.received[-1] == b"read 3"
        client.close()


def test_a_counted_fault_ends() -> None:
    with serve(WireFault("garble", None, after=1, count=2)) as server:
        client = Client(server)
        for _ in range(2):
            client.send(b"ping\n")
            junk = client.line()
            with pytest.raises(UnicodeDecodeError):
                junk.decode("ascii")
        client.send(b"ping\n")
        assert client.line() == b"PING"
        client.close()


def test_delay() -> None:
    with serve(WireFault("delay", "ping", count=1, delay_s=0.2)) as server:
        client = Client(server)
        started = time.monotonic()
        client.send(b"ping\n")
        assert client.line() == b"PING"
        assert time.monotonic() - started >= 0.2
        client.close()


def test_drop_closes_the_connection_and_the_next_client_is_served() -> None:
    with serve(WireFault("drop", "read", count=1)) as server:
        client = Client(server)
        client.send(b"read\n")
        with pytest.raises((EOFError, ConnectionError)):
            client.line()
        client.close()
        again = Client(server)
        again.send(b"read\n")
        assert again.line() == b"READ"
        again.close()


def test_partial_sends_half_without_the_terminator() -> None:
    with serve(WireFault("partial", "ping", count=1)) as server:
        client = Client(server)
        client.send(b"ping abcdefg\n")
        time.sleep(0.1)
        client.sock.settimeout(0.2)
        assert client.sock.recv(4096) == b"PING A"
        assert client.nothing_within(0.1)
        client.close()


def test_injected_faults_count_from_when_they_are_added() -> None:
    with serve() as server:
        client = Client(server)
        for _ in range(3):
            client.send(b"ping\n")
            assert client.line() == b"PING"
        server.inject(WireFault("silence", "ping", after=1, count=1))
        client.send(b"ping\n")
        assert client.nothing_within(0.15)
        client.send(b"ping\n")
        assert client.line() == b"PING"
        client.close()


@pytest.mark.parametrize("kwargs,message", [
    ({"kind": "explode"}, "unknown wire fault"),
    ({"kind": "drop", "after": 0}, "request 1 or later"),
    ({"kind": "drop", "count": 0}, "at least one request"),
    ({"kind": "delay", "delay_s": -1.0}, "cannot be negative"),
])
def test_fault_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WireFault(**kwargs)

class Silent(Meter):
    """The same meter without an error reply of its own."""

    def error_reply(self, request: bytes) -> bytes | None:
        return None


def crlf_line(client: Client) -> bytes:
    line = client.line()
    assert line.endswith(b"\r")
    return line[:-1]


def test_serve_tcp_runs_on_return_and_stops() -> None:
    server = serve_tcp(Meter())
    assert server.resource == f"TCPIP::127.0.0.1::{server.port}::SOCKET" and server.name == "meter"
    client = Client(server)
    client.send(b"M\r\nX\r")
    client.send(b"\n")
    assert (crlf_line(client), crlf_line(client)) == (b"M0642.1;OK", b"E01")
    assert server.received == [b"M", b"X"]
    server.stop()
    with pytest.raises((EOFError, ConnectionError)):
        client.line()
    client.close()


def test_the_error_fault_answers_with_the_instruments_own_error() -> None:
    with serve_tcp(Meter(), faults=[WireFault("error", "M", count=1)]) as server:
        client = Client(server)
        client.send(b"M\r\n")
        assert crlf_line(client) == b"E20"
        client.send(b"M\r\n")
        assert crlf_line(client) == b"M0642.1;OK"
        client.close()


def test_the_error_fault_is_silence_for_an_instrument_without_error_replies() -> None:
    with serve_tcp(Silent(), faults=[WireFault("error", count=1)]) as server:
        client = Client(server)
        client.send(b"M\r\n")
        assert client.nothing_within(0.15)
        client.send(b"M\r\n")
        assert crlf_line(client) == b"M0642.1;OK"
        client.close()


def test_garble_keeps_the_length_and_the_terminator_but_no_decoder_accepts_it() -> None:
    assert garble(b"M0642.1;OK\r\n")[-2:] == b"\r\n" and len(garble(b"M0642.1;OK\r\n")) == 12
    for text in (b"OK\n", b"A", b"\x00\x01"):
        junk = garble(text)
        assert len(junk) == len(text) and junk != text
        with pytest.raises(UnicodeDecodeError):
            junk.decode("utf-8")
    with serve_tcp(Meter(), faults=[WireFault("garble", "M", count=1)]) as server:
        client = Client(server)
        client.send(b"M\r\n")
        assert client.line() == garble(b"M0642.1;OK\r\n")[:-1]
        client.close()


def test_partial_sends_the_first_half_of_a_framed_reply() -> None:
    with serve_tcp(Meter(), faults=[WireFault("partial", "M", count=1)]) as server:
        client = Client(server)
        client.send(b"M\r\n")
        time.sleep(0.1)
        client.sock.settimeout(0.2)
        assert client.sock.recv(4096) == b"M0642."
        assert client.nothing_within(0.1)
        client.close()


def test_unsolicited_records_arrive_every_period_between_replies() -> None:
    with serve_tcp(Meter(period=0.1)) as server:
        client = Client(server)
        started = time.monotonic()
        arrivals = []
        replies = []
        while time.monotonic() - started < 0.35:
            line = crlf_line(client)
            if line.startswith(b"T"):
                arrivals.append((time.monotonic(), line))
                if len(arrivals) == 2:
                    client.send(b"M\r\n")
            else:
                replies.append(line)
        client.close()
    assert replies == [b"M0642.1;OK"]
    names = [line for _, line in arrivals]
    assert names[:3] == [b"T1", b"T2", b"T3"] and len(names) in (3, 4)
    gaps = [b[0] - a[0] for a, b in pairwise(arrivals)]
    assert all(0.05 < gap < 0.2 for gap in gaps), gaps
    assert server.received == [b"M"]


def test_line_server_error_reply_and_the_command_map_simulator() -> None:
    identity = InstrumentIdentity("Example Instruments", "XR-1", "XR1-00042", "2.1.0")
    sim = CommandMapSimulator(load_command_map(EXAMPLE), identity,
                              faults=[WireFault("error", "identify", count=1)])
    server = sim.serve()
    try:
        with DeclarativeDriver(server.resource, command_map=sim.map, name="kvp-1", timeout=Q_(1, "s")) as driver:
            with pytest.raises(InstrumentReportedError) as caught:
                driver.identify()
            assert caught.value.code == "3"
            assert driver.identify() == identity
    finally:
        server.stop()
    assert server.received == [b"*IDN?", b"*IDN?"]
