"""One call that does a whole run: load the site and procedure, plan, connect, execute, close.

The command line and the Python API both come through here, so a run from code and a run from the console
take the same path. What lies outside the procedures is handed in by the front end, not imported: the
simulated room that serves simulated instruments (xcal.demo.wiring.simulated_room) and what follows a
finished run (xcal.program.actions.after_run: a FAIL opens a corrective action, a pass verifies one).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..drivers.registry import get_driver_class
from ..errors import ConfigError, InstrumentError
from ..limits.tolerance import PASS
from ..records.store import Store
from ..site import Instrument, SiteConfig, load_site
from ..verdict import run_verdict
from .loader import LIBRARY_INDEX, bundle_member, find_procedure
from .model import Bundle
from .plan import RunPlan, known_limits, prepare
from .runner import BUILT_IN, OperatorControl, RunObserver, RunResult, execute

RoomFactory = Callable[[RunPlan], AbstractContextManager[Any]]
"""Starts the simulators of a plan's room and gives `resources` (instrument id -> resource) and `control`."""
AfterRun = Callable[[Store, str], list[str]]
"""Called with the store and the run id when a run has ended; returns lines to show the operator."""


def connect(instrument: Instrument, resource: str | None = None) -> Any:
    """Open the instrument's driver on its resource (or on `resource`, e.g. a simulator's port)."""
    from ..dicom.acquire import driver_class

    cls = driver_class(instrument.driver) or get_driver_class(instrument.driver)
    target = resource or instrument.resource
    options = dict(instrument.options)
    if instrument.timeout is not None:
        options["timeout"] = instrument.timeout
    if _checks_serial(cls) and instrument.serial:
        options["expected_serial"] = instrument.serial
    try:
        return cls(target, name=instrument.id, **options)
    except TypeError as exc:
        raise InstrumentError(f"instrument {instrument.id}: driver '{instrument.driver}' does not accept its "
                              f"options ({exc})", instrument=instrument.id, resource=target,
                              fix="check the instrument's `options:` in the site file") from None


def _checks_serial(cls: type) -> bool:
    """Whether a driver class takes the site's serial number to refuse another meter (see drivers.base)."""
    import inspect

    from ..drivers.base import Driver

    return issubclass(cls, Driver) or "expected_serial" in inspect.signature(cls).parameters


@dataclass
class BundlePlan:
    """The plans of a bundle's procedures, in order, on one room.

    `plans[i]` is None for a member already complete (kept from the record a --resume continues);
    `resumes[i]` is the cut-off run of member i that a --resume continues; `bundle_id` is set on a resume.
    """

    bundle: Bundle
    plans: list[RunPlan | None]
    site: SiteConfig | None = None
    room_id: str = ""
    bundle_id: str | None = None
    resumes: dict[int, Any] = field(default_factory=dict)
    kept: dict[int, Any] = field(default_factory=dict)

    def total_exposures(self) -> int:
        return sum(p.total_exposures() for p in self.plans if p is not None)

    def first(self) -> RunPlan:
        """The first plan still to run; a ConfigError when none is left (every member complete)."""
        for p in self.plans:
            if p is not None:
                return p
        raise ConfigError(f"bundle {self.bundle.id} has no procedure left to run",
                          fix="start a new bundle with `xcal run BUNDLE --room N`")


@dataclass
class BundleResult:
    """What a bundle gave: its record id, the runs made now, and every member with its run and verdict."""

    bundle: Bundle
    results: list[RunResult]
    bundle_id: str = ""
    members: list[Any] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        from ..records.bundles import bundle_verdict

        if not self.members:
            return str(run_verdict(r.verdict for r in self.results))
        return bundle_verdict(self.members)

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    def to_dict(self) -> dict[str, Any]:
        return {"bundle": {"id": self.bundle.id, "version": self.bundle.version, "title": self.bundle.title,
                           "sha256": self.bundle.sha256},
                "bundle_id": self.bundle_id, "verdict": self.verdict,
                "members": [{"procedure": m.procedure, "run_id": m.run_id, "status": m.status,
                             "verdict": m.verdict} for m in self.members],
                "runs": [r.to_dict() for r in self.results]}


