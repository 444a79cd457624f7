"""Execute a prepared run: prompt, expose, read, journal every reading, compute results, judge checks.

Each reading is committed to the store before it is shown. If an instrument fails mid-run, or the run is
interrupted, the run is marked incomplete with the reason and the readings already taken stay in the store.
"""

from __future__ import annotations

import dataclasses
import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .. import __version__
from ..errors import InstrumentError, InternalFault, RecordError, RunAborted, XcalError
from ..limits.tolerance import PASS, WARN
from ..records.store import RunHeader, Store, StoredCheck, StoredReading, now_utc
from ..verdict import Verdict, run_verdict
from .model import EnterStep, ExposeStep, MeasureStep, PromptStep, Station, fill_text
from .plan import RunPlan

if TYPE_CHECKING:
    from ..limits.sets import Limit
    from ..units import Quantity


class ExposureControl(Protocol):
    """Makes an exposure happen (fires it in a simulated room, asks the technician in a real one), and sets up
    a station's reference field for instruments read without an exposure."""

    def request_exposure(self, station: Station) -> None: ...
    def set_field(self, station: Station) -> None: ...


class RunObserver:
    """What a front end (console, JSON, tests) hears of a run as it goes. Methods do nothing by default."""

    def started(self, run_id: str, plan: RunPlan, identities: dict[str, Any]) -> None: ...
    def prompt(self, text: str) -> None: ...
    def exposure(self, n: int, total: int, station: Station, repeat: int) -> None: ...
    def reading(self, n: int, total: int, station: Station, repeat: int,
                values: dict[str, dict[str, Any]]) -> None: ...
    def finished(self, result: RunResult) -> None: ...

    @property
    def can_ask(self) -> bool:
        """Whether `ask` can reach a person (a terminal); scripts and CI cannot."""
        return False

    def ask(self, name: str, prompt: str, unit: str) -> Any:
        """A value the technician types, as a Quantity or a units.Typed (which keeps the text as typed); None
        where nobody can be asked (scripts, CI). BACK (`back`) asks the previous value of the step again."""
        return None

    def ask_text(self, question: str) -> str:
        """A line typed at `question` for an instrument read by hand (the manual driver), asked only where
        can_ask; the front end keeps its progress display off the line being typed."""
        return input(f"{question}: ")

    def refused(self, text: str) -> None:
        """A typed value was refused (why, and that it is asked again)."""

    def understood(self, text: str) -> None:
        """What a typed value was taken as, in the procedure's unit (`top 5 mm = 0.5 cm`)."""


BACK = "back"
"""What RunObserver.ask returns when the technician typed `back` to retype the previous value."""


class OperatorControl:
    """A real room: the technician sets the technique and presses the exposure switch."""

    def __init__(self, observer: RunObserver) -> None:
        self.observer = observer

    def request_exposure(self, station: Station) -> None:
        self.observer.prompt(f"Set {station.label()} and make the exposure now.")

    def set_field(self, station: Station) -> None:
        if "prompt" in station.values:              # the station's own words; none when there is nothing to do
            if station.values["prompt"].strip():
                self.observer.prompt(f"Station {station.index}: {station.values['prompt'].strip()}")
            return
        if station.values.get("mode") == "background":
            self.observer.prompt(f"Station {station.index} (background): with every source shielded or away, "
                                 "hold the instrument where it will be read.")
            return
        self.observer.prompt(f"Place the instrument in the reference field for station {station.index} "
                             f"({station.label()}).")


@dataclass
class CheckResult:
    """One check judged at one place (a station, a pair of stations, the run), or a result reported without a
    limit (verdict INFO, `allowed` None)."""

    check_id: str
    title: str
    station: Station | None
    value: Quantity
    nominal: Quantity | None
    deviation: Quantity | None
    allowed: Quantity | None
    limit: Limit
    verdict: str
    where: str = ""
    used: float = 0.0
    """The fraction of the allowance used (1.0 exactly on the limit)."""
    condition: Quantity | None = None
    """The setting a table limit was read at (the kVp of an HVL minimum), or None."""

    @property
    def deviation_percent(self) -> float | None:
        if self.deviation is None or self.nominal is None or not self.nominal.magnitude:
            return None
        return float((self.deviation / self.nominal).to("percent").magnitude)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.check_id, "title": self.title,
            "station": self.station.index if self.station else None, "where": self.where,
            "setting": self.station.label() if self.station else None,
            "value": _num(self.value), "unit": f"{self.value.units:~P}",
            "nominal": _num(self.nominal), "deviation": _num(self.deviation),
            "deviation_percent": self.deviation_percent, "allowed": _num(self.allowed),
            "allowed_unit": f"{self.allowed.units:~P}" if self.allowed is not None else None,
            **{k: v for k, v in self.limit.snapshot().items() if k not in ("name", "minimum_exposures")},
            "limit": self.limit.text, "limit_name": self.limit.name, "verdict": self.verdict,
        }


def _num(q: Quantity | None) -> float | None:
    return None if q is None else float(q.magnitude)


@dataclass
class StationResult:
    station: Station
    readings: list[dict[str, dict[str, Any]]] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunWarning:
    """Something to put right that does not undo a recorded run: what happened and the fix."""

    message: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        return {"message": self.message, "fix": self.fix}


