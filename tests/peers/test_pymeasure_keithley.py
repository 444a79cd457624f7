"""xcal's 6517B simulator held against pymeasure's `Keithley6517B`, an independent SCPI client (pymeasure 0.16.0).

pymeasure's class, unmodified and with its own commands (compound lines, `:*CLS`, `OUTPUT?`, `:MEAS?`, the trace
buffer), drives xcal's simulator over a real loopback TCP socket through pyvisa-py, while xcal's driver talks to
the same simulated meter on a second connection. Values are compared in SI units with what the simulated room
gives (demo room 3's X-ray model, a 30 cm³ chamber of N_K = 9.4e5 Gy/C) and with what xcal's driver reads.
pymeasure's 6517B has no device test, so it is a third-party source: where it and the 6517B manual part, the test
says so (see the driver's evidence table).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("pymeasure.instruments.keithley.keithley6517b", reason="pymeasure is not installed")
pytest.importorskip("pyvisa_py", reason="pyvisa-py (pymeasure's VISA backend here) is not installed")

from pymeasure.instruments.keithley.keithley6517b import Keithley6517B as PeerKeithley6517B  # noqa: E402

from xcal.demo.wiring import room_model  # noqa: E402
from xcal.drivers.capabilities import InstrumentIdentity  # noqa: E402
from xcal.drivers.instruments.keithley.electrometers import Keithley6517B  # noqa: E402
from xcal.errors import InstrumentError, InstrumentReportedError  # noqa: E402
from xcal.simulators.keithley import KeithleySimulator  # noqa: E402
from xcal.simulators.server import serve_tcp  # noqa: E402
from xcal.site import DEMO_SITE, load_site  # noqa: E402
from xcal.units import Q_  # noqa: E402

IDENTITY = InstrumentIdentity("KEITHLEY INSTRUMENTS INC.", "MODEL 6517B", "4242424", "A13/700x")
N_K = 9.4e5
LEAKAGE_A = 3.7e-12


@pytest.fixture
def meter() -> Iterator[tuple]:
    """pymeasure's client and xcal's driver on one simulated 6517B wired to demo room 3's X-ray model."""
    sim = KeithleySimulator(IDENTITY, n_k_gy_per_c=N_K, leakage_a=LEAKAGE_A)
    model = room_model(load_site(DEMO_SITE).room("3"))
    model.subscribe(sim.on_exposure)
    server = serve_tcp(sim, name="em-1")
    peer = PeerKeithley6517B(server.resource, visa_library="@py", read_termination="\r\n",
                             write_termination="\r\n", timeout=3000)
    xcal = Keithley6517B(server.resource, name="em-1", timeout=Q_(3, "s"))
    try:
        yield peer, xcal, sim, model
    finally:
        peer.adapter.close()
        xcal.close()
        server.stop()


def test_reset_identity_and_an_empty_error_queue(meter: tuple) -> None:
    peer, xcal, sim, _ = meter
    sim.errors.append((-113, "Undefined header"))
    peer.reset()                                            # "*RST;:stat:pres;:*CLS;": one line, :*CLS clears
    assert peer.check_errors() == []
    identity = xcal.identify()
    assert peer.id == ",".join((identity.make, identity.model, identity.serial, identity.firmware))
    assert (identity.model, identity.serial) == ("MODEL 6517B", "4242424")
    assert peer.complete == "1"


def test_measure_current_with_auto_range_then_a_fixed_range(meter: tuple) -> None:
    peer, xcal, sim, _ = meter
    peer.measure_current(nplc=2, auto_range=True)           # ":SENS:FUNC 'CURR';:SENS:CURR:NPLC 2.000000;"
    assert peer.current_nplc == 2.0
    assert xcal.sense_function == "current"
    assert xcal.current_auto_range is True
    peer.measure_current(nplc=1, current=1.05e-4, auto_range=False)
    # 105 µA: 200 µA is the smallest range holding it (20 µA holds up to 21 µA)
    assert peer.current_range == pytest.approx(2e-4)
    assert xcal.current_range.to("µA").magnitude == pytest.approx(200)
    assert xcal.current_auto_range is False
    assert peer.current_nplc == 1.0
    peer.current_range = 5e-9                               # 5 nA: above 2 nA × 1.05, so the 20 nA range
    assert peer.current_range == pytest.approx(2e-8)
    assert sim.ranges["CURR"] == pytest.approx(2e-8)
    assert peer.check_errors() == []


