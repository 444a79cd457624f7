"""The `xcal` command line: parse, call the library, print. Heavy imports stay inside the commands."""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from . import __version__
from .errors import XcalError

DEMO_NOTE = ("Using the built-in demo site: simulated rooms and instruments; every record is marked "
             "SIMULATED. Give --site FILE (or set XCAL_SITE) for a real site.")


class Context:
    def __init__(self, site: str | None, db: str | None, debug: bool) -> None:
        self.site, self.db, self.debug = site, db, debug

    def load_site(self) -> Any:
        from .site import load_site

        return load_site(self.site)

    def check_room(self, store: Any, room: str | None) -> None:
        """ConfigError for a --room that neither the site has nor any recorded run names (a typing error
        would otherwise read as "no runs"); a room known only from the records (a run made with another
        site file) is accepted so that its history stays reachable."""
        if room is None or store.list_runs(room=room, limit=1):
            return
        site = self.load_site()
        if room not in site.rooms:
            from .errors import ConfigError

            raise ConfigError(f"no room '{room}' in {site.path}, and no run recorded for it",
                              fix=f"{site.room_hint(room)}use one of the site's rooms: {', '.join(site.rooms)}")


def _fault(exc: Exception, debug: bool) -> None:
    """Report an exception xcal did not foresee as a fault in xcal, with how to report it; exit 70 (never 1,
    the code of a FAIL). A run it cut off is named with the command that continues it."""
    import traceback

    from .errors import FAULT_EXIT_CODE, InternalFault

    if debug:
        traceback.print_exc()
    cause = exc.cause if isinstance(exc, InternalFault) else exc
    message = (f"error: a fault in xcal itself, not in your input or your instruments: "
               f"{type(cause).__name__}: {cause}")
    if isinstance(exc, InternalFault) and exc.readings is not None:
        message += (f"\n  run {exc.run_id} stopped; its {exc.readings} readings are kept and it is marked "
                    f"incomplete: continue it with `xcal run --resume {exc.run_id}`")
    elif isinstance(exc, InternalFault):
        message += f"\n  run {exc.run_id} was under way: `xcal show-run {exc.run_id}` shows what it holds"
    click.echo(message + "\n  fix: please report it to xcal's maintainers with the command you ran, the output of "
                         "`xcal --version` and the traceback that the same command prints with `xcal --debug ...`",
               err=True)
    sys.exit(FAULT_EXIT_CODE)


