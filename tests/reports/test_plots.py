"""Report plots: a kV waveform, check results and a check's trend over runs as SVG text, PNG bytes and files,
and the limit bands behind them."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from xcal.errors import ConfigError, RecordError
from xcal.records.models import StoredCheck
from xcal.records.trend import TrendPoint
from xcal.reports import plots
from xcal.reports.bands import LOWER, TWO_SIDED, UPPER, Band, band_of, tolerance_text

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"
SOURCE = "EX-DXR500-SM rev. C, section 9.2"


def kvp(station: int, set_kv: float, value: float, allowed: float, verdict: str) -> StoredCheck:
    return StoredCheck(check_id="kvp-accuracy", title="kVp accuracy", station=station,
                       setting=f"{station}: {set_kv:g} kV 200 mA 50 ms", value=value, nominal=set_kv, unit="kV",
                       deviation=value - set_kv, allowed=allowed, limit_name="kvp-accuracy",
                       limit_text="±max(5 %, 2 kV)", limit_set="example-dxr-manufacturer", source=SOURCE,
                       verdict=verdict)


def linearity(pair: str, value: float, verdict: str) -> StoredCheck:
    return StoredCheck(check_id="ma-linearity", title="mA linearity", station=int(pair[-1]),
                       setting=f"{pair}: 80 kV 320 mA 50 ms", value=value, nominal=None, unit="", deviation=None,
                       allowed=0.1, limit_name="ma-linearity", limit_text="≤ 0.10", limit_set="cfr-1020",
                       source="21 CFR 1020.31(c)", verdict=verdict)


CHECKS = [kvp(1, 60, 59.54, 3.0, "PASS"), kvp(4, 120, 127.42, 6.0, "FAIL"),
          linearity("1–2", 0.0017, "PASS"), linearity("2–3", 0.1497, "FAIL")]
WAVE = {"interval": 0.05, "interval_unit": "ms",
        "samples": [0.0] * 10 + [40.0, 79.0, 80.5, 79.2, 80.4, 79.6, 80.3] + [0.0] * 5}


def svg_root(text: str) -> ET.Element:
    assert text.startswith("<svg")
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    return root


def svg_text(root: ET.Element) -> str:
    return " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def test_waveform_svg_is_valid_and_labels_peak_and_axes() -> None:
    root = svg_root(plots.waveform_svg(WAVE, unit="kV", set_value=80.0, title="exposure 4"))
    text = svg_text(root)
    assert "max 80.5 kV" in text and "set 80 kV" in text and "time (ms)" in text and "exposure 4" in text
    trace = [p for p in root.iter(f"{SVG}path") if p.get("d", "").count("L") >= len(WAVE["samples"]) - 1]
    assert trace, "the trace should be one path through every sample"


def test_waveform_png_has_the_png_signature() -> None:
    png = plots.waveform_png(WAVE)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 2000


@pytest.mark.parametrize("data", [{}, {"interval": 0.05, "samples": []}, {"interval": 0, "samples": [1.0]},
                                  [1.0, 2.0]])
def test_waveform_without_samples_or_interval_is_refused(data: object) -> None:
    with pytest.raises(ValueError, match="waveform"):
        plots.waveform_svg(data)  # type: ignore[arg-type]


def test_results_svg_has_one_panel_per_check_with_values_and_stations() -> None:
    root = svg_root(plots.results_svg(CHECKS, {"kvp-accuracy": 0.8}))
    text = svg_text(root)
    for expected in ("127.4 kV", "59.54 kV", "0.1497", "measured − set (kV)", "value (no unit)", "2–3",
                     "kVp accuracy — ±max(5 %, 2 kV) (example-dxr-manufacturer)", "warning zone"):
        assert expected in text, expected
    assert len([g for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("axes_")]) == 2


def test_results_png_has_the_png_signature() -> None:
    assert plots.results_png(CHECKS).startswith(PNG_SIGNATURE)


def test_results_without_checks_is_refused() -> None:
    with pytest.raises(ValueError, match="no checks"):
        plots.results_svg([])


def test_two_sided_band_comes_from_set_value_and_allowed_with_the_warn_zone_inside() -> None:
    band = band_of(CHECKS[1], 0.8)
    assert band.side == TWO_SIDED
    assert (band.low, band.high) == (114.0, 126.0)
    assert band.pass_low == pytest.approx(115.2) and band.pass_high == pytest.approx(124.8)
    assert tolerance_text(CHECKS[1]) == "±max(5 %, 2 kV) = ±6 kV (114–126 kV)"


def test_upper_bound_band_and_bound_in_another_unit_is_converted() -> None:
    assert band_of(CHECKS[3]) == Band(UPPER, None, 0.1, None, 0.1)
    leakage = StoredCheck(check_id="leakage", title="Leakage", station=None, setting="run", value=610.0, nominal=None,
                          unit="µGy/h", deviation=None, allowed=0.88, limit_name="leakage",
                          limit_text="≤ 0.88 mGy/h", limit_set="cfr-1020", source="21 CFR 1020.30(k)", verdict="PASS")
    assert band_of(leakage).high == pytest.approx(880.0)
    mismatched = dataclasses.replace(leakage, value=0.5, unit="")
    assert band_of(mismatched) is None


def test_lower_bound_from_a_table_uses_the_stored_bound() -> None:
    hvl = StoredCheck(check_id="hvl-minimum", title="HVL", station=None, setting="run", value=3.28, nominal=None,
                      unit="mm", deviation=None, allowed=2.9, limit_name="hvl-minimum",
                      limit_text="≥ table hvl-minimum-c", limit_set="cfr-1020", source="21 CFR 1020.30(m)(1)",
                      verdict="PASS")
    band = band_of(hvl, None)
    assert (band.side, band.low, band.high) == (LOWER, 2.9, None)
    assert tolerance_text(hvl) == "≥ table hvl-minimum-c = ≥ 2.9 mm"
    assert plots.results_png([hvl]).startswith(PNG_SIGNATURE)


def trend_point(run: str, month: int, check: StoredCheck, simulated: bool = True) -> TrendPoint:
    return TrendPoint(run, f"2026-{month:02d}-10T09:00:00+00:00", check.setting, check.value, check.unit,
                      check.limit_text, check.source, check.verdict, simulated, check)


# Three runs (January to March) at two stations; the March run is a real one and fails at 120 kV.
TREND = [trend_point("A", 1, kvp(1, 60, 59.5, 3.0, "PASS")), trend_point("A", 1, kvp(4, 120, 121.0, 6.0, "PASS")),
         trend_point("B", 2, kvp(1, 60, 60.8, 3.0, "PASS")), trend_point("B", 2, kvp(4, 120, 124.9, 6.0, "WARN")),
         trend_point("C", 3, kvp(1, 60, 61.1, 3.0, "PASS"), False),
         trend_point("C", 3, kvp(4, 120, 127.4, 6.0, "FAIL"), False)]


def _markers(ax) -> list:
    """The run markers of a trend panel: the lines drawn as markers only."""
    return [line for line in ax.lines if line.get_linestyle() == "None"]


def _band(ax) -> tuple[float, float]:
    """The lowest and highest y of the panel's filled tolerance band."""
    ys = [y for collection in ax.collections for path in collection.get_paths() for _, y in path.vertices]
    return min(ys), max(ys)


