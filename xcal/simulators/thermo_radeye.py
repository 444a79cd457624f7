"""A simulated Thermo RadEye in its IR read-head (a pty): commands after the wake byte, and the cyclic record.

Wake byte `@` -> `>`; then `>` + command + LF, answered `>` + value + `#` CR LF (lyra-radeye's reads leave
one character besides `>`, `#` and LF, taken here to be the CR). Commands before the first wake, and commands
the unit does not know, get no answer (no source shows an error reply). With cyclic sending on (`X1`, or
`auto_send=True` for a unit left streaming, as radeye-b20 meets a B20) it sends every period the record
STX `<value> <unit>  0 0 <flags> <type>  <total dose> <hh>` ETX CR LF, laid out as in radeye-b20's example.
Count rates come from the ambient dose rate (`set_field`) plus background through the tube's sensitivity,
with Poisson noise from a seeded generator; the value shown is that count rate, or the dose rate it implies,
in the display unit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import numpy as np

from ..drivers.capabilities import InstrumentIdentity

DEFAULT_IDENTITY = InstrumentIdentity("Thermo", "RadEye G20", "G20-31337", "unknown")
G20_TYPE = "FH41B2"
STX, ETX = b"\x02", b"\x03"
DIGITS_PER_USV_H: dict[int, float] = {0: 100.0, 1: 100.0, 2: 100.0, 10: 100.0}
"""Record digits per µSv/h for the dose-like codes: 0.01 µSv/h, 0.01 µGy/h (H*(10) taken as air kerma),
1 µR/h and 1 µrem/h (1 R and 1 rem taken as 10 mSv)."""
DIGITS_PER_COUNT_RATE: dict[int, float] = {5: 100.0, 3: 10.0}
"""Record digits per cps (code 5, 0.01 cps) and per cpm (code 3, 0.1 cpm)."""


class RadEyeSimulator:
    """The RadEye commands `Vx`, `#R`, `ZR`, `WR`, `Z`, `X1`/`X0` and the cyclic record, over one detector.

    `unit_code` is the display unit (0 Sv/h, 1 Gy/h, 2 R/h, 10 rem/h, 5 cps, 3 cpm). `alarm_level_usv_h` sets
    the ALARM flag (bit 2) when the shown dose rate reaches it; `overload()` sets bit 1 and `switch_off()`
    sends `@CIAO` (test hooks). `Z` answers the counts of one window as a whole number. The last record field,
    whose meaning no source knows (radeye-b20: an unverified checksum of two hex digits), is a frame counter
    here; `sent` keeps every record's fields as sent.
    """

    name = "thermo-radeye"

    def __init__(self, identity: InstrumentIdentity = DEFAULT_IDENTITY, *, device_type: str = G20_TYPE,
                 unit_code: int = 0, sensitivity_cps_per_usv_h: float = 100.0, background_usv_h: float = 0.05,
                 window_s: float = 1.0, seed: int = 0, calibration_date: str = "240115",
                 auto_send: bool = False, auto_send_period_s: float = 1.0, alarm_level_usv_h: float | None = None,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        if not device_type.isalnum():
            raise ValueError(f"a RadEye type is letters and digits, not {device_type!r}")
        if unit_code not in DIGITS_PER_USV_H and unit_code not in DIGITS_PER_COUNT_RATE:
            raise ValueError(f"unit code {unit_code} is not one the sources decode")
        if not sensitivity_cps_per_usv_h > 0 or not window_s > 0 or not auto_send_period_s > 0:
            raise ValueError("the sensitivity, the counting window and the period must be more than zero")
        self.identity = identity
        self.device_type = device_type
        self.unit_code = unit_code
        self.sensitivity = float(sensitivity_cps_per_usv_h)
        self.background_usv_h = float(background_usv_h)
        self.window_s = float(window_s)
        self.calibration_date = calibration_date
        self.auto_send_period_s = float(auto_send_period_s)
        self.alarm_level = alarm_level_usv_h
        self.clock = clock
        self.field_usv_h = 0.0
        self.awake = False
        self.auto_send = auto_send
        self.overloaded = False
        self.received: list[bytes] = []
        self.records_sent = 0
        self.sent: list[str] = []
        self.total_dose_usv = 0.0
        self._last_sent: float | None = None
        self._goodbye = False
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()

    def set_field(self, dose_rate_usv_h: float) -> None:
        """The ambient dose rate at the meter (background is added to it)."""
        if not dose_rate_usv_h >= 0:
            raise ValueError(f"a dose rate cannot be negative: {dose_rate_usv_h}")
        with self._lock:
            self.field_usv_h = float(dose_rate_usv_h)

    def overload(self, on: bool = True) -> None:
        """Set (or clear) the overload flag in the records."""
        with self._lock:
            self.overloaded = on

    def switch_off(self) -> None:
        """Send `@CIAO` with the next poll and stop sending records, as a unit switching off."""
        with self._lock:
            self._goodbye = True

    # --- SimProtocol --------------------------------------------------------------------------------

    def split(self, buffer: bytearray) -> list[bytes]:
        """A wake byte at the front is one request; otherwise requests are lines ending LF (a CR is dropped)."""
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
        """`>` to the wake byte; `>value#` CR LF to a known command from an awake unit; else nothing."""
        with self._lock:
            self.received.append(request)
            if request == b"@":
                self.awake = True
                return b">"
            command = self.command_of(request)
            if not self.awake or command is None:
                return None
            value = self._answer(command)
        return None if value is None else b">" + value.encode("ascii") + b"#\r\n"

    def unsolicited(self, now: float) -> bytes | None:
        """The cyclic record every `auto_send_period_s` while cyclic sending is on; `@CIAO` once on switch-off."""
        with self._lock:
            if self._goodbye:
                self._goodbye = False
                self.auto_send = False
                return b"@CIAO\r\n"
            if not self.auto_send:
                self._last_sent = None
                return None
            if self._last_sent is not None and now - self._last_sent < self.auto_send_period_s:
                return None
            self._last_sent = now
            return self.record()

    def error_reply(self, request: bytes) -> bytes | None:
        """No source shows the RadEye an error reply: nothing."""
        return None

    # --- answers ------------------------------------------------------------------------------------

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
            return str(round(self._cps()))
        if command in ("X1", "X0"):
            self.auto_send = command == "X1"
            self._last_sent = None
            return ""
        return None

    def _cps(self) -> float:
        mean_cps = (self.field_usv_h + self.background_usv_h) * self.sensitivity
        return float(self._rng.poisson(mean_cps * self.window_s)) / self.window_s

    def record(self) -> bytes:
        """One cyclic record as the unit sends it now (STX ... ETX CR LF); the caller holds the lock."""
        cps = self._cps()
        dose_rate = cps / self.sensitivity
        if self.unit_code in DIGITS_PER_COUNT_RATE:
            shown = cps * (60.0 if self.unit_code == 3 else 1.0)
            digits = round(shown * DIGITS_PER_COUNT_RATE[self.unit_code])
        else:
            digits = round(dose_rate * DIGITS_PER_USV_H[self.unit_code])
        flags = (2 if self.overloaded else 0) | (4 if self.alarm_level is not None
                                                  and dose_rate >= self.alarm_level else 0)
        self.total_dose_usv += dose_rate * self.auto_send_period_s / 3600.0
        self.records_sent += 1
        check = self.records_sent % 256
        payload = (f"{digits} {self.unit_code}  0 0 {flags:02X} {self.device_type}  "
                   f"{round(self.total_dose_usv * 100)} {check:02X}")
        self.sent.append(payload)
        return STX + payload.encode("ascii") + ETX + b"\r\n"
