"""One call that does a whole run: load the site and procedure, plan, connect, execute, close.

The command line and the Python API both come through here, so a run from code and a run from the console
take the same path.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from ..drivers.registry import get_driver_class
from ..errors import ConfigError, InstrumentError
from ..records.store import Store
from ..site import Instrument, Site, load_site
from dataclasses import dataclass

from ..limits.tolerance import PASS
from ..verdict import run_verdict
from .loader import find_procedure
from .model import Bundle
from .plan import RunPlan, known_limits, prepare
from .runner import BUILT_IN, OperatorControl, RunObserver, RunResult, execute


def connect(instrument: Instrument, resource: str | None = None) -> Any:
    """Open the instrument's driver on its resource (or on `resource`, e.g. a simulator's port)."""
    cls = get_driver_class(instrument.driver)
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
    """The plans of a bundle's procedures, in order, on one room."""

    bundle: Bundle
    plans: list[RunPlan]

    def total_exposures(self) -> int:
        return sum(p.total_exposures() for p in self.plans)


@dataclass
class BundleResult:
    bundle: Bundle
    results: list[RunResult]

    @property
    def verdict(self) -> str:
        return run_verdict(r.verdict for r in self.results)

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    def to_dict(self) -> dict[str, Any]:
        return {"bundle": {"id": self.bundle.id, "version": self.bundle.version, "title": self.bundle.title,
                           "sha256": self.bundle.sha256},
                "verdict": self.verdict, "runs": [r.to_dict() for r in self.results]}


def plan_run(procedure: str, room: str | int, *, site: Site | str | Path | None = None,
             parameters: dict[str, Any] | None = None, allow_expired_calibration: str | None = None,
             item: str | None = None, require_item: bool = True) -> RunPlan | BundlePlan:
    """Everything checked before a meter is touched: the room, the procedure (or bundle), limits, calibration,
    and the inventory item a procedure with a subject tests (not required when only showing the plan)."""
    allow_expired_calibration = override_reason(allow_expired_calibration)
    site_obj = site if isinstance(site, Site) else load_site(site)
    limits = known_limits(site_obj)
    found = find_procedure(procedure, limits)
    if isinstance(found, Bundle):
        if item is not None:
            raise ConfigError(f"{procedure} is a bundle; --item names the garment of one inspection",
                              fix="run apron-inspection on its own with --item")
        return BundlePlan(found, [prepare(site_obj, room, find_procedure(pid, limits), parameters=None,
                                          allow_expired_calibration=allow_expired_calibration)
                                  for pid in found.procedures])
    return prepare(site_obj, room, found, parameters=parameters,
                   allow_expired_calibration=allow_expired_calibration, item=item, require_item=require_item)


def plan_resume(run_id: str, *, db: str | Path | None = None, site: Site | str | Path | None = None,
                allow_expired_calibration: str | None = None) -> tuple[RunPlan, Any]:
    """The plan of a stored run that was cut off, rebuilt from its record, and the stored run itself.

    The procedure file must be the one the run started with (same sha256): a built-in procedure is found by
    its id, one run from a file at the absolute path the run recorded. The site must be the same file.
    """
    from ..errors import ConfigError
    from ..units import parse_quantity
    from .model import TECHNIQUE_KEYS

    allow_expired_calibration = override_reason(allow_expired_calibration)
    with Store(db) as store:
        run = store.get_run(run_id)
    if run.status == "complete":
        raise ConfigError(f"run {run_id} is complete; there is nothing to resume",
                          fix="start a new run with `xcal run PROCEDURE --room N`")
    snap = run.snapshot
    site_obj = site if isinstance(site, Site) else load_site(
        site if site is not None else (None if snap["site"].get("demo") else snap["site"]["file"]))
    if site_obj.sha256 != snap["site"]["sha256"]:
        raise ConfigError(f"the site file {site_obj.path} has changed since run {run_id} started",
                          fix="resume with the site file the run started with, or start a new run")
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
    return prepare(site_obj, run.room_id, proc, parameters=params, allow_expired_calibration=override,
                   item=item), run


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
             inputs: dict[str, Any] | None = None) -> RunResult:
    observer = observer or RunObserver()
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(Store(db))
        resources: dict[str, str] = {}
        control: Any = OperatorControl(observer)
        if plan.simulated:
            from ..demo.wiring import simulated_room

            sim = stack.enter_context(simulated_room(plan))
            resources, control = sim.resources, sim.control
        drivers = {}
        for role, inst in plan.instruments.items():
            driver = connect(inst, resources.get(inst.id))
            stack.callback(driver.close)
            drivers[role] = driver
        return execute(plan, drivers, control, store, operator=operator, observer=observer,
                       exposure_timeout=exposure_timeout, resume=resume, inputs=inputs)


def run_bundle(plan: BundlePlan, *, db: str | Path | None = None, operator: str | None = None,
               observer: RunObserver | None = None, exposure_timeout: Any = None,
               inputs: dict[str, Any] | None = None) -> BundleResult:
    """Run each procedure of the bundle in turn; each is its own record; one verdict for all."""
    results = [run_plan(p, db=db, operator=operator, observer=observer, exposure_timeout=exposure_timeout,
                        inputs=inputs) for p in plan.plans]
    return BundleResult(plan.bundle, results)
