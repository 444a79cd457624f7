"""A simulated kVp meter that speaks whatever a command map describes, built from the same map as the driver.

It is a small state machine (idle -> armed -> done) fed by whoever simulates the X-ray room through
`deliver()`. Replies are rendered with the map's formats, so the driver parses exactly what a meter
following the map would send. Where the map gives no error code for a situation, the simulator stays silent
and the driver times out, as a real meter without error replies would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..drivers.capabilities import InstrumentIdentity
from ..drivers.generic.commandmap import Command, CommandMap, load_command_map
from .server import LineServer, WireFault


class CommandMapSimulator:
    """A meter serving `command_map` with the given identity.

    Commands other than identify, arm, status, read and waveform (settings such as `threshold`) are
    acknowledged with their reply; their parameters are kept in `settings`, and a reply placeholder of the
    same name is answered from there (so a `threshold?` query returns the last `threshold` set). A line that
    starts like a command (its text before the first placeholder) but does not match it, or a parameter
    outside the command's `ranges`, gets the `bad_parameter` error; any other unknown line gets
    `unknown_command`.
    """

    def __init__(self, command_map: CommandMap | str | Path, identity: InstrumentIdentity,
                 faults: Iterable[WireFault] = ()) -> None:
        self.map = command_map if isinstance(command_map, CommandMap) else load_command_map(command_map)
        missing = [c for c in ("identify", "arm", "status", "read") if c not in self.map.commands]
        if missing:
            raise ValueError(f"{self.map.path} cannot be simulated as a kVp meter: no {', '.join(missing)}")
        self.faults = tuple(faults)
        self.state = "idle"
        self.settings: dict[str, Any] = {}
        self._values: dict[str, float] | None = None
        self._waveform: dict[str, Any] | None = None
        self._lock = threading.RLock()
        self.become(identity)

    def become(self, identity: InstrumentIdentity) -> None:
        """Answer as another meter from now on: the meter found at a port that came back after a drop."""
        with self._lock:
            self.identity = identity
            self._identity_reply = self._render("identify", {f: getattr(identity, f) for f in
                                                             ("make", "model", "serial", "firmware")})

    def handle(self, line: str) -> str | None:
        """The reply to one received line (without terminations), or None for no reply."""
        with self._lock:
            found = self.map.match(line)
            if found is None:
                return self._error("bad_parameter" if self._looks_like_command(line) else "unknown_command")
            command, params = found
            if command.out_of_range(params):
                return self._error("bad_parameter")
            return self._dispatch(command, params)

    def command_of(self, line: str) -> str | None:
        """The name of the command `line` is, or None; lets wire faults target one command."""
        found = self.map.match(line)
        return found[0].name if found else None

    def deliver(self, values: Mapping[str, Any],
                waveform: tuple[float, Sequence[float]] | None = None) -> bool:
        """An exposure reaches the meter: values in the map's field units (floats or Quantities).

        If armed, the meter keeps them and goes to done; otherwise it misses the shot, as a real meter does.
        `waveform` is (interval, samples), ignored if the map has no waveform command. Returns whether the
        exposure was recorded. ValueError if the values do not fit the map's read reply.
        """
        read = self.map.commands["read"]
        assert read.reply is not None
        unknown = sorted(set(values) - set(read.reply.names))
        if unknown:
            raise ValueError(f"the read reply of {self.map.path} has no {', '.join(unknown)}")
        floats = {name: self._magnitude(read, name, value) for name, value in values.items()}
        self._render("read", floats)
        wave = None
        if waveform is not None and "waveform" in self.map.commands:
            spec = self.map.commands["waveform"]
            interval, samples = waveform
            wave = {"interval": self._magnitude(spec, "interval", interval),
                    "samples": [self._magnitude(spec, "samples", s) for s in samples],
                    "count": len(samples)}
            self._render("waveform", wave)
        with self._lock:
            if self.state != "armed":
                return False
            self._values, self._waveform, self.state = floats, wave, "done"
            return True

    def serve(self) -> LineServer:
        """Start serving on an ephemeral loopback port; the running server gives `.resource`.

        The `error` wire fault answers with the map's `not_ready` code (else its other simulator codes).
        """
        transport = self.map.transport
        return LineServer(self.handle, line_end=transport.write_termination,
                          reply_end=transport.read_termination, encoding=transport.encoding,
                          faults=self.faults, command_of=self.command_of, name=self.map.id,
                          error_reply=lambda line: (self._error("not_ready") or self._error("bad_parameter")
                                                    or self._error("unknown_command"))).start()

    def _dispatch(self, command: Command, params: dict[str, Any]) -> str | None:
        name = command.name
        if name == "identify":
            return self._identity_reply
        if name == "arm":
            self.state, self._values, self._waveform = "armed", None, None
            return self._render(name, {})
        if name == "status":
            return self._render(name, {"state": self.map.states[self.state]})
        if name == "read":
            return self._error("not_ready") if self._values is None else self._render(name, self._values)
        if name == "waveform":
            return self._error("not_ready") if self._waveform is None else self._render(name, self._waveform)
        self.settings.update(params)
        if command.reply is None:
            return None
        if any(n not in self.settings for n in command.reply.names):
            return self._error("not_ready")
        return self._render(name, self.settings)

    def _render(self, name: str, values: Mapping[str, Any]) -> str | None:
        command = self.map.commands[name]
        if command.reply is None:
            return None
        return command.reply.format(values, command.formats)

    def _error(self, situation: str) -> str | None:
        errors = self.map.errors
        code = errors.simulator.get(situation) if errors is not None else None
        if errors is None or code is None:
            return None
        slot = errors.reply.placeholders[0]
        return errors.reply.format({slot.name: int(code) if slot.type == "int" else code})

    def _looks_like_command(self, line: str) -> bool:
        return any(c.send.placeholders and c.send.prefix and line.startswith(c.send.prefix)
                   for c in self.map.commands.values())

    @staticmethod
    def _magnitude(command: Command, name: str, value: Any) -> float | int:
        """`value` as a plain number in the map's unit (a whole number where the template wants an int)."""
        unit = command.fields.get(name)
        if hasattr(value, "to") and unit is not None:
            value = value.to(unit).magnitude
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number in {unit or 'the unit of the map'}, got {value!r}")
        slots = [p for t in (command.send, command.reply) if t is not None for p in t.placeholders
                 if p.name == name]
        if slots and slots[0].type == "int":
            if not float(value).is_integer():
                raise ValueError(f"{name} must be a whole number, got {value!r}")
            return int(value)
        return float(value)
