"""radeye-b20 (PyPI), run unmodified: it reads xcal's RadEye simulator over a real pty, and its own published
fixtures go through xcal's driver.

radeye-b20 was written against a RadEye B20 and checked on the meter's display; it opens 7E1 and only listens
(a pty ignores the line settings). Its fixtures (tests/test_protocol.py of the sdist): `351 5  0 0 04 FH41B2
0 42` is 3.51 cps, `2290 3  0 0 04 FH41B2  0 7A` is 229.0 cpm, and unit code 9 is left unscaled.
"""

from __future__ import annotations

import time

import pytest

from xcal.drivers.instruments.thermo.radeye import ThermoRadEye, parse_record
from xcal.errors import InstrumentError
from xcal.simulators.server import serve_pty
from xcal.simulators.thermo_radeye import RadEyeSimulator
from xcal.testing import expected_protocol
from xcal.units import Q_

radeye_b20 = pytest.importorskip("radeye_b20", reason="radeye-b20 is not installed (pip install radeye-b20)")

STREAM_ON = [(b"@", b">"), (b">X1\n", b">#\r\n")]
FIXTURES = [("351 5  0 0 04 FH41B2  0 42", Q_(3.51, "1/s")),
            ("2290 3  0 0 04 FH41B2  0 7A", Q_(229.0 / 60.0, "1/s"))]


def frame(fields: str) -> bytes:
    return b"\x02" + fields.encode("ascii") + b"\x03\r\n"


@pytest.mark.parametrize("fields, rate", FIXTURES)
def test_radeye_b20_fixtures_through_xcals_driver(fields: str, rate) -> None:
    with expected_protocol(ThermoRadEye, [*STREAM_ON, (None, frame(fields))]) as driver:
        reading = driver.read_now()["count_rate"]
    assert reading.to("1/s").magnitude == pytest.approx(rate.magnitude, rel=1e-12)
    theirs = radeye_b20.Decoder().decode(fields, timestamp=0.0)
    assert Q_(theirs.value, theirs.unit).to("1/s").magnitude == pytest.approx(rate.magnitude, rel=1e-12)


def test_a_unit_code_radeye_b20_leaves_unscaled_is_refused_by_xcals_driver() -> None:
    assert not radeye_b20.Decoder().decode("100 9 x x x TAG x 00", timestamp=0.0).is_known_unit
    with expected_protocol(ThermoRadEye, [*STREAM_ON, (None, frame("100 9  0 0 00 FH41B2  0 00"))]) as driver:
        with pytest.raises(InstrumentError, match="unit code 9"):
            driver.read_now()


def _readings(port: str, count: int) -> list:
    """`count` readings as radeye-b20 decodes them from the port (its own API, unmodified)."""
    got = []
    deadline = time.monotonic() + 10.0
    with radeye_b20.RadEye(port=port, timeout=0.2) as meter:
        while len(got) < count and time.monotonic() < deadline:
            reading = meter.read()
            if reading is not None:
                got.append(reading)
    return got


@pytest.mark.parametrize("unit_code, unit", [(5, "cps"), (3, "cpm")])
def test_radeye_b20_reads_the_simulators_records_as_xcal_does(unit_code: int, unit: str) -> None:
    sim = RadEyeSimulator(unit_code=unit_code, sensitivity_cps_per_usv_h=100.0, background_usv_h=0.0, seed=7,
                          auto_send_period_s=0.1)
    sim.set_field(1.0)                                               # 100 cps = 6000 cpm
    with serve_pty(sim, name="b20") as server:
        sim.auto_send = True                                         # a B20 streaming on its read-head
        readings = _readings(server.resource, 5)
    assert len(readings) == 5
    sent = {parse_record(frame(fields)).value for fields in sim.sent}
    for reading in readings:
        assert reading.unit == unit and reading.is_known_unit
        assert min(abs(reading.value - value) for value in sent) < 1e-9 * reading.value  # as xcal decodes
        assert Q_(reading.value, unit).to("1/s").magnitude == pytest.approx(100.0, rel=0.5)
