"""pygmc (PyPI), run unmodified against xcal's GQ GMC simulator over a real pty, and pygmc's replies recorded from
real counters replayed to xcal's GQ driver.

pygmc's README marks the GMC-300S, GMC-320+, GMC-500+, GMC-600+ and GMC-800 as "physically confirmed", and its
sdist's tests replay replies "recorded from" a GMC-300S, a GMC-320+ and a GMC-500+ (tests/test_gmc300s_device_
rfc1201.py, test_gmc320_plus_device_rfc1201.py, test_gmc500_plus_device_rfc_1801.py) as a command -> reply map.
They are replayed the same way here (`Recorded`): whatever the driver sends must be a recorded command, in any
order, so the test holds while the GQ driver's sequence of commands changes. Where a recorded reply differs
from what xcal's GQ driver accepts, the test is a strict xfail naming the disagreement: the GQ driver is not
this test's to change.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.instruments.gq.gmc import GqGmc
from xcal.errors import InstrumentTimeout
from xcal.simulators.gq_gmc import GmcSimulator
from xcal.simulators.server import serve_pty

pygmc = pytest.importorskip("pygmc", reason="pygmc is not installed (pip install pygmc)")

class Recorded:
    """A transport that answers each command with the reply recorded for it, as pygmc's MockConnection does.

    A command with no recorded reply fails the test (and so does one the driver's evidence table lacks, once
    it has one); reading more than was answered is an InstrumentTimeout, as a silent counter gives.
    """

    name = "recorded"
    resource = "RECORDED::INSTR"

    def __init__(self, replies: dict[bytes, bytes]) -> None:
        self.replies = replies
        self.pending = b""
        self.sent: list[bytes] = []
        self.evidence = getattr(GqGmc, "evidence", None)

    def write_bytes(self, data: bytes) -> None:
        data = bytes(data)
        self.sent.append(data)
        if data not in self.replies:
            pytest.fail(f"the driver sent {data!r}, for which no reply was recorded")
        if self.evidence is not None and self.evidence.find(data) is None:
            pytest.fail(f"the driver sent {data!r}, which its evidence table does not list")
        self.pending += self.replies[data]

    def read_bytes(self, count: int) -> bytes:
        if len(self.pending) < count:
            raise InstrumentTimeout(f"recorded: {count} bytes asked, {len(self.pending)} answered")
        data, self.pending = self.pending[:count], self.pending[count:]
        return data

    def read_until(self, *endings: bytes) -> bytes:
        ends = [self.pending.find(e) + len(e) for e in endings if e in self.pending]
        if not ends:
            raise InstrumentTimeout(f"recorded: none of {endings!r} in {self.pending!r}")
        data, self.pending = self.pending[:min(ends)], self.pending[min(ends):]
        return data

    def discard_input(self) -> bytes:
        dropped, self.pending = self.pending, b""
        return dropped

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        yield

    def close(self) -> None:
        pass


@contextlib.contextmanager
def replayed(*exchanges: tuple[bytes, bytes]) -> Iterator[GqGmc]:
    """xcal's GQ driver on the recorded replies; every reply must be read to its end."""
    link = Recorded(dict(exchanges))
    yield GqGmc("RECORDED::INSTR", name="gmc-1", transport=link)
    assert link.pending == b"", f"reply bytes left unread: {link.pending!r}"


GMC_320_PLUS = [(b"<GETVER>>", b"GMC-320Re 4.26"), (b"<GETSERIAL>>", b"\xf4\x88\x00g\x1cB\xc2")]
GMC_300S = [(b"<GETVER>>", b"GMC-300SRe 1.14"), (b"<GETSERIAL>>", b"\xf7\xf4\xc5x\x13\x9d\x08")]
GMC_500_PLUS = [(b"<GETVER>>", b"GMC-500+Re 2.22"), (b"<GETSERIAL>>", b"00!W!W\xf6")]


@pytest.mark.parametrize("exchanges, model, serial, firmware", [
    (GMC_320_PLUS, "GMC-320", "F48800671C42C2", "4.26"),              # pygmc: "f48800671c42c2"
    (GMC_300S, "GMC-300S", "F7F4C578139D08", "1.14"),                  # a 15-byte version on an RFC1201 unit
    (GMC_500_PLUS, "GMC-500+", "303021572157F6", "2.22"),
])
def test_recorded_identities(exchanges: list, model: str, serial: str, firmware: str) -> None:
    with replayed(*exchanges) as counter:
        assert counter.identify() == InstrumentIdentity("GQ Electronics", model, serial, firmware)


