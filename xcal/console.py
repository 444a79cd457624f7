"""What the technician sees: live readings, a progress display, the verdict table, history listings."""

from __future__ import annotations

import contextlib
import json
import math
import re
from typing import Any, Iterator

from .procedures.runner import RunObserver
from .verdict import console_style

_READING_LABELS = (("kvp_ppv", "PPV"), ("kvp_max", "max"), ("kvp_avg", "avg"), ("exposure_time", "t"),
                   ("air_kerma", "K"), ("air_kerma_rate", "K rate"), ("charge", "Q"), ("dap", "DAP"),
                   ("dose_rate", "H* rate"), ("exposure_rate", "X rate"), ("count_rate", "counts"))
_STATION_NAMES = ("point", "position", "scale", "mode")
"""Text settings that name a station better than its number (a survey point, a leakage position...)."""


def _station_cell(c: Any) -> str:
    if c.station is None:
        return c.where or "run"
    name = next((c.station.values[k] for k in _STATION_NAMES if k in c.station.values), "")
    return f"{c.where} {name}".strip()


def _console(to_stderr: bool = False) -> Any:
    """A rich console; when output is not a terminal (a log, a pipe, CI), lines are 120 columns, not 80."""
    from rich.console import Console

    console = Console(stderr=to_stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console = Console(stderr=to_stderr, highlight=False, soft_wrap=True, width=120)
    return console


def _fmt(q: Any, digits: int = 4) -> str:
    from .units import format_quantity

    return format_quantity(q, digits)


class RunConsole(RunObserver):
    """Prints a run as it goes; with --json everything human goes to stderr."""

    def __init__(self, to_stderr: bool = False) -> None:
        self.out = _console(to_stderr)
        self._progress: Any = None
        self._task: Any = None

    def note(self, text: str) -> None:
        self.out.print(text)

    @property
    def can_ask(self) -> bool:
        import sys

        return sys.stdin.isatty()

    def ask(self, name: str, prompt: str, unit: str) -> Any:
        """Ask at the terminal for a value with its unit (a bare number is taken in `unit`); None off a terminal.

        The question shows the unit (`?? Left edge: ... [cm]:`). An empty answer, one not starting with a number, one
        that cannot be read or one of the wrong kind is refused with what is expected, and the question is
        asked again until a value is given: nothing is ever recorded that was not typed. Ctrl-C
        (KeyboardInterrupt) and Ctrl-D (EOFError) reach the runner, which stops the run and keeps what was
        already entered.
        """
        import sys

        if not sys.stdin.isatty():
            return None
        question = _markup_free(f"?? {prompt} [{unit}]: ")
        while True:
            text = self.out.input(f"[cyan]{question}[/]").strip()
            value, problem = _typed_value(text, unit)
            if value is not None:
                return value
            self.out.print(f"[red]{_markup_free(problem)}[/]")

    def refused(self, text: str) -> None:
        self.out.print(f"[red]{_markup_free(text)}[/]")

    @contextlib.contextmanager
    def progress(self, plan: Any) -> Iterator[None]:
        """A live bar (on a terminal) of exposures done out of the total."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        if not self.out.is_terminal or not plan.total_exposures():
            yield  # in a log or pipe the [n/total] counter on each reading line shows the progress
            return
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=self.out, transient=True)
        self._task = self._progress.add_task("exposures", total=plan.total_exposures())
        with self._progress:
            yield

    def started(self, run_id: str, plan: Any, identities: dict[str, Any]) -> None:
        sim = " [bold magenta]SIMULATED[/]" if plan.simulated else ""
        self.out.print(f"[bold]{plan.procedure.title}[/] ({plan.procedure.id} {plan.procedure.version}) in "
                       f"{plan.room.label()} at {plan.site.name}{sim}")
        for role, inst in plan.instruments.items():
            ident = identities.get(role) or {}
            self.out.print(f"  {role}: {inst.make} {inst.model} serial {inst.serial}"
                           f" (reports {ident.get('model', '?')} {ident.get('serial', '?')}, firmware "
                           f"{ident.get('firmware', '?')}), calibration due {inst.calibration.due}")
        if plan.item is not None:
            self.out.print(f"  item: {plan.item.describe()}")
        if plan.calibration_override:
            self.out.print(f"  [yellow]calibration expired for {', '.join(plan.expired_calibration)}; "
                           f"proceeding because: {plan.calibration_override}[/]")
        self.out.print(f"  run {run_id}")

    def prompt(self, text: str) -> None:
        self.out.print(f"[cyan]>> {text.strip()}[/]")

    def exposure(self, n: int, total: int, station: Any, repeat: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=f"{station.label()} #{repeat}")

    def reading(self, n: int, total: int, station: Any, repeat: int, values: dict[str, dict[str, Any]]) -> None:
        parts = []
        for vals in values.values():
            for key, label in _READING_LABELS:
                if key in vals:
                    parts.append(f"{label} {_fmt(vals[key])}")
        width = len(str(total))
        self.out.print(f"[{n:>{width}}/{total}] {station.label():<22} #{repeat}  " + "  ".join(parts))
        if self._progress is not None:
            self._progress.advance(self._task)

    def bundle_finished(self, result: Any) -> None:
        self.out.print(_bundle_line(result))

    def stored(self, results: list[Any]) -> None:
        """The last line of a run: which records were made and where they are, so none is looked for elsewhere."""
        self.out.print(stored_line([r.run_id for r in results], results[-1].db_path), markup=False)

    def finished(self, result: Any) -> None:
        from rich.table import Table

        table = Table(title=result.plan.procedure.title, title_justify="left")
        named = len({c.title for c in result.checks}) > 1
        for col in ("Check",) * named + ("Station", "Reference", "Measured", "Error", "Limit", "Source", "Verdict"):
            table.add_column(col, overflow="fold")
        sources: dict[str, int] = {}
        for c in result.checks:
            check = (c.title,) * named
            if c.verdict == "INFO":
                table.add_row(*check, _station_cell(c), "" if named else c.title, _fmt(c.value, 5), "",
                              c.limit.text, "", f"[{console_style(c.verdict)}]{c.verdict}[/]")
                continue
            ref = sources.setdefault(_source_note(c.limit), len(sources) + 1)
            err = ""
            if c.deviation is not None:
                pct = c.deviation_percent
                err = f"{c.deviation.magnitude:+.2f} {c.deviation.units:~P}" + (f" ({pct:+.1f} %)" if pct is not None else "")
            at = f" at {_fmt(c.condition)}" if c.condition is not None else ""
            limit = c.limit.text + at + (f" = ±{_fmt(c.allowed, 3)}" if c.nominal is not None else
                                         f" = {_fmt(c.allowed, 3)}" if c.limit.tolerance.form.value == "table" else "")
            table.add_row(*check, _station_cell(c),
                          _fmt(c.nominal) if c.nominal is not None else "",
                          _fmt(c.value), err, limit, f"[{ref}] {c.limit.set_id}",
                          f"[{console_style(c.verdict)}]{c.verdict}[/]")
        self.out.print(table)
        for text, ref in sources.items():
            self.out.print(f"  \\[{ref}] {text}")
        failed = [c for c in result.checks if c.verdict == "FAIL"]
        marginal = [c for c in result.checks if c.verdict == "WARN"]
        sim = " (SIMULATED)" if result.plan.simulated else ""
        style = console_style(result.verdict)
        line = f"[{style}]VERDICT: {result.verdict}[/]{sim}  run {result.run_id}"
        if failed:
            line += " — failed: " + "; ".join(_failure(c) for c in failed)
        if marginal:
            line += f" — {len(marginal)} marginal (WARN)"
        self.out.print(line)


def stored_line(run_ids: list[str], location: str) -> str:
    """`Record RUN stored in LOCATION`: the store's file, or a PostgreSQL URL shown without its password."""
    from .records.backend import display_location

    noun = "Record" if len(run_ids) == 1 else "Records"
    return f"{noun} {', '.join(run_ids)} stored in {display_location(location)}"


def _markup_free(text: str) -> str:
    """`text` escaped for rich, so square brackets (`[cm]`, `[mm^2]`) are shown, not taken as markup."""
    from rich.markup import escape

    return escape(text)


def _typed_value(text: str, unit: str) -> tuple[Any, str]:
    """The quantity a technician typed for a value in `unit`, or None and what is wrong with the text.

    A bare number is taken in `unit`; a number with its own unit must be of the same kind. Text that does not
    start with a number (an empty line, a unit alone) is refused: pint would read `cm^2` alone as 1 cm², a
    value nobody typed.
    """
    from .units import Q_, parse_quantity

    example = f"e.g. 0.5 or 0.5 {unit}"
    if not text:
        return None, f"a value is needed: type a number in {unit} ({example}); Ctrl-C stops the run"
    if not re.match(r"[+-]?\.?[0-9]", text):
        return None, f"'{text}' does not start with a number: type a number in {unit} ({example})"
    if "," in text:
        return None, f"'{text}' has a comma: type the decimal point as a point ({example})"
    try:
        q = parse_quantity(f"{text} {unit}" if _is_plain_number(text) else text)
    except ValueError as exc:
        return None, f"{exc}; type a number in {unit} ({example})"
    if not math.isfinite(q.magnitude):
        return None, f"'{text}' is not a finite number: type a number in {unit} ({example})"
    if q.dimensionality != Q_(1, unit).dimensionality:
        return None, f"{text} is not in a unit like {unit}: type a number in {unit} ({example})"
    return q, ""


def _is_plain_number(text: str) -> bool:
    """Whether `text` is a number alone (`2.5`, `1.5e2`), to be taken in the unit asked for."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _source_note(limit: Any) -> str:
    """A limit's footnote: its set and source, and how far the number has been verified unless read in it."""
    mark = {"quoted": " (quoted, not re-read in the source)", "unverified": " (UNVERIFIED: check it in the source)"}
    return f"{limit.set_id}: {limit.source}{mark.get(limit.verification, '')}"


def _bundle_line(result: Any) -> str:
    failed = [r.plan.procedure.id for r in result.results if r.verdict == "FAIL"]
    sim = " (SIMULATED)" if any(r.plan.simulated for r in result.results) else ""
    line = (f"[{console_style(result.verdict)}]BUNDLE VERDICT: {result.verdict}[/]{sim}  {result.bundle.id}: "
            f"{len(result.results)} procedures, runs " + ", ".join(r.run_id for r in result.results))
    return line + (f" — failed: {', '.join(failed)}" if failed else "")


def _failure(c: Any) -> str:
    """One failed check in words: where, what was measured, what was allowed."""
    if c.where and "–" in c.where:
        where = f"stations {c.where}"
    else:
        where = f"station {c.station.index} ({c.station.label()})" if c.station else "the run"
    if c.deviation is not None:
        return (f"{c.title} at {where}: {_fmt(c.value)} is {c.deviation.magnitude:+.3g} {c.deviation.units:~P} "
                f"from {_fmt(c.nominal)}, outside {c.limit.text} = ±{_fmt(c.allowed, 3)}")
    at = f" at {_fmt(c.condition)}" if c.condition is not None else ""
    bound = f"{at} = {_fmt(c.allowed, 3)}" if c.limit.tolerance.form.value == "table" else ""
    return f"{c.title} for {where}: {_fmt(c.value)} is outside {c.limit.text}{bound}"


def print_procedure_list(procedures: list[Any]) -> None:
    from rich.table import Table

    table = Table()
    for col in ("Procedure", "Version", "Modality", "Title", "Instruments"):
        table.add_column(col)
    for p in procedures:
        uses = (", ".join(f"{role} ({cap})" for role, cap in p.instruments.items()) if hasattr(p, "instruments")
                else "bundle: " + ", ".join(p.procedures))
        table.add_row(p.id, p.version, p.modality, p.title, uses)
    _console().print(table)


def print_history(runs: list[Any], as_json: bool = False, room: str | None = None) -> None:
    """The runs as a table (or JSON), newest first; with no runs, says so (for `room` when one was asked)."""
    if as_json:
        print(json.dumps([{k: v for k, v in r.to_dict().items() if k not in ("readings", "checks", "snapshot")}
                          for r in runs], indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table()
    for col in ("Run", "Started (UTC)", "Room", "Procedure", "Operator", "Status", "Verdict", ""):
        table.add_column(col)
    for r in runs:
        verdict = r.verdict or "-"
        table.add_row(r.run_id, r.started_at[:19].replace("T", " "), r.room_id, f"{r.procedure_id} {r.procedure_version}",
                      r.operator, r.status, f"[{console_style(verdict)}]{verdict}[/]" if r.verdict else "-",
                      "SIMULATED" if r.simulated else "")
    out = _console()
    if not runs:
        out.print(f"No runs recorded in room {room} yet." if room is not None else "No runs recorded yet.")
        return
    out.print(table)


def print_run(run: Any, as_json: bool = False) -> None:
    if as_json:
        print(json.dumps(run.to_dict(), indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    out = _console()
    snap = run.snapshot
    out.print(f"[bold]Run {run.run_id}[/]{'  [bold magenta]SIMULATED[/]' if run.simulated else ''}")
    out.print(f"  procedure  {run.procedure_id} {run.procedure_version} ({run.procedure_title}), "
              f"sha256 {run.procedure_sha256[:16]}…")
    out.print(f"  site       {run.site}; room {run.room_id} {run.room_name}")
    out.print(f"  operator   {run.operator}; started {run.started_at}; finished {run.finished_at or '-'}")
    out.print(f"  status     {run.status}{(' — ' + run.status_note) if run.status_note else ''}; "
              f"verdict {run.verdict or '-'}")
    for role, inst in snap.get("instruments", {}).items():
        cal = inst.get("calibration", {})
        out.print(f"  {role}: {inst['make']} {inst['model']} serial {inst['serial']} at {inst['resource']}; "
                  f"calibration {cal.get('certificate')} {cal.get('date')}, due {cal.get('due')}")
    if snap.get("calibration_override"):
        out.print(f"  [yellow]calibration override: {snap['calibration_override']['reason']}[/]")
    readings = Table(title="Readings", title_justify="left")
    for col in ("Exposure", "Station", "Repeat", "Instrument", "Quantity", "Value", "Taken (UTC)"):
        readings.add_column(col)
    for r in run.readings:
        value = (f"{len(r.data['samples'])} samples @ {r.data['interval']} {r.data['interval_unit']}"
                 if r.quantity == "waveform" and r.data else f"{r.value:.5g} {r.unit}")
        readings.add_row(str(r.exposure), str(r.station), str(r.repeat), r.instrument_id, r.quantity, value,
                         r.taken_at[11:23])
    out.print(readings)
    if run.checks:
        checks = Table(title="Checks", title_justify="left")
        for col in ("Check", "Station", "Measured", "Set", "Limit", "Source", "Verdict"):
            checks.add_column(col, overflow="fold")
        for c in run.checks:
            checks.add_row(c.title, c.setting, f"{c.value:.5g} {c.unit}",
                           f"{c.nominal:.5g} {c.unit}" if c.nominal is not None else "", c.limit_text,
                           f"{c.source} [{c.limit_set}]", f"[{console_style(c.verdict)}]{c.verdict}[/]")
        out.print(checks)


def print_drivers(drivers: list[Any], as_json: bool = False) -> None:
    if as_json:
        print(json.dumps([{"name": d.name, "capabilities": list(d.capabilities),
                           "protocol_status": d.protocol_status, "transports": list(d.transports),
                           "evidence": d.evidence} for d in drivers], indent=2))
        return
    from rich.table import Table

    table = Table(caption="Evidence: the weakest of the driver's commands; `xcal instruments evidence DRIVER` "
                          "shows each command and its sources.")
    for col in ("Driver", "Capabilities", "Protocol", "Transports", "Evidence"):
        table.add_column(col)
    for d in drivers:
        table.add_row(d.name, ", ".join(d.capabilities), d.protocol_status, ", ".join(d.transports), d.evidence)
    _console().print(table)


def print_evidence(name: str, evidence: Any, as_json: bool = False) -> None:
    """One driver's evidence table: each command, the sources that show it and its level; then the disagreements."""
    if as_json:
        print(json.dumps({"driver": name, "level": evidence.level,
                          "sources": {k: {"title": s.title, "kind": s.kind, "where": s.where}
                                      for k, s in evidence.sources.items()},
                          "commands": [{"command": c.text, "sources": list(c.sources), "level": evidence.level_of(c),
                                        "note": c.note} for c in evidence.commands],
                          "disagreements": list(evidence.disagreements)}, indent=2, ensure_ascii=False))
        return
    from rich.markup import escape
    from rich.table import Table

    out = _console()
    out.print(f"{name}: evidence level {evidence.level}")
    table = Table()
    for col in ("Command", "Shown by", "Level", "Note"):
        table.add_column(col, overflow="fold")
    for command, sources, level, note in evidence.rows():
        table.add_row(escape(command), escape(sources), level, escape(note))
    out.print(table)
    for key, source in evidence.sources.items():
        out.print(f"  {escape(source.title)} ({source.kind}): {escape(source.where)}")
    if evidence.disagreements:
        out.print("Disagreements between sources, and what was chosen:")
        for line in evidence.disagreements:
            out.print(f"  - {escape(line)}")


def print_check(result: Any) -> None:
    out = _console()
    ident = result.identity
    out.print(f"{result.driver} at {result.resource}")
    out.print(f"  identity  {ident.make} {ident.model}, serial {ident.serial}, firmware {ident.firmware}")
    for name, value in result.reading.items():
        out.print(f"  {name:<9} {_fmt(value, 6) if hasattr(value, 'units') else value}")
    if result.status is not None:
        out.print(f"  state     {result.status} (a kVp meter has a reading only after an exposure)")


def print_procedure(proc: Any, plan: Any | None) -> None:
    """What a procedure does, step by step, and (with a plan) the limits that apply in the room."""
    from .procedures.model import EnterStep, ExposeStep, MeasureStep, PromptStep, fill_text

    out = _console()
    out.print(f"[bold]{proc.title}[/] ({proc.id} {proc.version}) — {proc.modality}")
    if proc.description:
        out.print(f"  {proc.description}")
    if hasattr(proc, "procedures"):
        out.print("  runs, in order: " + ", ".join(proc.procedures))
        for sub in getattr(plan, "plans", []):
            print_procedure(sub.procedure, sub)
        return
    out.print("  instruments: " + ", ".join(f"{role} ({cap})" for role, cap in proc.instruments.items()))
    params = plan.parameters if plan is not None else proc.parameters
    for name, value in params.items():
        if not isinstance(value, list):
            out.print(f"  {name} = {value if isinstance(value, int) else _fmt(value)}")
    for i, step in enumerate(proc.steps, 1):
        if isinstance(step, PromptStep):
            out.print(f"  step {i}: prompt — {fill_text(step.text, params).strip()}")
        elif isinstance(step, ExposeStep):
            stations = proc.stations(params, step.stations)
            repeats = params[step.repeats] if isinstance(step.repeats, str) else step.repeats
            reads = "; ".join(f"{role}: {', '.join(q)}" for role, q in step.reads.items())
            verb = "measure" if isinstance(step, MeasureStep) else "expose"
            out.print(f"  step {i}: {verb} {len(stations)} stations × {repeats} — read {reads}")
            for st in stations:
                out.print(f"      {st.index}. {st.label()}")
        elif isinstance(step, EnterStep):
            entries = "; ".join(f"{name} ({unit}): {prompt}" for name, (unit, prompt) in step.values.items())
            out.print(f"  step {i}: enter — {entries}")
    for r in proc.results:
        shown = f", reported{f' in {r.unit}' if r.unit else ''}" if r.report else ""
        out.print(f"  result {r.name} = {r.function}({r.of}) per {r.per}{shown}")
    for c in proc.checks:
        line = f"  check {c.id}: {c.result} against limit '{c.limit}'" + (f" (set value: {c.nominal})" if c.nominal else "")
        if c.only:
            line += " at stations with " + ", ".join(f"{k} = {v}" for k, v in c.only)
        out.print(line)
        if plan is not None:
            lim = plan.limits[c.limit]
            out.print(f"      in {plan.room.label()}: {lim.text} from {lim.set_id} — {lim.source} "
                      f"(verification: {lim.verification})")


def print_shielding(result: Any) -> None:
    out = _console()
    use = f", U = {result.use_factor:g}" if result.use_factor is not None else ""
    out.print(f"NCRP 147 {result.barrier} barrier, workload '{result.workload}': P = {_fmt(result.design_goal)}, "
              f"d = {_fmt(result.distance)}, K1 = {_fmt(result.k1)}, N = {_fmt(result.patients_per_week)}, "
              f"T = {result.occupancy:g}{use}")
    out.print(f"  required transmission B = {result.transmission.magnitude:.4g}")
    for t in result.thicknesses:
        pre = (f" ({_fmt(t.before_preshielding)} less the {result.preshielding} pre-shielding)"
               if result.preshielding else "")
        out.print(f"  {t.material:<9} {t.thickness.to('mm').magnitude:7.2f} mm{pre}   fit α={t.fit.alpha_per_mm:g}/mm "
                  f"β={t.fit.beta_per_mm:g}/mm γ={t.fit.gamma:g} (verification: {t.fit.verification})")


def print_trend(points: list[Any], room: str, result: str, as_json: bool = False) -> None:
    if as_json:
        print(json.dumps([p.record() for p in points], indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    out = _console()
    if not points:
        out.print(f"No complete runs in room {room} with a check '{result}'.")
        return
    table = Table(title=f"{result} in room {room}", title_justify="left")
    for col in ("Run", "Started (UTC)", "Where", "Value", "Limit", "Verdict", ""):
        table.add_column(col, overflow="fold")
    for p in points:
        table.add_row(p.run_id, p.started_at[:19].replace("T", " "), p.where, f"{p.value:.5g} {p.unit}", p.limit_text,
                      f"[{console_style(p.verdict)}]{p.verdict}[/]", "SIMULATED" if p.simulated else "")
    out.print(table)
    out.print(f"  source: {points[-1].source}")


def print_trend_plot(written: Any, output: str, room: str, result: str, as_json: bool = False) -> None:
    """Where the trend plot went (stderr with --json, so stdout stays JSON); on stderr when none was drawn."""
    if written is None:
        _console(to_stderr=True).print(f"nothing to plot: no complete runs in room {room} with a check '{result}'; "
                                       f"{output} was not written", markup=False)
        return
    _console(to_stderr=as_json).print(f"plot written to {written}", markup=False)


def print_due(items: list[Any], as_json: bool = False) -> None:
    """The schedule as a table, then one line per test that failed or was not finished saying what clears it."""
    if as_json:
        print(json.dumps([{"room": i.room, "procedure": i.procedure, "item": i.item, "every": i.every,
                           "last_run": i.last_run,
                           "last_date": i.last_date.isoformat() if i.last_date else None,
                           "last_verdict": i.last_verdict, "next_due": i.next_due.isoformat() if i.next_due else None, "status": i.status,
                           "open_run": i.open_run,
                           "instruments": [{"id": a, "calibration_due": b, "status": c} for a, b, c in i.instruments]}
                          for i in items], indent=2))
        return
    from rich.table import Table

    styles = {"OK": "green", "DUE": "yellow", "OVERDUE": "bold red", "NEVER RUN": "bold red", "ENDED": "dim",
              "RETEST REQUIRED": "bold red", "INCOMPLETE": "bold red"}
    table = Table()
    for col in ("Room", "Procedure", "Every", "Last run", "Verdict", "Next due", "Status", "Instruments"):
        table.add_column(col, overflow="fold")
    for i in items:
        insts = "; ".join(f"{a} cal. due {b} {c}" for a, b, c in i.instruments)
        procedure = f"{i.procedure} {i.item}" if i.item else i.procedure
        table.add_row(i.room, procedure, i.every, f"{i.last_run} ({i.last_date})" if i.last_run else "-",
                      i.last_verdict or "-", i.next_due.isoformat() if i.next_due else "-",
                      f"[{styles[i.status]}]{i.status}[/]", insts)
    out = _console()
    out.print(table)
    for i in items:
        what = f"{i.procedure} of {i.item}" if i.item else f"{i.procedure} in room {i.room}"
        if i.status == "RETEST REQUIRED":
            out.print(f"RETEST REQUIRED: {what} failed on {i.last_date} (run {i.last_run}); it stays due until a "
                      f"run of it {f'of {i.item}' if i.item else f'in room {i.room}'} passes.", markup=False)
        if i.open_run:
            out.print(f"INCOMPLETE: {what}: run {i.open_run} was not finished; continue it with "
                      f"`xcal run --resume {i.open_run}`, or start a new run.", markup=False)


def print_site_rooms(site: Any, as_json: bool = False) -> None:
    rooms = list(site.rooms.values())
    if as_json:
        print(json.dumps([{"id": r.id, "name": r.name, "modality": r.modality, "equipment": r.equipment,
                           "limit_sets": list(r.limit_sets), "instruments": dict(r.instruments)} for r in rooms],
                         indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table(title=f"Rooms of {site.name} ({site.path})", title_justify="left")
    for col in ("Room", "Name", "Modality", "Equipment", "Limit sets (first wins)", "Instruments"):
        table.add_column(col, overflow="fold")
    for r in rooms:
        table.add_row(r.id, r.name, r.modality, _equipment_text(r.equipment), ", ".join(r.limit_sets),
                      "\n".join(f"{role}: {iid}" for role, iid in r.instruments.items()))
    _console().print(table)


def _equipment_text(equipment: dict[str, Any]) -> str:
    """One line per piece of equipment: `generator: Example X-Ray Co. DXR-500 serial DXR5-10293`."""
    lines = []
    for part, value in equipment.items():
        if isinstance(value, dict):
            what = " ".join(str(value[k]) for k in ("make", "model") if value.get(k))
            extra = [f"serial {value['serial']}"] if value.get("serial") else []
            extra += [f"{k} {v}" for k, v in value.items() if k not in ("make", "model", "serial")]
            value = " ".join([what, *extra]).strip()
        lines.append(f"{part}: {value}")
    return "\n".join(lines)


def print_site_instruments(items: list[Any], within_days: int, as_json: bool = False) -> None:
    """The site's instruments with their calibration status; a warning on stderr for each one expired or
    falling due within `within_days`."""
    if as_json:
        print(json.dumps([{"id": i.instrument.id, "make": i.instrument.make, "model": i.instrument.model,
                           "serial": i.instrument.serial, "driver": i.instrument.driver,
                           "resource": i.instrument.resource, "simulated": i.instrument.simulated,
                           "capabilities": list(i.instrument.capabilities),
                           "rooms": [{"room": room, "role": role} for room, role in i.rooms],
                           "calibration": {k: v for k, v in i.instrument.calibration.snapshot().items()
                                           if k in ("certificate", "laboratory", "date", "due")},
                           "days_left": i.days_left, "status": i.status} for i in items],
                         indent=2, ensure_ascii=False))
    else:
        from rich.table import Table

        styles = {"OK": "green", "DUE SOON": "yellow", "EXPIRED": "bold red"}
        table = Table(title=f"Instruments (DUE SOON: calibration due within {within_days} days)",
                      title_justify="left")
        for col in ("Instrument", "Make, model, serial", "Driver", "Rooms", "Certificate", "Calibration due",
                    "Status"):
            table.add_column(col, overflow="fold")
        for i in items:
            inst, cal = i.instrument, i.instrument.calibration
            table.add_row(inst.id, f"{inst.make} {inst.model} serial {inst.serial}",
                          inst.driver + (" (simulated)" if inst.simulated else ""),
                          ", ".join(f"{room} ({role})" for room, role in i.rooms) or "-",
                          cal.certificate, f"{cal.due.isoformat()} ({i.days_left:+d} d)",
                          f"[{styles[i.status]}]{i.status}[/]")
        _console().print(table)
    err = _console(to_stderr=True)
    for i in items:
        due = i.instrument.calibration.due.isoformat()
        if i.status == "EXPIRED":
            err.print(f"warning: {i.instrument.id} is past its calibration due date {due} ({-i.days_left} days); "
                      f"runs refuse it without --allow-expired-calibration: recalibrate it and update "
                      f"`calibration.due` in the site file", markup=False)
        elif i.status == "DUE SOON":
            err.print(f"warning: {i.instrument.id} falls due for calibration on {due}, in {i.days_left} days; "
                      f"book its recalibration", markup=False)


def print_retention(items: list[Any], rules: Any, as_json: bool = False) -> None:
    if as_json:
        print(json.dumps([{"run_id": i.run_id, "procedure": i.procedure_id, "room": i.room_id,
                           "started_at": i.started_at, "keep_until": i.keep_until.isoformat(),
                           "days_past": i.days_past, "rule": {"jurisdiction": i.rule.jurisdiction,
                                                              "record_type": i.rule.record_type,
                                                              "source": i.rule.source}}
                          for i in items], indent=2))
        return
    out = _console()
    if not rules:
        out.print("The site file has no `retention:` rules; nothing can be past retention.")
        return
    if not items:
        out.print(f"No run is past retention under the site's {len(rules)} rule(s). Nothing is deleted.")
        return
    for i in items:
        out.print(f"{i.run_id}  {i.procedure_id} room {i.room_id}: kept until {i.keep_until} "
                  f"({i.days_past} days past; {i.rule.jurisdiction} {i.rule.record_type}: {i.rule.source})")
    out.print("Nothing has been deleted; removing records is for the records officer to decide.")
