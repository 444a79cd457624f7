"""What every xcal transport guarantees (BaseTransport), and the VISA transport (pyvisa; pyvisa-py by default).

The base owns what every driver needs and none should redo: terminations, a timeout given as a quantity, one
re-entrant lock per link, raw-I/O debug logging on `xcal.io`, errors that name the instrument and its
resource, the resync after a timeout and the bounded reconnect. A subclass only opens, closes and moves bytes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar

from ..errors import ConfigError, ConnectionLost, InstrumentError, InstrumentTimeout, MeterChanged, ProtocolError
from ..units import Q_, has_dimension
from .link import LinkSettings

if TYPE_CHECKING:  # pragma: no cover
    import pint

io_log = logging.getLogger("xcal.io")

DEFAULT_TIMEOUT_S = 2.0
"""The read timeout of a link whose settings give none."""
DRAIN_QUIET_S = 0.1
"""Silence that ends a drain once the grace period after a timed-out read has passed."""
DRAIN_LIMIT_S = 5.0
"""Longest a drain may go on beyond its grace period (an instrument that streams without end)."""
DISCARD_QUIET_S = 0.01
"""Silence that ends `discard_input`, or three characters' time at the link's baud rate if that is longer."""
RECONNECT_BACKOFF_S = 0.1
"""Wait before the first reopen after a lost link; it doubles for each further attempt (0.1, 0.2, 0.4 s ...)."""

_OPEN_FIX = "check the address and port, and that the instrument is on and accepts a connection"
_T = TypeVar("_T")
Exchange = Literal["query", "send", "receive"]


class PartialReply(ProtocolError):
    """Some bytes of a reply came, then nothing more within the timeout; `received` holds them."""

    def __init__(self, message: str, *, received: bytes, instrument: str | None = None,
                 resource: str | None = None, fix: str | None = None) -> None:
        self.received = received
        super().__init__(message, instrument=instrument, resource=resource, fix=fix)


def seconds(value: Any, what: str) -> float:
    """The positive number of seconds in a time quantity; refuse a bare number or another dimension."""
    import pint

    if not isinstance(value, pint.Quantity) or not has_dimension(value, "time"):
        raise ConfigError(f"{what} must be a time quantity, got {value!r}",
                          fix=f"give {what} with a unit, e.g. Q_(2, 's') or Q_(500, 'ms')")
    s = float(value.to("s").magnitude)
    if not s > 0:
        raise ConfigError(f"{what} must be longer than zero, got {value}",
                          fix=f"give {what} as a positive time, e.g. Q_(2, 's')")
    return s


class LinkDown(Exception):
    """Raised by a transport's byte layer when the link broke; `sent` says whether bytes may have gone out."""

    def __init__(self, why: str, *, sent: bool) -> None:
        super().__init__(why)
        self.why = why
        self.sent = sent


