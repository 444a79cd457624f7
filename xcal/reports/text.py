"""Plain-text formatting shared by the HTML and PDF reports: numbers, quantities, labels of recorded names.

Values are shown to four significant digits (deviations to three) so a table stays readable; the record
itself keeps the unrounded numbers, which is what the verdicts were judged on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

DASH = "—"

QUANTITY_LABELS = {
    "kvp_ppv": "kVp (PPV)",
    "kvp_max": "kVp (max)",
    "kvp_mean": "kVp (mean)",
    "exposure_time": "Exposure time",
    "air_kerma": "Air kerma",
    "dose": "Dose",
    "dose_rate": "Dose rate",
    "count_rate": "Count rate",
    "dap": "DAP",
    "charge": "Charge",
    "temperature": "Temperature",
    "pressure": "Pressure",
    "waveform": "kV waveform",
}

PARAMETER_LABELS = {
    "kv": "kV",
    "ma": "mA",
    "time": "Time",
    "mas": "mAs",
    "sid": "SID",
    "filtration": "Filtration",
    "added_filtration": "Added filtration (Al)",
    "focal_spot": "Focal spot",
    "mode": "Mode",
    "repeats": "Repeats",
    "k_q_table": "k_Q table",
}

PARAMETER_ORDER = tuple(PARAMETER_LABELS)


def num(value: Any, digits: int = 4) -> str:
    """`value` to `digits` significant digits without an exponent for everyday magnitudes; a dash for None."""
    if value is None:
        return DASH
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if value != 0 and abs(value) >= 10 ** digits:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def recorded(value: Any) -> str:
    """A value as read from an instrument: up to six significant digits, so no recorded digit is hidden."""
    return num(value, 6)


def qty(value: Any, unit: str, digits: int = 4) -> str:
    """A number with its unit (no unit for a dimensionless value); a dash for None."""
    if value is None:
        return DASH
    return f"{num(value, digits)} {unit}".rstrip()


def signed_qty(value: float | None, unit: str, digits: int = 3) -> str:
    """A deviation with its sign, e.g. '+7.42 kV'."""
    if value is None:
        return DASH
    text = num(value, digits)
    return f"{'+' if value >= 0 and not text.startswith('-') else ''}{text} {unit}".rstrip()


def percent_of(deviation: float | None, nominal: float | None) -> str:
    """The deviation as a signed percentage of the set value, e.g. '+6.2 %'; empty when undefined."""
    if deviation is None or not nominal:
        return ""
    return f"{100.0 * deviation / nominal:+.1f} %"


def split_setting(setting: str) -> tuple[str, str]:
    """'4: 120 kV 200 mA 50 ms' -> ('4', '120 kV 200 mA 50 ms'); 'run' -> ('run', '')."""
    where, sep, label = (setting or "").partition(": ")
    return (where.strip(), label.strip()) if sep else (where.strip(), "")


def pick(item: Any, *names: str) -> Any:
    """The first of `names` that `item` has, as an attribute or a mapping key; None when it has none of them."""
    for name in names:
        value = item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)
        if value is not None:
            return value
    return None


def mapping_in(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """`parent[key]` when it is a mapping, else an empty one (snapshots are read defensively)."""
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}


def list_in(parent: Mapping[str, Any], key: str) -> list[Any]:
    """`parent[key]` when it is a list, else an empty one (snapshots are read defensively)."""
    value = parent.get(key)
    return value if isinstance(value, list) else []


def quantity_label(name: str) -> str:
    """A recorded quantity name as a column heading, e.g. 'kvp_ppv' -> 'kVp (PPV)'."""
    label = name.replace("_", " ")
    return QUANTITY_LABELS.get(name, label[:1].upper() + label[1:])


def parameter_label(name: str) -> str:
    """A procedure parameter name as a label, e.g. 'added_filtration' -> 'Added filtration (Al)'."""
    label = name.replace("_", " ")
    return PARAMETER_LABELS.get(name, label[:1].upper() + label[1:])


def plain(value: Any) -> str:
    """Any recorded value as one line of text: None as a dash, lists joined, dicts as 'key: value' pairs."""
    if value is None or value == "":
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return recorded(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(plain(v) for v in value) or DASH
    if isinstance(value, dict):
        return "; ".join(f"{k}: {plain(v)}" for k, v in value.items()) or DASH
    return str(value)
