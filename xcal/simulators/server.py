"""Put any SimProtocol on a wire, a loopback TCP socket or a pty serial port, with faults injected at the wire.

The driver under test then runs its real code path: VISA `TCPIP::127.0.0.1::PORT::SOCKET`, a pty reached by
pyserial (`/dev/pts/N`) or by pyvisa-py (`ASRL/dev/pts/N::INSTR`). WireFaults make the server misbehave the
way real links do: go silent, answer late, hang up, garble or cut a reply, answer with the instrument's error.
LineServer keeps the older interface: a function from one received line to one reply line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, Self

from .protocol import LineProtocol, SimProtocol

log = logging.getLogger("xcal.simulators")

FAULT_KINDS = ("silence", "delay", "drop", "garble", "partial", "error")
_POLL_S = 0.05
_CHUNK = 4096
_SEND_STALL_S = 1.0


@dataclass(frozen=True)
class WireFault:
    """One fault on the wire.

    It affects the requests of `command` (a command name, or None for any request), starting at the
    `after`-th such request counted from when the fault was added (1-based), for `count` requests (None: all
    from then on). Kinds: "silence" (no reply), "delay" (reply after `delay_s` seconds), "drop" (hang up at
    that request: the TCP connection closes; a pty closes for good, like a USB adapter pulled out),
    "garble" (junk bytes of the reply's length that no ASCII or UTF-8 decoder accepts, a trailing CR/LF
    kept), "partial" (the first half of the reply, so never its terminator), "error" (the instrument's own
    error reply, `error_reply`, instead of the reply; nothing if it has none). Silence, drop and error leave
    the request unprocessed; the others let the simulator act on it. A request that has no reply gets none,
    whatever the fault.
    """

    kind: str
    command: str | None = None
    after: int = 1
    count: int | None = None
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown wire fault {self.kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if self.after < 1:
            raise ValueError(f"a fault starts at request 1 or later, not {self.after}")
        if self.count is not None and self.count < 1:
            raise ValueError(f"a fault affects at least one request, not {self.count}")
        if self.delay_s < 0:
            raise ValueError(f"a delay cannot be negative ({self.delay_s} s)")


@dataclass
class _Counted:
    fault: WireFault
    seen: int = field(default=0)


class _FaultPlan:
    """The faults of one server, each counting the requests it concerns; thread-safe."""

    def __init__(self, faults: Iterable[WireFault]) -> None:
        self._lock = threading.Lock()
        self._entries: list[_Counted] = []
        for fault in faults:
            self.add(fault)

    def add(self, fault: WireFault) -> None:
        """Add a fault whose request count starts now."""
        with self._lock:
            self._entries.append(_Counted(fault))

    def pick(self, command: str | None) -> WireFault | None:
        """Count this request against every fault it concerns; return the first fault now active."""
        chosen = None
        with self._lock:
            for entry in self._entries:
                fault = entry.fault
                if fault.command is not None and fault.command != command:
                    continue
                entry.seen += 1
                active = entry.seen >= fault.after and (fault.count is None
                                                        or entry.seen < fault.after + fault.count)
                if active and chosen is None:
                    chosen = fault
        return chosen


def garble(reply: bytes) -> bytes:
    """Junk of the reply's length that no ASCII or UTF-8 decoder accepts; a trailing CR/LF is kept."""
    body = reply.rstrip(b"\r\n")
    end = reply[len(body):]
    return b"\xff" + bytes(0x80 | (b * 7 + 13) & 0x7F for b in body[1:]) + end


class _Wire(Protocol):
    """One open conversation: a TCP connection, or the master side of a pty."""

    def receive(self, wait_s: float) -> bytes | None:
        """Received bytes; None if nothing came within `wait_s`; b'' once the other side is gone."""
        ...

    def send(self, data: bytes) -> None:
        """Send all of `data` (whole, never interleaved with another send)."""
        ...

    def hang_up(self) -> None:
        """End the conversation; harmless twice."""
        ...


