"""The Keithley simulator's SCPI bytes, and the 6517B / 6514 drivers against it over a real pty."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from wire_helpers import exposure

from xcal.drivers.capabilities import InstrumentIdentity
from xcal.drivers.instruments.keithley.electrometers import Keithley6514, Keithley6517B
from xcal.errors import ConnectionLost, InstrumentReportedError, InstrumentTimeout, ProtocolError
from xcal.simulators.keithley import N_K_DIAGNOSTIC_30CC, KeithleySimulator
from xcal.simulators.server import PtySimServer, WireFault, serve_pty
from xcal.units import Q_

ID_6517B = InstrumentIdentity("KEITHLEY INSTRUMENTS INC.", "MODEL 6517B", "1234567", "A13/700x")
ID_6514 = InstrumentIdentity("KEITHLEY INSTRUMENTS INC.", "MODEL 6514", "7654321", "A04")
SHORT = Q_(0.3, "s")
NORMAL = Q_(3, "s")
"""For exchanges that should succeed: long enough for a loaded CI machine."""

def ask(sim: KeithleySimulator, line: str) -> str | None:
    reply = sim.respond(line.encode("ascii"))
    return None if reply is None else reply.decode("ascii")


def test_identity_error_queue_and_crlf_replies() -> None:
    sim = KeithleySimulator(ID_6517B)
    assert ask(sim, "*IDN?") == "KEITHLEY INSTRUMENTS INC.,MODEL 6517B,1234567,A13/700x\r\n"
    assert ask(sim, ":SYST:ERR?") == '0,"No error"\r\n'
    assert ask(sim, ":SYST:BOGUS ON") is None
    assert ask(sim, "*IDN? extra") is None
    assert ask(sim, ":SYST:ZCH") is None
    assert ask(sim, ":SYST:ERR?") == '-113,"Undefined header"\r\n'
    assert ask(sim, ":SYST:ERR?") == '-108,"Parameter not allowed"\r\n'
    assert ask(sim, ":SYST:ERR?") == '-109,"Missing parameter"\r\n'
    assert ask(sim, ":SYST:ERR?") == '0,"No error"\r\n'
    assert sim.split(bytearray(b"*IDN?\r\n:READ?\r\n:FE")) == [b"*IDN?\r", b":READ?\r"]
    assert sim.command_of(b":SENS:FUNC 'CHAR'\r") == "SENS:FUNC"


def test_the_queue_holds_ten_and_reports_overflow_last() -> None:
    sim = KeithleySimulator(ID_6517B)
    for _ in range(12):
        ask(sim, "NOPE")
    replies = [ask(sim, ":SYST:ERR?") for _ in range(11)]
    assert replies[:9] == ['-113,"Undefined header"\r\n'] * 9
    assert replies[9] == '-350,"Queue overflow"\r\n'
    assert replies[10] == '0,"No error"\r\n'


def test_6517b_default_record_current_and_charge_suffix() -> None:
    """Status N (normal) and unit COUL (coulombs): the 6517A reference manual's figure 3-19."""
    sim = KeithleySimulator(ID_6517B, leakage_a=1.234e-12, clock=lambda: 0.0)
    ask(sim, ":SYST:ZCH OFF")
    assert ask(sim, ":READ?") == "+1.234000E-12NADC,+0000.0secs,+00001RDNG#\r\n"
    ask(sim, ":SENS:FUNC 'CHAR'")
    assert ask(sim, ":READ?") == "+0.000000E+00NCOUL,+0000.0secs,+00002RDNG#\r\n"
    ask(sim, ":FORM:ELEM READ")
    assert ask(sim, ":READ?") == "+0.000000E+00\r\n"
    ask(sim, ":FORM:ELEM READ,TIME")
    assert ask(sim, ":SYST:ERR?") == '-224,"Illegal parameter value"\r\n'


