"""Report plots: a kV waveform and check results as SVG text and PNG bytes, and the limit bands behind them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from xcal.records.models import StoredCheck
from xcal.reports import plots
from xcal.reports.bands import LOWER, TWO_SIDED, UPPER, Band, band_of, tolerance_text

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"
SOURCE = "EX-DXR500-SM rev. C, section 9.2"


def kvp(station: int, set_kv: float, value: float, allowed: float, verdict: str) -> StoredCheck:
    return StoredCheck("kvp-accuracy", "kVp accuracy", station, f"{station}: {set_kv:g} kV 200 mA 50 ms", value,
                       set_kv, "kV", value - set_kv, allowed, "kvp-accuracy", "±max(5 %, 2 kV)",
                       "example-dxr-manufacturer", SOURCE, verdict)


def linearity(pair: str, value: float, verdict: str) -> StoredCheck:
    return StoredCheck("ma-linearity", "mA linearity", int(pair[-1]), f"{pair}: 80 kV 320 mA 50 ms", value, None,
                       "", None, 0.1, "ma-linearity", "≤ 0.10", "cfr-1020", "21 CFR 1020.31(c)", verdict)


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
    leakage = StoredCheck("leakage", "Leakage", None, "run", 610.0, None, "µGy/h", None, 0.88, "leakage",
                          "≤ 0.88 mGy/h", "cfr-1020", "21 CFR 1020.30(k)", "PASS")
    assert band_of(leakage).high == pytest.approx(880.0)
    mismatched = StoredCheck("leakage", "Leakage", None, "run", 0.5, None, "", None, 0.88, "leakage",
                             "≤ 0.88 mGy/h", "cfr-1020", "21 CFR 1020.30(k)", "PASS")
    assert band_of(mismatched) is None


def test_lower_bound_from_a_table_uses_the_stored_bound() -> None:
    hvl = StoredCheck("hvl-minimum", "HVL", None, "run", 3.28, None, "mm", None, 2.9, "hvl-minimum",
                      "≥ table hvl-minimum-c", "cfr-1020", "21 CFR 1020.30(m)(1)", "PASS")
    band = band_of(hvl, None)
    assert (band.side, band.low, band.high) == (LOWER, 2.9, None)
    assert tolerance_text(hvl) == "≥ table hvl-minimum-c = ≥ 2.9 mm"
    assert plots.results_png([hvl]).startswith(PNG_SIGNATURE)
