"""A counter running Rad Pro firmware, answering its ASCII line protocol, for tests and demos.

Requests end CR LF (or LF); replies end CR LF, or LF alone with `reply_end="\n"` as before firmware 2.0rc5.
Success replies start `OK`, anything it does not understand gets `ERROR`. Pulses accumulate with the
simulator's clock from the ambient dose rate (set_field) through the tube sensitivity, with Poisson noise
from a seeded generator; the pulse counter wraps at 2**32 and the datalog gains a record every log interval,
the first one of a logging session (after start and after `RESET datalog`) sent after an empty record (`;;`),
as the firmware's comm.c does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.instruments.radpro.radpro import DATALOG_HEADER, PULSE_COUNT_MODULUS
from xcal.simulators.protocol import LineProtocol

MAX_LOG_RECORDS_PER_STEP = 10_000
"""Records the datalog may gain in one clock step; beyond, the log skips ahead (a clock jumped far)."""


class RadProSimulator(LineProtocol):
    """The device's state and replies; serve it with xcal.simulators.server.serve_pty.

    `GET deviceId` answers `<make> <model>;<firmware>;<serial>` from the identity. `clock` gives the time in
    seconds (time.time by default; tests pass a fake one to step it). The counted rate is the true rate
    ((dose rate + background) × sensitivity) reduced by the non-paralyzable dead time, m = n/(1 + nτ);
    `GET tubeRate` is a Poisson draw over `rate_window_s` of it.
    """

    name = "Rad Pro simulator"
    line_end = "\r\n"
    reply_end = "\r\n"
    encoding = "ascii"

    def __init__(self, identity: InstrumentIdentity, *, sensitivity_cpm_per_usv_h: float = 153.8,
                 dead_time_s: float = 0.0, background_usv_h: float = 0.1, battery_v: float = 1.421,
                 pulse_count: int = 0, tube_time_s: float = 0.0, rate_window_s: float = 60.0,
                 log_interval_s: float = 60.0, seed: int = 0, clock: Callable[[], float] = time.time,
                 reply_end: str = "\r\n") -> None:
        if sensitivity_cpm_per_usv_h <= 0 or rate_window_s <= 0 or log_interval_s <= 0:
            raise ValueError("sensitivity, rate window and log interval must be positive")
        if dead_time_s < 0 or background_usv_h < 0 or not 0 <= pulse_count < PULSE_COUNT_MODULUS:
            raise ValueError("dead time and background must not be negative; the pulse count is a uint32")
        self.name = f"{identity.model} simulator"
        self.device_id = f"{identity.make} {identity.model};{identity.firmware};{identity.serial}"
        self.sensitivity = sensitivity_cpm_per_usv_h
        self.dead_time = dead_time_s
        self.background = background_usv_h
        self.battery_v = battery_v
        self.rate_window = rate_window_s
        self.log_interval = log_interval_s
        self.reply_end = reply_end
        self.dose_rate = 0.0
        self.datalog: list[tuple[int, int, bool]] = []
        self._session_start = True
        self._pulses = pulse_count
        self._tube_time = tube_time_s
        self._clock = clock
        self._last = clock()
        self._next_log = self._last + log_interval_s
        self._time_offset = 0.0
        self._rng = np.random.default_rng(seed)

    def set_field(self, dose_rate_usv_h: float) -> None:
        """The ambient dose rate at the counter (µSv/h), before the background; pulses so far keep the old rate."""
        if dose_rate_usv_h < 0:
            raise ValueError(f"a dose rate cannot be negative, got {dose_rate_usv_h}")
        self._advance()
        self.dose_rate = float(dose_rate_usv_h)

    def mean_cpm(self) -> float:
        """The mean counted rate: the true rate through the dead time."""
        true_cpm = (self.dose_rate + self.background) * self.sensitivity
        return true_cpm / (1.0 + true_cpm / 60.0 * self.dead_time)

    @property
    def pulse_count(self) -> int:
        """The pulse counter as the device shows it (wrapped to uint32)."""
        self._advance()
        return self._pulses % PULSE_COUNT_MODULUS

    def split(self, buffer: bytearray) -> list[bytes]:
        """Complete request lines: each ends at LF, a CR before it dropped (the firmware takes both)."""
        requests = []
        while (index := buffer.find(b"\n")) >= 0:
            requests.append(bytes(buffer[:index]).removesuffix(b"\r"))
            del buffer[: index + 1]
        return requests

    def command_of(self, request: bytes) -> str | None:
        """The verb and the variable (`GET tubeRate`), for faults that target one command."""
        words = request.decode(self.encoding, errors="replace").split()
        return " ".join(words[:2]) or None

    def error_reply(self, request: bytes) -> bytes | None:
        """The device's only error reply."""
        return b"ERROR" + self.reply_end.encode(self.encoding)

    def handle_line(self, line: str) -> str | None:
        """The reply to one request line."""
        self._advance()
        words = line.split()
        if len(words) < 2:
            return "ERROR"
        verb, variable, arguments = words[0], words[1], words[2:]
        if verb == "GET":
            return self._get(variable, arguments)
        if verb == "SET" and variable == "deviceTime" and len(arguments) == 1 and arguments[0].isdigit():
            self._time_offset = int(arguments[0]) - self._clock()
            return "OK"
        if verb == "RESET" and variable == "datalog" and not arguments:
            self.datalog.clear()
            self._session_start = True
            return "OK"
        return "ERROR"

    def _get(self, variable: str, arguments: list[str]) -> str:
        if variable == "datalog":
            return self._datalog(arguments)
        if arguments:
            return "ERROR"
        value = {
            "deviceId": lambda: self.device_id,
            "deviceBatteryVoltage": lambda: f"{self.battery_v:.3f}",
            "deviceTime": lambda: str(int(self._device_time(self._clock()))),
            "tubeTime": lambda: str(int(self._tube_time)),
            "tubePulseCount": lambda: str(self._pulses % PULSE_COUNT_MODULUS),
            "tubeRate": lambda: f"{self._rate():.3f}",
            "tubeSensitivity": lambda: f"{self.sensitivity:.3f}",
            "tubeDeadTime": lambda: f"{self.dead_time:.7f}",
        }.get(variable)
        return "ERROR" if value is None else f"OK {value()}"

    def _datalog(self, arguments: list[str]) -> str:
        """`GET datalog [start] [end] [max-record-num]`: the records in range, `;;` before a session's first."""
        if len(arguments) > 3 or not all(a.isdigit() for a in arguments):
            return "ERROR"
        start = int(arguments[0]) if arguments else 0
        end = int(arguments[1]) if len(arguments) > 1 else PULSE_COUNT_MODULUS - 1
        most = int(arguments[2]) if len(arguments) > 2 else len(self.datalog)
        kept = [(";" if first else "") + f";{t},{n}" for t, n, first in self.datalog if start <= t <= end][:most]
        return "OK " + DATALOG_HEADER + "".join(kept)

    def _rate(self) -> float:
        return float(self._rng.poisson(self.mean_cpm() * self.rate_window / 60.0)) * 60.0 / self.rate_window

    def _device_time(self, at: float) -> float:
        return at + self._time_offset

    def _advance(self) -> None:
        now = self._clock()
        if now - self._next_log > MAX_LOG_RECORDS_PER_STEP * self.log_interval:
            self._accumulate(now)
            self._next_log = now + self.log_interval
        while self._next_log <= now:
            self._accumulate(self._next_log)
            self.datalog.append((int(self._device_time(self._next_log)), self._pulses % PULSE_COUNT_MODULUS,
                                 self._session_start))
            self._session_start = False
            self._next_log += self.log_interval
        self._accumulate(now)

    def _accumulate(self, until: float) -> None:
        elapsed = until - self._last
        if elapsed <= 0:
            return
        self._pulses += int(self._rng.poisson(self.mean_cpm() / 60.0 * elapsed))
        self._tube_time += elapsed
        self._last = until