def test_6514_format_and_ranges() -> None:
    sim = KeithleySimulator(ID_6514, clock=lambda: 0.0)
    ask(sim, "FORM:ELEM READ,TIME,STAT")
    ask(sim, ":SENS:CHAR:RANG 2e-05")
    ask(sim, ":SENS:CHAR:RANG 2e-04")
    assert ask(sim, ":SYST:ERR?") == '-222,"Data out of range"\r\n'
    assert ask(sim, ":SYST:ERR?") == '0,"No error"\r\n'
    assert sim.ranges["CHAR"] == 2e-05
    assert ask(sim, ":READ?") == "+0.000000E+00,+0.000000E+00,+0.000000E+00\r\n"


def test_charge_is_air_kerma_over_nk_only_with_zero_check_off_in_charge() -> None:
    sim = KeithleySimulator(ID_6514, n_k_gy_per_c=5e5)
    assert not sim.on_exposure(exposure(100.0))                      # zero check on at power-on
    ask(sim, ":SENS:FUNC 'CHAR'")
    ask(sim, ":SYST:ZCH OFF")
    assert sim.on_exposure(exposure(100.0))
    assert sim.charge_c == pytest.approx(100e-6 / 5e5)                # 2e-10 C
    ask(sim, ":SYST:ZCH ON")
    assert sim.charge_c == 0.0
    with pytest.raises(ValueError):
        KeithleySimulator(InstrumentIdentity("Keithley", "6430", "1", "x"))


def test_fetch_before_any_reading_is_data_stale() -> None:
    sim = KeithleySimulator(ID_6517B)
    assert ask(sim, ":FETC?") is None
    assert ask(sim, ":SYST:ERR?") == '-230,"Data corrupt or stale"\r\n'
    assert ask(sim, ":SYST:ERR?") == '0,"No error"\r\n'


@pytest.fixture
def sim_6517b() -> KeithleySimulator:
    return KeithleySimulator(ID_6517B)


@pytest.fixture
def pty_6517b(sim_6517b: KeithleySimulator) -> Iterator[PtySimServer]:
    with serve_pty(sim_6517b, name="em-1") as server:
        yield server


def connect(server: PtySimServer, cls=Keithley6517B, timeout=NORMAL, **options) -> Keithley6517B:
    return cls(server.resource, name="em-1", timeout=timeout, poll_interval="5 ms", **options)


def test_6517b_exposure_over_a_pty(pty_6517b: PtySimServer, sim_6517b: KeithleySimulator) -> None:
    with connect(pty_6517b) as driver:
        assert driver.identify() == ID_6517B
        driver.arm()
        assert sim_6517b.on_exposure(exposure(1000.0))
        driver.wait_for_exposure(Q_(2, "s"))
        charge = driver.read_exposure()["charge"]
    expected_nc = 1000e-6 / N_K_DIAGNOSTIC_30CC * 1e9                 # 1 mGy / 9.4e5 Gy/C = 1.0638 nC
    assert charge.to("nC").magnitude == pytest.approx(expected_nc, rel=1e-6)


def test_6514_exposure_over_a_pty_with_a_fixed_range() -> None:
    sim = KeithleySimulator(ID_6514, n_k_gy_per_c=1e6)
    with serve_pty(sim) as server, connect(server, Keithley6514, charge_range="200 nC") as driver:
        assert driver.identify().model == "MODEL 6514"
        driver.arm()
        sim.on_exposure(exposure(250.0))
        driver.wait_for_exposure(Q_(2, "s"))
        assert driver.read_exposure()["charge"].to("pC").magnitude == pytest.approx(250.0)  # 250 µGy / 1e6
        assert sim.ranges["CHAR"] == pytest.approx(2e-7)
        assert re.fullmatch(r"[+-]\d\.\d{6}E[+-]\d\d(,[+-]\d\.\d{6}E[+-]\d\d){2}", sim.last_reading or "")


def test_silence_is_a_timeout_naming_instrument_resource_and_time(pty_6517b: PtySimServer) -> None:
    pty_6517b.inject(WireFault("silence", "*IDN?", count=1))
    with connect(pty_6517b, timeout=SHORT) as driver:
        with pytest.raises(InstrumentTimeout) as caught:
            driver.identify()
    err = caught.value
    assert f"em-1 ({pty_6517b.resource}) did not answer '*IDN?' within 0.3 s" in str(err)
    assert (err.instrument, err.resource) == ("em-1", pty_6517b.resource)


