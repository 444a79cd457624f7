"""What the technician sees: live readings, a progress display, the verdict table, history listings."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .verdict import console_style

if TYPE_CHECKING:
    from .procedures.runner import RunObserver
else:
    RunObserver = object
    """RunConsole defines every RunObserver method itself, so at run time it needs no base: the runner is imported
    only to type-check it, and listing commands (trend, history, due) do not pay for loading the runner."""

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


_SGR = {"bold": "1", "dim": "2", "italic": "3", "underline": "4", "red": "31", "green": "32", "yellow": "33",
        "blue": "34", "magenta": "35", "cyan": "36"}


def colour_wanted(stream: Any, platform: str = sys.platform) -> bool:
    """Whether to colour what goes to `stream`, by the rules rich follows too: a terminal that is not `dumb`,
    unless NO_COLOR is set; FORCE_COLOR colours a pipe as well. On Windows only a terminal known to read ANSI
    codes (Windows Terminal, ANSICON, a TERM such as a Unix-like shell sets): the classic console would print
    them."""
    import os

    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()) or os.environ.get("TERM") == "dumb":
        return False
    return platform != "win32" or any(os.environ.get(k) for k in ("WT_SESSION", "ANSICON", "TERM"))


def styled(text: str, style: str | None, colour: bool) -> str:
    """`text` in a rich-style word list such as "bold red" as ANSI codes (plain without `colour`)."""
    codes = [_SGR[w] for w in (style or "").split() if w in _SGR]
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m" if colour and codes else text


_BOXES = {False: "┏━┳┓┃┡╇┩│└─┴┘", True: "+-++|+++|+-++"}
"""The characters of grid's lines; the second set for an output that cannot encode the first (a Windows code
page)."""


def display_width(text: str) -> int:
    """Columns `text` takes on a terminal: wide (East Asian) characters two, combining marks none."""
    import unicodedata

    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def _cell(cell: str | tuple[str, str]) -> tuple[str, str | None]:
    """A grid cell as (text with control characters as spaces, style)."""
    plain, style = (cell, None) if isinstance(cell, str) else cell
    if not plain.isprintable():
        plain = "".join(ch if ch.isprintable() else " " for ch in plain)
    return plain, style


def grid(headers: Sequence[str], rows: Sequence[Sequence[str | tuple[str, str]]], colour: bool = False,
         ascii_only: bool = False) -> str:
    """A boxed table as text: each cell plain text or (text, style), styles in ANSI codes with `colour`.

    Drawn directly, without rich, whose import and measuring of every cell took about 60 ms of the 250 ms
    `xcal trend` took on PostgreSQL (target 200 ms); cells are never folded, a line wider than the screen is
    wrapped by the terminal."""
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [display_width(h) for h in headers]
    for row_cells in cells:
        for i, (plain, _) in enumerate(row_cells):
            widths[i] = max(widths[i], display_width(plain))
    tl, heavy, tee, tr, head, ml, cross, mr, bar, bl, light, bottom, br = tuple(_BOXES[ascii_only])
    lines = [tl + tee.join(heavy * (w + 2) for w in widths) + tr,
             head + head.join(f" {styled(h.ljust(w), 'bold', colour)} "
                              for h, w in zip(headers, widths, strict=True)) + head,
             ml + cross.join(heavy * (w + 2) for w in widths) + mr]
    for row_cells in cells:
        shown = [f" {styled(plain + ' ' * (width - display_width(plain)), style, colour)} "
                 for (plain, style), width in zip(row_cells, widths, strict=True)]
        lines.append(bar + bar.join(shown) + bar)
    lines.append(bl + bottom.join(light * (w + 2) for w in widths) + br)
    return "\n".join(lines) + "\n"


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

        The question shows the unit (`?? Left edge: ... [cm]:`). The answer is read as people type it
        (units.parse_typed: `0.4 CM`, `20 mm2`, `12 mR` for air kerma). An empty answer, one not starting with
        a number, one that cannot be read or one of the wrong kind is refused with what is expected, and the
        question is asked again until a value is given: nothing is ever recorded that was not typed. `back`
        is passed on (runner.BACK: retype the previous value). Ctrl-C (KeyboardInterrupt) and Ctrl-D
        (EOFError) reach the runner, which stops the run and keeps what was already entered.
        """
        import sys

        from .procedures.runner import BACK

        if not sys.stdin.isatty():
            return None
        question = _markup_free(f"?? {prompt} [{unit}]: ")
        while True:
            with self._paused():
                text = self.out.input(f"[cyan]{question}[/]").strip()
            if text.lower() == BACK:
                return BACK
            value, problem = _typed_value(text, unit)
            if value is not None:
                return value
            self.out.print(f"[red]{_markup_free(problem)}[/]")

    def ask_text(self, question: str) -> str:
        """A line typed for a meter read by hand, with the progress bar stopped while it is typed."""
        with self._paused():
            return self.out.input(f"[cyan]{_markup_free(f'?? {question}: ')}[/]")

    def understood(self, text: str) -> None:
        """Say back what a typed value was taken as, under the line it was typed on."""
        self.out.print(f"[green]   = {_markup_free(text)}[/]")

    @contextlib.contextmanager
    def _paused(self) -> Iterator[None]:
        """Stop the live progress bar while a line is typed: its redraws would overwrite the line."""
        if self._progress is None:
            yield
            return
        self._progress.stop()
        try:
            yield
        finally:
            self._progress.start()

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
            dicom = inst.snapshot().get("dicom")
            if dicom:
                self.out.print(f"  {role}: {_dicom_role(dicom)}", markup=False)
                continue
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

    def stored(self, results: list[Any], bundle_id: str | None = None) -> None:
        """The last line of a run: which records were made and where they are, so none is looked for elsewhere
        (a bundle's own record first)."""
        ids = ([bundle_id] if bundle_id else []) + [r.run_id for r in results]
        self.out.print(stored_line(ids, results[-1].db_path), markup=False)

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
                err = (f"{c.deviation.magnitude:+.2f} {c.deviation.units:~P}"
                       + (f" ({pct:+.1f} %)" if pct is not None else ""))
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


