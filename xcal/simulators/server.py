"""A threaded TCP server on loopback that serves a line-based handler, with faults injected at the wire.

A simulator is a function from one received line to one reply line (or None for no reply); LineServer puts
it behind `TCPIP::127.0.0.1::PORT::SOCKET` so the driver under test runs its real code path. WireFaults
make the server misbehave the way real links do: go silent, answer late, hang up, garble or cut a reply.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable

log = logging.getLogger("xcal.simulators")

FAULT_KINDS = ("silence", "delay", "drop", "garble", "partial")
_POLL_S = 0.05
_CHUNK = 4096


@dataclass(frozen=True)
class WireFault:
    """One fault on the wire.

    It affects the requests of `command` (a command name, or None for any request), starting at the
    `after`-th such request counted from when the fault was added (1-based), for `count` requests (None: all
    from then on). Kinds: "silence" (no reply), "delay" (reply after `delay_s` seconds), "drop" (close the
    connection at that request), "garble" (junk bytes, terminator kept), "partial" (half the reply, no
    terminator). Silence and drop leave the request unprocessed; the others let the simulator act on it.
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
    """Junk of about the reply's length: high-bit bytes that no ASCII or UTF-8 decoder accepts."""
    return b"\xff" + bytes(0x80 | (b * 7 + 13) & 0x7F for b in reply)


class LineServer:
    """Serve `handler` to TCP clients on 127.0.0.1, one line in, at most one line out.

    `line_end` ends the lines the server receives (the driver's write termination); `reply_end` is added to
    each reply (the driver's read termination). `command_of` names the command a line is, so faults can
    target one command. Handler calls are serialised, so a handler needs no lock of its own against the
    server. Clients may connect one after another, or several at once.
    """

    def __init__(self, handler: Callable[[str], str | None], *, line_end: str = "\n",
                 reply_end: str = "\n", encoding: str = "ascii", faults: Iterable[WireFault] = (),
                 command_of: Callable[[str], str | None] | None = None, name: str = "simulator") -> None:
        self.handler = handler
        self.encoding = encoding
        self.name = name
        self.command_of = command_of
        self._line_end = line_end.encode(encoding)
        self._reply_end = reply_end.encode(encoding)
        self._plan = _FaultPlan(faults)
        self._handler_lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._clients: set[socket.socket] = set()
        self._clients_lock = threading.Lock()
        self.received: list[str] = []

    @property
    def port(self) -> int:
        """The TCP port the server listens on (chosen by the OS)."""
        if self._listener is None:
            raise RuntimeError("the server is not started")
        return self._listener.getsockname()[1]

    @property
    def resource(self) -> str:
        """The VISA resource string that reaches this server."""
        return f"TCPIP::127.0.0.1::{self.port}::SOCKET"

    def inject(self, fault: WireFault) -> None:
        """Add a fault while running; its `after` counts requests from now."""
        self._plan.add(fault)

    def start(self) -> "LineServer":
        """Bind to an ephemeral loopback port and start accepting clients."""
        if self._listener is not None:
            return self
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        self._listener = listener
        self._stop.clear()
        self._spawn(self._accept_loop, "accept")
        return self

    def stop(self) -> None:
        """Stop accepting, close every connection and wait briefly for the threads."""
        self._stop.set()
        with self._clients_lock:
            clients = list(self._clients)
        for client in clients:
            self._close(client)
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(timeout=1.0)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> "LineServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: Callable[..., None], what: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=f"{self.name}-{what}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            ready, _, _ = select.select([self._listener], [], [], _POLL_S)
            if not ready:
                continue
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._clients_lock:
                self._clients.add(client)
            self._spawn(self._serve, "client", client)

    def _close(self, client: socket.socket) -> None:
        with self._clients_lock:
            self._clients.discard(client)
        try:
            client.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        client.close()

    def _serve(self, client: socket.socket) -> None:
        buffer = b""
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([client], [], [], _POLL_S)
                if not ready:
                    continue
                chunk = client.recv(_CHUNK)
                if not chunk:
                    return
                buffer += chunk
                while self._line_end in buffer:
                    raw, buffer = buffer.split(self._line_end, 1)
                    if not self._answer(client, raw.decode(self.encoding, errors="replace")):
                        return
        except OSError:
            return
        finally:
            self._close(client)

    def _answer(self, client: socket.socket, line: str) -> bool:
        """Handle one line, applying any active fault; False when the connection must end."""
        self.received.append(line)
        fault = self._plan.pick(self.command_of(line) if self.command_of else None)
        if fault is not None:
            log.debug("%s: %s fault on %r", self.name, fault.kind, line)
            if fault.kind == "drop":
                return False
            if fault.kind == "silence":
                return True
        with self._handler_lock:
            reply = self.handler(line)
        data = reply.encode(self.encoding, errors="replace") if reply is not None else None
        if fault is None or fault.kind == "delay":
            if fault is not None and self._stop.wait(fault.delay_s):
                return False
            if data is not None:
                client.sendall(data + self._reply_end)
        elif fault.kind == "garble":
            client.sendall(garble(data or b"?") + self._reply_end)
        elif fault.kind == "partial" and data:
            client.sendall(data[: max(1, len(data) // 2)])
        return True
