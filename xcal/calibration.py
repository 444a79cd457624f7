"""Instruments' calibration on a day: OK, DUE SOON (within a warning window) or EXPIRED, and where each serves.

What `xcal site instruments` lists and the program's KPIs count; a run refuses an expired instrument on its own
(xcal.site.Instrument). It reads only the site, so any part may use it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

CALIBRATION_WINDOW_DAYS = 60
"""How many days ahead `xcal site instruments` warns of a calibration falling due (`--within` changes it)."""


@dataclass(frozen=True)
class CalibrationStatus:
    """One instrument of the site with its calibration and where it serves: OK, DUE SOON (within the window,
    its due day included) or EXPIRED (past the due day, when a run refuses it)."""

    instrument: Any
    rooms: tuple[tuple[str, str], ...]       # (room id, role)
    days_left: int                           # negative once expired
    status: str                              # "OK", "DUE SOON", "EXPIRED"


def calibration_report(site: Any, today: dt.date, within_days: int = CALIBRATION_WINDOW_DAYS
                       ) -> list[CalibrationStatus]:
    """Every instrument of the site, in the site file's order, with its calibration status on `today`."""
    items = []
    for inst in site.instruments.values():
        left = (inst.calibration.due - today).days
        status = "EXPIRED" if left < 0 else "DUE SOON" if left <= within_days else "OK"
        rooms = tuple((room.id, role) for room in site.rooms.values()
                      for role, iid in room.instruments.items() if iid == inst.id)
        items.append(CalibrationStatus(inst, rooms, left, status))
    return items


def window_days(text: str) -> int:
    """The whole days of a warning window written with its unit (`90d`, `12 weeks`); ConfigError otherwise."""
    from .errors import ConfigError
    from .units import parse_quantity

    fix = "give a time with its unit, e.g. --within 90d or --within '12 weeks'"
    try:
        days = parse_quantity(text, "time").to("day").magnitude
    except ValueError as exc:
        raise ConfigError(f"--within {text!r} is not a time: {exc}", fix=fix) from None
    if days < 0:
        raise ConfigError(f"--within {text!r} is negative", fix=fix)
    return int(days)
