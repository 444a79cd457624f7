"""xcal.testing.expected_protocol, the protocol-test helper driver authors use: what it lets through and what not."""

from __future__ import annotations

import pytest

from xcal.drivers.base import Driver
from xcal.drivers.evidence import Command, Evidence, Source
from xcal.drivers.link import LinkSettings
from xcal.errors import InstrumentTimeout
from xcal.testing import expected_protocol


class Meter(Driver):
    """A made-up serial meter: `RATE?` answers a number; `BAUD n` is echoed, then the port follows."""

    driver_name = "example-meter"
    link = LinkSettings(baudrate=9600)
    evidence = Evidence(sources={"doc": Source("Meter manual", "vendor", "meter.pdf")},
                        commands=(Command("RATE?", ("doc",)), Command("BAUD {baud}", ("doc",))))

    def rate(self) -> float:
        return float(self.transport.query("RATE?"))

    def switch(self, baud: int) -> None:
        if self.transport.query(f"BAUD {baud}") == f"BAUD {baud}":
            self.transport.set_baudrate(baud)  # type: ignore[attr-defined]


def test_every_exchange_used_passes_and_the_replies_reach_the_driver() -> None:
    with expected_protocol(Meter, [("RATE?", "0.25"), ("RATE?", "4")]) as meter:
        assert [meter.rate(), meter.rate()] == [0.25, 4.0]


def test_an_exchange_left_unused_fails_when_the_block_ends() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"1 expected exchange\(s\) never made, first: \(b'RATE\?'"):
        with expected_protocol(Meter, [("RATE?", "0.25"), ("RATE?", "4")]) as meter:
            meter.rate()


def test_a_reply_left_unread_fails_when_the_block_ends() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"reply bytes left unread: b'\\x06'"):
        with expected_protocol(Meter, [(b"RATE?", b"\x06")]) as meter:
            meter.transport.write_bytes(b"RATE?")


def test_a_command_outside_the_evidence_table_fails_as_it_is_sent() -> None:
    with pytest.raises(pytest.fail.Exception, match="never made"):              # and it is not counted as made
        with expected_protocol(Meter, [("RANGE?", "2")]) as meter:
            with pytest.raises(pytest.fail.Exception, match="sent b'RANGE\\?', which its evidence table does not"):
                meter.transport.query("RANGE?")


def test_an_error_in_the_block_is_the_one_reported() -> None:
    with pytest.raises(InstrumentTimeout, match="nothing to read"):
        with expected_protocol(Meter, [("BAUD 19200", None), ("RATE?", "1")]) as meter:
            meter.switch(19200)


def test_the_fake_link_starts_at_the_drivers_baud_rate_and_follows_a_switch() -> None:
    with expected_protocol(Meter, [("BAUD 19200", "BAUD 19200"), ("BAUD 38400", "E1")]) as meter:
        assert meter.transport.baudrate == 9600
        meter.switch(19200)
        assert meter.transport.baudrate == 19200
        meter.switch(38400)                      # refused by the meter: the port stays
        assert meter.transport.baudrate == 19200
    with expected_protocol(Meter, [], baudrate=115200) as meter:      # a site's link setting
        assert meter.transport.baudrate == 115200 and meter.settings.baudrate == 115200