def plan_run(procedure: str, room: str | int, *, site: SiteConfig | str | Path | None = None,
             parameters: dict[str, Any] | None = None, allow_expired_calibration: str | None = None,
             item: str | None = None, require_item: bool = True) -> RunPlan | BundlePlan:
    """Everything checked before a meter is touched: the room, the procedure (or bundle), limits, calibration,
    and the inventory item a procedure with a subject tests (not required when only showing the plan)."""
    allow_expired_calibration = override_reason(allow_expired_calibration)
    site_obj = site if isinstance(site, SiteConfig) else load_site(site, procedures=LIBRARY_INDEX)
    limits = known_limits(site_obj)
    found = find_procedure(procedure, limits)
    if isinstance(found, Bundle):
        if item is not None:
            raise ConfigError(f"{procedure} is a bundle; --item names the garment of one inspection",
                              fix="run apron-inspection on its own with --item")
        return BundlePlan(found, [prepare(site_obj, room, bundle_member(pid, limits), parameters=None,
                                          allow_expired_calibration=allow_expired_calibration)
                                  for pid in found.procedures], site_obj, str(site_obj.room(room).id))
    return prepare(site_obj, room, found, parameters=parameters,
                   allow_expired_calibration=allow_expired_calibration, item=item, require_item=require_item)


def plan_resume(run_id: str, *, db: str | Path | None = None, site: SiteConfig | str | Path | None = None,
                allow_expired_calibration: str | None = None) -> tuple[RunPlan, Any]:
    """The plan of a stored run that was cut off, rebuilt from its record, and the stored run itself.

    The procedure file must be the one the run started with (same sha256): a built-in procedure is found by
    its id, one run from a file at the absolute path the run recorded. The site must be the same file.
    """
    from ..errors import ConfigError
    from ..parameters import TECHNIQUE_KEYS
    from ..units import parse_quantity

    allow_expired_calibration = override_reason(allow_expired_calibration)
    with Store(db) as store:
        run = store.get_run(run_id)
    if run.status == "complete":
        raise ConfigError(f"run {run_id} is complete; there is nothing to resume",
                          fix="start a new run with `xcal run PROCEDURE --room N`")
    snap = run.snapshot
    site_obj = site if isinstance(site, SiteConfig) else load_site(
        site if site is not None else (None if snap["site"].get("demo") else snap["site"]["file"]),
        procedures=LIBRARY_INDEX)
    proc = _stored_procedure(run, known_limits(site_obj))
    params: dict[str, Any] = {}
    for key, value in snap["parameters"].items():
        if isinstance(value, int):
            params[key] = value
        elif isinstance(value, list):
            params[key] = [{k: (v if TECHNIQUE_KEYS.get(k) is None else parse_quantity(v)) for k, v in st.items()}
                           for st in value]
        else:
            params[key] = parse_quantity(value)
    override = (snap.get("calibration_override") or {}).get("reason") or allow_expired_calibration
    item = (snap.get("item") or {}).get("id")
    plan = prepare(site_obj, run.room_id, proc, parameters=params, allow_expired_calibration=override, item=item)
    if site_obj.sha256 != snap["site"]["sha256"]:
        # carried on the stored run to run_plan, which records it before the run resumes (not a StoredRun field,
        # so show-run's JSON keeps its keys)
        run.resume_changes = site_changes(snap, plan, f"run {run_id}")
    return plan, run


HARMLESS = (("site", "sha256"), ("site", "file"), ("instruments", "*", "resource"),
            ("instruments", "*", "dicom", "where"))
"""Snapshot paths a resume may find changed: the site file's hash and place, and where each instrument is plugged
in (a DICOM node's address). Timeouts, ports, options of the transport and notes are not in a snapshot at all, so
they may change too."""


