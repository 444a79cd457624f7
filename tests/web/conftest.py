"""Fixtures for the browser tests: a headless Chromium driven by Selenium, and screenshots kept as test artifacts.

The browser is Debian's `chromium` with its `chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver; `.ci/run`
installs them). Without them every test that takes `browser` is reported as skipped, never as passed. The driver
is named outright, so Selenium Manager never looks for or downloads one. Screenshots go to the folder of
XCAL_TEST_ARTIFACTS, else to a temporary folder of the test session.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         "--window-size=1280,1000")


def _missing() -> str:
    """Why the browser cannot be driven here ('' when it can)."""
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if absent:
        return (f"browser tests need Debian's chromium and chromium-driver: {', '.join(absent)} not found "
                f"(`.ci/run` installs them as root)")
    return ""


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A Selenium WebDriver on headless Chromium, with a fresh profile, for the whole session."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="xcal-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder test artifacts (screenshots) are kept in: XCAL_TEST_ARTIFACTS, else a temporary one."""
    where = os.environ.get("XCAL_TEST_ARTIFACTS", "").strip()
    folder = Path(where) if where else tmp_path_factory.mktemp("artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot(browser: Any, artifacts: Path) -> Callable[[str], Path]:
    """Save what the browser shows now as `NAME.png` in the artifacts folder; returns the file."""

    def save(name: str) -> Path:
        path = artifacts / f"{name}.png"
        if not browser.save_screenshot(str(path)):
            raise AssertionError(f"the browser could not save the screenshot {path}")
        return path

    return save


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The web tests' demo store (fixtures.build_demo_store, SQLite) built once for the session; each module takes
    its own copy (fixtures.copy_demo_store), so the procedures run (and their spectra are computed) only once."""
    from .fixtures import build_demo_store

    return build_demo_store(tmp_path_factory.mktemp("web-demo"))