def _dicom_role(dicom: dict[str, Any]) -> str:
    """A DICOM role's instrument as the site gives it, in place of a calibration it does not have."""
    return f"{dicom.get('what')}, {dicom.get('where')} (a DICOM role, not a calibrated instrument)"


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
    """The units.Typed a technician typed for a value in `unit`, or None and what is wrong with the text.

    A bare number is taken in `unit`; a number with its own unit must be of the same kind (or an exposure
    where air kerma is asked). Text that does not start with a number (an empty line, a unit alone) is
    refused: pint would read `cm^2` alone as 1 cm², a value nobody typed.
    """
    from .units import parse_typed

    if not text:
        return None, f"a value is needed: type a number in {unit} (e.g. 0.5 or 0.5 {unit}); Ctrl-C stops the run"
    try:
        return parse_typed(text, unit), ""
    except ValueError as exc:
        return None, str(exc)


def _source_note(limit: Any) -> str:
    """A limit's footnote: its set and source, and how far the number has been verified unless read in it."""
    mark = {"quoted": " (quoted, not re-read in the source)", "unverified": " (UNVERIFIED: check it in the source)"}
    return f"{limit.set_id}: {limit.source}{mark.get(limit.verification, '')}"


def _bundle_line(result: Any) -> str:
    """The bundle's closing line: its verdict, its record id, and each member's run (or why it has none)."""
    failed = [m.procedure for m in result.members if m.verdict == "FAIL"]
    sim = " (SIMULATED)" if any(r.plan.simulated for r in result.results) else ""
    runs = ", ".join(f"{m.procedure} {m.run_id or 'not run'}" for m in result.members)
    line = (f"BUNDLE VERDICT: {_styled(result.verdict)}{sim}  bundle "
            f"{result.bundle_id} ({result.bundle.id}): {len(result.members)} procedures: {runs}")
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


def print_history(runs: list[Any], as_json: bool = False, room: str | None = None,
                  bundles: list[Any] | None = None) -> None:
    """The runs as a table (or JSON), newest first; with no runs, says so (for `room` when one was asked).

    Bundles come first as their own table, a row per bundle and under it a row per member with its run, so a
    bundle's seven runs read as one acceptance; the JSON stays the list of runs (`show-run BUNDLE_ID --json`
    gives a bundle's).
    """
    if bundles and not as_json:
        _console().print(_bundles_table(bundles))
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
        table.add_row(r.run_id, r.started_at[:19].replace("T", " "), r.room_id,
                      f"{r.procedure_id} {r.procedure_version}", r.operator, r.status,
                      f"[{console_style(verdict)}]{verdict}[/]" if r.verdict else "-",
                      "SIMULATED" if r.simulated else "")
    out = _console()
    if not runs:
        out.print(f"No runs recorded in room {room} yet." if room is not None else "No runs recorded yet.")
        return
    out.print(table)