@pytest.mark.parametrize("version, reply, per_second", [
    (b"GMC-320Re 4.26", b"\x01\xb6", 438 / 60),                         # pygmc: 438 cpm
    (b"GMC-300SRe 1.14", b"\x00\x17", 23 / 60),                         # 23 cpm
    (b"GMC-500+Re 2.22", b"\x00\x00\x04\xba", 1210 / 60),               # 1210 cpm, 4 bytes (RFC1801)
])
def test_recorded_cpm_in_si_units(version: bytes, reply: bytes, per_second: float) -> None:
    with replayed((b"<GETVER>>", version), (b"<GETCPM>>", reply)) as counter:
        assert counter.read_cpm().to("1/s").magnitude == pytest.approx(per_second)


def test_recorded_cps_and_clock_of_the_gmc_500_plus() -> None:
    with replayed((b"<GETVER>>", b"GMC-500+Re 2.22"), (b"<GETCPS>>", b"\x00\x00\x00\x13"),
                  (b"<GETDATETIME>>", b"\x17\x0b\n\x12!\x04\xaa")) as counter:
        assert counter.read_cps().to("1/s").magnitude == 19
        assert counter.read_datetime() == datetime(2023, 11, 10, 18, 33, 4)


@pytest.mark.parametrize("version", [b"GMC-320Re 4.26", b"GMC-300SRe 1.14"])
def test_recorded_rfc1201_voltage(version: bytes) -> None:
    with replayed((b"<GETVER>>", version), (b"<GETVOLT>>", b"*")) as counter:
        assert counter.read_voltage().to("V").magnitude == pytest.approx(4.2)     # 0x2A = 42 tenths


def test_recorded_rfc1801_voltage_with_a_nul() -> None:
    # A GMC-500+ (Re 2.22) answers b'4.0v' and a NUL, not RFC1801's '3.97v' form: the recording wins.
    with replayed((b"<GETVER>>", b"GMC-500+Re 2.22"), (b"<GETVOLT>>", b"4.0v\x00")) as counter:
        assert counter.read_voltage().to("V").magnitude == pytest.approx(4.0)


@pytest.mark.parametrize("version, reply, when", [
    (b"GMC-320Re 4.26", b"\x17\x0b\n\x10.6\xaa", datetime(2023, 11, 10, 16, 46, 54)),
    (b"GMC-300SRe 1.14", b"\x17\x0b\n\x0c\x0f\x05\xaa", datetime(2023, 11, 10, 12, 15, 5)),
])
def test_recorded_rfc1201_clock(version: bytes, reply: bytes, when: datetime) -> None:
    # GQ-RFC1201 1.40 lists GETDATETIME from Re.3.00; a GMC-320+ and a GMC-300S answered it (pygmc's recordings).
    with replayed((b"<GETVER>>", version), (b"<GETDATETIME>>", reply)) as counter:
        assert counter.read_datetime() == when


@pytest.mark.parametrize("client, identity", [
    ("GMC320", InstrumentIdentity("GQ Electronics", "GMC-320", "F48800671C42C2", "4.26")),
    ("GMC500Plus", InstrumentIdentity("GQ Electronics", "GMC-500+", "303021572157F6", "2.22")),
])
def test_pygmc_reads_xcals_simulator(client: str, identity: InstrumentIdentity) -> None:
    sim = GmcSimulator(identity, background_usv_h=0.0, battery_v=4.1, heartbeat_period_s=0.1, seed=3)
    sim.set_field(10.0)                                              # 1538 cpm at 153.8 cpm per µSv/h
    with serve_pty(sim, name="gmc") as server:
        counter = getattr(pygmc, client)(server.resource, timeout=2)
        try:
            assert counter.get_version() == f"{identity.model}Re {identity.firmware}"
            assert counter.get_serial().upper() == identity.serial
            assert counter.get_cpm() == pytest.approx(1538, rel=0.15)
            assert counter.get_voltage() == pytest.approx(4.1)
            beats = list(counter.heartbeat_live(count=3))
            assert len(beats) == 3 and all(0 <= cps < 100 for cps in beats)   # about 25.6 cps
            time.sleep(0.3)                                          # let the stopped heartbeat's last bytes land
            counter.connection.reset_buffers()
            if sim.variant == "RFC1801":
                clock = counter.get_datetime()
                assert abs((clock - sim.device_time()).total_seconds()) <= 2
        finally:
            counter.connection.close_connection()
