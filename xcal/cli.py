"""The `xcal` command line: parse, call the library, print. Heavy imports stay inside the commands."""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Callable
from typing import Any

import click

from . import __version__
from .errors import XcalError

DEMO_NOTE = ("Using the built-in demo site: simulated rooms and instruments; every record is marked "
             "SIMULATED. Give --site FILE (or set XCAL_SITE) for a real site.")


class Context:
    def __init__(self, site: str | None, db: str | None, debug: bool) -> None:
        self.site, self.db, self.debug = site, db, debug

    def load_site(self) -> Any:
        from .procedures.loader import LIBRARY_INDEX
        from .site import load_site

        return load_site(self.site, procedures=LIBRARY_INDEX)

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


def _reader_gone() -> None:
    """The output's reader closed it (`xcal ... | head -1`): stop quietly with 141 (128 + SIGPIPE), as a shell
    command killed by SIGPIPE does; stdout is pointed at /dev/null so its final flush cannot fail again."""
    import contextlib
    import os

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(141)


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
        except BrokenPipeError:
            _reader_gone()
        except Exception as exc:  # noqa: BLE001 - anything else is a fault in xcal, reported as one
            _fault(exc, debug)
        sys.exit(code or 0)

    return wrapper


def _skip_final_collection() -> None:
    """At exit, set every object aside from the collector's last passes: the ending process frees them anyway,
    and those passes over a process holding the PostgreSQL driver took 20-30 ms, a seventh of `xcal trend`.
    Files and stores are closed by the commands themselves (with-blocks), never left to the collector."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


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
    _skip_final_collection()
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
@click.option("--resume", "resume_id", metavar="ID", help="Continue a run or bundle that was cut off: keep its "
              "readings, make the missing exposures (and, for a bundle, run the members not yet run).")
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
    """Run PROCEDURE (an id from `xcal list`, or a file) in a room, or continue a run or bundle with --resume ID."""
    from .console import RunConsole
    from .demo.wiring import simulated_room
    from .procedures.loader import load_inputs
    from .procedures.session import BundleResult, start
    from .program.actions import after_run

    console = RunConsole(to_stderr=as_json)
    inputs = load_inputs(inputs_file) if inputs_file else None
    prepared = start(procedure, room, resume=resume_id, site=obj.site, db=obj.db, inputs=inputs,
                     allow_expired_calibration=allow_expired, item=item)
    if prepared.site.is_demo:
        console.note(DEMO_NOTE)
    with console.progress(prepared.plan):
        result = prepared.run(operator=operator, observer=console, simulated_room=simulated_room,
                              after_run=after_run)
        if isinstance(result, BundleResult):
            console.bundle_finished(result)
    if isinstance(result, BundleResult) and not result.results:
        console.note(f"Bundle {result.bundle_id}: every member was already complete; the bundle is now closed")
    elif isinstance(result, BundleResult):
        console.stored(result.results, result.bundle_id)
    else:
        console.stored([result])
    for done in result.results if isinstance(result, BundleResult) else [result]:
        for warning in done.warnings:                     # the run stands: its verdict decides the exit code
            click.echo(f"warning: {warning.message}\n  fix: {warning.fix}", err=True)
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
    from .procedures.session import BundlePlan, plan_run

    site = obj.load_site()
    plan = plan_run(procedure, room, site=site, require_item=False) if room is not None else None
    if plan is None:
        from .procedures.loader import find_procedure

        print_procedure(find_procedure(procedure, known_limits(site)), None)
    else:
        print_procedure(plan.bundle if isinstance(plan, BundlePlan) else plan.procedure, plan)
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
        bundles = store.list_bundles(room=room, limit=count)
    print_history(runs, as_json=as_json, room=room, bundles=bundles)
    return 0


@main.command("show-run")
@click.argument("run_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def show_run(obj: Context, run_id: str, as_json: bool) -> int:
    """Show one recorded run (readings with their ids, corrections, signatures, equipment, checks) or bundle."""
    from .console import print_bundle, print_run
    from .records.store import Store

    with Store(obj.db) as store:
        if store.is_bundle(run_id):
            print_bundle(store.get_bundle(run_id), as_json=as_json)
            return 0
        run = store.get_run(run_id)
        signatures = store.signatures(run_id)
    print_run(run, as_json=as_json, signatures=signatures)
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
@click.option("--preshielding",
              help="Subtract pre-shielding: 'image receptor in table or wall bucky' or 'cross-table'.")
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
@click.argument("run_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True)
@click.option("-o", "--output", type=click.Path(), help="Output file (default: xcal-RUN_ID.html or .pdf) in a "
              "folder that exists.")
@click.option("--force", is_flag=True, help="Replace an existing file that xcal did not write (never a record store).")
@click.pass_obj
@_guard
def report(obj: Context, run_id: str, fmt: str, output: str | None, force: bool) -> int:
    """Write a self-contained report of a run, or a bundle's acceptance report (HTML or PDF), for the inspector."""
    from pathlib import Path

    from .records.outputs import check_outputs
    from .records.store import Store
    from .reports import build_bundle_report, html_document, write_report_pdf
    from .reports.content import build_report

    path = Path(output or f"xcal-{run_id}.{fmt}")
    with Store(obj.db) as store:
        check_outputs([path], store.path, force=force)
        from .program.actions import report_rows

        def stored(rid: str) -> Any:
            run = store.get_run(rid)
            run.corrective_actions = report_rows(store, rid)      # read by reports/signoff.py
            return run

        if store.is_bundle(run_id):
            bundle = store.get_bundle(run_id)
            runs = {rid: stored(rid) for rid in bundle.run_ids()}
            built = build_bundle_report(bundle, runs, {rid: store.signatures(rid) for rid in runs})
        else:
            built = build_report(stored(run_id), store.signatures(run_id))
    if fmt == "pdf":
        write_report_pdf(built, path)
    else:
        try:
            path.write_text(html_document(built), encoding="utf-8")
        except OSError as exc:
            from .errors import RecordError

            raise RecordError(f"cannot write the report {path}: {exc.strerror}",
                              fix="choose a folder you can write to with -o") from None
    click.echo(str(path))
    return 0


def _year_option(year: int | None) -> int:
    import datetime as dt

    return year if year is not None else dt.date.today().year


@main.command("annual-report")
@click.option("--room", required=True, help="Room id.")
@click.option("--year", type=click.IntRange(1900, 9999), help="Calendar year (default: this year).")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="pdf", show_default=True)
@click.option("-o", "--output", type=click.Path(), help="Output file (default: xcal-room-N-YEAR.pdf or .html).")
@click.option("--include-personal", is_flag=True,
              help="Name incident people and add the badge doses (personal data; left out by default).")
@click.option("--force", is_flag=True, help="Replace an existing file that xcal did not write (never a record store).")
@click.pass_obj
@_guard
def annual_report(obj: Context, room: str, year: int | None, fmt: str, output: str | None, include_personal: bool,
                  force: bool) -> int:
    """A room's annual QC report: every required test and its verdicts, actions and retests, service, PM,
    instruments and calibrations used, incidents, and signature lines (`xcal report RUN_ID` reports one run)."""
    from pathlib import Path

    from .records.outputs import check_outputs
    from .records.store import Store
    from .reports import html_document
    from .reports.annual import annual_data, build_annual_report, write_annual_pdf

    year = _year_option(year)
    site = obj.load_site()
    path = Path(output or f"xcal-room-{room}-{year}.{fmt}")
    with Store(obj.db) as store:
        check_outputs([path], store.path, force=force)
        built = build_annual_report(annual_data(store, site, room, year, include_personal))
    if fmt == "pdf":
        write_annual_pdf(built, path)
    else:
        try:
            path.write_text(html_document(built), encoding="utf-8")
        except OSError as exc:
            from .errors import RecordError

            raise RecordError(f"cannot write the report {path}: {exc.strerror}",
                              fix="choose a folder you can write to with -o") from None
    click.echo(str(path))
    return 0


