"""The demo site's SIMULATED history: a year of runs and program records (`xcal demo history`), so every command
and page shows something on a fresh install.

`add_year_history` writes the runs (year.py), the actions, a service event, PMs and parts; `add_program_history`
the records that are not about a run, one incident and a quarter's badge reports, all SIMULATED.

`add_program_history` writes them to a store once (a store that already holds an incident or a dose row is left
as it is), dated from `today`: the badge reports cover the last whole quarter before it, one monthly collar
badge per person plus a ring badge, and one person's quarter comes to 1.5 mSv Hp(10), above the demo site's
ALARA level I (10 % of a quarter of 50 mSv = 1.25 mSv) and below level II (3.75 mSv). The incident falls in the
same quarter, in room 4, with doses far below any notification level.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
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


DAYS = 365
PARTS = (("XT-150", 1, "X-ray tube insert XT-150 (SIMULATED)", 1),
         ("LAMP-XC2", 4, "collimator light-field lamp 24 V 150 W (SIMULATED)", 2))
"""Parts received at the start of the simulated year: number, quantity, description, minimum stock."""


def demo_runs(store: Any) -> int:
    """How many runs of the store the demo history wrote (its operator)."""
    from .year import OPERATOR

    return next(iter(store.select("SELECT COUNT(*) FROM runs WHERE operator = ?", (OPERATOR,))))[0]


def other_records(store: Any) -> int:
    """How many runs of the store anything but the demo history wrote."""
    from .year import OPERATOR

    return next(iter(store.select("SELECT COUNT(*) FROM runs WHERE operator <> ?", (OPERATOR,))))[0]


def _needing_missing_dicom(procedures: Iterable[str]) -> set[str]:
    """The procedures (or bundles) among these that read a detector or a DICOM node, when pydicom or pynetdicom is
    not installed; an empty set when they are."""
    from ..dicom import require
    from ..dicom.nodes import DICOM_CAPABILITIES
    from ..errors import ConfigError
    from ..procedures.loader import find_procedure

    try:
        require()
        return set()
    except ConfigError:
        pass
    needing = set()
    for name in set(procedures):
        found = find_procedure(name)
        members = [find_procedure(m) for m in getattr(found, "procedures", ())] or [found]
        if any(c in DICOM_CAPABILITIES for m in members for c in getattr(m, "instruments", {}).values()):
            needing.add(name)
    return needing


def add_year_history(store: Any, site: Any, today: dt.date | None = None, days: int = DAYS,
                     rooms: tuple[str, ...] | None = None, force: bool = False) -> list[str]:
    """Fill `store` with `days` days of SIMULATED demo history ending yesterday: the schedule's runs (see
    year.py), room 4's FAIL with its corrective action and passing retest, room 3's tube replacement with
    its post-service tests, the PM schedule's PMs, parts received and used, and `add_program_history`.

    Nothing is added to a store that already holds demo history; a store holding other runs is refused unless
    `force`, so simulated history is never mixed into real records by accident. Returns what was added."""
    from ..errors import ConfigError
    from ..program import parts
    from ..program.service import record_service
    from .year import OPERATOR, plan_year, service_day, year_runs

    if not site.is_demo:
        raise ConfigError(f"the site is {site.path}; simulated history is made only for the built-in demo site",
                          fix="leave out --site (the built-in demo site), or record real runs with `xcal run`")
    if days < 14:
        raise ConfigError(f"--days {days} is too short for the demo history", fix="give --days 14 or more")
    if demo_runs(store):
        return [f"the store already holds demo history ({demo_runs(store)} runs by {OPERATOR}); nothing added"]
    if other_records(store) and not force:
        raise ConfigError(f"the store {store.path} already holds {other_records(store)} runs that are not demo "
                          f"history", fix="use an empty store (--db NEW_FILE), or add --force to mix the SIMULATED "
                                          "history in with them")
    today = today or dt.date.today()
    start = today - dt.timedelta(days=days)
    planned = plan_year(site, start, days, rooms)
    left_out = _needing_missing_dicom(p.procedure for p in planned)
    planned = [p for p in planned if p.procedure not in left_out]
    made = year_runs(site, planned)
    summary = store.import_runs(run for _, run in made)
    added = [f"{summary.runs} SIMULATED runs from {start.isoformat()} to {(today - dt.timedelta(days=1)).isoformat()}"]
    if left_out:
        added.append(f"left out {', '.join(sorted(left_out))}: they read images or DICOM nodes, which need the "
                     f"`dicom` extra (pip install 'xcal[dicom]')")
    for number, quantity, description, minimum in PARTS:
        parts.receive(store, number, quantity, description, BY, minimum)
    added.append(f"parts received: {', '.join(f'{q} x {n}' for n, q, _, _ in PARTS)}")
    added += _actions(store, made)
    down = dt.datetime.combine(service_day(start, days), dt.time(7), dt.UTC)
    if rooms is None or "3" in rooms:
        service = record_service(
            store, site, room="3", component="tube", work="replaced", vendor="Example X-Ray Co. (SIMULATED)",
            engineer="Demo Engineer E", down_from=down.isoformat(), down_to=(down + dt.timedelta(hours=6)).isoformat(),
            done="SIMULATED: tube XT-88412 replaced with a new XT-150 insert (serial XT-99001) after arcing; "
                 "seasoning run per the service manual", parts=[], documents=[], by=BY, stock_parts=["XT-150:1"])
        added.append(f"service event {service['service_id']} (room 3 tube replaced) with its post-service tests")
    added += _pms(store, site, start, today, rooms)
    added += add_program_history(store, site, today)
    return added


def _actions(store: Any, made: list[Any]) -> list[str]:
    """Open the actions of the imported FAILs and verify them by their retests, oldest first, as finished
    runs do; the room-4 action is resolved by the repair before its retest."""
    from ..program import actions

    lines: list[str] = []
    failing = {(run.header.room_id, run.header.procedure_id) for _, run in made if run.verdict == "FAIL"}
    for planned, run in made:
        if (run.header.room_id, run.header.procedure_id) not in failing:
            continue
        if planned.why == "retest":
            for a in actions.load_actions(store):
                if a.room == run.header.room_id and a.procedure == run.header.procedure_id and a.resolution is None:
                    actions.resolve(store, a.action_id, "SIMULATED: generator kV calibration corrected by the "
                                    "service engineer (kV feedback gain reset)", BY)
        said = actions.after_run(store, run.header.run_id)
        opened = [a for a in actions.actions_of_run(store, run.header.run_id)
                  if a.run_id == run.header.run_id and a.assignee is None]
        for a in opened:
            due = dt.date.fromisoformat(run.header.started_at[:10]) + dt.timedelta(days=actions.ACTION_DUE_DAYS)
            actions.assign(store, a.action_id, "Demo Engineer E", due.isoformat(), BY)
            said = [f"corrective action {a.action_id} opened on the FAIL of run {a.run_id} "
                    f"({run.header.started_at[:10]}), due {due.isoformat()}"]
        lines += said
    return lines


def _pms(store: Any, site: Any, start: dt.date, today: dt.date, rooms: tuple[str, ...] | None) -> list[str]:
    """Each PM of the site's schedule done at its interval over the period (the first lamp change uses a part)."""
    from ..frequency import next_due
    from ..program import parts
    from ..program.pm import load_pm_schedule, log_pm

    done: list[dt.date] = []
    lamp = False
    for index, item in enumerate(load_pm_schedule(site)):
        if rooms is not None and item.room not in rooms:
            continue
        day = start + dt.timedelta(days=5 + 7 * index)
        while day < today:
            used = item.component == "collimator" and not lamp
            lamp = lamp or used
            log_pm(store, site, room=item.room, component=item.component, on=day.isoformat(),
                   done=f"SIMULATED: {item.task}" + ("; lamp replaced" if used else ""),
                   engineer="Demo Engineer E", vendor="in-house (SIMULATED)",
                   parts=["LAMP-XC2 x1"] if used else [], by=BY)
            if used:
                parts.use(store, "LAMP-XC2", 1, item.room, None, BY)
            done.append(day)
            day = next_due(item.every, day, day)
    return [f"{len(done)} PMs logged"] if done else []


def ensure_demo_history(store: Any, site: Any, today: dt.date | None = None) -> list[str]:
    """Seed an empty store of the demo site with the year of demo history (what `xcal serve` does on a fresh
    install); any other site, or a store holding runs, is left as it is."""
    if not site.is_demo or next(iter(store.select("SELECT COUNT(*) FROM runs")))[0]:
        return []
    return add_year_history(store, site, today)


def seed_fresh_install(db: Any, site: Any, announce: Any) -> None:
    """What `xcal serve` does first on a fresh install: the demo site with the default store (neither --db nor
    XCAL_DB given) holding no run is filled with the year of demo history; `announce(text)` tells the console."""
    from ..records.store import Store

    if db is not None or not site.is_demo:
        return
    with Store(None) as store:
        if next(iter(store.select("SELECT COUNT(*) FROM runs")))[0]:
            return
        announce(f"{store.path} holds no run: adding a year of SIMULATED demo history first (`xcal demo history`)")
        for line in ensure_demo_history(store, site):
            announce(f"  {line}")
