"""A run's report as one self-contained HTML page: inline CSS, plots as inline SVG, no external file or network.

Every text taken from the record is escaped. A simulated run carries a SIMULATED banner at the top of the page
(repeated on each printed page), at the head of every section, and a watermark, so a printout or a screenshot
of any part cannot pass for a measurement.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from .content import build_report
from .model import SIMULATED_BANNER, Block, Cell, Fields, Note, Plot, Report, Section, Table
from .plots import figure_svg, new_figure

PLOT_WIDTH = 6.8

CSS = """
*{box-sizing:border-box}
body{font:13px/1.4 "Segoe UI",Helvetica,Arial,sans-serif;color:#1a1a1a;margin:0;background:#fff}
main{max-width:1100px;margin:0 auto;padding:16px 24px 40px;position:relative;z-index:1}
h1{font-size:22px;margin:8px 0 2px} h2{font-size:16px;margin:0 0 8px;border-bottom:2px solid #1f4e79;
padding-bottom:3px;color:#1f4e79} h3{font-size:13px;margin:10px 0 4px}
.subtitle{color:#444;margin:0 0 10px}
.verdict{display:inline-block;font-size:20px;font-weight:700;padding:4px 14px;border-radius:4px;
border:2px solid currentColor;margin:6px 0 10px}
section{margin:18px 0;page-break-inside:auto}
table{border-collapse:collapse;width:100%;margin:4px 0 10px}
th,td{border:1px solid #c9c9c9;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#eef2f7;font-weight:600}
table.fields th{width:28%;background:#f6f6f6;font-weight:500;color:#333}
caption{caption-side:top;text-align:left;font-weight:600;padding:2px 0}
tr.row-fail td:first-child{border-left:4px solid #c62828}
.t-pass{color:#1b5e20;background:#e8f5e9;font-weight:600}
.t-warn{color:#8a3b00;background:#fff3e0;font-weight:600}
.t-fail{color:#b71c1c;background:#ffebee;font-weight:700}
.t-alert{color:#4e342e;background:#fff59d;font-weight:600}
.t-muted{color:#757575}
.note{border:1px solid #bbb;padding:8px 10px;margin:6px 0 10px;border-radius:3px}
.note.t-empty{border:1px dashed #888;color:#555;font-style:italic;background:#fafafa;font-weight:400}
.note.t-alert,.note.t-fail{border:2px solid currentColor}
figure{margin:6px 0 14px} figure svg{max-width:100%;height:auto} figcaption{font-size:12px;color:#444}
.sim-top{position:sticky;top:0;z-index:10;background:#c62828;color:#fff;text-align:center;font-weight:800;
font-size:18px;letter-spacing:.08em;padding:8px}
.sim-section{background:#c62828;color:#fff;font-weight:700;text-align:center;padding:3px;margin:0 0 6px;
letter-spacing:.06em}
.sim-mark{position:fixed;top:45%;left:0;right:0;text-align:center;transform:rotate(-28deg);font-size:72px;
font-weight:900;color:rgba(198,40,40,.09);pointer-events:none;z-index:0;white-space:nowrap}
footer{color:#555;font-size:11px;border-top:1px solid #ccc;margin-top:24px;padding-top:6px}
@page{size:A4;margin:14mm 12mm}
@media print{.sim-top{position:fixed;left:0;right:0}main{padding-top:44px}section{break-inside:auto}
h2{break-after:avoid}figure,tr{break-inside:avoid}}
"""


def render_html(run: Any, signatures: Sequence[Any] | None = None) -> str:
    """The report of one stored run (a `StoredRun` from `Store.get_run`) as a complete HTML document."""
    return html_document(build_report(run, signatures))


def html_document(report: Report) -> str:
    """A built report as HTML; `render_html` is the usual entry point."""
    sim = report.simulated
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f'<meta name="generator" content="{escape(report.generator)}">',
             f"<title>{escape(('[SIMULATED] ' if sim else '') + report.title)} — {escape(report.run_id)}</title>",
             f"<style>{CSS}</style>", "</head>", "<body>"]
    if sim:
        parts.append(f'<div class="sim-top" role="alert">{escape(SIMULATED_BANNER)}</div>')
        parts.append(f'<div class="sim-mark" aria-hidden="true">{escape(SIMULATED_BANNER)}</div>')
    parts += ["<main>", "<header>", f"<h1>{escape(report.title)}</h1>",
              f'<p class="subtitle">{escape(report.subtitle)} · run {escape(report.run_id)}</p>',
              f'<div class="verdict t-{escape(report.verdict.tone)}">{escape(report.verdict.text)}'
              f'{" (SIMULATED)" if sim else ""}</div>', "</header>"]
    parts += [_section(s, sim) for s in report.sections]
    parts += [f"<footer>{escape(report.footer())}</footer>", "</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _section(section: Section, simulated: bool) -> str:
    out = [f'<section id="{escape(section.key)}">', f"<h2>{escape(section.title)}</h2>"]
    if simulated:
        out.append(f'<div class="sim-section">{escape(SIMULATED_BANNER)}</div>')
    out += [_block(b) for b in section.blocks]
    out.append("</section>")
    return "\n".join(out)


def _block(block: Block) -> str:
    if isinstance(block, Fields):
        return _fields(block)
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Note):
        return f'<div class="note t-{escape(block.tone)}">{escape(block.text)}</div>'
    if isinstance(block, Plot):
        return _plot(block)
    raise TypeError(f"a report block cannot be {type(block).__name__}")


def _td(cell: Cell, tag: str = "td") -> str:
    tone = f' class="t-{escape(cell.tone)}"' if cell.tone else ""
    return f"<{tag}{tone}>{escape(cell.text)}</{tag}>"


def _fields(block: Fields) -> str:
    caption = f"<caption>{escape(block.caption)}</caption>" if block.caption else ""
    rows = "".join(f"<tr><th>{escape(label)}</th>{_td(cell)}</tr>" for label, cell in block.rows)
    return f'<table class="fields">{caption}<tbody>{rows}</tbody></table>'


def _table(block: Table) -> str:
    caption = f"<caption>{escape(block.caption)}</caption>" if block.caption else ""
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in block.columns)
    body = []
    for row in block.rows:
        failed = ' class="row-fail"' if any(c.tone == "fail" for c in row) else ""
        body.append(f"<tr{failed}>{''.join(_td(c) for c in row)}</tr>")
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _plot(plot: Plot) -> str:
    fig = new_figure(PLOT_WIDTH, plot.height)
    plot.draw(fig.add_subplot())
    return f"<figure>{figure_svg(fig)}<figcaption>{escape(plot.caption)}</figcaption></figure>"