@dataclass
class RunResult:
    run_id: str
    plan: RunPlan
    stations: list[StationResult]
    checks: list[CheckResult]
    verdict: str
    db_path: str
    entered: dict[str, Any] = field(default_factory=dict)
    """Values entered by hand or from an inputs file, by name."""
    warnings: list[RunWarning] = field(default_factory=list)
    """What went wrong after the run was recorded complete (its anchor could not be made): the run stands."""

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    def to_dict(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "run_id": self.run_id, "verdict": self.verdict, "status": "complete",
            "simulated": plan.simulated,
            "procedure": {"id": plan.procedure.id, "version": plan.procedure.version,
                          "sha256": plan.procedure.sha256, "title": plan.procedure.title},
            "site": plan.site.name, "room": {"id": plan.room.id, "name": plan.room.name},
            "stations": [{"index": s.station.index, "setting": s.station.label(),
                          "readings": [{role: {k: {"value": _num(v), "unit": f"{v.units:~P}"}
                                               for k, v in vals.items() if k != "waveform"}
                                        for role, vals in r.items()} for r in s.readings],
                          "results": {k: {"value": _num(v), "unit": f"{v.units:~P}"}
                                      for k, v in s.results.items()}}
                         for s in self.stations],
            "checks": [c.to_dict() for c in self.checks],
            "entered": {k: {"value": _num(v), "unit": f"{v.units:~P}"} for k, v in self.entered.items()},
            "calibration_override": plan.calibration_override,
            "db": self.db_path,
            "warnings": [w.to_dict() for w in self.warnings],
        }


def build_snapshot(plan: RunPlan, identities: dict[str, Any]) -> dict[str, Any]:
    return {
        "site": {"name": plan.site.name, "file": plan.site.path, "sha256": plan.site.sha256,
                 "demo": plan.site.is_demo, "facility": plan.site.facility},
        "room": {"id": plan.room.id, "name": plan.room.name, "modality": plan.room.modality,
                 "equipment": plan.room.equipment, "limit_sets": list(plan.room.limit_sets)},
        "procedure": {"id": plan.procedure.id, "version": plan.procedure.version,
                      "sha256": plan.procedure.sha256, "file": procedure_file(plan.procedure)},
        "parameters": {k: (v if isinstance(v, int) else
                           [Station(i + 1, s).snapshot() for i, s in enumerate(v)] if isinstance(v, list)
                           else f"{v:~P}") for k, v in plan.parameters.items()},
        "station_numbers": {k: plan.procedure.stations(plan.parameters, k)[0].index
                            for k, v in plan.parameters.items() if isinstance(v, list) and v},
        "station_values": {name: [{"station": index, "value": float(v.value.magnitude), "source": v.source}
                                  for index, v in sorted(by.items())]
                           for name, by in plan.station_values.items()},
        "instruments": {role: {**inst.snapshot(), "reported_identity": identities.get(role)}
                        for role, inst in plan.instruments.items()},
        "limits": {name: limit.snapshot() for name, limit in plan.limits.items()},
        "calibration_override": ({"reason": plan.calibration_override, "instruments": plan.expired_calibration}
                                 if plan.calibration_override else None),
        **({"item": plan.item.snapshot()} if plan.item is not None else {}),
    }


BUILT_IN = "<built-in>/"
"""How a built-in procedure's file is named in a record (the library's place differs between installs)."""


def procedure_file(procedure: Any) -> str:
    """The procedure's file as a run records it: `<built-in>/procedures/NAME.yaml` for a built-in one, else
    the file's absolute path, so that `xcal run --resume` finds the same file from any folder."""
    path = procedure.path or ""
    if not path or path.startswith(BUILT_IN):
        return path
    return str(Path(path).resolve())


def procedure_argument(procedure: Any) -> str:
    """What to give `xcal run` to run this procedure again: its id if built in, else its file."""
    path = procedure_file(procedure)
    return path if path and not path.startswith(BUILT_IN) else procedure.id


def kept_exposures(run: Any, plan: RunPlan) -> tuple[dict[tuple[int, int], dict[str, dict[str, Any]]], int]:
    """The complete exposures of a stored run, by (station, repeat), and the last exposure number used.

    An exposure counts only if every reading a step asks of it at its station is there (a dark image read from
    the detector alone is whole without the meter's air kerma); the readings of an exposure cut off half way
    stay in the record but are not used, and that exposure is made again.
    """
    from ..units import Q_

    asked: dict[int, list[dict[str, set[str]]]] = {}
    for step in plan.expose_steps():
        for station in plan.stations(step):
            asked.setdefault(station.index, []).append({role: set(names) for role, names in step.reads.items()})
    by_exposure: dict[int, dict[str, dict[str, Any]]] = {}
    where: dict[int, tuple[int, int]] = {}
    for r in run.readings:
        value = (Q_(r.data["samples"], r.unit) if r.quantity == "waveform" and r.data
                 else Q_(r.value, r.unit))
        by_exposure.setdefault(r.exposure, {}).setdefault(r.role, {})[r.quantity] = value
        where[r.exposure] = (r.station, r.repeat)
    kept = {}
    for exposure, values in by_exposure.items():
        if exposure == 0 or any(all(names <= set(values.get(role, {})) for role, names in wanted.items())
                                for wanted in asked.get(where[exposure][0], [])):
            kept[where[exposure]] = values
    return kept, max(by_exposure, default=0)


