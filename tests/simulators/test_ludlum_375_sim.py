"""The Ludlum 375 simulator's record stream, and the Ludlum 375 driver listening to it over a real pty."""

from __future__ import annotations

from datetime import datetime

import pytest

from xcal.drivers.instruments.ludlum.model375 import Ludlum375, parse_record
from xcal.errors import ConnectionLost, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.simulators.ludlum_375 import Ludlum375Simulator
from xcal.simulators.server import PtySimServer, garble, serve_pty
from xcal.units import Q_

FIXED = datetime(2024, 3, 15, 10, 15, 2)
SHORT = Q_(0.3, "s")
NORMAL = Q_(3, "s")


def quiet_sim(**settings) -> Ludlum375Simulator:
    """A monitor that shows µSv/h, with a sensitivity so high that the Poisson noise is below 0.05 %."""
    return Ludlum375Simulator(period_s=0.1, display_per_usv_h=1.0, sensitivity_cps_per_usv_h=1e8,
                              background_usv_h=0.0, **settings)


def test_cal_mode_records_are_reading_status_digits_error_code_crlf() -> None:
    sim = quiet_sim(clock=lambda: FIXED, alarm_level=10.0, low_alarm_level=4.0)
    sim.set_field(5.0)
    assert sim.unsolicited(0.0) == b"0005.0001010\r\n"                # 14 bytes, as the manual's page 4-3
    sim.set_field(12.0)
    assert sim.unsolicited(0.1) == b"0012.0111010\r\n"                # audio, high and low alarm
    sim.set_field(20_000.0)
    assert sim.record() == "9999.9111110"                              # over range at the top of the field
    sim.fail()
    assert parse_record(sim.record()).error_code == "1"


def test_printer_records_only_while_an_alarm_or_failure_is_on() -> None:
    sim = quiet_sim(clock=lambda: FIXED, alarm_level=10.0, layout="printer")
    sim.set_field(5.0)
    assert sim.unsolicited(0.0) is None
    sim.set_field(12.0)
    assert sim.unsolicited(0.1) == b"0012.0   03/15/24 10:15:02 ALARM\r\n"   # 34 bytes, as page 5-6
    sim.fail()
    assert sim.record() == "0012.0   03/15/24 10:15:02  FAIL"
    with pytest.raises(ValueError):
        Ludlum375Simulator(layout="csv")


def test_one_record_per_period_and_no_commands() -> None:
    sim = Ludlum375Simulator(period_s=2.0)
    assert sim.unsolicited(100.0) is not None
    assert sim.unsolicited(101.9) is None
    assert sim.unsolicited(102.0) is not None
    assert sim.unsolicited(103.0) is None
    assert sim.records_sent == 2
    buffer = bytearray(b"*IDN?\r\n")
    assert sim.split(buffer) == [] and not buffer
    assert sim.respond(b"*IDN?") is None


def test_mr_per_hour_display_and_poisson_noise() -> None:
    sim = Ludlum375Simulator(sensitivity_cps_per_usv_h=50.0, background_usv_h=0.0, seed=2, alarm_level=None)
    sim.set_field(1000.0)                                             # 100 mR/h by the 10 µSv/h rule
    readings = [parse_record(sim.record()).reading for _ in range(300)]
    assert sum(readings) / len(readings) == pytest.approx(100.0, rel=0.01)
    assert max(readings) > min(readings)                              # counted, not constant
    with pytest.raises(ValueError):
        sim.set_field(-0.1)


def connect(server: PtySimServer, timeout=NORMAL, **options) -> Ludlum375:
    return Ludlum375(server.resource, name="area-1", timeout=timeout, **{"unit": "µSv/h", **options})


def test_field_read_back_over_a_pty() -> None:
    sim = quiet_sim()
    sim.set_field(7.5)
    with serve_pty(sim, name="area-1") as server, connect(server) as driver:
        assert driver.identify().firmware == "unknown (output-only protocol)"
        first = driver.read_now()["dose_rate"]
        second = driver.read_now()["dose_rate"]
    assert first.to("µSv/h").magnitude == pytest.approx(7.5, abs=0.15)
    assert second.to("µSv/h").magnitude == pytest.approx(7.5, abs=0.15)


def test_fail_status_over_a_pty_is_the_instruments_error() -> None:
    sim = quiet_sim()
    sim.fail()
    with serve_pty(sim) as server, connect(server) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_now()
    assert (caught.value.code, caught.value.instrument) == ("E1", "area-1")
    printer = quiet_sim(layout="printer")
    printer.fail()
    with serve_pty(printer) as server, connect(server) as driver:
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_now()
    assert caught.value.code == "FAIL"


def test_a_silent_stream_is_a_timeout_naming_instrument_resource_and_time() -> None:
    sim = Ludlum375Simulator(period_s=3600.0)                         # one record, then nothing
    with serve_pty(sim) as server, connect(server, SHORT) as driver:
        with pytest.raises(InstrumentTimeout) as caught:
            driver.read_now()
    assert f"area-1 ({server.resource})" in str(caught.value)
    assert "within 0.3 s" in str(caught.value)


class _Noisy(Ludlum375Simulator):
    """Sends record number `garbled` garbled by the server's garble function (line noise on the cable)."""

    def __init__(self, garbled: int, **settings) -> None:
        super().__init__(**settings)
        self.garbled = garbled

    def unsolicited(self, now: float) -> bytes | None:
        data = super().unsolicited(now)
        return garble(data) if data is not None and self.records_sent == self.garbled else data


def test_a_garbled_record_is_a_protocol_error() -> None:
    sim = _Noisy(2, period_s=0.1)
    with serve_pty(sim) as server, connect(server) as driver:
        with pytest.raises(ProtocolError, match="area-1"):
            driver.read_now()


def test_a_garbled_first_line_is_discarded_like_any_first_line() -> None:
    sim = _Noisy(1, period_s=0.1, display_per_usv_h=1.0, sensitivity_cps_per_usv_h=1e8, background_usv_h=0.0)
    sim.set_field(3.0)
    with serve_pty(sim) as server, connect(server) as driver:
        assert driver.read_now()["dose_rate"].to("µSv/h").magnitude == pytest.approx(3.0, abs=0.15)


def test_a_pulled_cable_is_connection_lost() -> None:
    sim = quiet_sim()
    server = serve_pty(sim)
    try:
        with connect(server, reconnects=0) as driver:
            driver.read_now()
            server.stop()
            with pytest.raises(ConnectionLost, match="area-1"):
                for _ in range(100):                                  # records already buffered come first
                    driver.read_now()
    finally:
        server.stop()


def test_records_that_queued_up_between_reads_are_not_returned() -> None:
    import time

    sim = quiet_sim(alarm_level=None)
    sim.set_field(1.0)
    with serve_pty(sim) as server, connect(server) as driver:
        assert driver.read_now()["dose_rate"].magnitude == pytest.approx(1.0, rel=0.01)
        time.sleep(0.6)                               # about six 1 µSv/h records wait in the port
        sim.set_field(900.0)
        assert driver.read_now()["dose_rate"].magnitude == pytest.approx(900.0, rel=0.01)