def test_the_current_in_si_is_the_rooms_leakage_in_both_clients(meter: tuple) -> None:
    peer, xcal, _, _ = meter
    peer.measure_current()
    assert peer.current == pytest.approx(9.91e37)           # zero check on: pymeasure takes the flag as amperes
    xcal.zero_check = False
    assert peer.current == pytest.approx(LEAKAGE_A, rel=1e-6)
    xcal.set_function("current")                            # xcal asks for bare numbers (:FORM:ELEM READ)
    assert xcal.read_now()["current"].to("A").magnitude == pytest.approx(LEAKAGE_A, rel=1e-6)
    assert peer.current == pytest.approx(LEAKAGE_A, rel=1e-6)   # one field: pymeasure casts it to float
    xcal.zero_check = True
    with pytest.raises(InstrumentError, match="zero check is on"):
        xcal.read_now()


def test_pymeasure_cannot_read_the_charge_record_xcal_reads(meter: tuple) -> None:
    """The default record of a charge reading ends NCOUL, five letters; pymeasure's extract_value wants four."""
    peer, xcal, sim, model = meter
    peer.write(":SENS:FUNC 'CHAR';:SYST:ZCH OFF")
    assert peer.complete == "1"
    exposure = model.fire(80, 200, 100)                     # 20 mAs
    expected_c = exposure.air_kerma_ugy * 1e-6 / N_K
    assert peer.current is None
    assert sim.last_reading.endswith("RDNG#") and "NCOUL," in sim.last_reading
    xcal.function = "charge"                                # what the meter is set to; xcal sends nothing
    charge = xcal.reading(":FETC?")                         # the same record, parsed by xcal
    assert charge.to("C").magnitude == pytest.approx(expected_c, rel=1e-6)


def test_the_error_queue_with_a_bad_value_and_an_unknown_header(meter: tuple) -> None:
    peer, xcal, sim, _ = meter
    peer.measure_current(nplc=20)                           # the 6517B takes 0.01 … 10 NPLC: -222, logged
    assert sim.nplc["CURR"] == 1.0
    peer.write(":SENS:CURR:NPLC 0.5;:SENS:BOGUS 1;:SENS:CURR:NPLC 3")
    assert peer.current_nplc == 0.5                         # the line stopped at the unknown header
    first = peer.next_error
    assert (int(first[0]), first[1]) == (-113, '"Undefined header"')
    assert peer.check_errors() == []
    assert [int(v) for v in peer.next_error[:1]] == [0]
    with pytest.raises(InstrumentReportedError) as caught:
        xcal.send(":SENS:CURR:NPLC 20")
    assert (caught.value.code, caught.value.meaning) == ("-222", "Data out of range")


def test_a_shot_in_room_3_read_from_the_buffer_in_coulombs(meter: tuple) -> None:
    peer, xcal, sim, model = meter
    peer.reset()
    assert peer.complete == "1"
    xcal.arm()                                              # charge, :FORM:ELEM READ, zero check off, :INIT
    exposure = model.fire(80, 200, 100)                     # 20 mAs at the room's meter distance
    expected_c = exposure.air_kerma_ugy * 1e-6 / N_K        # charge = air kerma / N_K
    assert 20e-6 * 40 < exposure.air_kerma_ugy * 1e-6 < 20e-6 * 80 * 1.5   # tens of µGy/mAs at 1 m: ~1 mGy
    peer.config_buffer(points=3)
    assert peer.buffer_points == 3
    assert sim.trigger_count == 1                           # the 6517B class has no trigger_count: not sent
    for _ in range(3):                                      # so each :INIT takes one reading
        assert not peer.is_buffer_full()
        peer.start_buffer()
    peer.wait_for_buffer(timeout=2, interval=0.01)
    assert peer.is_buffer_full()
    data = peer.buffer_data                                 # ":FORM:DATA ASCII" then ":TRAC:DATA?"
    assert list(data) == pytest.approx([expected_c] * 3, rel=1e-6)
    assert xcal.read_exposure()["charge"].to("C").magnitude == pytest.approx(expected_c, rel=1e-6)
    peer.stop_buffer()
    peer.disable_buffer()
    assert peer.complete == "1"                             # *OPC?: the writes before it are done
    assert sim.feed_control == "NEV"
    peer.reset_buffer()
    assert peer.complete == "1"
    assert sim.buffer == [] and sim.feed_control == "NEXT"
    assert peer.check_errors() == []


