"""ManualInputsWriter stands in for the technician: the manual driver reads what a room's exposures would show."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from xcal.drivers.generic.manual import ManualEntry
from xcal.simulators.manual_inputs import ManualInputsWriter
from xcal.simulators.meters import measure_kvp
from xcal.simulators.room import RoomModel
from xcal.units import Q_


def test_room_exposures_become_answers_the_manual_driver_reads(make_room: Callable[..., RoomModel],
                                                                tmp_path: Path) -> None:
    path = tmp_path / "inputs.yaml"
    writer = ManualInputsWriter(path, readings=("kvp_ppv", "exposure_time", "air_kerma"))
    room = make_room(seed=4)
    room.subscribe(writer.on_exposure)
    driver = ManualEntry(f"inputs:{path}", name="kvp-manual", readings=["kvp_ppv", "exposure_time", "air_kerma"])
    for ms in (100.0, 50.0):
        shown = measure_kvp(room.fire(80.0, 200.0, ms))
        driver.arm()
        driver.wait_for_exposure(Q_(1, "s"))
        reading = driver.read_exposure()
        assert reading["kvp_ppv"].to("kV").magnitude == pytest.approx(shown.kvp_ppv, rel=5e-4)     # 4 digits
        assert reading["exposure_time"].to("ms").magnitude == pytest.approx(shown.exposure_time_ms, rel=5e-4)
        assert reading["air_kerma"].to("µGy").magnitude == pytest.approx(shown.air_kerma_ugy, rel=5e-4)
    assert len(writer.exposures) == 2


def test_the_file_is_plain_yaml_with_units(tmp_path: Path) -> None:
    writer = ManualInputsWriter(tmp_path / "inputs.yaml", readings=("kvp_ppv",))
    writer.add_exposure({"kvp_ppv": Q_(80312, "V")}, station=1, repeat=2)
    writer.add_now({"dose_rate": Q_(0.5, "µSv/h")})
    text = (tmp_path / "inputs.yaml").read_text(encoding="utf-8")
    assert "- {station: 1, repeat: 2, kvp_ppv: 80.31 kV}" in text
    assert "- {dose_rate: 0.5 µSv/h}" in text
    driver = ManualEntry(f"inputs:{tmp_path / 'inputs.yaml'}", name="m", readings=["kvp_ppv"],
                         capability="SurveyMeter")
    driver.expect_exposure(1, 2)
    assert driver.read_exposure() == {"kvp_ppv": Q_(80.31, "kV")}
    assert driver.read_now() == {"dose_rate": Q_(0.5, "µSv/h")}


def test_only_readings_an_exposure_gives_can_be_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not charge"):
        ManualInputsWriter(tmp_path / "inputs.yaml", readings=("kvp_ppv", "charge"))
