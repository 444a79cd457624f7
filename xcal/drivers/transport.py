"""Move lines of text to and from an instrument through VISA (pyvisa; pyvisa-py by default).

The transport owns what every driver needs and none should redo: terminations, a timeout given as a
quantity, one lock per link, raw-I/O debug logging on `xcal.io`, errors that name the instrument and its
resource, and the resync after a timeout (stale bytes are drained before the next command, so the late
reply to command N is never taken for the reply to command N+1).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, ConnectionLost, InstrumentError, InstrumentTimeout, ProtocolError
from ..units import Q_, has_dimension

if TYPE_CHECKING:  # pragma: no cover
    import pint

io_log = logging.getLogger("xcal.io")

DRAIN_LIMIT_S = 5.0
"""Longest a drain may go on beyond its grace period (an instrument that streams without end)."""


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


class VisaTransport:
    """A line-oriented link to one instrument through a VISA resource.

    After a read times out the link is marked stale. Before the next write it is drained: input is read and
    thrown away until nothing has arrived for the quiet period (100 ms) and at least one timeout has passed
    since the timed-out read, so a reply up to twice the timeout late is still caught. A lost TCP peer
    shows in pyvisa-py only as a timeout; the transport then looks at the socket and reports ConnectionLost.
    """

    def __init__(self, resource: str, *, read_termination: str, write_termination: str,
                 timeout: "pint.Quantity", encoding: str = "ascii", name: str,
                 backend: str = "@py", drain_quiet: "pint.Quantity | None" = None) -> None:
        if not read_termination or not write_termination:
            raise ConfigError(f"{name}: read and write terminations must not be empty",
                              fix="set the terminations the instrument uses, e.g. '\\n' or '\\r\\n'")
        self.resource = resource
        self.name = name
        self.encoding = encoding
        self.read_termination = read_termination
        self.write_termination = write_termination
        self._timeout_s = seconds(timeout, "timeout")
        self._quiet_s = seconds(drain_quiet if drain_quiet is not None else Q_(100, "ms"),
                                "drain_quiet")
        self._read_term = self._encode(read_termination)
        self._write_term = self._encode(write_termination)
        self._lock = threading.Lock()
        self._stale_since: float | None = None
        self._last_sent: str | None = None
        self._closed = False
        self._inst = self._open(backend)

    @property
    def timeout(self) -> "pint.Quantity":
        """How long a read waits for a reply."""
        return Q_(self._timeout_s, "s")

    def __enter__(self) -> "VisaTransport":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, text: str) -> None:
        """Send one command line (the write termination is added)."""
        with self._lock:
            self._write(text)

    def read(self) -> str:
        """Receive one reply line, without its termination."""
        with self._lock:
            return self._read()

    def query(self, text: str) -> str:
        """Send one command and return its reply, holding the lock for the whole exchange."""
        with self._lock:
            self._write(text)
            return self._read()

    def close(self) -> None:
        """Close the resource; closing twice is harmless."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._inst.close()
            except Exception:  # noqa: BLE001 - the link may already be gone; closing must not fail
                io_log.debug("%s: error while closing %s ignored", self.name, self.resource,
                             exc_info=True)

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

    def _open(self, backend: str) -> Any:
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
            manager = pyvisa.ResourceManager(backend)
        except (OSError, ValueError, pyvisa.errors.Error) as exc:
            raise InstrumentError(f"{self.name}: cannot load the VISA backend {backend!r}: {exc}",
                                  instrument=self.name, resource=self.resource,
                                  fix="use '@py' (pyvisa-py, installed with xcal) or install the "
                                      "vendor VISA library for '@ivi'") from None
        try:
            inst = manager.open_resource(self.resource, open_timeout=self._ms(self._timeout_s))
        except pyvisa.errors.VisaIOError as exc:
            raise InstrumentError(f"{self._where()} could not be opened: {exc.description}",
                                  instrument=self.name, resource=self.resource,
                                  fix="check the resource string and that the interface exists") from None
        except ConnectionError as exc:
            raise self._lost(exc.strerror or str(exc)) from None
        # pyvisa-py raises bare Exception (and OSError) for unreachable hosts and bad ports.
        except Exception as exc:  # noqa: BLE001
            raise InstrumentError(f"{self._where()} could not be opened: {exc}",
                                  instrument=self.name, resource=self.resource,
                                  fix="check the address or port, the cable, and that the instrument "
                                      "is on") from None
        inst.read_termination = self.read_termination
        inst.write_termination = self.write_termination
        inst.timeout = self._ms(self._timeout_s)
        self._inst = inst
        broken = self._link_broken()
        if broken:
            self._closed = True
            inst.close()
            raise self._lost(broken)
        return inst

    @staticmethod
    def _ms(s: float) -> int:
        return max(1, round(s * 1000))

    def _lost(self, why: str) -> ConnectionLost:
        return ConnectionLost(f"{self._where()}: connection lost ({why})", instrument=self.name,
                              resource=self.resource,
                              fix="check the cable or network and that the instrument is on, then "
                                  "reconnect")

    def _socket(self) -> socket.socket | None:
        sessions = getattr(self._inst.visalib, "sessions", None)
        session = sessions.get(self._inst.session) if isinstance(sessions, dict) else None
        sock = getattr(session, "interface", None)
        return sock if isinstance(sock, socket.socket) else None

    def _link_broken(self) -> str | None:
        """Why the TCP link is unusable (refused, reset, closed by the peer), or None if it looks fine."""
        sock = self._socket()
        if sock is None:
            return None
        try:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return os.strerror(err)
            data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return None
        except OSError as exc:
            return exc.strerror or str(exc)
        return "the instrument closed the connection" if data == b"" else None

    def _check_open(self) -> None:
        if self._closed:
            raise InstrumentError(f"{self._where()}: the link is closed", instrument=self.name,
                                  resource=self.resource, fix="open a new connection to the instrument")

    def _write(self, text: str) -> None:
        import pyvisa

        self._check_open()
        data = self._encode(text) + self._write_term
        broken = self._link_broken()
        if broken:
            raise self._lost(broken)
        if self._stale_since is not None:
            self._drain()
        io_log.debug("%s > %r", self.name, data)
        self._last_sent = text
        try:
            self._inst.write_raw(data)
        except pyvisa.errors.VisaIOError as exc:
            if exc.error_code == pyvisa.constants.StatusCode.error_timeout:
                raise InstrumentTimeout(
                    f"{self._where()} did not accept {text!r} within {self._timeout_s:g} s",
                    instrument=self.name, resource=self.resource,
                    fix="check the cable and handshake settings") from None
            raise self._lost(exc.description) from None
        except OSError as exc:
            raise self._lost(exc.strerror or str(exc)) from None

    def _read(self) -> str:
        import pyvisa

        self._check_open()
        try:
            raw = self._inst.read_raw()
        except pyvisa.errors.VisaIOError as exc:
            if exc.error_code != pyvisa.constants.StatusCode.error_timeout:
                raise self._lost(exc.description) from None
            broken = self._link_broken()
            if broken:
                raise self._lost(broken) from None
            self._stale_since = time.monotonic()
            asked = f"{self._last_sent!r}" if self._last_sent is not None else "the last command"
            raise InstrumentTimeout(
                f"{self._where()} did not answer {asked} within {self._timeout_s:g} s",
                instrument=self.name, resource=self.resource,
                fix="check the instrument is on, connected and set to this protocol (baud, "
                    "terminations); if it is only slow, raise its timeout") from None
        except OSError as exc:
            raise self._lost(exc.strerror or str(exc)) from None
        io_log.debug("%s < %r", self.name, raw)
        asked = f" in reply to {self._last_sent!r}" if self._last_sent is not None else ""
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

    def _drain(self) -> None:
        """Read and discard input left from a timed-out exchange, then clear the stale mark."""
        import pyvisa

        assert self._stale_since is not None
        grace_end = self._stale_since + self._timeout_s
        give_up = max(grace_end, time.monotonic()) + DRAIN_LIMIT_S
        try:
            while time.monotonic() < give_up:
                self._inst.timeout = self._ms(max(self._quiet_s, grace_end - time.monotonic()))
                try:
                    raw = self._inst.read_raw()
                except pyvisa.errors.VisaIOError as exc:
                    if exc.error_code == pyvisa.constants.StatusCode.error_timeout:
                        return
                    raise self._lost(exc.description) from None
                except OSError as exc:
                    raise self._lost(exc.strerror or str(exc)) from None
                io_log.debug("%s < %r (stale, discarded)", self.name, raw)
            io_log.warning("%s: input still arriving after %g s of draining; going on", self.name,
                           DRAIN_LIMIT_S)
        finally:
            self._stale_since = None
            if not self._closed:
                self._inst.timeout = self._ms(self._timeout_s)
