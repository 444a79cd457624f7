"""Read a dosimetry vendor's badge report (CSV) into dose rows: xcal's own columns, or any vendor's through a
column map (YAML).

xcal's format, one row per badge and wear period, the unit of each dose in its column name:

    person,badge,location,period_start,period_end,hp10_mSv,hp007_mSv,lens_mSv
    J. Ray,B-1001,collar,2026-01-01,2026-01-31,0.12,0.15,0.13

`location` is whole-body, collar, extremity or lens; dates are YYYY-MM-DD; the dose columns are `hp10_<unit>`,
`hp007_<unit>`, `lens_<unit>` (any of them, at least one; a unit pint knows: mSv, uSv, mrem...). An empty cell
is a dose not reported; a cell of M or ND (the vendor's "minimal", below what it reports) counts as 0.

A column map names the vendor's columns instead (`--columns MAP.yaml`):

    kind: dose-columns
    columns: {person: Participant, badge: Serial, location: Location, period_start: Begin, period_end: End}
    doses:
      hp10: {column: "Deep DDE", unit: mrem}
      hp007: {column: "Shallow SDE", unit: mrem}
    locations: {WB: whole-body, COLLAR: collar, RING: extremity, EYE: lens}
    date_format: "%m/%d/%Y"
    minimal: [M, ND]
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .doses import to_msv

TEXT_COLUMNS = ("person", "badge", "location", "period_start", "period_end")
DOSE_COLUMNS = {"hp10": "tede", "hp007": "shallow", "lens": "lens"}
MINIMAL = ("M", "ND")
MAX_BYTES = 8_000_000


@dataclass
class ColumnMap:
    """Where each field is in the file, the unit of each dose column, and how values are spelled there."""

    columns: dict[str, str]
    doses: dict[str, tuple[str, str]]
    locations: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    minimal: tuple[str, ...] = MINIMAL


def load_column_map(path: str | Path) -> ColumnMap:
    """A vendor's column map; ConfigError naming file, line and fix for a malformed one."""
    from ..yamlfile import Mark, check_keys, expect_list, expect_map, expect_str, fail, load_yaml
    from .dosimetry import LOCATIONS

    doc = load_yaml(path)
    top = expect_map(doc.data, Mark(doc.path, 1, 1), "the column map")
    check_keys(top, "the column map", ("kind", "columns", "doses"), ("locations", "date_format", "minimal", "note"))
    if top["kind"] != "dose-columns":
        raise fail(f"kind is '{top['kind']}', not dose-columns", top.value_mark("kind"),
                   fix="write `kind: dose-columns`")
    cols = expect_map(top["columns"], top.value_mark("columns"), "columns")
    check_keys(cols, "columns", TEXT_COLUMNS)
    doses = expect_map(top["doses"], top.value_mark("doses"), "doses")
    check_keys(doses, "doses", (), tuple(DOSE_COLUMNS))
    if not doses:
        raise fail("doses names no dose column", top.value_mark("doses"), fix="map at least one of hp10, hp007, lens")
    dose_map = {}
    for key, node in doses.items():
        node = expect_map(node, doses.value_mark(key), f"doses {key}")
        check_keys(node, f"doses {key}", ("column", "unit"))
        unit = expect_str(node["unit"], node.value_mark("unit"), "unit")
        try:
            to_msv(f"1 {unit}", f"the unit of {key}")
        except ConfigError as exc:
            raise fail(exc.message, node.value_mark("unit"), fix="give a dose unit: mSv, uSv, mrem, rem") from None
        dose_map[key] = (expect_str(node["column"], node.value_mark("column"), "column"), unit)
    locations = {}
    if "locations" in top:
        loc = expect_map(top["locations"], top.value_mark("locations"), "locations")
        for key, value in loc.items():
            if value not in LOCATIONS:
                raise fail(f"location '{value}' is not one of {', '.join(LOCATIONS)}", loc.value_mark(key),
                           fix=f"map each vendor spelling to one of {', '.join(LOCATIONS)}")
            locations[str(key).strip().upper()] = value
    minimal = tuple(str(m) for m in expect_list(top["minimal"], top.value_mark("minimal"), "minimal")) \
        if "minimal" in top else MINIMAL
    return ColumnMap({k: expect_str(v, cols.value_mark(k), k) for k, v in cols.items()}, dose_map, locations,
                     expect_str(top["date_format"], top.value_mark("date_format"), "date_format")
                     if "date_format" in top else None, minimal)


