"""Standard Imaging MAX 4000 / 4000 Plus electrometer over RS-232 (19200 8N1, no handshake, RTS and DTR off).

PARTIAL: no public vendor document; every command here is shown by Autodrive, an open .NET client used with
the meter (`StandardImagingMax4000.evidence`). Commands end LF; `0x03` LF sent on connect clears the line;
every reply ends with a prompt, `=>` OK, `?>` not understood, `!>` execution error, and the value is what
precedes it without CR/LF. Replies are read byte by byte up to the prompt, so one that is garbled or cut short
(its prompt never comes) is a ProtocolError naming the bytes that did come; no byte at all is an
InstrumentTimeout. Commands: `*IDN?`, `*CURCHG?`, `*STATUS?`, `*MODE?`, `*NEEDZ?`, `*AUZ?`, `*RNG0`/`*RNG1`,
`*BIAS?` and `*BIAS<n>?`, `*CHGMAX?`/`*RTCHG?`/`*CHGTHR?`, `*STARTNP?`, `*HALT?`, `*STOP?`.

Unshown, so the driver is strict about it: the layout of the `*IDN?` reply (taken as
`make,model,serial,firmware`), the text of the replies to actions (ignored; only their prompt counts), what
the unit answers to the clearing `0x03` LF (whatever comes within `clear_wait` is dropped), whether it echoes
commands (a reply of more than one line is refused). Any other reply is a ProtocolError.
"""

from __future__ import annotations

import logging
import math
import re
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from ....errors import InstrumentError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from ....units import Q_
from ...base import Driver, Where, poll_until, unexpected_reply
from ...capabilities import InstrumentIdentity
from ...evidence import Command, Evidence, Source
from ...link import LinkSettings
from ...settings import Option

if TYPE_CHECKING:  # pragma: no cover
    import pint

log = logging.getLogger("xcal.drivers.instruments.standard_imaging.max4000")

CLEAR = b"\x03\n"
"""Autodrive sends 0x03 through its line writer, which adds the LF."""
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
FIX = ("check the cable and 19200 8N1 without handshake; this protocol is PARTIAL, so an unexpected reply may "
       "also be firmware the sources do not cover")

_CHARGE = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?) +(mC|nC|pC)$", re.ASCII)
_INTEGER = re.compile(r"^[+-]?\d+$", re.ASCII)
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")
_DEFAULT = Where("MAX 4000")


class Coded(NamedTuple):
    """A numeric state the instrument reports and its meaning from the notes."""

    code: int
    meaning: str


def _unexpected(where: Where, command: str, reply: object, expected: str) -> ProtocolError:
    return unexpected_reply(where, command, reply, expected, FIX)


def parse_reply(command: str, raw: bytes, where: Where = _DEFAULT) -> str:
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


def parse_identity(value: str, where: Where = _DEFAULT) -> InstrumentIdentity:
    """`Standard Imaging,MAX 4000,40123,2.05` -> make, model, serial, firmware."""
    fields = [field.strip() for field in value.split(",")]
    if len(fields) != 4 or not all(fields[:2]):
        raise _unexpected(where, "*IDN?", value, "make,model,serial,firmware (the layout is unconfirmed)")
    return InstrumentIdentity(*fields)


def parse_charge(value: str, where: Where = _DEFAULT) -> pint.Quantity:
    """`12.34 nC` -> 12.34 nC; the unit is mC, nC or pC."""
    found = _CHARGE.match(value)
    if found is None:
        raise _unexpected(where, "*CURCHG?", value, "a number, a space and mC, nC or pC")
    number = float(found.group(1))
    if not math.isfinite(number):
        raise _unexpected(where, "*CURCHG?", value, "a finite number")
    return Q_(number, found.group(2))


def parse_coded(command: str, value: str, table: dict[int, str], where: Where = _DEFAULT) -> Coded:
    """A whole number that must be a key of `table` (`*STATUS?`, `*MODE?`), with its meaning."""
    if not _INTEGER.match(value) or int(value) not in table:
        raise _unexpected(where, command, value, f"one of {', '.join(str(k) for k in table)}")
    return Coded(int(value), table[int(value)])


def parse_needs_zero(value: str, where: Where = _DEFAULT) -> bool:
    """`1` -> a zero is needed, `0` -> not."""
    if value not in ("0", "1"):
        raise _unexpected(where, "*NEEDZ?", value, "0 or 1")
    return value == "1"


