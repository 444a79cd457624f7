"""A GQ GMC Geiger counter (GQ-RFC1201 or GQ-RFC1801) that answers byte for byte, for tests and demos.

Commands are `<NAME[raw parameter]>>`; replies have no terminator. An unknown or malformed command gets no
reply at all, as on the real counter. Counts come from the ambient dose rate (set_field) through the tube's
sensitivity, with Poisson noise from a seeded generator; the heartbeat streams CPS records via unsolicited().
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from xcal.drivers.base import serial_digits
from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.instruments.gq.gmc import (
    ACK,
    COUNT_SIZE,
    CPS_RFC1201_MASK,
    RFC1201,
    RFC1201_VERSION_LENGTH,
    RFC1801,
    SERIAL_SIZE,
    VARIANT_OF_MODEL,
    VARIANTS,
)
from xcal.errors import ConfigError

SETDATETIME = b"SETDATETIME"
DATETIME_PARAMETER = 6
MAX_REQUEST = 64
"""Bytes after a `<` with no `>>` that the simulator keeps waiting for before it drops them as junk."""
CONFIG_SIZE = {RFC1201: 256, RFC1801: 512}
_FIRMWARE = re.compile(r"\d+\.\d\d")
DEFAULT_FIRMWARE = "1.00"


def serial_bytes(serial: str) -> bytes:
    """The 7 bytes GETSERIAL sends for the site's serial, so that the driver reads back that serial.

    A counter's serial is 7 raw bytes, which the driver shows as 14 hex digits. The site's serial, without
    spaces and separators (`- _ . / :`), must be at most 14 hex digits; it is sent zero-padded on the left:
    `0320-77A1` -> 00 00 00 03 20 77 A1, read back as `000000032077A1`, which the driver's serial check
    (xcal.drivers.base.serial_key) takes for `0320-77A1`. Any other serial cannot be a GQ counter's: ConfigError.
    """
    digits = serial_digits(serial)
    if not re.fullmatch(rf"[0-9A-F]{{1,{2 * SERIAL_SIZE}}}", digits):
        raise ConfigError(f"a GQ counter reports its serial number as {SERIAL_SIZE} bytes ({2 * SERIAL_SIZE} hex "
                          f"digits); {serial!r} cannot be one, so the simulator cannot report it",
                          fix="write the counter's serial as the hex digits GETSERIAL gives (e.g. F488E1A7B2C3D4)")
    return bytes.fromhex(digits.zfill(2 * SERIAL_SIZE))


class GmcSimulator:
    """The counter's state and byte-exact replies; serve it with xcal.simulators.server.serve_pty.

    The GETVER reply is `<model>Re <firmware>` from the identity (model like `GMC-300`); a firmware that is
    not `d.dd` (a demo's `SIM-...`) is replaced by DEFAULT_FIRMWARE. The variant defaults to the model's.
    RFC1201 needs a 14-byte version (15 for a model with a letter, as the GMC-300S sends). GETSERIAL gives the
    identity's serial (serial_bytes). RFC1201 CPS records
    (GETCPS, heartbeat) keep the reserved bits 15-14 clear, a count above 14 bits being sent as 3FFF. The
    counted rate is the true rate (dose rate + background) × sensitivity reduced by the non-paralyzable dead
    time: m = n/(1 + nτ).
    """

    def __init__(self, identity: InstrumentIdentity, *, variant: str | None = None,
                 sensitivity_cpm_per_usv_h: float = 153.8, background_usv_h: float = 0.1,
                 dead_time_s: float = 0.0, battery_v: float = 4.1, heartbeat_period_s: float = 1.0, seed: int = 0,
                 clock: Callable[[], float] = time.time) -> None:
        self.name = f"{identity.model} simulator"
        self.identity = identity
        number = identity.model.removeprefix("GMC-")[:3]
        self.variant = variant or VARIANT_OF_MODEL.get(number, RFC1201)
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
        firmware = identity.firmware if _FIRMWARE.fullmatch(identity.firmware) else DEFAULT_FIRMWARE
        self.version = f"{identity.model}Re {firmware}".encode("ascii")
        if self.variant == RFC1201 and len(self.version) not in (RFC1201_VERSION_LENGTH, RFC1201_VERSION_LENGTH + 1):
            raise ValueError(f"an RFC1201 version is {RFC1201_VERSION_LENGTH} bytes (15 as a GMC-300S sends it); "
                             f"{self.version!r} is {len(self.version)}")
        if sensitivity_cpm_per_usv_h <= 0 or background_usv_h < 0 or dead_time_s < 0 or heartbeat_period_s <= 0:
            raise ValueError("sensitivity and heartbeat period must be positive, background and dead time "
                             "not negative")
        self.serial = serial_bytes(identity.serial)
        self.sensitivity = sensitivity_cpm_per_usv_h
        self.background = background_usv_h
        self.dead_time = dead_time_s
        self.battery_v = battery_v
        self.heartbeat_period = heartbeat_period_s
        self.config = bytearray(b"\xff" * CONFIG_SIZE[self.variant])
        self.dose_rate = 0.0
        self.heartbeat = False
        self._next_beat: float | None = None
        self._clock = clock
        self._clock_offset = 0.0
        self._rng = np.random.default_rng(seed)

    def set_field(self, dose_rate_usv_h: float) -> None:
        """The ambient dose rate at the counter (µSv/h), before the background is added."""
        if dose_rate_usv_h < 0:
            raise ValueError(f"a dose rate cannot be negative, got {dose_rate_usv_h}")
        self.dose_rate = float(dose_rate_usv_h)

    def mean_cpm(self) -> float:
        """The mean counted rate: the true rate through the dead time."""
        true_cpm = (self.dose_rate + self.background) * self.sensitivity
        return true_cpm / (1.0 + true_cpm / 60.0 * self.dead_time)

    def split(self, buffer: bytearray) -> list[bytes]:
        """Whole `<...>>` requests as their inner bytes; junk before a `<` is dropped, as the counter ignores it."""
        requests: list[bytes] = []
        while True:
            start = buffer.find(b"<")
            if start < 0:
                buffer.clear()
                return requests
            del buffer[:start]
            end = self._frame_end(buffer)
            if end is None:
                if len(buffer) > MAX_REQUEST:
                    del buffer[:1]
                    continue
                return requests
            requests.append(bytes(buffer[1:end - 2]))
            del buffer[:end]

    @staticmethod
    def _frame_end(buffer: bytearray) -> int | None:
        fixed = 1 + len(SETDATETIME) + DATETIME_PARAMETER + 2
        if buffer[1:1 + len(SETDATETIME)] == SETDATETIME:
            if len(buffer) < fixed:
                return None
            if buffer[fixed - 2:fixed] == b">>":
                return fixed
        end = buffer.find(b">>", 1)
        return None if end < 0 else end + 2

    def command_of(self, request: bytes) -> str | None:
        """The command name (`GETCPM`, `SETDATETIME` ...)."""
        if request.startswith(SETDATETIME):
            return SETDATETIME.decode()
        return request.decode("ascii", errors="replace")

    def respond(self, request: bytes) -> bytes | None:
        """The reply bytes, or None: unknown and malformed commands (and POWEROFF, KEYn) get no reply."""
        if request.startswith(SETDATETIME) and len(request) == len(SETDATETIME) + DATETIME_PARAMETER:
            return self._set_datetime(request[len(SETDATETIME):])
        handler = {
            b"GETVER": lambda: self.version,
            b"GETCPM": lambda: self._count(self._draw(self.mean_cpm())),
            b"GETCPS": self._cps_record,
            b"HEARTBEAT1": self._start_heartbeat,
            b"HEARTBEAT0": self._stop_heartbeat,
            b"GETVOLT": self._volt,
            b"GETSERIAL": lambda: self.serial,
            b"GETCFG": lambda: bytes(self.config),
            b"ECFG": self._erase_config,
            b"CFGUPDATE": lambda: ACK,
            b"GETDATETIME": self._datetime,
        }.get(request)
        if handler is None:
            return None
        return handler()

    def unsolicited(self, now: float) -> bytes | None:
        """A CPS record every heartbeat period while the heartbeat is on."""
        if not self.heartbeat:
            return None
        if self._next_beat is None:
            self._next_beat = now + self.heartbeat_period
            return None
        if now < self._next_beat:
            return None
        self._next_beat = max(self._next_beat + self.heartbeat_period, now)
        return self._cps_record()

    def error_reply(self, request: bytes) -> bytes | None:
        """None: a GQ counter has no error reply, it stays silent."""
        return None

    def device_time(self) -> datetime:
        """The counter's clock (UTC wall time plus whatever SETDATETIME moved it by), whole seconds."""
        now = datetime.fromtimestamp(self._clock() + self._clock_offset, UTC).replace(tzinfo=None)
        return now.replace(microsecond=0)

    def _draw(self, mean: float) -> int:
        return int(self._rng.poisson(max(mean, 0.0)))

    def _count(self, value: int) -> bytes:
        size = COUNT_SIZE[self.variant]
        return min(value, 2 ** (8 * size) - 1).to_bytes(size, "big")

    def _cps_record(self) -> bytes:
        cps = self._draw(self.mean_cpm() / 60.0)
        if self.variant == RFC1801:
            return self._count(cps)
        return min(cps, CPS_RFC1201_MASK).to_bytes(2, "big")

    def _start_heartbeat(self) -> None:
        self.heartbeat = True
        self._next_beat = None
        return None

    def _stop_heartbeat(self) -> None:
        self.heartbeat = False
        return None

    def _volt(self) -> bytes:
        if self.variant == RFC1201:
            return bytes([max(0, min(255, round(self.battery_v * 10)))])
        return f"{self.battery_v:4.2f}v".encode("ascii")[:5]

    def _erase_config(self) -> bytes:
        self.config[:] = b"\xff" * len(self.config)
        return ACK

    def _datetime(self) -> bytes:
        now = self.device_time()
        return bytes([now.year - 2000, now.month, now.day, now.hour, now.minute, now.second]) + ACK

    def _set_datetime(self, parameter: bytes) -> bytes | None:
        yy, month, day, hour, minute, second = parameter
        try:
            wanted = datetime(2000 + yy, month, day, hour, minute, second)
        except ValueError:
            return None
        current = datetime.fromtimestamp(self._clock(), UTC).replace(tzinfo=None)
        self._clock_offset = (wanted - current) / timedelta(seconds=1)
        return ACK
