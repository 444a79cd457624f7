"""A made-up survey ratemeter with a two-command line protocol, as a template for third-party drivers.

Protocol (FICTIONAL): `ID?` answers `EXAMPLE,RM-1,<serial>,<firmware>`; `RATE?` answers the dose rate in µSv/h
as a decimal number. Lines end with LF both ways.
"""

from __future__ import annotations

from typing import Any

from xcal.drivers.base import Driver
from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.link import LinkSettings
from xcal.errors import ProtocolError
from xcal.units import Q_


class ExampleRatemeter(Driver):
    """SurveyMeter for the fictional RM-1 ratemeter."""

    driver_name = "example-ratemeter"
    capabilities = ("SurveyMeter",)
    protocol_status = "PUBLIC"
    transports = ("serial", "tcp")
    link = LinkSettings(read_termination="\n", write_termination="\n", baudrate=9600)
    simulator = "xcal_example_driver.ratemeter:ExampleRatemeterSimulator"

    def identify(self) -> InstrumentIdentity:
        reply = self.transport.query("ID?")
        parts = reply.split(",")
        if len(parts) != 4 or parts[0] != "EXAMPLE":
            raise ProtocolError(f"{self.name} ({self.resource}) answered {reply!r} to 'ID?'",
                                instrument=self.name, resource=self.resource,
                                fix="check that this is an RM-1 ratemeter")
        return InstrumentIdentity("Example", parts[1], parts[2], parts[3])

    def read_now(self) -> dict[str, Any]:
        reply = self.transport.query("RATE?")
        try:
            value = float(reply)
        except ValueError:
            raise ProtocolError(f"{self.name} ({self.resource}) answered {reply!r} to 'RATE?'",
                                instrument=self.name, resource=self.resource,
                                fix="check the link settings") from None
        return {"dose_rate": Q_(value, "µSv/h")}


class ExampleRatemeterSimulator:
    """The RM-1's side of the protocol, for tests and demos (xcal's simulator protocol)."""

    name = "example-ratemeter"

    def __init__(self, identity: InstrumentIdentity, rate_usv_h: float = 0.12) -> None:
        self.identity, self.rate = identity, rate_usv_h

    def split(self, buffer: bytearray) -> list[bytes]:
        requests = []
        while (i := buffer.find(b"\n")) >= 0:
            requests.append(bytes(buffer[:i]))
            del buffer[: i + 1]
        return requests

    def command_of(self, request: bytes) -> str | None:
        return request.decode("ascii", "replace")

    def respond(self, request: bytes) -> bytes | None:
        if request == b"ID?":
            return f"EXAMPLE,{self.identity.model},{self.identity.serial},1.0\n".encode()
        if request == b"RATE?":
            return f"{self.rate:.3f}\n".encode()
        return None

    def unsolicited(self, now: float) -> bytes | None:
        return None

    def error_reply(self, request: bytes) -> bytes | None:
        return None

    def set_field(self, dose_rate_usv_h: float) -> None:
        self.rate = dose_rate_usv_h
