"""Fixtures shared by the whole suite: an isolated record store and spectrum cache, and the installed CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest_plugins = ["pytester"]

DEMO_SITE = Path(__file__).resolve().parents[1] / "xcal" / "demo" / "site.yaml"


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One spectrum cache for the session (subprocesses included), never the user's own; under xdist the workers
    share it, so that a beam one of them computed is not computed again by the other."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.getbasetemp().parent / "spectra"
        folder.mkdir(exist_ok=True)
    else:
        folder = tmp_path_factory.mktemp("spectra")
    os.environ["XCAL_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session", autouse=True)
def _bytecode() -> None:
    """The package compiled to bytecode once, so that each `xcal` the tests start loads it instead of compiling
    every module again (where PYTHONDONTWRITEBYTECODE is set, nothing else would write it)."""
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "xcal"), quiet=1)


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test writes records to its own store, signs with its own site key and sees no site file from the
    environment."""
    db = tmp_path / "records.sqlite3"
    monkeypatch.setenv("XCAL_DB", str(db))
    monkeypatch.setenv("XCAL_SITE_KEY", str(tmp_path / "site-key.pem"))
    monkeypatch.delenv("XCAL_SITE", raising=False)
    return db


@pytest.fixture(scope="session")
def xcal_exe() -> str:
    """The `xcal` console script installed next to this interpreter (the README's install puts it there)."""
    exe = Path(sys.executable).parent / "xcal"
    if not exe.exists():
        pytest.fail(f"the xcal command is not installed next to {sys.executable}; run the README's install")
    return str(exe)


@pytest.fixture
def xcal(xcal_exe: str):
    """Run the installed `xcal` with arguments; returns the CompletedProcess (text, no stdin)."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([xcal_exe, *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})

    return run


@pytest.fixture
def cli():
    """The `xcal` command run in this process (click's runner): the same commands and exit codes as the installed
    script without starting an interpreter for each, for tests that are not about the process itself."""
    from click.testing import CliRunner

    from xcal.cli import main

    def run(*args: str, env: dict[str, str] | None = None) -> SimpleNamespace:
        result = CliRunner().invoke(main, list(args), env=env, terminal_width=200)
        return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)

    return run


@pytest.fixture
def site_copy(tmp_path: Path):
    """Write a copy of the demo site with text replaced, as a site file of one's own."""

    def make(replace: dict[str, str] | None = None, name: str = "site.yaml") -> Path:
        text = DEMO_SITE.read_text(encoding="utf-8")
        for old, new in (replace or {}).items():
            assert old in text, f"{old!r} is not in the demo site"
            text = text.replace(old, new)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return make