def _guard(func: Callable[..., int | None]) -> Callable[..., None]:
    """Turn XcalError into its message and exit code, and any other exception into a fault in xcal (exit 70);
    tracebacks only with --debug."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        ctx = click.get_current_context()
        debug = bool(ctx.obj and ctx.obj.debug)
        try:
            code = func(*args, **kwargs)
        except XcalError as exc:
            if debug:
                import traceback

                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except (KeyboardInterrupt, EOFError):
            # Ctrl-C or Ctrl-D outside a run's steps (a run in progress reports its own stop): exit 3, not
            # click's "Aborted!" with 1, the code of a FAIL verdict.
            click.echo("error: interrupted (Ctrl-C or Ctrl-D)\n  fix: run the command again; `xcal history` "
                       "shows any run already recorded", err=True)
            sys.exit(3)
        except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except Exception as exc:  # noqa: BLE001 - anything else is a fault in xcal, reported as one
            _fault(exc, debug)
        sys.exit(code or 0)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xcal")
@click.option("--site", envvar="XCAL_SITE", metavar="FILE",
              help="Site file (facility, rooms, instruments). Default: the built-in simulated demo site.")
@click.option("--db", envvar="XCAL_DB", metavar="PATH|URL",
              help="Record store: a SQLite file, or a postgresql://user@host/dbname URL (needs the postgres "
                   "extra). Default: xcal.sqlite3 in the user data folder.")
@click.option("--create-db-folder", is_flag=True,
              help="Create the folder of --db (or XCAL_DB) when it does not exist; without this a store in a "
                   "missing folder is refused, so a typing error never starts a new, empty store.")
@click.option("--debug", is_flag=True, help="Show tracebacks and raw instrument I/O.")
@click.pass_context
def main(ctx: click.Context, site: str | None, db: str | None, create_db_folder: bool, debug: bool) -> None:
    """xcal: X-ray QC instrument control and calibration.

    Exit codes: 0 pass, 1 fail, 2 bad input or configuration, 3 instrument or run error, 70 a fault in xcal.
    """
    ctx.obj = Context(site, db, debug)
    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(name)s %(message)s")
    if create_db_folder:
        from .records.backend import create_store_folder

        try:
            create_store_folder(db)
        except XcalError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@main.command()
@click.argument("procedure", required=False)
@click.option("--room", help="Room id from the site file.")
@click.option("--resume", "resume_id", metavar="RUN_ID", help="Continue a run that was cut off: keep its readings, "
              "make the missing exposures.")
@click.option("--operator", help="Who performs the test (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout (messages go to stderr).")
@click.option("--allow-expired-calibration", "allow_expired", metavar="REASON",
              help="Proceed with an instrument past its calibration due date; the reason is recorded.")
@click.option("--inputs", "inputs_file", type=click.Path(), metavar="FILE",
              help="Answers to the values the procedure asks for (YAML: kind: inputs, values: {...}).")
@click.option("--item", metavar="ID", help="The garment of the site's apparel inventory that apron-inspection "
              "inspects.")
@click.pass_obj
@_guard
def run(obj: Context, procedure: str | None, room: str | None, resume_id: str | None, operator: str | None,
        as_json: bool, allow_expired: str | None, inputs_file: str | None, item: str | None) -> int:
    """Run PROCEDURE (an id from `xcal list`, or a file) in a room, or continue one with --resume RUN_ID."""
    from .console import RunConsole
    from .errors import ConfigError
    from .procedures.session import BundlePlan, BundleResult, plan_resume, plan_run, run_bundle, run_plan

    from .procedures.loader import check_inputs, load_inputs

    console = RunConsole(to_stderr=as_json)
    inputs = load_inputs(inputs_file) if inputs_file else None
    stored = None
    if resume_id is not None:
        if procedure or room:
            raise ConfigError("--resume takes the procedure and room from the run's record",
                              fix=f"run `xcal run --resume {resume_id}` without PROCEDURE and --room")
        plan, stored = plan_resume(resume_id, db=obj.db, site=obj.site, allow_expired_calibration=allow_expired)
    elif not (procedure and room):
        raise ConfigError("give PROCEDURE and --room (or --resume RUN_ID)",
                          fix="e.g. xcal run kvp-accuracy --room 3")
    else:
        plan = plan_run(procedure, room, site=obj.site, allow_expired_calibration=allow_expired, item=item)
    if inputs is not None:
        check_inputs(inputs, plan.bundle if isinstance(plan, BundlePlan) else plan.procedure)
    first = plan.plans[0] if isinstance(plan, BundlePlan) else plan
    if first.site.is_demo:
        console.note(DEMO_NOTE)
    with console.progress(plan):
        if stored is not None:
            result = run_plan(plan, db=obj.db, operator=operator, observer=console, resume=stored, inputs=inputs)
        elif isinstance(plan, BundlePlan):
            result = run_bundle(plan, db=obj.db, operator=operator, observer=console, inputs=inputs)
            console.bundle_finished(result)
        else:
            result = run_plan(plan, db=obj.db, operator=operator, observer=console, inputs=inputs)
    console.stored(result.results if isinstance(result, BundleResult) else [result])
    if as_json:
        import json

        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    return 0 if result.passed else 1


@main.command("list")
@click.pass_obj
@_guard
def list_(obj: Context) -> int:
    """List the built-in procedures."""
    from .console import print_procedure_list
    from .procedures.loader import find_procedure, library_paths

    print_procedure_list([find_procedure(pid) for pid in library_paths()])
    return 0


@main.command()
@click.argument("procedure")
@click.option("--room", help="Also show the limits that would apply in this room, with their sources.")
@click.pass_obj
@_guard
def show(obj: Context, procedure: str, room: str | None) -> int:
    """Print a procedure's instruments, parameters, steps, results and checks (and a room's limits)."""
    from .console import print_procedure
    from .procedures.plan import known_limits
    from .procedures.session import plan_run

    site = obj.load_site()
    plan = plan_run(procedure, room, site=site, require_item=False) if room is not None else None
    if plan is None:
        from .procedures.loader import find_procedure

        print_procedure(find_procedure(procedure, known_limits(site)), None)
    else:
        print_procedure(getattr(plan, "bundle", None) or plan.procedure, plan)
    return 0


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.pass_obj
@_guard
def validate(obj: Context, paths: tuple[str, ...]) -> int:
    """Check procedure, limit-set and site files (all built-in ones when no PATH is given)."""
    from .validate import validate_paths

    for line in validate_paths(list(paths), site=obj.site):
        click.echo(line)
    return 0


@main.command()
@click.option("--room", help="Only runs in this room.")
@click.option("--limit", "count", type=click.IntRange(min=1), default=50, show_default=True,
              help="How many runs to list (at least 1).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def history(obj: Context, room: str | None, count: int, as_json: bool) -> int:
    """List recorded runs, newest first."""
    from .console import print_history
    from .records.store import Store

    with Store(obj.db) as store:
        obj.check_room(store, room)
        runs = store.list_runs(room=room, limit=count)
    print_history(runs, as_json=as_json, room=room)
    return 0


@main.command("show-run")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def show_run(obj: Context, run_id: str, as_json: bool) -> int:
    """Show one recorded run with its readings and checks."""
    from .console import print_run
    from .records.store import Store

    with Store(obj.db) as store:
        run = store.get_run(run_id)
    print_run(run, as_json=as_json)
    return 0


@main.command()
@click.option("--workload", default="Rad Room (all barriers)", show_default=True,
              help="NCRP 147 workload spectrum, e.g. 'Chest Room', 'Cardiac Angiography'.")
@click.option("--barrier", type=click.Choice(["primary", "secondary"]), required=True)
@click.option("--distance", required=True, help="To 0.3 m beyond the barrier, e.g. '2.1 m'.")
@click.option("--area", type=click.Choice(["controlled", "uncontrolled"]), default="uncontrolled",
              show_default=True, help="Design goal 0.1 (controlled) or 0.02 (uncontrolled) mGy/week.")
@click.option("--design-goal", help="Override the design goal, e.g. '0.05 mGy/week'.")
@click.option("--occupancy", default="1", show_default=True,
              help="Occupancy factor T, or the kind of area (office, corridor, storage ...).")
@click.option("--patients", default="110", show_default=True, help="Patients per week.")
@click.option("--use-factor", type=float, help="Use factor U (primary barriers).")
@click.option("--k1", help="Unshielded air kerma per patient at 1 m (default: NCRP 147's value), e.g. '5.2 mGy'.")
@click.option("--preshielding", help="Subtract pre-shielding: 'image receptor in table or wall bucky' or 'cross-table'.")
@_guard
def shielding(workload: str, barrier: str, distance: str, area: str, design_goal: str | None, occupancy: str,
              patients: str, use_factor: float | None, k1: str | None, preshielding: str | None) -> int:
    """Lead and concrete for a barrier, per NCRP Report 147."""
    from .console import print_shielding
    from .shielding import compute

    print_shielding(compute(workload=workload, barrier=barrier, distance=distance, area=area,
                            design_goal=design_goal, occupancy=occupancy, patients=patients,
                            use_factor=use_factor, k1=k1, preshielding=preshielding))
    return 0


@main.command()
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True)
@click.option("-o", "--output", type=click.Path(), help="Output file (default: xcal-RUN_ID.html or .pdf) in a "
              "folder that exists.")
@click.option("--force", is_flag=True, help="Replace an existing file that xcal did not write (never a record store).")
@click.pass_obj
@_guard
def report(obj: Context, run_id: str, fmt: str, output: str | None, force: bool) -> int:
    """Write a self-contained report of a run (HTML or PDF) for the record and the inspector."""
    from pathlib import Path

    from .records.outputs import check_outputs
    from .records.store import Store
    from .reports import render_html, write_pdf

    path = Path(output or f"xcal-{run_id}.{fmt}")
    with Store(obj.db) as store:
        check_outputs([path], store.path, force=force)
        run = store.get_run(run_id)
        signatures = store.signatures(run_id)
    if fmt == "pdf":
        write_pdf(run, path, signatures=signatures)
    else:
        try:
            path.write_text(render_html(run, signatures=signatures), encoding="utf-8")
        except OSError as exc:
            from .errors import RecordError

            raise RecordError(f"cannot write the report {path}: {exc.strerror}",
                              fix="choose a folder you can write to with -o") from None
    click.echo(str(path))
    return 0


@main.command("upgrade-store")
@click.option("--name", required=True, help="Your full name: the audit chain records who upgraded the store.")
@click.pass_obj
@_guard
def upgrade_store(obj: Context, name: str) -> int:
    """Bring the record store (--db) to this xcal's schema version; back it up first."""
    from .records.upgrade import upgrade_store as upgrade

    done = upgrade(obj.db, name)
    if done.from_versions:
        click.echo(f"upgraded {done.where} from schema version {done.from_versions[0]} to {done.to_version}; the "
                   f"audit chain records it as done by {name.strip()}")
    else:
        click.echo(f"{done.where} is already at schema version {done.to_version}; nothing to do")
    return 0


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def verify(obj: Context, as_json: bool) -> int:
    """Check the record store's audit chain; name the first broken entry (exit 1 if any)."""
    import json

    from .records.store import Store

    with Store(obj.db) as store:
        report = store.verify()
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "entries": report.entries, "first_broken": report.first_broken,
                               "reason": report.reason, "head": report.head}, indent=2))
    elif report.ok:
        click.echo(f"ok: {report.entries} entries, chain head {report.head}")
    else:
        click.echo(f"BROKEN at entry {report.first_broken}: {report.reason}")
    return 0 if report.ok else 1