def test_a_bus_trigger_takes_one_reading(meter: tuple) -> None:
    peer, xcal, sim, _ = meter
    xcal.zero_check = False
    xcal.set_function("current")
    peer.trigger_on_bus()
    peer.start_buffer()                                     # :INIT arms; the reading waits for *TRG
    assert peer.complete == "1"                             # *OPC?: pymeasure's writes are done before xcal asks
    assert (sim.awaited_triggers, sim.last_reading) == (1, None)
    peer.trigger()
    assert peer.complete == "1"
    assert xcal.reading(":FETC?").to("A").magnitude == pytest.approx(LEAKAGE_A, rel=1e-6)
    peer.trigger_immediately()
    assert peer.complete == "1"
    assert sim.trigger_source == "IMM"
    assert peer.check_errors() == []


def test_the_voltage_source(meter: tuple) -> None:
    peer, _, sim, _ = meter
    peer.source_voltage = 20
    assert peer.source_voltage == 20.0
    peer.source_voltage_range = 200                         # 200 V needs the 1000 V range
    assert peer.source_voltage_range == 1000.0
    peer.apply_voltage()                                    # auto range
    assert not peer.source_enabled
    peer.enable_source()                                    # "OUTPUT ON"
    assert peer.source_enabled and sim.output
    peer.ramp_to_voltage(50, steps=3, pause=0)              # 20, 35, 50 V
    assert peer.source_voltage == 50.0
    peer.disable_source()
    assert peer.source_enabled is False
    peer.enable_source()
    peer.shutdown()                                         # ramp to 0 V, :ABOR, output off
    assert peer.complete == "1"
    assert (sim.source_v, sim.output) == (0.0, False)
    assert peer.check_errors() == []


def test_voltage_and_resistance_configuration(meter: tuple) -> None:
    peer, xcal, sim, _ = meter
    xcal.zero_check = False
    peer.measure_voltage(nplc=0.1, voltage=15, auto_range=False)
    assert peer.voltage_range == 20.0                       # 15 V: the 20 V range
    assert peer.voltage_nplc == pytest.approx(0.1)
    assert peer.voltage == 0.0                              # ":MEAS:VOLT?": the simulated input is a chamber
    peer.measure_resistance(resistance=2e9, auto_range=False)
    assert peer.resistance_range == pytest.approx(2e9)
    assert peer.resistance == pytest.approx(9.9e37)         # overflow: pymeasure takes the flag as ohms
    assert sim.function == "RES"
    assert peer.check_errors() == []


def test_pymeasure_buffer_data_needs_bare_numbers_which_it_never_asks_for(meter: tuple) -> None:
    """In the default record each reading is three fields with suffixes; buffer_data casts all of them to float."""
    peer, xcal, sim, _ = meter
    peer.measure_current()
    xcal.zero_check = False
    peer.config_buffer(points=1)
    peer.start_buffer()
    peer.wait_for_buffer(timeout=2, interval=0.01)
    assert sim.buffer[0].startswith("+3.700000E-12NADC,")
    with pytest.raises(ValueError):
        _ = peer.buffer_data
    xcal.reading_format = "READ"                            # what xcal's driver sets
    peer.config_buffer(points=1)
    peer.start_buffer()
    peer.wait_for_buffer(timeout=2, interval=0.01)
    assert list(peer.buffer_data) == pytest.approx([LEAKAGE_A], rel=1e-6)
