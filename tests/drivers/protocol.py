"""A fake transport for protocol tests: it holds the exact exchanges a driver must make, in order.

Written by hand from the protocol notes, the exchanges pin the bytes a driver sends and show it the bytes a
meter answers. A command that differs from the next expected one fails at once; `assert_done()` fails if any
exchange was left unused.
"""

from __future__ import annotations

from typing import Sequence

import pytest


class ExpectedProtocol:
    """Stands in for VisaTransport: `(command, reply)` pairs, reply None for a command with no answer."""

    def __init__(self, exchanges: Sequence[tuple[bytes | str, bytes | str | None]],
                 encoding: str = "ascii") -> None:
        self.encoding = encoding
        self._exchanges = [(self._bytes(c), None if r is None else self._bytes(r)) for c, r in exchanges]
        self._next = 0
        self._pending: bytes | None = None
        self.closed = False

    def _bytes(self, value: bytes | str) -> bytes:
        return value if isinstance(value, bytes) else value.encode(self.encoding)

    def write(self, text: str) -> None:
        """Check `text` is the next expected command."""
        if self._next >= len(self._exchanges):
            pytest.fail(f"unexpected extra command {text!r}: all {len(self._exchanges)} exchanges are used")
        sent = text.encode(self.encoding)
        expected, reply = self._exchanges[self._next]
        if sent != expected:
            pytest.fail(f"exchange {self._next + 1}: the driver sent {sent!r}, the protocol expects "
                        f"{expected!r}")
        self._next += 1
        self._pending = reply

    def read(self) -> str:
        """The reply to the last command."""
        if self._pending is None:
            pytest.fail("the driver read a reply, but the last command has none")
        reply, self._pending = self._pending, None
        return reply.decode(self.encoding)

    def query(self, text: str) -> str:
        self.write(text)
        return self.read()

    def close(self) -> None:
        self.closed = True

    def assert_done(self) -> None:
        """Fail if an expected exchange was never made."""
        left = self._exchanges[self._next:]
        if left:
            pytest.fail(f"{len(left)} expected exchange(s) never made, first: {left[0]!r}")
