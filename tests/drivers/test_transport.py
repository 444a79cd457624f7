"""VisaTransport over a real loopback socket and a pty: errors, faults, the drain, reconnect, lock, raw bytes."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
from wire_helpers import Echo

from xcal.drivers import transport
from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.generic.commandmap import CommandMap
from xcal.drivers.generic.declarative import DeclarativeDriver
from xcal.drivers.link import LinkSettings, open_transport, resource_kind
from xcal.drivers.serial_transport import SerialTransport
from xcal.drivers.transport import PartialReply, VisaTransport
from xcal.errors import ConfigError, ConnectionLost, InstrumentError, InstrumentTimeout, MeterChanged, ProtocolError
from xcal.simulators.commandmap_sim import CommandMapSimulator
from xcal.simulators.server import LineServer, PtySimServer, TcpSimServer, WireFault, serve_tcp
from xcal.units import Q_

from .conftest import EXAMPLE_VALUES, IDENTITY

SHORT = Q_(0.3, "s")
LINK = LinkSettings(timeout=SHORT)
BINARY = LinkSettings(read_termination="", write_termination="", timeout=Q_(0.15, "s"))


def connect(server: LineServer, cmap: CommandMap) -> DeclarativeDriver:
    return DeclarativeDriver(server.resource, command_map=cmap, name="kvp-1", timeout=SHORT,
                             poll_interval=Q_(5, "ms"))


def visa(resource: str, **settings: object) -> VisaTransport:
    return VisaTransport(resource, settings=LINK.with_options(**settings), name="kvp-1")


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


def test_a_connection_dropped_at_every_try_is_lost_after_one_repeat_and_the_next_command_reconnects(
        server: LineServer, example_map: CommandMap) -> None:
    server.inject(WireFault("drop", "status"))
    with connect(server, example_map) as driver:
        assert driver.identify() == IDENTITY
        with pytest.raises(ConnectionLost) as caught:
            driver.state()
        assert f"kvp-1 ({server.resource})" in str(caught.value)
        assert "lost again on the reopened link, with 'STAT?'" in str(caught.value)
        assert server.received.count(b"STAT?") == 2
        assert driver.identify() == IDENTITY


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


def test_after_a_timeout_the_next_query_gets_its_own_reply(echo: TcpSimServer) -> None:
    echo.inject(WireFault("delay", "slow", count=1, delay_s=0.45))
    with visa(echo.resource) as link:
        with pytest.raises(InstrumentTimeout):
            link.query("slow 1")
        assert link.query("fast 2") == "ECHO fast 2"
        assert link.query("fast 3") == "ECHO fast 3"


def test_a_partial_reply_is_named_so_and_leaves_nothing_behind(
        server: LineServer, example_map: CommandMap) -> None:
    server.inject(WireFault("partial", "identify", count=1))
    with connect(server, example_map) as driver:
        with pytest.raises(PartialReply, match=r"and then nothing more within 0\.3 s: a partial reply to '\*IDN\?'"):
            driver.identify()
        assert driver.identify() == IDENTITY


def test_a_link_dropped_once_is_closed_reopened_and_the_query_repeated(echo: TcpSimServer) -> None:
    echo.inject(WireFault("drop", "ask", count=1))
    link = visa(echo.resource)
    events: list[str] = []
    original_close, original_open = link._inst.close, link._open_link
    link._inst.close = lambda: (events.append("close"), original_close())[1]
    link._open_link = lambda: (events.append("open"), original_open())[1]
    assert link.query("ask 1") == "ECHO ask 1"
    assert events == ["close", "open"]
    assert echo.received == [b"ask 1", b"ask 1"]
    link.close()


def test_a_server_gone_for_good_is_lost_after_exactly_the_configured_attempts(monkeypatch) -> None:
    monkeypatch.setattr(transport, "RECONNECT_BACKOFF_S", 0.05)
    server = serve_tcp(Echo())
    link = visa(server.resource, reconnects=2)
    assert link.query("ask") == "ECHO ask"
    server.stop()
    opens: list[float] = []
    original = link._open_link
    link._open_link = lambda: (opens.append(time.monotonic()), original())[1]
    started = time.monotonic()
    with pytest.raises(ConnectionLost) as caught:
        link.query("ask")
    assert len(opens) == 2
    assert opens[0] - started >= 0.05 and opens[1] - opens[0] >= 0.1
    assert f"kvp-1 ({server.resource})" in str(caught.value)
    assert "2 reconnect attempt(s) failed" in str(caught.value)
    with pytest.raises(ConnectionLost):
        link.query("ask")
    assert len(opens) == 4
    link.close()


def test_no_reconnect_when_reconnects_is_zero(echo: TcpSimServer) -> None:
    echo.inject(WireFault("drop", "ask", count=1))
    with visa(echo.resource, reconnects=0) as link:
        with pytest.raises(ConnectionLost, match=r"reconnecting is off \(reconnects = 0\)"):
            link.query("ask")
        assert echo.received == [b"ask"]


def test_a_bare_write_that_may_have_gone_out_is_never_sent_again(echo: TcpSimServer) -> None:
    link = visa(echo.resource)
    original = link._inst.write_raw

    def sent_then_reset(data: bytes) -> None:
        original(data)
        raise ConnectionResetError(104, "Connection reset by peer")

    link._inst.write_raw = sent_then_reset
    with pytest.raises(ConnectionLost, match="'SET 1' may have reached the instrument, so it was not sent"):
        link.write("SET 1")
    assert link.query("ask") == "ECHO ask"
    assert echo.received == [b"SET 1", b"ask"]
    link.close()


def test_a_write_on_a_link_found_closed_before_sending_goes_out_once_on_the_new_link(
        echo: TcpSimServer) -> None:
    echo.inject(WireFault("drop", "bye", count=1))
    with visa(echo.resource) as link:
        link.write("bye")
        time.sleep(0.1)
        link.write("SET 2")
        assert link.query("ask") == "ECHO ask"
    assert echo.received == [b"bye", b"SET 2", b"ask"]


def test_a_refused_connection_is_connection_lost() -> None:
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    resource = f"TCPIP::127.0.0.1::{spare.getsockname()[1]}::SOCKET"
    spare.close()
    with pytest.raises(ConnectionLost, match=f"kvp-1 \\({resource}\\)"):
        visa(resource)


def test_a_resource_string_visa_rejects() -> None:
    with pytest.raises(InstrumentError, match="'not a resource' is not a VISA resource string") as caught:
        visa("not a resource")
    assert "TCPIP::" in caught.value.fix


def test_a_timeout_must_be_a_time_quantity(echo: TcpSimServer) -> None:
    for bad in (0.3, Q_(0.3, "kV"), Q_(0, "s")):
        with pytest.raises(ConfigError, match="timeout"):
            visa(echo.resource, timeout=bad)


def test_raw_io_is_logged_with_the_instrument_name(server: LineServer, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="xcal.io")
    with visa(server.resource) as link:
        assert link.query("STAT?") == "IDLE"
    lines = [r.getMessage() for r in caplog.records if r.name == "xcal.io"]
    assert lines == ["kvp-1 > b'STAT?\\n'", "kvp-1 < b'IDLE\\n'"]


def ask_from_two_threads(link: object) -> list[str]:
    """Two threads each send 50 distinct queries on one link; the replies that were not their own."""
    wrong: list[str] = []

    def ask(who: str) -> None:
        for n in range(50):
            reply = link.query(f"{who} {n}")  # type: ignore[attr-defined]
            if reply != f"ECHO {who} {n}":
                wrong.append(reply)

    threads = [threading.Thread(target=ask, args=(who,)) for who in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return wrong


def test_threads_sharing_a_link_each_get_their_own_reply(echo: TcpSimServer) -> None:
    with visa(echo.resource, timeout=Q_(2, "s")) as link:
        assert ask_from_two_threads(link) == []
    assert len(echo.received) == 100


def test_locked_holds_the_link_across_a_multi_step_exchange(echo: TcpSimServer) -> None:
    with visa(echo.resource, timeout=Q_(2, "s")) as link:
        other = threading.Thread(target=lambda: link.query("other"))
        with link.locked():
            link.write("first")
            other.start()
            time.sleep(0.05)
            assert link.read() == "ECHO first"
        other.join()
    assert echo.received == [b"first", b"other"]


def test_a_closed_link_refuses_io(echo: TcpSimServer) -> None:
    link = visa(echo.resource)
    link.close()
    link.close()
    with pytest.raises(InstrumentError, match="closed"):
        link.query("STAT?")


def test_a_reply_with_another_termination_is_a_protocol_error(example_map: CommandMap) -> None:
    sim = CommandMapSimulator(example_map, IDENTITY)
    with LineServer(sim.handle, line_end="\n", reply_end="\r\n") as crlf:
        with visa(crlf.resource, read_termination="\r\n") as link:
            assert link.query("STAT?") == "IDLE"
    with LineServer(sim.handle, line_end="\n", reply_end="\n") as lf:
        with visa(lf.resource, read_termination="\r\n") as link:
            with pytest.raises(ProtocolError, match="does not end with the read termination"):
                link.query("STAT?")


def test_lines_are_refused_on_a_binary_link(framed_tcp: TcpSimServer) -> None:
    with VisaTransport(framed_tcp.resource, settings=BINARY, name="gmc") as link:
        for call in (link.read, lambda: link.query("x")):
            with pytest.raises(ConfigError, match="no read termination") as caught:
                call()
            assert "read_bytes" in caught.value.fix


@pytest.mark.parametrize("wire", ["tcp", "asrl"])
def test_read_bytes_and_read_until(wire: str, framed_tcp: TcpSimServer, framed_pty: PtySimServer) -> None:
    resource = framed_tcp.resource if wire == "tcp" else framed_pty.visa_resource
    with VisaTransport(resource, settings=BINARY, name="gmc") as link:
        link.write_bytes(b"<GIVE 00ff0a0d41>>")
        assert link.read_bytes(2) == b"\x00\xff"
        assert link.read_bytes(3) == b"\n\rA"
        link.write_bytes(b"<GIVE 41423d3e43443d3e>>")
        assert link.read_until(b"=>", b"?>") == b"AB=>"
        assert link.read_until(b"=>", b"?>") == b"CD=>"
        link.write_bytes(b"<GIVE 31323e0a>>")
        assert link.read_until(b"\n", b"=>") == b"12>\n"


@pytest.mark.parametrize("wire", ["tcp", "asrl"])
def test_partial_raw_data_then_a_timeout_is_a_partial_reply_naming_the_resource(
        wire: str, framed_tcp: TcpSimServer, framed_pty: PtySimServer) -> None:
    resource = framed_tcp.resource if wire == "tcp" else framed_pty.visa_resource
    with VisaTransport(resource, settings=BINARY, name="gmc") as link:
        link.write_bytes(b"<GIVE 010203>>")
        with pytest.raises(PartialReply) as caught:
            link.read_bytes(5)
        assert (f"gmc ({resource}) sent b'\\x01\\x02\\x03' and then nothing more within 0.15 s: a partial reply "
                "to b'<GIVE 010203>>' (3 of the 5 bytes)") in str(caught.value)
        assert caught.value.resource == resource
        link.write_bytes(b"<GIVE 41>>")
        with pytest.raises(PartialReply, match=f"gmc \\({resource}\\) sent b'A'"):
            link.read_until(b"=>")
        link.write_bytes(b"<GIVE 0405>>")
        assert link.read_bytes(2) == b"\x04\x05"


def test_serial_settings_reach_an_asrl_resource() -> None:
    from pyvisa import constants

    settings = BINARY.with_options(baudrate=19200, bytesize=7, parity="E", stopbits=2, rtscts=True)
    with VisaTransport("ASRLloop://::INSTR", settings=settings, name="radeye") as link:
        inst = link._inst
        assert (inst.baud_rate, inst.data_bits) == (19200, 7)
        assert inst.parity == constants.Parity.even
        assert inst.stop_bits == constants.StopBits.two
        assert inst.flow_control == constants.ControlFlow.rts_cts


@pytest.mark.parametrize("resource", ["TCPIP::10.0.0.5::8123::SOCKET", "ASRL/dev/ttyUSB0::INSTR",
                                      "GPIB0::27::INSTR", "USB0::0x1234::0x5678::SN1::INSTR"])
def test_visa_resource_strings_are_visa(resource: str) -> None:
    assert resource_kind(resource) == "visa"


@pytest.mark.parametrize("resource", ["/dev/ttyUSB0", "/dev/pts/4", "COM3", "com12", "socket://10.0.0.5:4001",
                                      "loop://", "spy:///dev/ttyUSB0?file=log.txt", "rfc2217://host:2217"])
def test_ports_and_urls_are_serial(resource: str) -> None:
    assert resource_kind(resource) == "serial"


@pytest.mark.parametrize("resource", ["foo", "", "TCPIP", "ttyUSB0", "dev/ttyUSB0"])
def test_other_resources_are_refused_with_the_forms_that_work(resource: str) -> None:
    with pytest.raises(InstrumentError, match="is not a resource xcal can open") as caught:
        resource_kind(resource)
    for form in ("TCPIP::", "ASRL/dev/ttyUSB0::INSTR", "/dev/ttyUSB0", "COM3", "socket://"):
        assert form in caught.value.fix


def test_open_transport_picks_the_transport_by_the_resource(echo: TcpSimServer,
                                                            framed_pty: PtySimServer) -> None:
    with open_transport(echo.resource, LINK, name="a") as tcp:
        assert isinstance(tcp, VisaTransport) and tcp.query("x") == "ECHO x"
    with open_transport(framed_pty.resource, BINARY, name="b") as port:
        assert isinstance(port, SerialTransport)
    with open_transport(framed_pty.visa_resource, BINARY, name="c") as asrl:
        assert isinstance(asrl, VisaTransport)
    with pytest.raises(InstrumentError, match="'foo' is not a resource xcal can open"):
        open_transport("foo", LINK, name="d")


def test_after_a_reconnect_the_meter_is_asked_who_it_is_and_the_same_one_goes_on(
        server: LineServer, example_map: CommandMap) -> None:
    with connect(server, example_map) as driver:
        assert driver.identify() == IDENTITY
        server.inject(WireFault("drop", "status", count=1))
        assert driver.state() == "idle"
        assert server.received.count(b"*IDN?") == 2                    # once by identify, once on the new link
        assert server.received[-2:] == [b"*IDN?", b"STAT?"]             # asked before the query was repeated


def test_another_meter_on_the_reopened_link_is_refused_and_nothing_is_read_from_it(
        server: LineServer, simulator: CommandMapSimulator, example_map: CommandMap) -> None:
    with connect(server, example_map) as driver:
        driver.identify()
        simulator.become(InstrumentIdentity("Example Instruments", "XR-1", "XR1-00777", "2.1.0"))
        server.inject(WireFault("drop", "status", count=1))
        with pytest.raises(MeterChanged) as caught:
            driver.state()
        message = str(caught.value)
        assert "serial XR1-00777, not the Example Instruments XR-1 serial XR1-00042 identified before" in message
        assert caught.value.instrument == "kvp-1" and server.resource in caught.value.fix
        assert server.received.count(b"STAT?") == 1                     # the lost one, never repeated to it
        with pytest.raises(MeterChanged):                               # still refused on the next command
            driver.state()
        simulator.become(IDENTITY)                                      # the right meter is back on the port
        assert driver.state() == "idle"


def test_a_firmware_update_is_still_the_same_meter_and_so_is_a_serial_written_otherwise(
        server: LineServer, simulator: CommandMapSimulator, example_map: CommandMap) -> None:
    with connect(server, example_map) as driver:
        driver.identify()
        simulator.become(InstrumentIdentity("Example Instruments", "XR-1", "xr1 00042", "2.2.0"))
        server.inject(WireFault("drop", "status", count=1))
        assert driver.state() == "idle"


def test_a_meter_that_does_not_say_who_it_is_after_the_reconnect_is_a_lost_connection_and_the_next_call_retries(
        server: LineServer, example_map: CommandMap) -> None:
    with connect(server, example_map) as driver:
        driver.identify()
        server.inject(WireFault("drop", "status", count=1))
        server.inject(WireFault("silence", "identify", count=1))          # still starting up after the drop
        with pytest.raises(ConnectionLost) as caught:
            driver.state()
        assert "reconnected, but the meter did not say who it is: " in str(caught.value)
        assert "did not answer '*IDN?'" in str(caught.value)
        assert driver.state() == "idle"                                   # reopened, asked again, went on
    assert driver.transport.after_reopen is None                          # closing drops the hook (and its cycle)
