"""The demo site's program history that is not a run: one incident and a quarter's badge reports, all SIMULATED.

`add_program_history` writes them to a store once (a store that already holds an incident or a dose row is left
as it is), dated from `today`: the badge reports cover the last whole quarter before it, one monthly collar
badge per person plus a ring badge, and one person's quarter comes to 1.5 mSv Hp(10), above the demo site's
ALARA level I (10 % of a quarter of 50 mSv = 1.25 mSv) and below level II (3.75 mSv). The incident falls in the
same quarter, in room 4, with doses far below any notification level.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

BY = "xcal demo (SIMULATED)"
PEOPLE = (("Demo Technologist A", "SIM-B-101", (0.4, 0.6, 0.5)),
          ("Demo Technologist B", "SIM-B-102", (0.1, 0.0, 0.2)),
          ("Demo Radiologist C", "SIM-B-103", (0.3, 0.2, 0.3)))
"""Fictional wearers, their collar badges and monthly Hp(10) in mSv (Hp(0.07) and the lens dose follow it)."""
RING = ("Demo Radiologist C", "SIM-R-103", 4.2)
"""The ring badge (extremity) and its quarter's Hp(0.07) in mSv."""


def last_quarter(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the last whole calendar quarter before `today`."""
    first_this = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last = first_this - dt.timedelta(days=1)
    return dt.date(last.year, 3 * ((last.month - 1) // 3) + 1, 1), last


def _months(first: dt.date) -> list[tuple[dt.date, dt.date]]:
    spans = []
    for i in range(3):
        start = dt.date(first.year, first.month + i, 1)
        after = dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        spans.append((start, after - dt.timedelta(days=1)))
    return spans


def badge_rows(today: dt.date) -> list[dict[str, Any]]:
    """The quarter's dose rows, as the badge report import gives them."""
    first, last = last_quarter(today)
    source = {"file": "demo badge report (SIMULATED)", "sha256": None, "line": None, "simulated": True}
    rows = []
    for person, badge, monthly in PEOPLE:
        for (start, end), deep in zip(_months(first), monthly, strict=True):
            rows.append({"badge": badge, "person": person, "location": "collar", "period_start": start.isoformat(),
                         "period_end": end.isoformat(), "source": source,
                         "doses": {"tede": deep, "shallow": round(deep * 1.1, 3), "lens": round(deep * 1.05, 3)}})
    rows.append({"badge": RING[1], "person": RING[0], "location": "extremity", "period_start": first.isoformat(),
                 "period_end": last.isoformat(), "source": source,
                 "doses": {"tede": None, "shallow": RING[2], "lens": None}})
    return rows


def add_program_history(store: Any, site: Any, today: dt.date | None = None) -> list[str]:
    """Add the demo's incident and badge reports to `store` unless it holds some already; returns what it added."""
    from ..program.dosimetry import _append_rows, load_doses
    from ..program.incidents import load_incidents, record_incident

    today = today or dt.date.today()
    added = []
    if not load_doses(store):
        rows = _append_rows(store, badge_rows(today), BY)
        added.append(f"{len(rows)} SIMULATED dose rows")
    if not load_incidents(store):
        first, _ = last_quarter(today)
        found = record_incident(
            store, site, date=(first + dt.timedelta(days=40)).isoformat(), room="4", kind="equipment",
            what="SIMULATED: the exposure switch stuck closed; the exposure ended on the generator's backup timer "
                 "after about 3 s instead of 0.1 s",
            people=["Demo Technologist B; tede=0.02 mSv; lens=0.03 mSv"],
            immediate_actions="room 4 taken out of use; switch isolated; service called",
            root_cause="worn exposure switch contacts", by=BY)
        added.append(f"incident {found.incident_id}")
    return added
