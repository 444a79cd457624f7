"""Import the CSV files a meter's vendor software exports, for meters whose protocol is not public.

The resource is the export file, or a folder whose newest file (matching `pattern`) is read. The site file
maps readings to columns, each with its unit; every read_exposure takes the next row not yet taken, so the
rows of one export are the exposures in order.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError, InstrumentError, InstrumentTimeout, ProtocolError
from ..base import Driver, poll_until
from ..capabilities import CAPABILITIES, READING_UNITS, InstrumentIdentity, Waveform
from ..settings import Option

if TYPE_CHECKING:  # pragma: no cover
    import pint

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class Column:
    """Where one reading is in the export: the header text of its column and the unit its numbers are in."""

    reading: str
    header: str
    unit: str


@dataclass(frozen=True)
class Row:
    """One data row: its line number in the file (1-based) and its cells."""

    line: int
    cells: tuple[str, ...]


def parse_columns(value: Any, instrument: str) -> tuple[Column, ...]:
    """The `columns:` option: `{reading: {column: header, unit: unit}}`; ConfigError naming what is wrong."""
    from ...units import Q_, parse_quantity

    example = 'columns: {kvp_ppv: {column: "kVp (PPV)", unit: kV}}'
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{instrument}: the csv-import driver needs the option `columns`", fix=f"write {example}")
    columns = []
    for reading, spec in value.items():
        if reading not in READING_UNITS:
            raise ConfigError(f"{instrument}: columns: unknown reading {reading!r}",
                              fix=f"use names among: {', '.join(READING_UNITS)}")
        if not isinstance(spec, dict) or set(spec) != {"column", "unit"}:
            raise ConfigError(f"{instrument}: columns: {reading} must give `column` and `unit`", fix=f"write {example}")
        try:
            unit = parse_quantity(f"1 {spec['unit']}")
        except Exception as exc:  # noqa: BLE001 - pint's parser also fails with errors other than ValueError
            why = exc if isinstance(exc, ValueError) else f"cannot read the unit {spec['unit']!r}"
            raise ConfigError(f"{instrument}: columns: {reading}: {why}", fix=f"write {example}") from None
        if unit.dimensionality != Q_(1, READING_UNITS[reading]).dimensionality:
            raise ConfigError(f"{instrument}: columns: {reading} is in {spec['unit']}, which is not a unit of "
                              f"{reading}", fix=f"give a unit like {READING_UNITS[reading]}")
        columns.append(Column(reading, str(spec["column"]).strip(), str(spec["unit"]).strip()))
    return tuple(columns)


def check_format(delimiter: str, decimal: str, encoding: str, instrument: str) -> None:
    """ConfigError unless the decimal mark is '.' or ',', the delimiter one other character, the encoding known."""
    if decimal not in (".", ","):
        raise ConfigError(f"{instrument}: option decimal must be '.' or ',', got {decimal!r}",
                          fix="write `decimal: \",\"` for exports like 80,3")
    if len(delimiter) != 1 or delimiter == decimal or delimiter in "\r\n\"":
        raise ConfigError(f"{instrument}: option delimiter must be one character other than the decimal mark, got "
                          f"{delimiter!r}", fix="write e.g. `delimiter: \";\"`")
    try:
        "".encode(encoding)
    except LookupError:
        raise ConfigError(f"{instrument}: unknown encoding {encoding!r}",
                          fix="use e.g. utf-8, cp1252 or latin-1") from None


def parse_cell(text: str, decimal: str) -> float:
    """A number as the export writes it, with `decimal` as its decimal mark; ProtocolError if it is not one."""
    cleaned = text.strip()
    if decimal == ",":
        if "." in cleaned:
            raise ProtocolError(f"{text!r} has a '.' but the decimal mark is ','")
        cleaned = cleaned.replace(",", ".")
    if not _NUMBER.fullmatch(cleaned):
        raise ProtocolError(f"{text!r} is not a number")
    value = float(cleaned)
    if not math.isfinite(value):
        raise ProtocolError(f"{text!r} is not a finite number")
    return value


def complete_lines(text: str) -> str:
    """The text up to its last line break: a last line without one may still be being written."""
    end = max(text.rfind("\n"), text.rfind("\r"))
    return text[: end + 1]


class CsvImport(Driver):
    """Readings from a vendor program's CSV export, one row per exposure, in the file's order.

    Options: `columns` (required; reading -> {column, unit}), `delimiter` (default `,`), `decimal` (`.` or `,`),
    `skip_rows` (lines before the header), `encoding` (default utf-8, a BOM is skipped), `pattern` (files
    of a folder, default `*.csv`), `poll_interval` (default 0.2 s), `make`/`model`/`serial` (the identity to
    report). A row is read only once its line is complete. An empty cell leaves its reading out of that
    row's readings. For a folder, a newer export replaces the current one and is read from its first row;
    a single file that loses rows already taken is an error.
    """

    driver_name = "csv-import"
    capabilities = tuple(CAPABILITIES)
    protocol_status = "IMPORT"
    transports = ("file",)
    reports_serial = False
    simulator = "xcal.simulators.csv_export:CsvExportSimulator"
    option_specs = (
        Option("skip_rows", "whole", 0, "lines of the export before its header row", low=0),
        Option("poll_interval", "time", "200 ms", "time between looks at the export while waiting for a row",
               low=0, above=True, unit="s", timing=True),
        Option("delimiter", "text", ",", "the character between cells"),
        Option("decimal", "text", ".", "the decimal mark of the export's numbers: . or ,"),
        Option("encoding", "text", "utf-8-sig", "the export's text encoding (a UTF-8 BOM is skipped)"),
        Option("pattern", "text", "*.csv", "which files of a folder are exports"),
    )

    def __init__(self, resource: str, *, name: str = "instrument", timeout: Any = None, transport: Any = None,
                 expected_serial: str | None = None, **options: Any) -> None:
        self.resource = resource
        self.name = name
        self.expected_serial = expected_serial
        self.options = options
        self.settings = self.link
        self.path = Path(resource).expanduser()
        if not (self.path.is_dir() or self.path.parent.is_dir()):
            raise ConfigError(f"{name}: neither {resource} nor its folder exists",
                              fix="give the export file, or the folder the vendor program exports to")
        values = self.option_values = self.check_options(options, owner=name)
        self.columns: tuple[Column, ...] = values["columns"]
        self.delimiter, self.decimal = values["delimiter"], values["decimal"]
        self.skip_rows: int = values["skip_rows"]
        self.encoding, self.pattern = values["encoding"], values["pattern"]
        self._poll_s = float(values["poll_interval"].magnitude)
        self._file: Path | None = None
        self._taken = 0

    @classmethod
    def check_options(cls, options: dict[str, Any], owner: str = "instrument") -> dict[str, Any]:
        """The declared options checked, `columns` parsed and the format's options checked together (ConfigError
        naming the option and fix): at site load, not when the export is first read."""
        values = super().check_options(options, owner)
        values["columns"] = parse_columns(options.get("columns"), owner)
        check_format(values["delimiter"], values["decimal"], values["encoding"], owner)
        return values

    def identify(self) -> InstrumentIdentity:
        """The identity the options give; the model defaults to the export's name."""
        return InstrumentIdentity(str(self.options.get("make", "CSV import")),
                                  str(self.options.get("model", self.path.name)),
                                  str(self.options.get("serial", "")), "")

    def arm(self) -> None:
        """Nothing to send: the meter is armed in its vendor program."""

    def wait_for_exposure(self, timeout: pint.Quantity) -> None:
        """Poll the export until it has a complete row not yet taken; InstrumentTimeout after `timeout`."""
        from ..transport import seconds

        limit = seconds(timeout, "timeout")
        poll_until(lambda: True if len(self._rows()[2]) > self._taken else None, timeout_s=limit,
                   interval_s=self._poll_s, timed_out=lambda: InstrumentTimeout(
                       f"{self._where()} got no new row within {limit:g} s ({self._taken} row(s) taken so far)",
                       instrument=self.name, resource=self.resource,
                       fix="check the vendor program exports to this file after each exposure, or give a longer "
                           "timeout"))

    def read_exposure(self) -> dict[str, pint.Quantity]:
        """The readings of the next row not yet taken; InstrumentError if the export has none."""
        path, header, rows = self._rows()
        if len(rows) <= self._taken:
            raise InstrumentError(f"{self._where()} has no row after the {self._taken} already taken",
                                  instrument=self.name, resource=self.resource,
                                  fix="wait for the exposure (wait_for_exposure) before reading it")
        values = self._values(path, header, rows[self._taken])
        self._taken += 1
        return values

    def read_now(self) -> dict[str, pint.Quantity]:
        """The readings of the export's last complete row, without taking it."""
        path, header, rows = self._rows()
        if not rows:
            raise InstrumentError(f"{self._where()} has no data row yet", instrument=self.name,
                                  resource=self.resource, fix="export a reading from the vendor program first")
        return self._values(path, header, rows[-1])

    gives_waveform = False

    def read_waveform(self) -> Waveform:
        """An export row holds numbers, not a waveform: InstrumentError."""
        raise InstrumentError(f"{self._where()}: a CSV export row has no waveform", instrument=self.name,
                              resource=self.resource, fix="leave `waveform` out of the procedure's readings")

    def close(self) -> None:
        """Nothing to release: the file is opened only while it is read."""

    def _where(self) -> str:
        shown = f"{self._file}" if self._file is not None and self._file != self.path else self.resource
        return f"{self.name} ({shown})"

    def _current_file(self) -> Path | None:
        if not self.path.is_dir():
            return self.path if self.path.is_file() else None
        files = [p for p in self.path.glob(self.pattern) if p.is_file()]
        return max(files, key=lambda p: (p.stat().st_mtime_ns, p.name)) if files else None

    def _rows(self) -> tuple[Path | None, Row | None, list[Row]]:
        """The current export, its header row and its complete data rows (none when it does not exist yet)."""
        path = self._current_file()
        if path != self._file:
            if self._file is not None and path is not None and self.path.is_dir():
                self._taken = 0
            self._file = path
        if path is None:
            return None, None, []
        text = self._text(path)
        reader = csv.reader(io.StringIO(complete_lines(text), newline=""), delimiter=self.delimiter)
        header: Row | None = None
        rows: list[Row] = []
        try:
            for cells in reader:
                if reader.line_num <= self.skip_rows or not any(c.strip() for c in cells):
                    continue
                row = Row(reader.line_num, tuple(c.strip() for c in cells))
                if header is None:
                    header = row
                else:
                    rows.append(row)
        except csv.Error as exc:
            raise ProtocolError(f"{path}: row {reader.line_num}: not CSV ({exc})", instrument=self.name,
                                resource=self.resource, fix="check the delimiter option and the export") from None
        if len(rows) < self._taken and not self.path.is_dir():
            raise ProtocolError(f"{path} has {len(rows)} data rows, but {self._taken} were already taken: "
                                f"the export was replaced", instrument=self.name, resource=self.resource,
                                fix="export into a folder (one file per export), or start a new run")
        return path, header, rows

    def _text(self, path: Path) -> str:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InstrumentError(f"cannot read {path}: {exc.strerror}", instrument=self.name,
                                  resource=self.resource, fix="check the file's permissions") from None
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"{path} is not {self.encoding} text (byte {exc.start})", instrument=self.name,
                                resource=self.resource,
                                fix="set the `encoding` option the vendor program writes (often cp1252)") from None

    def _values(self, path: Path | None, header: Row | None, row: Row) -> dict[str, pint.Quantity]:
        from ...units import Q_

        assert path is not None and header is not None
        values = {}
        for column in self.columns:
            if column.header not in header.cells:
                raise ProtocolError(f"{path}, row {header.line}: no column {column.header!r} (for {column.reading}) "
                                    f"in the header; it has: {', '.join(repr(c) for c in header.cells)}",
                                    instrument=self.name, resource=self.resource,
                                    fix="correct `columns:` in the site file to the export's header")
            index = header.cells.index(column.header)
            cell = row.cells[index] if index < len(row.cells) else ""
            if not cell:
                continue
            try:
                values[column.reading] = Q_(parse_cell(cell, self.decimal), column.unit)
            except ProtocolError as exc:
                raise ProtocolError(f"{path}, row {row.line}, column {column.header!r}: {exc.message}",
                                    instrument=self.name, resource=self.resource,
                                    fix="check the `decimal` and `delimiter` options against the export") from None
        return values
