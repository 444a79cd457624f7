"""CsvExportSimulator appends rows as a vendor program would; the csv-import driver reads them during a run."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from xcal.drivers.generic.csv_import import CsvImport
from xcal.simulators.csv_export import CsvExportSimulator
from xcal.simulators.meters import measure_kvp
from xcal.simulators.room import RoomModel
from xcal.units import Q_


def test_rows_appended_from_room_exposures_are_read_as_they_come(make_room: Callable[..., RoomModel],
                                                                   tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    export = CsvExportSimulator(path, delimiter=";", decimal=",", preamble=["Device;XR-1", "Operator;sim"])
    room = make_room(seed=9)
    room.subscribe(export.on_exposure)
    driver = CsvImport(str(path), name="kvp-csv", poll_interval="10 ms", **export.site_options())
    shots: list = []
    for ms in (100.0, 200.0):
        driver.arm()
        timer = threading.Timer(0.05, lambda m=ms: shots.append(room.fire(80.0, 200.0, m)))
        timer.start()
        driver.wait_for_exposure(Q_(5, "s"))
        timer.join()
        shown = measure_kvp(shots[-1])
        reading = driver.read_exposure()
        assert reading["kvp_ppv"].to("kV").magnitude == pytest.approx(shown.kvp_ppv, rel=1e-4)
        assert reading["exposure_time"].to("ms").magnitude == pytest.approx(shown.exposure_time_ms, rel=1e-4)
        assert reading["air_kerma"].to("µGy").magnitude == pytest.approx(shown.air_kerma_ugy, rel=1e-4)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:3] == ["Device;XR-1", "Operator;sim", "No.;Date;kVp (PPV);Time;Dose"]
    assert lines[3].startswith("1;") and "," in lines[3].split(";")[2]


def test_an_empty_value_is_an_empty_cell(tmp_path: Path) -> None:
    export = CsvExportSimulator(tmp_path / "export.csv", clock=lambda: 0.0)
    assert export.add_row({"kvp_ppv": 80.25, "exposure_time": 100.0, "air_kerma": None}) == 1
    driver = CsvImport(str(tmp_path / "export.csv"), name="kvp-csv", **export.site_options())
    assert driver.read_exposure() == {"kvp_ppv": Q_(80.25, "kV"), "exposure_time": Q_(100, "ms")}


def test_a_decimal_comma_needs_another_delimiter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="differ from the delimiter"):
        CsvExportSimulator(tmp_path / "export.csv", decimal=",")
