"""A simulated Ludlum 375 area monitor with its CAL MODE dipswitch set: a record stream over a pty.

Every `period_s` (2 s on the real monitor) it sends the manual's RS-232 Output record (page 4-3): the reading
`DDDD.D`, the status digits audio, high alarm, low alarm, over range, monitor (`1` = on), the error code
(`0`: none) and CR LF. With `layout="printer"` it sends the manual's printer record instead (page 5-6,
`DDDD.D   MM/DD/YY HH:MM:SS ALARM` or `  FAIL`), only while an alarm or a failure is on. It accepts no
commands. The reading comes from the ambient dose rate set by `set_field` plus background, counted by the
detector with Poisson noise from a seeded generator and shown in the monitor's unit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import numpy as np

from ..drivers.capabilities import InstrumentIdentity

DEFAULT_IDENTITY = InstrumentIdentity("Ludlum", "375", "375-0815", "unknown")
DISPLAY_PER_USV_H_MR_H = 0.1
"""mR/h shown per µSv/h of ambient dose equivalent: the usual rule of thumb 1 mR/h ≈ 10 µSv/h."""
TOP_OF_SCALE = 9999.9
"""The largest reading the six-character field holds."""
LAYOUTS = ("cal", "printer")


class Ludlum375Simulator:
    """The record stream of one Ludlum 375; `set_field` sets the ambient dose rate at the detector.

    `display_per_usv_h` converts µSv/h into the unit the monitor shows (0.1 for mR/h); `alarm_level` (in
    that unit) sets the high alarm when the reading reaches it, `low_alarm_level` the low alarm; a reading
    above 9999.9 shows 9999.9 with over range; `fail(True)` sets error code `1` in CAL MODE records and FAIL
    in printer records (a test hook: the manual lists no codes). The audio digit follows the high alarm and the
    monitor digit is always on (the manual does not say what either means beyond "1 = on").
    """

    name = "ludlum-375"

    def __init__(self, identity: InstrumentIdentity = DEFAULT_IDENTITY, *, period_s: float = 2.0,
                 display_per_usv_h: float = DISPLAY_PER_USV_H_MR_H, alarm_level: float | None = 2.0,
                 low_alarm_level: float | None = None, sensitivity_cps_per_usv_h: float = 50.0,
                 background_usv_h: float = 0.05, seed: int = 0, layout: str = "cal",
                 clock: Callable[[], datetime] = datetime.now) -> None:
        if not period_s > 0 or not display_per_usv_h > 0 or not sensitivity_cps_per_usv_h > 0:
            raise ValueError("the period, the display factor and the sensitivity must be more than zero")
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
        self.layout = layout
        self.low_alarm_level = low_alarm_level
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
            line = self.record()
            if line is None:
                return None
            self.records_sent += 1
            return line.encode("ascii") + b"\r\n"

    def record(self) -> str | None:
        """One record as the monitor would send it now (without CR LF); None for a printer with nothing to say."""
        mean_cps = (self.field_usv_h + self.background_usv_h) * self.sensitivity
        cps = self._rng.poisson(mean_cps * self.period_s) / self.period_s
        reading = cps / self.sensitivity * self.display_per_usv_h
        over = reading > TOP_OF_SCALE
        shown = f"{min(reading, TOP_OF_SCALE):06.1f}"
        high = self.alarm_level is not None and reading >= self.alarm_level
        if self.layout == "printer":
            if not (high or self.failed):
                return None
            word = " FAIL" if self.failed else "ALARM"
            return f"{shown}   {self.clock():%m/%d/%y %H:%M:%S} {word}"
        low = self.low_alarm_level is not None and reading >= self.low_alarm_level
        bits = (high, high, low, over, True)                          # audio sounds with the high alarm
        return shown + "".join("1" if bit else "0" for bit in bits) + ("1" if self.failed else "0")
