"""Standard Imaging MAX 4000 / 4000 Plus electrometer over RS-232 (19200 8N1, no handshake, RTS and DTR off).

The protocol is PARTIAL: worked out by third parties, not checked against a vendor document. What the notes
give and this driver uses: commands end `\\n`; `0x03` sent on connect clears the line; every reply ends with
a prompt, `=>` OK, `?>` not understood, `!>` execution error, and the value is what precedes it without
CR/LF. Replies are read byte by byte up to the prompt, so one that is garbled or cut short (its prompt never
comes) is a ProtocolError naming the bytes that did come; no byte at all is an InstrumentTimeout.
Commands: `*IDN?`, `*CURCHG?`, `*STATUS?`, `*MODE?`, `*NEEDZ?`, `*AUZ?`, `*RNG0`/`*RNG1`, `*BIAS?` and
`*BIAS<n>?`, `*CHGMAX?`/`*RTCHG?`/`*CHGTHR?`, `*STARTNP?`, `*HALT?`, `*STOP?`.

Unconfirmed, so the driver is strict about it: the layout of the `*IDN?` reply (taken as
`make,model,serial,firmware`), the text of the replies to actions (ignored; only their prompt counts), the
`*BIAS` reply (a whole number among -100, -50, 0, 50, 100), whether the unit echoes commands (a reply of
more than one line is refused) and whether it answers `0x03` (assumed not). Any other reply is a
ProtocolError.
"""

from __future__ import annotations

import logging
import math
import re
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ConfigError, InstrumentError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from ..units import Q_, has_dimension, parse_quantity
from .base import Driver, unexpected_reply
from .capabilities import InstrumentIdentity
from .link import LinkSettings

if TYPE_CHECKING:  # pragma: no cover
    import pint

log = logging.getLogger("xcal.drivers.si_max4000")

CLEAR = b"\x03"
PROMPTS: dict[bytes, str | None] = {b"=>": None, b"?>": "command not understood", b"!>": "execution error"}
"""Reply prompt -> the error it reports (None: OK)."""
STATUS: dict[int, str] = {0: "idle", 1: "zeroing", 2: "collecting charge", 3: "threshold armed", 4: "overload"}
MODES: dict[int, str] = {
    2: "warm-up", 3: "zero", 4: "zero in progress", 5: "zero done", 6: "range select", 7: "bias", 8: "rate",
    9: "charge", 10: "rate+charge", 11: "collect charge", 12: "collect rate+charge", 13: "battery charge",
    14: "overload", 22: "threshold level",
}
BIASES = (-100, -50, 0, 50, 100)
MEASUREMENT_MODES = {"charge": "*CHGMAX?", "charge-rate": "*RTCHG?", "triggered": "*CHGTHR?"}
RANGES = {"low": "*RNG0", "high": "*RNG1"}
CHARGE_UNITS = ("mC", "nC", "pC")

_CHARGE = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?) +(mC|nC|pC)$", re.ASCII)
_INTEGER = re.compile(r"^[+-]?\d+$", re.ASCII)
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")


class Where(NamedTuple):
    """Which instrument a reply came from, for the errors a parser raises."""

    instrument: str = "MAX 4000"
    resource: str | None = None


class Coded(NamedTuple):
    """A numeric state the instrument reports and its meaning from the notes."""

    code: int
    meaning: str


def _unexpected(where: Where, command: str, reply: object, expected: str) -> ProtocolError:
    return unexpected_reply(where, command, reply, expected,
                            "check the cable and 19200 8N1 without handshake; this protocol is PARTIAL, so "
                            "an unexpected reply may also be firmware the notes do not cover")


