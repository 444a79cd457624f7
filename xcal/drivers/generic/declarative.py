"""A driver for meters with no public protocol, driven by a user-supplied YAML command map.

The map says what to send and what comes back; this driver renders commands and parses replies from it,
and returns readings as Quantities in the map's field units. It is strict: a reply that matches neither the
command's reply template nor the map's error reply is a ProtocolError naming the command, the reply and
the template that was expected. The error reply is tried first, so an instrument's error is never read as
a value.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ...errors import InstrumentError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from ...units import Q_
from ..base import Where, check_serial, confirm_after_reopen, poll_until
from ..capabilities import CAPABILITIES, InstrumentIdentity, Waveform
from ..generic.commandmap import CommandMap, load_command_map
from ..link import LinkSettings, open_transport
from ..settings import Option
from ..transport import seconds

if TYPE_CHECKING:  # pragma: no cover
    import pint

__all__ = ["DeclarativeDriver", "InstrumentReportedError", "LineTransport"]


class LineTransport(Protocol):
    """What the driver needs from a transport: a VisaTransport, or a fake in a protocol test."""

    def write(self, text: str) -> None:
        """Send one command line."""
        ...

    def read(self) -> str:
        """Receive one reply line."""
        ...

    def query(self, text: str) -> str:
        """Send one command line and return its reply line."""
        ...

    def close(self) -> None:
        """Release the link."""
        ...


class DeclarativeDriver:
    """A KvpMeter spoken through a command map (see xcal/demo/instruments/example-xr1.yaml)."""

    driver_name = "declarative"
    capabilities: tuple[str, ...] = ("KvpMeter",)
    protocol_status: str = "DECLARATIVE (command map supplied by the user)"
    transports: tuple[str, ...] = ("tcp", "serial", "gpib")
    simulator = "xcal.simulators.commandmap_sim:CommandMapSimulator"
    option_specs = (Option("poll_interval", "time", "20 ms", "time between state polls while waiting for an "
                           "exposure", low=0, unit="s", above=True, timing=True),)

    def __init__(self, resource: str, *, command_map: str | Path | CommandMap, name: str = "instrument",
                 timeout: pint.Quantity | None = None, poll_interval: pint.Quantity | None = None,
                 transport: LineTransport | None = None, expected_serial: str | None = None) -> None:
        self.command_map = (command_map if isinstance(command_map, CommandMap)
                            else load_command_map(command_map))
        self.resource = resource
        self.name = name
        self.expected_serial = expected_serial
        self._poll_s = seconds(poll_interval if poll_interval is not None else Q_(20, "ms"), "poll_interval")
        settings = self.command_map.transport
        if transport is None:
            transport = open_transport(resource, LinkSettings(
                read_termination=settings.read_termination, write_termination=settings.write_termination,
                encoding=settings.encoding, timeout=timeout if timeout is not None else settings.timeout),
                name=name)
        self.transport: LineTransport = transport

    def __enter__(self) -> DeclarativeDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def identify(self) -> InstrumentIdentity:
        """The meter's identity; make and model fall back to the map's when the reply leaves them out.

        With `expected_serial` (the site's), a meter that reports another serial is refused (SerialMismatch);
        from then on, a link reopened after a loss must lead to this same meter (base.confirm_after_reopen).
        """
        identity = check_serial(self.name, self.resource, self.expected_serial, self._reported_identity())
        confirm_after_reopen(self.transport, Where(self.name, self.resource), self._reported_identity, identity)
        return identity

    def _reported_identity(self) -> InstrumentIdentity:
        values = self.execute("identify")
        return InstrumentIdentity(make=values.get("make", self.command_map.make),
                                  model=values.get("model", self.command_map.model),
                                  serial=values.get("serial", ""), firmware=values.get("firmware", ""))

    def arm(self) -> None:
        """Prepare the meter for the next exposure."""
        self.execute("arm")

    def state(self) -> str:
        """The meter's state as the map names it: 'idle', 'armed' or 'done'."""
        word = self.execute("status")["state"]
        for key, value in self.command_map.states.items():
            if value == word:
                return key
        raise ProtocolError(f"{self._where()} reported the state {word!r}, which the command map does not "
                            f"name", instrument=self.name, resource=self.resource,
                            fix=f"add it to `states:` in {self.command_map.path}")

    def wait_for_exposure(self, timeout: pint.Quantity) -> None:
        """Poll the status until the meter reports `done`; InstrumentTimeout after `timeout`.

        A meter that reports `idle` while waited on was never armed (or lost its arming): that is an
        InstrumentError at once, since it would miss the shot.
        """
        limit = seconds(timeout, "timeout")
        states: list[str] = []

        def done() -> bool | None:
            states.append(self.state())
            if states[-1] == "idle":
                raise InstrumentError(f"{self._where()} is not armed, so it cannot record the exposure",
                                      instrument=self.name, resource=self.resource,
                                      fix="arm the meter before the exposure")
            return True if states[-1] == "done" else None

        poll_until(done, timeout_s=limit, interval_s=self._poll_s, timed_out=lambda: InstrumentTimeout(
            f"{self._where()} recorded no exposure within {limit:g} s (still {states[-1]})", instrument=self.name,
            resource=self.resource, fix="check the meter is in the beam and the exposure was made; give a longer "
                                        "timeout for long exposures"))

    def read_exposure(self) -> dict[str, pint.Quantity]:
        """The last exposure's KvpMeter readings, each in the unit the map gives it; other fields are left out."""
        readings = CAPABILITIES["KvpMeter"]
        return {name: value for name, value in self.execute("read").items() if name in readings}

    def read_waveform(self) -> Waveform:
        """The last exposure's kV waveform; ProtocolError if the sample count disagrees with `count`."""
        import numpy as np

        values = self.execute("waveform")
        samples = values["samples"]
        count = values.get("count")
        if count is not None and count != len(samples.magnitude):
            raise ProtocolError(f"{self._where()} announced {count} waveform samples but sent "
                                f"{len(samples.magnitude)}", instrument=self.name, resource=self.resource,
                                fix="check the link for lost bytes; read the waveform again")
        return Waveform(interval=values["interval"],
                        samples=Q_(np.asarray(samples.magnitude, dtype=float), samples.units))

    def execute(self, command: str, **params: Any) -> dict[str, Any]:
        """Send any command of the map and return its reply fields (Quantities where the map gives a unit).

        A parameter with a unit in `fields` must be passed as a Quantity; it is converted to that unit.
        """
        spec = self.command_map.command(command)
        line = self._render(spec.name, params)
        if spec.reply is None:
            self.transport.write(line)
            return {}
        reply = self.transport.query(line)
        return self._interpret(command, line, reply)

    def close(self) -> None:
        """Close the link."""
        self.transport.close()

    def _where(self) -> str:
        return f"{self.name} ({self.resource})"

    def _render(self, command: str, params: dict[str, Any]) -> str:
        """The command line for `params`, converted to the map's units and checked against its ranges."""
        import pint

        spec = self.command_map.commands[command]
        wanted = set(spec.send.names)
        if set(params) != wanted:
            raise InstrumentError(f"the command '{command}' takes {sorted(wanted) or 'no parameters'}, "
                                  f"got {sorted(params) or 'none'}", instrument=self.name,
                                  resource=self.resource, fix=f"see `{command}:` in {self.command_map.path}")
        plain = {}
        for name, value in params.items():
            unit = spec.fields.get(name)
            if unit is not None:
                if not isinstance(value, pint.Quantity):
                    raise InstrumentError(f"the parameter '{name}' of '{command}' needs a unit",
                                          instrument=self.name, resource=self.resource,
                                          fix=f"pass it as a Quantity, e.g. Q_({value!r}, '{unit}')")
                try:
                    value = value.to(unit).magnitude
                except pint.DimensionalityError:
                    raise InstrumentError(f"the parameter '{name}' of '{command}' is {value}, not in a unit "
                                          f"like {unit}", instrument=self.name, resource=self.resource,
                                          fix=f"pass it in {unit}") from None
                if spec.send.placeholder(name).type == "int" and float(value).is_integer():
                    value = int(value)
            plain[name] = value
        problem = spec.out_of_range(plain)
        if problem:
            raise InstrumentError(f"{command}: {problem}", instrument=self.name, resource=self.resource,
                                  fix=f"see the ranges of `{command}:` in {self.command_map.path}")
        try:
            return spec.send.format(plain, spec.formats)
        except ValueError as exc:
            raise InstrumentError(f"cannot send '{command}': {exc}", instrument=self.name,
                                  resource=self.resource, fix="pass values of the kind the template "
                                  f"{spec.send.source!r} takes") from None

    def _interpret(self, command: str, line: str, reply: str) -> dict[str, Any]:
        spec = self.command_map.commands[command]
        assert spec.reply is not None
        errors = self.command_map.errors
        try:
            reported = errors.reply.parse(reply) if errors is not None else None
            values = spec.reply.parse(reply) if reported is None else None
        except ValueError as exc:
            raise self._unexpected(command, line, reply, f"a value in it is out of range ({exc})") from None
        if reported is not None:
            assert errors is not None
            code = str(reported["code"])
            meaning = errors.meaning(code)
            raise InstrumentReportedError(
                f"{self._where()} reported error {code} ({meaning}) to {line!r}", code=code,
                meaning=meaning, command=command, instrument=self.name, resource=self.resource,
                fix=f"see the meter's manual for error {code}; check the meter's state and the command's "
                    f"parameters")
        if values is None:
            raise self._unexpected(command, line, reply, f"expected {spec.reply.source!r}")
        return {name: Q_(value, spec.fields[name]) if name in spec.fields else value
                for name, value in values.items()}

    def _unexpected(self, command: str, line: str, reply: str, expected: str) -> ProtocolError:
        return ProtocolError(f"{self._where()} answered {reply!r} to '{command}' ({line!r}); {expected}",
                             instrument=self.name, resource=self.resource,
                             fix=f"check that {self.command_map.path} matches this meter's protocol and "
                                 f"firmware; a garbled reply can also mean a bad cable or wrong settings")
