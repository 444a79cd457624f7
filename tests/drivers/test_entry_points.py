"""A third-party driver package, installed with pip, is found through the `xcal.drivers` entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "xcal-example-driver"

PROBE = """
from xcal.drivers.registry import driver_names, get_driver_class
from xcal.drivers.check import check
from xcal.drivers.capabilities import InstrumentIdentity
from xcal.simulators.server import serve_tcp
cls = get_driver_class("example-ratemeter")
print(cls.__module__, cls.capabilities, "example-ratemeter" in driver_names())
sim_module, _, sim_class = cls.simulator.partition(":")
import importlib
sim = getattr(importlib.import_module(sim_module), sim_class)(InstrumentIdentity("Example", "RM-1", "42", "1.0"), 0.25)
with serve_tcp(sim) as server:
    result = check("example-ratemeter", server.resource)
print(result.identity.serial, result.reading["dose_rate"])
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site-packages")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--target", str(target), str(EXAMPLE)], check=True,
                   capture_output=True, text=True)
    return target


def test_pip_installed_driver_is_found_and_talks_to_its_simulator(installed):
    env = {**os.environ, "PYTHONPATH": str(installed)}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    assert first == "xcal_example_driver.ratemeter ('SurveyMeter',) True"
    assert second == "42 0.25 µSv/h"


def test_without_the_package_the_name_is_unknown():
    out = subprocess.run([sys.executable, "-c", "from xcal.drivers.registry import get_driver_class\n"
                          "get_driver_class('example-ratemeter')"], capture_output=True, text=True)
    assert out.returncode != 0 and "no instrument driver is called 'example-ratemeter'" in out.stderr
