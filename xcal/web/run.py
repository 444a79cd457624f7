"""A run (or a bundle): everything its report holds, laid out from the same report model, with its plots inline;
the report as HTML and PDF downloads; forms to sign it (with the password, at that moment), correct a reading
with a reason, and open a corrective action."""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from starlette.responses import Response

from .app import Page, Refused, back, form_text, page, required


def stored_report(store: Any, record_id: str) -> Any:
    """The report model of a run or bundle as `xcal report` builds it: corrective actions and signatures in."""
    from ..program.actions import report_rows
    from ..reports import build_bundle_report
    from ..reports.content import build_report

    def stored(rid: str) -> Any:
        run = store.get_run(rid)
        run.corrective_actions = report_rows(store, rid)      # read by reports/signoff.py
        return run

    if store.is_bundle(record_id):
        bundle = store.get_bundle(record_id)
        runs = {rid: stored(rid) for rid in bundle.run_ids()}
        return build_bundle_report(bundle, runs, {rid: store.signatures(rid) for rid in runs})
    return build_report(stored(record_id), store.signatures(record_id))


PLOTS_KEPT = 256
DRAWN_FROM = ("SELECT MAX(seq) FROM entries WHERE run_id = ? AND kind NOT IN ('signature', 'correction')")
"""The newest entry a record's plots are drawn from: signatures and corrections change no plot."""
_plots: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_plots_lock = threading.Lock()


def _plot_svg(key: tuple[Any, ...], block: Any) -> str:
    """A report plot as inline SVG, drawn once per state of the record (`key` holds the record's newest entry, so
    a record that grows is drawn again) and kept for the next view of the page."""
    from ..reports.html import PLOT_WIDTH
    from ..reports.plots import figure_svg, new_figure

    with _plots_lock:
        if key in _plots:
            _plots.move_to_end(key)
            return _plots[key]
    fig = new_figure(PLOT_WIDTH, block.height)
    block.draw(fig.add_subplot())
    svg = figure_svg(fig)
    with _plots_lock:
        _plots[key] = svg
        while len(_plots) > PLOTS_KEPT:
            _plots.popitem(last=False)
    return svg


def _blocks(report: Any, state: tuple[Any, ...]) -> list[dict[str, Any]]:
    """The report's sections with each block named by its kind and each plot drawn as inline SVG; `state` names
    the store and the record's newest entry (the key its plots are kept under)."""
    from ..reports.model import Fields, Note, Plot, Table

    sections = []
    for section in report.sections:
        blocks: list[tuple[str, Any, str]] = []
        for n, block in enumerate(section.blocks):
            if isinstance(block, Plot):
                blocks.append(("plot", block, _plot_svg((*state, section.key, n, block.caption), block)))
            else:
                kind = {Fields: "fields", Table: "table", Note: "note"}[type(block)]
                blocks.append((kind, block, ""))
        sections.append({"key": section.key, "title": section.title, "blocks": blocks})
    return sections


@page("view")
def run(p: Page) -> Response:
    """GET /runs/{run_id}."""
    from ..program.actions import actions_of_run
    from ..records.accounts import may_sign
    from ..records.signatures import MEANINGS

    record_id = p.request.path_params["run_id"]
    report = stored_report(p.store, record_id)
    bundle = p.store.is_bundle(record_id)
    stored = None if bundle else p.store.get_run(record_id)
    actions = [] if bundle else actions_of_run(p.store, record_id)
    newest = next(iter(p.store.select(DRAWN_FROM, (record_id,))))[0]
    return p.render("run.html", report=report, sections=_blocks(report, (str(p.store.path), record_id, newest)),
                    run=stored, bundle=bundle,
                    actions=actions, meanings=[m for m in MEANINGS if may_sign(p.account, m)], request=p.request,
                    can_open_action=stored is not None and stored.status == "complete" and stored.verdict == "FAIL"
                    and not any(a.run_id == record_id or any(r["run_id"] == record_id for r in a.retests)
                                for a in actions))


@page("view")
def report_html(p: Page) -> Response:
    """GET /runs/{run_id}/report.html: the self-contained report `xcal report` writes, as a download."""
    from ..reports import html_document

    record_id = p.request.path_params["run_id"]
    html = html_document(stored_report(p.store, record_id))
    return Response(html, media_type="text/html; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="xcal-{record_id}.html"'})


@page("view")
def report_pdf(p: Page) -> Response:
    """GET /runs/{run_id}/report.pdf: the PDF report `xcal report --format pdf` writes, as a download."""
    from ..reports import write_report_pdf

    record_id = p.request.path_params["run_id"]
    report = stored_report(p.store, record_id)
    with tempfile.TemporaryDirectory(prefix="xcal-report-") as folder:
        path = write_report_pdf(report, Path(folder) / "report.pdf")
        data = path.read_bytes()
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="xcal-{record_id}.pdf"'})


@page("sign")
def sign(p: Page) -> Response:
    """POST /runs/{run_id}/sign: sign as the signed-in account, its username and password given again now
    (§11.200(a)(1): both components of the signature at each signing); a username other than the session's is
    refused."""
    from ..errors import AuthError
    from ..records.accounts import sign_run

    run_id = p.request.path_params["run_id"]
    meaning = required(p.form, "meaning", "Meaning")
    password = p.form.get("password") or ""
    given = (p.form.get("username") or "").strip().lower()
    if not password or not given:
        raise Refused("a signature needs your username and password, given at the moment of signing; nothing was "
                      "signed")
    if given != p.account.username:
        raise Refused("the username given is not the signed-in account's: a signature is made by the account signed "
                      "in, with its own username and password; nothing was signed")
    try:
        signature = sign_run(p.store, run_id, meaning, p.account.username, password)
    except AuthError as exc:
        raise Refused(f"{exc.message}; nothing was signed") from None
    return back(f"/runs/{run_id}", f"signed: {signature.meaning} by {p.account.full_name} at {signature.at}")


@page("act")
def correct(p: Page) -> Response:
    """POST /runs/{run_id}/correct: `xcal correct` from the form; the account is who corrects it."""
    from ..errors import ConfigError
    from ..records.corrections import correct_with_units

    run_id = p.request.path_params["run_id"]
    reading = required(p.form, "reading_id", "Reading")
    if not reading.isdigit():
        raise ConfigError(f"reading '{reading}' is not a reading id", fix="choose the reading from the list")
    correction = correct_with_units(p.store, run_id, int(reading), required(p.form, "value", "Corrected value"),
                                    required(p.form, "reason", "Reason"), p.account.username)
    return back(f"/runs/{run_id}", f"correction {correction} of reading {reading} recorded; signatures made "
                                   f"before it no longer hold")


@page("act")
def open_action(p: Page) -> Response:
    """POST /runs/{run_id}/action: `xcal action open` from the form."""
    from ..program.actions import open_action as open_

    run_id = p.request.path_params["run_id"]
    action = open_(p.store, run_id, by=p.account.username, assignee=form_text(p.form, "assignee") or None,
                   due=form_text(p.form, "due") or None)
    return back(f"/actions/{action.action_id}", f"corrective action {action.action_id} opened")