def test_garble_is_a_protocol_error(pty_6517b: PtySimServer) -> None:
    pty_6517b.inject(WireFault("garble", "*IDN?", count=1))
    with connect(pty_6517b) as driver:
        with pytest.raises(ProtocolError, match="em-1"):
            driver.identify()


def test_drop_is_connection_lost(pty_6517b: PtySimServer) -> None:
    pty_6517b.inject(WireFault("drop", "*IDN?"))
    with connect(pty_6517b, reconnects=0) as driver:
        with pytest.raises(ConnectionLost, match="em-1"):
            driver.identify()


def test_error_fault_is_the_queued_scpi_error(pty_6517b: PtySimServer) -> None:
    pty_6517b.inject(WireFault("error", "READ?", count=1))
    with connect(pty_6517b, timeout=SHORT) as driver:
        driver.arm()
        with pytest.raises(InstrumentReportedError) as caught:
            driver.read_now()
    assert (caught.value.code, caught.value.meaning, caught.value.command) == ("-200", "Execution error", ":READ?")


def test_a_refused_setting_over_the_wire(pty_6517b: PtySimServer) -> None:
    with connect(pty_6517b) as driver:
        driver.set_function("charge")
        with pytest.raises(InstrumentReportedError) as caught:
            driver.set_range(-1e-9)                                    # a negative range, in C
    assert caught.value.code == "-222"


# --- SCPI message syntax (IEEE 488.2 / SCPI-99, as the 6517B and 6514 reference manuals describe it) -----------


def errors(sim: KeithleySimulator) -> list[str]:
    """Every queued error, read as a client would until `0,"No error"`."""
    found = []
    while (reply := ask(sim, ":SYST:ERR?")) != '0,"No error"\r\n':
        found.append(reply.strip())
    return found


def test_a_compound_line_is_run_in_order_and_its_queries_share_one_reply() -> None:
    sim = KeithleySimulator(ID_6517B)
    # 2e-8 C expected charge: the 20 nC range holds it (2 nC does not), so the range reads back as 2e-8 C
    reply = ask(sim, ":SENS:FUNC 'CHAR';:SENS:CHAR:RANG 2e-8;:SENS:CHAR:RANG?;:SENS:FUNC?")
    assert reply == '+2.000000E-08;"CHAR"\r\n'
    assert errors(sim) == []


def test_a_command_without_leading_colon_continues_the_previous_path() -> None:
    sim = KeithleySimulator(ID_6517B)
    assert ask(sim, ":SENS:CURR:NPLC 2;NPLC?") == "+2.000000E+00\r\n"            # SENS:CURR: + NPLC?
    assert ask(sim, ":SENS:CURR:NPLC 0.5;*CLS;NPLC?") == "+5.000000E-01\r\n"     # *CLS keeps the path
    assert ask(sim, ":SENS:CURR:RANG:AUTO OFF;RANG 2e-9") is None                 # SENS:CURR:RANG:RANG
    assert errors(sim) == ['-113,"Undefined header"']


def test_long_and_short_forms_in_any_case_with_optional_nodes() -> None:
    sim = KeithleySimulator(ID_6517B)
    ask(sim, "sense:current:nplcycles 5")
    ask(sim, ":SENSe1:CURRent:DC:RANGe:UPPer 1.5e-9")                           # 1.5 nA: the 2 nA range
    assert ask(sim, "CURR:NPLC?;:CURR:RANG?;:syst:zch?") == "+5.000000E+00;+2.000000E-09;1\r\n"
    assert ask(sim, ":SENSe:CURRe:NPLC?") is None                                  # neither long nor short
    assert errors(sim) == ['-113,"Undefined header"']


def test_pymeasures_reset_line_with_a_colon_before_a_common_command_and_a_trailing_semicolon() -> None:
    sim = KeithleySimulator(ID_6517B)
    ask(sim, "NOPE")
    assert ask(sim, "*RST;:stat:pres;:*CLS;") is None
    assert errors(sim) == []


