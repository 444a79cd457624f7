"""`xcal instruments list` and `check`: what drivers there are, and whether one instrument answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .capabilities import InstrumentIdentity
from .registry import driver_names, get_driver_class


@dataclass(frozen=True)
class DriverInfo:
    name: str
    capabilities: tuple[str, ...]
    protocol_status: str
    transports: tuple[str, ...]
    evidence: str


@dataclass(frozen=True)
class InstrumentCheck:
    """What `xcal instruments check` found at one instrument: its identity and one reading (or its state)."""

    driver: str
    resource: str
    identity: InstrumentIdentity
    reading: dict[str, Any]
    status: str | None = None


def list_drivers() -> list[DriverInfo]:
    """Every registered driver with its capabilities, protocol status, transports and evidence level."""
    from .evidence import level_of_driver

    infos = []
    for name in driver_names():
        cls = get_driver_class(name)
        infos.append(DriverInfo(name, tuple(cls.capabilities), str(cls.protocol_status),
                                tuple(getattr(cls, "transports", ())), level_of_driver(cls)))
    return infos


def driver_evidence(name: str) -> Any:
    """The evidence table of driver `name`; ConfigError for a driver that has none (no wire protocol of its own)."""
    cls = get_driver_class(name)
    evidence = getattr(cls, "evidence", None)
    if evidence is None:
        raise ConfigError(f"the driver '{name}' has no evidence table: it speaks no wire protocol of its own "
                          f"({cls.protocol_status})", fix="see `xcal instruments list` for the wire drivers")
    return evidence


def check(driver: str, resource: str, *, name: str | None = None, options: dict[str, Any] | None = None,
          timeout: Any = None, expected_serial: str | None = None) -> InstrumentCheck:
    """Connect, ask the identity and take one reading.

    Instruments with `read_now` give what they show now. A kVp meter has no reading until an exposure, so
    for it the check reports its state (idle, armed, done) instead. With `expected_serial` (a site
    instrument's serial number) a meter reporting another serial is refused (xcal.drivers.base.SerialMismatch).
    """
    cls = get_driver_class(driver)
    opts = dict(options or {})
    if timeout is not None:
        opts["timeout"] = timeout
    if expected_serial is not None:
        opts["expected_serial"] = expected_serial
    try:
        instrument = cls(resource, name=name or driver, **opts)
    except TypeError as exc:
        raise ConfigError(f"driver '{driver}' cannot be opened with the options given ({exc})",
                          fix="pass the options it needs with -o KEY=VALUE (e.g. -o command_map=FILE)") from None
    try:
        identity = instrument.identify()
        if hasattr(instrument, "read_now"):
            return InstrumentCheck(driver, resource, identity, instrument.read_now())
        return InstrumentCheck(driver, resource, identity, {}, status=instrument.state())
    finally:
        instrument.close()
