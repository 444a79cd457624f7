"""Report plots drawn with matplotlib's Agg canvas (no pyplot, no display): a kV waveform and check results.

`draw_*` draw on an Axes the caller owns (the PDF places them on its pages); `*_figure` make a standalone
figure; `figure_svg` / `figure_png` turn a figure into inline SVG text or PNG bytes, `write_figure` into a
.png or .svg file. Results of ± tolerances are drawn as the deviation from the set value against ±allowed, so
stations of different set values share one scale; ≤ / ≥ tolerances are drawn as the value against its bound.
A trend (`trend_figure`) draws one panel per station: its values over time against its band.
"""

from __future__ import annotations

import io
import os
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from ..errors import ConfigError, RecordError
from ..verdict import LOOKS
from .bands import TWO_SIDED, Band, band_of, tolerance_text
from .model import SIMULATED_BANNER
from .text import num, split_setting

VERDICT_COLOURS = {str(v): look.colour for v, look in LOOKS.items()}
VERDICT_MARKERS = {str(v): look.marker for v, look in LOOKS.items()}
ACCEPT_COLOUR, WARN_ZONE_COLOUR, TRACE_COLOUR = "#c8e6c9", "#ffe0b2", "#1f4e79"
SIMULATED_COLOUR = VERDICT_COLOURS["FAIL"]
FILE_FORMATS = (".png", ".svg")
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


def file_format(path: str | os.PathLike[str]) -> str:
    """'.png' or '.svg', from the file's suffix (any case); a ConfigError naming any other suffix."""
    suffix = Path(path).suffix
    if suffix.lower() in FILE_FORMATS:
        return suffix.lower()
    said = f"from its suffix '{suffix}'" if suffix else "(it has no suffix)"
    raise ConfigError(f"cannot tell the plot format of {path} {said}: the accepted suffixes are "
                      f"{' and '.join(FILE_FORMATS)}",
                      fix=f"name the file {Path(path).stem or 'plot'}.png or {Path(path).stem or 'plot'}.svg")


def write_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """The figure written to `path` as PNG or SVG (by its suffix); the path written.

    The image is drawn in memory first, so nothing is written when drawing fails; a RecordError with the fix
    when the folder does not exist or cannot be written to.
    """
    target = Path(path)
    fmt = file_format(target)
    data = (figure_png(fig, dpi=150) if fmt == ".png"
            else ('<?xml version="1.0" encoding="utf-8"?>\n' + figure_svg(fig) + "\n").encode("utf-8"))
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise RecordError(f"cannot write the plot to {target}: {exc.strerror or exc}",
                          fix="give a path in a folder that exists and that you may write to") from None
    return target


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


def _value_range(values: Iterable[float], bands: Iterable[Band | None]) -> tuple[float, float]:
    """The y range that shows the values and the bands' finite edges (and 0 below an upper bound of ≥ 0 values)."""
    edges = list(values)
    for b in bands:
        if b is not None:
            edges += [v for v in (b.low, b.high) if v is not None]
            if b.low is None and min(edges) >= 0:
                edges.append(0.0)
    return _axis_limits(edges)


def _filled(band: Band, bottom: float, top: float) -> tuple[float, float, float, float]:
    """low, high, pass_low, pass_high of a band with its open sides closed at the axis' bottom and top."""
    low = band.low if band.low is not None else bottom
    high = band.high if band.high is not None else top
    plow = band.pass_low if band.pass_low is not None else low
    phigh = band.pass_high if band.pass_high is not None else high
    return low, high, plow, phigh


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
    shown = [_shown(c, b, relative) for c, b in zip(checks, bands, strict=True)]
    bottom, top = _value_range([y for y, _ in shown], [b for _, b in shown])
    unit = checks[0].unit or ""
    warned = False
    for x, (check, (y, band)) in enumerate(zip(checks, shown, strict=True)):
        if band is not None:
            low, high, plow, phigh = _filled(band, bottom, top)
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


