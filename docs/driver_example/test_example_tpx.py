"""Tests of the TPX-2 driver: exact byte exchanges from the protocol notes, then its simulator over a real socket."""

from __future__ import annotations

import pytest

from example_tpx import ExampleTpx, TpxSimulator
from xcal.drivers.capabilities import InstrumentIdentity
from xcal.errors import InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.simulators.server import WireFault, serve_tcp
from xcal.testing import expected_protocol
from xcal.units import Q_


def test_identify_and_read_now():
    exchanges = [("*IDN?", "ACME,TPX-2,5521,1.4"), ("MEAS?", "T=21.43;P=101.27")]
    with expected_protocol(ExampleTpx, exchanges) as meter:
        assert meter.identify() == InstrumentIdentity("ACME", "TPX-2", "5521", "1.4")
        reading = meter.read_now()
    assert reading["temperature"].to("degC").magnitude == pytest.approx(21.43)
    assert reading["pressure"].to("kPa").magnitude == pytest.approx(101.27)


def test_the_instruments_error_reply_is_raised_typed():
    with expected_protocol(ExampleTpx, [("MEAS?", "ERR,2")]) as meter:
        with pytest.raises(InstrumentReportedError) as refused:
            meter.read_now()
    assert refused.value.code == "2" and refused.value.meaning == "sensor not ready"


def test_a_reply_outside_the_protocol_is_a_protocol_error():
    with expected_protocol(ExampleTpx, [("MEAS?", "T=21.4")]) as meter:
        with pytest.raises(ProtocolError, match="expected T=<°C>;P=<kPa>"):
            meter.read_now()


def test_against_the_simulator_over_tcp():
    identity = InstrumentIdentity("ACME", "TPX-2", "5521", "1.4")
    with serve_tcp(TpxSimulator(identity, temperature_c=22.5)) as server:
        with ExampleTpx(server.resource, name="tp-1") as meter:
            assert meter.identify().serial == "5521"
            assert meter.read_now()["temperature"].to("degC").magnitude == pytest.approx(22.5)


def test_a_silent_instrument_times_out():
    simulator = TpxSimulator(InstrumentIdentity("ACME", "TPX-2", "5521", "1.4"))
    with serve_tcp(simulator, faults=[WireFault("silence", command="MEAS?")]) as server:
        with ExampleTpx(server.resource, name="tp-1", timeout=Q_(300, "ms")) as meter:
            with pytest.raises(InstrumentTimeout):
                meter.read_now()
