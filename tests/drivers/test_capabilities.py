"""The capability vocabulary procedures are validated against."""

from __future__ import annotations

import dataclasses

import pytest

from xcal.drivers.capabilities import CAPABILITIES, READING_UNITS, InstrumentIdentity, KvpMeter, Waveform
from xcal.drivers.generic.declarative import DeclarativeDriver
from xcal.units import Q_

from .protocol import ExpectedProtocol


def test_capabilities_list_the_readings_each_one_delivers() -> None:
    assert CAPABILITIES == {
        "KvpMeter": ("kvp_max", "kvp_avg", "kvp_ppv", "exposure_time", "air_kerma", "waveform"),
        "Electrometer": ("charge", "current"),
        "Dosimeter": ("air_kerma", "air_kerma_rate"),
        "DapMeter": ("dap", "dap_rate"),
        "SurveyMeter": ("dose_rate", "exposure_rate", "count_rate", "dose"),
        "Environment": ("temperature", "pressure"),
        # read through DICOM from the site's dicom section (xcal.dicom.acquire)
        "DetectorImage": ("pixel_mean", "pixel_sd", "exposure_index", "snr", "global_nonuniformity",
                          "local_nonuniformity", "defective_pixels", "defective_lines"),
        "DicomConnection": ("association_ms", "echo_ms", "store_ms", "commit_ms", "failed_steps"),
    }


def test_every_scalar_reading_has_a_reference_unit_of_its_kind() -> None:
    scalar = {r for readings in CAPABILITIES.values() for r in readings} - {"waveform"}
    assert set(READING_UNITS) == scalar
    assert Q_(1, READING_UNITS["kvp_max"]).to("V").magnitude == 1000
    assert Q_(1, READING_UNITS["exposure_time"]).to("s").magnitude == pytest.approx(1e-3)


def test_identity_and_waveform_are_frozen() -> None:
    identity = InstrumentIdentity("Example Instruments", "XR-1", "1", "2.0")
    with pytest.raises(dataclasses.FrozenInstanceError):
        identity.serial = "2"  # type: ignore[misc]
    wave = Waveform(Q_(0.05, "ms"), Q_([79.0, 80.0], "kV"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        wave.interval = Q_(1, "ms")  # type: ignore[misc]


def test_the_declarative_driver_is_a_kvp_meter(example_map) -> None:
    driver = DeclarativeDriver("fake", command_map=example_map, transport=ExpectedProtocol([]))
    assert isinstance(driver, KvpMeter)
    assert "KvpMeter" in DeclarativeDriver.capabilities
