"""Appends rows to a CSV file the way a kVp meter's vendor program exports them, for tests and demos.

Each exposure the room fires becomes one row (a running number, a time stamp, then the mapped readings in
their columns' units), so the csv-import driver can be run against a file that grows during a run.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xcal.simulators.manual_inputs import exposure_readings

if TYPE_CHECKING:  # pragma: no cover
    from xcal.simulators.room import SimulatedExposure

DEFAULT_COLUMNS: dict[str, tuple[str, str]] = {"kvp_ppv": ("kVp (PPV)", "kV"), "exposure_time": ("Time", "ms"),
                                               "air_kerma": ("Dose", "µGy")}
"""reading -> (column header, unit), as a typical export labels them."""


class CsvExportSimulator:
    """Writes a vendor-style export: optional preamble lines, a header, then one row per exposure.

    `decimal` "," writes 80,3 (use a `delimiter` other than ","). Rows are appended whole, each with its
    line break, as a program that flushes line by line does.
    """

    def __init__(self, path: str | Path, *, columns: Mapping[str, tuple[str, str]] = DEFAULT_COLUMNS,
                 delimiter: str = ",", decimal: str = ".", preamble: Iterable[str] = (),
                 encoding: str = "utf-8", digits: int = 5, clock: Callable[[], float] = time.time) -> None:
        if decimal not in (".", ",") or decimal == delimiter:
            raise ValueError(f"decimal must be '.' or ',' and differ from the delimiter, got {decimal!r}")
        self.path = Path(path)
        self.columns = dict(columns)
        self.delimiter = delimiter
        self.decimal = decimal
        self.preamble = tuple(preamble)
        self.encoding = encoding
        self.digits = digits
        self._clock = clock
        self.rows = 0

    def site_options(self) -> dict[str, Any]:
        """The csv-import options that read this export."""
        return {"columns": {r: {"column": c, "unit": u} for r, (c, u) in self.columns.items()},
                "delimiter": self.delimiter, "decimal": self.decimal, "skip_rows": len(self.preamble),
                "encoding": self.encoding}

    def on_exposure(self, exposure: SimulatedExposure) -> None:
        """Append the row for one exposure of the room."""
        readings = exposure_readings(exposure)
        self.add_row({r: float(readings[r].to(unit).magnitude) for r, (_, unit) in self.columns.items()})

    def add_row(self, values: Mapping[str, float | None]) -> int:
        """Append one row of values in the columns' units (None leaves the cell empty); its row number."""
        self.rows += 1
        stamp = datetime.fromtimestamp(self._clock()).strftime("%Y-%m-%d %H:%M:%S")
        cells = [str(self.rows), stamp, *(self._number(values.get(r)) for r in self.columns)]
        head = "" if self.path.exists() else self._head()
        with self.path.open("a", encoding=self.encoding, newline="") as out:
            out.write(head + self._line(cells))
        return self.rows

    def _head(self) -> str:
        headers = [header for header, _ in self.columns.values()]
        return "".join(f"{line}\r\n" for line in self.preamble) + self._line(["No.", "Date", *headers])

    def _line(self, cells: list[str]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=self.delimiter, lineterminator="\r\n").writerow(cells)
        return buffer.getvalue()

    def _number(self, value: float | None) -> str:
        if value is None:
            return ""
        text = f"{value:.{self.digits}g}"
        return text.replace(".", ",") if self.decimal == "," else text
