"""Declared settings and options: one line per setting, checked before any byte is sent, read back decoded."""

from __future__ import annotations

import pytest

from xcal.drivers.base import Driver
from xcal.drivers.evidence import Command, Evidence, Source
from xcal.drivers.settings import Choice, Flag, Number, Option, Setting, settings_of
from xcal.errors import ConfigError, InstrumentError, ProtocolError
from xcal.testing import expected_protocol, refused_setting_cases, setting_cases
from xcal.units import Q_


class Bench(Driver):
    """A made-up meter: `NAME?` answers `NAME value`, `NAME value` answers `OK`."""

    driver_name = "bench"
    capabilities = ("Environment",)
    protocol_status = "PUBLIC"
    transports = ("tcp",)
    option_specs = (Option("poll_interval", "time", "200 ms", "time between polls", low=0, unit="s", above=True),
                    Option("gain", "number", 1.0, "a plain factor", low=0.5, high=2))
    evidence = Evidence(sources={"doc": Source("Bench manual", "vendor", "bench.pdf")},
                        commands=(Command("BAUD?", ("doc",)), Command("BAUD {code}", ("doc",)),
                                  Command("HV?", ("doc",)), Command("HV {volts}", ("doc",)),
                                  Command("AUTO?", ("doc",)), Command("AUTO {on}", ("doc",))))

    baud = Setting("BAUD?", "BAUD {}", "Line speed.", Choice(wire={9600: "0", 19200: "1"}))
    high_voltage = Setting("HV?", "HV {}", "Chamber voltage.", Number(-400, 400, unit="V", whole=True, format="{:d}"))
    autostart = Setting("AUTO?", "AUTO {}", "Autostart.", Flag("ON", "OFF"))

    def ask_setting(self, setting, command):
        reply = self.transport.query(command)
        head = command[:-1] + " "
        if not reply.startswith(head):
            raise self.unexpected(command, reply, f"{head!r} and the value")
        return reply[len(head):]

    def apply_setting(self, setting, line):
        reply = self.transport.query(line)
        if reply != "OK":
            raise self.unexpected(line, reply, "OK")


def test_a_setting_is_sent_as_declared_and_read_back_decoded():
    with expected_protocol(Bench, [("HV -300", "OK"), ("HV?", "HV -300"), ("BAUD 1", "OK"), ("BAUD?", "BAUD 0"),
                                   ("AUTO ON", "OK"), ("AUTO?", "AUTO OFF")]) as meter:
        meter.high_voltage = Q_(-0.3, "kV")
        assert meter.high_voltage == Q_(-300, "V")
        meter.baud = 19200
        assert meter.baud == 9600
        meter.autostart = True
        assert meter.autostart is False


@pytest.mark.parametrize("name, value", [("high_voltage", Q_(401, "V")), ("high_voltage", Q_(1.5, "V")),
                                         ("high_voltage", 300), ("high_voltage", Q_(1, "s")),
                                         ("baud", 4800), ("autostart", 1), ("autostart", "ON")])
def test_a_value_the_meter_does_not_take_is_refused_before_any_byte(name, value):
    with expected_protocol(Bench, []) as meter, pytest.raises(InstrumentError, match=name):
        setattr(meter, name, value)


def test_a_reply_the_validator_cannot_read_is_a_protocol_error_naming_the_command():
    with expected_protocol(Bench, [("HV?", "HV 12.5"), ("BAUD?", "BAUD 7")]) as meter:
        with pytest.raises(ProtocolError, match=r"'12.5' to 'HV\?'"):
            _ = meter.high_voltage
        with pytest.raises(ProtocolError, match=r"'7' to 'BAUD\?'"):
            _ = meter.baud


def test_generated_cases_cover_each_end_of_every_range_and_every_choice():
    assert setting_cases(Bench) == [
        ("baud", 9600, "BAUD 0"), ("baud", 19200, "BAUD 1"),
        ("high_voltage", Q_(-400, "V"), "HV -400"), ("high_voltage", Q_(400, "V"), "HV 400"),
        ("autostart", True, "AUTO ON"), ("autostart", False, "AUTO OFF")]
    refused = refused_setting_cases(Bench)
    assert ("high_voltage", Q_(-401, "V")) in refused and ("high_voltage", Q_(401, "V")) in refused
    assert set(settings_of(Bench)) == {"baud", "high_voltage", "autostart"}


def test_options_are_checked_once_with_their_unit_and_range():
    with expected_protocol(Bench, [], poll_interval="0.25 s") as meter:
        assert meter.option_values["poll_interval"] == Q_(250, "ms")
        assert meter.option_values["gain"] == 1.0
    with pytest.raises(ConfigError, match="poll_interval.*time"):
        Bench.check_options({"poll_interval": "250 mV"})
    with pytest.raises(ConfigError, match="poll_interval must be more than 0 s, got 0 ms"):
        Bench.check_options({"poll_interval": "0 ms"})
    with pytest.raises(ConfigError, match="gain must be ≥ 0.5 and ≤ 2, got 2.5"):
        Bench.check_options({"gain": 2.5})


def test_a_whole_number_option_takes_counts_only_and_gives_an_int():
    rows = Option("skip_rows", "whole", 0, "lines before the header", low=0, high=100)
    assert [(v, type(v)) for v in (rows.check(3, "x"), rows.check(4.0, "x"), rows.check(0, "x"))] == [
        (3, int), (4, int), (0, int)]
    for bad in (2.5, True, "3", float("nan")):
        with pytest.raises(ConfigError, match=f"x: option skip_rows must be a whole number ≥ 0 and ≤ 100, got "
                                              f"{bad!r}"):
            rows.check(bad, "x")
    for outside in (-1, 101):
        with pytest.raises(ConfigError) as err:
            rows.check(outside, "x")
        assert err.value.message == f"x: option skip_rows must be a whole number ≥ 0 and ≤ 100, got {outside}"
        assert err.value.fix == "give skip_rows like 0 (lines before the header)"


def test_a_command_missing_from_the_evidence_table_fails_the_protocol_test():
    class Unlisted(Bench):
        evidence = Evidence(sources={}, commands=(Command("HV?"),))

    with pytest.raises(pytest.fail.Exception, match="evidence table does not list"):
        with expected_protocol(Unlisted, [("BAUD?", "BAUD 0")]) as meter:
            _ = meter.baud
