"""Move bytes to and from an instrument through pyserial: serial ports and pyserial URLs.

`serial.serial_for_url` opens paths and URLs alike: /dev/ttyUSB0, /dev/pts/N, COM3, socket://host:port,
loop://, spy://PORT?file=... (a hex dump of both directions, to capture a transcript from real hardware).
"""

from __future__ import annotations

import select
import time
from typing import Any

from ..errors import ConfigError, InstrumentError
from .link import LinkSettings
from .transport import BaseTransport, LinkDown, io_log

_CHUNK = 4096
_POLL_S = 0.005
"""How often a port without a file descriptor (loop://, Windows COM ports) is asked for input."""


class SerialTransport(BaseTransport):
    """A link to one instrument through pyserial, with the guarantees of BaseTransport.

    Same API as VisaTransport: terminations, timeout, one re-entrant lock, raw I/O logged on `xcal.io`, drain
    of stale input after a timeout, bounded reconnect (a lost `query` is repeated once on the reopened port; a
    write that may have gone out never is). Reads come in chunks: the port is non-blocking (pyserial timeout
    0), the transport waits on its file descriptor (or polls `in_waiting` where there is none) and then takes
    everything that has arrived in one pyserial read, never one read per byte.
    """

    def __init__(self, resource: str, *, settings: LinkSettings, name: str) -> None:
        self._port: Any = None
        self._fd: int | None = None
        super().__init__(resource, settings=settings, name=name)

    def _open_link(self) -> None:
        import serial

        try:
            port = serial.serial_for_url(self.resource, do_not_open=True)
        except (ValueError, serial.SerialException) as exc:
            raise InstrumentError(f"{self._where()} is not a port or URL pyserial can open: {exc}",
                                  instrument=self.name, resource=self.resource,
                                  fix="give a port (/dev/ttyUSB0, COM3) or a URL such as socket://host:port"
                                  ) from None
        self._configure(port)
        try:
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise InstrumentError(f"{self._where()} could not be opened: {exc}", instrument=self.name,
                                  resource=self.resource,
                                  fix="check the port exists (the adapter is plugged in), that no other "
                                      "program holds it, and the address of a network port") from None
        self._port = port
        try:
            self._fd = port.fileno()
        except (AttributeError, NotImplementedError, OSError, ValueError):
            self._fd = None

    def _configure(self, port: Any) -> None:
        """Apply the line settings before opening; DTR/RTS are set as the port opens."""
        s = self.settings
        try:
            port.baudrate = s.baudrate
            port.bytesize = s.bytesize
            port.parity = s.parity
            port.stopbits = s.stopbits
            port.rtscts = s.rtscts
            port.xonxoff = s.xonxoff
            port.timeout = 0
            port.write_timeout = self._timeout_s
            if s.dtr is not None:
                port.dtr = s.dtr
            if s.rts is not None:
                port.rts = s.rts
        except ValueError as exc:
            raise ConfigError(f"{self._where()}: pyserial refused a line setting: {exc}",
                              fix="use a baud rate, data bits (5-8), parity (N, E, O, M, S) and stop bits "
                                  "(1, 2) the port supports") from None

    def _close_link(self) -> None:
        port, self._port, self._fd = self._port, None, None
        if port is None:
            return
        try:
            port.close()
        except Exception:  # noqa: BLE001 - the port may already be gone; closing must not fail
            io_log.debug("%s: error while closing %s ignored", self.name, self.resource, exc_info=True)

    def _write(self, data: bytes) -> None:
        import serial

        try:
            self._port.write(data)
        except serial.SerialTimeoutException:
            raise self._not_accepted(data) from None
        except (serial.SerialException, OSError) as exc:
            raise LinkDown(str(exc), sent=True) from None

    def _receive(self, wait_s: float, *, count: int | None, endings: tuple[bytes, ...]) -> bytes:
        import serial

        try:
            if not self._wait_readable(wait_s):
                return b""
            return bytes(self._port.read(max(_CHUNK, self._port.in_waiting)))
        except (serial.SerialException, OSError) as exc:
            raise LinkDown(str(exc), sent=True) from None

    def _wait_readable(self, wait_s: float) -> bool:
        """Whether input (or a hang-up) is there within `wait_s`."""
        if self._fd is not None:
            ready, _, _ = select.select([self._fd], [], [], max(0.0, wait_s))
            return bool(ready)
        end = time.monotonic() + wait_s
        while not self._port.in_waiting:
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(_POLL_S, left))
        return True
