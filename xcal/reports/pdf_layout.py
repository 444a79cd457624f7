"""A4 page layout on matplotlib figures: a cursor running down the page, measured word wrap, boxes and tables.

Text is measured with the Agg renderer's font metrics, so wrapping fits the real glyph widths without any
system library or browser. Positions are in inches from the page's top-left corner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

A4 = (8.27, 11.69)
LEFT, RIGHT, TOP, BOTTOM = 0.6, 0.6, 0.95, 0.7
TEXT_COLOUR, RULE_COLOUR, HEAD_FILL = "#1a1a1a", "#b5b5b5", "#eef2f7"
TONES = {"pass": ("#1b5e20", "#e8f5e9"), "warn": ("#8a3b00", "#fff3e0"), "fail": ("#b71c1c", "#ffebee"),
         "alert": ("#4e342e", "#fff59d"), "muted": ("#757575", None), "empty": ("#555555", "#fafafa")}
SIM_RED = "#c62828"
REFERENCE_SIZE = 100.0
SAFETY = 0.96


class TextMeasure:
    """Widths of text in inches, from the Agg renderer's metrics for matplotlib's default font."""

    def __init__(self) -> None:
        from matplotlib.backends.backend_agg import RendererAgg

        self._renderer = RendererAgg(10, 10, 72)
        self._cache: dict[tuple[str, bool], float] = {}

    def width(self, text: str, size: float, bold: bool = False) -> float:
        """Measured at a large reference size and scaled, so font hinting at small sizes cannot shrink it."""
        key = (text, bold)
        if key not in self._cache:
            from matplotlib.font_manager import FontProperties

            prop = FontProperties(size=REFERENCE_SIZE, weight="bold" if bold else "normal")
            w, _, _ = self._renderer.get_text_width_height_descent(text, prop, ismath=False)
            self._cache[key] = w / 72.0
        return self._cache[key] * size / REFERENCE_SIZE

    def wrap(self, text: str, width: float, size: float, bold: bool = False) -> list[str]:
        """`text` broken into lines no wider than `width` inches; words longer than a line are split."""
        width *= SAFETY
        space = self.width(" ", size, bold)
        lines: list[str] = []
        for paragraph in (text or "").split("\n"):
            line, used = "", 0.0
            for word in paragraph.split(" "):
                w = self.width(word, size, bold)
                if line and used + space + w <= width:
                    line, used = f"{line} {word}", used + space + w
                    continue
                if line:
                    lines.append(line)
                while w > width and len(word) > 1:
                    cut = self._fit(word, width, size, bold)
                    lines.append(word[:cut])
                    word = word[cut:]
                    w = self.width(word, size, bold)
                line, used = word, w
            lines.append(line)
        return lines

    def _fit(self, word: str, width: float, size: float, bold: bool) -> int:
        low, high = 1, len(word)
        while low < high:
            mid = (low + high + 1) // 2
            if self.width(word[:mid], size, bold) <= width:
                low = mid
            else:
                high = mid - 1
        return low


class Pages:
    """Writes A4 pages into a PdfPages: each page gets the header, footer, page number and, when simulated,
    a SIMULATED banner and watermark."""

    def __init__(self, pdf: Any, *, header: str, footer: str, simulated: bool, banner: str) -> None:
        self.pdf, self.header, self.footer, self.simulated, self.banner = pdf, header, footer, simulated, banner
        self.measure = TextMeasure()
        self.fig: Any = None
        self.page = 0
        self.y = TOP
        self.width = A4[0] - LEFT - RIGHT
        self.on_new_page: Callable[[], None] | None = None

    def start(self) -> None:
        from matplotlib.figure import Figure

        if self.fig is not None:
            self._finish()
        self.fig = Figure(figsize=A4)
        self.page += 1
        self.y = TOP
        self.text(LEFT, 0.55, self.header, 7, colour="#666666")
        if self.simulated:
            self.rect(0, 0, A4[0], 0.42, SIM_RED)
            self.text(A4[0] / 2, 0.1, self.banner, 13, bold=True, colour="white", ha="center")
            self.fig.text(0.5, 0.5, self.banner, rotation=40, fontsize=34, fontweight="bold", color=SIM_RED,
                          alpha=0.12, ha="center", va="center", zorder=100, parse_math=False)

    def close(self) -> None:
        if self.fig is not None:
            self._finish()
            self.fig = None

    def _finish(self) -> None:
        self.text(LEFT, A4[1] - 0.45, f"page {self.page} · {self.footer}", 6.5, colour="#666666")
        self.pdf.savefig(self.fig)

    def room_for(self, height: float) -> bool:
        """Start a new page unless `height` inches still fit; True when a new page was started."""
        if self.fig is None or self.y + height > A4[1] - BOTTOM:
            self.start()
            return True
        return False

    def text(self, x: float, y: float, s: str, size: float, *, bold: bool = False, italic: bool = False,
             colour: str = TEXT_COLOUR, ha: str = "left") -> None:
        self.fig.text(x / A4[0], 1 - y / A4[1], s, fontsize=size, fontweight="bold" if bold else "normal",
                      fontstyle="italic" if italic else "normal", color=colour, ha=ha, va="top",
                      parse_math=False)

    def rect(self, x: float, y: float, w: float, h: float, fill: str | None, *, edge: str | None = None,
             dashed: bool = False, linewidth: float = 0.5) -> None:
        from matplotlib.patches import Rectangle

        self.fig.add_artist(Rectangle((x / A4[0], 1 - (y + h) / A4[1]), w / A4[0], h / A4[1],
                                      transform=self.fig.transFigure, facecolor=fill or "none",
                                      edgecolor=edge or "none", linewidth=linewidth,
                                      linestyle="--" if dashed else "-"))

    def line_height(self, size: float) -> float:
        return size * 1.32 / 72.0

    def paragraph(self, s: str, size: float, *, bold: bool = False, italic: bool = False,
                  colour: str = TEXT_COLOUR, gap: float = 0.06) -> None:
        for line in self.measure.wrap(s, self.width, size, bold):
            self.room_for(self.line_height(size))
            self.text(LEFT, self.y, line, size, bold=bold, italic=italic, colour=colour)
            self.y += self.line_height(size)
        self.y += gap

    def heading(self, title: str) -> None:
        self.room_for(1.2)
        self.y += 0.12
        self.text(LEFT, self.y, title, 12, bold=True, colour="#1f4e79")
        self.y += self.line_height(12) + 0.02
        self.rect(LEFT, self.y, self.width, 0.015, "#1f4e79")
        self.y += 0.06
        if self.simulated:
            self.rect(LEFT, self.y, self.width, 0.2, SIM_RED)
            self.text(LEFT + self.width / 2, self.y + 0.035, self.banner, 8, bold=True, colour="white", ha="center")
            self.y += 0.28

    def note(self, s: str, tone: str) -> None:
        size, pad = 8.5, 0.08
        colour, fill = TONES.get(tone, (TEXT_COLOUR, None))
        lines = self.measure.wrap(s, self.width - 2 * pad, size, bold=tone in ("alert", "fail"))
        h = len(lines) * self.line_height(size) + 2 * pad
        self.room_for(h + 0.08)
        self.rect(LEFT, self.y, self.width, h, fill, edge=colour if tone else RULE_COLOUR, dashed=tone == "empty",
                  linewidth=1.2 if tone in ("alert", "fail") else 0.7)
        for i, line in enumerate(lines):
            self.text(LEFT + pad, self.y + pad + i * self.line_height(size), line, size,
                      bold=tone in ("alert", "fail"), italic=tone == "empty", colour=colour)
        self.y += h + 0.1

    def grid(self, columns: Sequence[str] | None, rows: Sequence[Sequence[Any]], widths: Sequence[float],
             size: float, caption: str = "") -> None:
        """A table: `rows` of cells with `.text` and `.tone`; the header row is repeated on each new page."""
        pad = 0.04
        lh = self.line_height(size)

        def wrapped(texts: Sequence[str], bold: bool) -> list[list[str]]:
            return [self.measure.wrap(t, w - 2 * pad, size, bold)[:60] for t, w in zip(texts, widths, strict=True)]

        head = wrapped(columns, True) if columns else None
        head_h = (max(len(c) for c in head) * lh + 2 * pad) if head else 0.0

        def draw_head(title: str) -> None:
            if title:
                self.text(LEFT, self.y, title, 8.5, bold=True)
                self.y += self.line_height(8.5) + 0.02
            if head:
                self._row(head, [(TEXT_COLOUR, HEAD_FILL)] * len(head), widths, head_h, size, True)

        first = True
        for row in rows:
            cells = wrapped([c.text for c in row], False)
            h = max(len(c) for c in cells) * lh + 2 * pad
            title = caption if first else (f"{caption} (continued)" if caption else "")
            needed = h + (head_h + (self.line_height(8.5) + 0.02 if title else 0.0) if first else 0.0)
            if self.room_for(needed) or first:
                draw_head(title)
            first = False
            tones = [TONES.get(c.tone, (TEXT_COLOUR, None)) for c in row]
            self._row(cells, tones, widths, h, size, False, bold=[c.tone in ("fail", "pass") for c in row])
        if first and (head or caption):
            self.room_for(head_h + 0.3)
            draw_head(caption)
        self.y += 0.12

    def _row(self, cells: Sequence[Sequence[str]], tones: Sequence[tuple[str, str | None]], widths: Sequence[float],
             h: float, size: float, head: bool, bold: Sequence[bool] | None = None) -> None:
        x, pad, lh = LEFT, 0.04, self.line_height(size)
        for i, (lines, (colour, fill), w) in enumerate(zip(cells, tones, widths, strict=True)):
            self.rect(x, self.y, w, h, fill, edge=RULE_COLOUR, linewidth=0.4)
            for n, line in enumerate(lines):
                self.text(x + pad, self.y + pad + n * lh, line, size, bold=head or bool(bold and bold[i]),
                          colour=colour)
            x += w
        self.y += h

    def axes(self, height: float, caption: str) -> Any:
        """A new Axes `height` inches tall across the text width, with room for its labels and a caption below."""
        left, right, top, bottom = 0.7, 0.15, 0.3, 0.55
        cap_h = self.line_height(7.5) + 0.06
        self.room_for(height + cap_h + 0.1)
        W, H = A4
        ax = self.fig.add_axes(((LEFT + left) / W, 1 - (self.y + height - bottom) / H,
                                (self.width - left - right) / W, (height - top - bottom) / H))
        self.y += height
        self.text(LEFT, self.y, caption, 7.5, italic=True, colour="#444444")
        self.y += cap_h + 0.1
        return ax