@main.command()
@click.option("--room", required=True, help="Room id.")
@click.option("--year", type=click.IntRange(1900, 9999), help="Calendar year (default: this year).")
@click.option("-o", "--output", required=True, type=click.Path(), metavar="FILE.zip", help="The zip file to write.")
@click.option("--include-personal", is_flag=True,
              help="Name incident people and add the badge doses (personal data; left out by default).")
@click.option("--key", type=click.Path(), metavar="FILE", envvar="XCAL_SITE_KEY",
              help="The site key that signs the binder's anchor (default: site-key.pem in the user config folder, "
                   "made on first use).")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@click.option("--force", is_flag=True, help="Replace an existing file that xcal did not write (never a record store).")
@click.pass_obj
@_guard
def binder(obj: Context, room: str, year: int | None, output: str, include_personal: bool, key: str | None,
           as_json: bool, force: bool) -> int:
    """The inspection binder of a room and year (zip): annual report (PDF, HTML), each run's report, the audit
    chain's verify result and a signed anchor, instrument calibrations, open actions, a sha256 manifest."""
    from pathlib import Path

    from .records.outputs import check_outputs
    from .records.store import Store
    from .reports.binder import write_binder

    year = _year_option(year)
    site = obj.load_site()
    with Store(obj.db) as store:
        check_outputs([Path(output)], store.path, force=force)
        done = write_binder(store, site, output, room=room, year=year, personal=include_personal, key=key)
    lines = [f"{output}: {len(done['files'])} files for room {done['room']}, {year}; audit chain "
             f"{'verified' if done['verified'] else 'BROKEN'}"
             + ("; personal data included" if include_personal else "; personal data left out")]
    _emit(done, lines, as_json)
    return 0 if done["verified"] else 1


@main.group()
def demo() -> None:
    """The built-in demo site's SIMULATED history."""


@demo.command("history")
@click.option("--days", type=click.IntRange(14, 3660), default=365, show_default=True,
              help="How many days of history, ending yesterday.")
@click.option("--force", is_flag=True,
              help="Add the history to a store that already holds runs that are not demo history.")
@click.option("--json", "as_json", is_flag=True, help="Print what was added as JSON.")
@click.pass_obj
@_guard
def demo_history(obj: Context, days: int, force: bool, as_json: bool) -> int:
    """Fill the store with a year of SIMULATED demo history: the schedule's runs, a FAIL with its corrective
    action and passing retest, a tube replacement with its post-service tests, PM, parts, an incident and a
    quarter's badge reports. A store that already has demo history is left as it is. `xcal serve` does this by
    itself on a fresh install (the demo site, the default store, no run in it)."""
    from .demo.history import add_year_history
    from .records.store import Store

    site = obj.load_site()
    with Store(obj.db) as store:
        added = add_year_history(store, site, days=days, force=force)
    _emit({"added": added}, added, as_json)
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


def _public_key(public_key: str | None, key: str | None, *, needed: bool) -> Any:
    """The key anchors are checked with: --public-key FILE, else the site key if it exists (never created here);
    None when there is neither and `needed` is false."""
    from .records.anchor import key_path, site_key
    from .records.anchor import public_key as read_public

    if public_key:
        return read_public(public_key)
    if key_path(key).exists():
        return site_key(key, create=False).public
    if needed:
        from .errors import RecordError

        raise RecordError(f"checking an anchor needs the site's public key, and there is no site key at "
                          f"{key_path(key)}", fix="give --public-key FILE (the site prints it with "
                                                  "`xcal anchor --public-key`)")
    return None


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--anchor", "anchor_file", type=click.Path(), metavar="FILE",
              help="An anchor file (`xcal anchor --out FILE`): also catch a rewritten, cut-off or swapped store.")
@click.option("--public-key", type=click.Path(), metavar="FILE",
              help="The site's public key (`xcal anchor --public-key`); default: the site key's own.")
@click.option("--key", type=click.Path(), metavar="FILE", envvar="XCAL_SITE_KEY",
              help="The site key file (default: site-key.pem in the user config folder).")
@click.option("--since-anchor", is_flag=True,
              help="Check only what came after the newest anchor (fast; a full verify covers the rest).")
@click.pass_obj
@_guard
def verify(obj: Context, as_json: bool, anchor_file: str | None, public_key: str | None, key: str | None,
           since_anchor: bool) -> int:
    """Check the record store's audit chain (and anchors); name the first broken entry (exit 1 if any)."""
    import json

    from .records.anchor import read_anchor
    from .records.store import Store

    anchor = read_anchor(anchor_file) if anchor_file else None
    public = _public_key(public_key, key, needed=bool(anchor or since_anchor))
    if anchor is not None and not anchor.holds(public):
        from .errors import RecordError

        raise RecordError(f"the anchor file {anchor_file} does not hold: its signature is not that of the key "
                          f"{anchor.key}, or the file was edited", fix="check the anchor against the public key "
                          "of the site that made it (--public-key FILE), or get the filed copy again")
    with Store(obj.db) as store:
        report = store.verify(public=public, anchor=anchor, since_anchor=since_anchor)
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "entries": report.entries, "first_broken": report.first_broken,
                               "reason": report.reason, "head": report.head}, indent=2))
    elif report.ok:
        click.echo(f"ok: {report.reason}; chain head {report.head}")
    else:
        click.echo(f"BROKEN at entry {report.first_broken}: {report.reason}")
    return 0 if report.ok else 1


@main.command()
@click.option("--out", type=click.Path(), metavar="FILE", help="Write the anchor (or the public key) to FILE.")
@click.option("--public-key", "show_public", is_flag=True,
              help="Print the site's public key (PEM) for an inspector instead of making an anchor.")
@click.option("--key", type=click.Path(), metavar="FILE", envvar="XCAL_SITE_KEY",
              help="The site key file (default: site-key.pem in the user config folder, made on first use).")
