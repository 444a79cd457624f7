"""A year of SIMULATED runs on the demo site: the schedule's procedures at their intervals, re-dated and imported.

Running a year of the demo's schedule through the run path takes 1.5 to 3 minutes (benchmarks/demo_history.py:
0.2-0.35 s for each of the 365 daily check-source runs, most of it the survey meter's serial protocol), so
each distinct room × procedure is run through the real run path on the simulated room a few times (VARIANTS) in
a scratch store, and the year's runs are those runs' readings and checks, re-dated to the day they stand for
and recorded with `Store.import_runs`. Every value and verdict is therefore one the room model and the checks
really produced; the chain entries carry the time they were written, as for any import. A run that records
DICOM images (detector QC) names its template's image UIDs, so the runs made from one template share them.

Room 4's generator really reads high (its simulated fault), so its annual kVp accuracy run FAILs and opens a
corrective action as any FAIL does; the retest comes from the same room with the fault removed (the repair).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..records.models import ImportedRun, RunHeader, StoredCheck, StoredReading

OPERATOR = "xcal demo (SIMULATED)"
"""The operator and author of every record the demo history writes: how a store's demo history is found."""
INPUTS = Path(__file__).parent / "inputs"
VARIANTS = {"daily": 4, "weekly": 3, "monthly": 3}
"""Real runs made per room × procedure for the frequent tests (their runs take these values in turn); 1 else."""
CONDITIONS = {"3": "conditions-room-3.yaml"}
"""The room's thermometer and barometer readings (inputs file); the other rooms are at reference conditions."""
GARMENT_INPUTS = {"APR": "apron-good.yaml", "THY": "thyroid-shield-good.yaml"}
SUBJECT_PROCEDURES = ("apron-inspection",)
POST_SERVICE_ROOM = "3"
FAILING = ("4", "kvp-accuracy")
"""The room × procedure whose simulated fault FAILs: its retest is made on the room with the fault repaired."""


@dataclass(frozen=True)
class Planned:
    """One run of the simulated year: when, where, what, and why (scheduled, retest, post-service)."""

    at: dt.datetime
    room: str
    procedure: str
    item: str | None = None
    why: str = "scheduled"


def _first(every: str, start: dt.date, index: int, days: int) -> dt.date:
    """A schedule line's first day: a rule's first date from `start`; for a frequency, `start` plus (11 × the
    line's index) modulo the smaller of its span (1, 7, 28 or 84 days) and `days` - 6, so the lines spread."""
    from ..frequency import FREQUENCIES, next_due

    if every not in FREQUENCIES:
        return next_due(every, start - dt.timedelta(days=1), start)
    span = {"daily": 1, "weekly": 7, "monthly": 28, "quarterly": 84, "annual": 84}[every]
    return start + dt.timedelta(days=(index * 11) % max(1, min(span, days - 6)))


def _garments(site: Any, entry: Any) -> list[str | None]:
    if entry.procedure not in SUBJECT_PROCEDURES:
        return [None]
    return [entry.item] if entry.item else [g for g in site.apparel
                                            if any(g.startswith(p) for p in GARMENT_INPUTS)]


def plan_year(site: Any, start: dt.date, days: int, rooms: tuple[str, ...] | None = None) -> list[Planned]:
    """Every scheduled run of `days` days from `start` (the site's schedule, each at its interval), the room-4
    retest three days after its FAIL and the post-service tests the day after room 3's tube replacement,
    oldest first; each day's runs from 08:00, 20 minutes apart."""
    from ..frequency import next_due

    end = start + dt.timedelta(days=days)
    days_runs: dict[dt.date, list[tuple[str, str, str | None, str]]] = {}
    for index, entry in enumerate(site.schedule):
        if rooms is not None and entry.room not in rooms:
            continue
        day = _first(entry.every, start, index, days)
        while day < end:
            for item in _garments(site, entry):
                days_runs.setdefault(day, []).append((entry.room, entry.procedure, item, "scheduled"))
            day = next_due(entry.every, day, day)
    failed = sorted(d for d, runs in days_runs.items() if any(r[:2] == FAILING for r in runs))
    if failed and failed[0] + dt.timedelta(days=3) < end:
        days_runs.setdefault(failed[0] + dt.timedelta(days=3), []).append((*FAILING, None, "retest"))
    service = service_day(start, days)
    if rooms is None or POST_SERVICE_ROOM in rooms:
        for proc in post_service_procedures():
            days_runs.setdefault(service + dt.timedelta(days=1), []).append(
                (POST_SERVICE_ROOM, proc, None, "post-service"))
    planned = []
    for day in sorted(days_runs):
        for k, (room, proc, item, why) in enumerate(days_runs[day]):
            at = dt.datetime.combine(day, dt.time(8), dt.UTC) + dt.timedelta(minutes=20 * k)
            planned.append(Planned(at, room, proc, item, why))
    return planned


def service_day(start: dt.date, days: int) -> dt.date:
    """The day of room 3's tube replacement: 60 % into the period."""
    return start + dt.timedelta(days=int(days * 0.6))


