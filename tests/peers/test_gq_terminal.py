"""gq-terminal (PyPI), run unmodified against xcal's GQ GMC simulator over a real pty.

gq-terminal implements GQ-RFC1201's commands and detects the 4-byte counts of the GMC-500/600/800 from GETVER;
its own tests use a scripted fake serial port, not a counter, so it counts as a third-party source. Its
GETVOLT reader takes both the RFC1201 byte (volts × 10) and the RFC1801 text (`4.5v\\x00` in its tests).
"""

from __future__ import annotations

import time

import pytest

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.simulators.gq_gmc import GmcSimulator
from xcal.simulators.server import serve_pty

gq_terminal = pytest.importorskip("gq_terminal", reason="gq-terminal is not installed (pip install gq-terminal)")


@pytest.mark.parametrize("identity", [InstrumentIdentity("GQ Electronics", "GMC-320", "F48800671C42C2", "4.26"),
                                      InstrumentIdentity("GQ Electronics", "GMC-600+", "303021572157F6", "2.22")])
def test_gq_terminal_reads_xcals_simulator(identity: InstrumentIdentity) -> None:
    sim = GmcSimulator(identity, background_usv_h=0.0, battery_v=4.1, heartbeat_period_s=0.1, seed=4)
    sim.set_field(10.0)                                              # 1538 cpm at 153.8 cpm per µSv/h
    with serve_pty(sim, name="gmc") as server:
        with gq_terminal.GMCInterface(server.resource, baudrate=115200, timeout=2.0) as counter:
            assert counter.get_version() == f"{identity.model}Re {identity.firmware}"
            assert counter.get_serial_number().upper() == identity.serial
            assert counter.get_cpm() == pytest.approx(1538, rel=0.15)
            assert counter.get_battery_voltage() == pytest.approx(4.1)
            if sim.variant == "RFC1801":
                clock = counter.get_datetime()
                assert clock is not None and abs((clock - sim.device_time()).total_seconds()) <= 2
            counter.start_heartbeat()
            beats: list[int] = []
            deadline = time.monotonic() + 5.0
            while len(beats) < 3 and time.monotonic() < deadline:
                cps = counter.read_heartbeat()
                if cps is None:
                    time.sleep(0.05)
                else:
                    beats.append(cps)
            counter.stop_heartbeat()
            assert len(beats) == 3 and all(0 <= cps < 100 for cps in beats)      # about 25.6 cps
            assert counter.get_version() == f"{identity.model}Re {identity.firmware}"   # in step again