def test_an_unknown_header_stops_the_line_and_a_bad_value_is_queued() -> None:
    sim = KeithleySimulator(ID_6517B)
    assert ask(sim, ":SENS:CURR:NPLC 3;:BOGUS;:SENS:CURR:NPLC 4") is None
    assert ask(sim, ":SENS:CURR:NPLC?") == "+3.000000E+00\r\n"
    ask(sim, ":SENS:CURR:NPLC fast")
    ask(sim, ":SENS:CURR:NPLC 11")                                                # the 6517B takes 0.01 … 10
    ask(sim, ":SYST:ZCH MAYBE")
    assert errors(sim) == ['-113,"Undefined header"', '-224,"Illegal parameter value"',
                           '-222,"Data out of range"', '-224,"Illegal parameter value"']


SETTINGS_6517B = [
    (":SYST:ZCH OFF", ":SYST:ZCH?", "0"),
    (":SYST:ZCOR ON", ":SYST:ZCOR?", "1"),
    (":SENS:FUNC 'CURR'", ":SENS:FUNC?", '"CURR:DC"'),
    (":SENS:FUNC 'VOLT'", ":SENS:FUNC?", '"VOLT:DC"'),
    (":SENS:FUNC 'RES'", ":SENS:FUNC?", '"RES"'),
    (":SENS:CHAR:RANG 1e-7", ":SENS:CHAR:RANG?", "+2.000000E-07"),            # 100 nC fits 200 nC
    (":SENS:CURR:RANG 0.01", ":SENS:CURR:RANG?", "+2.000000E-02"),            # the manual's 10 mA -> 20 mA
    (":SENS:VOLT:RANG 15", ":SENS:VOLT:RANG?", "+2.000000E+01"),
    (":SENS:CHAR:RANG:AUTO OFF", ":SENS:CHAR:RANG:AUTO?", "0"),
    (":SENS:CURR:RANG:AUTO 1", ":SENS:CURR:RANG:AUTO?", "1"),
    (":SENS:CHAR:NPLC 0.1", ":SENS:CHAR:NPLC?", "+1.000000E-01"),
    (":SENS:VOLT:NPLC 10", ":SENS:VOLT:NPLC?", "+1.000000E+01"),
    (":SENS:RES:NPLC 0.01", ":SENS:RES:NPLC?", "+1.000000E-02"),
    (":FORM:ELEM READ", ":FORM:ELEM?", "READ"),
    (":FORM:DATA ASCII", ":FORM:DATA?", "ASC"),
    (":TRAC:POIN 64", ":TRAC:POIN?", "64"),
    (":TRAC:FEED SENSE", ":TRAC:FEED?", "SENS"),
    (":TRAC:FEED:CONT NEV", ":TRAC:FEED:CONT?", "NEV"),
    (":TRIG:SOUR BUS", ":TRIG:SOUR?", "BUS"),
    (":TRIG:COUN 5", ":TRIG:COUN?", "5"),
    (":TRIG:DEL 0.25", ":TRIG:DEL?", "+2.500000E-01"),
    (":SOUR:VOLT 12.5", ":SOUR:VOLT?", "+1.250000E+01"),
    (":SOUR:VOLT:LEV -40", ":SOUR:VOLT:LEV?", "-4.000000E+01"),
    (":SOUR:VOLT:RANG 500", ":SOUR:VOLT:RANG?", "+1.000000E+03"),             # 500 V needs the 1000 V range
    (":SOUR:VOLT:RANG:AUTO ON", ":SOUR:VOLT:RANG:AUTO?", "1"),
    ("OUTPUT ON", "OUTPUT?", "1"),
    (":OUTP OFF", ":OUTP?", "0"),
    (":STAT:MEAS:ENAB 512", ":STAT:MEAS:ENAB?", "512"),
    ("*SRE 1", "*SRE?", "1"),
]


