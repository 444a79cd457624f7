"""What every instrument driver class has: its registry name, capabilities, protocol status and link.

A driver speaks one instrument family's real protocol over a Transport and returns pint Quantities. Its
docstring says which parts of the protocol are PUBLIC (vendor document) or PARTIAL (third-party notes), and
where the notes are silent the driver is strict: an unknown reply is a ProtocolError.

Every driver also refuses a meter that is not the one the site file names: given the site's serial number
(`expected_serial`), `identify()` compares it with the serial the meter reports (check_serial) and raises
SerialMismatch when they differ, because the calibration certificate in the site file is for that serial only.
Driver subclasses get the check on their own `identify` without writing it (Driver.__init_subclass__).
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeVar

from ..errors import InstrumentError, MeterChanged, ProtocolError
from .capabilities import InstrumentIdentity
from .evidence import Evidence
from .link import LinkSettings, Transport, open_transport
from .settings import Option, Setting, check_options

if TYPE_CHECKING:  # pragma: no cover
    import pint

PROTOCOL_STATUSES = ("PUBLIC", "PARTIAL", "DECLARATIVE", "MANUAL", "IMPORT")

_T = TypeVar("_T")

log = logging.getLogger("xcal.drivers")

_SERIAL_SEPARATORS = re.compile(r"[\s\-_./:]+")


def serial_digits(serial: str) -> str:
    """A serial number in upper case without spaces and the separators `- _ . / :`."""
    return _SERIAL_SEPARATORS.sub("", str(serial)).upper()


def serial_key(serial: str) -> str:
    """A serial number as it is compared: serial_digits without leading zeros.

    So `t10052-0311` matches `T10052 0311`, and the site's `0320-77A1` matches the `000000032077A1` a GQ counter
    reports (its serial is 7 raw bytes, shown as 14 hex digits).
    """
    return serial_digits(serial).lstrip("0")


class SerialMismatch(InstrumentError):
    """The meter on the link reports another serial number than the site file gives for the instrument."""


def check_serial(name: str, resource: str, expected: str | None, identity: InstrumentIdentity
                 ) -> InstrumentIdentity:
    """`identity` if the meter is the site's instrument `name`; SerialMismatch if its serial is another.

    Nothing to compare (no `expected` serial, or a meter that reports none) passes, with an info log line.
    """
    if not expected:
        return identity
    if not identity.serial:
        log.info("%s: the meter reports no serial number, so the site's %s cannot be checked", name, expected)
        return identity
    if serial_key(identity.serial) == serial_key(expected):
        return identity
    raise SerialMismatch(
        f"{name} ({resource}) is the wrong meter: it reports serial number {identity.serial} "
        f"({identity.make} {identity.model}), but the site file gives {expected} for {name}; the calibration "
        f"certificate in the site file is for {expected} only, so this meter is not used",
        instrument=name, resource=resource,
        fix=f"connect the meter with serial {expected} at {resource}, or, if this meter is the right one, "
            f"correct `serial:` (and its calibration) of {name} in the site file")


def same_meter(a: InstrumentIdentity, b: InstrumentIdentity) -> bool:
    """Whether two identities are one meter: make, model and serial number (firmware may be updated). Meters
    that report no serial number can only be told apart by make and model."""
    return (a.make, a.model, serial_key(a.serial or "")) == (b.make, b.model, serial_key(b.serial or ""))


def confirm_after_reopen(transport: Any, where: Where, ask: Callable[[], InstrumentIdentity],
                         known: InstrumentIdentity) -> None:
    """Have a link that reconnects ask the meter who it is each time it reopens after a loss (`ask`: the
    driver's identify, without this call): a USB adapter can come back under a port name another meter had, a
    DHCP address can move. Another meter than `known` is refused with MeterChanged, so no reading is taken from
    it as this instrument's."""
    if not hasattr(transport, "after_reopen"):
        return

    def check() -> None:
        found = ask()
        if same_meter(found, known):
            return
        raise MeterChanged(
            f"{where.instrument} ({where.resource}): after the lost link was reopened, the meter there says it is "
            f"{found.make} {found.model} serial {found.serial or '(none)'}, not the {known.make} {known.model} "
            f"serial {known.serial or '(none)'} identified before; nothing is read from it",
            instrument=where.instrument, resource=where.resource,
            fix=f"check which meter is connected at {where.resource} (after a cable or USB adapter was unplugged, "
                f"ports can come back in another order), then resume the run")

    transport.after_reopen = check


def _checking_serial(identify: Callable[[Any], InstrumentIdentity]) -> Callable[[Any], InstrumentIdentity]:
    @functools.wraps(identify)
    def checked(self: Driver) -> InstrumentIdentity:
        identity = self.checked_identity(identify(self))
        self.confirm_after_reopen(lambda: identify(self), identity)
        return identity

    checked._checks_serial = True  # type: ignore[attr-defined]
    return checked


class Where(NamedTuple):
    """Which instrument a reply came from, for the errors a reply parser raises."""

    instrument: str
    resource: str | None = None


def unexpected_reply(where: Where, command: str, reply: object, expected: str, fix: str) -> ProtocolError:
    """The ProtocolError for a reply that does not fit the protocol: instrument, command, reply, expectation."""
    return ProtocolError(f"{where.instrument} answered {reply!r} to {command!r}; expected {expected}",
                         instrument=where.instrument, resource=where.resource, fix=fix)


def poll_until(step: Callable[[], _T | None], *, timeout_s: float, interval_s: float,
               timed_out: Callable[[], Exception]) -> _T:
    """Call `step` until it returns something other than None, every `interval_s`; raise `timed_out()` after
    `timeout_s`. The last call is made at or after the deadline, so a result that arrived in time is taken."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = step()
        if result is not None:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise timed_out()
        time.sleep(min(interval_s, remaining))


class Driver:
    """Base of the built-in drivers. Subclasses set the class attributes and implement their capabilities.

    `options` are the instrument's `options:` from the site file; the link settings they name (baudrate,
    parity, bytesize, stopbits, timeout ...) override `link`, the rest are the driver's own.
    `expected_serial` is the site file's serial number of the instrument: `identify()` then refuses a meter
    that reports another one (SerialMismatch). A driver whose identity comes from its options, not from the
    meter (manual entry, file import, an output-only stream), sets `reports_serial = False` and is not checked.
    """

    driver_name: ClassVar[str] = ""
    capabilities: ClassVar[tuple[str, ...]] = ()
    protocol_status: ClassVar[str] = ""
    transports: ClassVar[tuple[str, ...]] = ()          # e.g. ("tcp", "serial")
    link: ClassVar[LinkSettings] = LinkSettings()
    simulator: ClassVar[str] = ""                        # "module:Class" of its protocol simulator
    reports_serial: ClassVar[bool] = True                # False: the identity is the options', not the meter's
    option_specs: ClassVar[tuple[Option, ...]] = ()      # the driver's own options, checked at site load
    evidence: ClassVar[Evidence | None] = None           # where each command it sends is shown (wire drivers)
    unexpected_fix: ClassVar[str] = ("check that this is the instrument the driver is for, on its remote protocol; "
                                     "a garbled reply can also mean a bad cable or wrong serial settings")
    expected_serial: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wrap a subclass's own `identify` so that it checks the serial number (see check_serial)."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("identify")
        if own is not None and not getattr(own, "_checks_serial", False):
            # mypy refuses any assignment to a method; replacing it in place is the point here
            cls.identify = _checking_serial(own)  # type: ignore[method-assign, assignment]

    def __init__(self, resource: str, *, name: str = "instrument", timeout: pint.Quantity | None = None,
                 transport: Transport | None = None, expected_serial: str | None = None, **options: Any) -> None:
        self.resource = resource
        self.name = name
        self.expected_serial = expected_serial
        link_fields = set(LinkSettings.__dataclass_fields__)
        link_options = {k: v for k, v in options.items() if k in link_fields}
        self.options = {k: v for k, v in options.items() if k not in link_fields}
        if timeout is not None:
            link_options["timeout"] = timeout
        self.settings = self.link.with_options(**link_options)
        self.option_values = self.check_options(self.options, owner=name)
        self.transport: Transport = transport or open_transport(resource, self.settings, name=name)
        bind = getattr(transport, "bind_driver", None)
        if bind is not None:
            bind(type(self))

    @classmethod
    def check_options(cls, options: dict[str, Any], owner: str = "instrument") -> dict[str, Any]:
        """The declared options' checked values (ConfigError naming the option); called at site load too."""
        return check_options(owner, cls.option_specs, options)

    @property
    def where(self) -> Where:
        """This instrument's name and resource, for errors."""
        return Where(self.name, self.resource)

    def unexpected(self, command: str, reply: object, expected: str) -> ProtocolError:
        """The ProtocolError for a reply to `command` that is not what the protocol gives."""
        return unexpected_reply(self.where, command, reply, expected, self.unexpected_fix)

    def ask_setting(self, setting: Setting[Any], command: str) -> str:
        """The value text of a setting's query, with the protocol's framing taken off (per driver)."""
        raise NotImplementedError(f"{type(self).__name__} declares settings but cannot ask them")

    def apply_setting(self, setting: Setting[Any], line: str) -> None:
        """Send a setting's command and check the instrument took it (per driver)."""
        raise NotImplementedError(f"{type(self).__name__} declares settings but cannot apply them")

    def identify(self) -> InstrumentIdentity:
        raise NotImplementedError

    def checked_identity(self, identity: InstrumentIdentity) -> InstrumentIdentity:
        """`identity`, once its serial number is the site's (SerialMismatch if not; see check_serial)."""
        if not self.reports_serial:
            return identity
        return check_serial(self.name, self.resource, self.expected_serial, identity)

    def confirm_after_reopen(self, ask: Callable[[], InstrumentIdentity], known: InstrumentIdentity) -> None:
        """See `confirm_after_reopen` (module level), for this driver's link (drivers without one have none)."""
        confirm_after_reopen(getattr(self, "transport", None), self.where, ask, known)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Driver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
