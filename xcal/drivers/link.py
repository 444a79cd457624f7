"""How to reach an instrument: link settings, and opening the right transport for a resource string.

A resource is a VISA resource string (`TCPIP::10.0.0.5::8123::SOCKET`, `ASRL/dev/ttyUSB0::INSTR`,
`GPIB0::27::INSTR`), a serial port path (`/dev/ttyUSB0`, `/dev/pts/4`, `COM3`) or a pyserial URL
(`socket://host:port`, `loop://`, `spy:///dev/ttyUSB0?file=log.txt`, `rfc2217://host:port`). VISA strings go
through pyvisa (pyvisa-py by default); paths and URLs through pyserial.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..errors import InstrumentError

if TYPE_CHECKING:  # pragma: no cover
    import pint

_VISA = re.compile(r"^(TCPIP\d*|ASRL|GPIB\d*|USB\d*|VXI\d*|PXI\d*)", re.IGNORECASE)
_URL = re.compile(r"^[a-z][a-z0-9+]*://", re.IGNORECASE)
_PORT = re.compile(r"^(/dev/\S+|COM\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class LinkSettings:
    """Terminations, encoding, timeout and serial line settings of one instrument link.

    Serial settings apply to serial ports and ASRL VISA resources and are ignored on TCP. Terminations may be
    empty for binary protocols that know each reply's length (then use read_bytes / read_until).
    """

    read_termination: str = "\n"
    write_termination: str = "\n"
    encoding: str = "ascii"
    timeout: Any = None                      # time Quantity; None -> 2 s
    baudrate: int = 9600
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: Literal[1, 2] = 1
    rtscts: bool = False
    xonxoff: bool = False
    dtr: bool | None = None                  # None: leave as the port opens
    rts: bool | None = None
    reconnects: int = 3                      # reopen attempts after a lost link (0: none)

    def with_options(self, **options: Any) -> LinkSettings:
        """A copy with site-file overrides (baudrate, parity, timeout ...) applied."""
        return replace(self, **options)


class Transport(Protocol):
    """What drivers use to move bytes; VisaTransport and SerialTransport both provide it.

    Every method takes the link's lock (re-entrant); hold `locked()` around a multi-step exchange so no
    other thread's bytes come between. Errors: InstrumentTimeout (nothing in time), ConnectionLost (the link
    broke and either the bounded reconnect failed or the exchange could not safely be repeated: only a
    `query` is repeated, once), ProtocolError (bytes that cannot be decoded or framed). After a timeout the
    next write first drains stale input, so a late reply is never taken for the next one.
    """

    name: str
    resource: str

    @property
    def timeout(self) -> pint.Quantity: ...
    def write(self, text: str) -> None: ...
    def read(self) -> str: ...
    def query(self, text: str) -> str: ...
    def write_bytes(self, data: bytes) -> None: ...
    def read_bytes(self, count: int) -> bytes: ...
    def read_until(self, *endings: bytes) -> bytes: ...
    def locked(self) -> AbstractContextManager[None]: ...
    def discard_input(self) -> bytes: ...
    def close(self) -> None: ...


def resource_kind(resource: str) -> Literal["visa", "serial"]:
    """`visa` for VISA resource strings, `serial` for port paths and pyserial URLs."""
    text = resource.strip()
    if _VISA.match(text) and "::" in text:
        return "visa"
    if _URL.match(text) or _PORT.match(text):
        return "serial"
    raise InstrumentError(
        f"{resource!r} is not a resource xcal can open",
        resource=resource,
        fix="give a VISA resource (TCPIP::10.0.0.5::8123::SOCKET, ASRL/dev/ttyUSB0::INSTR), a serial port "
            "(/dev/ttyUSB0, /dev/pts/4, COM3) or a pyserial URL (socket://host:port, loop://)")


def open_transport(resource: str, settings: LinkSettings, *, name: str) -> Transport:
    """Open the transport that fits `resource` with these settings (a timeout of None means 2 s)."""
    if resource_kind(resource) == "visa":
        from .transport import VisaTransport

        return VisaTransport(resource.strip(), settings=settings, name=name)
    from .serial_transport import SerialTransport

    return SerialTransport(resource.strip(), settings=settings, name=name)
