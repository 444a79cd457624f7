"""The GQ GMC driver against exact byte exchanges written by hand from the GQ-RFC1201 / GQ-RFC1801 notes."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcal.drivers.capabilities import InstrumentIdentity, SurveyMeter
from xcal.drivers.instruments.gq import gmc as gq_gmc
from xcal.drivers.instruments.gq.gmc import RFC1201, RFC1801, GqGmc
from xcal.errors import ConfigError, InstrumentError, InstrumentTimeout, ProtocolError
from xcal.units import Q_

from ...protocol import ExpectedProtocol, expected_protocol

VERSION_300 = b"GMC-300Re 2.10"          # RFC1201: exactly 14 ASCII bytes
VERSION_600 = b"GMC-600+Re 1.14"         # RFC1801: variable length
SERIAL = b"\xf4\x88\xe1\xa7\xb2\xc3\xd4"


def driver_for(exchanges: list, **options) -> Any:
    """The driver on a fake link allowing exactly `exchanges`, each command checked against its evidence table."""
    return expected_protocol(GqGmc, exchanges, resource="/dev/ttyUSB0", name="gmc-1", **options)


def test_identify_an_rfc1201_counter_and_read_its_count_rate() -> None:
    with driver_for([
            (b"<GETVER>>", VERSION_300),
            (b"<GETSERIAL>>", SERIAL),
            (b"<GETCPM>>", b"\x00\x1c"),                 # 0x001c = 28
            (b"<GETVER>>", VERSION_300),                 # the check that the link is still in step
            (b"<GETCPS>>", b"\x00\x05"),                 # top 2 bits reserved (clear): 0x0005 = 5
            (b"<GETVER>>", VERSION_300),
            (b"<GETVOLT>>", b"\x2a"),                    # 42 -> 4.2 V
            ]) as driver:
        assert isinstance(driver, SurveyMeter)
        assert driver.identify() == InstrumentIdentity("GQ Electronics", "GMC-300", "F488E1A7B2C3D4", "2.10")
        assert driver.variant == RFC1201
        assert driver.read_now() == {"count_rate": Q_(28, "cpm")}
        assert driver.read_cps() == Q_(5, "cps")
        assert driver.read_voltage() == Q_(4.2, "V")


def test_identify_an_rfc1801_counter_with_its_variable_length_version() -> None:
    with driver_for([
            (b"<GETVER>>", VERSION_600),
            (b"<GETSERIAL>>", SERIAL),
            (b"<GETCPM>>", b"\x00\x01\x02\x03"),         # uint32 0x00010203 = 66051
            (b"<GETVER>>", VERSION_600),
            (b"<GETCPS>>", b"\x00\x00\x01\x07"),         # RFC1801: 4 bytes, no reserved bits: 0x107 = 263
            (b"<GETVER>>", VERSION_600),
            (b"<GETVOLT>>", b"3.97v"),
            (b"<GETDATETIME>>", b"\x18\x03\x0f\x0e\x1e\x2d\xaa"),
            ]) as driver:
        identity = driver.identify()
        assert identity == InstrumentIdentity("GQ Electronics", "GMC-600+", "F488E1A7B2C3D4", "1.14")
        assert driver.variant == RFC1801
        assert driver.read_cpm() == Q_(66051, "cpm")
        assert driver.read_cps() == Q_(263, "cps")
        assert driver.read_voltage() == Q_(3.97, "V")
        assert driver.read_datetime() == datetime(2024, 3, 15, 14, 30, 45)


def test_the_variant_is_asked_once_when_the_options_do_not_give_it() -> None:
    # The GETVER after each reading is the in-step check; the variant is settled by the first GETVER only.
    with driver_for([(b"<GETVER>>", VERSION_300),
                     (b"<GETCPM>>", b"\x00\x05"), (b"<GETVER>>", VERSION_300),
                     (b"<GETCPM>>", b"\x00\x06"), (b"<GETVER>>", VERSION_300)]) as driver:
        assert driver.read_cpm() == Q_(5, "cpm")
        assert driver.read_cpm() == Q_(6, "cpm")


def test_dose_rate_only_through_the_site_sensitivity() -> None:
    with driver_for([(b"<GETCPM>>", b"\x06\x02"), (b"<GETVER>>", VERSION_300)], variant="RFC1201",
                    sensitivity="153.8 cpm/(µSv/h)") as driver:
        reading = driver.read_now()
        assert reading["count_rate"] == Q_(1538, "cpm")                    # 0x0602
        assert reading["dose_rate"].to("µSv/h").magnitude == pytest.approx(10.0)   # 1538 / 153.8


def test_dead_time_correction_with_a_site_dead_time() -> None:
    # m = 0xEA60 = 60000 cpm = 1000 cps; τ = 100 µs: mτ = 0.1, n = m / 0.9 = 66666.67 cpm = 433.46 µSv/h
    with driver_for([(b"<GETCPM>>", b"\xea\x60"), (b"<GETVER>>", VERSION_300)], variant="RFC1201",
                    dead_time="100 µs", sensitivity="153.8 cpm/(µSv/h)") as driver:
        reading = driver.read_now()
        assert reading["count_rate"].to("cpm").magnitude == pytest.approx(66666.667, rel=1e-6)
        assert reading["dose_rate"].to("µSv/h").magnitude == pytest.approx(433.4636, rel=1e-5)


def test_a_saturated_counter_cannot_be_corrected() -> None:
    # 60000 cpm is under the bound for τ = 1 ms (2 × (60/1 ms + 12) = 120024 cpm) but mτ = 1000 cps × 1 ms = 1.
    with driver_for([(b"<GETCPM>>", b"\xea\x60"), (b"<GETVER>>", VERSION_300)], variant="RFC1201",
                    dead_time="1 ms") as driver:
        with pytest.raises(InstrumentError, match="gmc-1 .*cannot be corrected for the dead time"):
            driver.read_now()


def test_set_the_clock_with_raw_parameter_bytes() -> None:
    with driver_for([(b"<SETDATETIME\x18\x03\x0f\x0e\x1e\x2d>>", b"\xaa")], variant="RFC1801") as driver:
        driver.set_datetime(datetime(2024, 3, 15, 14, 30, 45))


def test_a_wrong_acknowledgement_is_a_protocol_error() -> None:
    with driver_for([(b"<SETDATETIME\x18\x03\x0f\x0e\x1e\x2d>>", b"\x55")], variant="RFC1801") as driver:
        with pytest.raises(ProtocolError, match=r"gmc-1 \(/dev/ttyUSB0\) answered <SETDATETIME>> with b'U'.*0xAA"):
            driver.set_datetime(datetime(2024, 3, 15, 14, 30, 45))


def test_dates_a_counter_cannot_hold_are_refused_unsent() -> None:
    with driver_for([], variant="RFC1201") as driver:
        with pytest.raises(InstrumentError, match="2000 and 2099"):
            driver.set_datetime(datetime(2100, 1, 1))


def test_an_rfc1201_counter_is_asked_its_clock_too() -> None:
    # GQ-RFC1201 1.40 lists GETDATETIME from firmware Re.3.00: 2024-03-15 14:30:45 is 18 03 0F 0E 1E 2D, then AA.
    with driver_for([(b"<GETDATETIME>>", b"\x18\x03\x0f\x0e\x1e\x2d\xaa")], variant="RFC1201") as driver:
        assert driver.read_datetime() == datetime(2024, 3, 15, 14, 30, 45)


def test_heartbeat_streams_cps_and_stopping_resyncs_on_the_version() -> None:
    with driver_for([
            (b"<HEARTBEAT1>>", None),
            (None, b"\x00\x03"),
            (None, b"\x00\x04"),
            (b"<HEARTBEAT0>>", b"\x00\x05"),              # a record already on its way when we stop
            (b"<GETVER>>", VERSION_300),
            (b"<GETCPM>>", b"\x00\x09"),
            (b"<GETVER>>", VERSION_300),
            ], variant="RFC1201") as driver:
        driver.start_heartbeat()
        assert driver.read_heartbeat() == Q_(3, "cps")
        assert driver.read_heartbeat() == Q_(4, "cps")
        with pytest.raises(InstrumentError, match="heartbeat is on"):
            driver.read_cpm()
        driver.stop_heartbeat()
        assert driver.read_cpm() == Q_(9, "cpm")
        with pytest.raises(InstrumentError, match="heartbeat is not on"):
            driver.read_heartbeat()


def test_a_heartbeat_record_with_a_reserved_bit_set_is_not_a_record() -> None:
    # 0x4004: bit 14 set. RFC1201 keeps bits 15-14 reserved, so these two bytes are not a count of 4.
    with driver_for([(b"<HEARTBEAT1>>", None), (None, b"\x40\x04")], variant="RFC1201") as driver:
        driver.start_heartbeat()
        with pytest.raises(ProtocolError, match=r"<HEARTBEAT1>> with b'@\\x04': bits 15 and 14 .* reserved"):
            driver.read_heartbeat()


def test_rfc1801_heartbeat_records_are_four_bytes() -> None:
    with driver_for([(b"<HEARTBEAT1>>", None), (None, b"\x00\x00\x01\x00")], variant="RFC1801") as driver:
        driver.start_heartbeat()
        assert driver.read_heartbeat() == Q_(256, "cps")


def test_an_unknown_command_gets_no_reply() -> None:
    with driver_for([(b"<GETCPM>>", None)], variant="RFC1201") as driver:
        with pytest.raises(InstrumentTimeout):
            driver.read_cpm()


def test_a_model_the_notes_do_not_map_is_refused_unless_the_variant_is_given() -> None:
    with driver_for([(b"<GETVER>>", b"GMC-800Re 1.08")]) as driver:
        with pytest.raises(ProtocolError, match="(?s)GMC-800.*variant: RFC1201"):
            driver.identify()
    with driver_for([(b"<GETVER>>", b"GMC-800Re 1.08"), (b"<GETCPM>>", b"\x00\x00\x00\x02"),
                     (b"<GETVER>>", b"GMC-800Re 1.08")], variant="RFC1801") as driver:
        assert driver.version().model == "GMC-800"
        assert driver.read_cpm() == Q_(2, "cpm")


@pytest.mark.parametrize("reply, problem", [
    (b"G\xff", "starts with 'GMC-'"),
    (b"GMC-3\x00", "printable ASCII"),
    (b"GMC-300 has no version in it at ", "no complete"),
])
def test_a_malformed_version_is_a_protocol_error(reply: bytes, problem: str) -> None:
    with driver_for([(b"<GETVER>>", reply)]) as driver:
        with pytest.raises(ProtocolError, match=f"<GETVER>>.*{problem}"):
            driver.identify()


@pytest.mark.parametrize("exchange, call, problem", [
    ((b"<GETVOLT>>", b"39.7x"), "read_voltage", "reads like b'3.97v'"),
    ((b"<GETDATETIME>>", b"\x18\x03\x0f\x0e\x1e\x2d\x00"), "read_datetime", "ends with 0xAA"),
    ((b"<GETDATETIME>>", b"\x18\x0d\x0f\x0e\x1e\x2d\xaa"), "read_datetime", "not a date"),
])
def test_malformed_replies_are_protocol_errors(exchange: tuple, call: str, problem: str) -> None:
    with driver_for([exchange], variant="RFC1801") as driver:
        with pytest.raises(ProtocolError, match=problem) as caught:
            getattr(driver, call)()
        assert caught.value.instrument == "gmc-1" and caught.value.resource == "/dev/ttyUSB0"


def test_link_defaults_and_the_baud_rate_a_variant_implies() -> None:
    assert GqGmc.link.read_termination == "" and GqGmc.link.write_termination == ""
    for options, baud in ({}, 57600), ({"variant": "RFC1801"}, 115200), ({"variant": "RFC1201", "baudrate": 115200},
                                                                        115200):          # many GMC-320
        with driver_for([], **options) as driver:
            assert driver.settings.baudrate == baud


@pytest.mark.parametrize("options, problem", [
    ({"variant": "RFC9999"}, "variant must be"),
    ({"sensitivity": "153.8"}, "option sensitivity: '153.8' is a dimensionless, but a sensitivity is needed"),
    ({"sensitivity": "153.8 mA"}, "option sensitivity: '153.8 mA' is a current, but a sensitivity is needed"),
    ({"sensitivity": "0 cpm/(µSv/h)"}, "option sensitivity must be more than 0 cpm/.µSv/h., got 0 cpm"),
    ({"dead_time": "-5 µs"}, "option dead_time must be more than 0 s, got -5 µs"),
    ({"dead_time_model": "sticky"}, "dead_time_model is 'sticky', not one of non-paralyzable, paralyzable"),
])
def test_bad_options_are_config_errors(options: dict, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem), driver_for([], **options):
        pass


def test_commands_are_framed_as_the_spec_says() -> None:
    assert gq_gmc.command("GETCPM") == b"<GETCPM>>"
    assert gq_gmc.command("SETDATETIME", b"\x18\x01\x02\x03\x04\x05") == b"<SETDATETIME\x18\x01\x02\x03\x04\x05>>"


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=40), variant=st.sampled_from([RFC1201, RFC1801]))
def test_reply_parsers_raise_only_protocol_errors(data: bytes, variant: str) -> None:
    parsers = [gq_gmc.parse_version, lambda d: gq_gmc.parse_count(d, variant),
               lambda d: gq_gmc.parse_cps(d, variant), lambda d: gq_gmc.parse_volt(d, variant),
               gq_gmc.parse_serial, gq_gmc.parse_datetime, gq_gmc.parse_ack]
    for parser in parsers:
        with contextlib.suppress(ProtocolError):
            parser(data)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(min_size=1, max_size=40))
def test_reading_any_version_reply_ends_in_a_version_a_protocol_error_or_a_timeout(data: bytes) -> None:
    fake = ExpectedProtocol([(b"<GETVER>>", data)], evidence=GqGmc.evidence)   # a version may leave bytes unread
    try:
        found = GqGmc("/dev/ttyUSB0", name="gmc-1", transport=fake).version()
    except (ProtocolError, InstrumentTimeout):
        return
    assert data.startswith(found.text.encode())


def test_a_count_rate_at_the_top_of_the_2_byte_register_is_refused() -> None:
    # RFC1201 GETCPM is a big-endian uint16: 0xffff = 65535 cpm is the largest it can say, so the counter is
    # at or past its range and the number is not a reading.
    from xcal.errors import InstrumentError

    with driver_for([(b"<GETVER>>", VERSION_300), (b"<GETCPM>>", b"\xff\xff")]) as driver:
        assert driver.variant == RFC1201                     # settled from GETVER
        with pytest.raises(InstrumentError, match="65535 cpm"):
            driver.read_cpm()