@main.command()
@click.argument("run_id")
@click.option("--meaning", type=click.Choice(["performed", "reviewed", "approved"]), required=True)
@click.option("--name", help="Who signs (default: the operator's OS user name).")
@click.pass_obj
@_guard
def sign(obj: Context, run_id: str, meaning: str, name: str | None) -> int:
    """Sign a run: bind a name, the time and a meaning to the run's hash."""
    import getpass

    from .records.store import Store

    with Store(obj.db) as store:
        signature = store.sign(run_id, meaning, name or getpass.getuser())
    click.echo(f"signed run {run_id}: {signature.meaning} by {signature.name} at {signature.at}, "
               f"run hash {signature.run_hash}")
    return 0


@main.command()
@click.argument("run_id")
@click.argument("reading_id", type=int)
@click.option("--value", required=True, help="The corrected value with its unit, e.g. '80.4 kV'.")
@click.option("--reason", required=True, help="Why the reading is corrected.")
@click.option("--name", required=True, help="Who corrects it.")
@click.pass_obj
@_guard
def correct(obj: Context, run_id: str, reading_id: int, value: str, reason: str, name: str) -> int:
    """Record a correction of one reading; the original stays in the record."""
    from .records.corrections import correct_with_units
    from .records.store import Store

    with Store(obj.db) as store:
        correction = correct_with_units(store, run_id, reading_id, value, reason, name)
    click.echo(f"correction {correction} recorded for reading {reading_id} of run {run_id}")
    return 0


