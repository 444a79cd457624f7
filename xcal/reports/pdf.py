"""A run's report as a PDF drawn with matplotlib alone (PdfPages), so it works after a plain pip install.

The content is the HTML report's (`content.build_report`), laid out on A4 pages: text, tables and the plots
as vector graphics. A simulated run gets a SIMULATED banner, a watermark and a banner under every heading.
The file is written next to its destination and moved into place, so a failed write leaves no half file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import RecordError
from .content import build_report
from .model import SIMULATED_BANNER, Cell, Fields, Note, Plot, Report, Section, Table
from .pdf_layout import Pages

BODY, TABLE = 8.0, 7.0
LABEL_WIDTH = 1.9


def write_pdf(run: Any, path: str | os.PathLike[str], signatures: Sequence[Any] | None = None) -> Path:
    """Write the report of one stored run (a `StoredRun`) to `path` as PDF and return the path written."""
    return write_report_pdf(build_report(run, signatures), path)


def write_report_pdf(report: Report, path: str | os.PathLike[str]) -> Path:
    """A built report as PDF at `path`; an XcalError with the fix when the file cannot be written."""
    from matplotlib.backends.backend_pdf import PdfPages

    target = Path(path)
    part = target.with_name(target.name + ".part")
    metadata = {"Title": ("[SIMULATED] " if report.simulated else "") + report.title,
                "Subject": f"xcal run {report.run_id}: {report.verdict.text}",
                "Keywords": "SIMULATED, not a measurement" if report.simulated else "X-ray QC",
                "Creator": report.generator}
    try:
        with PdfPages(part, metadata=metadata) as pdf:
            pages = Pages(pdf, header=f"{report.title} · run {report.run_id}", footer=report.footer(),
                          simulated=report.simulated, banner=SIMULATED_BANNER)
            _title(pages, report)
            for section in report.sections:
                _section(pages, section)
            pages.close()
        os.replace(part, target)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise RecordError(f"cannot write the PDF report to {target}: {exc.strerror or exc}",
                        fix="give a path in a folder that exists and that you may write to") from None
    return target


def _title(pages: Pages, report: Report) -> None:
    pages.start()
    pages.paragraph(report.title, 16, bold=True, gap=0.02)
    pages.paragraph(f"{report.subtitle} · run {report.run_id}", 9, colour="#444444", gap=0.1)
    verdict = report.verdict.text + (" (SIMULATED)" if report.simulated else "")
    pages.note(f"Overall verdict: {verdict}", report.verdict.tone or "alert")


def _section(pages: Pages, section: Section) -> None:
    pages.heading(section.title)
    for block in section.blocks:
        if isinstance(block, Fields):
            _fields(pages, block)
        elif isinstance(block, Table):
            n = len(block.columns)
            widths = _widths(block.weights if len(block.weights) == n else (1.0,) * n, pages.width)
            pages.grid(block.columns, block.rows, widths, TABLE, block.caption)
        elif isinstance(block, Note):
            pages.note(block.text, block.tone)
        elif isinstance(block, Plot):
            block.draw(pages.axes(block.height * 1.1, block.caption))
        else:
            raise TypeError(f"a report block cannot be {type(block).__name__}")


def _fields(pages: Pages, block: Fields) -> None:
    rows = [(Cell(label, "muted"), cell) for label, cell in block.rows]
    pages.grid(None, rows, (LABEL_WIDTH, pages.width - LABEL_WIDTH), BODY, block.caption)


def _widths(weights: Sequence[float], total: float) -> tuple[float, ...]:
    scale = total / sum(weights)
    return tuple(w * scale for w in weights)
