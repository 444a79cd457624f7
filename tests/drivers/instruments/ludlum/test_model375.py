"""Ludlum 375 driver: records laid out as Ludlum's manual gives them (pages 4-3 and 5-6), the unit option, fuzzing.

The manual's printer examples: `0642.1 04/21/95 16:56:24 ALARM` and `0000.0 04/21/95 08:32:16 FAIL`; its byte
table puts three spaces after the reading and a space before FAIL. The CAL MODE record is the reading, five
status digits (audio, high alarm, low alarm, over range, monitor) and an error code.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xcal.drivers.instruments.ludlum.model375 import Ludlum375, Record, parse_record
from xcal.drivers.registry import get_driver_class
from xcal.errors import ConfigError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.units import Q_

from ...protocol import ExpectedProtocol, expected_protocol


def streamed(*lines: str) -> list[tuple[None, str]]:
    """Records the monitor sends on its own, each one line (the transport strips CR LF)."""
    return [(None, line) for line in lines]


def ludlum(*lines: str, **options) -> Any:
    """The driver on a fake link on which the monitor sends exactly `lines`."""
    return expected_protocol(Ludlum375, streamed(*lines), resource="/dev/ttyS0", name="area-1",
                             **{"unit": "mR/h", **options})


def test_class_attributes_line_settings_and_evidence() -> None:
    cls = Ludlum375
    assert get_driver_class("ludlum-375") is cls
    assert (cls.capabilities, cls.protocol_status, cls.transports) == (("SurveyMeter",), "PUBLIC", ("serial",))
    assert cls.link.read_termination == "\r\n"
    assert cls.simulator == "xcal.simulators.ludlum_375:Ludlum375Simulator"
    assert cls.evidence.level == "VENDOR-DOCUMENTED"
    with ludlum() as driver:
        assert driver.settings.timeout == Q_(5, "s")                      # 2.5 record periods of 2 s


def test_cal_mode_records_are_read_as_the_manual_lays_them_out() -> None:
    with ludlum("42.1000010",                              # tail of a record: discarded
                "0642.1000010",
                "0643.0110010") as driver:
        assert driver.read_now() == {"exposure_rate": Q_(642.1, "mR/h")}
        assert driver.read_now() == {"exposure_rate": Q_(643.0, "mR/h")}
        assert driver.last_record == Record(643.0, ("AUDIO", "HIGH ALARM", "MONITOR"), "0")


def test_the_manuals_printer_examples() -> None:
    assert parse_record("0642.1   04/21/95 16:56:24 ALARM") == Record(642.1, ("ALARM",), None,
                                                                       datetime(1995, 4, 21, 16, 56, 24))
    assert parse_record("0642.1 04/21/95 16:56:24 ALARM").stamp == datetime(1995, 4, 21, 16, 56, 24)
    assert parse_record("0000.0   04/21/95 08:32:16  FAIL") == Record(0.0, ("FAIL",), None,
                                                                       datetime(1995, 4, 21, 8, 32, 16))
    with ludlum("", "0000.0 04/21/95 08:32:16 FAIL") as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_now()
        err = caught.value
        assert (err.code, err.command, err.instrument, err.resource) == ("FAIL", "(record stream)", "area-1",
                                                                         "/dev/ttyS0")
        assert "reports FAIL" in str(err)


@pytest.mark.parametrize("line, code", [("9999.9000110", "OVER RANGE"), ("0000.4000017", "E7")])
def test_over_range_and_an_error_code_are_the_instruments_errors(line: str, code: str) -> None:
    with ludlum("x", line) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_now()
        assert caught.value.code == code


def test_a_garbled_first_line_is_discarded_without_error() -> None:
    with ludlum("\x7f:02 ALA", "0000.4000010") as driver:
        assert driver.read_now()["exposure_rate"] == Q_(0.4, "mR/h")


@pytest.mark.parametrize("unit, name, expected", [("µSv/h", "dose_rate", Q_(642.1, "µSv/h")),
                                                  ("cpm", "count_rate", Q_(642.1, "cpm")),
                                                  ("mrem/h", "dose_rate", Q_(642.1, "mrem/h"))])
def test_the_reading_takes_the_unit_the_site_gives(unit: str, name: str, expected) -> None:
    with ludlum("", "0642.1000010", unit=unit) as driver:
        assert driver.read_now() == {name: expected}


@pytest.mark.parametrize("options, problem", [({"unit": None}, "must give it"), ({"unit": ""}, "must give it"),
                                              ({"unit": "kV"}, "not a dose rate"),
                                              ({"unit": "bananas/h"}, "option unit")])
def test_the_unit_is_required_and_must_be_a_rate(options: dict, problem: str) -> None:
    fake = ExpectedProtocol([])
    with pytest.raises(ConfigError, match=problem):
        Ludlum375("/dev/ttyS0", transport=fake, **options)
    assert fake.closed


def test_identify_is_what_the_site_says_and_touches_no_wire() -> None:
    with ludlum(make="Ludlum Measurements", model="375/2", serial="PR123456") as driver:
        identity = driver.identify()
        assert (identity.make, identity.model, identity.serial, identity.firmware) == (
            "Ludlum Measurements", "375/2", "PR123456", "unknown (output-only protocol)")
    with ludlum() as plain:
        assert (plain.identify().make, plain.identify().model, plain.identify().serial) == ("Ludlum", "375", "unknown")


@pytest.mark.parametrize("line", ["0642.1,03/14/24,10:15:02", "0642.1 03/14/24", "-642.1 03/14/24 10:15:02 ALARM",
                                  "0642.1 2024-03-14 10:15:02 ALARM", "0642.1 14-03-24 10:15:02 ALARM",
                                  "0642.1 03/14/24 10.15.02 ALARM", "0642.1 03/14/24 10:15:02 WARN",
                                  "0642.1 13/14/24 10:15:02 ALARM", "0642.1 03/14/24 24:00:00 ALARM",
                                  "0642.1 03/14/24 10:15:02", "0642.1 03/14/24 10:15:02 ALARM FAIL",
                                  "642.1000010", "0642.1000210", "0642.100001", "0642.1000010 ", "064x.1000010",
                                  "0642.100001\x00"])
def test_malformed_records_are_protocol_errors(line: str) -> None:
    with ludlum("", line) as driver:
        with pytest.raises(ProtocolError, match="area-1 sent"):
            driver.read_now()


def test_no_record_is_a_timeout() -> None:
    with ludlum("0642.1000010") as driver:
        with pytest.raises(InstrumentTimeout):
            driver.read_now()


ALLOWED = (ProtocolError, InstrumentReportedError)


@given(st.text())
def test_fuzz_record_parser(line: str) -> None:
    with contextlib.suppress(ALLOWED):
        parse_record(line)


@given(st.lists(st.sampled_from(["0642.1", "03/14/24", "10:15:02", "ALARM", "FAIL", "x", "1.", "99:99",
                                 "00101", "0"]), max_size=6), st.sampled_from([" ", "   ", ""]))
def test_fuzz_near_valid_records(fields: list[str], gap: str) -> None:
    try:
        record = parse_record(gap.join(fields))
    except ALLOWED:
        return
    assert record.reading == 642.1
    assert set(record.status) <= {"ALARM", "FAIL", "AUDIO", "HIGH ALARM", "LOW ALARM", "OVER RANGE", "MONITOR"}