def _own_map(header: list[str], file: str) -> ColumnMap:
    missing = [c for c in TEXT_COLUMNS if c not in header]
    doses = {}
    for name in header:
        found = re.fullmatch(r"(hp10|hp007|lens)_(.+)", name)
        if found:
            doses[found.group(1)] = (name, found.group(2).replace("u", "µ", 1) if found.group(2).startswith("u")
                                     else found.group(2))
    if missing or not doses:
        raise ConfigError(f"{file}: the header lacks {', '.join(missing) or 'a dose column'}",
                          fix="start the file with person,badge,location,period_start,period_end and dose columns "
                              "named with their unit (hp10_mSv, hp007_mSv, lens_mSv), or give the vendor's column "
                              "map with --columns MAP.yaml")
    for name, unit in doses.values():
        to_msv(f"1 {unit}", f"{file}: the unit of column {name}",
               fix="name the unit after the quantity: hp10_mSv, hp10_uSv, hp10_mrem")
    return ColumnMap({c: c for c in TEXT_COLUMNS}, doses)


def _date(text: str, fmt: str | None, where: str) -> str:
    try:
        day = dt.datetime.strptime(text.strip(), fmt).date() if fmt else dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{where}: '{text}' is not a date{' as ' + fmt if fmt else ''}",
                          fix="write dates as YYYY-MM-DD, or give date_format in the column map") from None
    return day.isoformat()


def read_report(path: str | Path, columns: ColumnMap | None = None) -> list[dict[str, Any]]:
    """The dose rows of a badge report, each with its source (file, sha256, line); every row is checked before
    any is returned, and an error names the file, line, column and fix."""
    from .dosimetry import _location

    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the badge report {file}: {exc.strerror}",
                          fix="give the path of the vendor's CSV export") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{file} is {len(raw)} bytes, more than a badge report of {MAX_BYTES} bytes",
                          fix="split the export by period")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    digest = hashlib.sha256(raw).hexdigest()
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    if not header:
        raise ConfigError(f"{file} is empty", fix="export the badge report with its header line")
    cmap = columns or _own_map(header, str(file))
    needed = list(cmap.columns.values()) + [c for c, _ in cmap.doses.values()]
    absent = [c for c in needed if c not in header]
    if absent:
        raise ConfigError(f"{file}: no column {', '.join(repr(a) for a in absent)} in the header",
                          fix=f"the header has {', '.join(header)}; fix the column map or the file")
    index = {name: header.index(name) for name in needed}
    rows = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        where = f"{file} line {line}"
        if len(cells) < len(header):
            cells = cells + [""] * (len(header) - len(cells))
        get = {k: cells[index[v]].strip() for k, v in cmap.columns.items()}
        for key in ("person", "badge"):
            if not get[key]:
                raise ConfigError(f"{where}: column {cmap.columns[key]} is empty", fix=f"give the {key} on every row")
        location = cmap.locations.get(get["location"].upper(), get["location"])
        start = _date(get["period_start"], cmap.date_format, f"{where}, column {cmap.columns['period_start']}")
        end = _date(get["period_end"], cmap.date_format, f"{where}, column {cmap.columns['period_end']}")
        if end < start:
            raise ConfigError(f"{where}: the wear period ends ({end}) before it starts ({start})",
                              fix="check the period columns of this row")
        doses: dict[str, float | None] = dict.fromkeys(DOSE_COLUMNS.values())
        for key, (name, unit) in cmap.doses.items():
            cell = cells[index[name]].strip()
            if not cell:
                continue
            if cell.upper() in cmap.minimal:
                doses[DOSE_COLUMNS[key]] = 0.0
                continue
            try:
                value = float(cell)
            except ValueError:
                raise ConfigError(f"{where}, column {name}: '{cell}' is not a number",
                                  fix=f"write the dose in {unit} as a number, or {'/'.join(cmap.minimal)} for "
                                      "below the reporting level") from None
            doses[DOSE_COLUMNS[key]] = to_msv(f"{value!r} {unit}", f"{where}, column {name}")
        rows.append({"badge": get["badge"], "person": get["person"], "location": _location(location, where),
                     "period_start": start, "period_end": end, "doses": doses, "where": where,
                     "source": {"file": file.name, "sha256": digest, "line": line}})
    if not rows:
        raise ConfigError(f"{file} has a header but no rows", fix="export the badge report with its dose rows")
    return rows


def import_report(store: Any, path: str | Path, *, columns: str | Path | None = None, by: str) -> list[dict[str, Any]]:
    """Read a badge report and record its rows (and the badges it introduces), all or none."""
    from .dosimetry import _append_rows

    rows = read_report(path, load_column_map(columns) if columns else None)
    return _append_rows(store, rows, by)
