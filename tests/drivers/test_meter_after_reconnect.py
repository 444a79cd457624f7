"""A built-in wire driver (the PTW UNIDOS over TCP, its simulator answering the published protocol) asks the meter
who it is when its link comes back after a drop, and refuses another meter found there (Driver.identify ->
base.confirm_after_reopen). The transport side is tested with the declarative driver in test_transport.py."""

from __future__ import annotations

import pytest

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.instruments.ptw.unidos import PtwUnidos
from xcal.errors import MeterChanged
from xcal.simulators.ptw_unidos import UnidosSimulator
from xcal.simulators.server import WireFault, serve_tcp
from xcal.units import Q_

METER = InstrumentIdentity("PTW", "UNIDOS Tango", "000777", "1.2.4")
OTHER = InstrumentIdentity("PTW", "UNIDOS Tango", "000912", "1.2.4")


def test_the_same_unidos_after_a_drop_goes_on_and_another_is_refused() -> None:
    simulator = UnidosSimulator(METER)
    with serve_tcp(simulator) as server:
        meter = PtwUnidos(server.resource, name="ec-1", expected_serial="777", timeout=Q_(0.5, "s"))
        try:
            assert meter.identify().serial == "000777"
            server.inject(WireFault("drop", None, count=1))
            assert meter.status()                                           # same meter: the query is repeated
            asked = len(server.received)
            simulator.identity = OTHER
            server.inject(WireFault("drop", None, count=1))
            with pytest.raises(MeterChanged) as caught:
                meter.status()
            assert "serial 000912, not the PTW UNIDOS Tango serial 000777 identified before" in str(caught.value)
            assert server.received[asked:] == [b"S", b"PTW", b"SER"]    # lost; then only "who are you?"
        finally:
            meter.close()
