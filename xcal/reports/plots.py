"""Report plots drawn with matplotlib's Agg canvas (no pyplot, no display): a kV waveform and check results.

`draw_*` draw on an Axes the caller owns (the PDF places them on its pages); `*_figure` make a standalone
figure; `figure_svg` / `figure_png` turn a figure into inline SVG text or PNG bytes. Results of ± tolerances
are drawn as the deviation from the set value against ±allowed, so stations of different set values share one
scale; ≤ / ≥ tolerances are drawn as the value against its bound.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .bands import TWO_SIDED, Band, band_of
from .text import num, split_setting

VERDICT_COLOURS = {"PASS": "#2e7d32", "WARN": "#ef6c00", "FAIL": "#c62828", "NOT_DONE": "#757575"}
ACCEPT_COLOUR, WARN_ZONE_COLOUR, TRACE_COLOUR = "#c8e6c9", "#ffe0b2", "#1f4e79"
_TEXT = {"parse_math": False}


def new_figure(width: float, height: float) -> Any:
    """A matplotlib Figure on an explicit Agg canvas, independent of pyplot and of any global backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_svg(fig: Any) -> str:
    """The figure as one `<svg>` element (no XML prolog), text kept as text, ready to inline in HTML."""
    from matplotlib import rc_context

    out = io.StringIO()
    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg"):].strip()


def figure_png(fig: Any, dpi: int = 120) -> bytes:
    """The figure as PNG bytes."""
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi)
    return out.getvalue()


def waveform_series(data: Mapping[str, Any]) -> tuple[list[float], list[float], str]:
    """Times, samples and the time unit of a stored `waveform` reading's data; ValueError when it holds none."""
    if not isinstance(data, Mapping):
        raise ValueError("a waveform reading's data must be a mapping with 'interval' and 'samples'")
    samples = data.get("samples")
    interval = data.get("interval")
    if not samples or not isinstance(interval, (int, float)) or interval <= 0:
        raise ValueError("the waveform has no samples or no positive sample interval")
    values = [float(s) for s in samples]
    return [i * float(interval) for i in range(len(values))], values, str(data.get("interval_unit") or "ms")


def draw_waveform(ax: Any, data: Mapping[str, Any], *, unit: str = "kV", set_value: float | None = None,
                  title: str = "") -> None:
    """The kV trace of one exposure, its peak marked, and the set kV as a dashed line when known."""
    times, values, time_unit = waveform_series(data)
    ax.plot(times, values, color=TRACE_COLOUR, linewidth=0.9, label="measured")
    peak = max(range(len(values)), key=values.__getitem__)
    ax.plot([times[peak]], [values[peak]], "o", color=VERDICT_COLOURS["FAIL"], markersize=3)
    ax.annotate(f"max {num(values[peak])} {unit}", (times[peak], values[peak]), xytext=(4, 4),
                textcoords="offset points", fontsize=7, **_TEXT)
    if set_value is not None:
        ax.axhline(set_value, color="#555555", linestyle="--", linewidth=0.8, label=f"set {num(set_value)} {unit}")
    ax.set_xlabel(f"time ({time_unit})", fontsize=8, **_TEXT)
    ax.set_ylabel(f"tube voltage ({unit})", fontsize=8, **_TEXT)
    ax.set_xlim(times[0], times[-1] if len(times) > 1 else times[0] + 1)
    ax.set_ylim(bottom=min(0.0, min(values)), top=max(values + [set_value or 0.0]) * 1.12 or 1.0)
    ax.tick_params(labelsize=7)
    ax.grid(True, linewidth=0.3, alpha=0.6)
    if title:
        ax.set_title(title, fontsize=8, loc="left", **_TEXT)
    if set_value is not None:
        ax.legend(fontsize=6.5, loc="lower right")


def _axis_limits(points: Iterable[float]) -> tuple[float, float]:
    pts = list(points)
    low, high = min(pts), max(pts)
    pad = 0.12 * ((high - low) or abs(high) or 1.0)
    return low - pad, high + pad


def _shown(check: Any, band: Band | None, relative: bool) -> tuple[float, Band | None]:
    """The plotted y of a check and its band, shifted by the set value when plotting deviations."""
    if not relative or band is None:
        return float(check.value), band
    n = band.nominal or 0.0
    low, high, plow, phigh = (None if v is None else v - n for v in (band.low, band.high, band.pass_low,
                                                                       band.pass_high))
    return float(check.value) - n, Band(band.side, low, high, plow, phigh, 0.0)