def execute(plan: RunPlan, drivers: dict[str, Any], control: ExposureControl, store: Store, *,
            operator: str | None = None, observer: RunObserver | None = None,
            exposure_timeout: Any = None, on_created: Callable[[str], None] | None = None,
            resume: Any = None, inputs: dict[str, Any] | None = None) -> RunResult:
    """Run the plan with connected drivers (role -> driver) and return the judged result.

    With `resume` (a StoredRun cut off earlier) the same record continues: its complete exposures are kept
    and only the missing ones are made. An exception xcal did not foresee (a bug, not an XcalError) leaves a
    run it cuts off incomplete and resumable, as Ctrl-C does, and goes on as InternalFault naming the run.
    """
    created: list[str] = []

    def note(run_id: str) -> None:
        created.append(run_id)
        if on_created:
            on_created(run_id)

    try:
        return _execute(plan, drivers, control, store, operator=operator, observer=observer,
                        exposure_timeout=exposure_timeout, on_created=note, resume=resume, inputs=inputs)
    except (XcalError, EOFError):
        raise
    except Exception as exc:
        if not created:
            raise
        raise _faulted(exc, created[0], store) from exc


def _anchor(store: Store, run_id: str) -> RunWarning | None:
    """Sign the chain's head with the site key once the run is sealed (anchor.py), so that a later rewrite or a
    cut-off tail shows against the anchor. The run is complete and recorded either way: a key that cannot be used
    is a warning with its fix (docs/exit-codes.rst), not an error."""
    from ..records.anchor import anchor_store, site_key

    try:
        anchor_store(store, site_key())
    except RecordError as exc:
        return RunWarning(f"run {run_id} is complete and recorded in {store.path}, but its anchor could not be "
                          f"made: {exc.message}", fix=f"{exc.fix}; then run `xcal anchor`, which anchors every "
                                                      f"entry so far, this run's included")
    return None


def _faulted(exc: Exception, run_id: str, store: Store) -> InternalFault:
    """Mark the run a fault cut off incomplete (not one already complete) and say how many readings it keeps."""
    try:
        if store.get_run(run_id).status != "complete":
            store.mark_incomplete(run_id, f"stopped by a fault in xcal: {type(exc).__name__}: {exc}")
            return InternalFault(exc, run_id=run_id, readings=store.reading_count(run_id))
    except Exception:  # noqa: BLE001 - the fault may be in the store itself; the fault is what is reported
        pass
    return InternalFault(exc, run_id=run_id, readings=None)


def _execute(plan: RunPlan, drivers: dict[str, Any], control: ExposureControl, store: Store, *,
             operator: str | None, observer: RunObserver | None, exposure_timeout: Any,
             on_created: Callable[[str], None], resume: Any, inputs: dict[str, Any] | None) -> RunResult:
    """Open (or, on a resume, reopen) the run's record, take its entered values and readings, work out its
    results, judge its checks and seal the record."""
    from ..units import Q_

    observer = observer or RunObserver()
    timeout = exposure_timeout if exposure_timeout is not None else Q_(120, "s")
    identities = _identities(drivers)
    _check_inputs(plan, inputs or {})
    kept, exposure_no = kept_exposures(resume, plan) if resume is not None else ({}, 0)
    entered: dict[str, Any] = dict(kept.get((0, 0), {}).get("entry", {}))
    _check_answerable(plan, inputs or {}, entered, observer, resume)
    run_id = _open_record(plan, store, identities, operator, resume)
    on_created(run_id)
    observer.started(run_id, plan, identities)
    for driver in drivers.values():
        if hasattr(driver, "ask_through"):
            driver.ask_through(observer.ask_text if observer.can_ask else None, observer.understood)
    live = _Live(plan, drivers, control, store, run_id, observer, timeout)
    ordered, done = _take_readings(live, kept, exposure_no, entered, inputs or {})
    checks = _judge_or_stop(live, ordered, entered, done)
    return _seal(live, ordered, checks, entered, done)


@dataclass(frozen=True)
class _Live:
    """What each step of a run in progress works with: the plan, the connected drivers by role, the exposure
    control, the store and the run's record id, the observer and the exposure timeout."""

    plan: RunPlan
    drivers: dict[str, Any]
    control: ExposureControl
    store: Store
    run_id: str
    observer: RunObserver
    timeout: Any


