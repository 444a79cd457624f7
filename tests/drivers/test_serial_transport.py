"""SerialTransport over a pty (as a real port), socket:// and loop://: drain, reconnect, lock, chunks, raw bytes."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import serial
from wire_helpers import Echo

from xcal.drivers import transport
from xcal.drivers.link import LinkSettings
from xcal.drivers.serial_transport import SerialTransport
from xcal.drivers.transport import PartialReply
from xcal.errors import ConfigError, ConnectionLost, InstrumentError, InstrumentTimeout, ProtocolError
from xcal.simulators.server import PtySimServer, TcpSimServer, WireFault, serve_tcp
from xcal.units import Q_

LINK = LinkSettings(timeout=Q_(0.2, "s"))
BINARY = LinkSettings(read_termination="", write_termination="", timeout=Q_(0.15, "s"))
def port(resource: str, **settings: object) -> SerialTransport:
    return SerialTransport(resource, settings=LINK.with_options(**settings), name="gm-1")


@pytest.mark.parametrize("wire", ["pty", "socket"])
def test_after_a_timeout_the_next_query_gets_its_own_reply(wire: str, echo_pty: PtySimServer,
                                                           echo: TcpSimServer) -> None:
    server = echo_pty if wire == "pty" else echo
    resource = echo_pty.resource if wire == "pty" else f"socket://127.0.0.1:{echo.port}"
    server.inject(WireFault("delay", "slow", count=1, delay_s=0.3))
    with port(resource) as link:
        with pytest.raises(InstrumentTimeout) as caught:
            link.query("slow 1")
        assert f"gm-1 ({resource}) did not answer 'slow 1' within 0.2 s" in str(caught.value)
        assert link.query("fast 2") == "ECHO fast 2"
        assert link.query("fast 3") == "ECHO fast 3"


def test_a_link_dropped_once_is_closed_reopened_and_the_query_repeated(echo: TcpSimServer) -> None:
    echo.inject(WireFault("drop", "ask", count=1))
    link = port(f"socket://127.0.0.1:{echo.port}")
    events: list[str] = []
    original_close, original_open = link._port.close, link._open_link
    link._port.close = lambda: (events.append("close"), original_close())[1]
    link._open_link = lambda: (events.append("open"), original_open())[1]
    assert link.query("ask 1") == "ECHO ask 1"
    assert events == ["close", "open"]
    assert echo.received == [b"ask 1", b"ask 1"]
    link.close()


def test_a_server_gone_for_good_is_lost_after_exactly_the_configured_attempts(monkeypatch) -> None:
    monkeypatch.setattr(transport, "RECONNECT_BACKOFF_S", 0.05)
    server = serve_tcp(Echo())
    resource = f"socket://127.0.0.1:{server.port}"
    link = port(resource, reconnects=2)
    assert link.query("ask") == "ECHO ask"
    server.stop()
    opens: list[float] = []
    original = link._open_link
    link._open_link = lambda: (opens.append(time.monotonic()), original())[1]
    with pytest.raises(ConnectionLost) as caught:
        link.query("ask")
    assert len(opens) == 2 and opens[1] - opens[0] >= 0.1
    assert f"gm-1 ({resource}): connection lost" in str(caught.value)
    assert "2 reconnect attempt(s) failed" in str(caught.value) and "Connection refused" in str(caught.value)
    link.close()


def test_a_bare_write_that_may_have_gone_out_is_never_sent_again(echo: TcpSimServer) -> None:
    link = port(f"socket://127.0.0.1:{echo.port}")
    original = link._port.write

    def sent_then_broken(data: bytes) -> int:
        original(data)
        raise serial.SerialException("write failed: [Errno 32] Broken pipe")

    link._port.write = sent_then_broken
    with pytest.raises(ConnectionLost, match="'SET 1' may have reached the instrument, so it was not sent"):
        link.write("SET 1")
    assert link.query("ask") == "ECHO ask"
    assert echo.received == [b"SET 1", b"ask"]
    link.close()


def test_threads_sharing_a_port_each_get_their_own_reply(echo_pty: PtySimServer) -> None:
    wrong: list[str] = []
    with port(echo_pty.resource, timeout=Q_(2, "s")) as link:

        def ask(who: str) -> None:
            for n in range(50):
                reply = link.query(f"{who} {n}")
                if reply != f"ECHO {who} {n}":
                    wrong.append(reply)

        threads = [threading.Thread(target=ask, args=(who,)) for who in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert wrong == [] and len(echo_pty.received) == 100


def test_a_long_reply_is_read_in_chunks_not_byte_by_byte(echo_pty: PtySimServer) -> None:
    with port(echo_pty.resource) as link:
        calls: list[int] = []
        original = link._port.read
        link._port.read = lambda size=1: (calls.append(size), original(size))[1]
        reply = link.query("x" * 195)
    assert reply == "ECHO " + "x" * 195
    assert 1 <= len(calls) <= 5


def test_read_bytes_and_read_until_keep_what_follows(framed_pty: PtySimServer) -> None:
    with SerialTransport(framed_pty.resource, settings=BINARY, name="gmc") as link:
        link.write_bytes(b"<GIVE 00ff0a0d41>>")
        assert link.read_bytes(2) == b"\x00\xff"
        assert link.read_bytes(3) == b"\n\rA"
        link.write_bytes(b"<GIVE 41423d3e43443f3e>>")
        assert link.read_until(b"=>", b"?>") == b"AB=>"
        assert link.read_until(b"=>", b"?>") == b"CD?>"
        link.write_bytes(b"<GIVE 31323e0a3334>>")
        assert link.read_until(b"\n", b"=>") == b"12>\n"
        assert link.read_bytes(2) == b"34"


def test_partial_raw_data_then_a_timeout_is_a_partial_reply_naming_the_resource(framed_pty: PtySimServer) -> None:
    with SerialTransport(framed_pty.resource, settings=BINARY, name="gmc") as link:
        link.write_bytes(b"<GIVE 010203>>")
        with pytest.raises(PartialReply) as caught:
            link.read_bytes(5)
        assert (f"gmc ({framed_pty.resource}) sent b'\\x01\\x02\\x03' and then nothing more within 0.15 s: a partial "
                "reply to b'<GIVE 010203>>' (3 of the 5 bytes)") in str(caught.value)
        assert caught.value.resource == framed_pty.resource
        link.write_bytes(b"<GIVE 41>>")
        with pytest.raises(PartialReply, match=f"gmc \\({framed_pty.resource}\\) sent b'A'.*no b'=>' came"):
            link.read_until(b"=>")
        link.write_bytes(b"<GIVE 0405>>")
        assert link.read_bytes(2) == b"\x04\x05"


def test_line_settings_reach_the_port() -> None:
    settings = LINK.with_options(baudrate=19200, bytesize=7, parity="E", stopbits=2, xonxoff=True, dtr=False)
    with SerialTransport("loop://", settings=settings, name="radeye") as link:
        p = link._port
        assert (p.baudrate, p.bytesize, p.parity, p.stopbits, p.xonxoff, p.rtscts) == (19200, 7, "E", 2, True,
                                                                                       False)
        assert p.dtr is False
        assert link.query("hello") == "hello"


def test_a_setting_pyserial_refuses_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="pyserial refused a line setting"):
        SerialTransport("loop://", settings=LINK.with_options(bytesize=9), name="radeye")


@pytest.mark.parametrize("resource,message", [("/dev/no-such-port", "could not be opened"),
                                              ("foo://x", "is not a port or URL pyserial can open")])
def test_a_port_that_cannot_be_opened_is_named(resource: str, message: str) -> None:
    with pytest.raises(InstrumentError, match=message) as caught:
        port(resource)
    assert caught.value.resource == resource and f"gm-1 ({resource})" in str(caught.value)


def test_raw_io_is_logged_like_visa(echo_pty: PtySimServer, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="xcal.io")
    with port(echo_pty.resource) as link:
        assert link.query("STAT?") == "ECHO STAT?"
    lines = [r.getMessage() for r in caplog.records if r.name == "xcal.io"]
    assert lines == ["gm-1 > b'STAT?\\n'", "gm-1 < b'ECHO STAT?\\n'"]


def test_a_garbled_reply_is_a_protocol_error_and_the_port_goes_on(echo_pty: PtySimServer) -> None:
    echo_pty.inject(WireFault("garble", "ask", count=1))
    with port(echo_pty.resource) as link:
        with pytest.raises(ProtocolError, match="not ascii text in reply to 'ask 1'"):
            link.query("ask 1")
        assert link.query("ask 2") == "ECHO ask 2"


def test_a_reply_with_another_termination_is_a_protocol_error(echo_pty: PtySimServer) -> None:
    with port(echo_pty.resource, read_termination="\r\n") as link:
        with pytest.raises(ProtocolError, match="does not end with the read termination"):
            link.query("ask")


def test_lines_are_refused_on_a_binary_link() -> None:
    with SerialTransport("loop://", settings=BINARY, name="gmc") as link:
        with pytest.raises(ConfigError, match="no read termination"):
            link.read()
        link.write_bytes(b"\x01\x02")
        assert link.read_bytes(2) == b"\x01\x02"


def test_a_closed_port_refuses_io(echo_pty: PtySimServer) -> None:
    link = port(echo_pty.resource)
    link.close()
    link.close()
    with pytest.raises(InstrumentError, match="closed"):
        link.query("ask")