def group_checks(checks: Iterable[Any], by: str = "check_id") -> dict[str, list[Any]]:
    """Checks by check id (or by another attribute, e.g. a trend point's `where`: its station and setting), in
    the order they were recorded, skipping those without a numeric value."""
    groups: dict[str, list[Any]] = {}
    for c in checks:
        if isinstance(c.value, (int, float)):
            groups.setdefault(getattr(c, by), []).append(c)
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
    for ax, group in zip(axes, groups.values(), strict=True):
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


def _when(point: Any) -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(point.started_at)


def _time_range(points: Sequence[Any]) -> tuple[float, float]:
    """The x range (matplotlib date numbers) of the points' run times, padded; an hour each side for one time."""
    from matplotlib.dates import date2num

    times = [float(date2num(_when(p))) for p in points]
    low, high = min(times), max(times)
    pad = 0.06 * (high - low) or 1 / 24
    return low - pad, high + pad


def _draw_trend_band(ax: Any, points: Sequence[Any], edges: Sequence[float], bands: Sequence[Band | None],
                     bottom: float, top: float) -> list[Any]:
    """The runs' limit band and set value as steps between `edges`; the legend handles saying what they are."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    nan = float("nan")
    latest, unit = points[-1], points[-1].unit or ""
    if all(b is None for b in bands):
        return [Patch(color="none", label=f"tolerance {latest.limit_text} (no band in {unit or 'the value'})")]
    spans = [_filled(b, bottom, top)[:2] if b is not None else (nan, nan) for b in bands]
    lows, highs = [low for low, _ in spans], [high for _, high in spans]
    ax.fill_between(edges, lows + lows[-1:], highs + highs[-1:], step="post", color=ACCEPT_COLOUR, linewidth=0)
    tolerances = {tolerance_text(p.check) for p in points if p.check is not None}
    latest_text = tolerance_text(latest.check) if latest.check is not None else latest.limit_text
    handles: list[Any] = [Patch(color=ACCEPT_COLOUR, label=f"within tolerance: {latest_text}"
                                + (" (latest run)" if len(tolerances) > 1 else ""))]
    nominals = [b.nominal if b is not None and b.nominal is not None else nan for b in bands]
    known = [n for n in nominals if n == n]
    if known:
        ax.step(edges, nominals + nominals[-1:], where="post", color="#555555", linestyle="--", linewidth=0.8)
        handles.append(Line2D([], [], color="#555555", linestyle="--", linewidth=0.8,
                              label=f"set {num(known[-1])} {unit}".rstrip()))
    return handles


def draw_trend(ax: Any, points: Sequence[Any], *, xlim: tuple[float, float] | None = None, title: str = "",
               xlabel: bool = True) -> None:
    """One station's values over time: a marker per run in its verdict's colour and shape, over the limit band.

    The band and the set value are those each run was judged against (from its stored check), drawn as a step
    that changes half-way between two runs when they differ; open sides (≤ / ≥ limits) reach the axis' edge.
    `xlim` (date numbers) lets several panels share one time axis.
    """
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
    from matplotlib.lines import Line2D

    points = list(points)
    if not points:
        raise ValueError("there are no trend points to plot")
    xs = [float(date2num(_when(p))) for p in points]
    ys = [float(p.value) for p in points]
    bands = [band_of(p.check) if p.check is not None else None for p in points]
    left, right = xlim or _time_range(points)
    bottom, top = _value_range(ys, bands)
    edges = [left] + [(a + b) / 2 for a, b in pairwise(xs)] + [right]
    handles = _draw_trend_band(ax, points, edges, bands, bottom, top)
    ax.plot(xs, ys, color=TRACE_COLOUR, linewidth=0.8, alpha=0.6)
    for verdict in dict.fromkeys(p.verdict for p in points):
        mine = [(x, y) for x, y, p in zip(xs, ys, points, strict=True) if p.verdict == verdict]
        colour, marker = VERDICT_COLOURS.get(verdict, "#000000"), VERDICT_MARKERS.get(verdict, "D")
        ax.plot([x for x, _ in mine], [y for _, y in mine], marker, color=colour, markersize=5, linestyle="none")
        handles.append(Line2D([], [], marker=marker, color=colour, linestyle="none", markersize=5, label=verdict))
    unit, latest = points[-1].unit or "", points[-1]
    ax.annotate(f"{num(latest.value)} {unit}".rstrip(), (xs[-1], ys[-1]), xytext=(-4, 5), textcoords="offset points",
                ha="right", fontsize=6.5, color=VERDICT_COLOURS.get(latest.verdict, "#000000"), **_TEXT)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.xaxis.get_offset_text().set_fontsize(7)
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.tick_params(labelsize=7)
    ax.set_ylabel(unit or "value (no unit)", fontsize=8, **_TEXT)
    if xlabel:
        ax.set_xlabel("run started (UTC)", fontsize=8, **_TEXT)
    ax.grid(True, linewidth=0.3, alpha=0.6)
    if title:
        ax.set_title(title, fontsize=8, loc="left", **_TEXT)
    ax.legend(handles=handles, fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def trend_title(points: Sequence[Any], room: str, result: str) -> str:
    """'kvp-accuracy in room 3: kVp accuracy', with the check's title as last recorded, when it has one."""
    check = points[-1].check if points else None
    title = (check.title or "").strip() if check is not None else ""
    return f"{result} in room {room}" + (f": {title}" if title and title != result else "")


