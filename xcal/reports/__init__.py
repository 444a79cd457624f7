"""Reports of stored runs for physicists and inspectors: `render_html` (self-contained HTML) and `write_pdf`.

Both show the same content, built once by `content.build_report` from a `StoredRun`; matplotlib is imported
only when a plot or a PDF is drawn, so importing this package stays light.
"""

from .html import render_html
from .pdf import write_pdf

__all__ = ["render_html", "write_pdf"]
