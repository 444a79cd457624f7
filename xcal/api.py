"""The Python API: the same machinery as the command line, for acceptance scripts and CI.

    site = xcal.load_site()                      # the demo site, or xcal.load_site("site.yaml")
    room = site.room(3)
    with room.session(operator="field-eng") as session:
        result = session.run("kvp-accuracy", parameters={"repeats": 5})
    assert result.passed, result                  # the repr lists each failed check with its limit and source
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Check:
    """One judged check: where it applies, the value with its unit, the limit as text, its source, the verdict."""

    name: str
    title: str
    station: str
    value: Any
    nominal: Any | None
    limit: str
    source: str
    limit_set: str
    verdict: str

    def brief(self) -> str:
        """Where, the value (and set value), the limit and its source, in one short line."""
        where = "run" if self.station == "run" else f"station {self.station}"
        nominal = f" (set {self.nominal:~P})" if self.nominal is not None else ""
        return f"{where}: {self.value:.4g~P}{nominal} outside {self.limit}; source: {self.source}"

    def __str__(self) -> str:
        nominal = f" (set {self.nominal:~P})" if self.nominal is not None else ""
        where = "the run" if self.station == "run" else f"station {self.station}"
        return (f"{self.name} at {where}: {self.value:.5g~P}{nominal} against {self.limit} "
                f"[{self.limit_set}: {self.source}] -> {self.verdict}")


@dataclass(frozen=True)
class Result:
    """What a run (or a bundle of runs) gave: its verdict, record ids and checks."""

    procedure: str
    verdict: str
    run_ids: tuple[str, ...]
    checks: tuple[Check, ...]
    simulated: bool
    raw: Any = field(repr=False, compare=False, default=None)
    bundle_id: str | None = None
    """The bundle's record id (for `xcal show-run`, `xcal report`, `Session.resume`); None for one run."""

    @property
    def passed(self) -> bool:
        return self.verdict == "PASS"

    @property
    def run_id(self) -> str:
        """The record id of the run (the first one, for a bundle)."""
        return self.run_ids[0]

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.verdict == "FAIL")

    def __repr__(self) -> str:
        """Short enough for pytest to show whole in an assertion message: each failure's place, value, limit, source."""
        head = f"<Result {self.procedure} {self.verdict} run {', '.join(self.run_ids)}"
        if not self.failed:
            return head + (" SIMULATED>" if self.simulated else ">")
        return head + ": " + "; ".join(c.brief() for c in self.failed) + ">"


def _checks(run_result: Any) -> list[Check]:
    return [Check(c.check_id, c.title, c.where or "run", c.value, c.nominal, c.limit.text, c.limit.source,
                  c.limit.set_id, c.verdict) for c in run_result.checks]


class Session:
    """Runs procedures on one room as one operator, recording to one store."""

    def __init__(self, site: Any, room_id: str, operator: str | None, db: str | Path | None,
                 allow_expired_calibration: str | None) -> None:
        self._site, self._room_id = site, room_id
        self.operator, self.db = operator, db
        self._allow_expired = allow_expired_calibration
        self.results: list[Result] = []

    def __enter__(self) -> Session:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def run(self, procedure: str, parameters: dict[str, Any] | None = None,
            inputs: dict[str, Any] | str | Path | None = None, item: str | None = None) -> Result:
        """Run a procedure (or bundle) by id or file; the result is recorded and returned.

        `inputs` answers the values a procedure asks for (collimation edges, defect areas): a mapping of name
        to Quantity, or the path of an inputs file. `item` names the garment of the site's apparel inventory
        that a procedure such as apron-inspection inspects.
        """
        from .procedures.loader import load_inputs
        from .procedures.session import start

        answers = load_inputs(inputs) if isinstance(inputs, (str, Path)) else inputs
        prepared = start(procedure, self._room_id, site=self._site, db=self.db, parameters=parameters,
                         inputs=answers, allow_expired_calibration=self._allow_expired, item=item)
        return self._result(procedure, prepared.run(operator=self.operator, **_wiring()))

    def resume(self, record_id: str) -> Result:
        """Continue a cut-off run or bundle by its id (as `xcal run --resume ID`); the result is recorded."""
        from .procedures.session import start

        prepared = start(resume=record_id, site=self._site, db=self.db,
                         allow_expired_calibration=self._allow_expired)
        return self._result(record_id, prepared.run(operator=self.operator, **_wiring()))

    def _result(self, procedure: str, outcome: Any) -> Result:
        """The Result of a run or bundle, remembered in `results`."""
        from .procedures.session import BundleResult

        if isinstance(outcome, BundleResult):
            result = Result(procedure, outcome.verdict, tuple(m.run_id for m in outcome.members if m.run_id),
                            tuple(c for r in outcome.results for c in _checks(r)),
                            any(r.plan.simulated for r in outcome.results), outcome, outcome.bundle_id)
        else:
            result = Result(procedure, outcome.verdict, (outcome.run_id,), tuple(_checks(outcome)),
                            outcome.plan.simulated, outcome)
        self.results.append(result)
        return result


