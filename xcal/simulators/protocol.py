"""The byte-level behaviour of one simulated instrument, independent of the wire (TCP socket or pty).

A server feeds every received chunk into `buffer`, asks `split` for the complete requests, applies its wire
faults per request (using `command_of` to name it) and sends what `respond` returns. Streaming instruments
(Ludlum 375 records, GQ heartbeat) also return bytes from `unsolicited`, polled by the server.
"""

from __future__ import annotations

from typing import Protocol


class SimProtocol(Protocol):
    name: str

    def split(self, buffer: bytearray) -> list[bytes]:
        """Remove the complete requests at the front of `buffer` and return them (without framing)."""
        ...

    def command_of(self, request: bytes) -> str | None:
        """The command a request is (for faults that target one command), or None."""
        ...

    def respond(self, request: bytes) -> bytes | None:
        """The full reply bytes (terminators included), or None to send nothing."""
        ...

    def unsolicited(self, now: float) -> bytes | None:
        """Bytes the instrument sends on its own at monotonic time `now`, or None."""
        ...

    def error_reply(self, request: bytes) -> bytes | None:
        """The instrument's own error reply to this request (for the `error` wire fault), or None."""
        ...


class LineProtocol:
    """Base for line-based simulators: requests end with `line_end`, replies get `reply_end` appended."""

    name = "simulator"
    line_end = "\n"
    reply_end = "\n"
    encoding = "ascii"

    def split(self, buffer: bytearray) -> list[bytes]:
        end = self.line_end.encode(self.encoding)
        requests = []
        while (index := buffer.find(end)) >= 0:
            requests.append(bytes(buffer[:index]))
            del buffer[: index + len(end)]
        return requests

    def command_of(self, request: bytes) -> str | None:
        return None

    def respond(self, request: bytes) -> bytes | None:
        reply = self.handle_line(request.decode(self.encoding, errors="replace"))
        if reply is None:
            return None
        return reply.encode(self.encoding, errors="replace") + self.reply_end.encode(self.encoding)

    def handle_line(self, line: str) -> str | None:
        """The reply line (without termination) to one request line, or None for no reply."""
        raise NotImplementedError

    def unsolicited(self, now: float) -> bytes | None:
        return None

    def error_reply(self, request: bytes) -> bytes | None:
        return None
