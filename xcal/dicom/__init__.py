"""DICOM for QC: the site's nodes, connectivity checks (C-ECHO, C-STORE), a storage SCP, DX image reading.

Needs the `dicom` extra (pydicom, pynetdicom); `nodes` does not, so a site file loads without it. Everything
that needs the extra imports it inside, through `require()`, which names the fix when it is missing.
"""

from __future__ import annotations

from ..errors import ConfigError


def require() -> None:
    """Raise a ConfigError naming the `dicom` extra when pydicom or pynetdicom is not installed."""
    try:
        import pydicom  # noqa: F401
        import pynetdicom  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"the DICOM functions need pydicom and pynetdicom, which are not installed ({exc.name})",
                          fix="pip install 'xcal[dicom]'") from None
