"""The csv-import driver against vendor-style export files written by hand."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xcal.drivers.capabilities import KvpMeter
from xcal.drivers.generic.csv_import import CsvImport, parse_cell
from xcal.errors import ConfigError, InstrumentError, InstrumentTimeout, ProtocolError
from xcal.site import load_site
from xcal.units import Q_

COLUMNS = {"kvp_ppv": {"column": "kVp (PPV)", "unit": "kV"}, "exposure_time": {"column": "Time", "unit": "ms"},
           "air_kerma": {"column": "Dose", "unit": "µGy"}}
EUROPEAN = ("Device;XR-1 S/N 42\r\n"
            "Exported;2024-03-15\r\n"
            "No.;Date;kVp (PPV);Time;Dose\r\n"
            "1;2024-03-15 10:00:01;80,31;100,2;812,3\r\n"
            "2;2024-03-15 10:00:31;80,12;99,8;808,9\r\n")


def importer(resource: Path, **options) -> CsvImport:
    settings_ = {"columns": COLUMNS, "poll_interval": "10 ms", **options}
    return CsvImport(str(resource), name="kvp-csv", **settings_)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_rows_are_taken_in_order_with_their_units(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", EUROPEAN)
    driver = importer(path, delimiter=";", decimal=",", skip_rows=2)
    assert isinstance(driver, KvpMeter)
    driver.arm()
    driver.wait_for_exposure(Q_(1, "s"))
    assert driver.read_exposure() == {"kvp_ppv": Q_(80.31, "kV"), "exposure_time": Q_(100.2, "ms"),
                                      "air_kerma": Q_(812.3, "µGy")}
    assert driver.read_exposure()["kvp_ppv"] == Q_(80.12, "kV")
    with pytest.raises(InstrumentError, match="no row after the 2 already taken"):
        driver.read_exposure()
    assert driver.read_now()["air_kerma"] == Q_(808.9, "µGy")          # the last row, not taken
    with pytest.raises(InstrumentError, match="no waveform"):
        driver.read_waveform()
    driver.close()


def test_waiting_polls_until_the_vendor_program_appends_a_row(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", "No.,kVp (PPV),Time,Dose\n")
    driver = importer(path)

    def export() -> None:
        with path.open("a", encoding="utf-8") as out:
            out.write("1,70.5,50.1")                                    # written in two goes
            out.flush()
            time.sleep(0.05)
            out.write(",401.2\n")

    writer = threading.Timer(0.05, export)
    writer.start()
    driver.wait_for_exposure(Q_(2, "s"))
    writer.join()
    assert driver.read_exposure() == {"kvp_ppv": Q_(70.5, "kV"), "exposure_time": Q_(50.1, "ms"),
                                      "air_kerma": Q_(401.2, "µGy")}


def test_a_line_still_being_written_is_not_a_row(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", "No.,kVp (PPV),Time,Dose\n1,70.5,50")
    driver = importer(path)
    with pytest.raises(InstrumentTimeout):
        driver.wait_for_exposure(Q_(50, "ms"))


def test_no_new_row_in_time_is_a_timeout_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", "No.,kVp (PPV),Time,Dose\n")
    with pytest.raises(InstrumentTimeout) as caught:
        importer(path).wait_for_exposure(Q_(50, "ms"))
    assert "kvp-csv" in str(caught.value) and str(path) in str(caught.value) and "0.05 s" in str(caught.value)


def test_a_file_not_yet_created_is_waited_for(tmp_path: Path) -> None:
    driver = importer(tmp_path / "later.csv")
    with pytest.raises(InstrumentTimeout):
        driver.wait_for_exposure(Q_(30, "ms"))
    write(tmp_path / "later.csv", "kVp (PPV),Time,Dose\n81,100,800\n")
    driver.wait_for_exposure(Q_(1, "s"))
    assert driver.read_exposure()["kvp_ppv"] == Q_(81, "kV")


def test_an_unknown_column_names_file_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", "No.,kVp,Time,Dose\n1,80,100,800\n")
    with pytest.raises(ProtocolError) as caught:
        importer(path).read_exposure()
    message = str(caught.value)
    assert f"{path}, row 1: no column 'kVp (PPV)'" in message and "'kVp'" in message


def test_an_unparsable_number_names_file_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", EUROPEAN.replace("99,8", "99.8"))
    driver = importer(path, delimiter=";", decimal=",", skip_rows=2)
    driver.read_exposure()
    with pytest.raises(ProtocolError, match=f"{path}, row 5, column 'Time': '99.8' has a '.'"):
        driver.read_exposure()


def test_an_empty_cell_leaves_its_reading_out(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", "kVp (PPV),Time,Dose\n80.4,100.0,\n")
    assert importer(path).read_exposure() == {"kvp_ppv": Q_(80.4, "kV"), "exposure_time": Q_(100, "ms")}


def test_a_folder_is_read_from_its_newest_export(tmp_path: Path) -> None:
    old = write(tmp_path / "a.csv", "kVp (PPV),Time,Dose\n60,10,100\n")
    os.utime(old, (1_000_000, 1_000_000))
    write(tmp_path / "b.csv", "kVp (PPV),Time,Dose\n70,20,200\n71,21,210\n")
    write(tmp_path / "notes.txt", "not an export")
    driver = importer(tmp_path)
    assert driver.read_exposure()["kvp_ppv"] == Q_(70, "kV")
    newer = write(tmp_path / "c.csv", "kVp (PPV),Time,Dose\n90,30,300\n")
    os.utime(newer, (4_000_000_000, 4_000_000_000))
    assert driver.read_exposure()["kvp_ppv"] == Q_(90, "kV")              # a new export starts from its first row


def test_a_single_export_that_loses_rows_taken_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", "kVp (PPV),Time,Dose\n70,20,200\n71,21,210\n")
    driver = importer(path)
    driver.read_exposure()
    driver.read_exposure()
    write(path, "kVp (PPV),Time,Dose\n90,30,300\n")
    with pytest.raises(ProtocolError, match="1 data rows, but 2 were already taken"):
        driver.read_exposure()


def test_a_file_in_another_encoding_is_a_protocol_error_until_configured(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("kVp (PPV),Time,Dose (µGy)\n80,100,800\n".encode("cp1252"))
    columns = {**COLUMNS, "air_kerma": {"column": "Dose (µGy)", "unit": "µGy"}}
    with pytest.raises(ProtocolError, match="not utf-8-sig text"):
        importer(path, columns=columns).read_exposure()
    assert importer(path, columns=columns, encoding="cp1252").read_exposure()["air_kerma"] == Q_(800, "µGy")


def test_identity_from_the_options_or_the_file_name(tmp_path: Path) -> None:
    driver = importer(tmp_path / "x.csv")
    assert (driver.identify().make, driver.identify().model) == ("CSV import", "x.csv")
    assert importer(tmp_path / "x.csv", make="Radcal", model="Accu-Gold").identify().model == "Accu-Gold"


@pytest.mark.parametrize("options, problem", [
    ({"columns": None}, "needs the option `columns`"),
    ({"columns": {"kvp": {"column": "kVp", "unit": "kV"}}}, "unknown reading 'kvp'"),
    ({"columns": {"kvp_ppv": {"column": "kVp"}}}, "must give `column` and `unit`"),
    ({"columns": {"kvp_ppv": {"column": "kVp", "unit": "mA"}}}, "not a unit of kvp_ppv"),
    ({"columns": {"kvp_ppv": {"column": "kVp", "unit": "furlongs per kV"}}}, "columns: kvp_ppv"),
    ({"decimal": ","}, "delimiter must be one character other than the decimal mark"),
    ({"decimal": "·"}, "decimal must be"),
    ({"skip_rows": "two"}, "skip_rows must be a whole number"),
    ({"encoding": "klingon"}, "unknown encoding"),
    ({"poll_interval": "fast"}, "poll_interval"),
])
def test_bad_options_are_config_errors(tmp_path: Path, options: dict, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        importer(tmp_path / "export.csv", **options)


def test_a_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="neither"):
        importer(tmp_path / "no" / "such" / "export.csv")


@pytest.mark.parametrize("text, decimal, value", [("80.3", ".", 80.3), ("80,3", ",", 80.3), (" -1e3 ", ".", -1000.0),
                                                  (".5", ".", 0.5)])
def test_numbers_as_exports_write_them(text: str, decimal: str, value: float) -> None:
    assert parse_cell(text, decimal) == value


@pytest.mark.parametrize("text", ["nan", "inf", "1_000", "80 kV", "", "1e999", "0x10"])
def test_what_is_not_a_plain_finite_number_is_refused(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_cell(text, ".")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30), decimal=st.sampled_from([".", ","]))
def test_cell_parser_raises_only_protocol_errors(text: str, decimal: str) -> None:
    with contextlib.suppress(ProtocolError):
        parse_cell(text, decimal)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=200))
def test_any_file_content_gives_readings_or_a_protocol_or_instrument_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(b"kVp (PPV),Time,Dose\n" + content)
    try:
        values = importer(path).read_exposure()
    except (ProtocolError, InstrumentError):
        return
    assert set(values) <= {"kvp_ppv", "exposure_time", "air_kerma"}


CSV_METER = """  - id: csv-1
    make: Example Instruments
    model: XR-1 export
    serial: XR1-000042
    driver: csv-import
    resource: exports/xr1.csv
    capabilities: [KvpMeter]
    options:
      columns: {kvp_ppv: {column: "kVp (PPV)", unit: kV}}
      OPTION
    calibration:
      certificate: C-42
      laboratory: none
      date: 2026-01-15
      due: 2099-12-31
