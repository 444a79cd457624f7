"""LineServer over raw loopback sockets: framing, several clients, and each wire fault."""

from __future__ import annotations

import socket
import time

import pytest

from xcal.simulators.server import LineServer, WireFault

LOWER_COMMANDS = {"ping": "ping", "read": "read"}


def shout(line: str) -> str | None:
    """A handler: echoes in capitals, says nothing to 'quiet'."""
    return None if line == "quiet" else line.upper()


class Client:
    """A bare socket client reading whole lines."""

    def __init__(self, server: LineServer) -> None:
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
        except socket.timeout:
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
        assert server.received == ["hello", "world", "quiet", "again"]
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
        assert server.received[-1] == "read 3"
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