@main.command()
@click.option("--room", required=True, help="Room id.")
@click.option("--result", "result", required=True, help="Check id, e.g. kvp-accuracy or hvl-minimum.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also draw the trend against its limits to FILE: .png or .svg.")
@click.pass_obj
@_guard
def trend(obj: Context, room: str, result: str, as_json: bool, output: str | None) -> int:
    """A check's values over time in a room, against its limits (a table; JSON with --json; a plot with -o)."""
    from .console import print_trend, print_trend_plot
    from .records.store import Store
    from .records.trend import trend as query

    if output:
        from .reports.plots import file_format

        file_format(output)
    with Store(obj.db) as store:
        obj.check_room(store, room)
        points = query(store, room, result)
    print_trend(points, room, result, as_json=as_json)
    if output:
        from .reports.plots import write_trend

        print_trend_plot(write_trend(points, output, room=room, result=result), output, room, result, as_json)
    return 0


@main.command()
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(), help="Output file in a folder that exists (CSV: "
              "<stem>-runs.csv and <stem>-readings.csv).")
@click.option("--room", help="Only this room's runs.")
@click.option("--force", is_flag=True, help="Replace existing files that xcal did not write (never a record store).")
@click.pass_obj
@_guard
def export(obj: Context, fmt: str, output: str, room: str | None, force: bool) -> int:
    """Export runs and readings as CSV or JSON."""
    from .records.export import export_runs
    from .records.store import Store

    with Store(obj.db) as store:
        written = export_runs(store, output, fmt=fmt, room=room, force=force)
    for path in written:
        click.echo(str(path))
    return 0


