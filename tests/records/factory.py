"""Builders for the record tests: run headers, readings and checks with known numbers, and raw SQL access."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from xcal.records.store import RunHeader, StoredCheck, StoredReading

SNAPSHOT = {"limits": {"kvp-accuracy": {"name": "kvp-accuracy", "tolerance": "±5 %", "source": "AAPM TG-74 §3",
                                        "limit_set": "aapm-74"}},
            "instruments": {"kvp_meter": {"make": "Example Instruments", "model": "XR-1", "serial": "XR1-004217",
                                          "calibration": {"certificate": "C-17", "date": "2026-01-15",
                                                          "due": "2027-01-15"}}}}


def header(run_id: str, room: str = "3", *, started_at: str = "2026-11-26T09:00:00+00:00",
           procedure: str = "kvp-accuracy", simulated: bool = True, site: str = "Test site") -> RunHeader:
    return RunHeader(procedure, "1.0.0", "ab" * 32, "kVp accuracy", site, room, f"Rad {room}", "t.tech",
                     simulated, "0.1.0", SNAPSHOT, run_id=run_id, started_at=started_at)


def reading(exposure: int, value: float, quantity: str = "kvp_ppv") -> StoredReading:
    return StoredReading(exposure, 1, exposure, "kvp_meter", "kvp-1", quantity, value, "kV",
                         f"2026-11-26T09:0{exposure}:00+00:00")


def check(value: float, verdict: str = "PASS", check_id: str = "kvp") -> StoredCheck:
    return StoredCheck(check_id, "kVp accuracy", 1, "1: 80 kV 200 mA 100 ms", value, 80.0, "kV", value - 80.0,
                       4.0, "kvp-accuracy", "±5 %", "aapm-74", "AAPM TG-74 §3", verdict)


def raw(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Run SQL on the file directly, outside the Store (how the tamper tests edit it)."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute(sql, params).fetchall()
        con.commit()
        return rows
    finally:
        con.close()