def site_changes(snap: dict[str, Any], plan: RunPlan, what: str) -> dict[str, Any]:
    """The site-file changes since `what` started, as recorded for its resume; ConfigError naming each change
    to what the run measured with (equipment, limits, instruments' identity and calibration, parameters).

    The run's snapshot is compared with the one the edited site gives now, so a change the run never recorded
    (a timeout, a note, another room) is harmless by construction and only a resource string may differ.
    """
    from .runner import build_snapshot

    identities = {role: (inst or {}).get("reported_identity")
                  for role, inst in (snap.get("instruments") or {}).items()}
    import json

    from ..records.chain import canonical

    now = json.loads(canonical(build_snapshot(plan, identities)))
    found = _differences((), {k: snap.get(k) for k in now}, now)
    measured = [d for d in found if not any(_matches(d[0], h) for h in HARMLESS)]
    if measured:
        shown = "; ".join(f"{'.'.join(p)}: {then!r} then, {new!r} now" for p, then, new in measured[:4])
        more = f" (and {len(measured) - 4} more)" if len(measured) > 4 else ""
        raise ConfigError(f"the site file {plan.site.path} has changed since {what} started, in what the run "
                          f"measured with: {shown}{more}",
                          fix="put those values back as they were and resume, or start a new run; a resume "
                              "accepts changed timeouts, ports, resource strings and notes")
    return {"site_file": plan.site.path, "sha256_then": snap["site"]["sha256"], "sha256_now": plan.site.sha256,
            "changed": [{"path": ".".join(p), "then": then, "now": new} for p, then, new in found
                        if p[:2] != ("site", "sha256")]}


def _differences(path: tuple[str, ...], then: Any, now: Any) -> list[tuple[tuple[str, ...], Any, Any]]:
    """Every leaf where two snapshots differ, as (path, then, now); lists are compared whole."""
    if isinstance(then, dict) and isinstance(now, dict):
        return [d for key in sorted(then.keys() | now.keys(), key=str)
                for d in _differences(path + (str(key),), then.get(key), now.get(key))]
    return [] if then == now else [(path, then, now)]


