"""Writes the inputs file the manual driver reads, from a simulated room's exposures, for tests and demos.

It stands in for the technician: each exposure the room fires becomes an entry of `exposures:` with the
values a kVp meter's display would show, so a run with the manual driver can go unattended.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xcal.drivers.capabilities import READING_UNITS

if TYPE_CHECKING:  # pragma: no cover
    import pint

    from xcal.simulators.room import SimulatedExposure

DISPLAY_UNITS: dict[str, str] = {"kvp_max": "kV", "kvp_avg": "kV", "kvp_ppv": "kV", "exposure_time": "ms",
                                 "air_kerma": "µGy"}
"""The readings an exposure gives (as a kVp meter measures it) and the unit the file writes each in."""


def exposure_readings(exposure: SimulatedExposure) -> dict[str, pint.Quantity]:
    """What a kVp meter's display shows for one simulated exposure."""
    from xcal.simulators.meters import measure_kvp
    from xcal.units import Q_

    measured = measure_kvp(exposure)
    return {"kvp_max": Q_(measured.kvp_max, "kV"), "kvp_avg": Q_(measured.kvp_avg, "kV"),
            "kvp_ppv": Q_(measured.kvp_ppv, "kV"), "exposure_time": Q_(measured.exposure_time_ms, "ms"),
            "air_kerma": Q_(measured.air_kerma_ugy, "µGy")}


class ManualInputsWriter:
    """Collects answers and writes them as an inputs YAML file (`exposures:` and `now:` lists).

    `readings` are the names each exposure entry gets (among DISPLAY_UNITS); values are written with
    `digits` significant digits, as a display would round them. The file is rewritten whole after every
    change, through a temporary file, so a reader never sees half of it.
    """

    def __init__(self, path: str | Path, *, readings: Iterable[str] = ("kvp_ppv", "exposure_time", "air_kerma"),
                 digits: int = 4) -> None:
        self.path = Path(path)
        self.readings = tuple(readings)
        unknown = [n for n in self.readings if n not in DISPLAY_UNITS]
        if unknown:
            raise ValueError(f"a simulated exposure gives {', '.join(DISPLAY_UNITS)}, not {', '.join(unknown)}")
        self.digits = digits
        self.exposures: list[dict[str, Any]] = []
        self.now: list[dict[str, Any]] = []

    def on_exposure(self, exposure: SimulatedExposure) -> None:
        """Add the entry for one exposure of the room and rewrite the file."""
        values = exposure_readings(exposure)
        self.add_exposure({n: values[n] for n in self.readings})

    def add_exposure(self, values: Mapping[str, pint.Quantity], *, station: int | None = None,
                     repeat: int | None = None) -> None:
        """Add an exposure entry from quantities (optionally keyed by station and repeat); rewrite the file."""
        entry: dict[str, Any] = {"station": station, "repeat": repeat} if station is not None else {}
        entry.update({name: self._text(name, value) for name, value in values.items()})
        self.exposures.append(entry)
        self.write()

    def add_now(self, values: Mapping[str, pint.Quantity]) -> None:
        """Add an answer for read_now (a survey meter's or thermometer's display); rewrite the file."""
        self.now.append({name: self._text(name, value) for name, value in values.items()})
        self.write()

    def write(self) -> Path:
        """Write the file now."""
        import yaml

        data: dict[str, Any] = {"exposures": self.exposures}
        if self.now:
            data["now"] = self.now
        text = "# answers for xcal's manual driver, written by ManualInputsWriter\n" + \
            yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, self.path)
        return self.path

    def _text(self, name: str, value: pint.Quantity) -> str:
        unit = DISPLAY_UNITS.get(name, READING_UNITS[name])
        return f"{float(value.to(unit).magnitude):.{self.digits}g} {unit}"
