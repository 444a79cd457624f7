"""Shared fixtures: one SpectrumModel and cache folder for the whole session, so each beam is computed once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from xcal.simulators.room import RoomModel, RoomSimulation
from xcal.simulators.spectrum import CACHE_DIR_ENV, SpectrumModel


@pytest.fixture(scope="session")
def spectrum_cache_dir(_session_cache: Path) -> Path:
    """The session's cache folder (tests/conftest.py), never the user's real cache."""
    return _session_cache


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache_dir(spectrum_cache_dir: Path) -> Iterator[None]:
    """Point XCAL_CACHE_DIR at the session folder for any model built without an explicit one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_DIR_ENV, str(spectrum_cache_dir))
        yield


@pytest.fixture(scope="session")
def spectra(spectrum_cache_dir: Path) -> SpectrumModel:
    """The session's SpectrumModel."""
    return SpectrumModel(spectrum_cache_dir)


@pytest.fixture
def make_room(spectra: SpectrumModel) -> Callable[..., RoomModel]:
    """Build a RoomModel from RoomSimulation keyword arguments, sharing the session's spectra."""

    def build(**settings: Any) -> RoomModel:
        return RoomModel(RoomSimulation(**settings), spectra)

    return build
