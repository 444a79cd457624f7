"""Acceptance suite for radiographic rooms with an Example X-Ray Co. DXR-500 generator, on xcal's pytest plugin.

    pytest examples/vendor_suite --xcal-room 3                  # demo room 3: every test passes
    pytest examples/vendor_suite --xcal-room 4                  # demo room 4: kVp fails at 120 kV
    pytest examples/vendor_suite --xcal-site site.yaml --xcal-room 2 --xcal-db records.sqlite3

The plugin (installed with xcal) gives the fixtures `xcal_site` and `xcal_room` from the command line options,
and records every run to `--xcal-db` (a temporary store when it is not given). A vendor ships one such file per
room type: each test runs one procedure of the library in the room and asserts it passes, so the pytest
report lists the room's tests one by one, and a failure shows the station, value, limit and source.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

GENERATOR = {"make": "Example X-Ray Co.", "model": "DXR-500"}
MANUFACTURER_LIMITS = "example-dxr-manufacturer"
TECHNIQUE_PROCEDURES = ("kvp-accuracy", "timer-accuracy")
BEAM_PROCEDURES = ("kvp-reproducibility", "output-reproducibility", "ma-linearity", "mas-linearity", "hvl")


@pytest.fixture(scope="module")
def session(xcal_room: Any) -> Iterator[Any]:
    """One session on the room for the whole suite, recorded under the vendor's operator name."""
    with xcal_room.session(operator="dxr500-acceptance") as session:
        yield session


def test_the_room_has_a_dxr500_generator(xcal_room: Any) -> None:
    """The suite is written for this generator; on another one its tolerances would be the wrong ones."""
    generator = xcal_room.equipment.get("generator", {})
    assert {key: generator.get(key) for key in GENERATOR} == GENERATOR, xcal_room


@pytest.mark.parametrize("procedure", TECHNIQUE_PROCEDURES)
def test_technique_factor_accuracy(session: Any, procedure: str) -> None:
    """kV and exposure time are judged against the manufacturer's stated tolerances, at every station."""
    result = session.run(procedure)
    assert result.passed, result
    assert {check.limit_set for check in result.checks} == {MANUFACTURER_LIMITS}, result.checks


@pytest.mark.parametrize("procedure", BEAM_PROCEDURES)
def test_beam_output_and_quality(session: Any, procedure: str) -> None:
    """Reproducibility, linearity and HVL, judged against the limit sets the room lists."""
    result = session.run(procedure)
    assert result.passed, result
    assert result.checks, f"{procedure} judged nothing"