def _bundles_table(bundles: list[Any]) -> Any:
    """Bundles, newest first, each followed by its members in order (procedure, run id, status, verdict)."""
    from rich.table import Table

    table = Table(title="Bundles", title_justify="left")
    for col in ("Bundle / run", "Started (UTC)", "Room", "Bundle / procedure", "Status", "Verdict"):
        table.add_column(col, no_wrap=col != "Bundle / procedure")
    for b in bundles:
        verdict = b.verdict or "-"
        sim = " SIMULATED" if b.simulated else ""
        table.add_row(b.bundle_id, b.started_at[:19].replace("T", " "), b.room_id,
                      f"{b.bundle} {b.bundle_version}{sim}", b.status, _styled(verdict))
        for n, m in enumerate(b.members, 1):
            mv = m.verdict or "-"
            table.add_row(f"  {m.run_id or '(not run)'}", "", "", f"  {n}. {m.procedure}", m.status or "-",
                          _styled(mv))
    return table


def _styled(verdict: str) -> str:
    """A verdict with its console style; a word that is no verdict (INCOMPLETE, -) as it is."""
    style = console_style(verdict)
    return f"[{style}]{verdict}[/]" if style else verdict


def print_bundle(bundle: Any, as_json: bool = False) -> None:
    """One bundle: what, where, by whom, status and verdict, and each member with its run (for `show-run`)."""
    if as_json:
        print(json.dumps(bundle.to_dict(), indent=2, ensure_ascii=False))
        return
    out = _console()
    out.print(f"[bold]Bundle {bundle.bundle_id}[/]{'  [bold magenta]SIMULATED[/]' if bundle.simulated else ''}")
    out.print(f"  bundle     {bundle.bundle} {bundle.bundle_version} ({bundle.bundle_title}), "
              f"sha256 {bundle.bundle_sha256[:16]}…")
    out.print(f"  site       {bundle.site}; room {bundle.room_id} {bundle.room_name}")
    out.print(f"  operator   {bundle.operator}; started {bundle.started_at}; finished {bundle.finished_at or '-'}")
    out.print(f"  status     {bundle.status}{(' — ' + bundle.status_note) if bundle.status_note else ''}; "
              f"verdict {bundle.verdict or '-'}")
    out.print(_bundles_table([bundle]))
    if bundle.status != "complete":
        out.print(f"  continue it with `xcal run --resume {bundle.bundle_id}`; `xcal show-run RUN_ID` shows a "
                  f"member's readings")
    else:
        out.print(f"  `xcal report {bundle.bundle_id}` writes the acceptance report; `xcal show-run RUN_ID` shows "
                  f"a member's readings")


