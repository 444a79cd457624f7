"""Standard Imaging MAX 4000 driver: exact prompt-terminated exchanges from the protocol notes, and fuzzing."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xcal.drivers.instruments.standard_imaging.max4000 import (
    MODES,
    STATUS,
    Coded,
    StandardImagingMax4000,
    parse_bias,
    parse_charge,
    parse_coded,
    parse_identity,
    parse_needs_zero,
    parse_reply,
)
from xcal.drivers.registry import get_driver_class
from xcal.errors import ConfigError, InstrumentError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.units import Q_

from ...protocol import ExpectedProtocol, expected_protocol

CLEAR = (b"\x03\n", None)
IDN = "Standard Imaging,MAX 4000,40123,2.05"


def cmd(command: str, reply: str) -> tuple[bytes, bytes]:
    """One command line and the unit's reply bytes (value, CR LF and prompt, or the prompt alone)."""
    return command.encode() + b"\n", reply.encode()


def ok(command: str, value: str = "") -> tuple[bytes, bytes]:
    return cmd(command, f"{value}\r\n=>" if value else "=>")


FAST = {"poll_interval": "1 ms", "clear_wait": "0 ms", "zero_start_wait": "20 ms"}


def max4000(*exchanges, clear=CLEAR, **options) -> Any:
    """The driver on a fake link allowing exactly the connecting clear and `exchanges`."""
    return expected_protocol(StandardImagingMax4000, [clear, *exchanges], resource="/dev/ttyUSB0", name="max-1",
                             **{**FAST, **options})


ARM = [ok("*NEEDZ?", "0"), ok("*STOP?"), ok("*CHGMAX?"), ok("*STARTNP?"), ok("*STATUS?", "2"),
       ok("*CURCHG?", "0.0000 pC")]


def test_class_attributes_and_line_settings() -> None:
    cls = StandardImagingMax4000
    assert get_driver_class("si-max4000") is cls
    assert (cls.driver_name, cls.capabilities, cls.protocol_status, cls.transports) == (
        "si-max4000", ("Electrometer",), "PARTIAL", ("serial",))
    link = cls.link
    assert (link.baudrate, link.bytesize, link.parity, link.stopbits) == (19200, 8, "N", 1)
    assert (link.rtscts, link.xonxoff, link.dtr, link.rts) == (False, False, False, False)
    assert link.write_termination == "\n"
    assert cls.simulator == "xcal.simulators.si_max4000:Max4000Simulator"


def test_connecting_sends_0x03_lf_as_autodrive_does_and_drops_the_answer() -> None:
    with max4000(ok("*IDN?", IDN), clear=(b"\x03\n", b"?>"), clear_wait="10 ms") as driver:
        assert driver.identify().serial == "40123"


def test_connecting_sends_0x03_first_and_identify_reads_idn() -> None:
    with max4000(ok("*IDN?", IDN)) as driver:
        identity = driver.identify()
        assert (identity.make, identity.model, identity.serial, identity.firmware) == (
            "Standard Imaging", "MAX 4000", "40123", "2.05")


@pytest.mark.parametrize("reply, nanocoulombs", [("12.34 nC", 12.34), ("-3.5 pC", -3.5e-3),
                                                  ("0.0021 mC", 2100.0), ("1.5e2 pC", 0.15)])
def test_charge_in_mc_nc_pc(reply: str, nanocoulombs: float) -> None:
    with max4000(ok("*CURCHG?", reply)) as driver:
        assert driver.read_now()["charge"].to("nC").magnitude == pytest.approx(nanocoulombs)


def test_status_and_mode_are_decoded_to_their_meanings() -> None:
    with max4000(ok("*STATUS?", "3"), ok("*MODE?", "12"), ok("*MODE?", "22")) as driver:
        assert driver.status() == Coded(3, "threshold armed")
        assert driver.mode() == Coded(12, "collect rate+charge")
        assert driver.mode().meaning == "threshold level"


def test_every_status_and_mode_code_of_the_notes() -> None:
    assert [parse_coded("*STATUS?", str(c), STATUS).meaning for c in range(5)] == [
        "idle", "zeroing", "collecting charge", "threshold armed", "overload"]
    assert sorted(MODES) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 22]
    for code in ("1", "15", "x", "", "2 "):
        with pytest.raises(ProtocolError):
            parse_coded("*MODE?", code, MODES)


