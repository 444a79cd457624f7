"""Find driver classes by name: the built-in ones, and third-party ones from the `xcal.drivers` entry points.

A vendor can ship a driver in a separate package by declaring, in its pyproject.toml,
`[project.entry-points."xcal.drivers"] my-meter = "my_package.driver:MyMeter"`. Nothing is imported until a
driver is asked for by name. A built-in name cannot be taken over by a third-party package.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any

from ..errors import ConfigError

ENTRY_POINT_GROUP = "xcal.drivers"

BUILTIN: dict[str, str] = {
    "declarative": "xcal.drivers.generic.declarative:DeclarativeDriver",
    "ptw-unidos": "xcal.drivers.instruments.ptw.unidos:PtwUnidos",
    "ptw-diamentor": "xcal.drivers.instruments.ptw.diamentor:PtwDiamentor",
    "keithley-6517b": "xcal.drivers.instruments.keithley.electrometers:Keithley6517B",
    "keithley-6514": "xcal.drivers.instruments.keithley.electrometers:Keithley6514",
    "si-max4000": "xcal.drivers.instruments.standard_imaging.max4000:StandardImagingMax4000",
    "gq-gmc": "xcal.drivers.instruments.gq.gmc:GqGmc",
    "radpro": "xcal.drivers.instruments.radpro.radpro:RadPro",
    "thermo-radeye": "xcal.drivers.instruments.thermo.radeye:ThermoRadEye",
    "ludlum-375": "xcal.drivers.instruments.ludlum.model375:Ludlum375",
    "manual": "xcal.drivers.generic.manual:ManualEntry",
    "csv-import": "xcal.drivers.generic.csv_import:CsvImport",
}


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)
            if ep.name not in BUILTIN}


def driver_names() -> list[str]:
    """Every driver name that can be asked for, built-in and installed."""
    return sorted(set(BUILTIN) | set(_entry_points()))


def get_driver_class(name: str) -> type[Any]:
    """The driver class registered as `name`; ConfigError listing the known names if there is none.

    A third-party class need not derive from `Driver`; it is checked to have the class attributes one has."""
    if name in BUILTIN:
        module, _, attribute = BUILTIN[name].partition(":")
        cls = getattr(importlib.import_module(module), attribute)
    else:
        entry = _entry_points().get(name)
        if entry is None:
            raise ConfigError(f"no instrument driver is called '{name}'",
                              fix=f"use one of: {', '.join(driver_names())}; or install the package "
                                  f"that provides '{name}'")
        try:
            cls = entry.load()
        except Exception as exc:  # noqa: BLE001 - a broken third-party package must not crash xcal
            raise ConfigError(f"the driver '{name}' ({entry.value}) could not be loaded: "
                              f"{type(exc).__name__}: {exc}",
                              fix="reinstall or update the package that provides it") from None
    _check(name, cls)
    return cls


def _check(name: str, cls: object) -> None:
    capabilities = getattr(cls, "capabilities", None)
    if not isinstance(cls, type) or not isinstance(capabilities, tuple) \
            or not isinstance(getattr(cls, "protocol_status", None), str):
        raise ConfigError(f"the driver '{name}' is not a driver class (it needs the class attributes "
                          f"`capabilities` (a tuple) and `protocol_status` (text))",
                          fix="ask the driver's author to fix it, or uninstall its package")
