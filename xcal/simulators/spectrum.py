"""Beam output and HVL of a tungsten-anode tube from SpekPy spectra, cached in memory and on disk.

A SpekPy spectrum costs about half a second, and a simulated room asks for the same few beams over and
over, so each (kVp, filtration, anode angle) is computed once per machine and SpekPy version.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

CACHE_DIR_ENV = "XCAL_CACHE_DIR"
_CACHE_FORMAT = 1

BeamKey = tuple[float, float, float]


@dataclass(frozen=True)
class BeamQuality:
    """Air-kerma output per mAs at 1 m from the focal spot, and first HVL in mm Al."""

    kerma_ugy_per_mas_at_1m: float
    hvl_mm_al: float


def default_cache_dir() -> Path:
    """The cache folder: $XCAL_CACHE_DIR if set, else the platform's user cache folder for xcal."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("xcal"))


def _spekpy_version() -> str:
    try:
        return metadata.version("spekpy")
    except metadata.PackageNotFoundError:
        return "unknown"


def beam_key(kvp_kv: float, filtration_mm_al: float, anode_angle_deg: float) -> BeamKey:
    """Cache key: kVp to 0.1 kV, filtration to 0.01 mm, angle to 0.01 degree."""
    return (round(float(kvp_kv), 1), round(float(filtration_mm_al), 2), round(float(anode_angle_deg), 2))


def _key_text(key: BeamKey) -> str:
    return f"{key[0]:.1f}|{key[1]:.2f}|{key[2]:.2f}"


def _compute_beam(key: BeamKey) -> BeamQuality:
    """Run SpekPy for a constant-potential W-anode spectrum at 1 m behind `key[1]` mm Al.

    SpekPy's `get_kerma()` is the air kerma in µGy at the distance z (default 100 cm) for the
    spectrum's mAs (default 1 mAs), so with the defaults it is µGy per mAs at 1 m; `get_hvl1()` is the
    first HVL in mm Al. No air or inherent filtration is added beyond the aluminium given.
    """
    import spekpy

    kvp_kv, filtration_mm_al, angle_deg = key
    spectrum = spekpy.Spek(kvp=kvp_kv, th=angle_deg, z=100.0, mas=1.0)
    if filtration_mm_al > 0.0:
        spectrum.filter("Al", filtration_mm_al)
    return BeamQuality(kerma_ugy_per_mas_at_1m=float(spectrum.get_kerma()),
                       hvl_mm_al=float(spectrum.get_hvl1(matl="Al")))


class SpectrumModel:
    """Gives the BeamQuality of a beam; thread-safe, computing each distinct beam at most once."""

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self._cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._version = _spekpy_version()
        self._beams: dict[BeamKey, BeamQuality] = {}
        self._loaded = False
        self._computed = 0
        self._state_lock = threading.Lock()
        self._compute_lock = threading.Lock()

    @property
    def cache_file(self) -> Path:
        """The JSON file this model reads and writes; its name carries the SpekPy version."""
        safe_version = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in self._version)
        return self._cache_dir / f"spekpy-{safe_version}-beams.json"

    @property
    def computed_count(self) -> int:
        """How many spectra this model actually computed with SpekPy (cache misses)."""
        with self._state_lock:
            return self._computed

    def beam(self, kvp_kv: float, filtration_mm_al: float, anode_angle_deg: float = 12.0) -> BeamQuality:
        """Output and HVL of the beam at this kVp, total aluminium filtration and anode angle.

        Inputs are rounded to the cache key first, so the values returned are those of the rounded beam.
        """
        if kvp_kv <= 0 or filtration_mm_al < 0 or anode_angle_deg <= 0:
            raise ValueError(f"no beam for kVp={kvp_kv} kV, filtration={filtration_mm_al} mm Al, "
                             f"anode angle={anode_angle_deg}°: kVp and angle must be positive, "
                             "filtration not negative")
        key = beam_key(kvp_kv, filtration_mm_al, anode_angle_deg)
        cached = self._lookup(key)
        if cached is not None:
            return cached
        with self._compute_lock:
            cached = self._lookup(key)
            if cached is not None:
                return cached
            quality = _compute_beam(key)
            with self._state_lock:
                self._beams[key] = quality
                self._computed += 1
                snapshot = dict(self._beams)
            self._save(snapshot)
            return quality

    def _lookup(self, key: BeamKey) -> BeamQuality | None:
        with self._state_lock:
            if not self._loaded:
                for disk_key, quality in self._read_disk().items():
                    self._beams.setdefault(disk_key, quality)
                self._loaded = True
            return self._beams.get(key)

    def _read_disk(self) -> dict[BeamKey, BeamQuality]:
        """Beams stored on disk; an unreadable or malformed file counts as empty."""
        try:
            document = json.loads(self.cache_file.read_text(encoding="utf-8"))
            if document.get("format") != _CACHE_FORMAT or document.get("spekpy") != self._version:
                return {}
            beams: dict[BeamKey, BeamQuality] = {}
            for text, fields in document["beams"].items():
                kvp, filtration, angle = (float(part) for part in text.split("|"))
                beams[beam_key(kvp, filtration, angle)] = BeamQuality(
                    kerma_ugy_per_mas_at_1m=float(fields["kerma_ugy_per_mas_at_1m"]),
                    hvl_mm_al=float(fields["hvl_mm_al"]))
            return beams
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return {}

    def _save(self, beams: dict[BeamKey, BeamQuality]) -> None:
        """Merge with what is on disk (another process may have added beams) and replace atomically.

        A cache that cannot be written only costs recomputation, so write failures are swallowed.
        """
        merged = {**self._read_disk(), **beams}
        document: dict[str, Any] = {
            "format": _CACHE_FORMAT,
            "spekpy": self._version,
            "beams": {_key_text(key): asdict(quality) for key, quality in sorted(merged.items())},
        }
        try:
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            handle, temp_name = tempfile.mkstemp(prefix=".beams-", suffix=".tmp", dir=self._cache_dir)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(document, stream, indent=1)
                os.replace(temp_name, self.cache_file)
            except BaseException:
                Path(temp_name).unlink(missing_ok=True)
                raise
        except OSError:
            return
