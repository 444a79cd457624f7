"""`xcal instruments check`: reach one instrument (a site instrument, or a driver at a resource)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from .errors import ConfigError


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`KEY=VALUE` pairs from the command line; whole numbers become ints (baudrate=19200)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option {pair!r} is not KEY=VALUE", fix="write e.g. -o baudrate=19200")
        options[key.strip()] = int(value) if value.strip().isdigit() else value.strip()
    return options


def check_instrument(site_path: str | None, instrument: str | None, driver: str | None,
                     resource: str | None, timeout: str, options: dict[str, Any] | None = None,
                     start_simulator: Callable[..., Any] | None = None) -> Any:
    """Identity and one reading; a simulated site instrument is checked against its running simulator, which
    `start_simulator(instrument, None, None)` (xcal.demo.wiring.start_simulator, handed in by the front end)
    starts."""
    from .drivers.check import check
    from .units import parse_quantity

    try:
        limit = parse_quantity(timeout, "time")
    except ValueError as exc:
        raise ConfigError(f"--timeout: {exc}", fix="write e.g. --timeout '500 ms'") from None
    if instrument is None:
        if not (driver and resource):
            raise ConfigError("give an instrument id of the site file, or both --driver and --resource",
                              fix="e.g. xcal instruments check --driver ptw-unidos --resource "
                                  "TCPIP::10.0.0.5::8123::SOCKET")
        return check(driver, resource, timeout=limit, options=options)
    from .site import load_site

    site = load_site(site_path)
    if instrument not in site.instruments:
        raise ConfigError(f"{site.path} has no instrument '{instrument}'",
                          fix=f"use one of: {', '.join(site.instruments)}")
    inst = site.instruments[instrument]
    with contextlib.ExitStack() as stack:
        target = resource or inst.resource
        if inst.simulated and resource is None:
            if start_simulator is None:
                raise ConfigError(f"instrument '{instrument}' is simulated and no simulator was handed in",
                                  fix="check it with `xcal instruments check`, or give --resource")
            server = start_simulator(inst, None, None)
            stack.callback(server.stop)
            target = server.resource
        return check(driver or inst.driver, target, name=inst.id, options={**inst.options, **(options or {})},
                     timeout=inst.timeout or limit, expected_serial=inst.serial or None)
