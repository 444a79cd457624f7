"""One call that does a whole run: load the site and procedure, plan, connect, execute, close.

The command line and the Python API both come through here, so a run from code and a run from the console
take the same path.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from ..drivers.registry import get_driver_class
from ..errors import InstrumentError
from ..records.store import Store
from ..site import Instrument, Site, load_site
from .loader import find_procedure
from .plan import RunPlan, known_limits, prepare
from .runner import OperatorControl, RunObserver, RunResult, execute


def connect(instrument: Instrument, resource: str | None = None) -> Any:
    """Open the instrument's driver on its resource (or on `resource`, e.g. a simulator's port)."""
    cls = get_driver_class(instrument.driver)
    target = resource or instrument.resource
    options = dict(instrument.options)
    if instrument.timeout is not None:
        options["timeout"] = instrument.timeout
    try:
        return cls(target, name=instrument.id, **options)
    except TypeError as exc:
        raise InstrumentError(f"instrument {instrument.id}: driver '{instrument.driver}' does not accept its "
                              f"options ({exc})", instrument=instrument.id, resource=target,
                              fix="check the instrument's `options:` in the site file") from None


def plan_run(procedure: str, room: str | int, *, site: Site | str | Path | None = None,
             parameters: dict[str, Any] | None = None, allow_expired_calibration: str | None = None) -> RunPlan:
    site_obj = site if isinstance(site, Site) else load_site(site)
    proc = find_procedure(procedure, known_limits(site_obj))
    return prepare(site_obj, room, proc, parameters=parameters,
                   allow_expired_calibration=allow_expired_calibration)


def run_plan(plan: RunPlan, *, db: str | Path | None = None, operator: str | None = None,
             observer: RunObserver | None = None, exposure_timeout: Any = None) -> RunResult:
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
                       exposure_timeout=exposure_timeout)
