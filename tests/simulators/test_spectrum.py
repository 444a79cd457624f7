"""SpectrumModel: SpekPy output per mAs and HVL, and its memory and disk caches."""

from __future__ import annotations

import json
import threading
from importlib import metadata
from pathlib import Path

import pytest

from xcal.simulators.spectrum import CACHE_DIR_ENV, BeamQuality, SpectrumModel

KVP, FILTRATION = 70.0, 2.5


def test_80_kv_beam_is_plausible(spectra: SpectrumModel) -> None:
    # qc-reference §2: about 40-70 µGy/mAs at 80 kVp, 1 m, 2.5-3 mm Al; Table 1 needs >= 2.3 mm Al at 80 kVp
    quality = spectra.beam(80.0, 2.7)
    assert isinstance(quality, BeamQuality)
    assert 30.0 < quality.kerma_ugy_per_mas_at_1m < 120.0
    assert 2.3 < quality.hvl_mm_al < 4.0


def test_more_kv_and_more_filtration_harden_the_beam(spectra: SpectrumModel) -> None:
    base = spectra.beam(80.0, 2.7)
    assert spectra.beam(100.0, 2.7).hvl_mm_al > base.hvl_mm_al
    assert spectra.beam(80.0, 1.7).hvl_mm_al < base.hvl_mm_al
    assert spectra.beam(80.0, 1.7).kerma_ugy_per_mas_at_1m > base.kerma_ugy_per_mas_at_1m


def test_repeated_beams_compute_one_spectrum(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    model = SpectrumModel()
    results: list[BeamQuality] = []
    threads = [threading.Thread(target=lambda: results.append(model.beam(KVP, FILTRATION))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again = model.beam(KVP + 0.04, FILTRATION + 0.004)
    assert model.computed_count == 1
    assert all(result == again for result in results) and len(results) == 4
    assert model.cache_file.parent == tmp_path


def test_disk_cache_survives_a_new_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    first = SpectrumModel()
    computed = first.beam(KVP, FILTRATION)
    assert first.computed_count == 1
    assert metadata.version("spekpy") in first.cache_file.name
    assert first.cache_file.exists()
    second = SpectrumModel()
    assert second.beam(KVP, FILTRATION) == computed
    assert second.computed_count == 0
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("content", ["{not json", '["a list"]', '{"format": 1, "spekpy": "%s", "beams": 3}'])
def test_corrupt_cache_file_is_ignored_and_rewritten(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    content: str) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    model = SpectrumModel()
    model.cache_file.write_text(content.replace("%s", metadata.version("spekpy")), encoding="utf-8")
    quality = model.beam(KVP, FILTRATION)
    assert model.computed_count == 1
    stored = json.loads(model.cache_file.read_text(encoding="utf-8"))
    assert stored["beams"]["70.0|2.50|12.00"]["hvl_mm_al"] == quality.hvl_mm_al
    assert SpectrumModel().beam(KVP, FILTRATION) == quality


def test_unwritable_cache_is_not_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    model = SpectrumModel(blocker / "cache")
    assert model.beam(KVP, FILTRATION).hvl_mm_al > 0
    assert model.computed_count == 1


def test_impossible_beams_are_refused(spectra: SpectrumModel) -> None:
    with pytest.raises(ValueError):
        spectra.beam(80.0, -1.0)
    with pytest.raises(ValueError):
        spectra.beam(0.0, 2.7)
