"""A simulated Ludlum 375 area monitor with its calibration-mode switch set: a record stream over a pty.

Every `period_s` (2 s on the real monitor) it sends `<reading> <date> <time>[ ALARM][ FAIL]` and CR LF, in
the layout the driver documents (space-separated; the notes give no separators). It accepts no commands.
The reading comes from the ambient dose rate set by `set_field` plus background, counted by the detector
with Poisson noise from a seeded generator and shown in the monitor's unit.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Callable

import numpy as np

from ..drivers.capabilities import InstrumentIdentity

DEFAULT_IDENTITY = InstrumentIdentity("Ludlum", "375", "375-0815", "unknown")
DISPLAY_PER_USV_H_MR_H = 0.1
"""mR/h shown per µSv/h of ambient dose equivalent: the usual rule of thumb 1 mR/h ≈ 10 µSv/h."""


class Ludlum375Simulator:
    """The record stream of one Ludlum 375; `set_field` sets the ambient dose rate at the detector.

    `display_per_usv_h` converts µSv/h into the unit the monitor shows (0.1 for mR/h); `alarm_level` (in
    that unit) sets ALARM when the reading reaches it; `fail(True)` adds FAIL (a test hook).
    """

    name = "ludlum-375"

    def __init__(self, identity: InstrumentIdentity = DEFAULT_IDENTITY, *, period_s: float = 2.0,
                 display_per_usv_h: float = DISPLAY_PER_USV_H_MR_H, alarm_level: float | None = 2.0,
                 sensitivity_cps_per_usv_h: float = 50.0, background_usv_h: float = 0.05,
                 seed: int = 0, clock: Callable[[], datetime] = datetime.now) -> None:
        if not period_s > 0 or not display_per_usv_h > 0 or not sensitivity_cps_per_usv_h > 0:
            raise ValueError("the period, the display factor and the sensitivity must be more than zero")
        self.identity = identity
        self.period_s = float(period_s)
        self.display_per_usv_h = float(display_per_usv_h)
        self.alarm_level = alarm_level
        self.sensitivity = float(sensitivity_cps_per_usv_h)
        self.background_usv_h = float(background_usv_h)
        self.clock = clock
        self.field_usv_h = 0.0
        self.failed = False
        self.records_sent = 0
        self._next_at: float | None = None
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()

    def set_field(self, dose_rate_usv_h: float) -> None:
        """The ambient dose rate at the detector (background is added to it)."""
        if not dose_rate_usv_h >= 0:
            raise ValueError(f"a dose rate cannot be negative: {dose_rate_usv_h}")
        with self._lock:
            self.field_usv_h = float(dose_rate_usv_h)

    def fail(self, on: bool = True) -> None:
        """Add (or clear) the FAIL status in the records."""
        with self._lock:
            self.failed = on

    # --- SimProtocol --------------------------------------------------------------------------------

    def split(self, buffer: bytearray) -> list[bytes]:
        """The monitor takes no commands: what arrives is discarded."""
        buffer.clear()
        return []

    def command_of(self, request: bytes) -> str | None:
        return None

    def respond(self, request: bytes) -> bytes | None:
        return None

    def error_reply(self, request: bytes) -> bytes | None:
        return None

    def unsolicited(self, now: float) -> bytes | None:
        """The next record when `period_s` has passed since the last one (the first at once)."""
        with self._lock:
            if self._next_at is not None and now < self._next_at:
                return None
            self._next_at = now + self.period_s if self._next_at is None else self._next_at + self.period_s
            if self._next_at <= now:
                self._next_at = now + self.period_s
            self.records_sent += 1
            return self.record().encode("ascii") + b"\r\n"

    def record(self) -> str:
        """One record as the monitor would send it now (without CR LF)."""
        mean_cps = (self.field_usv_h + self.background_usv_h) * self.sensitivity
        cps = self._rng.poisson(mean_cps * self.period_s) / self.period_s
        reading = cps / self.sensitivity * self.display_per_usv_h
        stamp = self.clock()
        status = []
        if self.alarm_level is not None and reading >= self.alarm_level:
            status.append("ALARM")
        if self.failed:
            status.append("FAIL")
        return " ".join([f"{reading:06.1f}", stamp.strftime("%m/%d/%y"), stamp.strftime("%H:%M:%S"), *status])
