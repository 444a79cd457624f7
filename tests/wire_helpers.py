"""Test protocols and exposures shared by the transport, server and simulator tests (one copy of each).

`Echo` is a line instrument, `Framed` a binary one, `Meter` a CR LF meter that can also stream; `exposure`
builds the simulated exposure an electrometer simulator integrates.
"""

from __future__ import annotations

import numpy as np

from xcal.simulators.protocol import LineProtocol
from xcal.simulators.room import SimulatedExposure


class Echo(LineProtocol):
    """Answers `ECHO <line>`, except `SET ...` which has no reply; the command is the first word."""

    name = "echo"

    def handle_line(self, line: str) -> str | None:
        return None if line.startswith("SET") else f"ECHO {line}"

    def command_of(self, request: bytes) -> str | None:
        return request.split(b" ")[0].decode()


class Framed:
    """A binary instrument: requests end `>>`; `<GIVE hex>>` answers those bytes raw, with no terminator."""

    name = "framed"

    def split(self, buffer: bytearray) -> list[bytes]:
        requests = []
        while (i := buffer.find(b">>")) >= 0:
            requests.append(bytes(buffer[:i]))
            del buffer[: i + 2]
        return requests

    def command_of(self, request: bytes) -> str | None:
        return None

    def respond(self, request: bytes) -> bytes | None:
        return bytes.fromhex(request.decode().split()[1]) if request.startswith(b"<GIVE ") else None

    def unsolicited(self, now: float) -> bytes | None:
        return None

    def error_reply(self, request: bytes) -> bytes | None:
        return None


class Meter:
    """A SimProtocol: requests end CR LF; `M` answers a reading, anything else `E01`; `error_reply` is `E20`.

    With `period` set, it also streams `T<n>` records every `period` seconds, as a Ludlum 375 does.
    """

    name = "meter"

    def __init__(self, period: float | None = None) -> None:
        self.period = period
        self.next_at: float | None = None
        self.sent = 0

    def split(self, buffer: bytearray) -> list[bytes]:
        requests = []
        while (i := buffer.find(b"\r\n")) >= 0:
            requests.append(bytes(buffer[:i]))
            del buffer[: i + 2]
        return requests

    def command_of(self, request: bytes) -> str | None:
        return request[:1].decode() or None

    def respond(self, request: bytes) -> bytes | None:
        return b"M0642.1;OK\r\n" if request == b"M" else b"E01\r\n"

    def error_reply(self, request: bytes) -> bytes | None:
        return b"E20\r\n"

    def unsolicited(self, now: float) -> bytes | None:
        if self.period is None:
            return None
        if self.next_at is None:
            self.next_at = now + self.period
        if now < self.next_at:
            return None
        self.next_at += self.period
        self.sent += 1
        return f"T{self.sent}\r\n".encode()


def exposure(air_kerma_ugy: float) -> SimulatedExposure:
    """An 80 kV, 200 mA, 100 ms exposure that gives `air_kerma_ugy` at the chamber (waveforms left empty)."""
    return SimulatedExposure(index=1, kv_set=80.0, ma_set=200.0, ms_set=100.0, kv_peak_actual=80.0,
                             ms_actual=100.0, sample_interval_ms=0.1, kv_waveform=np.zeros(4),
                             dose_rate_waveform=np.zeros(4), air_kerma_ugy=air_kerma_ugy, hvl_mm_al=3.1)