def _matches(path: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    return len(path) == len(pattern) and all(p == "*" or p == q for p, q in zip(pattern, path, strict=True))


def override_reason(reason: str | None) -> str | None:
    """The reason given to proceed with an expired calibration, stripped; ConfigError for a blank one.

    The reason is the record's only account of why an out-of-date instrument was used, so whitespace is not
    one (it would print `proceeding because:` and record nothing an auditor could read).
    """
    if reason is None:
        return None
    if not reason.strip():
        raise ConfigError("the reason given to proceed with an expired calibration (--allow-expired-calibration) "
                          "is blank",
                          fix='say why the run goes ahead with an expired calibration, e.g. '
                              '--allow-expired-calibration "recalibration booked; checked against kvp-2"')
    return reason.strip()


def _stored_procedure(run: Any, limits: dict[str, list[Any]]) -> Any:
    """The procedure a stored run was made with: the built-in one of its id, or the file its snapshot names
    (a run started from a procedure file), in either case with the sha256 the run recorded.

    A file's bytes are compared before it is parsed, so an edited file is reported as changed, not as whatever
    the edit may have broken in it.
    """
    import hashlib

    file = (run.snapshot.get("procedure") or {}).get("file") or ""
    then = run.procedure_sha256
    if file and not file.startswith(BUILT_IN):
        if not Path(file).is_file():
            raise ConfigError(f"run {run.run_id} was made with the procedure file {file}, which is not there any "
                              f"more", fix=f"put that file back unchanged (sha256 {then[:12]}…) to resume the run, "
                                       f"or start a new run")
        now = hashlib.sha256(Path(file).read_bytes()).hexdigest()
        changed = f"the procedure file {file} has changed since run {run.run_id} started"
        proc = find_procedure(file, limits) if now == then else None
    else:
        proc = find_procedure(run.procedure_id, limits)
        now = proc.sha256
        changed = f"procedure {run.procedure_id} has changed since run {run.run_id} started"
    if proc is None or isinstance(proc, Bundle) or now != then or proc.id != run.procedure_id:
        raise ConfigError(f"{changed} (sha256 {then[:12]}… then, {now[:12]}… now)",
                          fix="put the procedure file back as it was, or start a new run; a resumed run must use "
                              "the same procedure file")
    return proc


def run_plan(plan: RunPlan, *, db: str | Path | None = None, operator: str | None = None,
             observer: RunObserver | None = None, exposure_timeout: Any = None, resume: Any = None,
             inputs: dict[str, Any] | None = None, on_created: Any = None,
             simulated_room: RoomFactory | None = None, after_run: AfterRun | None = None) -> RunResult:
    """Connect the plan's instruments (or its simulated room, made by `simulated_room`) and execute it; with
    `resume`, continue that run, first recording the site-file changes its resume accepted. `on_created(run_id)`
    hears the run's id; `after_run`'s lines are shown to the operator once the run has ended."""
    observer = observer or RunObserver()
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(Store(db))
        changes = getattr(resume, "resume_changes", None)
        if changes:
            store.record_resume_changes(resume.run_id, changes)
        resources: dict[str, str] = {}
        control: Any = OperatorControl(observer)
        if plan.simulated:
            if simulated_room is None:
                raise ConfigError(f"{plan.room.label()} uses simulated instruments and no simulated room was "
                                  "handed in to serve them",
                                  fix="run it with `xcal run` or the Python API (xcal.load_site), or pass "
                                      "simulated_room=xcal.demo.wiring.simulated_room")
            sim = stack.enter_context(simulated_room(plan))
            resources, control = sim.resources, sim.control
        drivers = {}
        for role, inst in plan.instruments.items():
            driver = connect(inst, resources.get(inst.id))
            stack.callback(driver.close)
            drivers[role] = driver
            if resume is not None and hasattr(driver, "resume_from"):   # state kept across readings (an offset)
                driver.resume_from([r for r in resume.readings if r.role == role])
        result = execute(plan, drivers, control, store, operator=operator, observer=observer,
                         exposure_timeout=exposure_timeout, resume=resume, inputs=inputs, on_created=on_created)
        for line in after_run(store, result.run_id) if after_run is not None else ():
            getattr(observer, "note", observer.prompt)(line)
        return result


def run_bundle(plan: BundlePlan, *, db: str | Path | None = None, operator: str | None = None,
               observer: RunObserver | None = None, exposure_timeout: Any = None,
               inputs: dict[str, Any] | None = None, simulated_room: RoomFactory | None = None,
               after_run: AfterRun | None = None) -> BundleResult:
    """Run (or, for a plan from `plan_bundle_resume`, continue) a bundle as one record: each member is its own
    run, recorded in the bundle the moment it starts; the bundle's verdict is stored when the last member ends.

    A member cut off leaves the bundle incomplete, and the error's fix names `xcal run --resume BUNDLE_ID`,
    which finishes that member and runs the rest.
    """
    from ..records.bundles import BundleMember, StoredBundle, bundle_verdict
    from ..records.models import new_run_id, now_utc
    from .runner import _os_user, procedure_file

    who = operator or _os_user()
    with Store(db) as store:
        if plan.bundle_id is None:
            first = plan.first()
            site = first.site
            record = StoredBundle(
                "B" + new_run_id(), plan.bundle.id, plan.bundle.version, plan.bundle.sha256, plan.bundle.title,
                site.name, first.room.id, first.room.name, who, first.simulated, _software(),
                {"site": {"name": site.name, "file": site.path, "sha256": site.sha256, "demo": site.is_demo},
                 "bundle": {"file": procedure_file(plan.bundle)}}, now_utc(), "running", None, None, None,
                [BundleMember(pid) for pid in plan.bundle.procedures])
            plan.bundle_id = store.create_bundle(record)
        else:
            store.resume_bundle(plan.bundle_id, who)
    bundle_id = plan.bundle_id
    results: list[RunResult] = []
    try:
        for index, member_plan in enumerate(plan.plans):
            if member_plan is None:
                continue

            def started(run_id: str, index: int = index) -> None:
                with Store(db) as store:
                    store.add_bundle_member(bundle_id, index, run_id)

            resume = plan.resumes.get(index)
            results.append(run_plan(member_plan, db=db, operator=operator, observer=observer,
                                    exposure_timeout=exposure_timeout, inputs=inputs, resume=resume,
                                    on_created=None if resume is not None else started,
                                    simulated_room=simulated_room, after_run=after_run))
    except BaseException as exc:
        _bundle_stopped(db, bundle_id, exc)
        raise
    with Store(db) as store:
        members = store.get_bundle(bundle_id).members
        store.finish_bundle(bundle_id, "complete" if all(m.status == "complete" for m in members) else "incomplete",
                            bundle_verdict(members))
        members = store.get_bundle(bundle_id).members
    return BundleResult(plan.bundle, results, bundle_id, members)


def _bundle_stopped(db: str | Path | None, bundle_id: str, exc: BaseException) -> None:
    """Mark the bundle incomplete after a member was cut off, and make the stop's fix continue the bundle."""
    from ..errors import RunAborted
    from ..records.bundles import bundle_verdict

    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    try:
        with Store(db) as store:
            members = store.get_bundle(bundle_id).members
            store.finish_bundle(bundle_id, "incomplete", bundle_verdict(members), f"a member stopped: {reason}")
    except Exception:  # noqa: BLE001 - the stop itself is what is reported; the bundle stays resumable
        return
    if isinstance(exc, RunAborted) and exc.run_id:
        exc.fix = (exc.fix or "").replace(f"the run with `xcal run --resume {exc.run_id}`",
                                          f"the bundle with `xcal run --resume {bundle_id}` (it finishes run "
                                          f"{exc.run_id} and runs the members after it)")
        exc.message = f"bundle {bundle_id}: {exc.message}"


def _software() -> str:
    from .. import __version__

    return __version__


def plan_bundle_resume(bundle_id: str, *, db: str | Path | None = None, site: SiteConfig | str | Path | None = None,
                       allow_expired_calibration: str | None = None) -> BundlePlan:
    """The plan that finishes a cut-off bundle: its cut member resumed, the members not started planned anew,
    the complete ones kept. The bundle file and the measured parts of the site must be unchanged."""
    allow_expired_calibration = override_reason(allow_expired_calibration)
    with Store(db) as store:
        record = store.get_bundle(bundle_id)
    if record.status == "complete":
        raise ConfigError(f"bundle {bundle_id} is complete; there is nothing to resume",
                          fix=f"start a new bundle with `xcal run {record.bundle} --room {record.room_id}`")
    snap = record.snapshot
    site_obj = site if isinstance(site, SiteConfig) else load_site(
        site if site is not None else (None if snap["site"].get("demo") else snap["site"]["file"]),
        procedures=LIBRARY_INDEX)
    limits = known_limits(site_obj)
    file = (snap.get("bundle") or {}).get("file") or ""
    found = find_procedure(file if file and not file.startswith(BUILT_IN) else record.bundle, limits)
    if not isinstance(found, Bundle) or found.sha256 != record.bundle_sha256:
        raise ConfigError(f"bundle {record.bundle} has changed since bundle {bundle_id} started (sha256 "
                          f"{record.bundle_sha256[:12]}… then)",
                          fix="put the bundle file back as it was, or start a new bundle")
    plan = BundlePlan(found, [], site_obj, record.room_id, bundle_id)
    for index, member in enumerate(record.members):
        if member.status == "complete":
            plan.plans.append(None)
            continue
        if member.run_id:
            member_plan, stored = plan_resume(member.run_id, db=db, site=site_obj,
                                              allow_expired_calibration=allow_expired_calibration)
            plan.resumes[index] = stored
        else:
            proc = find_procedure(member.procedure, limits)
            if isinstance(proc, Bundle):
                raise ConfigError(f"bundle {record.bundle} names the bundle {member.procedure} as a member",
                                  fix="list procedures, not bundles, in a bundle file")
            member_plan = prepare(site_obj, record.room_id, proc, allow_expired_calibration=allow_expired_calibration)
        plan.plans.append(member_plan)
    return plan    # every member complete (its last run resumed on its own): running it only closes the bundle


@dataclass
class Prepared:
    """A run, bundle or resume checked and ready to go: `plan` for the console to describe, `run()` to do it."""

    plan: RunPlan | BundlePlan
    db: str | Path | None
    inputs: dict[str, Any] | None = None
    resume: Any = None

    @property
    def site(self) -> SiteConfig:
        """The site the run or bundle goes on: what a front end describes, e.g. whether it is the demo site."""
        site = self.plan.site
        assert site is not None
        return site

    def run(self, *, operator: str | None = None, observer: RunObserver | None = None,
            exposure_timeout: Any = None, simulated_room: RoomFactory | None = None,
            after_run: AfterRun | None = None) -> RunResult | BundleResult:
        """Do the run or bundle (continuing the stored one on a resume) and return its result; `simulated_room`
        and `after_run` as for run_plan."""
        if isinstance(self.plan, BundlePlan):
            return run_bundle(self.plan, db=self.db, operator=operator, observer=observer,
                              exposure_timeout=exposure_timeout, inputs=self.inputs, simulated_room=simulated_room,
                              after_run=after_run)
        return run_plan(self.plan, db=self.db, operator=operator, observer=observer,
                        exposure_timeout=exposure_timeout, resume=self.resume, inputs=self.inputs,
                        simulated_room=simulated_room, after_run=after_run)


def start(procedure: str | None = None, room: str | int | None = None, *, resume: str | None = None,
          site: SiteConfig | str | Path | None = None, db: str | Path | None = None,
          parameters: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
          allow_expired_calibration: str | None = None, item: str | None = None) -> Prepared:
    """The one way into a run, for the CLI and the API alike: a procedure or bundle in a room, or `resume`,
    the id of a cut-off run or bundle. Everything is checked here, before any meter is touched."""
    from .loader import check_inputs

    if resume is not None:
        if procedure or room is not None:
            raise ConfigError("--resume takes the procedure and room from the record it continues",
                              fix=f"run `xcal run --resume {resume}` without PROCEDURE and --room")
        with Store(db) as store:
            is_bundle = store.is_bundle(resume)
        if is_bundle:
            plan: RunPlan | BundlePlan = plan_bundle_resume(resume, db=db, site=site,
                                                            allow_expired_calibration=allow_expired_calibration)
            stored = None
        else:
            plan, stored = plan_resume(resume, db=db, site=site, allow_expired_calibration=allow_expired_calibration)
    elif not procedure or room is None:
        raise ConfigError("give PROCEDURE and --room (or --resume RUN_ID)", fix="e.g. xcal run kvp-accuracy --room 3")
    else:
        plan, stored = plan_run(procedure, room, site=site, parameters=parameters,
                                allow_expired_calibration=allow_expired_calibration, item=item), None
        if isinstance(plan, BundlePlan) and parameters:
            raise ConfigError(f"{procedure} is a bundle; parameters apply to single procedures",
                              fix="run the bundle's procedures one by one to change their parameters")
    if inputs is not None:
        check_inputs(inputs, plan.bundle if isinstance(plan, BundlePlan) else plan.procedure)
    return Prepared(plan, db, inputs, stored)