def print_run(run: Any, as_json: bool = False, signatures: list[Any] | None = None) -> None:
    """One stored run: header, equipment, instruments, readings with their ids (what `xcal correct` takes) and
    corrections, checks with the limit's value at that place and the inputs behind each ratio, signatures."""
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
    equipment = (snap.get("room") or {}).get("equipment") or {}
    for line in _equipment_text(equipment).splitlines():
        out.print(f"  equipment  {_markup_free(line)}")
    for role, inst in snap.get("instruments", {}).items():
        if inst.get("dicom"):
            out.print(f"  {role}: {_dicom_role(inst['dicom'])}; at {inst['resource']}", markup=False)
            continue
        cal = inst.get("calibration", {})
        out.print(f"  {role}: {inst['make']} {inst['model']} serial {inst['serial']} at {inst['resource']}; "
                  f"calibration {cal.get('certificate')} {cal.get('date')}, due {cal.get('due')}")
    if snap.get("calibration_override"):
        out.print(f"  [yellow]calibration override: {snap['calibration_override']['reason']}[/]")
    readings = Table(title="Readings (Id is what `xcal correct RUN_ID READING_ID` takes)", title_justify="left")
    for col in ("Id", "Exposure", "Station", "Repeat", "Instrument", "Quantity", "Value", "Corrected to",
                "Taken (UTC)"):
        readings.add_column(col)
    for r in run.readings:
        value = (f"{len(r.data['samples'])} samples @ {r.data['interval']} {r.data['interval_unit']}"
                 if r.quantity == "waveform" and r.data else f"{r.value:.5g} {r.unit}")
        fixed = f"{r.corrected.new_value:.5g} {r.corrected.unit}" if r.corrected is not None else ""
        readings.add_row(str(r.reading_id), str(r.exposure), str(r.station), str(r.repeat), r.instrument_id,
                         r.quantity, value, fixed, r.taken_at[11:23])
    out.print(readings)
    for c in run.corrections:
        out.print(f"  correction {c.correction_id} of reading {c.reading_id}: {c.original_value} "
                  f"{c.original_unit} -> {c.new_value} {c.unit} by {c.person} at {c.at}: {_markup_free(c.reason)}")
    if run.checks:
        checks = Table(title="Checks", title_justify="left")
        for col in ("Check", "Station", "Measured", "Set", "Limit", "Source", "Verdict"):
            checks.add_column(col, overflow="fold")
        for c in run.checks:
            checks.add_row(c.title, c.setting, f"{c.value:.5g} {c.unit}",
                           f"{c.nominal:.5g} {c.unit}" if c.nominal is not None else "", _limit_here(c),
                           f"{c.source} [{c.limit_set}]", f"[{console_style(c.verdict)}]{c.verdict}[/]")
        out.print(checks)
        lines = [f"  {c.title} at {c.setting}: {_markup_free(text)}" for c in run.checks
                 if (text := check_inputs(c, run))]
        if lines:
            out.print("Inputs behind the results:")
            for line in lines:
                out.print(line)
    if signatures:
        for sig in signatures:
            holds = "holds" if sig.valid else f"[red]does not hold: {_markup_free(sig.reason)}[/]"
            who = _markup_free(f"{sig.name} ({sig.account or 'no account: name as typed'})")
            out.print(f"  signed {sig.meaning} by {who} at {sig.at}, run hash {sig.run_hash[:16]}…: {holds}")
    else:
        out.print(f"  not signed: `xcal sign {run.run_id} --meaning reviewed` signs it")


def _limit_here(c: Any) -> str:
    """The limit as written and, where the record has it, its number at this place: `≥ table hvl-minimum-c =
    2.9 mm`, `±5 % = ±4 kV`."""
    if c.allowed is None:
        return c.limit_text
    unit = f" {c.unit}" if c.unit else ""
    number = f"±{c.allowed:.4g}{unit}" if c.nominal is not None else f"{c.allowed:.4g}{unit}"
    return c.limit_text if c.limit_text.endswith(f"{c.allowed:.2f}") else f"{c.limit_text} = {number}"


_DOSE_QUANTITIES = ("air_kerma", "dose", "dap", "charge", "dose_rate")