def trend_caption(points: Sequence[Any]) -> str:
    """Each tolerance the runs were judged against, with its limit set and source, oldest first."""
    limits: dict[tuple[str, str, str], None] = {}
    for p in points:
        limit_set = p.check.limit_set if p.check is not None else ""
        limits[(p.limit_text, limit_set, p.source)] = None
    lines = []
    for text, limit_set, source in limits:
        line = f"Limit {text}" + (f" ({limit_set})" if limit_set else "") + f" — source: {source}"
        lines += textwrap.wrap(line, 130, subsequent_indent="    ")
    return "\n".join(lines)


def trend_figure(points: Sequence[Any], room: str, result: str) -> Any:
    """A standalone figure of a check's trend in a room: one panel per station, sharing the time axis.

    The title names the check and the room; the caption the limits and their sources; a run that was
    SIMULATED puts the SIMULATED mark on the figure (with how many runs were, when not all).
    """
    series = group_checks(points, by="where")
    if not series:
        raise ValueError("there are no trend points with a value to plot")
    shown = [p for group in series.values() for p in group]
    runs = {p.run_id: p.simulated for p in shown}
    fig = new_figure(8.0, 1.3 + 1.9 * len(series))
    axes = fig.subplots(len(series), 1, squeeze=False, sharex=True)[:, 0]
    xlim = _time_range(shown)
    for i, (ax, (where, group)) in enumerate(zip(axes, series.items(), strict=True)):
        draw_trend(ax, group, xlim=xlim, title="" if where == "run" else where, xlabel=i == len(series) - 1)
    first, last = min(p.started_at for p in shown), max(p.started_at for p in shown)
    span = f"{first[:10]} to {last[:10]}" if first[:10] != last[:10] else first[:10]
    heading = "\n".join(textwrap.wrap(trend_title(shown, room, result), 50))
    fig.suptitle(f"{heading}\n{len(runs)} complete run{'s' * (len(runs) != 1)}, {span}",
                 x=0.01, ha="left", fontsize=10, fontweight="bold", **_TEXT)
    fig.supxlabel(trend_caption(shown), x=0.01, ha="left", fontsize=6.5, color="#333333", **_TEXT)
    simulated = sum(runs.values())
    if simulated:
        mark = SIMULATED_BANNER + ("" if simulated == len(runs) else f" ({simulated} of {len(runs)} runs)")
        fig.text(0.99, 0.995, mark, ha="right", va="top", fontsize=9, fontweight="bold", color=SIMULATED_COLOUR,
                 **_TEXT)
        fig.text(0.5, 0.5, "SIMULATED", rotation=30, fontsize=48, fontweight="bold", color=SIMULATED_COLOUR,
                 alpha=0.08, ha="center", va="center", zorder=100, **_TEXT)
    return fig


def write_trend(points: Sequence[Any], path: str | os.PathLike[str], *, room: str, result: str) -> Path | None:
    """The trend plot written to `path` (.png or .svg); the path, or None (and no file) when nothing is to plot."""
    file_format(path)
    if not group_checks(points, by="where"):
        return None
    return write_figure(trend_figure(points, room, result), path)