"""


@pytest.mark.parametrize("option, message, fix", [
    ("skip_rows: -1", "instrument csv-1: option skip_rows must be a whole number ≥ 0, got -1",
     "give skip_rows like 0 (lines of the export before its header row)"),
    ("skip_rows: 1.5", "instrument csv-1: option skip_rows must be a whole number ≥ 0, got 1.5",
     "give skip_rows like 0 (lines of the export before its header row)"),
    ("poll_interval: fast", "instrument csv-1: option poll_interval: ",
     "give poll_interval like '200 ms' (time between looks at the export while waiting for a row)"),
    ("poll_interval: 0 s", "instrument csv-1: option poll_interval must be more than 0 s, got 0 s",
     "give poll_interval like '200 ms' (time between looks at the export while waiting for a row)"),
    ("decimal: ';'", "instrument csv-1: option decimal must be '.' or ',', got ';'", "decimal"),
])
def test_a_bad_option_in_the_site_file_is_refused_when_the_site_loads(site_copy, option, message, fix) -> None:
    path = site_copy({"  - id: ec-1\n": CSV_METER.replace("OPTION", option) + "  - id: ec-1\n"})
    text = path.read_text(encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_site(path)
    assert message in err.value.message and fix in err.value.fix
    columns_line = text[:text.index("      columns: {kvp_ppv")].count("\n") + 1      # where the options mapping starts
    assert (err.value.file, err.value.line) == (str(path), columns_line)


def test_good_options_in_the_site_file_load_and_reach_the_driver(site_copy, tmp_path: Path) -> None:
    meter = CSV_METER.replace("OPTION", "skip_rows: 2\n      poll_interval: 50 ms")
    site = load_site(site_copy({"  - id: ec-1\n": meter + "  - id: ec-1\n"}))
    options = site.instruments["csv-1"].options
    driver = CsvImport(str(write(tmp_path / "xr1.csv", "a\nb\nkVp (PPV)\n80.5\n")), name="csv-1", **options)
    assert (driver.skip_rows, driver._poll_s) == (2, 0.05)
    assert driver.read_now() == {"kvp_ppv": Q_(80.5, "kV")}