class Room:
    """A room of a site: its equipment, limit sets and instruments; open a session to run procedures."""

    def __init__(self, site: Site, room: Any) -> None:
        self._site, self._room = site, room

    @property
    def id(self) -> str:
        return self._room.id

    @property
    def name(self) -> str:
        return self._room.name

    @property
    def limit_sets(self) -> tuple[str, ...]:
        return self._room.limit_sets

    @property
    def equipment(self) -> dict[str, Any]:
        return self._room.equipment

    def session(self, operator: str | None = None, db: str | Path | None = None,
                allow_expired_calibration: str | None = None) -> Session:
        return Session(self._site.model, self._room.id, operator, db if db is not None else self._site.db,
                       allow_expired_calibration)

    def __repr__(self) -> str:
        return f"<Room {self.id} {self.name!r} limit sets {', '.join(self.limit_sets)}>"


class Site:
    """A loaded site file (or the built-in simulated demo site)."""

    def __init__(self, model: Any, db: str | Path | None = None) -> None:
        self.model, self.db = model, db

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def is_demo(self) -> bool:
        return self.model.is_demo

    @property
    def rooms(self) -> list[str]:
        return list(self.model.rooms)

    def room(self, room_id: str | int) -> Room:
        return Room(self, self.model.room(room_id))

    def program(self, by: str) -> Program:
        """The program records of this site's store (actions, service, PM, parts, incidents, dosimetry, KPIs),
        each written in the name of `by`."""
        return Program(self, by)

    def __repr__(self) -> str:
        return f"<Site {self.name!r} rooms {', '.join(self.rooms)}{' (demo)' if self.is_demo else ''}>"