def check_inputs(check: Any, run: Any) -> str:
    """What a stored check's value was computed from, from the record alone: for a station (or two consecutive
    stations) the mean of each quantity read there, and the air kerma per mAs where the technique gives mA and
    time; for a result of the whole run the kVp read (the HVL minimum is looked up at it), the SID and the
    values entered by hand (collimation edges, from which the percentage of SID comes). '' when none apply."""
    import statistics

    from .units import parse_quantity

    stations = (snap_stations := (run.snapshot.get("parameters") or {}).get("stations")) or []
    first = (run.snapshot.get("station_numbers") or {}).get("stations", 1)
    by_station: dict[int, dict[str, list[Any]]] = {}
    for r in run.readings:
        if r.quantity != "waveform" and r.value is not None:
            value = r.corrected.new_value if r.corrected is not None else r.value
            by_station.setdefault(r.station, {}).setdefault(r.quantity, []).append((value, r.unit))
    parts = []
    if check.station is not None:
        where = [check.station - 1, check.station] if "–" in (check.setting or "") else [check.station]
        for n in where:
            read = by_station.get(n, {})
            if any(q in read for q in _DOSE_QUANTITIES):       # a dose result: its dose readings, not kVp or time
                read = {q: v for q, v in read.items() if q in _DOSE_QUANTITIES}
            text = []
            for quantity, values in read.items():
                numbers = [v for v, _ in values]
                mean = statistics.fmean(numbers)
                spread = f", SD {statistics.stdev(numbers):.4g} {values[0][1]}" if len(numbers) > 1 else ""
                text.append(f"{quantity} mean {mean:.5g} {values[0][1]} of {len(numbers)}{spread}")
                technique = stations[n - first] if isinstance(snap_stations, list) and 0 <= n - first < len(
                    stations) else {}
                if quantity == "air_kerma" and technique.get("ma") and technique.get("time"):
                    mas = (parse_quantity(technique["ma"]) * parse_quantity(technique["time"])).to("mA*s")
                    per = (mean * parse_quantity(f"1 {values[0][1]}") / mas).to("µGy/(mA*s)")
                    text.append(f"{per.magnitude:.4g} µGy/mAs at {mas.magnitude:.4g} mAs")
            if text:
                parts.append(f"station {n}: " + "; ".join(text))
    else:
        kvp = [v for read in by_station.values() for v, _ in read.get("kvp_ppv", [])]
        if kvp:
            kv = sorted({str(st.get("kv")) for st in stations if isinstance(st, dict) and st.get("kv")})
            parts.append((f"set {', '.join(kv)}; " if kv else "") + f"kVp read {statistics.fmean(kvp):.4g} kV "
                         f"(mean of {len(kvp)}); limit there {_limit_here(check)}")
        entered = [f"{r.quantity} {r.value:.4g} {r.unit}" for r in run.readings if r.role == "entry"]
        sid = (run.snapshot.get("parameters") or {}).get("sid")
        if entered:
            parts.append((f"SID {sid}; " if sid else "") + "entered " + ", ".join(entered))
    return "; ".join(parts)


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
    for source in evidence.sources.values():
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
        line = (f"  check {c.id}: {c.result} against limit '{c.limit}'"
                + (f" (set value: {c.nominal})" if c.nominal else ""))
        if c.only:
            line += " at stations with " + ", ".join(f"{k} = {v}" for k, v in c.only)
        out.print(line)
        if plan is not None:
            lim = plan.limits[c.limit]
            out.print(f"      in {plan.room.label()}: {lim.text} from {lim.set_id} — {lim.source} "
                      f"(verification: {lim.verification})")
            at = _table_values(lim, plan)
            if at:
                out.print(f"      that is {at}")


def _table_values(limit: Any, plan: Any) -> str:
    """A table limit's number at each station's setting (`2.9 mm at 80 kV (stations 1-6)`), '' for other forms;
    `≥ table hvl-minimum-c` alone names a table, not the minimum a technician must reach."""
    tol = limit.tolerance
    variable = tol.context_variable
    if variable is None:
        return ""
    key = {"kvp": "kv"}.get(variable, variable)
    seen: dict[str, list[int]] = {}
    for name, value in plan.parameters.items():
        if not isinstance(value, list):
            continue
        for st in plan.procedure.stations(plan.parameters, name):
            setting = st.values.get(key, st.values.get(variable))
            if setting is None:
                continue
            try:
                bound = tol.bound_at({variable: setting})
            except (ValueError, KeyError, TypeError):
                continue
            seen.setdefault(f"{'≤' if tol.upper else '≥'} {_fmt(bound, 3)} at {_fmt(setting)}", []).append(st.index)
    return "; ".join(f"{text} (station{'s' if len(n) > 1 else ''} {', '.join(map(str, n))})"
                     for text, n in seen.items())


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


TREND_SHOWN = 50
"""How many of the latest points `xcal trend` lists unless given --all: a screenful to read drift from (a
table of thousands takes seconds to draw and scrolls the recent points off; JSON and plots hold them all)."""