def parse_reply(command: str, raw: bytes, where: Where = Where()) -> str:
    """The value of one prompt-terminated reply: `12.34 nC\\r\\n=>` -> `12.34 nC`; `?>` / `!>` -> typed error."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise _unexpected(where, command, raw, "ASCII text ending with a prompt") from None
    prompt = text[-2:].encode("ascii")
    if prompt not in PROMPTS:
        raise _unexpected(where, command, raw, "a reply ending with =>, ?> or !>")
    value = text[:-2].strip("\r\n")
    if any(p.decode("ascii") in value for p in PROMPTS) or not _PRINTABLE.match(value):
        raise _unexpected(where, command, raw, "one line of printable text before the prompt")
    meaning = PROMPTS[prompt]
    if meaning is not None:
        code = prompt.decode("ascii")
        raise InstrumentReportedError(
            f"{where.instrument} answered {code} to {command!r}: {meaning}", code=code, meaning=meaning,
            command=command, instrument=where.instrument, resource=where.resource,
            fix="the unit does not know this command: check its firmware" if code == "?>"
            else "the unit cannot do this now: check it is not zeroing, collecting or overloaded")
    return value


def parse_identity(value: str, where: Where = Where()) -> InstrumentIdentity:
    """`Standard Imaging,MAX 4000,40123,2.05` -> make, model, serial, firmware."""
    fields = [field.strip() for field in value.split(",")]
    if len(fields) != 4 or not all(fields[:2]):
        raise _unexpected(where, "*IDN?", value, "make,model,serial,firmware (the layout is unconfirmed)")
    return InstrumentIdentity(*fields)


def parse_charge(value: str, where: Where = Where()) -> "pint.Quantity":
    """`12.34 nC` -> 12.34 nC; the unit is mC, nC or pC."""
    found = _CHARGE.match(value)
    if found is None:
        raise _unexpected(where, "*CURCHG?", value, "a number, a space and mC, nC or pC")
    number = float(found.group(1))
    if not math.isfinite(number):
        raise _unexpected(where, "*CURCHG?", value, "a finite number")
    return Q_(number, found.group(2))


def parse_coded(command: str, value: str, table: dict[int, str], where: Where = Where()) -> Coded:
    """A whole number that must be a key of `table` (`*STATUS?`, `*MODE?`), with its meaning."""
    if not _INTEGER.match(value) or int(value) not in table:
        raise _unexpected(where, command, value, f"one of {', '.join(str(k) for k in table)}")
    return Coded(int(value), table[int(value)])


def parse_needs_zero(value: str, where: Where = Where()) -> bool:
    """`1` -> a zero is needed, `0` -> not."""
    if value not in ("0", "1"):
        raise _unexpected(where, "*NEEDZ?", value, "0 or 1")
    return value == "1"


def parse_bias(command: str, value: str, where: Where = Where()) -> int:
    """The bias in % of full: one of -100, -50, 0, 50, 100."""
    if not _INTEGER.match(value) or int(value) not in BIASES:
        raise _unexpected(where, command, value, f"a bias among {', '.join(map(str, BIASES))}")
    return int(value)


class StandardImagingMax4000(Driver):
    """Standard Imaging MAX 4000 / 4000 Plus (PARTIAL protocol; see the module docstring for what is unconfirmed).

    `arm()`: auto-zero if `*NEEDZ?` says so, `*STOP?` (stop and reset), `*CHGMAX?` (charge mode), `*STARTNP?`,
    then `*STATUS?` must be 2 (collecting charge) and `*CURCHG?` gives the starting charge.
    `wait_for_exposure` polls `*STATUS?` and `*CURCHG?`: the exposure has started once the charge moved more
    than `exposure_threshold` from the starting charge and is complete when two polls in a row then differ by
    at most `settle_fraction` of that change. Status 4 (overload) is an InstrumentReportedError (code "4").

    Options: `poll_interval` (default 200 ms), `exposure_threshold` (default 1 pC), `settle_fraction`
    (default 0.001), `zero_timeout` (default 120 s; the notes do not say how long a zero takes).
    """

    driver_name = "si-max4000"
    capabilities = ("Electrometer",)
    protocol_status = "PARTIAL"
    transports = ("serial",)
    link = LinkSettings(read_termination="\n", write_termination="\n", baudrate=19200, bytesize=8, parity="N",
                        stopbits=1, rtscts=False, xonxoff=False, dtr=False, rts=False)
    simulator = "xcal.simulators.si_max4000:Max4000Simulator"

    def __init__(self, resource: str, **kwargs: Any) -> None:
        super().__init__(resource, **kwargs)
        try:
            self._poll_s = self._positive("poll_interval", "200 ms", "time")
            self._zero_timeout_s = self._positive("zero_timeout", "120 s", "time")
            self._threshold_c = self._positive("exposure_threshold", "1 pC", "charge")
            self._settle = self._fraction("settle_fraction", 0.001)
            self.clear_line()
        except Exception:
            self.close()
            raise
        self._baseline_c: float | None = None

    @property
    def where(self) -> Where:
        """This instrument's name and resource, for errors."""
        return Where(self.name, self.resource)

    def _positive(self, name: str, default: str, dimension: str) -> float:
        import pint

        value = self.options.get(name, default)
        try:
            quantity = value if isinstance(value, pint.Quantity) and has_dimension(value, dimension) \
                else parse_quantity(value, dimension)
        except ValueError as exc:
            raise ConfigError(f"{self.name}: option {name}: {exc}", fix=f"give {name} like '{default}'") from None
        number = float(quantity.to_base_units().magnitude)
        if not number > 0:
            raise ConfigError(f"{self.name}: option {name} must be more than zero",
                              fix=f"give {name} like '{default}'")
        return number

    def _fraction(self, name: str, default: float) -> float:
        value = self.options.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ConfigError(f"{self.name}: option {name} must be a number between 0 and 1, got {value!r}",
                              fix=f"give {name} like {default}")
        return float(value)

    # --- the line ------------------------------------------------------------------------------------

    def clear_line(self) -> None:
        """Send 0x03, which clears whatever partial command the unit holds."""
        self.transport.write_bytes(CLEAR)

    def command(self, command: str) -> str:
        """Send one command (`\\n` added) and return its reply's value, prompt and CR/LF stripped."""
        with self.transport.locked():
            self.transport.write_bytes(command.encode("ascii") + b"\n")
            raw = self._reply(command)
        return parse_reply(command, raw, self.where)

    def _reply(self, command: str) -> bytes:
        """The bytes up to a prompt, taken one by one so that a reply cut short or garbled (no prompt comes)
        is a ProtocolError naming what did arrive; nothing at all is an InstrumentTimeout."""
        raw = bytearray()
        while bytes(raw[-2:]) not in PROMPTS:
            try:
                raw += self.transport.read_bytes(1)
            except InstrumentTimeout:
                if not raw:
                    raise
                raise _unexpected(self.where, command, bytes(raw), "a reply ending with =>, ?> or !>, but "
                                                                   "no prompt came") from None
        return bytes(raw)

    def _action(self, command: str) -> None:
        value = self.command(command)
        if value:
            log.debug("%s: %s answered %r (ignored)", self.name, command, value)

    # --- queries -------------------------------------------------------------------------------------

    def identify(self) -> InstrumentIdentity:
        """`*IDN?`, read as make,model,serial,firmware."""
        return parse_identity(self.command("*IDN?"), self.where)

    def charge(self) -> "pint.Quantity":
        """The present charge (`*CURCHG?`) in its own unit (mC, nC or pC)."""
        return parse_charge(self.command("*CURCHG?"), self.where)

    def status(self) -> Coded:
        """`*STATUS?`: 0 idle, 1 zeroing, 2 collecting charge, 3 threshold armed, 4 overload."""
        return parse_coded("*STATUS?", self.command("*STATUS?"), STATUS, self.where)

    def mode(self) -> Coded:
        """`*MODE?`: the unit's mode (warm-up, zero, charge, collect charge, overload ...)."""
        return parse_coded("*MODE?", self.command("*MODE?"), MODES, self.where)

    def needs_zero(self) -> bool:
        """`*NEEDZ?`: whether the unit asks for a zero."""
        return parse_needs_zero(self.command("*NEEDZ?"), self.where)

    def bias(self) -> int:
        """`*BIAS?`: the chamber bias in % of full."""
        return parse_bias("*BIAS?", self.command("*BIAS?"), self.where)

    # --- settings and actions ------------------------------------------------------------------------

    def set_bias(self, percent: int) -> None:
        """`*BIAS<n>?` for n in -100, -50, 0, 50, 100; the reply must confirm it."""
        if isinstance(percent, bool) or percent not in BIASES:
            raise InstrumentError(f"{self.name}: no bias of {percent!r} %", instrument=self.name,
                                  resource=self.resource, fix=f"use one of {', '.join(map(str, BIASES))}")
        command = f"*BIAS{percent}?"
        got = parse_bias(command, self.command(command), self.where)
        if got != percent:
            raise _unexpected(self.where, command, str(got), f"the bias set, {percent}")

    def set_range(self, name: str) -> None:
        """`*RNG0` (low) or `*RNG1` (high)."""
        if name not in RANGES:
            raise InstrumentError(f"{self.name}: no range {name!r}", instrument=self.name,
                                  resource=self.resource, fix="use low or high")
        self._action(RANGES[name])

    def set_measurement_mode(self, name: str) -> None:
        """`*CHGMAX?` (charge), `*RTCHG?` (charge-rate) or `*CHGTHR?` (triggered)."""
        if name not in MEASUREMENT_MODES:
            raise InstrumentError(f"{self.name}: no measurement mode {name!r}", instrument=self.name,
                                  resource=self.resource, fix=f"use one of {', '.join(MEASUREMENT_MODES)}")
        self._action(MEASUREMENT_MODES[name])

    def start(self) -> None:
        """`*STARTNP?`: start collecting."""
        self._action("*STARTNP?")

    def halt(self) -> None:
        """`*HALT?`: stop collecting, keep the charge."""
        self._action("*HALT?")

    def stop(self) -> None:
        """`*STOP?`: stop collecting and reset."""
        self._action("*STOP?")

    def auto_zero(self, timeout: "pint.Quantity | None" = None) -> None:
        """`*AUZ?`, then poll `*STATUS?` until the unit is no longer zeroing (idle afterwards)."""
        from .transport import seconds

        limit = seconds(timeout, "timeout") if timeout is not None else self._zero_timeout_s
        self._action("*AUZ?")
        deadline = time.monotonic() + limit
        while True:
            state = self._judged_status()
            if state.code != 1:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise InstrumentTimeout(f"{self.name} ({self.resource}) was still zeroing after {limit:g} s",
                                        instrument=self.name, resource=self.resource,
                                        fix="give the zero more time (option zero_timeout)")
            time.sleep(min(self._poll_s, remaining))
        if state.code != 0:
            raise InstrumentError(f"{self.name} ({self.resource}) ended its zero in status {state.code} "
                                  f"({state.meaning}), not idle", instrument=self.name, resource=self.resource,
                                  fix="stop the unit (*STOP?) and zero it again")

    def _judged_status(self) -> Coded:
        state = self.status()
        if state.code == 4:
            raise InstrumentReportedError(
                f"{self.name} ({self.resource}) reports an overload (status 4)", code="4", meaning=STATUS[4],
                command="*STATUS?", instrument=self.name, resource=self.resource,
                fix="select the high range (*RNG1) or reduce the exposure, then arm again")
        return state

    # --- Electrometer --------------------------------------------------------------------------------

    def arm(self) -> None:
        """Zero if needed, stop and reset, charge mode, start; check it collects; note the starting charge."""
        with self.transport.locked():
            if self.needs_zero():
                self.auto_zero()
            self.stop()
            self.set_measurement_mode("charge")
            self.start()
            state = self._judged_status()
            if state.code != 2:
                raise InstrumentError(f"{self.name} ({self.resource}) did not start collecting (status "
                                      f"{state.code}, {state.meaning})", instrument=self.name,
                                      resource=self.resource, fix="check the unit is warmed up and zeroed")
            self._baseline_c = self._coulombs(self.charge())

    @staticmethod
    def _coulombs(charge: "pint.Quantity") -> float:
        return float(charge.to("C").magnitude)

    def wait_for_exposure(self, timeout: "pint.Quantity") -> None:
        """Poll status and charge until the charge rose and then held still (see the class docstring)."""
        from .transport import seconds

        if self._baseline_c is None:
            raise InstrumentError(f"{self.name} ({self.resource}) is not armed", instrument=self.name,
                                  resource=self.resource, fix="arm the electrometer before the exposure")
        limit = seconds(timeout, "timeout")
        deadline = time.monotonic() + limit
        last: float | None = None
        while True:
            state = self._judged_status()
            if state.code not in (2, 3):
                raise InstrumentError(f"{self.name} ({self.resource}) stopped collecting (status {state.code}, "
                                      f"{state.meaning})", instrument=self.name, resource=self.resource,
                                      fix="arm the electrometer again; do not stop it at its front panel")
            charge = self._coulombs(self.charge())
            change = abs(charge - self._baseline_c)
            if change > self._threshold_c and last is not None and abs(charge - last) <= self._settle * change:
                return
            last = charge
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise InstrumentTimeout(
                    f"{self.name} ({self.resource}) saw no complete exposure within {limit:g} s "
                    f"({Q_(change, 'C').to('pC'):~P} since arming)", instrument=self.name, resource=self.resource,
                    fix="check the chamber is in the beam and connected; give a longer timeout for long "
                        "exposures")
            time.sleep(min(self._poll_s, remaining))

    def read_exposure(self) -> dict[str, "pint.Quantity"]:
        """The collected charge; an overload is an InstrumentReportedError."""
        with self.transport.locked():
            self._judged_status()
            return {"charge": self.charge()}

    def read_now(self) -> dict[str, "pint.Quantity"]:
        """The charge the unit shows now."""
        return {"charge": self.charge()}
