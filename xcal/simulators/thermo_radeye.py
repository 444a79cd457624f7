"""A simulated Thermo RadEye in its IR dock (a pty): wake byte `@` -> `>`, then `>` + command + `\\n`.

Replies are `>` + value + `#\\n`. Commands before the first wake, and commands the unit does not know, get
no answer (the notes give no error reply). Count rates come from the ambient dose rate set by `set_field`
plus background, through the tube's sensitivity, with Poisson noise from a seeded generator.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Callable

import numpy as np

from ..drivers.capabilities import InstrumentIdentity

DEFAULT_IDENTITY = InstrumentIdentity("Thermo", "RadEye G20", "G20-31337", "unknown")
G20_TYPE = "FH41B2"


class RadEyeSimulator:
    """The RadEye commands `Vx`, `#R`, `ZR`, `Z`, `X1`/`X0` and `WR` over one simulated detector.

    `Z` answers two whole numbers: the first is the reported field, the second the raw count rate (cps)
    over `window_s`. For a unit of type FH41B2 the first field follows the notes' unconfirmed G20 reading
    (dose rate in units of 10 nSv/h); for any other type it is the raw count rate in cps as well.
    With `X1` a `Z` record is sent every `auto_send_period_s` until `X0`.
    """

    name = "thermo-radeye"

    def __init__(self, identity: InstrumentIdentity = DEFAULT_IDENTITY, *, device_type: str = G20_TYPE,
                 sensitivity_cps_per_usv_h: float = 100.0, background_usv_h: float = 0.05,
                 window_s: float = 1.0, seed: int = 0, calibration_date: str = "240115",
                 auto_send_period_s: float = 1.0,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        if not device_type.isalnum():
            raise ValueError(f"a RadEye type is letters and digits, not {device_type!r}")
        if not sensitivity_cps_per_usv_h > 0 or not window_s > 0:
            raise ValueError("the sensitivity and the counting window must be more than zero")
        self.identity = identity
        self.device_type = device_type
        self.sensitivity = float(sensitivity_cps_per_usv_h)
        self.background_usv_h = float(background_usv_h)
        self.window_s = float(window_s)
        self.calibration_date = calibration_date
        self.auto_send_period_s = float(auto_send_period_s)
        self.clock = clock
        self.field_usv_h = 0.0
        self.awake = False
        self.auto_send = False
        self.received: list[bytes] = []
        self._last_sent: float | None = None
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()

    def set_field(self, dose_rate_usv_h: float) -> None:
        """The ambient dose rate at the meter (background is added to it)."""
        if not dose_rate_usv_h >= 0:
            raise ValueError(f"a dose rate cannot be negative: {dose_rate_usv_h}")
        with self._lock:
            self.field_usv_h = float(dose_rate_usv_h)

    # --- SimProtocol --------------------------------------------------------------------------------

    def split(self, buffer: bytearray) -> list[bytes]:
        """A wake byte at the front is one request; otherwise requests are lines ending `\\n`."""
        requests = []
        while buffer:
            if buffer[0] == ord("@"):
                requests.append(b"@")
                del buffer[:1]
                continue
            index = buffer.find(b"\n")
            if index < 0:
                break
            requests.append(bytes(buffer[:index]).rstrip(b"\r"))
            del buffer[: index + 1]
        return requests

    def command_of(self, request: bytes) -> str | None:
        """`@` for the wake byte, else the command without its leading `>`."""
        if request == b"@":
            return "@"
        text = request.decode("ascii", errors="replace")
        return text[1:] if text.startswith(">") and len(text) > 1 else None

    def respond(self, request: bytes) -> bytes | None:
        """`>` to the wake byte; `>value#\\n` to a known command from an awake unit; else nothing."""
        with self._lock:
            self.received.append(request)
            if request == b"@":
                self.awake = True
                return b">"
            command = self.command_of(request)
            if not self.awake or command is None:
                return None
            value = self._answer(command)
        return None if value is None else self._frame(value)

    def unsolicited(self, now: float) -> bytes | None:
        """A `Z` record every `auto_send_period_s` while auto-send is on."""
        with self._lock:
            if not self.auto_send:
                self._last_sent = None
                return None
            if self._last_sent is not None and now - self._last_sent < self.auto_send_period_s:
                return None
            self._last_sent = now
            return self._frame(self._rates())

    def error_reply(self, request: bytes) -> bytes | None:
        """The notes give the RadEye no error reply: nothing."""
        return None

    # --- answers ------------------------------------------------------------------------------------

    @staticmethod
    def _frame(value: str) -> bytes:
        return b">" + value.encode("ascii") + b"#\n"

    def _answer(self, command: str) -> str | None:
        if command == "Vx":
            return self.device_type
        if command == "#R":
            return self.identity.serial
        if command == "ZR":
            return self.clock().strftime("%y%m%d%H%M%S")
        if command == "WR":
            return self.calibration_date
        if command == "Z":
            return self._rates()
        if command in ("X1", "X0"):
            self.auto_send = command == "X1"
            return ""
        return None

    def _rates(self) -> str:
        mean_cps = (self.field_usv_h + self.background_usv_h) * self.sensitivity
        cps = self._rng.poisson(mean_cps * self.window_s) / self.window_s
        if self.device_type == G20_TYPE:
            first = round(cps / self.sensitivity * 1000.0 / 10.0)
        else:
            first = round(cps)
        return f"{first} {round(cps)}"