@main.command()
@click.option("--room", help="Only this room.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def due(obj: Context, room: str | None, as_json: bool) -> int:
    """Each scheduled room × procedure: last run, verdict, next due, overdue, instruments' calibration."""
    import datetime as dt

    from .console import print_due
    from .records.store import Store
    from .schedule import due_report

    site = obj.load_site()
    if room is not None:
        site.room(room)                                          # an unknown room is an error, not an empty list
    with Store(obj.db) as store:
        items = due_report(site, store, dt.date.today(), room)
    print_due(items, as_json=as_json)
    return 0


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def retention(obj: Context, as_json: bool) -> int:
    """Runs past their retention period under the site's rules. Nothing is ever deleted."""
    import datetime as dt

    from .console import print_retention
    from .records.retention import retention_report
    from .records.store import Store

    site = obj.load_site()
    with Store(obj.db) as store:
        items = retention_report(store, site.retention, dt.date.today())
    print_retention(items, site.retention, as_json=as_json)
    return 0


@main.group("site")
def site_group() -> None:
    """What the site file declares: its rooms, and its instruments with their calibration.

    (`xcal instruments` is about drivers, the software that talks to a kind of meter; `xcal site instruments`
    lists the meters this site owns.)
    """


@site_group.command("rooms")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def site_rooms(obj: Context, as_json: bool) -> int:
    """Each room: id, name, modality, equipment, limit sets in priority order, instruments by role."""
    from .console import print_site_rooms

    print_site_rooms(obj.load_site(), as_json=as_json)
    return 0


@site_group.command("instruments")
@click.option("--within", default="60 d", show_default=True, metavar="TIME",
              help="Warn of a calibration falling due within this time, e.g. 90d or '12 weeks'.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def site_instruments(obj: Context, within: str, as_json: bool) -> int:
    """Each instrument: identity, driver, rooms, calibration due date and status (OK, DUE SOON, EXPIRED)."""
    import datetime as dt

    from .console import print_site_instruments
    from .schedule import calibration_report, window_days

    days = window_days(within)
    print_site_instruments(calibration_report(obj.load_site(), dt.date.today(), days), days, as_json=as_json)
    return 0


@main.group()
def instruments() -> None:
    """Instrument drivers: list them, check that an instrument answers."""


@instruments.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_guard
def instruments_list(as_json: bool) -> int:
    """Every registered driver: capabilities, protocol status, transports, evidence level."""
    from .console import print_drivers
    from .drivers.check import list_drivers

    print_drivers(list_drivers(), as_json=as_json)
    return 0


@instruments.command("evidence")
@click.argument("driver")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_guard
def instruments_evidence(driver: str, as_json: bool) -> int:
    """Each command DRIVER sends, the public sources that show it, and the disagreements found between them."""
    from .console import print_evidence
    from .drivers.check import driver_evidence

    print_evidence(driver, driver_evidence(driver), as_json=as_json)
    return 0


@instruments.command("check")
@click.argument("instrument", required=False)
@click.option("--driver", help="Driver name (see `xcal instruments list`).")
@click.option("--resource", help="VISA resource, serial port path or pyserial URL.")
@click.option("--timeout", default="2 s", show_default=True, help="Reply timeout, e.g. '500 ms'.")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="A driver option, e.g. -o command_map=meter.yaml -o baudrate=19200 (repeatable).")
@click.pass_obj
@_guard
def instruments_check(obj: Context, instrument: str | None, driver: str | None, resource: str | None,
                      timeout: str, options: tuple[str, ...]) -> int:
    """Connect to INSTRUMENT (an id of the site file) or to --driver at --resource; print identity and a reading."""
    from .console import print_check
    from .instruments import check_instrument, parse_options

    print_check(check_instrument(obj.site, instrument, driver, resource, timeout, parse_options(options)))
    return 0


@main.group()
def sim() -> None:
    """Instrument simulators of the site's simulated instruments."""


@sim.command("serve")
@click.option("--room", help="Only this room's simulated instruments.")
@click.option("--instrument", "instrument", help="Only this instrument.")
@click.pass_obj
@_guard
def sim_serve(obj: Context, room: str | None, instrument: str | None) -> int:
    """Start simulators in the foreground and print their resource strings; Ctrl-C (or SIGTERM) stops them."""
    import signal
    import time

    from .demo.wiring import serve_site

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):   # also when started with SIGINT ignored (a background job)
        signal.signal(sig, stop)

    site = obj.load_site()
    try:
        with serve_site(site, room, instrument) as started:
            for inst, in_room, resource in started:
                where = f" (room {in_room.id})" if in_room is not None else ""
                click.echo(f"{inst.id:<12} {inst.driver:<14} {resource}{where}")
            click.echo("Simulators running; press Ctrl-C to stop.", err=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    main()