class _SocketWire:
    """A TCP connection to one client."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._send_lock = threading.Lock()
        self._closed = False

    def receive(self, wait_s: float) -> bytes | None:
        ready, _, _ = select.select([self._sock], [], [], wait_s)
        return self._sock.recv(_CHUNK) if ready else None

    def send(self, data: bytes) -> None:
        with self._send_lock:
            self._sock.sendall(data)

    def hang_up(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()


class _PtyWire:
    """The master side of a pty; the slave fd is held open so clients may open and close the port freely."""

    def __init__(self, master: int, slave: int) -> None:
        self._master, self._slave = master, slave
        self._send_lock = threading.Lock()
        self._closed = False

    def receive(self, wait_s: float) -> bytes | None:
        if self._closed:
            return b""
        ready, _, _ = select.select([self._master], [], [], wait_s)
        if not ready:
            return None
        try:
            return os.read(self._master, _CHUNK)
        except BlockingIOError:
            return None
        except OSError:
            return b""

    def send(self, data: bytes) -> None:
        """Write all of `data`; bytes nobody reads for a second are dropped, as on a serial line."""
        view = memoryview(data)
        with self._send_lock:
            while view and not self._closed:
                _, writable, _ = select.select([], [self._master], [], _SEND_STALL_S)
                if not writable:
                    log.debug("pty: nobody reads; %d byte(s) dropped", len(view))
                    return
                try:
                    view = view[os.write(self._master, view):]
                except BlockingIOError:
                    continue

    def hang_up(self) -> None:
        if self._closed:
            return
        self._closed = True
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class SimServer:
    """Serves one SimProtocol on a wire; a subclass opens the wire (TcpSimServer, PtySimServer).

    Received chunks are framed by `protocol.split`; each request is recorded in `received`, counted against
    the faults by `protocol.command_of`, and answered with `protocol.respond` (or `error_reply` for the
    `error` fault). `protocol.unsolicited(now)` is polled every 50 ms and what it returns is sent to every
    open conversation. Protocol calls are serialised, so a protocol needs no lock of its own against the
    server. Threads are daemons; `stop()` (or leaving the `with` block) ends them.
    """

    def __init__(self, protocol: SimProtocol, *, faults: Iterable[WireFault] = (),
                 name: str | None = None) -> None:
        self.protocol = protocol
        self.name = name or getattr(protocol, "name", "") or "simulator"
        self.received: list[bytes] = []
        self._plan = _FaultPlan(faults)
        self._protocol_lock = threading.RLock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._wires: set[_Wire] = set()
        self._wires_lock = threading.Lock()
        self._started = False

    @property
    def resource(self) -> str:
        """The resource string a driver opens to reach this server."""
        raise NotImplementedError

    def inject(self, fault: WireFault) -> None:
        """Add a fault while running; its `after` counts requests from now."""
        self._plan.add(fault)

    def start(self) -> Self:
        """Open the wire and start serving; starting twice is harmless."""
        if not self._started:
            self._stop.clear()
            self._open()
            self._started = True
            self._spawn(self._tick, "unsolicited")
        return self

    def stop(self) -> None:
        """Stop serving and hang up every conversation; the threads see the stop within 50 ms and end."""
        self._stop.set()
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(timeout=1.0)
        self._close()
        with self._wires_lock:
            wires = list(self._wires)
        for wire in wires:
            wire.hang_up()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _open(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _spawn(self, target: Callable[..., None], what: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=f"{self.name}-{what}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _converse(self, wire: _Wire) -> None:
        """Serve one conversation until the other side leaves, a fault hangs up or the server stops."""
        buffer = bytearray()
        with self._wires_lock:
            self._wires.add(wire)
        try:
            while not self._stop.is_set():
                chunk = wire.receive(_POLL_S)
                if chunk is None:
                    continue
                if not chunk:
                    return
                buffer += chunk
                with self._protocol_lock:
                    requests = self.protocol.split(buffer)
                for request in requests:
                    if not self._answer(wire, request):
                        return
        except (OSError, ValueError):
            return
        finally:
            with self._wires_lock:
                self._wires.discard(wire)
            wire.hang_up()

    def _answer(self, wire: _Wire, request: bytes) -> bool:
        """Answer one request, applying any active fault; False when the conversation must end."""
        self.received.append(request)
        with self._protocol_lock:
            command = self.protocol.command_of(request)
        fault = self._plan.pick(command)
        kind = fault.kind if fault is not None else None
        if fault is not None:
            log.debug("%s: %s fault on %r", self.name, kind, request)
        if kind == "drop":
            return False
        if kind == "silence":
            return True
        with self._protocol_lock:
            reply = (self.protocol.error_reply(request) if kind == "error"
                     else self.protocol.respond(request))
        if not reply:
            return True
        if fault is not None and kind == "delay" and self._stop.wait(fault.delay_s):
            return False
        if kind == "garble":
            reply = garble(reply)
        elif kind == "partial":
            reply = reply[: len(reply) // 2]
        if reply:
            wire.send(reply)
        return True

    def _tick(self) -> None:
        """Poll the protocol for bytes it sends on its own and send them to every open conversation."""
        while not self._stop.wait(_POLL_S):
            with self._protocol_lock:
                data = self.protocol.unsolicited(time.monotonic())
            if not data:
                continue
            with self._wires_lock:
                wires = list(self._wires)
            for wire in wires:
                with contextlib.suppress(OSError):
                    wire.send(data)


class TcpSimServer(SimServer):
    """A SimServer on an ephemeral port of 127.0.0.1 (loopback only); clients one after another or at once.

    A `drop` fault closes that client's connection; the server goes on accepting new ones.
    """

    def __init__(self, protocol: SimProtocol, *, faults: Iterable[WireFault] = (),
                 name: str | None = None) -> None:
        super().__init__(protocol, faults=faults, name=name)
        self._listener: socket.socket | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on (chosen by the OS); kept after `stop()` for messages."""
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def resource(self) -> str:
        """The VISA resource string that reaches this server."""
        return f"TCPIP::127.0.0.1::{self.port}::SOCKET"

    def _open(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._spawn(self._accept_loop, "accept", listener)

    def _close(self) -> None:
        if self._listener is not None:
            self._listener.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([listener], [], [], _POLL_S)
                if not ready:
                    continue
                client, _ = listener.accept()
            except (OSError, ValueError):
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._spawn(self._converse, "client", _SocketWire(client))


class PtySimServer(SimServer):
    """A SimServer on a pseudo-terminal: `resource` is the port path (/dev/pts/N) for pyserial,
    `visa_resource` the same port for pyvisa-py (ASRL/dev/pts/N::INSTR).

    The device side is set raw and held open for the server's life, so clients may open and close the port
    without hanging it up. A pty ignores baud rate, parity and the other line settings (some kernels even
    refuse to set a parity on one): test those on the transport (loop://), not through the simulator. A `drop`
    fault closes the pty for good, as when a USB serial adapter is pulled out: the client sees an I/O error and
    the path disappears.
    """

    def __init__(self, protocol: SimProtocol, *, faults: Iterable[WireFault] = (),
                 name: str | None = None) -> None:
        super().__init__(protocol, faults=faults, name=name)
        self._path: str | None = None
        self._wire: _PtyWire | None = None

    @property
    def resource(self) -> str:
        """The port path, e.g. /dev/pts/5."""
        if self._path is None:
            raise RuntimeError("the server is not started")
        return self._path

    @property
    def visa_resource(self) -> str:
        """The same port as a VISA resource string."""
        return f"ASRL{self.resource}::INSTR"

    def _open(self) -> None:
        import tty  # POSIX only: the pty server is the one part of xcal that needs it

        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._path = os.ttyname(slave)
        self._wire = _PtyWire(master, slave)
        self._spawn(self._converse, "pty", self._wire)

    def _close(self) -> None:
        if self._wire is not None:
            self._wire.hang_up()


def serve_tcp(protocol: SimProtocol, *, faults: Iterable[WireFault] = (),
              name: str | None = None) -> TcpSimServer:
    """Serve `protocol` on an ephemeral loopback TCP port; the server is running on return."""
    return TcpSimServer(protocol, faults=faults, name=name).start()


def serve_pty(protocol: SimProtocol, *, faults: Iterable[WireFault] = (),
              name: str | None = None) -> PtySimServer:
    """Serve `protocol` on a new pty (baud and parity are ignored by a pty); running on return."""
    return PtySimServer(protocol, faults=faults, name=name).start()


class _HandlerProtocol(LineProtocol):
    """A LineProtocol around a function from one request line to one reply line."""

    def __init__(self, handler: Callable[[str], str | None], *, line_end: str, reply_end: str,
                 encoding: str, command_of: Callable[[str], str | None] | None,
                 error_reply: Callable[[str], str | None] | None, name: str) -> None:
        self.handler = handler
        self.line_end, self.reply_end, self.encoding, self.name = line_end, reply_end, encoding, name
        self._command_of = command_of
        self._error_reply = error_reply

    def handle_line(self, line: str) -> str | None:
        return self.handler(line)

    def command_of(self, request: bytes) -> str | None:
        return self._command_of(self._text(request)) if self._command_of is not None else None

    def error_reply(self, request: bytes) -> bytes | None:
        reply = self._error_reply(self._text(request)) if self._error_reply is not None else None
        if reply is None:
            return None
        return reply.encode(self.encoding, errors="replace") + self.reply_end.encode(self.encoding)

    def _text(self, request: bytes) -> str:
        return request.decode(self.encoding, errors="replace")


class LineServer(TcpSimServer):
    """Serve `handler` to TCP clients on 127.0.0.1, one line in, at most one line out (started by `start()`).

    `line_end` ends the lines the server receives (the driver's write termination); `reply_end` is added to
    each reply (the driver's read termination). `command_of` names the command a line is, so faults can
    target one command; `error_reply` gives the instrument's error line for the `error` fault. Handler calls
    are serialised. `received` holds the request lines as bytes, without `line_end`.
    """

    def __init__(self, handler: Callable[[str], str | None], *, line_end: str = "\n",
                 reply_end: str = "\n", encoding: str = "ascii", faults: Iterable[WireFault] = (),
                 command_of: Callable[[str], str | None] | None = None,
                 error_reply: Callable[[str], str | None] | None = None, name: str = "simulator") -> None:
        super().__init__(_HandlerProtocol(handler, line_end=line_end, reply_end=reply_end, encoding=encoding,
                                          command_of=command_of, error_reply=error_reply, name=name),
                         faults=faults, name=name)
        self.handler = handler
        self.command_of = command_of
        self.encoding = encoding