def _identities(drivers: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each role's instrument as it identifies itself: make, model, serial and firmware."""
    identities = {}
    for role, driver in drivers.items():
        identity = driver.identify()
        identities[role] = {"make": identity.make, "model": identity.model, "serial": identity.serial,
                            "firmware": identity.firmware}
    return identities


def _open_record(plan: RunPlan, store: Store, identities: dict[str, Any], operator: str | None, resume: Any
                 ) -> str:
    """The id of the run's record: the cut-off one reopened on a resume, else a new one with the run's snapshot."""
    if resume is not None:
        store.resume_run(resume.run_id, operator or _os_user())
        return str(resume.run_id)
    proc = plan.procedure
    header = RunHeader(proc.id, proc.version, proc.sha256, proc.title, plan.site.name, plan.room.id,
                       plan.room.name, operator or _os_user(), plan.simulated, __version__,
                       build_snapshot(plan, identities))
    return store.create_run(header)


def _take_readings(live: _Live, kept: dict[tuple[int, int], dict[str, dict[str, Any]]], exposure_no: int,
                   entered: dict[str, Any], inputs: dict[str, Any]) -> tuple[list[StationResult], int]:
    """Go through the procedure's steps: ask for its entered values, show its prompts, and make each exposure
    or reading not `kept` from the cut-off run, each committed as it arrives. Returns the stations' readings in
    station order and how many exposures are done; a stop (Ctrl-C, a lost instrument) raises RunAborted."""
    plan, observer = live.plan, live.observer
    total, n, done = plan.total_exposures(), 0, 0
    station_results: dict[int, StationResult] = {}
    try:
        for step in plan.procedure.steps:
            if isinstance(step, EnterStep):
                _enter(step, entered, inputs, observer, plan, _entry_recorder(live, entered))
                continue
            if isinstance(step, PromptStep):
                if len(kept) < total or _asks_more(plan, entered, inputs):
                    observer.prompt(fill_text(step.text, plan.parameters))
                continue
            for station in plan.stations(step):
                sr = station_results.setdefault(station.index, StationResult(station))
                for repeat in range(1, plan.repeats(step) + 1):
                    n += 1
                    values = kept.get((station.index, repeat))
                    if values is None:
                        exposure_no += 1
                        observer.exposure(n, total, station, repeat)
                        values = _take(live, step, station, repeat, exposure_no)
                    sr.readings.append(values)
                    done += 1
                    observer.reading(n, total, station, repeat, values)
    except (XcalError, KeyboardInterrupt, EOFError) as exc:
        raise _stopped(exc, live.run_id, live.store, plan, done, len(entered)) from None
    return [station_results[k] for k in sorted(station_results)], done


def _entry_recorder(live: _Live, entered: dict[str, Any]) -> Callable[..., None]:
    """What commits one entered value (exposure 0, role `entry`) and keeps it in `entered`."""

    def record_entry(name: str, q: Any, data: dict[str, Any] | None = None) -> None:
        """Commit one entered value; `data` keeps the text as typed when it was converted (an exposure in R
        entered as air kerma)."""
        live.store.add_readings(live.run_id, [StoredReading(exposure=0, station=0, repeat=0, role="entry",
                                                            instrument_id="operator", quantity=name,
                                                            value=float(q.magnitude), unit=f"{q.units:~P}",
                                                            taken_at=now_utc(), data=data)])
        entered[name] = q

    return record_entry


def _take(live: _Live, step: ExposeStep, station: Station, repeat: int, exposure_no: int) -> dict[str, Any]:
    """One exposure and its readings, or for a measure step one reading without an exposure."""
    if isinstance(step, MeasureStep):
        return _one_measurement(step, station, repeat, exposure_no, live.plan, live.drivers, live.control,
                                live.store, live.run_id)
    return _one_exposure(step, station, repeat, exposure_no, live.plan, live.drivers, live.control, live.store,
                         live.run_id, live.timeout)


def _judge_or_stop(live: _Live, ordered: list[StationResult], entered: dict[str, Any], done: int
                   ) -> list[CheckResult]:
    """The judged checks; Ctrl-C while the results are made, or a result that cannot be computed, leaves the run
    incomplete with its readings kept and resumable."""
    run_id, store = live.run_id, live.store
    try:
        return _judge(live.plan, _compute_results(live.plan, ordered, entered))
    except (KeyboardInterrupt, EOFError) as exc:          # Ctrl-C after the last exposure, as the results are made
        raise _stopped(exc, run_id, store, live.plan, done, len(entered)) from None
    except RunAborted as exc:
        unmarked = _mark_incomplete(store, run_id, str(exc).splitlines()[0])
        raise RunAborted(f"run {run_id}: {exc.message} {_what_is_kept(store, run_id, unmarked)}", run_id=run_id,
                         fix=f"{exc.fix}; or, when the readings themselves are right, continue this record with "
                             f"`xcal run --resume {run_id}`, which judges them again") from None


def _seal(live: _Live, ordered: list[StationResult], checks: list[CheckResult], entered: dict[str, Any],
          done: int) -> RunResult:
    """Store the checks and the run's verdict as one entry, anchor the chain, and tell the observer."""
    run_id, store = live.run_id, live.store
    verdict = run_verdict(c.verdict for c in checks)
    try:
        store.finish_run(run_id, verdict, checks=[_stored_check(c) for c in checks])
    except RecordError as exc:
        raise _stopped(exc, run_id, store, live.plan, done, len(entered)) from None
    warning = _anchor(store, run_id)
    result = RunResult(run_id, live.plan, ordered, checks, verdict, str(store.path), entered,
                       [warning] if warning else [])
    live.observer.finished(result)
    return result


def _one_measurement(step: MeasureStep, station: Station, repeat: int, n: int, plan: RunPlan,
                     drivers: dict[str, Any], control: ExposureControl, store: Store, run_id: str
                     ) -> dict[str, dict[str, Any]]:
    """Set the station's field, read each instrument's current values, and commit them together."""
    if repeat == 1:
        control.set_field(station)
    values: dict[str, dict[str, Any]] = {}
    rows: list[StoredReading] = []
    for role, wanted in step.reads.items():
        values[role] = _scalars(drivers[role].read_now(), wanted, plan.instruments[role], role, n, station,
                                repeat, rows, getattr(drivers[role], "as_typed", None),
                                getattr(drivers[role], "reading_data", None))
    store.add_readings(run_id, rows)
    return values


def _scalars(got: dict[str, Any], wanted: tuple[str, ...], inst: Any, role: str, n: int, station: Station,
             repeat: int, rows: list[StoredReading], typed: dict[str, str] | None = None,
             data: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The wanted scalar readings out of an instrument's reply, each added to `rows` for the record (with the
    text as typed, in `typed`, of a value read by hand and converted: `12 mR` kept beside its air kerma; or what
    the driver keeps beside a reading, in `data`: the identity of the image a detector reading came from)."""
    taken = now_utc()
    values = {}
    for name in wanted:
        if name == "waveform":
            continue
        if name not in got:
            raise InstrumentError(f"{inst.id} ({inst.resource}) did not deliver '{name}' "
                                  f"(it gave: {', '.join(got) or 'nothing'})", instrument=inst.id,
                                  resource=inst.resource,
                                  fix="check the instrument's options (its command map, or a calibration factor "
                                      "such as `sensitivity`)")
        q = got[name]
        rows.append(StoredReading(exposure=n, station=station.index, repeat=repeat, role=role, instrument_id=inst.id,
                                  quantity=name, value=float(q.magnitude), unit=f"{q.units:~P}", taken_at=taken,
                                  data=_as_typed((typed or {}).get(name)) or (data or {}).get(name)))
        values[name] = q
    return values


def _one_exposure(step: ExposeStep, station: Station, repeat: int, n: int, plan: RunPlan,
                  drivers: dict[str, Any], control: ExposureControl, store: Store, run_id: str,
                  timeout: Any) -> dict[str, dict[str, Any]]:
    """Arm, expose, read every instrument, and commit the exposure's readings together before returning them.

    An exposure's readings come from one reply per instrument (plus its waveform); they are committed in one
    transaction, so an exposure is in the record whole or not at all, and a resumed run never holds half of one.
    """
    for role in step.reads:
        drivers[role].arm()
        if hasattr(drivers[role], "expect_exposure"):
            drivers[role].expect_exposure(station.index, repeat, n)
    control.request_exposure(station)
    values: dict[str, dict[str, Any]] = {}
    rows: list[StoredReading] = []
    for role, wanted in step.reads.items():
        driver, inst = drivers[role], plan.instruments[role]
        driver.wait_for_exposure(timeout)
        values[role] = _scalars(driver.read_exposure(), wanted, inst, role, n, station, repeat, rows,
                                getattr(driver, "as_typed", None), getattr(driver, "reading_data", None))
        if "waveform" in wanted:
            wave = driver.read_waveform()
            samples = wave.samples
            rows.append(StoredReading(
                exposure=n, station=station.index, repeat=repeat, role=role, instrument_id=inst.id,
                quantity="waveform", value=None, unit=f"{samples.units:~P}", taken_at=now_utc(),
                data={"interval": float(wave.interval.magnitude), "interval_unit": f"{wave.interval.units:~P}",
                      "samples": [float(x) for x in samples.magnitude]}))
            values[role]["waveform"] = samples
    store.add_readings(run_id, rows)
    return values


def _check_inputs(plan: RunPlan, inputs: dict[str, Any]) -> None:
    """ConfigError, before anything is recorded, for an inputs value of the wrong kind or out of range (of the
    values this procedure asks for: a bundle's inputs also hold its other procedures' values)."""
    from .loader import check_entered_value

    proc = plan.procedure
    ranges = proc.entered_ranges()
    for name, (unit, _) in proc.entered_names().items():
        if inputs.get(name) is not None:
            check_entered_value(inputs, name, unit, ranges.get(name))


def _check_answerable(plan: RunPlan, inputs: dict[str, Any], recorded: dict[str, Any], observer: RunObserver,
                      resume: Any) -> None:
    """ConfigError, before the run starts (or restarts), when a value to enter is neither in the inputs, nor
    already in the record being resumed, and nobody can be asked for it."""
    from ..errors import ConfigError

    proc = plan.procedure
    missing = [name for name in proc.entered_names() if name not in inputs and name not in recorded]
    if not missing or observer.can_ask:
        return
    command = (f"xcal run --resume {resume.run_id}" if resume is not None
               else f"xcal run {procedure_argument(proc)} --room {plan.room.id}")
    raise ConfigError(f"{proc.id} needs values nobody can be asked for here: {', '.join(missing)}",
                      fix=f"give them in an inputs file: `{command} --inputs FILE` "
                          f"with `kind: inputs` and `values: {{{missing[0]}: ...}}`")


def _enter(step: EnterStep, entered: dict[str, Any], inputs: dict[str, Any], observer: RunObserver,
           plan: RunPlan, record: Callable[..., None]) -> None:
    """Take the values of an enter step not yet in the record, from the inputs file or else from the
    technician, and `record` each one, so that an interruption at a later prompt loses none already typed
    (and a resumed run does not ask for them again).

    Each typed value is said back in the step's unit and held until the next question of the step is
    answered: `back` there drops it and asks it again. It is recorded once the next value is taken, at the
    end of the step, or when the run stops (Ctrl-C, Ctrl-D, an error), so only a crash of xcal itself in
    the seconds of one question can lose it. Values from an inputs file are recorded at once.
    """
    from ..errors import ConfigError
    from ..units import Q_, Typed

    pending = [name for name in step.values if name not in entered]
    held: tuple[Any, ...] | None = None

    def commit() -> None:
        nonlocal held
        if held is not None:
            item, held = held, None
            record(*item)

    index = 0
    try:
        while index < len(pending):
            name = pending[index]
            unit, prompt = step.values[name]
            value = inputs.get(name)
            asked = value is None
            if asked:
                value = _typed(name, prompt, unit, step.ranges.get(name), observer, held is not None)
                if value is BACK:
                    held, index = None, index - 1
                    continue
            if value is None:
                raise ConfigError(f"{plan.procedure.id} needs the value '{name}' ({prompt}) and nobody can be "
                                  f"asked", fix=f"give it in an inputs file (`values: {{{name}: ... {unit}}}`) "
                                                f"with --inputs")
            typed = value if isinstance(value, Typed) else None
            q = typed.value if typed else value
            if q.dimensionality != Q_(1, unit).dimensionality:
                raise ConfigError(f"'{name}' = {q:~P} is not in a unit like {unit}",
                                  fix=f"give '{name}' in {unit} or a unit of the same kind")
            _in_range(name, q, step.ranges.get(name))
            commit()
            held = (name, q, _as_typed(typed.typed) if typed is not None and typed.converted else None)
            index += 1
            if not asked:
                commit()
                continue
            more = index < len(pending)
            observer.understood(_understood(name, typed.read if typed else q, q, unit) +
                                ("; type 'back' at the next question to retype it" if more else ""))
    finally:
        commit()


def _understood(name: str, read: Any, value: Any, unit: str) -> str:
    """`top 5 mm = 0.5 cm`: a value as read and in the procedure's unit (once, when they are the same)."""
    from ..units import Q_, format_quantity

    shown = value.to(Q_(1, unit).units)
    said = f"{name} {format_quantity(read)}"
    return said if f"{read.units:~P}" == f"{shown.units:~P}" else f"{said} = {format_quantity(shown)}"


def _as_typed(text: str | None) -> dict[str, str] | None:
    """The data kept beside a value converted from what was typed (an exposure in R taken as air kerma)."""
    from ..units import AIR_KERMA_PER_ROENTGEN

    return {"typed": text, "factor": AIR_KERMA_PER_ROENTGEN} if text else None


def _asks_more(plan: RunPlan, entered: dict[str, Any], inputs: dict[str, Any]) -> bool:
    """Whether the run still asks the technician for a value (so a set-up prompt is worth showing)."""
    return any(name not in entered and inputs.get(name) is None for name in plan.procedure.entered_names())


_TYPING_ATTEMPTS = 5


def _typed(name: str, prompt: str, unit: str, bounds: tuple[Any, Any] | None, observer: RunObserver,
           can_go_back: bool = False) -> Any:
    """A value typed by the technician, asked again while it lies outside its plausible range (a slip such as
    9.90 kPa for 99.0 kPa), at most _TYPING_ATTEMPTS times; then the last one is returned to be refused.
    BACK is returned as it is when the previous value may be retyped."""
    from ..errors import ConfigError
    from ..units import Typed

    value = None
    for attempt in range(1, _TYPING_ATTEMPTS + 1):
        value = observer.ask(name, prompt, unit)
        if value is None:
            return None
        if isinstance(value, str) and value == BACK:
            if can_go_back:
                return BACK
            observer.refused("there is no value of this step to retype here; type this one")
            continue
        try:
            _in_range(name, value.value if isinstance(value, Typed) else value, bounds)
        except ConfigError as exc:
            if attempt < _TYPING_ATTEMPTS:
                observer.refused(f"{exc.message}: check the reading and its unit, and type it again")
            continue
        return value
    return value


def _stopped(exc: BaseException, run_id: str, store: Store, plan: RunPlan, done: int, entered: int) -> RunAborted:
    """Mark the run incomplete and say why it stopped, what was kept, and how to continue it.

    Whatever stopped it (an instrument error, a value refused, Ctrl-C, or Ctrl-D at a prompt, which ends
    standard input), the readings and values already taken stay in the store, and the fix always names
    `xcal run --resume RUN_ID`, the command that continues this very record.
    """
    if isinstance(exc, KeyboardInterrupt):
        reason = "interrupted by the operator (Ctrl-C)"
    elif isinstance(exc, EOFError):
        reason = "input ended at a prompt (Ctrl-D)"
    else:
        reason = str(exc).splitlines()[0]
    unmarked = _mark_incomplete(store, run_id, reason)
    total = plan.total_exposures()
    names = len(plan.procedure.entered_names())
    progress = (f"after {done} of {total} exposures" if total
                else f"with {entered} of {names} values entered")
    cause = exc if isinstance(exc, XcalError) else None
    resume = f"`xcal run --resume {run_id}`"
    fix = (f"{cause.fix}; then continue the run with {resume}" if cause is not None and cause.fix
           else f"check what stopped it, then continue the run with {resume}" if cause is not None
           else f"continue the run with {resume}; what is kept is not asked or measured again")
    return RunAborted(f"run {run_id} stopped {progress}: {reason}. {_what_is_kept(store, run_id, unmarked)}",
                      run_id=run_id, cause=cause, fix=fix)


def _mark_incomplete(store: Store, run_id: str, reason: str) -> str | None:
    """Mark the run incomplete; when the store itself refuses (locked, disk full), say why instead of failing,
    so a store fault stops the run like any other stop and the readings already committed stay."""
    try:
        store.mark_incomplete(run_id, reason)
    except RecordError as exc:
        return "for the same reason" if exc.message == reason else f"({exc.message})"
    return None


def _what_is_kept(store: Store, run_id: str, unmarked: str | None) -> str:
    """'The 10 readings taken are kept in PATH; the run is marked incomplete.', or what is known when the store
    could not be read or marked (its run then shows as interrupted once this process has ended)."""
    try:
        kept: int | None = store.reading_count(run_id)
    except RecordError:
        kept = None
    said = (f"The readings committed before the stop are kept in {store.path}" if kept is None
            else f"The {kept} reading{'' if kept == 1 else 's'} taken {'is' if kept == 1 else 'are'} kept in "
                 f"{store.path}")
    if unmarked is None:
        return f"{said}; the run is marked incomplete."
    return (f"{said}; the run could not be marked incomplete {unmarked}, so it shows as interrupted once this "
            f"xcal has ended.")


def _in_range(name: str, value: Any, bounds: tuple[Any, Any] | None) -> None:
    """ConfigError for an entry outside its plausible range (a typing error such as 9.90 kPa for 99.0 kPa), or
    of a sign its kind never has (a negative area), range or not."""
    from ..errors import ConfigError
    from ..units import sign_problem

    problem = sign_problem(name, value)
    if problem:
        raise ConfigError(problem, fix=f"check the reading and the unit of '{name}' and enter it again")
    if bounds is None:
        return
    low, high = bounds
    if not low <= value <= high:
        raise ConfigError(f"'{name}' = {value:~P} is outside its plausible range {low:~P} to {high:~P}",
                          fix=f"check the reading and the unit of '{name}' and enter it again")


@dataclass
class Computed:
    """A run's results as they are worked out: each station's in its StationResult, the run's and each pair of
    consecutive stations' by name; with the values an expression may name besides results (`names`: parameters
    with units, instrument values, entered values) and the values read for each station (`station_values`)."""

    stations: list[StationResult]
    names: dict[str, Any]
    station_values: dict[str, dict[int, Any]]
    run: dict[str, Any] = field(default_factory=dict)
    pairs: dict[str, list[tuple[StationResult, StationResult, Any]]] = field(default_factory=dict)

    def series(self, sr: StationResult, name: str) -> list[Any]:
        """The station's result `name`, or else every reading of that name taken at it."""
        if name in sr.results:
            return [sr.results[name]]
        return [vals[name] for exposure in sr.readings for vals in exposure.values() if name in vals]

    def places(self, name: str) -> list[tuple[str, Station | None, Any]]:
        """Where result `name` exists, as (where, station, value): each pair of consecutive stations, the run, or
        each station."""
        if name in self.pairs:
            return [(f"{a.station.index}–{b.station.index}", b.station, v) for a, b, v in self.pairs[name]]
        if name in self.run:
            return [("run", None, self.run[name])]
        return [(str(sr.station.index), sr.station, sr.results[name]) for sr in self.stations if name in sr.results]

    def convert(self, name: str, unit: str) -> None:
        """Express result `name` in `unit` (its `unit:` in the procedure) wherever it was computed."""
        if name in self.run:
            self.run[name] = self.run[name].to(unit)
        for sr in self.stations:
            if name in sr.results:
                sr.results[name] = sr.results[name].to(unit)


def _compute_results(plan: RunPlan, stations: list[StationResult], entered: dict[str, Any] | None = None
                     ) -> Computed:
    """Work out the procedure's results in file order, each on its stations (per station, per run, per pair);
    one that cannot be computed stops the run (RunAborted) with the readings kept."""
    from .functions import result_function

    proc = plan.procedure
    names = {**{k: v for k, v in plan.parameters.items() if hasattr(v, "units")}, **plan.instrument_values,
             **(entered or {})}
    computed = Computed(stations, names, plan.station_values)
    for res in proc.results:
        scope = {st.index for st in proc.result_stations(plan.parameters, res)}
        try:
            result_function(res).apply(res, [sr for sr in stations if sr.station.index in scope], computed)
            if res.unit:
                computed.convert(res.name, res.unit)
        except (ValueError, ZeroDivisionError) as exc:
            raise RunAborted(f"result '{res.name}' of {proc.id} cannot be computed: {exc}.",
                             fix="check the readings in `xcal show-run` and the procedure's stations; correct the "
                                 "cause and run the procedure again") from None
    return computed


def _judge(plan: RunPlan, computed: Computed) -> list[CheckResult]:
    """The results the procedure reports (verdict INFO), then each check judged against its limit wherever its
    result was worked out, with one verdict per value of its group setting when it has one."""
    checks: list[CheckResult] = [c for res in plan.procedure.results if res.report for c in _reported(res, computed)]
    for check in plan.procedure.checks:
        if not check.judges_item(plan.item):
            continue
        checks.extend(_judged(plan, check, computed, where, station, value)
                      for where, station, value in computed.places(check.result)
                      if station is None or check.result in computed.pairs or check.applies_to(station))
        if check.group:
            checks.extend(_group_verdicts(check, [c for c in checks if c.check_id == check.id]))
    return checks


def _judged(plan: RunPlan, check: Any, computed: Computed, where: str, station: Station | None, value: Any
            ) -> CheckResult:
    """One check at one place: the value in the unit of its nominal (or of the limit), judged in the context of
    the station's settings (or those every station shares, for a run result)."""
    limit = plan.limits[check.limit]
    if check.nominal in computed.run:
        nominal = computed.run[check.nominal]
    else:
        nominal = station.values[check.nominal] if (station and check.nominal) else None
    if nominal is not None:
        value = value.to(nominal.units)
    elif limit.tolerance.unit_quantity is not None and limit.tolerance.unit_quantity.dimensionless is False:
        value = value.to(limit.tolerance.unit_quantity.units)
    context = {**{k: v for k, v in plan.parameters.items() if hasattr(v, "units")},
               **(station.values if station else _shared_settings(computed.stations))}
    outcome = limit.tolerance.evaluate(value, nominal, limit.warn_fraction, context=context)
    return CheckResult(check.id, check.title, station, value, nominal, outcome.deviation,
                       outcome.allowed, limit, outcome.verdict, where, outcome.used,
                       limit.tolerance.condition(context))


def _shared_settings(stations: list[StationResult]) -> dict[str, Any]:
    """The settings every station has with the same value: the conditions of a run-level result (the kVp
    of an HVL series), which take precedence over a parameter of the same name."""
    if not stations:
        return {}
    first = stations[0].station.values
    return {k: v for k, v in first.items() if all(sr.station.values.get(k) == v for sr in stations[1:])}


def _group_verdicts(check: Any, judged: list[CheckResult]) -> list[CheckResult]:
    """One verdict per value of the check's group setting: its worst station (highest verdict, then the most
    of its allowance used), shown as `KEY VALUE` with that station's value."""
    groups: dict[str, list[CheckResult]] = {}
    for c in judged:
        if c.station is not None:                    # a run-level value has no station setting to group by
            groups.setdefault(str(c.station.values[check.group]), []).append(c)
    summary = []
    for name, members in groups.items():
        worst = max(members, key=lambda c: (Verdict(c.verdict).severity, c.used))
        summary.append(dataclasses.replace(worst, check_id=f"{check.id}-per-{check.group}",
                                           title=f"{check.title}, per {check.group}", station=None,
                                           where=f"{check.group} {name} (worst: station {worst.where})"))
    return summary


def _reported(res: Any, computed: Computed) -> list[CheckResult]:
    """A result kept and shown without a limit (verdict INFO), in its `unit` when one is given. One that uses
    a value read for its station (k_Q) carries where that value came from as its source."""
    from ..limits.sets import Limit
    from ..limits.tolerance import INFO, REPORTED
    from .expressions import Expression

    used = Expression(res.of).names if res.function == "expression" else set()
    plain = "reported by the procedure; no limit applies"
    out = []
    for where, station, value in computed.places(res.name):
        sources = [by[station.index].source for name, by in computed.station_values.items()
                   if name in used and station is not None and station.index in by]
        limit = Limit(res.name, REPORTED, "; ".join([plain, *sources]), "", "", "")
        out.append(CheckResult(res.name, res.name.replace("_", " "), station, value, None, None, None, limit,
                               INFO, where))
    return out


def _stored_check(c: CheckResult) -> StoredCheck:
    unit = c.value.units
    return StoredCheck(check_id=c.check_id, title=c.title, station=c.station.index if c.station else None,
                       setting=f"{c.where}: {c.station.label()}" if c.station else c.where,
                       value=float(c.value.magnitude), nominal=_num(c.nominal), unit=f"{unit:~P}",
                       deviation=_num(c.deviation),
                       allowed=float(c.allowed.to(unit).magnitude) if c.allowed is not None and c.nominal is not None
                       else _num(c.allowed),
                       limit_name=c.limit.name, limit_text=c.limit.text, limit_set=c.limit.set_id,
                       source=c.limit.source, verdict=c.verdict)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


__all__ = ["execute", "RunResult", "CheckResult", "RunObserver", "OperatorControl", "ExposureControl", "WARN"]