def draw_results(ax: Any, checks: Sequence[Any], *, warn_fraction: float | None = None, title: str = "") -> None:
    """Each check of one kind (one per station or pair) as a marker in its verdict's colour over its limit band."""
    from matplotlib.patches import Patch, Rectangle

    checks = list(checks)
    if not checks:
        raise ValueError("there are no checks to plot")
    bands = [band_of(c, warn_fraction) for c in checks]
    relative = all(b is not None and b.side == TWO_SIDED for b in bands)
    shown = [_shown(c, b, relative) for c, b in zip(checks, bands)]
    edges = [y for y, _ in shown]
    for _, b in shown:
        if b is not None:
            edges += [v for v in (b.low, b.high) if v is not None]
            if b.low is None and min(edges) >= 0:
                edges.append(0.0)
    bottom, top = _axis_limits(edges)
    unit = checks[0].unit or ""
    warned = False
    for x, (check, (y, band)) in enumerate(zip(checks, shown)):
        if band is not None:
            low = band.low if band.low is not None else bottom
            high = band.high if band.high is not None else top
            plow = band.pass_low if band.pass_low is not None else low
            phigh = band.pass_high if band.pass_high is not None else high
            ax.add_patch(Rectangle((x - 0.3, low), 0.6, high - low, color=WARN_ZONE_COLOUR, linewidth=0))
            ax.add_patch(Rectangle((x - 0.3, plow), 0.6, phigh - plow, color=ACCEPT_COLOUR, linewidth=0))
            warned = warned or (plow, phigh) != (low, high)
            if band.nominal is not None:
                ax.plot([x - 0.3, x + 0.3], [band.nominal] * 2, color="#555555", linewidth=0.8)
        colour = VERDICT_COLOURS.get(check.verdict, "#000000")
        ax.plot([x], [y], "D", color=colour, markersize=5)
        ax.annotate(f"{num(check.value)} {unit}".rstrip(), (x, y), xytext=(6, -3), textcoords="offset points",
                    fontsize=6.5, color=colour, **_TEXT)
    ax.set_xlim(-0.6, len(checks) - 0.4)
    ax.set_ylim(bottom, top)
    ax.set_xticks(range(len(checks)), [_tick(c.setting) for c in checks], fontsize=6.5, **_TEXT)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_ylabel(f"measured − set ({unit})" if relative else (unit or "value (no unit)"), fontsize=8, **_TEXT)
    ax.grid(True, axis="y", linewidth=0.3, alpha=0.6)
    if title:
        ax.set_title(title, fontsize=8, loc="left", **_TEXT)
    handles = [Patch(color=ACCEPT_COLOUR, label="within tolerance")]
    if warned:
        handles.append(Patch(color=WARN_ZONE_COLOUR, label="warning zone"))
    ax.legend(handles=handles, fontsize=6.5, loc="best", framealpha=0.85)


def _tick(setting: str) -> str:
    where, label = split_setting(setting)
    return "\n".join([where] + textwrap.wrap(label, 14)) if label else where


def results_title(checks: Sequence[Any]) -> str:
    """The heading of a group of checks: title, tolerance as written and its limit set."""
    first = checks[0]
    return f"{first.title} — {first.limit_text} ({first.limit_set})"


def group_checks(checks: Iterable[Any]) -> dict[str, list[Any]]:
    """Checks by check id, in the order they were recorded, skipping those without a numeric value."""
    groups: dict[str, list[Any]] = {}
    for c in checks:
        if isinstance(c.value, (int, float)):
            groups.setdefault(c.check_id, []).append(c)
    return groups


def waveform_figure(data: Mapping[str, Any], *, unit: str = "kV", set_value: float | None = None,
                    title: str = "") -> Any:
    """A standalone figure of one exposure's kV waveform."""
    fig = new_figure(6.8, 2.6)
    draw_waveform(fig.add_subplot(), data, unit=unit, set_value=set_value, title=title)
    return fig


def results_figure(checks: Sequence[Any], warn_fractions: Mapping[str, float | None] | None = None) -> Any:
    """One row of axes per check id; `warn_fractions` by limit name adds the warning zones."""
    groups = group_checks(checks)
    if not groups:
        raise ValueError("there are no checks with a value to plot")
    fig = new_figure(6.8, 2.6 * len(groups))
    axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
    for ax, group in zip(axes, groups.values()):
        wf = (warn_fractions or {}).get(group[0].limit_name)
        draw_results(ax, group, warn_fraction=wf, title=results_title(group))
    return fig


def waveform_svg(data: Mapping[str, Any], **kw: Any) -> str:
    """One exposure's kV waveform as inline SVG text."""
    return figure_svg(waveform_figure(data, **kw))


def waveform_png(data: Mapping[str, Any], **kw: Any) -> bytes:
    """One exposure's kV waveform as PNG bytes."""
    return figure_png(waveform_figure(data, **kw))


def results_svg(checks: Sequence[Any], warn_fractions: Mapping[str, float | None] | None = None) -> str:
    """The checks against their limit bands as inline SVG text."""
    return figure_svg(results_figure(checks, warn_fractions))


def results_png(checks: Sequence[Any], warn_fractions: Mapping[str, float | None] | None = None) -> bytes:
    """The checks against their limit bands as PNG bytes."""
    return figure_png(results_figure(checks, warn_fractions))