@click.pass_obj
@_guard
def anchor(obj: Context, out: str | None, show_public: bool, key: str | None) -> int:
    """Sign the chain's head with the site key and print the anchor (JSON) for an inspector's file."""
    from pathlib import Path

    from .errors import RecordError
    from .records.anchor import anchor_store, site_key
    from .records.store import Store

    signer = site_key(key)
    if show_public:
        text = signer.public_pem()
    else:
        with Store(obj.db) as store:
            text = anchor_store(store, signer).to_json()
    if out:
        try:
            Path(out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise RecordError(f"cannot write {out}: {exc.strerror}", fix="give a path in a folder you can write") \
                from None
        click.echo(f"wrote {out} (key {signer.fingerprint})", err=True)
    else:
        click.echo(text, nl=False)
    return 0


@main.command()
@click.argument("run_id")
@click.option("--meaning", type=click.Choice(["performed", "reviewed", "approved"]), required=True)
@click.option("--user", "username", metavar="USERNAME",
              help="Your account: the signature names it and your full name; the password is asked (hidden).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (scripts).")
@click.option("--name", help="Only for a store without accounts: who signs, as typed (default: the OS user name).")
@click.pass_obj
@_guard
def sign(obj: Context, run_id: str, meaning: str, username: str | None, password_stdin: bool,
         name: str | None) -> int:
    """Sign a run: bind your account, the time and a meaning to the run's hash and the chain head, sealed by the
    site key. A store with accounts needs --user and its password; one without takes --name."""
    from .records.store import Store

    if username is None and password_stdin:
        raise _usage("--password-stdin is the password of --user USERNAME", "add --user USERNAME")
    if username is not None and name is not None:
        raise _usage("--name is for stores without accounts; with --user the signature prints the account's full "
                     "name", "leave out --name")
    with Store(obj.db) as store:
        if username is None:
            signature = store.sign(run_id, meaning, _person(name))
        else:
            from .records.accounts import sign_run

            signature = sign_run(store, run_id, meaning, username, _password(password_stdin, confirm=False))
    who = f"{signature.name} ({signature.account})" if signature.account else f"{signature.name} (no account)"
    click.echo(f"signed run {run_id}: {signature.meaning} by {who} at {signature.at}, "
               f"run hash {signature.run_hash}, made at entry {signature.seq - 1}, sealed with the site key")
    return 0


def _usage(message: str, fix: str) -> XcalError:
    from .errors import ConfigError

    return ConfigError(message, fix=fix)


def _password(from_stdin: bool, *, confirm: bool) -> str:
    """A password from the first line of stdin, or asked without echo (twice when `confirm`)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    try:
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=confirm, err=True))
    except click.exceptions.Abort:
        from .errors import AuthError

        raise AuthError("no password was given", fix="type it at the prompt, or pipe it in with --password-stdin") \
            from None


@main.command()
@click.argument("run_id")
@click.argument("reading_id", type=int)
@click.option("--value", required=True, help="The corrected value with its unit, e.g. '80.4 kV'.")
@click.option("--reason", required=True, help="Why the reading is corrected.")
@click.option("--user", "username", metavar="USERNAME",
              help="Your account (a store with accounts needs it): the password is asked (hidden).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (scripts).")
@click.option("--name", help="Only for a store without accounts: who corrects it.")
@click.pass_obj
@_guard
def correct(obj: Context, run_id: str, reading_id: int, value: str, reason: str, username: str | None,
            password_stdin: bool, name: str | None) -> int:
    """Record a correction of one reading; the original stays in the record. As with `sign`, a store with accounts
    needs --user and its password (the correction names the account); one without takes --name."""
    from .records.accounts import account_for_change
    from .records.corrections import correct_with_units
    from .records.store import Store

    if (username is None) == (name is None):
        raise _usage("a correction names who makes it: --user USERNAME (a store with accounts) or --name NAME "
                     "(a store without)", "give one of --user or --name")
    if username is None and password_stdin:
        raise _usage("--password-stdin is the password of --user USERNAME", "add --user USERNAME")
    with Store(obj.db) as store:
        if username is None:
            person = account_for_change(store, None, None, name=str(name))
        else:
            person = account_for_change(store, username, _password(password_stdin, confirm=False))
        correction = correct_with_units(store, run_id, reading_id, value, reason, person)
    click.echo(f"correction {correction} recorded for reading {reading_id} of run {run_id}")
    return 0


@main.command()
@click.option("--room", required=True, help="Room id.")
@click.option("--result", "result", required=True, help="Check id, e.g. kvp-accuracy or hvl-minimum.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also draw the trend against its limits to FILE: .png or .svg.")
@click.option("--all", "show_all", is_flag=True,
              help="List every point in the table, not only the latest (JSON and the plot always hold every one).")
@click.pass_obj
@_guard
def trend(obj: Context, room: str, result: str, as_json: bool, output: str | None, show_all: bool) -> int:
    """A check's values over time in a room, against its limits (a table; JSON with --json; a plot with -o)."""
    from .console import TREND_SHOWN, print_trend, print_trend_plot
    from .records.store import Store
    from .records.trend import latest
    from .records.trend import trend as query

    if output:
        from .reports.plots import file_format

        file_format(output)
    with Store(obj.db) as store:
        obj.check_room(store, room)
        if as_json or output or show_all:
            points = query(store, room, result)
            total = len(points)
        else:
            points, total = latest(store, room, result, TREND_SHOWN)
    print_trend(points, room, result, as_json=as_json, total=total)
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

    from .calibration import calibration_report, window_days
    from .console import print_site_instruments

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
    from .demo.wiring import start_simulator
    from .instruments import check_instrument, parse_options

    print_check(check_instrument(obj.site, instrument, driver, resource, timeout, parse_options(options),
                                 start_simulator))
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


@main.group()
def action() -> None:
    """Corrective actions: a failed run opens one; a later passing run of the same checks verifies it."""


def _action_out(obj: Context, call: Callable[[Any], Any], as_json: bool) -> int:
    """Open the store, apply `call` to it, print the action it gives back."""
    from .console import print_action
    from .records.store import Store

    with Store(obj.db) as store:
        result = call(store)
    print_action(result, as_json=as_json)
    return 0


def _person(name: str | None) -> str:
    import getpass

    return name or getpass.getuser()


@action.command("open")
@click.argument("run_id")
@click.option("--to", "assignee", help="Who is to act (default: unassigned).")
@click.option("--due", "due", metavar="YYYY-MM-DD", help="When it must be done (default: 30 days from today).")
@click.option("--name", help="Who opens it (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def action_open(obj: Context, run_id: str, assignee: str | None, due: str | None, name: str | None,
                as_json: bool) -> int:
    """Open a corrective action for the failed checks of RUN_ID (a FAIL opens one by itself)."""
    from .program.actions import open_action

    return _action_out(obj, lambda s: open_action(s, run_id, by=_person(name), assignee=assignee, due=due), as_json)


@action.command("list")
@click.option("--room", help="Only this room's actions.")
@click.option("--status", type=click.Choice(["open", "in progress", "resolved", "verified", "unverified"]),
              help="Only actions with this status (unverified: all but verified).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def action_list(obj: Context, room: str | None, status: str | None, as_json: bool) -> int:
    """Every corrective action, oldest first: what failed, who has it, when it is due, its status."""
    from .console import print_actions
    from .program.actions import load_actions
    from .records.store import Store

    with Store(obj.db) as store:
        obj.check_room(store, room)
        actions = [a for a in load_actions(store) if (room is None or a.room == str(room))
                   and (status is None or a.status == status or (status == "unverified" and a.status != "verified"))]
    print_actions(actions, as_json=as_json)
    return 0


@action.command("show")
@click.argument("action_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def action_show(obj: Context, action_id: str, as_json: bool) -> int:
    """One corrective action with what failed, by how much, and each entry that followed."""
    from .program.actions import get_action

    return _action_out(obj, lambda s: get_action(s, action_id), as_json)


@action.command("assign")
@click.argument("action_id")
@click.option("--to", "assignee", required=True, help="Who is to act.")
@click.option("--due", "due", metavar="YYYY-MM-DD", help="A new due date (default: unchanged).")
@click.option("--name", help="Who assigns it (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def action_assign(obj: Context, action_id: str, assignee: str, due: str | None, name: str | None,
                  as_json: bool) -> int:
    """Give a corrective action to a person (and a due date)."""
    from .program.actions import assign

    return _action_out(obj, lambda s: assign(s, action_id, assignee, due, _person(name)), as_json)


@action.command("progress")
@click.argument("action_id")
@click.option("--note", required=True, help="What is being done.")
@click.option("--name", help="Who records it (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def action_progress(obj: Context, action_id: str, note: str, name: str | None, as_json: bool) -> int:
    """Record work under way on a corrective action (status: in progress)."""
    from .program.actions import progress

    return _action_out(obj, lambda s: progress(s, action_id, note, _person(name)), as_json)


@action.command("resolve")
@click.argument("action_id")
@click.option("--done", required=True, help="What was done to correct the fault.")
@click.option("--retest", "retest_run", metavar="RUN_ID", help="The passing retest run (same procedure, same room, "
              "later); without it the next passing run verifies the action.")
@click.option("--reason", help="Why this resolution replaces an earlier one.")
@click.option("--name", help="Who resolved it (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def action_resolve(obj: Context, action_id: str, done: str, retest_run: str | None, reason: str | None,
                   name: str | None, as_json: bool) -> int:
    """Record what was done; a passing retest verifies the action."""
    from .program.actions import resolve

    return _action_out(obj, lambda s: resolve(s, action_id, done, _person(name), retest_run, reason), as_json)


@main.group()
def dicom() -> None:
    """DICOM: connectivity checks of the PACS and modalities, and a storage SCP (needs the `dicom` extra)."""


@dicom.command("check")
@click.option("--room", help="Only this room's modality (and the PACS).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds to wait for each answer.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_obj
@_guard
def dicom_check(obj: Context, room: str | None, timeout_s: float, as_json: bool) -> int:
    """Associate with each node, C-ECHO it, C-STORE a QC test object to the PACS; times in ms. Exit 1 on a failure."""
    from .dicom.checks import check_site

    site = obj.load_site()
    if site.is_demo:
        click.echo(DEMO_NOTE, err=True)
    serve: Any = None
    if site.dicom is not None and (site.dicom.pacs is not None and site.dicom.pacs.simulated
                                   or any(n.simulated for n in site.dicom.modalities.values())):
        from .simulators.pacs import serve_simulated_nodes

        serve = serve_simulated_nodes
    results = check_site(site.dicom, room, site.path, timeout_s=timeout_s, serve_simulated=serve)
    if as_json:
        import json

        click.echo(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        for r in results:
            ms = f"{r.ms:8.1f} ms" if r.ms is not None else " " * 11
            click.echo(f"{'ok  ' if r.ok else 'FAIL'} {r.node:<26} {r.step:<9} {ms}  {r.message}")
            if r.fix:
                click.echo(f"{'':5}fix: {r.fix}")
    return 0 if all(r.ok for r in results) else 1


@dicom.command("receive")
@click.option("--folder", type=click.Path(file_okay=False), default="xcal-received", show_default=True,
              help="Where to file the images: one folder per room, and unmatched/.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; loopback by default, 0.0.0.0 to accept from the network.")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: the site's `dicom: port`).")
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many objects.")
@click.pass_obj
@_guard
def dicom_receive(obj: Context, folder: str, host: str, port: int | None, count: int | None) -> int:
    """Run a storage SCP with the site's AE title and file each image received by room; Ctrl-C stops it."""
    from .dicom.receiver import serve_until

    site = obj.load_site()
    if site.is_demo:
        click.echo(DEMO_NOTE, err=True)

    def received(item: Any) -> None:
        where = f"room {item.room} (by {item.matched_on})" if item.room else "unmatched (no room matches)"
        click.echo(f"received {item.path} from {item.calling_ae}: {where}")

    def listening(receiver: Any) -> None:
        click.echo(f"listening on {receiver.host}:{receiver.port} as {receiver.settings.ae_title}; filing into "
                   f"{folder}", err=True)

    total = serve_until(site.dicom, site.path, folder, host=host, port=port, count=count, on_received=received,
                        on_listening=listening)
    click.echo(f"stopped after {total} objects", err=True)
    return 0


@main.group()
def service() -> None:
    """Service events: what a service visit did to a room, and the tests it makes due at once."""


@service.command("record")
@click.option("--room", required=True, help="Room id.")
@click.option("--component", required=True, help="What was worked on: generator, tube, collimator, detector...")
@click.option("--work", required=True, type=click.Choice(["replaced", "adjusted", "repaired", "major-repair"]),
              help="What was done to it (chooses the post-service rule).")
@click.option("--vendor", required=True, help="Who serviced it: the company, or 'in-house'.")
@click.option("--engineer", required=True, help="The service engineer's name.")
@click.option("--down-from", "down_from", required=True, metavar="WHEN",
              help="Downtime start, YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC unless an offset is given).")
@click.option("--down-to", "down_to", required=True, metavar="WHEN", help="Downtime end (back in clinical use).")
@click.option("--done", required=True, help="The work done, in words.")
@click.option("--part", "parts", multiple=True, metavar="TEXT", help="A part used (repeat for each).")
@click.option("--use-part", "stock_parts", multiple=True, metavar="PART[:QTY]",
              help="A part taken from the parts inventory (repeat for each); deducted from stock with the event.")
@click.option("--document", "documents", multiple=True, type=click.Path(), metavar="FILE",
              help="The service report file (repeat for each); kept by its sha256.")
@click.option("--name", help="Who records it (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def service_record(obj: Context, room: str, component: str, work: str, vendor: str, engineer: str, down_from: str,
                   down_to: str, done: str, parts: tuple[str, ...], stock_parts: tuple[str, ...],
                   documents: tuple[str, ...], name: str | None, as_json: bool) -> int:
    """Record a service event; the procedures its work invalidates become due in `xcal due` at once."""
    from .console import print_service
    from .program.service import record_service
    from .records.store import Store

    site = obj.load_site()
    with Store(obj.db) as store:
        event = record_service(store, site, room=room, component=component, work=work, vendor=vendor,
                               engineer=engineer, down_from=down_from, down_to=down_to, done=done,
                               parts=list(parts), documents=list(documents), by=_person(name),
                               stock_parts=list(stock_parts))
    print_service(event, as_json=as_json)
    return 0


@service.command("list")
@click.option("--room", help="Only this room's service events.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def service_list(obj: Context, room: str | None, as_json: bool) -> int:
    """Every service event, oldest first, with the tests it made due and which are still due."""
    from .console import print_services
    from .program.service import load_services, outstanding
    from .records.store import Store

    with Store(obj.db) as store:
        obj.check_room(store, room)
        events = [{**s, "still_due": outstanding(store, s)} for s in load_services(store)
                  if room is None or s["room"] == str(room)]
    print_services(events, as_json=as_json)
    return 0


@service.command("show")
@click.argument("service_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def service_show(obj: Context, service_id: str, as_json: bool) -> int:
    """One service event: the visit, parts, documents with their sha256, and the tests still due after it."""
    from .console import print_service
    from .program.service import get_service, outstanding
    from .records.store import Store

    with Store(obj.db) as store:
        event = get_service(store, service_id)
        event = {**event, "still_due": outstanding(store, event)}
    print_service(event, as_json=as_json)
    return 0


@service.command("rules")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_guard
def service_rules(as_json: bool) -> int:
    """The post-service rules: component and work -> the procedures made due, each with its source."""
    from .console import print_service_rules
    from .program.service import load_rules

    print_service_rules(load_rules(), as_json=as_json)
    return 0


@dicom.command("detector")
@click.argument("flat", type=click.Path(exists=True, dir_okay=False))
@click.option("--dark", type=click.Path(exists=True, dir_okay=False), help="A dark image: its mean is the offset.")
@click.option("--offset", type=float, help="The detector's offset in pixel values (instead of --dark).")
@click.option("--air-kerma", help="Air kerma measured at the detector for this image, e.g. '2.5 µGy': checks the EI.")
@click.option("--grid", type=click.IntRange(2, 20), default=5, show_default=True, help="ROIs per side.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_guard
def dicom_detector(flat: str, dark: str | None, offset: float | None, air_kerma: str | None, grid: int,
                   as_json: bool) -> int:
    """Detector QC numbers of a flat-field DX image: SNR, uniformity, defects, EI accuracy (no verdict)."""
    from .dicom.assess import assess

    kerma = None
    if air_kerma is not None:
        from .errors import ConfigError
        from .units import parse_quantity

        try:
            kerma = parse_quantity(air_kerma, "air_kerma")
        except ValueError as exc:
            raise ConfigError(f"--air-kerma: {exc}",
                              fix="write it with its unit, e.g. --air-kerma '2.5 µGy'") from None
    result = assess(flat, dark=dark, offset=offset, air_kerma=kerma, grid=grid)
    if as_json:
        import json

        click.echo(json.dumps(result.as_dict(), indent=2))
        return 0
    tags = (f"EI {result.exposure_index:g}, EI_T {result.target_exposure_index:g}, DI {result.deviation_index:+.2f}"
            if result.exposure_index is not None and result.target_exposure_index is not None
            and result.deviation_index is not None else "no exposure index tags")
    uniformity = (f"non-uniformity on a {grid} × {grid} ROI grid: global {100 * result.global_nonuniformity:.2f} %, "
                  f"local {100 * result.local_nonuniformity:.2f} %")
    found = (f"defective pixels {result.defective_pixels}; dead rows {list(result.dead_rows) or 'none'}; "
             f"dead columns {list(result.dead_columns) or 'none'}")
    lines = [f"{result.source}: {tags}", f"offset {result.offset:.1f} ({result.offset_from})",
             f"SNR (central ROI) {result.snr:.1f}", uniformity, found]
    if result.ei_error is not None:
        lines.append(f"EI accuracy: expected {result.expected_exposure_index:.1f} from {air_kerma}, "
                     f"error {100 * result.ei_error:+.1f} %")
    click.echo("\n".join(lines))
    return 0


@dicom.command("simulate-detector")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="The DX file to write.")
@click.option("--air-kerma", default="2.5 µGy", show_default=True, help="Air kerma at the detector.")
@click.option("--room", help="Use this room's simulated modality: its station name, serial and detector faults.")
@click.option("--technique", metavar="'KV MA MS'", help="With --room: fire the room's simulated X-ray tube at this "
              "technique, e.g. '70 kV 10 mA 5 ms', and image the air kerma it delivers (instead of --air-kerma).")
@click.option("--sid", default="100 cm", show_default=True, help="Source-to-detector distance for --technique.")
@click.option("--dark", is_flag=True, help="A dark image (no exposure) instead of a flat field.")
@click.option("--fault", "faults", multiple=True,
              type=click.Choice(["dead-pixels", "dead-line", "gain-drift", "ei-25", "lag"]),
              help="A detector fault (repeat for several), added to the room's.")
@click.option("--presentation", is_flag=True, help="DX For Presentation instead of For Processing.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the image noise.")
@click.option("--force", is_flag=True, help="Replace an existing file.")
@click.pass_obj
@_guard
def dicom_simulate_detector(obj: Context, output: str, air_kerma: str, room: str | None, technique: str | None,
                            sid: str, dark: bool, faults: tuple[str, ...], presentation: bool, seed: int,
                            force: bool) -> int:
    """Write a SIMULATED DR detector image (flat field or dark) as a DICOM DX file, with faults on demand."""
    from pathlib import Path

    from .dicom import require
    from .dicom.objects import save
    from .errors import ConfigError
    from .simulators.detector import MAX_AIR_KERMA_UGY, air_kerma_ugy, expose_detector, technique_of, with_faults

    require()
    if Path(output).exists() and not force:
        raise ConfigError(f"{output} already exists", fix="give another -o, or --force to replace it")
    names: dict[str, Any] = {}
    all_faults = list(faults)
    site = obj.load_site() if room is not None else None
    if site is not None:
        node = site.dicom.modalities.get(room) if site.dicom is not None else None
        if node is None or not node.simulated:
            raise ConfigError(f"{site.path}: room '{room}' has no simulated DICOM modality in the dicom section",
                              fix="leave out --room, or add the room under `dicom: modalities:` with "
                                  "`host: simulated`")
        names = {"station_name": node.station_name or "SIMDR", "device_serial": node.device_serial or "SIM-DR-0001"}
        all_faults = list(dict.fromkeys([*node.detector_faults, *faults]))
    detector = with_faults(all_faults, **names)
    if technique is not None:
        if site is None or dark:
            raise ConfigError("--technique fires a room's tube: it needs --room and no --dark",
                              fix="add --room N, or give --air-kerma instead")
        from .demo.wiring import room_model

        kv, ma, ms, sid_cm = technique_of(technique, sid)
        exposure, ds = expose_detector(room_model(site.room(room)), detector, kv, ma, ms, sid_cm=sid_cm,
                                       for_processing=not presentation)
        kerma = exposure.air_kerma_ugy
        if kerma > MAX_AIR_KERMA_UGY:
            raise ConfigError(f"{technique} at {sid} delivers {kerma:.4g} µGy at the detector, which saturates the "
                              f"simulated detector (up to {MAX_AIR_KERMA_UGY:g} µGy)",
                              fix="lower the mA or the time, or raise --sid")
        what = f"{technique} at {sid}: air kerma at the detector {kerma:.4g} µGy"
    else:
        kerma = 0.0 if dark else air_kerma_ugy(air_kerma)
        ds = detector.dx(kerma, seed=seed, for_processing=not presentation)
        what = "dark image" if dark else f"flat field at {kerma:g} µGy"
    save(ds, output)
    ei = f", EI {float(ds.ExposureIndex):.1f}" if "ExposureIndex" in ds else ""
    click.echo(f"wrote {output}: SIMULATED DX {ds.PresentationIntentType.lower()} {what}{ei}"
               f"{', faults: ' + ', '.join(all_faults) if all_faults else ''}")
    return 0


@dicom.command("dose")
@click.argument("path", type=click.Path(exists=True))
@click.option("--run", "run_id", help="Compare the reported DAP with this run's DAP meter readings (dap-accuracy).")
@click.option("--record", is_flag=True, help="Keep each report's dose summary in the store (once per report).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def dicom_dose(obj: Context, path: str, run_id: str | None, record: bool, as_json: bool) -> int:
    """Dose summary of X-Ray Radiation Dose SRs (a file, or every one in a folder): totals and each event."""
    from .dicom import require
    from .dicom.rdsr import read_reports, record_reports, summaries, summary_lines

    require()
    reports = read_reports(path)
    found = summaries(reports)
    if run_id is not None or record:
        from .records.store import Store

        with Store(obj.db) as store:
            found = summaries(reports, store.get_run(run_id)) if run_id is not None else found
            found = record_reports(store, found) if record else found
    if as_json:
        import json

        click.echo(json.dumps(found, indent=2))
    else:
        click.echo("\n".join(line for summary in found for line in summary_lines(summary)))
    return 0


@dicom.command("simulate-dose")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="The RDSR file to write.")
@click.option("--room", required=True, help="The room whose simulated tube fires (its site `simulation:`).")
@click.option("--technique", default="80 kV 200 mA 100 ms", show_default=True, help="kV, mA and time.")
@click.option("--sid", default="100 cm", show_default=True, help="Distance at which the air kerma is taken.")
@click.option("--exposures", type=click.IntRange(1, 100), default=1, show_default=True, help="How many exposures.")
@click.option("--force", is_flag=True, help="Replace an existing file.")
@click.pass_obj
@_guard
def dicom_simulate_dose(obj: Context, output: str, room: str, technique: str, sid: str, exposures: int,
                        force: bool) -> int:
    """Write the SIMULATED dose report (RDSR) of a room's simulated modality for exposures of its tube."""
    from pathlib import Path

    from .demo.wiring import room_model
    from .dicom import require
    from .dicom.objects import save
    from .errors import ConfigError
    from .simulators.detector import DetectorModel, SimulatedModality, technique_of

    require()
    if Path(output).exists() and not force:
        raise ConfigError(f"{output} already exists", fix="give another -o, or --force to replace it")
    site = obj.load_site()
    node = site.dicom.modalities.get(room) if site.dicom is not None else None
    detector = DetectorModel(station_name=(node.station_name if node else "") or "SIMDR",
                             device_serial=(node.device_serial if node else "") or "SIM-DR-0001")
    kv, ma, ms, sid_cm = technique_of(technique, sid)
    model = room_model(site.room(room))
    modality = SimulatedModality(detector, node.ae_title if node is not None else "SIMDR", None)
    model.subscribe(modality.on_exposure)
    for _ in range(exposures):
        model.fire(kv, ma, ms, distance_cm=sid_cm)
    save(modality.dose_report(), output)
    click.echo(f"wrote {output}: SIMULATED X-Ray Radiation Dose SR of {exposures} exposure(s) at {technique}, "
               f"room {room}")
    return 0


@dicom.command("worklist")
@click.option("--room", required=True, help="The room whose modality's scheduled steps to list.")
@click.option("--date", default="", help="Scheduled start date YYYYMMDD or range YYYYMMDD-YYYYMMDD (default: any).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds to wait for each answer.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def dicom_worklist(obj: Context, room: str, date: str, timeout_s: float, as_json: bool) -> int:
    """Ask the PACS for the modality worklist of a room's modality (C-FIND); patient names are not asked for."""
    from .dicom.worklist import room_worklist

    site = obj.load_site()
    if site.is_demo:
        click.echo(DEMO_NOTE, err=True)
    serve: Any = None
    if site.dicom is not None and site.dicom.pacs is not None and site.dicom.pacs.simulated:
        from .simulators.pacs import serve_simulated_nodes

        serve = serve_simulated_nodes
    items = room_worklist(site.dicom, room, site.path, date=date, timeout_s=timeout_s, serve_simulated=serve)
    if as_json:
        import json

        click.echo(json.dumps([i.__dict__ for i in items], indent=2))
        return 0
    for i in items:
        click.echo(f"{i.date} {i.time[:4]}  {i.step_id:<10} {i.modality:<3} {i.station_ae:<16} {i.accession:<10} "
                   f"{i.patient_id:<10} {i.description}")
    click.echo(f"{len(items)} scheduled step{'' if len(items) == 1 else 's'} for room {room}", err=True)
    return 0


@main.group()
def pm() -> None:
    """Preventive maintenance: the site file's `maintenance:` schedule, and a log of each PM done."""


@pm.command("log")
@click.option("--room", required=True, help="Room id.")
@click.option("--component", required=True, help="The component maintained, as the site's `maintenance:` names it.")
@click.option("--done", required=True, help="The work done, in words.")
@click.option("--engineer", required=True, help="Who did it.")
@click.option("--vendor", required=True, help="The company, or 'in-house'.")
@click.option("--date", "on", metavar="YYYY-MM-DD", help="The day it was done (default: today).")
@click.option("--part", "parts", multiple=True, metavar="TEXT", help="A part used (repeat for each).")
@click.option("--name", help="Who records it (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def pm_log(obj: Context, room: str, component: str, done: str, engineer: str, vendor: str, on: str | None,
           parts: tuple[str, ...], name: str | None, as_json: bool) -> int:
    """Record a preventive maintenance done; `xcal due` counts the next one from its date."""
    from .console import print_pm_log
    from .program.pm import log_pm
    from .records.store import Store

    site = obj.load_site()
    with Store(obj.db) as store:
        entry = log_pm(store, site, room=room, component=component, done=done, engineer=engineer, vendor=vendor,
                       on=on, parts=list(parts), by=_person(name))
    print_pm_log([entry], as_json=as_json, one=True)
    return 0


@pm.command("list")
@click.option("--room", help="Only this room's PM.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def pm_list(obj: Context, room: str | None, as_json: bool) -> int:
    """Every PM logged, oldest first (what is due next: `xcal due`)."""
    from .console import print_pm_log
    from .program.pm import load_pm_log
    from .records.store import Store

    with Store(obj.db) as store:
        obj.check_room(store, room)
        log = [p for p in load_pm_log(store) if room is None or p["room"] == str(room)]
    print_pm_log(log, as_json=as_json)
    return 0


@main.group()
def parts() -> None:
    """Spare parts: received and used, each recorded; what is on hand is worked out from them."""


@parts.command("receive")
@click.option("--part", required=True, help="The part number.")
@click.option("--quantity", required=True, help="How many.")
@click.option("--description", help="What the part is (kept from its first receipt).")
@click.option("--minimum", help="The fewest to keep on hand; `xcal parts low` lists parts below it.")
@click.option("--name", help="Who records it (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def parts_receive(obj: Context, part: str, quantity: str, description: str | None, minimum: str | None,
                  name: str | None, as_json: bool) -> int:
    """Record parts received into stock."""
    from .console import print_parts
    from .program.parts import receive
    from .records.store import Store

    with Store(obj.db) as store:
        line = receive(store, part, quantity, description, _person(name), minimum)
    print_parts([line], as_json=as_json, one=True)
    return 0


@parts.command("use")
@click.option("--part", required=True, help="The part number.")
@click.option("--quantity", required=True, help="How many.")
@click.option("--room", help="The room it went into.")
@click.option("--service", "service_id", metavar="SE-N", help="The service event it was used in.")
@click.option("--name", help="Who records it (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def parts_use(obj: Context, part: str, quantity: str, room: str | None, service_id: str | None, name: str | None,
              as_json: bool) -> int:
    """Record parts taken from stock; refused when fewer are on hand."""
    from .console import print_parts
    from .program.parts import use
    from .records.store import Store

    if room is not None:
        room = obj.load_site().room(room).id
    with Store(obj.db) as store:
        line = use(store, part, quantity, room, service_id, _person(name))
    print_parts([line], as_json=as_json, one=True)
    return 0


@parts.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def parts_list(obj: Context, as_json: bool) -> int:
    """Every part with how many were received, used and are on hand."""
    from .console import print_parts
    from .program.parts import inventory
    from .records.store import Store

    with Store(obj.db) as store:
        lines = inventory(store)
    print_parts(lines, as_json=as_json)
    return 0


@parts.command("low")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def parts_low(obj: Context, as_json: bool) -> int:
    """The parts with fewer on hand than their minimum stock: what to order."""
    from .program.parts import low_stock
    from .records.store import Store

    with Store(obj.db) as store:
        lines = low_stock(store)
    _emit(lines, [f"LOW {p['part']}{' (' + p['description'] + ')' if p['description'] else ''}: {p['on_hand']} on "
                  f"hand, minimum {p['minimum']}" for p in lines] or ["No part is below its minimum stock."], as_json)
    return 0


@parts.command("show")
@click.argument("part")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def parts_show(obj: Context, part: str, as_json: bool) -> int:
    """One part's history: each receipt and each use, with the room and service event it went to."""
    from .program.parts import history
    from .records.store import Store

    with Store(obj.db) as store:
        rows = history(store, part)
    _emit(rows, [f"{r['at'][:16]} {r['kind']} {r['quantity']}" + (f" into room {r['room']}" if r.get("room") else "")
                 + (f" in service {r['service']}" if r.get("service") else "") + f" ({r['by']})" for r in rows],
          as_json)
    return 0


def _emit(doc: Any, lines: list[str], as_json: bool) -> None:
    """Print `doc` as JSON, or the text `lines`."""
    import json

    click.echo(json.dumps(doc, indent=2, ensure_ascii=False) if as_json else "\n".join(lines))


@main.group()
def incident() -> None:
    """Incidents: what happened, who was exposed and how much, the actions, and the notification it calls for."""


def _incident_out(incident_doc: Any, as_json: bool) -> int:
    from .program.incidents import incident_lines

    _emit(incident_doc.to_dict(), incident_lines(incident_doc), as_json)
    return 0


def _notified(to: str | None, at: str | None, ref: str | None) -> Any:
    from .program.incidents import parse_notification

    return parse_notification(to, at, ref)


_INCIDENT_OPTIONS = [
    click.option("--person", "people", multiple=True, metavar="'NAME; tede=DOSE; lens=DOSE; shallow=DOSE'",
                 help="A person involved with the estimated doses (each optional; repeat for each person)."),
    click.option("--action", "actions", multiple=True, metavar="CA-N", help="A linked corrective action (repeat)."),
    click.option("--notified", help="To whom the notification was made (e.g. 'NRC Operations Center')."),
    click.option("--notified-at", "notified_at", metavar="WHEN",
                 help="When it was made (YYYY-MM-DDTHH:MM, this computer's local time unless it ends in an offset "
                      "such as +01:00 or Z)."),
    click.option("--notified-ref", "notified_ref", help="Its reference (event number, letter)."),
    click.option("--name", help="Who records it (default: the OS user)."),
    click.option("--json", "as_json", is_flag=True, help="Print JSON."),
]


def _incident_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_INCIDENT_OPTIONS):
        func = option(func)
    return func


@incident.command("record")
@click.option("--date", "on", required=True, metavar="WHEN",
              help="When it happened, or was discovered if later (YYYY-MM-DD[THH:MM], local time unless it ends in "
                   "an offset); notification deadlines count from it.")
@click.option("--room", required=True, help="Room id.")
@click.option("--kind", type=click.Choice(["radiation", "equipment"]), required=True, help="What kind of incident.")
@click.option("--what", required=True, help="What happened, in words.")
@click.option("--immediate", required=True, help="The immediate actions taken.")
@click.option("--root-cause", "root_cause", default="", help="The root cause, when known (or later: update).")
@_incident_options
@click.pass_obj
@_guard
def incident_record(obj: Context, on: str, room: str, kind: str, what: str, immediate: str, root_cause: str,
                    people: tuple[str, ...], actions: tuple[str, ...], notified: str | None, notified_at: str | None,
                    notified_ref: str | None, name: str | None, as_json: bool) -> int:
    """Record an incident; its doses are compared with the 10 CFR 20.2202/20.2203 notification levels."""
    from .program.incidents import record_incident
    from .records.store import Store

    site = obj.load_site()
    with Store(obj.db) as store:
        found = record_incident(store, site, date=on, room=room, kind=kind, what=what, people=list(people),
                                immediate_actions=immediate, root_cause=root_cause, actions=list(actions),
                                notification=_notified(notified, notified_at, notified_ref), by=_person(name))
    return _incident_out(found, as_json)


@incident.command("update")
@click.argument("incident_id")
@click.option("--reason", required=True, help="Why the record changes (root cause found, dose re-estimated...).")
@click.option("--what", help="A corrected account of what happened.")
@click.option("--immediate", help="The immediate actions, corrected.")
@click.option("--root-cause", "root_cause", help="The root cause.")
@_incident_options
@click.pass_obj
@_guard
def incident_update(obj: Context, incident_id: str, reason: str, what: str | None, immediate: str | None,
                    root_cause: str | None, people: tuple[str, ...], actions: tuple[str, ...], notified: str | None,
                    notified_at: str | None, notified_ref: str | None, name: str | None, as_json: bool) -> int:
    """Add to an incident: root cause, linked actions, the notification made, revised doses (a new entry)."""
    from .program.incidents import update_incident
    from .records.store import Store

    with Store(obj.db) as store:
        found = update_incident(store, incident_id, reason=reason, by=_person(name), what=what,
                                immediate_actions=immediate, root_cause=root_cause, people=list(people),
                                actions=list(actions), notification=_notified(notified, notified_at, notified_ref))
    return _incident_out(found, as_json)


@incident.command("list")
@click.option("--room", help="Only this room's incidents.")
@click.option("--year", type=int, help="Only this year's incidents.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def incident_list(obj: Context, room: str | None, year: int | None, as_json: bool) -> int:
    """Every incident, oldest first, with the notification level its doses reach."""
    from .program.incidents import incident_summary
    from .records.store import Store

    with Store(obj.db) as store:
        obj.check_room(store, room)
        rows = incident_summary(store, room=room, year=year, personal=True)
    _emit(rows, [f"{r['incident_id']} {r['date']} room {r['room']} ({r['kind']}): {r['what']} — "
                 f"{(r['notification_level'] or {}).get('title', 'no notification level reached')}; "
                 f"{r['notification_due']}" for r in rows] or ["No incidents recorded."], as_json)
    return 0


@incident.command("show")
@click.argument("incident_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def incident_show(obj: Context, incident_id: str, as_json: bool) -> int:
    """One incident: people and doses, actions, root cause, the level reached and what it asks, the history."""
    from .program.incidents import get_incident
    from .records.store import Store

    with Store(obj.db) as store:
        found = get_incident(store, incident_id)
    return _incident_out(found, as_json)


@main.group()
def dosimetry() -> None:
    """Personnel dosimetry: badges, dose reports, and each person's doses against the limits and ALARA levels."""


@dosimetry.command("badge")
@click.option("--badge", required=True, help="The badge (dosimeter) id.")
@click.option("--person", required=True, help="Who wears it.")
@click.option("--location", required=True, type=click.Choice(["whole-body", "collar", "extremity", "lens"]),
              help="Where it is worn.")
@click.option("--declared-pregnant", "declared", metavar="YYYY-MM-DD", help="The day the wearer declared a "
              "pregnancy (10 CFR 20.1208 applies from then).")
@click.option("--pregnancy-ended", "ended", metavar="YYYY-MM-DD", help="The day the declared pregnancy ended.")
@click.option("--name", help="Who records it (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def dosimetry_badge(obj: Context, badge: str, person: str, location: str, declared: str | None, ended: str | None,
                    name: str | None, as_json: bool) -> int:
    """Issue a badge to a wearer, or change its wearer's details."""
    from .program.dosimetry import issue_badge
    from .records.store import Store

    with Store(obj.db) as store:
        row = issue_badge(store, badge=badge, person=person, location=location, declared_pregnant=declared,
                          pregnancy_ended=ended, by=_person(name))
    _emit(row, [f"badge {row['badge']}: {row['person']}, {row['location']}"
                + (f", declared pregnant {row['declared_on']}" if row["declared_pregnant"] else "")], as_json)
    return 0


@dosimetry.command("import")
@click.argument("file", type=click.Path())
@click.option("--columns", type=click.Path(), metavar="MAP.yaml", help="The vendor's column map (default: xcal's "
              "own columns: person,badge,location,period_start,period_end,hp10_mSv,hp007_mSv,lens_mSv).")
@click.option("--name", help="Who records it (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def dosimetry_import(obj: Context, file: str, columns: str | None, name: str | None, as_json: bool) -> int:
    """Import a badge report (CSV): every row checked first, then all recorded or none."""
    from .program.dose_import import import_report
    from .records.store import Store

    with Store(obj.db) as store:
        rows = import_report(store, file, columns=columns, by=_person(name))
    _emit(rows, [f"{len(rows)} dose rows recorded ({rows[0]['dose_id']} to {rows[-1]['dose_id']}) from {file}"],
          as_json)
    return 0


@dosimetry.command("record")
@click.option("--badge", required=True, help="The badge id.")
@click.option("--from", "start", required=True, metavar="YYYY-MM-DD", help="First day of the wear period.")
@click.option("--to", "end", required=True, metavar="YYYY-MM-DD", help="Last day of the wear period.")
@click.option("--hp10", metavar="DOSE", help="Deep dose Hp(10) with its unit, e.g. '0.3 mSv'.")
@click.option("--hp007", metavar="DOSE", help="Shallow dose Hp(0.07) with its unit.")
@click.option("--lens", metavar="DOSE", help="Lens dose Hp(3) with its unit.")
@click.option("--person", help="The wearer, for a badge not yet issued.")
@click.option("--location", type=click.Choice(["whole-body", "collar", "extremity", "lens"]),
              help="Where it is worn, for a badge not yet issued.")
@click.option("--supersedes", metavar="D-N", help="The dose row this corrected report replaces.")
@click.option("--reason", help="Why it is replaced (with --supersedes).")
@click.option("--name", help="Who records it (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def dosimetry_record(obj: Context, badge: str, start: str, end: str, hp10: str | None, hp007: str | None,
                     lens: str | None, person: str | None, location: str | None, supersedes: str | None,
                     reason: str | None, name: str | None, as_json: bool) -> int:
    """Enter one badge's dose for one wear period."""
    from .program.dosimetry import record_dose
    from .records.store import Store

    with Store(obj.db) as store:
        row = record_dose(store, badge=badge, period_start=start, period_end=end, tede=hp10, shallow=hp007, lens=lens,
                          person=person, location=location, supersedes=supersedes, reason=reason, by=_person(name))
    _emit(row, [f"{row['dose_id']}: badge {row['badge']} {row['period_start']} to {row['period_end']} recorded"],
          as_json)
    return 0


@dosimetry.command("list")
@click.option("--year", type=int, help="Only the wear periods ending in this year.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def dosimetry_list(obj: Context, year: int | None, as_json: bool) -> int:
    """The dose rows in force, with their ids (what `--supersedes` names)."""
    from .program.dosimetry import export_rows
    from .records.store import Store

    with Store(obj.db) as store:
        rows = export_rows(store, year=year, personal=True)
    from .program.doses import shown

    _emit(rows, [f"{r['dose_id']} {r['person']} {r['badge']} ({r['location']}) {r['period_start']} to "
                 f"{r['period_end']}: Hp(10) {shown(r['hp10_mSv'])}, Hp(0.07) {shown(r['hp007_mSv'])}, lens "
                 f"{shown(r['lens_mSv'])}" for r in rows] or ["No dose rows recorded."], as_json)
    return 0


@dosimetry.command("report")
@click.option("--year", type=int, help="The calendar year (default: this year).")
@click.option("--quarter", type=click.IntRange(1, 4), help="Only this quarter's levels; the year to its end.")
@click.option("--anonymous", is_flag=True, help="Name people 'wearer N' and leave badge ids out.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def dosimetry_report(obj: Context, year: int | None, quarter: int | None, anonymous: bool, as_json: bool) -> int:
    """Each person's doses against the annual limits and the quarterly ALARA levels, with what each flag asks."""
    import datetime as dt

    from .program.dosimetry import report, report_lines
    from .records.store import Store

    site = obj.load_site()
    with Store(obj.db) as store:
        doc = report(store, site, year=year or dt.date.today().year, quarter=quarter, anonymous=anonymous)
    _emit(doc, report_lines(doc), as_json)
    return 0


@dosimetry.command("export")
@click.option("-o", "--output", required=True, type=click.Path(), help="The file to write.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--year", type=int, help="Only the wear periods ending in this year.")
@click.option("--include-personal", is_flag=True, help="Keep names and badge ids (left out by default).")
@click.option("--force", is_flag=True, help="Overwrite a file that exists.")
@click.pass_obj
@_guard
def dosimetry_export(obj: Context, output: str, fmt: str, year: int | None, include_personal: bool,
                     force: bool) -> int:
    """Write the dose rows for someone outside the site: names and badge ids left out unless asked."""
    from .program.dosimetry import write_export
    from .records.store import Store

    with Store(obj.db) as store:
        written = write_export(store, output, fmt=fmt, year=year, personal=include_personal, force=force)
    click.echo(f"wrote {written}" + ("" if include_personal else " (names and badge ids left out)"))
    return 0


@main.command()
@click.option("--room", help="Only this room.")
@click.option("--from", "start", metavar="YYYY-MM-DD", help="First day of the period (default: 1 January).")
@click.option("--to", "end", metavar="YYYY-MM-DD", help="Last day of the period (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def kpi(obj: Context, room: str | None, start: str | None, end: str | None, as_json: bool) -> int:
    """Program KPIs: QC on time, actions open and overdue, time to close, downtime, PM compliance, calibrations."""
    from .program.kpi import compute_kpis, kpi_lines, period
    from .records.store import Store

    first, last = period(start, end)
    site = obj.load_site()
    with Store(obj.db) as store:
        found = compute_kpis(store, site, start=first, end=last, room=room)
    _emit(found.to_dict(), kpi_lines(found), as_json)
    return 0


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; loopback by default. Off loopback the session cookie is Secure: serve "
                   "over HTTPS (--certfile/--keyfile, or behind an HTTPS reverse proxy).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port.")
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM) for HTTPS.")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM) for HTTPS.")
@click.option("--secure-cookies", is_flag=True,
              help="Mark the session cookie Secure and send HSTS on loopback too: for serving behind an HTTPS "
                   "reverse proxy on this machine.")
@click.pass_obj
@_guard
def serve_web(obj: Context, host: str, port: int, certfile: str | None, keyfile: str | None,
              secure_cookies: bool) -> int:
    """Serve the QC program in a browser (accounts: `xcal users add`); Ctrl-C stops it.

    On a fresh install (the demo site, the default store, no run in it) the store is first filled with a year of
    SIMULATED demo history, as `xcal demo history` makes it, so every page has something to show."""
    import signal

    from .errors import ConfigError
    from .web import require

    require()
    from .web.app import serve as run_server

    if (certfile is None) != (keyfile is None):
        raise ConfigError("HTTPS needs both --certfile and --keyfile", fix="give both, or neither for plain HTTP")
    site = obj.load_site()
    if site.is_demo:
        click.echo(DEMO_NOTE, err=True)
        from .demo.history import seed_fresh_install
        seed_fresh_install(obj.db, site, lambda text: click.echo(text, err=True))
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)        # uvicorn stops gracefully, then hands the signal back: exit 0
    try:
        run_server(site, obj.db, host, port, certfile=certfile, keyfile=keyfile, secure_cookies=secure_cookies,
                   announce=lambda url: click.echo(f"serving {url} (Ctrl-C stops)", err=True))
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    return 0


@main.group()
def users() -> None:
    """Accounts of the record store: who may view, act, sign and manage accounts (see `xcal users list`).

    Roles: viewer (view), technician (view, act, sign 'performed'), physicist and rso (view, act, sign any
    meaning), admin (everything, accounts included). The first account must be an admin."""


def _account_out(account: Any, as_json: bool) -> int:
    from .console import print_accounts

    print_accounts([account], as_json=as_json, one=True)
    return 0


@users.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="The owner's full name, as signatures print it.")
@click.option("--role", required=True, type=click.Choice(["viewer", "technician", "physicist", "rso", "admin"]))
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--by", help="Who creates the account (default: the OS user name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def users_add(obj: Context, username: str, full_name: str, role: str, password_stdin: bool, by: str | None,
              as_json: bool) -> int:
    """Create an account; its password is asked twice (hidden)."""
    from .records.accounts import add_account
    from .records.store import Store

    password = _password(password_stdin, confirm=True)
    with Store(obj.db) as store:
        return _account_out(add_account(store, username, full_name, role, password, by=_person(by)), as_json)


@users.command("disable")
@click.argument("username")
@click.option("--by", help="Who disables it (default: the OS user name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def users_disable(obj: Context, username: str, by: str | None, as_json: bool) -> int:
    """Stop an account from signing in or signing; its username is never given to anyone else."""
    from .records.accounts import disable_account
    from .records.store import Store

    with Store(obj.db) as store:
        return _account_out(disable_account(store, username, by=_person(by)), as_json)


@users.command("enable")
@click.argument("username")
@click.option("--by", help="Who enables it (default: the OS user name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def users_enable(obj: Context, username: str, by: str | None, as_json: bool) -> int:
    """Let a disabled account sign in again."""
    from .records.accounts import enable_account
    from .records.store import Store

    with Store(obj.db) as store:
        return _account_out(enable_account(store, username, by=_person(by)), as_json)


@users.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice(["viewer", "technician", "physicist", "rso", "admin"]))
@click.option("--by", help="Who changes it (default: the OS user name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def users_role(obj: Context, username: str, role: str, by: str | None, as_json: bool) -> int:
    """Give an account another role."""
    from .records.accounts import set_role
    from .records.store import Store

    with Store(obj.db) as store:
        return _account_out(set_role(store, username, role, by=_person(by)), as_json)


@users.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of stdin.")
@click.option("--by", help="Who sets it (default: the OS user name).")
@click.pass_obj
@_guard
def users_passwd(obj: Context, username: str, password_stdin: bool, by: str | None) -> int:
    """Set a new password for an account; asked twice (hidden). Set by anyone but the account itself (--by other
    than USERNAME), it is temporary: the account cannot sign until its owner sets their own (the web's 'Change my
    password', or this command with --by USERNAME)."""
    from .records.accounts import set_password
    from .records.store import Store

    password = _password(password_stdin, confirm=True)
    who = _person(by)
    temporary = who.strip().lower() != username.strip().lower()
    with Store(obj.db) as store:
        set_password(store, username, password, by=who, temporary=temporary)
    click.echo(f"password of {username.strip().lower()} set" + (" (temporary: its owner must set their own before "
                                                                 "signing)" if temporary else ""))
    return 0


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@_guard
def users_list(obj: Context, as_json: bool) -> int:
    """Every account with its full name, role, permissions and whether it is active."""
    from .console import print_accounts
    from .records.accounts import list_accounts
    from .records.store import Store

    with Store(obj.db) as store:
        print_accounts(list_accounts(store), as_json=as_json)
    return 0
