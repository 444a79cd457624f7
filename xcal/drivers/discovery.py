"""Find the instrument resources this computer can see, without ever hanging.

pyvisa's `list_resources()` can hang on absent hardware (a GPIB or USB backend waiting on a driver, a network
scan), so each backend runs in a daemon thread and whatever has come back when the timeout ends is returned;
a backend still running is named in a logged warning and left behind. Give `--resource` to skip discovery.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .transport import seconds

if TYPE_CHECKING:  # pragma: no cover
    import pint

log = logging.getLogger("xcal.drivers.discovery")


def _visa_resources(backend: str) -> list[str]:
    """Every resource the VISA backend lists (ASRL, TCPIP, USB, GPIB ...)."""
    import pyvisa

    manager = pyvisa.ResourceManager(backend)
    try:
        return list(manager.list_resources("?*"))
    finally:
        manager.close()


def _serial_ports() -> list[str]:
    """The serial port paths pyserial sees (/dev/ttyUSB0, COM3 ...)."""
    from serial.tools import list_ports

    return [port.device for port in list_ports.comports()]


def list_resources(timeout: pint.Quantity, *, backend: str = "@py") -> list[str]:
    """VISA resources and serial ports found within `timeout`, sorted; never waits longer than that.

    A port may appear twice, as a VISA string (ASRL/dev/ttyUSB0::INSTR) and as a path (/dev/ttyUSB0): both
    open it, through pyvisa and through pyserial.
    """
    limit = seconds(timeout, "timeout")
    sources: dict[str, Callable[[], list[str]]] = {"VISA": lambda: _visa_resources(backend),
                                                   "serial": _serial_ports}
    found: dict[str, list[str]] = {}
    threads = {what: threading.Thread(target=_collect, args=(what, source, found),
                                      name=f"xcal-discovery-{what}", daemon=True)
               for what, source in sources.items()}
    for thread in threads.values():
        thread.start()
    deadline = time.monotonic() + limit
    for what, thread in threads.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            log.warning("%s discovery did not finish within %g s; showing what was found without it "
                        "(give --resource to skip discovery)", what, limit)
    return sorted({resource for what in list(found) for resource in found[what]})


def _collect(what: str, source: Callable[[], list[str]], found: dict[str, list[str]]) -> None:
    try:
        found[what] = [str(resource) for resource in source()]
    except Exception as exc:  # noqa: BLE001 - a broken backend must not stop discovery
        log.warning("%s discovery failed: %s", what, exc)
