"""Driver and simulator of the TPX-2, a made-up thermo-barometer, as the driver guide's worked example.

Protocol (FICTIONAL): ASCII lines ending CR LF both ways, 9600 8N1 on serial or a raw TCP socket.
`*IDN?` answers `ACME,TPX-2,<serial>,<firmware>`; `MEAS?` answers `T=<°C>;P=<kPa>`, e.g. `T=21.43;P=101.27`.
A command the instrument refuses is answered `ERR,<n>`: 1 unknown command, 2 sensor not ready.
"""

from __future__ import annotations

import re
from typing import Any

from xcal.drivers.base import Driver
from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.link import LinkSettings
from xcal.errors import InstrumentReportedError, ProtocolError
from xcal.simulators.protocol import LineProtocol
from xcal.units import Q_

ERRORS = {"1": "unknown command", "2": "sensor not ready"}
_MEASUREMENT = re.compile(r"T=(-?\d+\.\d+);P=(\d+\.\d+)")
_ERROR = re.compile(r"ERR,(\d+)")


class ExampleTpx(Driver):
    """Environment capability for the TPX-2: temperature and air pressure, for the k_TP correction."""

    driver_name = "example-tpx"
    capabilities = ("Environment",)
    protocol_status = "PUBLIC"
    transports = ("serial", "tcp")
    link = LinkSettings(read_termination="\r\n", write_termination="\r\n", baudrate=9600)
    simulator = "example_tpx:TpxSimulator"

    def _ask(self, command: str) -> str:
        """Send one command and return its reply; the instrument's ERR reply becomes its typed error."""
        reply = self.transport.query(command)
        refused = _ERROR.fullmatch(reply)
        if refused:
            code = refused.group(1)
            meaning = ERRORS.get(code, "an error code the protocol does not list")
            raise InstrumentReportedError(f"{self.name} refused {command!r}: error {code} ({meaning})",
                                          code=code, meaning=meaning, command=command, instrument=self.name,
                                          resource=self.resource, fix="wait a few seconds after power-on")
        return reply

    def _garbled(self, command: str, reply: str, expected: str) -> ProtocolError:
        return ProtocolError(f"{self.name} ({self.resource}) answered {reply!r} to {command!r}; expected {expected}",
                             instrument=self.name, resource=self.resource,
                             fix="check that this is a TPX-2 and that the link is 9600 8N1")

    def identify(self) -> InstrumentIdentity:
        """Make, model, serial number and firmware, from `*IDN?`."""
        reply = self._ask("*IDN?")
        fields = reply.split(",")
        if len(fields) != 4 or fields[0] != "ACME":
            raise self._garbled("*IDN?", reply, "ACME,<model>,<serial>,<firmware>")
        return InstrumentIdentity(*fields)

    def read_now(self) -> dict[str, Any]:
        """Temperature and pressure as shown now, from `MEAS?`."""
        reply = self._ask("MEAS?")
        match = _MEASUREMENT.fullmatch(reply)
        if match is None:
            raise self._garbled("MEAS?", reply, "T=<°C>;P=<kPa>")
        return {"temperature": Q_(float(match.group(1)), "degC"), "pressure": Q_(float(match.group(2)), "kPa")}


class TpxSimulator(LineProtocol):
    """The TPX-2's side of the protocol, for tests, demos and `xcal sim serve`."""

    name = "example-tpx"
    line_end = "\r\n"
    reply_end = "\r\n"

    def __init__(self, identity: InstrumentIdentity, temperature_c: float = 21.0,
                 pressure_kpa: float = 101.3) -> None:
        self.identity = identity
        self.temperature_c, self.pressure_kpa = temperature_c, pressure_kpa

    def command_of(self, request: bytes) -> str | None:
        """The command line itself, so a wire fault can target `MEAS?` alone."""
        return request.decode("ascii", "replace").strip() or None

    def handle_line(self, line: str) -> str | None:
        """The instrument's answer to one command line; an unknown command gets `ERR,1`."""
        if line == "*IDN?":
            ident = self.identity
            return f"ACME,{ident.model},{ident.serial},{ident.firmware}"
        if line == "MEAS?":
            return f"T={self.temperature_c:.2f};P={self.pressure_kpa:.2f}"
        return "ERR,1"

    def error_reply(self, request: bytes) -> bytes | None:
        """What the instrument sends while its sensor warms up, for the `error` wire fault."""
        return b"ERR,2\r\n"
