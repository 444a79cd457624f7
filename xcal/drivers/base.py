"""What every instrument driver class has: its registry name, capabilities, protocol status and link.

A driver speaks one instrument family's real protocol over a Transport and returns pint Quantities. Its
docstring says which parts of the protocol are PUBLIC (vendor document) or PARTIAL (third-party notes), and
where the notes are silent the driver is strict: an unknown reply is a ProtocolError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ProtocolError
from .capabilities import InstrumentIdentity
from .link import LinkSettings, Transport, open_transport

if TYPE_CHECKING:  # pragma: no cover
    import pint

PROTOCOL_STATUSES = ("PUBLIC", "PARTIAL", "DECLARATIVE", "MANUAL", "IMPORT")


def unexpected_reply(where: Any, command: str, reply: object, expected: str, fix: str) -> ProtocolError:
    """The ProtocolError for a reply that does not fit the protocol: instrument, command, reply, expectation."""
    return ProtocolError(f"{where.instrument} answered {reply!r} to {command!r}; expected {expected}",
                         instrument=where.instrument, resource=where.resource, fix=fix)


class Driver:
    """Base of the built-in drivers. Subclasses set the class attributes and implement their capabilities.

    `options` are the instrument's `options:` from the site file; the link settings they name (baudrate,
    parity, bytesize, stopbits, timeout ...) override `link`, the rest are the driver's own.
    """

    driver_name: ClassVar[str] = ""
    capabilities: ClassVar[tuple[str, ...]] = ()
    protocol_status: ClassVar[str] = ""
    transports: ClassVar[tuple[str, ...]] = ()          # e.g. ("tcp", "serial")
    link: ClassVar[LinkSettings] = LinkSettings()
    simulator: ClassVar[str] = ""                        # "module:Class" of its protocol simulator

    def __init__(self, resource: str, *, name: str = "instrument", timeout: "pint.Quantity | None" = None,
                 transport: Transport | None = None, **options: Any) -> None:
        self.resource = resource
        self.name = name
        link_fields = set(LinkSettings.__dataclass_fields__)
        link_options = {k: v for k, v in options.items() if k in link_fields}
        self.options = {k: v for k, v in options.items() if k not in link_fields}
        if timeout is not None:
            link_options["timeout"] = timeout
        self.settings = self.link.with_options(**link_options)
        self.transport: Transport = transport or open_transport(resource, self.settings, name=name)

    def identify(self) -> InstrumentIdentity:
        raise NotImplementedError

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "Driver":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