def test_not_understood_prompt_is_the_instruments_error() -> None:
    with max4000(cmd("*RNG1", "?>")) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.set_range("high")
        err = caught.value
        assert (err.code, err.meaning, err.command) == ("?>", "command not understood", "*RNG1")
        assert (err.instrument, err.resource) == ("max-1", "/dev/ttyUSB0")


def test_execution_error_prompt_is_the_instruments_error() -> None:
    with max4000(cmd("*STARTNP?", "\r\n!>")) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.start()
        assert (caught.value.code, caught.value.meaning) == ("!>", "execution error")


def test_settings_and_actions_send_the_notes_commands() -> None:
    with max4000(ok("*RNG0"), ok("*RNG1"), ok("*BIAS?", "100"), ok("*BIAS-50?", "-50"),
                 ok("*RTCHG?"), ok("*CHGTHR?"), ok("*HALT?"), ok("*STOP?"), ok("*NEEDZ?", "1")) as driver:
        driver.set_range("low")
        driver.set_range("high")
        assert driver.bias() == 100
        driver.set_bias(-50)
        driver.set_measurement_mode("charge-rate")
        driver.set_measurement_mode("triggered")
        driver.halt()
        driver.stop()
        assert driver.needs_zero() is True


def test_bias_values_outside_the_notes_are_refused_without_sending() -> None:
    with max4000() as driver:
        for wrong in (30, 200, True):
            with pytest.raises(InstrumentError, match="no bias"):
                driver.set_bias(wrong)


def test_a_bias_change_answered_by_the_prompt_alone_is_taken() -> None:
    with max4000(ok("*BIAS50?"), ok("*BIAS-100?", "-100")) as driver:       # Autodrive checks only the prompt
        driver.set_bias(50)
        driver.set_bias(-100)


def test_a_zero_that_shows_status_1_late_is_waited_for() -> None:
    with max4000(ok("*NEEDZ?", "1"), ok("*AUZ?"), ok("*STATUS?", "0"), ok("*STATUS?", "1"),
                 ok("*STATUS?", "0"), *ARM[1:], zero_start_wait="2 s") as driver:
        driver.arm()


def test_a_zero_never_seen_running_is_checked_with_needz() -> None:
    with max4000(ok("*AUZ?"), ok("*STATUS?", "0"), ok("*NEEDZ?", "0"), zero_start_wait="0 s") as driver:
        driver.auto_zero()                                               # done: the unit needs no zero
    with max4000(ok("*AUZ?"), ok("*STATUS?", "0"), ok("*NEEDZ?", "1"), zero_start_wait="0 s") as driver:
        with pytest.raises(InstrumentError, match="did not start zeroing"):
            driver.auto_zero()


def test_options_are_checked_before_any_byte_is_sent() -> None:
    for option, problem in ({"poll_interval": "0 s"}, "poll_interval"), ({"exposure_threshold": "1 V"},
                                                                          "exposure_threshold"):
        with pytest.raises(ConfigError, match=problem), expected_protocol(StandardImagingMax4000, [], **option):
            pass


def test_a_bias_reply_that_does_not_confirm_is_a_protocol_error() -> None:
    with max4000(ok("*BIAS50?", "100")) as driver:
        with pytest.raises(ProtocolError, match="the bias set, 50"):
            driver.set_bias(50)


def test_arm_wait_and_read_an_exposure() -> None:
    with max4000(*ARM,
                 ok("*STATUS?", "2"), ok("*CURCHG?", "0.0000 pC"),
                 ok("*STATUS?", "2"), ok("*CURCHG?", "1.0638 nC"),
                 ok("*STATUS?", "2"), ok("*CURCHG?", "1.0638 nC"),
                 ok("*STATUS?", "2"), ok("*CURCHG?", "1.0638 nC")) as driver:
        driver.arm()
        driver.wait_for_exposure(Q_(1, "s"))
        assert driver.read_exposure()["charge"] == Q_(1.0638, "nC")