def print_trend(points: list[Any], room: str, result: str, as_json: bool = False, total: int | None = None
                ) -> None:
    """The trend's points as a table (JSON with `as_json`); `total`, when more than the points given, is how many
    the trend has in all, of which these are the latest, and the title says so."""
    if as_json:
        print(json.dumps([p.record() for p in points], indent=2, ensure_ascii=False))
        return
    if not points:
        print(f"No complete runs in room {room} with a check '{result}'.")
        return
    title = f"{result} in room {room}"
    if total is not None and total > len(points):
        title += f": the latest {len(points)} of {total} points (--all lists every one)"
    rows = [(p.run_id, p.started_at[:19].replace("T", " "), p.where, f"{p.value:.5g} {p.unit}", p.limit_text,
             (p.verdict, console_style(p.verdict)), "SIMULATED" if p.simulated else "") for p in points]
    encoding = (getattr(sys.stdout, "encoding", None) or "utf-8").lower().replace("-", "")
    table = grid(("Run", "Started (UTC)", "Where", "Value", "Limit", "Verdict", ""), rows, colour_wanted(sys.stdout),
                 ascii_only=not encoding.startswith("utf"))
    sys.stdout.write(f"{title}\n{table}  source: {points[-1].source}\n")


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
                           "last_verdict": i.last_verdict,
                           "next_due": i.next_due.isoformat() if i.next_due else None, "status": i.status,
                           "open_run": i.open_run, "action": i.action, "service": i.service,
                           "instruments": [{"id": a, "calibration_due": b, "status": c} for a, b, c in i.instruments]}
                          for i in items], indent=2))
        return
    from rich.table import Table

    styles = {"OK": "green", "DUE": "yellow", "OVERDUE": "bold red", "NEVER RUN": "bold red", "ENDED": "dim",
              "RETEST REQUIRED": "bold red", "INCOMPLETE": "bold red", "DUE AFTER SERVICE": "bold red",
              "NEVER DONE": "bold red"}
    table = Table()
    for col in ("Room", "Procedure", "Every", "Last run", "Verdict", "Next due", "Status", "Instruments"):
        table.add_column(col, overflow="fold")
    for i in items:
        insts = "; ".join(f"{a} cal. due {b} {c}" if b != "-" else f"{a} {c}" for a, b, c in i.instruments)
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
            noun = "bundle" if i.open_run.startswith("B") else "run"    # bundle ids start with B (bundles.py)
            out.print(f"INCOMPLETE: {what}: {noun} {i.open_run} was not finished; continue it with "
                      f"`xcal run --resume {i.open_run}`, or start a new run.", markup=False)
    from .program.due import due_notes

    for line in due_notes(items):
        out.print(line, markup=False)


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


def print_actions(actions: list[Any], as_json: bool = False) -> None:
    """Corrective actions as a table: id, room, procedure, the run that failed, status, assignee, due."""
    if as_json:
        print(json.dumps([a.to_dict() for a in actions], indent=2, ensure_ascii=False))
        return
    out = _console()
    if not actions:
        out.print("No corrective actions recorded.")
        return
    from rich.table import Table

    table = Table()
    for col in ("Action", "Room", "Procedure", "Failed run", "Failed", "Status", "Assignee", "Due"):
        table.add_column(col, overflow="fold")
    for a in actions:
        table.add_row(a.action_id, a.room, a.procedure, a.run_id, _failed_text(a.failed), a.status,
                      a.assignee or "unassigned", a.due, style="green" if a.status == "verified" else None)
    out.print(table)


def _failed_text(failed: list[dict[str, Any]]) -> str:
    """'kvp-accuracy at 4: 120 kV ...: 127.4 kV, 7.423 kV off (allowed 6 kV)' for each failed check."""
    parts = []
    for f in failed:
        off = (f" ({f['deviation']:+.4g} {f['unit']} from set {f['nominal']:.4g}, allowed ±{f['allowed']:.4g})"
               if f.get("deviation") is not None and f.get("allowed") is not None and f.get("nominal") is not None
               else "")
        parts.append(f"{f['check_id']} at {f['setting'] or 'run'}: {f['value']:.4g} {f['unit']}{off}")
    return "; ".join(parts)


def print_action(action: Any, as_json: bool = False) -> None:
    """One corrective action: what failed and by how much, then each entry that followed."""
    if as_json:
        print(json.dumps(action.to_dict(), indent=2, ensure_ascii=False))
        return
    out = _console()
    out.print(f"Corrective action {action.summary()}", markup=False)
    out.print(f"  room {action.room}, {action.procedure}: run {action.run_id} FAILED", markup=False)
    for f in action.failed:
        out.print(f"    {_failed_text([f])}; limit {f['limit']} ({f['source']})", markup=False)
    for h in action.history:
        out.print(f"  {h['at'][:16].replace('T', ' ')}  {h['text']}  [{h['by']}]", markup=False)
    if action.status == "verified" and action.resolution is None:
        out.print(f"  verified, but no resolution is recorded: add what was done with `xcal action resolve "
                  f"{action.action_id} --done ...`", markup=False)
    elif action.status != "verified":
        out.print(f"  open until a later run of {action.procedure} in room {action.room} passes", markup=False)


