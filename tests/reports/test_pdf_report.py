"""The PDF report: a real PDF of several pages, made by matplotlib alone, SIMULATED on every page when simulated."""

from __future__ import annotations

import copy
import dataclasses
import re
import zlib
from pathlib import Path

import pytest

from xcal.demo.wiring import simulated_room
from xcal.errors import XcalError
from xcal.procedures.session import plan_run, run_plan
from xcal.records.models import StoredRun
from xcal.records.store import Store
from xcal.reports import write_pdf

_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_SHOWN = re.compile(rb"\[(.*?)\]\s*TJ|\(((?:\\.|[^\\)])*)\)\s*Tj", re.S)
_STRING = re.compile(rb"\(((?:\\.|[^\\)])*)\)")


def page_texts(pdf: bytes) -> list[str]:
    """The text shown by each content stream (matplotlib writes one per page, glyph by glyph in TJ arrays)."""
    texts = []
    for raw in _STREAM.findall(pdf):
        try:
            content = zlib.decompressobj().decompress(raw)
        except zlib.error:
            content = raw
        if b"BT" not in content:
            continue
        shown = []
        for array, single in _SHOWN.findall(content):
            pieces = _STRING.findall(array) if array else [single]
            shown.append(b"".join(re.sub(rb"\\(.)", rb"\1", p) for p in pieces))
        texts.append(b"".join(shown).decode("latin-1"))
    return texts


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> StoredRun:
    db = tmp_path_factory.mktemp("pdf-report") / "records.sqlite3"
    result = run_plan(plan_run("kvp-accuracy", 4), db=db, operator="Dana Tester", simulated_room=simulated_room)
    with Store(db) as store:
        return store.get_run(result.run_id)


@pytest.fixture(scope="module")
def pdf(run: StoredRun, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    assert write_pdf(run, path) == path
    return path.read_bytes()


def test_is_a_pdf_of_several_pages(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-")
    pages = re.findall(rb"/Type\s*/Page\b(?!s)", pdf)
    assert len(pages) > 1
    assert re.search(rb"/Count (\d+)", pdf).group(1) == str(len(pages)).encode()
    assert len(page_texts(pdf)) == len(pages)


def test_every_page_says_simulated_not_a_measurement(pdf: bytes) -> None:
    texts = page_texts(pdf)
    assert all("SIMULATED" in t and "not a measurement" in t for t in texts)
    assert b"/Title ([SIMULATED] X-ray QC test record: kVp accuracy)" in pdf


def test_holds_the_failing_station_its_source_and_the_record_details(pdf: bytes, run: StoredRun) -> None:
    text = " ".join(page_texts(pdf))
    for expected in ("4: 120 kV 200 mA", "127.4 kV", "+7.42 kV", "EX-DXR500-SM rev. C", "FAIL",
                     "DXR5-10377", "XT-90125", "XC2-5610", "XR1-004217", "SIM-CAL-2026-0117", "2099-12-31",
                     "DEMO-0000", "Dana Tester", run.run_id, run.procedure_sha256[:32], "none recorded"):
        assert expected in text, expected


def test_a_real_run_has_no_simulated_marks(run: StoredRun, tmp_path: Path) -> None:
    snap = copy.deepcopy(run.snapshot)
    snap["site"]["facility"]["name"] = "St Example Clinic"
    real = dataclasses.replace(run, simulated=False, site="St Example Clinic", snapshot=snap,
                               readings=[r for r in run.readings if r.station == 1])
    path = write_pdf(real, tmp_path / "real.pdf")
    texts = page_texts(path.read_bytes())
    assert texts and not any("not a measurement" in t for t in texts)


def test_incomplete_run_says_incomplete(run: StoredRun, tmp_path: Path) -> None:
    cut = dataclasses.replace(run, status="incomplete", verdict=None, status_note="cable pulled at exposure 5",
                              checks=[], readings=run.readings[:20])
    text = " ".join(page_texts(write_pdf(cut, tmp_path / "cut.pdf").read_bytes()))
    assert "Overall verdict: INCOMPLETE (SIMULATED)" in text
    assert "cable pulled at exposure 5" in text


def test_unwritable_path_is_an_xcal_error_and_leaves_no_file(run: StoredRun, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "report.pdf"
    with pytest.raises(XcalError, match="cannot write the PDF report"):
        write_pdf(run, target)
    assert not (tmp_path / "missing").exists()