class Program:
    """Corrective actions, service events, PM, parts, incidents, personnel dosimetry and KPIs of a site's store:
    thin calls of xcal.program, each in its own store session, as the command line makes them."""

    def __init__(self, site: Site, by: str) -> None:
        self._site, self.by = site, by

    def _call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        from .records.store import Store

        with Store(self._site.db) as store:
            return func(store, *args, **kwargs)

    def actions(self) -> list[Any]:
        from .program.actions import load_actions

        return self._call(load_actions)

    def open_action(self, run_id: str, assignee: str | None = None, due: str | None = None) -> Any:
        from .program.actions import open_action

        return self._call(open_action, run_id, by=self.by, assignee=assignee, due=due)

    def resolve_action(self, action_id: str, done: str, retest_run: str | None = None,
                       reason: str | None = None) -> Any:
        from .program.actions import resolve

        return self._call(resolve, action_id, done, self.by, retest_run, reason)

    def record_service(self, **fields: Any) -> dict[str, Any]:
        """As `xcal service record`: room, component, work, vendor, engineer, down_from, down_to, done, parts,
        documents, stock_parts."""
        from .program.service import record_service

        fields.setdefault("parts", [])
        fields.setdefault("documents", [])
        return self._call(record_service, self._site.model, by=self.by, **fields)

    def log_pm(self, **fields: Any) -> dict[str, Any]:
        """As `xcal pm log`: room, component, done, engineer, vendor, on, parts."""
        from .program.pm import log_pm

        fields.setdefault("parts", [])
        fields.setdefault("on", None)
        return self._call(log_pm, self._site.model, by=self.by, **fields)

    def receive_parts(self, part: str, quantity: int, description: str | None = None,
                      minimum: int | None = None) -> dict[str, Any]:
        from .program.parts import receive

        return self._call(receive, part, quantity, description, self.by, minimum)

    def low_stock(self) -> list[dict[str, Any]]:
        from .program.parts import low_stock

        return self._call(low_stock)

    def record_incident(self, **fields: Any) -> Any:
        """As `xcal incident record`: date, room, kind, what, people ('NAME; tede=DOSE...'), immediate_actions,
        root_cause, actions, notification."""
        from .program.incidents import record_incident

        return self._call(record_incident, self._site.model, by=self.by, **fields)

    def update_incident(self, incident_id: str, reason: str, **fields: Any) -> Any:
        from .program.incidents import update_incident

        return self._call(update_incident, incident_id, reason=reason, by=self.by, **fields)

    def incidents(self) -> list[Any]:
        from .program.incidents import load_incidents

        return self._call(load_incidents)

    def issue_badge(self, badge: str, person: str, location: str, declared_pregnant: str | None = None
                    ) -> dict[str, Any]:
        from .program.dosimetry import issue_badge

        return self._call(issue_badge, badge=badge, person=person, location=location,
                          declared_pregnant=declared_pregnant, by=self.by)

    def import_doses(self, file: str | Path, columns: str | Path | None = None) -> list[dict[str, Any]]:
        from .program.dose_import import import_report

        return self._call(import_report, file, columns=columns, by=self.by)

    def record_dose(self, **fields: Any) -> dict[str, Any]:
        """As `xcal dosimetry record`: badge, period_start, period_end, tede, shallow, lens (doses with units)."""
        from .program.dosimetry import record_dose

        return self._call(record_dose, by=self.by, **fields)

    def dose_report(self, year: int, quarter: int | None = None, anonymous: bool = False) -> dict[str, Any]:
        from .program.dosimetry import report

        return self._call(report, self._site.model, year=year, quarter=quarter, anonymous=anonymous)

    def kpis(self, start: Any, end: Any, room: str | None = None) -> Any:
        """The program KPIs of `start`..`end` (dates), as `xcal kpi`."""
        from .program.kpi import compute_kpis

        return self._call(compute_kpis, self._site.model, start=start, end=end, room=room)

    def annual_report(self, room: str, year: int, path: str | Path, *, fmt: str = "pdf",
                      personal: bool = False) -> Path:
        """Write the room's annual QC report (PDF or HTML) to `path`, as `xcal annual-report`."""
        from .reports import html_document
        from .reports.annual import annual_data, build_annual_report, write_annual_pdf

        built = build_annual_report(self._call(annual_data, self._site.model, room, year, personal))
        if fmt == "pdf":
            return write_annual_pdf(built, path)
        Path(path).write_text(html_document(built), encoding="utf-8")
        return Path(path)

    def binder(self, room: str, year: int, output: str | Path, *, personal: bool = False,
               key: str | Path | None = None) -> dict[str, Any]:
        """Write the room's inspection binder (zip) to `output` and return its manifest, as `xcal binder`."""
        from .reports.binder import write_binder

        return self._call(write_binder, self._site.model, output, room=room, year=year, personal=personal, key=key)

    def demo_history(self, days: int = 365, force: bool = False) -> list[str]:
        """Fill the store with the demo site's SIMULATED history, as `xcal demo history`; what was added."""
        from .demo.history import add_year_history

        return self._call(add_year_history, self._site.model, days=days, force=force)


def _wiring() -> dict[str, Any]:
    """What a run needs from outside the procedures, as the Python API wires it: the demo's simulated rooms for
    simulated instruments, and the program's corrective actions after each run."""
    from .demo.wiring import simulated_room
    from .program.actions import after_run

    return {"simulated_room": simulated_room, "after_run": after_run}


def load_site(path: str | Path | None = None, *, db: str | Path | None = None) -> Site:
    """Load a site file, or the built-in simulated demo site when `path` is None (and XCAL_SITE is unset)."""
    from .procedures.loader import LIBRARY_INDEX
    from .site import load_site as _load

    return Site(_load(path, procedures=LIBRARY_INDEX), db)


def connect(driver: str, resource: str, **options: Any) -> Any:
    """Open one instrument driver on a resource, e.g. `xcal.connect("ptw-unidos", "TCPIP::10.0.0.5::8123::SOCKET")`."""
    from .drivers.registry import get_driver_class

    return get_driver_class(driver)(resource, **options)
