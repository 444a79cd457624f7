"""Resync after a timeout over real loopback sockets: a reply later than any drain, and partial replies."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from wire_helpers import Echo, Framed

from xcal.drivers.link import LinkSettings
from xcal.drivers.serial_transport import SerialTransport
from xcal.drivers.transport import BaseTransport, PartialReply, VisaTransport
from xcal.errors import InstrumentTimeout, ProtocolError
from xcal.simulators.protocol import LineProtocol
from xcal.simulators.server import TcpSimServer, WireFault, serve_tcp
from xcal.units import Q_

TIMEOUT_S = 0.3
LINK = LinkSettings(timeout=Q_(TIMEOUT_S, "s"))
BINARY = LinkSettings(read_termination="", write_termination="", timeout=Q_(TIMEOUT_S, "s"))


class Withholding(LineProtocol):
    """Echoes lines, but holds back the reply to `slow ...` until the next request comes, then sends both.

    So the late reply reaches the host only after its next command has gone out: later than any drain.
    """

    name = "withholding"

    def __init__(self) -> None:
        self.held = b""

    def respond(self, request: bytes) -> bytes | None:
        reply = b"ECHO " + request + b"\n"
        if request.startswith(b"slow"):
            self.held += reply
            return None
        late, self.held = self.held, b""
        return late + reply


class Electrometer(LineProtocol):
    """`:READ?` answers `+1.95` and no more; the rest `6085E-09` comes first thing after the next request."""

    name = "electrometer"

    def __init__(self) -> None:
        self.rest = b""

    def respond(self, request: bytes) -> bytes | None:
        if request == b":READ?":
            self.rest = b"6085E-09\n"
            return b"+1.95"
        late, self.rest = self.rest, b""
        return late + (b'0,"No error"\n' if request == b":SYST:ERR?" else b"ECHO " + request + b"\n")


class Straggler(LineProtocol):
    """Echoes lines, but the reply to `slow ...` is sent on its own only once `release()` is called."""

    name = "straggler"

    def __init__(self) -> None:
        self.held = b""
        self.released = threading.Event()
        self.sent = threading.Event()

    def respond(self, request: bytes) -> bytes | None:
        if request.startswith(b"slow"):
            self.held = b"ECHO " + request + b"\n"
            return None
        return b"ECHO " + request + b"\n"

    def unsolicited(self, now: float) -> bytes | None:
        if not self.released.is_set() or not self.held:
            return None
        late, self.held = self.held, b""
        self.sent.set()
        return late


def open_link(wire: str, server: TcpSimServer, settings: LinkSettings) -> BaseTransport:
    if wire == "visa":
        return VisaTransport(server.resource, settings=settings, name="em-1")
    return SerialTransport(f"socket://127.0.0.1:{server.port}", settings=settings, name="em-1")


@pytest.fixture
def withholding() -> Iterator[TcpSimServer]:
    with serve_tcp(Withholding()) as server:
        yield server


@pytest.fixture
def electrometer() -> Iterator[TcpSimServer]:
    with serve_tcp(Electrometer()) as server:
        yield server


@pytest.mark.parametrize("wire", ["visa", "serial"])
def test_a_reply_that_arrives_only_after_the_next_command_is_not_taken_for_its_reply(
        wire: str, withholding: TcpSimServer) -> None:
    with open_link(wire, withholding, LINK) as link:
        with pytest.raises(InstrumentTimeout):
            link.query("slow 1")
        assert link.query("fast 2") == "ECHO fast 2"
        assert link.query("fast 3") == "ECHO fast 3"
    assert withholding.received == [b"slow 1", b"fast 2", b"fast 3"]


@pytest.mark.parametrize("wire", ["visa", "serial"])
def test_a_reply_two_and_a_half_timeouts_late_is_not_the_answer_to_the_error_query(wire: str) -> None:
    # The fault-injection case: READ? answered 2.5 timeouts late (after the drain of 1 timeout past the timeout
    # has ended), while SYST:ERR? waits for its reply; the server answers in order.
    timeout = 0.5
    with serve_tcp(Echo(), faults=[WireFault("delay", ":READ?", count=1, delay_s=2.5 * timeout)]) as server:
        with open_link(wire, server, LINK.with_options(timeout=Q_(timeout, "s"))) as link:
            with pytest.raises(InstrumentTimeout):
                link.query(":READ?")
            assert link.query(":SYST:ERR?") == "ECHO :SYST:ERR?"
            assert link.query("*OPC?") == "ECHO *OPC?"


@pytest.mark.parametrize("wire", ["visa", "serial"])
def test_a_reply_that_turns_up_while_the_link_is_idle_is_not_the_answer_to_a_later_query(wire: str) -> None:
    straggler = Straggler()
    with serve_tcp(straggler) as server, open_link(wire, server, LINK) as link:
        with pytest.raises(InstrumentTimeout):
            link.query("slow 1")
        assert link.query("fast 2") == "ECHO fast 2"           # no second line came: the link stays suspect
        straggler.released.set()
        assert straggler.sent.wait(2.0)
        time.sleep(0.1)                                         # the late line is on the host's side by now
        assert link.query("fast 3") == "ECHO fast 3"
        assert link.query("fast 4") == "ECHO fast 4"


@pytest.mark.parametrize("wire", ["visa", "serial"])
def test_a_reply_that_never_comes_leaves_the_next_query_its_own_reply(wire: str) -> None:
    with serve_tcp(Echo(), faults=[WireFault("silence", "slow", count=1)]) as server:
        with open_link(wire, server, LINK) as link:
            with pytest.raises(InstrumentTimeout):
                link.query("slow 1")
            started = time.monotonic()
            assert link.query("fast 2") == "ECHO fast 2"
            waited = time.monotonic() - started
            assert link.query("fast 3") == "ECHO fast 3"
    assert waited < 2 * TIMEOUT_S + 1.0            # bounded: the drain plus one reply window at most


@pytest.mark.parametrize("wire", ["visa", "serial"])
def test_a_partial_line_is_named_a_partial_reply_showing_its_bytes(
        wire: str, electrometer: TcpSimServer) -> None:
    with open_link(wire, electrometer, LINK) as link:
        with pytest.raises(PartialReply) as caught:
            link.query(":READ?")
        where = link.resource
        assert isinstance(caught.value, ProtocolError)
        assert caught.value.received == b"+1.95"
        assert (f"em-1 ({where}) sent b'+1.95' and then nothing more within 0.3 s: a partial reply to "
                f"':READ?'") in str(caught.value)
        assert link.query(":SYST:ERR?") == '0,"No error"'
        assert link.query("*OPC?") == "ECHO *OPC?"


@pytest.mark.parametrize("wire", ["visa", "serial"])
def test_partial_raw_bytes_are_a_partial_reply_naming_how_many_were_wanted(wire: str) -> None:
    with serve_tcp(Framed()) as server, open_link(wire, server, BINARY) as link:
        link.write_bytes(b"<GIVE 010203>>")
        with pytest.raises(PartialReply) as caught:
            link.read_bytes(5)
        message = str(caught.value)
        assert "sent b'\\x01\\x02\\x03' and then nothing more within 0.3 s: a partial reply to " \
               "b'<GIVE 010203>>'" in message
        assert "3 of the 5 bytes" in message
        link.write_bytes(b"<GIVE 41>>")
        with pytest.raises(PartialReply, match=r"sent b'A' and then nothing more .*no b'=>' came"):
            link.read_until(b"=>")
        link.write_bytes(b"<GIVE 0405>>")
        assert link.read_bytes(2) == b"\x04\x05"


@pytest.mark.parametrize("wire", ["visa", "serial"])
def test_nothing_at_all_is_still_a_timeout_not_a_partial_reply(wire: str) -> None:
    with serve_tcp(Framed()) as server, open_link(wire, server, BINARY) as link:
        link.write_bytes(b"<NOTHING>>")
        with pytest.raises(InstrumentTimeout) as caught:
            link.read_bytes(2)
        assert not isinstance(caught.value, ProtocolError)
        assert "did not answer b'<NOTHING>>' within 0.3 s" in str(caught.value)