def parse_bias(command: str, value: str, where: Where = _DEFAULT) -> int:
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
    """

    driver_name = "si-max4000"
    capabilities = ("Electrometer",)
    protocol_status = "PARTIAL"
    transports = ("serial",)
    link = LinkSettings(read_termination="\n", write_termination="\n", baudrate=19200, bytesize=8, parity="N",
                        stopbits=1, rtscts=False, xonxoff=False, dtr=False, rts=False)
    simulator = "xcal.simulators.si_max4000:Max4000Simulator"
    unexpected_fix = FIX
    option_specs = (
        Option("poll_interval", "time", "200 ms", "time between status polls", low=0, above=True, unit="s",
               timing=True),
        Option("zero_timeout", "time", "120 s", "longest a zero may take (no source says)", low=0, above=True,
               unit="s", timing=True),
        Option("zero_start_wait", "time", "2 s", "how long a zero may take to show status 1 (Autodrive waits "
                                                  "2 s before its first poll)", low=0, unit="s", timing=True),
        Option("exposure_threshold", "charge", "1 pC", "charge change that marks an exposure's start", low=0,
               above=True, unit="C"),
        Option("settle_fraction", "number", 0.001, "change between two polls, as a fraction of the exposure's "
                                                   "charge, that counts as settled", low=0, above=True, high=1),
        Option("clear_wait", "time", "250 ms", "time to drop whatever answers the clearing 0x03 LF (Autodrive "
                                               "reads the port 222 ms after data starts)", low=0, unit="s",
               timing=True),
    )
    evidence = Evidence(
        sources={
            "autodrive": Source("rexcardan/Autodrive, .NET beam-measurement automation that lists the MAX 4000 "
                                "and 4000 Plus as supported electrometers (Max4000.cs, RS232Processor.cs, "
                                "SerialMessenger.cs)", "hardware-client",
                                "https://github.com/rexcardan/Autodrive/tree/master/Autodrive/Autodrive"),
        },
        commands=(
            Command("\x03", ("autodrive",), note="sent as 0x03 LF by Autodrive's line writer"),
            Command("*IDN?", ("autodrive",), note="Autodrive checks only the prompt; the field layout is xcal's"),
            Command("*CURCHG?", ("autodrive",), note="'<number> <unit>', unit mC, nC or pC"),
            Command("*STATUS?", ("autodrive",)),
            Command("*MODE?", ("autodrive",)),
            Command("*NEEDZ?", ("autodrive",)),
            Command("*AUZ?", ("autodrive",), note="Autodrive waits 2 s, then polls *STATUS? while 1"),
            Command("*RNG0", ("autodrive",)),
            Command("*RNG1", ("autodrive",)),
            Command("*BIAS?", ("autodrive",)),
            Command("*BIAS{percent}?", ("autodrive",), note="-100, -50, 0, 50, 100"),
            Command("*CHGMAX?", ("autodrive",)),
            Command("*RTCHG?", ("autodrive",)),
            Command("*CHGTHR?", ("autodrive",)),
            Command("*STARTNP?", ("autodrive",), note="Autodrive does not wait for its reply"),
            Command("*HALT?", ("autodrive",)),
            Command("*STOP?", ("autodrive",)),
        ),
        disagreements=(
            "Clearing the line: xcal's notes say send 0x03; Autodrive sends it through its line writer, so "
            "the bytes are 0x03 LF, and then waits up to 2 s for whatever comes. Chosen: 0x03 LF, then drop "
            "what arrives within `clear_wait`.",
            "Charge units: Autodrive multiplies mC by 10E-06, nC by 10E-09 and pC by 10E-12 (1e-5, 1e-8, "
            "1e-11: off by 10 and, for mC, by 100 from the prefixes its own switch names). Chosen: the SI "
            "prefixes the meter prints (1e-3, 1e-9, 1e-12 C).",
            "Bias read-back: Autodrive maps '0' to +50 % (a slip in its table). Chosen: 0 %.",
            "Reply to *BIAS<n>?: Autodrive checks only that the prompt is '=>'; xcal required the value to "
            "echo the bias set and refused a prompt alone. Chosen: a prompt alone or the bias set.",
            "Zeroing: Autodrive waits 2 s after *AUZ? before it polls *STATUS?, and fails a zero it never "
            "saw running; xcal polled at once and took a first status 0 for a finished zero. Chosen: wait "
            "up to `zero_start_wait` to see status 1, then for it to end; if 1 never shows, ask *NEEDZ?.",
        ),
    )

    def __init__(self, resource: str, **kwargs: Any) -> None:
        super().__init__(resource, **kwargs)
        values = self.option_values
        self._poll_s = float(values["poll_interval"].magnitude)
        self._zero_timeout_s = float(values["zero_timeout"].magnitude)
        self._zero_start_s = float(values["zero_start_wait"].magnitude)
        self._threshold_c = float(values["exposure_threshold"].magnitude)
        self._settle = float(values["settle_fraction"])
        self._clear_s = float(values["clear_wait"].magnitude)
        try:
            self.clear_line()
        except Exception:
            self.close()
            raise
        self._baseline_c: float | None = None

    # --- the line ------------------------------------------------------------------------------------

    def clear_line(self) -> None:
        """Send 0x03 LF, which clears whatever partial command the unit holds, and drop what it answers."""
        with self.transport.locked():
            self.transport.write_bytes(CLEAR)
            if self._clear_s > 0:
                time.sleep(self._clear_s)
            dropped = self.transport.discard_input()
        if dropped:
            log.debug("%s: dropped %r after clearing the line", self.name, dropped)

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

    def charge(self) -> pint.Quantity:
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
        value = self.command(command)
        if value and parse_bias(command, value, self.where) != percent:
            raise _unexpected(self.where, command, value, f"the bias set, {percent}, or the prompt alone")

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

    def auto_zero(self, timeout: pint.Quantity | None = None) -> None:
        """`*AUZ?`; poll `*STATUS?` until it shows zeroing (1), then until it no longer does (idle afterwards).
        A zero never seen running within `zero_start_wait` counts as done only if `*NEEDZ?` then says so."""
        from ...transport import seconds

        limit = seconds(timeout, "timeout") if timeout is not None else self._zero_timeout_s
        self._action("*AUZ?")
        seen: list[Coded] = []

        def started() -> bool | None:
            seen.append(self._judged_status())
            return True if seen[-1].code == 1 else None

        try:
            poll_until(started, timeout_s=self._zero_start_s, interval_s=self._poll_s,
                       timed_out=lambda: InstrumentTimeout("zero not seen"))
        except InstrumentTimeout:
            if self.needs_zero():
                raise InstrumentError(f"{self.name} ({self.resource}) did not start zeroing (status "
                                      f"{seen[-1].code}, {seen[-1].meaning}) and still needs a zero",
                                      instrument=self.name, resource=self.resource,
                                      fix="stop the unit (*STOP?) and zero it again") from None
            return

        def finished() -> Coded | None:
            state = self._judged_status()
            return None if state.code == 1 else state

        state = poll_until(finished, timeout_s=limit, interval_s=self._poll_s, timed_out=lambda: InstrumentTimeout(
            f"{self.name} ({self.resource}) was still zeroing after {limit:g} s", instrument=self.name,
            resource=self.resource, fix="give the zero more time (option zero_timeout)"))
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
    def _coulombs(charge: pint.Quantity) -> float:
        return float(charge.to("C").magnitude)

    def wait_for_exposure(self, timeout: pint.Quantity) -> None:
        """Poll status and charge until the charge rose and then held still (see the class docstring)."""
        from ...transport import seconds

        if self._baseline_c is None:
            raise InstrumentError(f"{self.name} ({self.resource}) is not armed", instrument=self.name,
                                  resource=self.resource, fix="arm the electrometer before the exposure")
        limit = seconds(timeout, "timeout")
        baseline = self._baseline_c
        polls: list[float] = []

        def settled() -> bool | None:
            state = self._judged_status()
            if state.code not in (2, 3):
                raise InstrumentError(f"{self.name} ({self.resource}) stopped collecting (status {state.code}, "
                                      f"{state.meaning})", instrument=self.name, resource=self.resource,
                                      fix="arm the electrometer again; do not stop it at its front panel")
            polls.append(self._coulombs(self.charge()))
            change = abs(polls[-1] - baseline)
            if change > self._threshold_c and len(polls) > 1 and abs(polls[-1] - polls[-2]) <= self._settle * change:
                return True
            return None

        def timed_out() -> InstrumentTimeout:
            change = abs(polls[-1] - baseline) if polls else 0.0
            return InstrumentTimeout(
                f"{self.name} ({self.resource}) saw no complete exposure within {limit:g} s "
                f"({Q_(change, 'C').to('pC'):~P} since arming)", instrument=self.name, resource=self.resource,
                fix="check the chamber is in the beam and connected; give a longer timeout for long exposures")

        poll_until(settled, timeout_s=limit, interval_s=self._poll_s, timed_out=timed_out)

    def read_exposure(self) -> dict[str, pint.Quantity]:
        """The collected charge; an overload is an InstrumentReportedError."""
        with self.transport.locked():
            self._judged_status()
            return {"charge": self.charge()}

    def read_now(self) -> dict[str, pint.Quantity]:
        """The charge the unit shows now."""
        return {"charge": self.charge()}
