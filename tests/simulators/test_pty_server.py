"""serve_pty with a bare client on the port: raw bytes, clients coming and going, each wire fault, streaming."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator
from itertools import pairwise

import pytest
from wire_helpers import Meter

from xcal.simulators.server import PtySimServer, WireFault, garble, serve_pty


class PortClient:
    """The other end of the pty, opened as a program opens a serial port."""

    def __init__(self, server: PtySimServer) -> None:
        self.fd = os.open(server.resource, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def receive(self, seconds: float) -> bytes:
        """Whatever arrives within `seconds` (b'' if nothing)."""
        ready, _, _ = select.select([self.fd], [], [], seconds)
        return os.read(self.fd, 4096) if ready else b""

    def line(self, seconds: float = 1.0) -> bytes:
        deadline = time.monotonic() + seconds
        while b"\r\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(self.buffer)
            self.buffer += self.receive(left)
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def hung_up(self, seconds: float) -> bool:
        """True once the device side has gone: reading gives an I/O error or end of file."""
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if not ready:
            return False
        try:
            return os.read(self.fd, 4096) == b""
        except OSError:
            return True

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def meter() -> Iterator[PtySimServer]:
    with serve_pty(Meter()) as server:
        yield server


def test_the_port_is_a_raw_pty_with_a_visa_name(meter: PtySimServer) -> None:
    assert meter.resource.startswith("/dev/pts/") and os.path.exists(meter.resource)
    assert meter.visa_resource == f"ASRL{meter.resource}::INSTR"
    client = PortClient(meter)
    client.send(b"\x03M\r")
    client.send(b"\n")
    assert client.receive(0.5) == b"E01\r\n"
    assert meter.received == [b"\x03M"]
    client.close()


def test_clients_may_open_and_close_the_port_again_and_again(meter: PtySimServer) -> None:
    for _ in range(3):
        client = PortClient(meter)
        client.send(b"M\r\n")
        assert client.line() == b"M0642.1;OK"
        client.close()
    assert meter.received == [b"M"] * 3


def test_silence_then_normal_replies(meter: PtySimServer) -> None:
    meter.inject(WireFault("silence", "M", count=1))
    client = PortClient(meter)
    client.send(b"M\r\n")
    assert client.receive(0.15) == b""
    client.send(b"M\r\n")
    assert client.line() == b"M0642.1;OK"
    client.close()


def test_delay(meter: PtySimServer) -> None:
    meter.inject(WireFault("delay", "M", count=1, delay_s=0.2))
    client = PortClient(meter)
    started = time.monotonic()
    client.send(b"M\r\n")
    assert client.line() == b"M0642.1;OK"
    assert time.monotonic() - started >= 0.2
    client.close()


def test_garble_partial_and_error(meter: PtySimServer) -> None:
    client = PortClient(meter)
    for kind, expected in (("garble", garble(b"M0642.1;OK\r\n")), ("partial", b"M0642."),
                           ("error", b"E20\r\n")):
        meter.inject(WireFault(kind, "M", count=1))
        client.send(b"M\r\n")
        time.sleep(0.05)
        assert client.receive(0.5) == expected, kind
        assert client.receive(0.1) == b"", kind
    client.send(b"M\r\n")
    assert client.line() == b"M0642.1;OK"
    client.close()


def test_drop_unplugs_the_port_for_good(meter: PtySimServer) -> None:
    meter.inject(WireFault("drop", "M"))
    client = PortClient(meter)
    client.send(b"M\r\n")
    assert client.hung_up(1.0)
    client.close()


def test_unsolicited_records_arrive_every_period() -> None:
    with serve_pty(Meter(period=0.1)) as server:
        client = PortClient(server)
        started = time.monotonic()
        arrivals = []
        while time.monotonic() - started < 0.35:
            arrivals.append((time.monotonic(), client.line()))
        client.close()
    assert [line for _, line in arrivals][:3] == [b"T1", b"T2", b"T3"] and len(arrivals) in (3, 4)
    gaps = [b[0] - a[0] for a, b in pairwise(arrivals)]
    assert all(0.05 < gap < 0.2 for gap in gaps), gaps


def test_stop_hangs_up_the_port() -> None:
    server = serve_pty(Meter())
    client = PortClient(server)
    client.send(b"M\r\n")
    assert client.line() == b"M0642.1;OK"
    server.stop()
    assert client.hung_up(0.5)
    client.close()
