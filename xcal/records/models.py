"""What the store keeps: run headers, readings, checks, corrections and whole runs, as plain dataclasses.

Values are floats with their unit as text, exactly as recorded; the store never converts them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any


def now_utc() -> str:
    """The current UTC time, ISO 8601 to the millisecond."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def new_run_id() -> str:
    """Sortable and short enough to type: UTC date-time plus four random hex digits."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


@dataclass
class RunHeader:
    """Everything known about a run when it starts; `snapshot` holds copies, not references."""

    procedure_id: str
    procedure_version: str
    procedure_sha256: str
    procedure_title: str
    site: str
    room_id: str
    room_name: str
    operator: str
    simulated: bool
    software_version: str
    snapshot: dict[str, Any]
    run_id: str = field(default_factory=new_run_id)
    started_at: str = field(default_factory=now_utc)


@dataclass
class Correction:
    """A later, signed-for change of a reading's value; the original reading stays as it was recorded.

    `correction_id` is the seq of the correction's entry; `reading_seq` the seq of the reading's entry;
    `supersedes` the previous correction of the same reading, if any.
    """

    correction_id: int
    run_id: str
    reading_id: int
    reading_seq: int
    original_value: float | None
    original_unit: str
    new_value: float
    unit: str
    reason: str
    person: str
    at: str
    supersedes: int | None = None


@dataclass(kw_only=True)
class StoredReading:
    """One value read from one instrument for one exposure; `corrected` is its latest correction, if any.

    `data` is what the value alone cannot hold, as JSON: a waveform's samples, the text a converted value was typed as.
    """

    exposure: int
    station: int
    repeat: int
    role: str
    instrument_id: str
    quantity: str
    value: float | None
    unit: str
    taken_at: str
    data: dict[str, Any] | None = None
    reading_id: int | None = None
    corrected: Correction | None = None


@dataclass(kw_only=True)
class StoredCheck:
    """One check's outcome with the tolerance used and where that tolerance came from."""

    check_id: str
    title: str
    station: int | None
    setting: str
    value: float
    nominal: float | None
    unit: str
    deviation: float | None
    allowed: float | None
    limit_name: str
    limit_text: str
    limit_set: str
    source: str
    verdict: str


@dataclass
class StoredRun:
    """A run as recorded: header, status, and (from `get_run`) its readings, checks and corrections."""

    run_id: str
    procedure_id: str
    procedure_version: str
    procedure_sha256: str
    procedure_title: str
    site: str
    room_id: str
    room_name: str
    operator: str
    simulated: bool
    status: str
    verdict: str | None
    started_at: str
    finished_at: str | None
    software_version: str
    status_note: str | None
    snapshot: dict[str, Any]
    readings: list[StoredReading] = field(default_factory=list)
    checks: list[StoredCheck] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    corrective_actions: list[dict[str, str]] | None = field(default=None, compare=False, repr=False)
    """The report's corrective-action rows, when a front end has read them (program.actions.report_rows)."""
    resume_changes: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    """The site-file changes found when the run is resumed, recorded before it goes on (procedures.session)."""

    def to_dict(self) -> dict[str, Any]:
        """The run as recorded: without what a front end carries on it (corrective actions, resume changes)."""
        return {k: v for k, v in asdict(self).items() if k not in _CARRIED}


_CARRIED = frozenset({"corrective_actions", "resume_changes"})


@dataclass
class ImportedRun:
    """A whole run to record at once with `Store.import_runs` (a migration, an archive, a benchmark).

    It is recorded as a normal run would be: created, its readings one entry each, its checks, then finished
    with `verdict` at `finished_at` (complete), or, with `verdict` None, marked incomplete for `status_note`.
    """

    header: RunHeader
    readings: list[StoredReading]
    checks: list[StoredCheck]
    verdict: str | None
    finished_at: str
    status_note: str | None = None