@pytest.mark.parametrize(("command", "query", "reply"), SETTINGS_6517B)
def test_every_setting_has_a_query_form(command: str, query: str, reply: str) -> None:
    sim = KeithleySimulator(ID_6517B)
    assert ask(sim, command) is None
    assert ask(sim, query) == reply + "\r\n"
    assert errors(sim) == []


def test_the_simulator_table_has_a_query_for_each_setting_it_takes() -> None:
    """Structure only: the values are held by the test above."""
    sim = KeithleySimulator(ID_6517B)
    lacking = [spec for spec, sets, queries in sim.headers() if sets and not queries
               and not spec.startswith(("*", ":INIT", ":ABOR", ":TRAC:CLE", ":CONF", ":STAT:PRES", ":SYST:PRES"))]
    assert lacking == []


def test_common_commands_pymeasure_uses() -> None:
    sim = KeithleySimulator(ID_6517B)
    assert ask(sim, "*OPC?") == "1\r\n"
    assert ask(sim, "*STB?") == "0\r\n"
    ask(sim, "NOPE")
    assert ask(sim, "*STB?") == "4\r\n"                             # bit 2: the error queue is not empty
    assert ask(sim, ":SYST:ERR:NEXT?") == '-113,"Undefined header"\r\n'
    assert ask(sim, "*IDN?;*OPC?") == "KEITHLEY INSTRUMENTS INC.,MODEL 6517B,1234567,A13/700x;1\r\n"


def test_6517b_zero_check_reads_9_91e37_and_normal_charge_ends_ncoul() -> None:
    sim = KeithleySimulator(ID_6517B, clock=lambda: 0.0)
    assert ask(sim, ":FORM:ELEM READ;:READ?") == "+9.910000E+37\r\n"           # manual: zero check reads 9.91E37
    ask(sim, ":FORM:ELEM READ,RNUM,UNIT,TST,STAT;:SENS:FUNC 'CHAR';:SYST:ZCH OFF")
    sim.on_exposure(exposure(94.0))                                              # 94 µGy / 9.4e5 Gy/C = 1e-10 C
    assert ask(sim, ":READ?") == "+1.000000E-10NCOUL,+0000.0secs,+00002RDNG#\r\n"


def test_a_range_is_the_smallest_that_holds_the_expected_reading() -> None:
    sim = KeithleySimulator(ID_6517B)
    ask(sim, ":SENS:CURR:RANG 0")                            # the manual's minimum: the lowest range, 20 pA
    assert ask(sim, ":SENS:CURR:RANG?") == "+2.000000E-11\r\n"
    ask(sim, ":SENS:CURR:RANG 2.1e-5")                       # 21 µA: the 20 µA range holds 5 % over range
    assert ask(sim, ":SENS:CURR:RANG?") == "+2.000000E-05\r\n"
    ask(sim, ":SENS:CHAR:RANG 2.2e-6")                       # over the 6517B's 2.1e-6 C
    ask(sim, ":SENS:CURR:RANG -1e-6")                        # the 6517B manual: 0 to 21e-3
    assert errors(sim) == ['-222,"Data out of range"', '-222,"Data out of range"']
    sim_6514 = KeithleySimulator(ID_6514)
    ask(sim_6514, ":SENS:CHAR:RANG -1.5e-8")                 # the 6514 takes signed expected readings
    assert ask(sim_6514, ":SENS:CHAR:RANG?") == "+2.000000E-08\r\n"
    assert errors(sim_6514) == []


def test_auto_range_reads_back_the_range_holding_the_present_signal() -> None:
    sim = KeithleySimulator(ID_6517B, leakage_a=3.0e-10)    # 300 pA: more than 200 pA × 1.05, within 2 nA
    ask(sim, ":SYST:ZCH OFF;:SENS:FUNC 'CURR';:SENS:CURR:RANG:AUTO ON")
    assert ask(sim, ":SENS:CURR:RANG?") == "+2.000000E-09\r\n"