def test_trend_figure_has_a_panel_per_station_a_marker_per_run_and_each_station_s_band() -> None:
    fig = plots.trend_figure(TREND, "3", "kvp-accuracy")
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["1: 60 kV 200 mA 50 ms", "4: 120 kV 200 mA 50 ms"]
    for ax in fig.axes:
        xs = [x for line in _markers(ax) for x in line.get_xdata()]
        assert len(xs) == 3 and len(set(xs)) == 3                     # one point per run, each at its own time
    fail = [line for line in _markers(fig.axes[1]) if line.get_color() == plots.VERDICT_COLOURS["FAIL"]]
    assert [list(line.get_ydata()) for line in fail] == [[127.4]]
    assert _band(fig.axes[0]) == pytest.approx((57.0, 63.0))        # 60 kV ± max(5 % = 3 kV, 2 kV)
    assert _band(fig.axes[1]) == pytest.approx((114.0, 126.0))      # 120 kV ± max(5 % = 6 kV, 2 kV)
    assert fig.axes[0].get_ylabel() == "kV" and fig.axes[1].get_xlabel() == "run started (UTC)"
    title = fig.get_suptitle()
    assert "kvp-accuracy in room 3" in title and "3 complete runs, 2026-01-10 to 2026-03-10" in title
    texts = [t.get_text() for t in fig.texts]
    assert "SIMULATED — not a measurement (2 of 3 runs)" in texts
    caption = fig.get_supxlabel()
    assert "±max(5 %, 2 kV) (example-dxr-manufacturer)" in caption and SOURCE in caption


def test_a_trend_of_real_runs_has_no_simulated_mark() -> None:
    fig = plots.trend_figure([p for p in TREND if not p.simulated], "3", "kvp-accuracy")
    assert not any("SIMULATED" in t.get_text() for t in fig.texts)


def test_an_upper_bound_band_reaches_down_to_the_axis_and_a_changed_limit_steps_between_runs() -> None:
    ax = plots.trend_figure([trend_point("A", 1, linearity("1–2", 0.02, "PASS"))], "7", "ma-linearity").axes[0]
    assert _band(ax) == pytest.approx((ax.get_ylim()[0], 0.1))
    changed = [trend_point("A", 1, kvp(1, 60, 59.5, 3.0, "PASS")), trend_point("B", 2, kvp(1, 60, 59.5, 4.0, "PASS"))]
    ax = plots.trend_figure(changed, "3", "kvp-accuracy").axes[0]
    assert _band(ax) == pytest.approx((56.0, 64.0))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "within tolerance: ±max(5 %, 2 kV) = ±4 kV (56–64 kV) (latest run)" in labels


def test_write_trend_picks_the_format_by_suffix_and_writes_nothing_without_points(tmp_path) -> None:
    png = plots.write_trend(TREND, tmp_path / "t.PNG", room="3", result="kvp-accuracy")
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    svg = plots.write_trend(TREND, tmp_path / "t.svg", room="3", result="kvp-accuracy")
    assert "kvp-accuracy in room 3" in svg_text(ET.parse(svg).getroot())
    assert plots.write_trend([], tmp_path / "none.png", room="3", result="x") is None
    assert not (tmp_path / "none.png").exists()
    with pytest.raises(ConfigError, match=r"'\.gif'.*\.png and \.svg"):
        plots.write_trend(TREND, tmp_path / "t.gif", room="3", result="kvp-accuracy")
    with pytest.raises(RecordError, match="cannot write the plot"):
        plots.write_trend(TREND, tmp_path / "no" / "t.svg", room="3", result="kvp-accuracy")