def test_arm_zeroes_first_when_the_unit_asks_for_it() -> None:
    with max4000(ok("*NEEDZ?", "1"), ok("*AUZ?"), ok("*STATUS?", "1"), ok("*STATUS?", "0"),
                 *ARM[1:]) as driver:
        driver.arm()


def test_arm_refuses_a_unit_that_does_not_collect() -> None:
    with max4000(*ARM[:4], ok("*STATUS?", "0")) as driver:
        with pytest.raises(InstrumentError, match="did not start collecting"):
            driver.arm()


def test_overload_while_waiting_is_the_instruments_error() -> None:
    with max4000(*ARM, ok("*STATUS?", "4")) as driver:
        driver.arm()
        with pytest.raises(InstrumentReportedError) as caught:
            driver.wait_for_exposure(Q_(1, "s"))
        assert (caught.value.code, caught.value.meaning, caught.value.command) == ("4", "overload", "*STATUS?")


def test_wait_times_out_without_a_rise() -> None:
    polls = [ok("*STATUS?", "2"), ok("*CURCHG?", "0.0000 pC")] * 300        # how many fit varies: not all used
    fake = ExpectedProtocol([CLEAR, *ARM, *polls], evidence=StandardImagingMax4000.evidence)
    driver = StandardImagingMax4000("/dev/ttyUSB0", name="max-1", transport=fake, **FAST)
    driver.arm()
    with pytest.raises(InstrumentTimeout, match=r"max-1 \(/dev/ttyUSB0\) saw no complete exposure"):
        driver.wait_for_exposure(Q_(20, "ms"))


@pytest.mark.parametrize("reply", ["*CURCHG?\r\n12.3 nC\r\n=>", "12.3 uC\r\n=>", "12.3nC\r\n=>", "nC\r\n=>"])
def test_malformed_charge_replies_are_protocol_errors(reply: str) -> None:
    with max4000(cmd("*CURCHG?", reply)) as driver:
        with pytest.raises(ProtocolError, match=r"max-1 answered .* to '\*CURCHG\?'"):
            driver.read_now()


def test_reply_framing() -> None:
    assert parse_reply("*IDN?", b"X,Y,1,2\r\n=>") == "X,Y,1,2"
    assert parse_reply("*STOP?", b"=>") == ""
    for raw in (b"12 nC\r\n", b"12 nC=>\r\n", b"\xff=>", b"1=>2=>"):
        with pytest.raises(ProtocolError):
            parse_reply("*CURCHG?", raw)
    assert parse_needs_zero("0") is False
    assert parse_bias("*BIAS?", "-100") == -100
    with pytest.raises(ProtocolError):
        parse_identity("MAX 4000 v2.05")


ALLOWED = (ProtocolError, InstrumentReportedError)


@given(st.binary())
def test_fuzz_reply_framing(raw: bytes) -> None:
    with contextlib.suppress(ALLOWED):
        parse_reply("*CURCHG?", raw)


@given(st.text())
def test_fuzz_value_parsers(value: str) -> None:
    parsers = (parse_identity, parse_charge, parse_needs_zero, lambda v: parse_bias("*BIAS?", v),
               lambda v: parse_coded("*STATUS?", v, STATUS), lambda v: parse_coded("*MODE?", v, MODES))
    for parser in parsers:
        with contextlib.suppress(ALLOWED):
            parser(value)


@given(st.sampled_from(["=>", "?>", "!>"]), st.text(alphabet="0123456789.-+eE nCmp\r\n", max_size=20))
def test_fuzz_near_valid_replies(prompt: str, body: str) -> None:
    try:
        value = parse_reply("*CURCHG?", (body + prompt).encode())
        parse_charge(value)
    except ALLOWED:
        pass


def test_a_reply_without_its_prompt_is_a_protocol_error_and_silence_a_timeout() -> None:
    with max4000(cmd("*CURCHG?", "12.3 nC\r\n"), (b"*CURCHG?\n", None)) as driver:
        with pytest.raises(ProtocolError, match="no prompt came"):
            driver.read_now()
        with pytest.raises(InstrumentTimeout):
            driver.read_now()
