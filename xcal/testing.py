"""Helpers for testing drivers and procedures with pytest: exact protocol exchanges for driver authors.

Written by hand from the protocol notes, the exchanges pin the bytes a driver sends and show it the bytes a
meter answers. Line commands (`write`/`query`) are compared without their termination, raw commands
(`write_bytes`) byte for byte. A command of None stands for bytes the instrument sends on its own (a
stream). A command that differs from the next expected one fails at once; `assert_done()` fails if any
exchange was left unused; reading more than the instrument sent raises InstrumentTimeout, as a real link would.
Driver tests use `expected_protocol`, which makes the driver on such a link and checks the end for them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from .errors import InstrumentTimeout


class ExpectedProtocol:
    """Stands in for a Transport: `(command, reply)` pairs, reply None for a command with no answer.

    Like a serial transport it has a `baudrate` (None until given) that `set_baudrate` switches.
    """

    name = "fake"
    resource = "FAKE::INSTR"

    def __init__(self, exchanges: Sequence[tuple[bytes | str | None, bytes | str | None]],
                 encoding: str = "ascii", evidence: Any = None, baudrate: int | None = None) -> None:
        self.encoding = encoding
        self.evidence = evidence
        self.baudrate = baudrate
        self._exchanges = [(None if c is None else self._bytes(c), None if r is None else self._bytes(r))
                           for c, r in exchanges]
        self._next = 0
        self._pending = b""
        self._line_reply: bytes | None = None
        self.closed = False

    @property
    def timeout(self) -> Any:
        from .units import Q_

        return Q_(1, "s")

    def bind_driver(self, driver_class: type) -> None:
        """Check the commands against `driver_class`'s evidence table (the driver calls this when given the link)."""
        if self.evidence is None:
            self.evidence = getattr(driver_class, "evidence", None)

    def _bytes(self, value: bytes | str) -> bytes:
        return value if isinstance(value, bytes) else value.encode(self.encoding)

    def _expect(self, sent: bytes, how: str) -> bytes | None:
        if self._next >= len(self._exchanges):
            _fail(f"unexpected extra command {sent!r}: all {len(self._exchanges)} exchanges are used")
        expected, reply = self._exchanges[self._next]
        if self.evidence is not None and self.evidence.find(sent) is None:
            _fail(f"exchange {self._next + 1}: the driver sent {sent!r}, which its evidence table does not list: "
                  f"add the command with the sources that show it (or none, marked unshown)")
        if sent != expected:
            _fail(f"exchange {self._next + 1} ({how}): the driver sent {sent!r}, the protocol expects "
                        f"{expected!r}")
        self._next += 1
        return reply

    def _stream(self) -> bool:
        """Take the next unsolicited reply (command None) into the pending bytes, if it is next."""
        if self._next < len(self._exchanges) and self._exchanges[self._next][0] is None:
            self._pending += self._exchanges[self._next][1] or b""
            self._next += 1
            return True
        return False

    def write(self, text: str) -> None:
        """Check `text` (a line without termination) is the next expected command."""
        reply = self._expect(text.encode(self.encoding), "line")
        self._line_reply = reply

    def read(self) -> str:
        """The reply line to the last line command, or the next streamed line."""
        if self._line_reply is not None:
            reply, self._line_reply = self._line_reply, None
            return reply.decode(self.encoding)
        if self._stream():
            reply, self._pending = self._pending, b""
            return reply.decode(self.encoding)
        raise InstrumentTimeout("fake: nothing to read (the protocol has no reply here)")

    def query(self, text: str) -> str:
        self.write(text)
        return self.read()

    def write_bytes(self, data: bytes) -> None:
        reply = self._expect(bytes(data), "raw")
        if reply is not None:
            self._pending += reply

    def read_bytes(self, count: int) -> bytes:
        while len(self._pending) < count and self._stream():
            pass
        if len(self._pending) < count:
            raise InstrumentTimeout(f"fake: {count} bytes asked, {len(self._pending)} available")
        data, self._pending = self._pending[:count], self._pending[count:]
        return data

    def read_until(self, *endings: bytes) -> bytes:
        while True:
            hits = [(self._pending.find(e), e) for e in endings if self._pending.find(e) >= 0]
            if hits:
                index, ending = min(hits)
                end = index + len(ending)
                data, self._pending = self._pending[:end], self._pending[end:]
                return data
            if not self._stream():
                raise InstrumentTimeout(f"fake: none of {endings!r} in {self._pending!r}")

    def set_baudrate(self, baud: int) -> None:
        """Switch the port's speed, as a serial transport does after the meter agreed to a new one."""
        self.baudrate = baud

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        yield

    def discard_input(self) -> bytes:
        """Drop bytes received and not read; bytes the instrument has not sent yet (later exchanges) stay."""
        dropped, self._pending = self._pending, b""
        return dropped

    def close(self) -> None:
        self.closed = True

    def assert_done(self) -> None:
        """Fail if an expected exchange was never made or a reply was left unread."""
        left = self._exchanges[self._next:]
        if left:
            _fail(f"{len(left)} expected exchange(s) never made, first: {left[0]!r}")
        if self._pending or self._line_reply is not None:
            _fail(f"reply bytes left unread: {self._pending or self._line_reply!r}")


def _fail(message: str) -> None:
    import pytest

    pytest.fail(message)


@contextlib.contextmanager
def expected_protocol(driver_class: type, exchanges: Sequence[tuple[bytes | str | None, bytes | str | None]],
                      *, resource: str = "FAKE::INSTR", encoding: str = "ascii", **options: Any) -> Iterator[Any]:
    """A driver of `driver_class` on a fake link that allows exactly `exchanges`, in order.

    Fails the test if the driver sends anything else, or if an exchange is left unused or a reply unread when the
    block ends (not when the block raises):
        with expected_protocol(MyMeter, [("ID?", "EXAMPLE,RM-1,42,1.0")]) as meter:
            assert meter.identify().serial == "42"

    `options` go to the driver as a site file's `options:` would, link settings (baudrate, timeout ...) included.
    The fake link is `meter.transport`: its `baudrate` starts at the driver's and follows `set_baudrate`, and
    `closed` tells whether the driver closed it.
    """
    fake = ExpectedProtocol(exchanges, encoding=encoding, evidence=getattr(driver_class, "evidence", None))
    driver = driver_class(resource, transport=fake, **options)
    fake.baudrate = getattr(getattr(driver, "settings", None), "baudrate", None)
    yield driver
    fake.assert_done()


def setting_cases(driver_class: type) -> list[tuple[str, Any, str]]:
    """(setting name, value, command line) for every value each declared setting takes, for generated tests.

    With the driver's framing of a change and a query (written in the test from the protocol notes), each case
    is an exact exchange: `driver.<name> = value` must send the line, and reading the setting back must decode
    the instrument's text to the same value.
    """
    from .drivers.settings import settings_of

    return [(name, value, setting.line(value)) for name, setting in settings_of(driver_class).items()
            if setting.set is not None for value in setting.validator.examples()]


def refused_setting_cases(driver_class: type) -> list[tuple[str, Any]]:
    """(setting name, value) that each declared setting must refuse before sending any byte."""
    from .drivers.settings import settings_of

    return [(name, value) for name, setting in settings_of(driver_class).items()
            if setting.set is not None for value in setting.validator.refused_examples()]
