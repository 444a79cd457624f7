"""The declarative driver against exact byte exchanges written by hand from the example map."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.generic.commandmap import CommandMap
from xcal.drivers.generic.declarative import DeclarativeDriver
from xcal.errors import InstrumentError, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.units import Q_

from ..protocol import expected_protocol

READ_LINE = "KVP 81.20 KVAVG 79.90 PPV 80.40 T 100.20 D 812.345"


def driver_for(cmap: CommandMap, exchanges: list) -> Any:
    """The driver of `cmap` on a fake link allowing exactly `exchanges`."""
    return expected_protocol(DeclarativeDriver, exchanges, resource="TCPIP::192.0.2.1::5025::SOCKET",
                             command_map=cmap, name="kvp-1", poll_interval=Q_(1, "ms"))


def test_a_whole_exposure(example_map: CommandMap) -> None:
    with driver_for(example_map, [
            (b"*IDN?", b"Example Instruments,XR-1,XR1-00042,2.1.0"),
            (b"ARM", b"OK"),
            (b"STAT?", b"ARMED"),
            (b"STAT?", b"ARMED"),
            (b"STAT?", b"DONE"),
            (b"READ?", READ_LINE.encode()),
            (b"WAV?", b"0.0500;3;79.00,80.00,81.00"),
            ]) as driver:
        assert driver.identify() == InstrumentIdentity("Example Instruments", "XR-1", "XR1-00042", "2.1.0")
        driver.arm()
        driver.wait_for_exposure(Q_(5, "s"))
        reading = driver.read_exposure()
        assert reading == {"kvp_max": Q_(81.2, "kV"), "kvp_avg": Q_(79.9, "kV"), "kvp_ppv": Q_(80.4, "kV"),
                           "exposure_time": Q_(100.2, "ms"), "air_kerma": Q_(812.345, "µGy")}
        assert f"{reading['air_kerma'].units:~}" == "µGy"
        assert reading["air_kerma"].to("mGy").magnitude == pytest.approx(0.812345)
        wave = driver.read_waveform()
        assert wave.interval == Q_(0.05, "ms")
        assert wave.samples.to("kV").magnitude.tolist() == [79.0, 80.0, 81.0]
        driver.close()
        assert driver.transport.closed


def test_an_error_reply_is_typed_with_code_and_meaning(example_map: CommandMap) -> None:
    with driver_for(example_map, [(b"READ?", b"ERR 3")]) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_exposure()
        err = caught.value
        assert (err.code, err.meaning, err.command) == ("3", "no exposure recorded since ARM", "read")
        assert "kvp-1" in str(err) and "error 3" in str(err) and err.fix


def test_an_error_code_the_map_does_not_list(example_map: CommandMap) -> None:
    with driver_for(example_map, [(b"ARM", b"ERR 42")]) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.arm()
        assert caught.value.code == "42"
        assert caught.value.meaning == "a code the command map does not list"


def test_an_unexpected_reply_names_command_reply_and_template(example_map: CommandMap) -> None:
    with driver_for(example_map, [(b"READ?", b"KVP 81.20 KVAVG 79.90")]) as driver:
        with pytest.raises(ProtocolError) as caught:
            driver.read_exposure()
        message = str(caught.value)
        assert "'READ?'" in message and "'KVP 81.20 KVAVG 79.90'" in message
        assert "expected 'KVP {kvp_max:number} KVAVG" in message
        assert "example-xr1.yaml" in caught.value.fix


def test_a_state_outside_the_map_is_a_protocol_error(example_map: CommandMap) -> None:
    with driver_for(example_map, [(b"STAT?", b"BUSY")]) as driver:
        with pytest.raises(ProtocolError, match="'BUSY'"):
            driver.state()


def test_waiting_on_a_meter_that_is_not_armed(example_map: CommandMap) -> None:
    with driver_for(example_map, [(b"STAT?", b"IDLE")]) as driver:
        with pytest.raises(InstrumentError, match="not armed") as caught:
            driver.wait_for_exposure(Q_(1, "s"))
        assert not isinstance(caught.value, InstrumentTimeout)


class AlwaysArmed:
    """A meter that never sees the shot."""

    def query(self, text: str) -> str:
        assert text == "STAT?"
        return "ARMED"

    def write(self, text: str) -> None:
        raise AssertionError(text)

    def read(self) -> str:
        raise AssertionError("read")

    def close(self) -> None:
        pass


def test_waiting_times_out_when_no_exposure_comes(example_map: CommandMap) -> None:
    driver = DeclarativeDriver("fake", command_map=example_map, name="kvp-1", poll_interval=Q_(5, "ms"),
                               transport=AlwaysArmed())
    with pytest.raises(InstrumentTimeout, match=r"kvp-1 \(fake\) recorded no exposure within 0.05 s"):
        driver.wait_for_exposure(Q_(50, "ms"))
    with pytest.raises(Exception, match="time quantity"):
        driver.wait_for_exposure(0.05)  # type: ignore[arg-type]


def test_a_waveform_whose_count_disagrees(example_map: CommandMap) -> None:
    with driver_for(example_map, [(b"WAV?", b"0.0500;4;79.00,80.00,81.00")]) as driver:
        with pytest.raises(ProtocolError, match="announced 4 waveform samples but sent 3"):
            driver.read_waveform()


def test_a_setting_command(example_map: CommandMap) -> None:
    with driver_for(example_map, [(b"THR 10", b"OK")]) as driver:
        assert driver.execute("threshold", percent=10) == {}
        with pytest.raises(InstrumentError, match="takes \\['percent'\\]"):
            driver.execute("threshold")
        with pytest.raises(InstrumentError, match="whole number"):
            driver.execute("threshold", percent=1.5)
        with pytest.raises(InstrumentError, match="has no 'reset' command"):
            driver.execute("reset")


def test_the_protocol_fake_catches_a_wrong_command(example_map: CommandMap) -> None:
    with pytest.raises(pytest.fail.Exception, match="never made"):
        with driver_for(example_map, [(b"*IDN?", b"a,b,c,d")]) as driver:
            with pytest.raises(pytest.fail.Exception, match="sent b'ARM', the protocol expects b'\\*IDN\\?'"):
                driver.arm()


def test_the_protocol_fake_catches_an_unused_exchange(example_map: CommandMap) -> None:
    with pytest.raises(pytest.fail.Exception, match="never made"), driver_for(example_map, [(b"*IDN?", b"a,b,c,d")]):
        pass


class Answers:
    """A transport that answers one fixed line to anything."""

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def query(self, text: str) -> str:
        return self.reply

    def write(self, text: str) -> None:
        pass

    def read(self) -> str:
        return self.reply

    def close(self) -> None:
        pass


READ_LIKE = st.one_of(
    st.text(),
    st.builds(lambda parts: " ".join(parts), st.lists(st.sampled_from(
        ["KVP", "KVAVG", "PPV", "T", "D", "ERR", "81.20", "-1e5", "1e999", "9" * 400, "nan", "", "3"]),
        max_size=11)),
)


@settings(max_examples=300, deadline=None)
@given(reply=READ_LIKE)
def test_any_reply_to_read_gives_readings_or_a_driver_error(example_map: CommandMap, reply: str) -> None:
    driver = DeclarativeDriver("fake", command_map=example_map, transport=Answers(reply))
    try:
        reading = driver.read_exposure()
    except (ProtocolError, InstrumentReportedError):
        return
    read = example_map.commands["read"].reply
    assert read is not None and read.regex.fullmatch(reply)
    assert set(reading) == {"kvp_max", "kvp_avg", "kvp_ppv", "exposure_time", "air_kerma"}
    assert re.fullmatch(r"KVP .* D .*", reply)
