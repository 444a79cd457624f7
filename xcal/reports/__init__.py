"""Reports of stored runs for physicists and inspectors: `render_html` (self-contained HTML) and `write_pdf`.

Both show the same content, built once by `content.build_report` from a `StoredRun`; matplotlib is imported
only when a plot or a PDF is drawn, so importing this package stays light. A bundle's acceptance report
(`build_bundle_report`) is one Report over its members, written by the same `html_document` and
`write_report_pdf`.
"""

from .bundle import build_bundle_report
from .html import html_document, render_html
from .pdf import write_pdf, write_report_pdf

__all__ = ["build_bundle_report", "html_document", "render_html", "write_pdf", "write_report_pdf"]