class BaseTransport:
    """A link to one instrument: lines of text and raw bytes, one lock, resync and bounded reconnect.

    Lock: every public method takes one re-entrant lock; hold `locked()` across a multi-step exchange.
    Resync: after a read times out the link is marked stale, and before the next write it is drained: buffered
    and incoming bytes are thrown away until nothing has arrived for 100 ms and at least one timeout has passed
    since the timed-out read (bounded: at most DRAIN_LIMIT_S beyond that). A reply later still is caught for
    lines in two ways. Owed reply: when a line read timed out and the drain saw no complete line, the first line
    read after the next write waits until that write's timeout for a second line; if one comes, the first was
    the late reply and is discarded. Suspect link: if no second line came, a late line may still arrive, so
    before every later write whatever has already arrived is discarded without waiting (nothing that came
    before a command can be its reply), until a whole line has been discarded that way. Residual, as a reply
    without an echo of its command cannot be told from another: a late reply that arrives while a later
    query is waiting for its own reply (after the next query's window, or there when the next command is never
    answered) is taken for that reply; a driver whose protocol echoes the command can check. The cost: the
    first query after a timeout whose reply never came waits its whole timeout. Binary reads (read_bytes,
    read_until) cannot be framed by the transport, so beyond the drain their drivers check lengths and content.
    Partial replies: bytes without the rest of their frame by the timeout raise PartialReply (a ProtocolError)
    showing them; they stay buffered, so a further read without a write (a stream) continues where it stopped.
    Reconnect: when the link is lost (peer closed or reset, port gone) the resource is closed explicitly and
    reopened up to `settings.reconnects` times, waiting 0.1, 0.2, 0.4 s ... before the attempts. If it reopens,
    a `query` (one command line and its reply) is repeated once; a write whose bytes may have reached the
    instrument is never sent again (ConnectionLost says so), nor is a lost read repeated; a write lost before
    any byte went out is sent on the new link. If every attempt fails: ConnectionLost naming the instrument,
    resource and attempts, and the next call tries again. Once reopened, and before anything is repeated,
    `after_reopen` runs when a driver set it (Driver.identify does): it asks the meter who it is, since a
    port name or address can come back leading to another meter; if that fails the link is closed again.
    Lines: `read`/`query` take bytes up to the last byte of the read termination and require the whole
    termination there (else ProtocolError); with an empty read termination (binary protocols) they refuse
    with ConfigError, and drivers use `read_bytes`/`read_until`.
    """

    def __init__(self, resource: str, *, settings: LinkSettings, name: str) -> None:
        self.resource = resource
        self.name = name
        self.settings = settings
        self.encoding = settings.encoding
        self.read_termination = settings.read_termination
        self.write_termination = settings.write_termination
        self._timeout_s = (DEFAULT_TIMEOUT_S if settings.timeout is None
                           else seconds(settings.timeout, "timeout"))
        if settings.reconnects < 0:
            raise ConfigError(f"{name}: reconnects must be 0 or more, got {settings.reconnects}",
                              fix="give the number of reopen attempts after a lost link, e.g. 3")
        self._read_term = self._encode(settings.read_termination)
        self._write_term = self._encode(settings.write_termination)
        if self._read_term and self._read_term[-1:] in self._read_term[:-1]:
            raise ConfigError(f"{name}: the read termination {settings.read_termination!r} repeats its last "
                              "character, so a reply would be cut short",
                              fix="give the termination the instrument really ends its replies with")
        self._lock = threading.RLock()
        self._buffer = bytearray()
        self._stale_since: float | None = None
        self._owed: str | None = None
        self._owed_write: float | None = None
        self._suspect: str | None = None
        self._asked: str | None = None
        self._closed = False
        self._down = False
        self._confirming = False
        self.after_reopen: Callable[[], None] | None = None
        self._open_link()

    @property
    def timeout(self) -> pint.Quantity:
        """How long a read waits for a reply."""
        return Q_(self._timeout_s, "s")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, text: str) -> None:
        """Send one command line (the write termination is added)."""
        data = self._encode(text) + self._write_term
        self._exchange(lambda: self._send(data, repr(text)), "send", repr(text))

    def read(self) -> str:
        """Receive one reply line, without its termination."""
        self._need_read_termination("read")
        return self._exchange(self._read_line, "receive", "a reply line")

    def query(self, text: str) -> str:
        """Send one command line and return its reply line; repeated once after a reconnect."""
        self._need_read_termination("query")
        data = self._encode(text) + self._write_term

        def exchange() -> str:
            self._send(data, repr(text))
            return self._read_line()

        return self._exchange(exchange, "query", repr(text))

    def write_bytes(self, data: bytes) -> None:
        """Send raw bytes as they are (no termination added)."""
        raw = bytes(data)
        self._exchange(lambda: self._send(raw, repr(raw)), "send", repr(raw))

    def read_bytes(self, count: int) -> bytes:
        """Exactly `count` bytes, or InstrumentTimeout when they do not all arrive within the timeout."""
        if count < 1:
            raise ValueError(f"read_bytes needs a count of 1 or more, not {count}")
        return self._exchange(lambda: self._take_raw(count=count), "receive", f"{count} bytes")

    def read_until(self, *endings: bytes) -> bytes:
        """The bytes up to and including the first of `endings` to arrive; later bytes stay buffered."""
        if not endings or not all(endings):
            raise ValueError("read_until needs one or more non-empty endings")
        return self._exchange(lambda: self._take_raw(endings=tuple(bytes(e) for e in endings)), "receive",
                              f"bytes ending {' or '.join(repr(bytes(e)) for e in endings)}")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the link's lock, so no other thread's bytes come between the steps of an exchange."""
        with self._lock:
            yield

    def close(self) -> None:
        """Close the resource; closing twice is harmless."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.after_reopen = None                     # the driver's hook holds the driver: no cycle is left
            self._close_link()

    # What a subclass provides.

    def _open_link(self) -> None:
        """Open the resource; InstrumentError (or ConnectionLost) when it cannot."""
        raise NotImplementedError

    def _close_link(self) -> None:
        """Close the resource if open; never raises."""
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        """Send all of `data`; LinkDown(sent=True) when the link breaks, InstrumentTimeout when not accepted."""
        raise NotImplementedError

    def _receive(self, wait_s: float, *, count: int | None, endings: tuple[bytes, ...]) -> bytes:
        """Some received bytes, or b'' when none arrived within `wait_s`; LinkDown when the link broke.

        `count` (bytes still wanted) and `endings` (what ends the frame) are hints; never more than `count`
        bytes need be returned, and a subclass may use them to read efficiently.
        """
        raise NotImplementedError

    def _link_broken(self) -> str | None:
        """Why the link is unusable, if the subclass can tell without reading; None if it looks fine."""
        return None

    # The shared machinery.

    def _where(self) -> str:
        return f"{self.name} ({self.resource})"

    def _encode(self, text: str) -> bytes:
        try:
            return text.encode(self.encoding)
        except LookupError:
            raise ConfigError(f"{self.name}: unknown text encoding {self.encoding!r}",
                              fix="use an encoding Python knows, e.g. ascii, utf-8, latin-1") from None
        except UnicodeEncodeError as exc:
            raise InstrumentError(
                f"{self._where()}: cannot send {text!r} as {self.encoding} "
                f"(character {text[exc.start]!r})", instrument=self.name, resource=self.resource,
                fix="send only characters the instrument's encoding can carry") from None

    def _need_read_termination(self, what: str) -> None:
        if not self._read_term:
            raise ConfigError(f"{self._where()}: cannot {what} lines on a link with no read termination",
                              fix="use read_bytes(count) or read_until(ending) for this binary protocol, or "
                                  "set the read termination the instrument ends its replies with")

    def _not_accepted(self, data: bytes) -> InstrumentTimeout:
        """The error for a write the link did not take within the timeout."""
        return InstrumentTimeout(f"{self._where()} did not accept {data!r} within {self._timeout_s:g} s",
                                 instrument=self.name, resource=self.resource,
                                 fix="check the cable and the handshake (flow control) settings")

    def _exchange(self, action: Callable[[], _T], kind: Exchange, what: str) -> _T:
        """Run `action` under the lock with the reconnect rule of the class docstring."""
        with self._lock:
            if self._closed:
                raise InstrumentError(f"{self._where()}: the link is closed", instrument=self.name,
                                      resource=self.resource, fix="open a new connection to the instrument")
            if self._down:
                self._reconnect("the link was down after an earlier failure")
            try:
                return action()
            except LinkDown as lost:
                self._reconnect(lost.why)
                if kind == "query" or (kind == "send" and not lost.sent):
                    try:
                        return action()
                    except LinkDown as again:
                        self._close_link()
                        self._down = True
                        raise self._lost(f"{again.why}; lost again on the reopened link, with {what}"
                                         ) from None
                if kind == "send":
                    raise self._lost(f"{lost.why}; reconnected, but {what} may have reached the instrument, "
                                     "so it was not sent again",
                                     fix="check the instrument's state, then go on") from None
                raise self._lost(f"{lost.why}; reconnected, but {what} on its way was lost",
                                 fix="ask the instrument again") from None

    def _lost(self, why: str, fix: str | None = None) -> ConnectionLost:
        return ConnectionLost(f"{self._where()}: connection lost ({why})", instrument=self.name,
                              resource=self.resource,
                              fix=fix or "check the cable or network and that the instrument is on; the next "
                                         "command tries to reconnect")

    def _reconnect(self, why: str) -> None:
        """Close explicitly, then reopen up to `reconnects` times with a doubling wait; ConnectionLost if not."""
        self._close_link()
        self._buffer.clear()
        self._stale_since = None
        self._owed = self._owed_write = self._suspect = None
        self._down = True
        attempts = self.settings.reconnects
        last = ""
        for attempt in range(1, attempts + 1):
            time.sleep(RECONNECT_BACKOFF_S * 2 ** (attempt - 1))
            try:
                self._open_link()
            except InstrumentError as exc:
                last = exc.message
                io_log.info("%s: reconnect attempt %d of %d failed: %s", self.name, attempt, attempts, last)
                continue
            self._down = False
            io_log.warning("%s: link to %s was lost (%s); reconnected at attempt %d of %d", self.name,
                           self.resource, why, attempt, attempts)
            self._confirm_reopened()
            return
        if attempts == 0:
            raise self._lost(f"{why}; reconnecting is off (reconnects = 0)")
        raise self._lost(f"{why}; {attempts} reconnect attempt(s) failed, the last: {last}")

    def _confirm_reopened(self) -> None:
        """Run `after_reopen` on a link just reopened (not again for a reopen inside it); on any failure close
        the link, so the next call reconnects and asks again."""
        if self.after_reopen is None or self._confirming:
            return
        self._confirming = True
        try:
            self.after_reopen()
        except BaseException as exc:
            self._close_link()
            self._down = True
            if isinstance(exc, InstrumentError) and not isinstance(exc, MeterChanged):
                raise self._lost(f"reconnected, but the meter did not say who it is: {exc.message}") from None
            raise
        finally:
            self._confirming = False

    def _send(self, data: bytes, asked: str) -> None:
        broken = self._link_broken()
        if broken:
            raise LinkDown(broken, sent=False)
        try:
            if self._stale_since is not None:
                self._drain()
            elif self._suspect is not None:
                self._discard_early()
        except LinkDown as lost:
            raise LinkDown(lost.why, sent=False) from None
        io_log.debug("%s > %r", self.name, data)
        self._asked = asked
        if self._owed is not None:
            self._owed_write = time.monotonic()
        self._write(data)

    def _read_line(self) -> str:
        endings = (self._read_term[-1:],)
        try:
            raw = self._take(endings=endings)
        except (InstrumentTimeout, PartialReply):
            self._owe()
            raise
        if self._owed is not None:
            raw = self._settle_owed(raw, endings)
        asked = f" in reply to {self._asked}" if self._asked is not None else ""
        if not raw.endswith(self._read_term):
            raise ProtocolError(f"{self._where()} sent {raw!r}{asked}, which does not end with the read "
                                f"termination {self.read_termination!r}", instrument=self.name,
                                resource=self.resource,
                                fix="set the read termination the instrument really uses")
        try:
            return raw[: len(raw) - len(self._read_term)].decode(self.encoding)
        except UnicodeDecodeError:
            raise ProtocolError(f"{self._where()} sent bytes that are not {self.encoding} text{asked}: "
                                f"{raw!r}", instrument=self.name, resource=self.resource,
                                fix="check the cable, the baud rate and the encoding set for this "
                                    "instrument") from None

    def _owe(self) -> None:
        """Note that the reply to the command just asked may still come (after a timed-out line read)."""
        self._owed = self._asked if self._asked is not None else "the last command"
        self._owed_write = None

    def _settle_owed(self, first: bytes, endings: tuple[bytes, ...]) -> bytes:
        """The reply to the latest write, given the first line read after it while an earlier reply was owed.

        A second line within that write's timeout shows the first was the late reply; no second line leaves
        the first as the reply (the residual case of the class docstring).
        """
        owed, written = self._owed, self._owed_write
        self._owed = self._owed_write = None
        if written is None:
            return first
        self._suspect = owed
        deadline = max(written + self._timeout_s, time.monotonic() + DRAIN_QUIET_S)
        second = self._frame_within(deadline, None, endings)
        if second is None and self._buffer:
            try:
                second = self._take(endings=endings)
            except (InstrumentTimeout, PartialReply):
                self._owe()
                raise
        if second is None:
            return first
        self._suspect = None
        io_log.debug("%s < %r (late reply to %s, discarded)", self.name, first, owed)
        return second

    def _take(self, *, count: int | None = None, endings: tuple[bytes, ...] = ()) -> bytes:
        """Cut one frame (`count` bytes, or up to the first of `endings`) from the buffer, reading as needed."""
        frame = self._frame_within(time.monotonic() + self._timeout_s, count, endings)
        if frame is None:
            raise self._timed_out(count, endings)
        return frame

    def _take_raw(self, *, count: int | None = None, endings: tuple[bytes, ...] = ()) -> bytes:
        """`_take` for read_bytes and read_until: a raw frame settles an owed line, as lines cannot be told."""
        frame = self._take(count=count, endings=endings)
        if self._owed is not None:
            self._suspect, self._owed, self._owed_write = self._owed, None, None
        return frame

    def _frame_within(self, deadline: float, count: int | None, endings: tuple[bytes, ...]) -> bytes | None:
        """One frame cut from the buffer if it is complete by `deadline` (monotonic), else None."""
        while True:
            end = self._frame_end(count, endings)
            if end is not None:
                frame = bytes(self._buffer[:end])
                del self._buffer[:end]
                io_log.debug("%s < %r", self.name, frame)
                return frame
            remaining = deadline - time.monotonic()
            wanted = count - len(self._buffer) if count is not None else None
            chunk = self._receive(remaining, count=wanted, endings=endings) if remaining > 0 else b""
            if chunk:
                self._buffer += chunk
            elif time.monotonic() >= deadline - 0.001:
                return None

    def _frame_end(self, count: int | None, endings: tuple[bytes, ...]) -> int | None:
        if count is not None:
            return count if len(self._buffer) >= count else None
        if len(endings) == 1:
            i = self._buffer.find(endings[0])
            return i + len(endings[0]) if i >= 0 else None
        hits = [(i + len(e)) for e in endings if (i := self._buffer.find(e)) >= 0]
        return min(hits) if hits else None

    def _timed_out(self, count: int | None, endings: tuple[bytes, ...]) -> Exception:
        broken = self._link_broken()
        if broken:
            return LinkDown(broken, sent=True)
        self._stale_since = time.monotonic()
        asked = self._asked if self._asked is not None else "the last command"
        if self._buffer:
            received = bytes(self._buffer)
            io_log.debug("%s < %r (incomplete at the timeout)", self.name, received)
            wanted = (f"{len(received)} of the {count} bytes" if count is not None
                      else f"no {' or '.join(repr(e) for e in endings)} came")
            return PartialReply(
                f"{self._where()} sent {received!r} and then nothing more within {self._timeout_s:g} s: a "
                f"partial reply to {asked} ({wanted})", received=received, instrument=self.name,
                resource=self.resource,
                fix="check the cable and the serial settings (baud, parity, terminations); if the instrument "
                    "is only slow to finish its reply, raise its timeout")
        return InstrumentTimeout(
            f"{self._where()} did not answer {asked} within {self._timeout_s:g} s",
            instrument=self.name, resource=self.resource,
            fix="check the instrument is on, connected and set to this protocol (baud, terminations); if "
                "it is only slow, raise its timeout")

    def discard_input(self) -> bytes:
        """Throw away what has arrived and not been read (a stream's old records), once the line is quiet.

        Quiet: nothing for DISCARD_QUIET_S, or for three characters' time at the baud rate if longer. Returns
        the bytes thrown away.
        """
        def discard() -> bytes:
            dropped = bytes(self._buffer)
            self._buffer.clear()
            endings = (self._read_term[-1:],) if self._read_term else ()
            while chunk := self._receive(self._quiet_s(), count=None, endings=endings):
                dropped += chunk
            if dropped:
                io_log.debug("%s < %r (old input, discarded)", self.name, dropped)
                self._settled_by(dropped)
            return dropped

        return self._exchange(discard, "receive", "old input")

    def _quiet_s(self) -> float:
        s = self.settings
        bits = 1 + s.bytesize + (s.parity != "N") + s.stopbits
        return max(DISCARD_QUIET_S, 3 * bits / s.baudrate)

    def _settled_by(self, dropped: bytes) -> None:
        """Clear the owed reply and the suspicion if the thrown-away bytes hold a whole line (the late reply)."""
        if self._read_term and self._read_term in dropped:
            self._owed = self._owed_write = self._suspect = None

    def _discard_early(self) -> None:
        """On a suspect link, throw away, without waiting, what arrived before the command about to be sent."""
        early = bytes(self._buffer)
        self._buffer.clear()
        endings = (self._read_term[-1:],) if self._read_term else ()
        while chunk := self._receive(0.0, count=None, endings=endings):
            early += chunk
        if early:
            io_log.debug("%s < %r (arrived before the command, late reply to %s, discarded)", self.name, early,
                         self._suspect)
            self._settled_by(early)

    def _drain(self) -> None:
        """Discard buffered and incoming bytes left from a timed-out exchange, then clear the stale mark."""
        assert self._stale_since is not None
        grace_end = self._stale_since + self._timeout_s
        give_up = max(grace_end, time.monotonic()) + DRAIN_LIMIT_S
        endings = (self._read_term[-1:],) if self._read_term else ()
        stale = bytes(self._buffer)
        self._buffer.clear()
        try:
            while True:
                now = time.monotonic()
                if now >= give_up:
                    io_log.warning("%s: input still arriving after %g s of draining; going on", self.name,
                                   DRAIN_LIMIT_S)
                    break
                chunk = self._receive(max(DRAIN_QUIET_S, grace_end - now), count=None, endings=endings)
                if not chunk:
                    break
                stale += chunk
        finally:
            self._stale_since = None
            if stale:
                io_log.debug("%s < %r (stale, discarded)", self.name, stale)
                self._settled_by(stale)