def post_service_procedures() -> list[str]:
    """What the rule set makes due after a tube replacement."""
    from ..program.service import invalidated, load_rules

    return [i["procedure"] for i in invalidated(load_rules(), "tube", "replaced")]


def _repaired(site: Any, room_id: str) -> Any:
    """The site with the room's simulated faults removed (the room after its repair)."""
    room = site.rooms[room_id]
    simulation = {k: v for k, v in (room.simulation or {}).items() if k != "faults"}
    fixed = dataclasses.replace(room, simulation=simulation)
    return dataclasses.replace(site, rooms={**site.rooms, room_id: fixed})


def run_inputs(room: str, procedure: str, item: str | None) -> dict[str, Any] | None:
    """The values the procedure (or a bundle's members) asks for: the room's conditions, the garment's defects."""
    from ..procedures.loader import find_procedure, load_inputs

    found = find_procedure(procedure)
    asked: set[str] = set()
    for member in getattr(found, "procedures", (procedure,)):
        asked |= set(getattr(find_procedure(member), "entered_names", dict)())
    values: dict[str, Any] = dict(load_inputs(INPUTS / CONDITIONS.get(room, "conditions-reference.yaml")))
    if item is not None:
        values.update(load_inputs(INPUTS / next(f for p, f in GARMENT_INPUTS.items() if item.startswith(p))))
    chosen = {k: v for k, v in values.items() if k in asked}
    return chosen or None


def make_templates(site: Any, planned: list[Planned], scratch: Path) -> dict[tuple[str, str, str, str], list[Any]]:
    """Run each room × procedure (× garment, × repaired) of the plan through the run path on the simulated room,
    as many times as VARIANTS says, in a scratch store; returns the stored runs by key (a bundle: its members)."""
    from ..procedures.session import start
    from ..program.actions import after_run
    from ..records.store import Store
    from .wiring import simulated_room

    counts: dict[tuple[str, str, str, str], int] = {}
    every = {(e.room, e.procedure): e.every for e in site.schedule}
    for p in planned:
        key = _key(p)
        counts[key] = min(counts.get(key, 0) + 1, VARIANTS.get(every.get((p.room, p.procedure), ""), 1))
    templates: dict[tuple[str, str, str, str], list[Any]] = {}
    with Store(scratch) as store:
        for key, n in counts.items():
            room, proc, item, repaired = key
            model = _repaired(site, room) if repaired else site
            for _ in range(n):
                prepared = start(proc, room, site=model, db=scratch, inputs=run_inputs(room, proc, item or None),
                                 item=item or None)
                outcome = prepared.run(operator=OPERATOR, simulated_room=simulated_room, after_run=after_run)
                ids = [m.run_id for m in outcome.members if m.run_id] if hasattr(outcome, "members") \
                    else [outcome.run_id]
                templates.setdefault(key, []).append([store.get_run(i) for i in ids])
    return templates


def _key(p: Planned) -> tuple[str, str, str, str]:
    return (p.room, p.procedure, p.item or "", "repaired" if p.why == "retest" else "")


def redated(run: Any, at: dt.datetime, salt: str) -> ImportedRun:
    """A stored run as an import dated `at`: the same readings, checks and verdict, each time shifted alike."""
    shift = at - dt.datetime.fromisoformat(run.started_at)

    def moved(text: str | None) -> str | None:
        return None if text is None else (dt.datetime.fromisoformat(text) + shift).isoformat(
            timespec="milliseconds")

    run_id = at.strftime("%Y%m%d-%H%M%S-") + hashlib.sha256(salt.encode()).hexdigest()[:4]
    header = RunHeader(run.procedure_id, run.procedure_version, run.procedure_sha256, run.procedure_title,
                       run.site, run.room_id, run.room_name, OPERATOR, True, run.software_version, run.snapshot,
                       run_id=run_id, started_at=moved(run.started_at) or "")
    readings = [StoredReading(exposure=r.exposure, station=r.station, repeat=r.repeat, role=r.role,
                              instrument_id=r.instrument_id, quantity=r.quantity, value=r.value, unit=r.unit,
                              taken_at=moved(r.taken_at) or "", data=r.data) for r in run.readings]
    checks = [StoredCheck(**{f.name: getattr(c, f.name) for f in dataclasses.fields(StoredCheck)})
              for c in run.checks]
    return ImportedRun(header, readings, checks, run.verdict, moved(run.finished_at) or "", run.status_note)


def year_runs(site: Any, planned: list[Planned]) -> list[tuple[Planned, ImportedRun]]:
    """The planned runs as imports, each from its template (a bundle gives one import per member, 2 minutes
    apart)."""
    with tempfile.TemporaryDirectory(prefix="xcal-demo-") as folder:
        templates = make_templates(site, planned, Path(folder) / "scratch.sqlite3")
    used: dict[tuple[str, str, str, str], int] = {}
    made = []
    for n, p in enumerate(planned):
        key = _key(p)
        choice = templates[key][used.get(key, 0) % len(templates[key])]
        used[key] = used.get(key, 0) + 1
        for m, run in enumerate(choice):
            made.append((p, redated(run, p.at + dt.timedelta(minutes=2 * m), f"{n}-{m}-{p.at.isoformat()}")))
    return made
