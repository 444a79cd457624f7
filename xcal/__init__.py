"""xcal: instrument control and calibration for X-ray quality control.

The public API (`load_site`, `connect`, `analysis`, `units`, `errors`) is imported on first use, so that
`import xcal` and the command line start without numpy, pint or pyvisa.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from . import analysis, errors, testing, units
    from .api import Check, Result, Site, connect, load_site

__all__ = ["load_site", "connect", "Site", "Result", "Check", "analysis", "units", "errors", "testing",
           "__version__"]


def __getattr__(name: str) -> Any:
    import importlib

    if name in ("load_site", "connect", "Site", "Result", "Check"):
        return getattr(importlib.import_module(".api", __name__), name)
    if name in ("analysis", "units", "errors", "testing"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'xcal' has no attribute {name!r}")