def _peek(sock: socket.socket, size: int) -> bytes | None:
    """Up to `size` bytes waiting on `sock`, left there; None if none are waiting (b'' if the peer closed).

    `select` with no wait, then a peek, works the same on Windows and POSIX (recv's don't-wait flag is POSIX-only).
    """
    ready, _, _ = select.select([sock], [], [], 0)
    if not ready:
        return None
    try:
        return sock.recv(size, socket.MSG_PEEK)
    except (BlockingIOError, InterruptedError):
        return None


class VisaTransport(BaseTransport):
    """A link to one instrument through a VISA resource (pyvisa; backend `@py` = pyvisa-py by default).

    Serial settings apply to ASRL resources (baud, data bits, parity, stop bits, flow control; DTR/RTS where
    the backend can set them, else ConfigError). A lost TCP peer shows in pyvisa-py only as a timeout; the
    transport then looks at the socket and treats it as a lost link. Reconnect, resync and locking follow
    BaseTransport: a lost `query` is repeated once on the reopened resource, a write that may have gone out
    never is. VISA drops the bytes of a read that times out, so on ASRL and TCP socket resources a read waits
    for one byte and then takes only the bytes already waiting (the port's count, or a peek at the socket):
    a timeout never swallows part of a reply, which is then a PartialReply. Other interfaces (GPIB, USB,
    VXI-11) read with the termination character set to the last byte of the wanted endings when they share
    one (else byte by byte); there a reply cut short may show only as a timeout.
    """

    def __init__(self, resource: str, *, settings: LinkSettings, name: str, backend: str = "@py") -> None:
        self._backend = backend
        self._manager: Any = None
        self._inst: Any = None
        self._sock: socket.socket | None = None
        self._termchar: int | None = None
        self._termchar_set = False
        self._timeout_ms = 0
        super().__init__(resource, settings=settings, name=name)

    def _open_link(self) -> None:
        import pyvisa

        if self._manager is None:
            self._manager = self._resource_manager()
        try:
            inst = self._manager.open_resource(self.resource, open_timeout=self._ms(self._timeout_s))
        except pyvisa.errors.VisaIOError as exc:
            raise InstrumentError(f"{self._where()} could not be opened: {exc.description}",
                                  instrument=self.name, resource=self.resource,
                                  fix="check the resource string and that the interface exists") from None
        except ConnectionError as exc:
            raise self._lost(exc.strerror or str(exc), fix=_OPEN_FIX) from None
        # pyvisa-py raises bare Exception (and OSError) for unreachable hosts, bad ports and absent devices.
        except Exception as exc:  # noqa: BLE001
            raise InstrumentError(f"{self._where()} could not be opened: {exc}",
                                  instrument=self.name, resource=self.resource,
                                  fix="check the address or port, the cable, and that the instrument "
                                      "is on") from None
        self._inst = inst
        self._sock = self._find_socket(inst)
        self._termchar_set = False
        self._timeout_ms = 0
        try:
            self._configure(inst)
        except BaseException:
            self._close_link()
            raise
        broken = self._link_broken()
        if broken:
            self._close_link()
            raise self._lost(broken, fix=_OPEN_FIX)

    def _resource_manager(self) -> Any:
        import pyvisa
        from pyvisa import rname

        try:
            rname.parse_resource_name(self.resource)
        except rname.InvalidResourceName as exc:
            raise InstrumentError(f"{self.name}: {self.resource!r} is not a VISA resource string ({exc})",
                                  instrument=self.name, resource=self.resource,
                                  fix="write it like TCPIP::192.168.0.10::5025::SOCKET or "
                                      "ASRL/dev/ttyUSB0::INSTR") from None
        try:
            return pyvisa.ResourceManager(self._backend)
        except (OSError, ValueError, pyvisa.errors.Error) as exc:
            raise InstrumentError(f"{self.name}: cannot load the VISA backend {self._backend!r}: {exc}",
                                  instrument=self.name, resource=self.resource,
                                  fix="use '@py' (pyvisa-py, installed with xcal) or install the "
                                      "vendor VISA library for '@ivi'") from None

    def _is_serial(self, inst: Any) -> bool:
        from pyvisa import constants

        return getattr(inst, "interface_type", None) == constants.InterfaceType.asrl

    def _configure(self, inst: Any) -> None:
        """Terminations, timeout and, on ASRL resources, the serial line settings."""
        from pyvisa import constants, errors

        self._use_timeout(self._timeout_s)
        self._use_termchar(self._read_term[-1] if self._read_term else None)
        if not self._is_serial(inst):
            return
        s = self.settings
        parity = {"N": constants.Parity.none, "E": constants.Parity.even, "O": constants.Parity.odd,
                  "M": constants.Parity.mark, "S": constants.Parity.space}[s.parity]
        flow = constants.ControlFlow(0)
        if s.rtscts:
            flow |= constants.ControlFlow.rts_cts
        if s.xonxoff:
            flow |= constants.ControlFlow.xon_xoff
        try:
            inst.baud_rate = s.baudrate
            inst.data_bits = s.bytesize
            inst.parity = parity
            inst.stop_bits = constants.StopBits.two if s.stopbits == 2 else constants.StopBits.one
            inst.flow_control = flow
            for attribute, state in ((constants.ResourceAttribute.asrl_dtr_state, s.dtr),
                                     (constants.ResourceAttribute.asrl_rts_state, s.rts)):
                if state is not None:
                    inst.set_visa_attribute(attribute, constants.LineState.asserted if state
                                            else constants.LineState.unasserted)
        except (errors.VisaIOError, ValueError) as exc:
            raise ConfigError(f"{self._where()}: the VISA backend refused a serial setting of {s}: {exc}",
                              fix="open the port by its path (e.g. /dev/ttyUSB0) to use pyserial, which sets "
                                  "every line setting, or leave out the setting the backend lacks") from None

    def _use_termchar(self, byte: int | None) -> None:
        """Make VISA reads stop after `byte` (None: no termination character)."""
        from pyvisa import constants

        if self._termchar_set and byte == self._termchar:
            return
        inst = self._inst
        inst.set_visa_attribute(constants.ResourceAttribute.termchar, byte if byte is not None else 0x0A)
        inst.set_visa_attribute(constants.ResourceAttribute.termchar_enabled,
                                constants.VI_TRUE if byte is not None else constants.VI_FALSE)
        if self._is_serial(inst):
            inst.set_visa_attribute(constants.ResourceAttribute.asrl_end_in,
                                    constants.SerialTermination.termination_char if byte is not None
                                    else constants.SerialTermination.none)
        self._termchar, self._termchar_set = byte, True

    def _use_timeout(self, wait_s: float) -> None:
        """Set the VISA timeout, skipping changes too small to matter (on ASRL each one reconfigures the port)."""
        ms = int(wait_s * 1000 + 0.5) or 1
        if abs(ms - self._timeout_ms) > max(10, self._timeout_ms // 10):
            self._inst.timeout = ms
            self._timeout_ms = ms

    @staticmethod
    def _ms(s: float) -> int:
        return max(1, round(s * 1000))

    def _close_link(self) -> None:
        inst, self._inst = self._inst, None
        if inst is None:
            return
        try:
            inst.close()
        except Exception:  # noqa: BLE001 - the link may already be gone; closing must not fail
            io_log.debug("%s: error while closing %s ignored", self.name, self.resource, exc_info=True)

    @staticmethod
    def _find_socket(inst: Any) -> socket.socket | None:
        """The TCP socket under a pyvisa-py TCPIP SOCKET session, looked up once per opening."""
        sessions = getattr(inst.visalib, "sessions", None)
        session = sessions.get(inst.session) if isinstance(sessions, dict) else None
        sock = getattr(session, "interface", None)
        return sock if isinstance(sock, socket.socket) else None

    def _link_broken(self) -> str | None:
        """Why the TCP link is unusable (refused, reset, closed by the peer), or None if it looks fine.

        One non-blocking peek: it reports a pending socket error, and an empty read means the peer closed.
        """
        sock = self._sock if self._inst is not None else None
        if sock is None:
            return None
        try:
            data = _peek(sock, 1)
        except OSError as exc:
            return exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))
        return "the instrument closed the connection" if data == b"" else None

    def _write(self, data: bytes) -> None:
        import pyvisa

        self._use_timeout(self._timeout_s)
        try:
            self._inst.write_raw(data)
        except pyvisa.errors.VisaIOError as exc:
            if exc.error_code == pyvisa.constants.StatusCode.error_timeout:
                raise self._not_accepted(data) from None
            raise LinkDown(exc.description, sent=True) from None
        except OSError as exc:
            raise LinkDown(exc.strerror or str(exc), sent=True) from None

    def _receive(self, wait_s: float, *, count: int | None, endings: tuple[bytes, ...]) -> bytes:
        if self._sock is None and not self._is_serial(self._inst):
            return self._receive_framed(wait_s, count=count, endings=endings)
        self._use_termchar(None)
        self._use_timeout(wait_s)
        data = self._visa_read(1)
        if data:
            more = self._waiting() if count is None else min(self._waiting(), count - 1)
            if more > 0:
                data += self._visa_read(more)
        return data

    def _waiting(self) -> int:
        """How many bytes can be read at once without waiting: the port's input count, or a peek at the socket."""
        if self._sock is None:
            return int(self._inst.bytes_in_buffer)
        try:
            return len(_peek(self._sock, 65536) or b"")
        except OSError as exc:
            raise LinkDown(exc.strerror or str(exc), sent=True) from None

    def _visa_read(self, count: int, *, counted: bool = True) -> bytes:
        """Up to `count` bytes in one VISA read; b'' on a timeout. `counted`: a read that ends on its byte count
        is what was asked, not the VISA "warning" it is reported as."""
        import pyvisa

        inst = self._inst
        try:
            with (inst.ignore_warning(pyvisa.constants.StatusCode.success_max_count_read) if counted
                  else contextlib.nullcontext()):
                data, _ = inst.visalib.read(inst.session, count)
        except pyvisa.errors.VisaIOError as exc:
            if exc.error_code == pyvisa.constants.StatusCode.error_timeout:
                return b""
            raise LinkDown(exc.description, sent=True) from None
        except OSError as exc:
            raise LinkDown(exc.strerror or str(exc), sent=True) from None
        return bytes(data)

    def _receive_framed(self, wait_s: float, *, count: int | None, endings: tuple[bytes, ...]) -> bytes:
        """A read on interfaces that cannot say what is waiting: up to the shared last byte of `endings`."""

        counted = count is not None
        if count is None:
            shared = endings[0][-1] if endings and all(e[-1] == endings[0][-1] for e in endings) else None
            self._use_termchar(shared)
            count, counted = (65536, False) if shared is not None else (1, True)
        self._use_timeout(wait_s)
        return self._visa_read(count, counted=counted)