def print_service(event: dict[str, Any], as_json: bool = False) -> None:
    """One service event: room, component and work, who, downtime, parts, documents, the tests it made due."""
    if as_json:
        print(json.dumps(event, indent=2, ensure_ascii=False))
        return
    out = _console()
    out.print(f"Service event {event['service_id']}: room {event['room']}, {event['component']} {event['work']} "
              f"by {event['engineer']} ({event['vendor']})", markup=False)
    out.print(f"  down from {event['down_from']} to {event['down_to']}; recorded by {event['by']}", markup=False)
    out.print(f"  work done: {event['done']}", markup=False)
    out.print(f"  parts: {'; '.join(event['parts']) or 'none listed'}", markup=False)
    for doc in event["documents"]:
        out.print(f"  document {doc['name']} sha256 {doc['sha256']}"
                  f"{' kept at ' + doc['stored'] if doc['stored'] else ''}", markup=False)
    still = event.get("still_due")
    for item in event["invalidates"]:
        state = "" if still is None else " — still due" if item["procedure"] in still else " — done"
        out.print(f"  makes due: {item['procedure']}{state} ({item['source']})", markup=False)


def print_services(events: list[dict[str, Any]], as_json: bool = False) -> None:
    """Service events as a table, with the tests each still leaves due."""
    if as_json:
        print(json.dumps(events, indent=2, ensure_ascii=False))
        return
    out = _console()
    if not events:
        out.print("No service events recorded.")
        return
    from rich.table import Table

    table = Table()
    for col in ("Event", "Room", "Work", "Engineer", "Down", "Still due"):
        table.add_column(col, overflow="fold")
    for e in events:
        table.add_row(e["service_id"], e["room"], f"{e['component']} {e['work']}",
                      f"{e['engineer']} ({e['vendor']})", f"{e['down_from'][:16]} to {e['down_to'][:16]}",
                      ", ".join(e["still_due"]) or "none")
    out.print(table)


def print_service_rules(rules: list[Any], as_json: bool = False) -> None:
    """The post-service rule set, one rule a line with its source."""
    if as_json:
        print(json.dumps([{"component": r.component, "work": list(r.work), "invalidates": list(r.invalidates),
                           "source": r.source, "rationale": r.rationale} for r in rules], indent=2,
                         ensure_ascii=False))
        return
    out = _console()
    for r in rules:
        out.print(f"{r.component} {'/'.join(r.work)} -> {', '.join(r.invalidates)}\n  source: {r.source}\n"
                  f"  why: {r.rationale}", markup=False)


def print_pm_log(log: list[dict[str, Any]], as_json: bool = False, one: bool = False) -> None:
    """PM log entries, one a line; `one`: a single entry, as an object in JSON."""
    if as_json:
        print(json.dumps(log[0] if one else log, indent=2, ensure_ascii=False))
        return
    out = _console()
    if not log:
        out.print("No preventive maintenance logged.")
    for p in log:
        parts = f"; parts: {'; '.join(p['parts'])}" if p["parts"] else ""
        out.print(f"{p['pm_id']} {p['date']} room {p['room']} {p['component']}: {p['done']} — {p['engineer']} "
                  f"({p['vendor']}){parts}", markup=False)


def print_parts(lines: list[dict[str, Any]], as_json: bool = False, one: bool = False) -> None:
    """The parts inventory, one part a line: received, used, on hand; `one`: a single part (an object in JSON)."""
    if as_json:
        print(json.dumps(lines[0] if one else lines, indent=2, ensure_ascii=False))
        return
    out = _console()
    if not lines:
        out.print("No parts recorded.")
    for p in lines:
        described = f" ({p['description']})" if p["description"] else ""
        out.print(f"{p['part']}{described}: {p['on_hand']} on hand ({p['received']} received, {p['used']} used)",
                  markup=False)


def print_accounts(accounts: list[Any], as_json: bool = False, one: bool = False) -> None:
    """Accounts, one a line: username, full name, role, permissions, disabled; `one`: a single account (an object
    in JSON). Nothing about passwords."""
    if as_json:
        found = [a.to_dict() for a in accounts]
        print(json.dumps(found[0] if one else found, indent=2, ensure_ascii=False))
        return
    out = _console()
    if not accounts:
        out.print("No accounts: signatures take a name as typed until the first account (an admin) is added "
                  "with `xcal users add USERNAME --name 'Full Name' --role admin`.")
    for a in accounts:
        state = "" if a.active else " [disabled]"
        permissions = ", ".join(a.to_dict()["permissions"]) or "none"
        out.print(f"{a.username}: {a.full_name}, {a.role} ({permissions}){state}", markup=False)
