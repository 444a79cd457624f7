"""A simulated Standard Imaging MAX 4000 electrometer: prompt-terminated replies over RS-232 (a pty).

Commands end `\\n` (a CR before it is ignored); `0x03` clears a partial command and is not answered. Each
reply is the value, CR LF and the prompt `=>`, or the prompt alone: `?>` for a command the unit does not
know, `!>` for one it cannot carry out now. The empty line after a clearing `0x03` LF (as Autodrive sends it)
is such a line and gets `?>`: no source shows what the meter answers, so the driver's drain is exercised.
It collects air kerma / N_K while collecting charge.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..drivers.capabilities import InstrumentIdentity
from .protocol import SimProtocol

if TYPE_CHECKING:  # pragma: no cover
    from .room import SimulatedExposure

N_K_DIAGNOSTIC_30CC = 9.4e5
"""Air-kerma calibration factor (Gy/C) of a 30 cm³ diagnostic chamber, (W/e) / (ρ_air V) ≈ 9.4e5 Gy/C."""

DEFAULT_IDENTITY = InstrumentIdentity("Standard Imaging", "MAX 4000", "40123", "2.05")
CLEAR = 0x03
OK, UNKNOWN, FAILED = b"=>", b"?>", b"!>"
BIASES = (-100, -50, 0, 50, 100)
IDLE, ZEROING, COLLECTING, THRESHOLD, OVERLOAD = 0, 1, 2, 3, 4
MEASUREMENT_MODES = {"*CHGMAX?": "charge", "*RTCHG?": "charge-rate", "*CHGTHR?": "triggered"}
_MODE_CODES = {"charge": (9, 11), "charge-rate": (10, 12), "triggered": (22, 11)}
"""Measurement mode -> (*MODE? code when idle, when collecting)."""


class _Refused(Exception):
    """A command answered with a prompt of its own (`?>` or `!>`) instead of a value."""

    def __init__(self, prompt: bytes) -> None:
        super().__init__(prompt)
        self.prompt = prompt


class Max4000Simulator(SimProtocol):
    """The MAX 4000's commands over one simulated ion chamber of calibration factor `n_k_gy_per_c`.

    States (`*STATUS?`): idle, zeroing (for `zero_duration_s` after `*AUZ?`), collecting, threshold armed
    (started in triggered mode; the first exposure makes it collect), overload (`overload()`, a test hook;
    `*STOP?` clears it). `*STARTNP?` is refused (`!>`) while zeroing, overloaded or when a zero is needed;
    mode, range and zero commands while collecting. The charge's sign follows the bias; 0 % collects nothing.
    """

    name = "si-max4000"

    def __init__(self, identity: InstrumentIdentity = DEFAULT_IDENTITY, *,
                 n_k_gy_per_c: float = N_K_DIAGNOSTIC_30CC, needs_zero: bool = False,
                 zero_duration_s: float = 0.2, bias: int = 100,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if bias not in BIASES:
            raise ValueError(f"bias {bias} is not one of {BIASES}")
        if not n_k_gy_per_c > 0:
            raise ValueError(f"N_K must be more than zero, got {n_k_gy_per_c}")
        self.identity = identity
        self.n_k = float(n_k_gy_per_c)
        self.zero_duration_s = float(zero_duration_s)
        self.clock = clock
        self.bias = bias
        self.needs_zero = needs_zero
        self.state = IDLE
        self.measurement_mode = "charge"
        self.high_range = False
        self.charge_c = 0.0
        self.exposures = 0
        self.clears = 0
        self.received: list[str] = []
        self._zero_done_at = 0.0
        self._lock = threading.RLock()

    # --- SimProtocol --------------------------------------------------------------------------------

    def split(self, buffer: bytearray) -> list[bytes]:
        """Complete lines after the last 0x03 (which discards what came before it)."""
        cleared = buffer.rfind(bytes([CLEAR]))
        if cleared >= 0:
            del buffer[: cleared + 1]
            self.clears += 1
        requests = []
        while (index := buffer.find(b"\n")) >= 0:
            requests.append(bytes(buffer[:index]).rstrip(b"\r"))
            del buffer[: index + 1]
        return requests

    def command_of(self, request: bytes) -> str | None:
        """The command as sent: `*CURCHG?`, `*STATUS?` ..."""
        return request.decode("ascii", errors="replace").strip() or None

    def respond(self, request: bytes) -> bytes | None:
        """The value, CR LF and `=>`; or `?>` / `!>` alone."""
        line = request.decode("ascii", errors="replace").strip()
        with self._lock:
            self.received.append(line)
            self._advance()
            try:
                value = self._dispatch(line)
            except _Refused as refused:
                return refused.prompt
        return value.encode("ascii") + b"\r\n" + OK if value else OK

    def unsolicited(self, now: float) -> bytes | None:
        return None

    def error_reply(self, request: bytes) -> bytes | None:
        """The execution-error prompt."""
        return FAILED

    # --- the room model and test hooks ---------------------------------------------------------------

    def on_exposure(self, exposure: SimulatedExposure) -> bool:
        """Collect air kerma / N_K (signed by the bias); False when not collecting or armed for a threshold."""
        with self._lock:
            self._advance()
            if self.state not in (COLLECTING, THRESHOLD):
                return False
            self.state = COLLECTING
            sign = (self.bias > 0) - (self.bias < 0)
            self.charge_c += sign * exposure.air_kerma_ugy * 1e-6 / self.n_k
            self.exposures += 1
            return True

    def overload(self) -> None:
        """Put the unit in overload (status 4, mode 14) until `*STOP?`."""
        with self._lock:
            self.state = OVERLOAD

    # --- commands ------------------------------------------------------------------------------------

    def _advance(self) -> None:
        if self.state == ZEROING and self.clock() >= self._zero_done_at:
            self.state = IDLE
            self.needs_zero = False

    def _dispatch(self, line: str) -> str:
        simple = {"*IDN?": self._identity, "*CURCHG?": self._charge, "*STATUS?": lambda: str(self.state),
                  "*MODE?": self._mode, "*NEEDZ?": lambda: "1" if self.needs_zero else "0",
                  "*BIAS?": lambda: str(self.bias), "*AUZ?": self._zero, "*STARTNP?": self._start,
                  "*HALT?": self._halt, "*STOP?": self._stop, "*RNG0": lambda: self._range(False),
                  "*RNG1": lambda: self._range(True)}
        if line in simple:
            return simple[line]()
        if line in MEASUREMENT_MODES:
            self._idle_only()
            self.measurement_mode = MEASUREMENT_MODES[line]
            return ""
        if line.startswith("*BIAS") and line.endswith("?") and line[5:-1] in {str(b) for b in BIASES}:
            self._idle_only()
            self.bias = int(line[5:-1])
            return str(self.bias)
        raise _Refused(UNKNOWN)

    def _identity(self) -> str:
        i = self.identity
        return f"{i.make},{i.model},{i.serial},{i.firmware}"

    def _charge(self) -> str:
        size = abs(self.charge_c)
        if size < 1e-9:
            return f"{self.charge_c * 1e12:.4f} pC"
        if size < 1e-3:
            return f"{self.charge_c * 1e9:.4f} nC"
        return f"{self.charge_c * 1e3:.4f} mC"

    def _mode(self) -> str:
        if self.state == OVERLOAD:
            return "14"
        if self.state == ZEROING:
            return "4"
        idle, collecting = _MODE_CODES[self.measurement_mode]
        return str(collecting if self.state == COLLECTING else idle)

    def _idle_only(self) -> None:
        if self.state != IDLE:
            raise _Refused(FAILED)

    def _zero(self) -> str:
        self._idle_only()
        self.state = ZEROING
        self._zero_done_at = self.clock() + self.zero_duration_s
        return ""

    def _start(self) -> str:
        if self.state in (ZEROING, OVERLOAD) or self.needs_zero:
            raise _Refused(FAILED)
        if self.state == IDLE:
            self.state = THRESHOLD if self.measurement_mode == "triggered" else COLLECTING
        return ""

    def _halt(self) -> str:
        if self.state in (COLLECTING, THRESHOLD):
            self.state = IDLE
        return ""

    def _stop(self) -> str:
        if self.state != ZEROING:
            self.state = IDLE
        self.charge_c = 0.0
        return ""

    def _range(self, high: bool) -> str:
        self._idle_only()
        self.high_range = high
        return ""