def test_a_buffer_of_three_immediate_readings_sets_buffer_full_in_the_status_byte() -> None:
    sim = KeithleySimulator(ID_6517B, leakage_a=4.2e-12, clock=lambda: 0.0)
    ask(sim, ":SYST:ZCH OFF;:FORM:ELEM READ")
    ask(sim, ":STAT:PRES;*CLS;*SRE 1;:STAT:MEAS:ENAB 512;")
    ask(sim, ":TRAC:CLEAR;:TRAC:POIN 3;:TRIG:COUN 3;:TRIG:DEL 0;:TRAC:FEED SENSE;:TRAC:FEED:CONT NEXT;")
    assert ask(sim, "*STB?") == "0\r\n"
    ask(sim, ":INIT")
    assert ask(sim, "*STB?") == "65\r\n"                     # MSB (1) from buffer full (512), and MSS (64)
    assert ask(sim, ":TRAC:DATA?") == "+4.200000E-12,+4.200000E-12,+4.200000E-12\r\n"
    assert ask(sim, ":TRAC:FEED:CONT?") == "NEV\r\n"         # a full buffer stops storing
    ask(sim, ":TRAC:CLE")
    assert ask(sim, ":TRAC:DATA?") == "\r\n"
    assert errors(sim) == []


def test_bus_trigger_waits_for_trg_and_read_would_deadlock() -> None:
    sim = KeithleySimulator(ID_6517B, leakage_a=1e-12, clock=lambda: 0.0)
    ask(sim, ":SYST:ZCH OFF;:FORM:ELEM READ;:TRIG:SOUR BUS;")
    ask(sim, ":INIT")
    assert ask(sim, ":FETC?") is None                         # nothing measured yet
    assert ask(sim, "*TRG;:FETC?") == "+1.000000E-12\r\n"
    assert ask(sim, ":READ?") is None
    ask(sim, ":ABOR;:TRIG:SOUR IMM;")
    assert ask(sim, ":READ?") == "+1.000000E-12\r\n"
    assert errors(sim) == ['-230,"Data corrupt or stale"', '-214,"Trigger deadlock"']


def test_meas_reads_the_present_function_in_the_default_record() -> None:
    sim = KeithleySimulator(ID_6517B, leakage_a=-2.5e-13, clock=lambda: 0.0)
    ask(sim, ":SYST:ZCH OFF")
    assert ask(sim, ":MEAS?") == "-2.500000E-13NADC,+0000.0secs,+00001RDNG#\r\n"


def test_the_6514_has_no_voltage_source() -> None:
    sim = KeithleySimulator(ID_6514)
    assert ask(sim, ":SOUR:VOLT 10;OUTP ON") is None
    assert ask(sim, "OUTP?") is None
    assert errors(sim) == ['-113,"Undefined header"', '-113,"Undefined header"']


def test_a_vented_chamber_collects_in_proportion_to_the_air_density() -> None:
    """The demo wiring passes `air_density_factor` (1/k_TP) to the simulator of an instrument whose calibration
    has reference conditions, as every ion chamber's does."""
    sim = KeithleySimulator(ID_6514, n_k_gy_per_c=1e6, air_density_factor=0.97)
    ask(sim, ":SENS:FUNC 'CHAR';:SYST:ZCH OFF")
    sim.on_exposure(exposure(200.0))
    assert sim.charge_c == pytest.approx(200e-6 * 0.97 / 1e6)                        # 1.94e-10 C
    with pytest.raises(ValueError, match="air_density_factor"):
        KeithleySimulator(ID_6514, air_density_factor=0)


def test_configure_and_measure_with_a_function_select_it() -> None:
    sim = KeithleySimulator(ID_6517B, leakage_a=5e-13, clock=lambda: 0.0)
    ask(sim, ":SYST:ZCH OFF;:FORM:ELEM READ;:CONF:CHAR")
    assert ask(sim, ":FUNC?") == '"CHAR"\r\n'                               # [:SENSe[1]] left out
    assert ask(sim, ":MEAS:CURR?;:SENS:FUNC?") == '+5.000000E-13;"CURR:DC"\r\n'
    assert ask(sim, ":SYST:PRES;:SYST:ZCH?;:FORM:ELEM?") == "1;READ,RNUM,UNIT,TST,STAT\r\n"
    assert errors(sim) == []
