"""The annual room report of a small year built by hand (conftest.py): what it lists, what it leaves out, and
a PDF numbered 'page N of M' with no word broken inside a table column."""

from __future__ import annotations

import pytest

from xcal.records.store import Store
from xcal.reports import html_document
from xcal.reports.annual import annual_data, build_annual_report, unbroken_widths


def _report(year_fixture, personal=False):
    with Store(year_fixture.db) as store:
        data = annual_data(store, year_fixture.site, "4", 2025, personal)
    return data, build_annual_report(data)


def _section(report, key):
    return next(s for s in report.sections if s.key == key)


def test_the_year_lists_the_rooms_four_runs_of_that_year_only(small_year):
    data, report = _report(small_year)
    assert [r.run_id for r in data.runs] == small_year.runs[:4]
    runs = _section(report, "runs").blocks[0]
    assert [row[1].text for row in runs.rows] == small_year.runs[:4]
    assert [row[3].text for row in runs.rows] == ["PASS", "FAIL", "PASS", "PASS"]
    assert "127.4 kV against ±6 kV" in runs.rows[1][4].text
    assert report.verdict.text == "4 runs, 1 FAIL, 0 actions open"


def test_required_tests_count_each_procedures_runs_and_verdicts(small_year):
    _, report = _report(small_year)
    rows = {row[0].text: [c.text for c in row[1:6]] for row in _section(report, "required").blocks[0].rows}
    assert rows == {"kvp-accuracy": ["annual", "3", "2", "0", "1"],
                    "output-reproducibility": ["quarterly", "1", "1", "0", "0"]}


def test_the_action_is_verified_by_its_retest_with_what_was_done(small_year):
    _, report = _report(small_year)
    (row,) = _section(report, "actions").blocks[0].rows
    assert row[0].text == "CA-1" and row[2].text == "verified"
    assert row[3].text == "kV feedback board replaced"
    assert row[4].text == f"{small_year.runs[2]} PASS"


def test_service_pm_and_instruments(small_year):
    _, report = _report(small_year)
    (service,) = _section(report, "service").blocks[0].rows
    assert service[5].text == "collimation, pbl, receptor-centering; OUTSTANDING: collimation, pbl, " \
                              "receptor-centering"
    (pm,) = _section(report, "pm").blocks[0].rows
    assert pm[0].text == "2025-03-10" and pm[2].text == "collimator"
    (inst,) = _section(report, "instruments").blocks[0].rows
    assert inst[5].text == "4 (2025-02-03 to 2025-08-04)"
    assert inst[4].text == "2025-06-30" and inst[4].tone == "alert"      # used in August, due in June


def test_people_are_anonymised_unless_personal_is_asked(small_year):
    _, report = _report(small_year)
    page = html_document(report)
    assert small_year.person not in page and small_year.wearer not in page and "0.42" not in page
    assert "person 1: tede 0.05 mSv" in page
    _, personal = _report(small_year, personal=True)
    page = html_document(personal)
    assert small_year.person in page and small_year.wearer in page


def test_signature_lines_for_the_physicist(small_year):
    _, report = _report(small_year)
    table = _section(report, "sign").blocks[1]
    assert table.columns == ("Role", "Printed name", "Signature", "Date")
    assert table.rows[0][0].text.startswith("Qualified medical physicist")


class _Pages:
    """Stands in for PdfPages: keeps the text drawn on each page."""

    def __init__(self):
        self.texts = []

    def savefig(self, fig):
        self.texts.append([t.get_text() for t in fig.texts])


def test_pdf_pages_say_n_of_m(small_year):
    from xcal.reports.annual import lay_out

    _, report = _report(small_year)
    pages = _Pages()
    total = lay_out(report, pages)
    assert total == len(pages.texts) >= 2
    for n, texts in enumerate(pages.texts, 1):
        assert sum(t.startswith(f"page {n} of {total} · ") for t in texts) == 1


@pytest.mark.parametrize("size", [7.0])
def test_table_columns_fit_their_longest_word(size):
    from xcal.reports.model import Cell, Table
    from xcal.reports.pdf_layout import TextMeasure

    class Page:
        width = 7.07
        measure = TextMeasure()

    table = Table(("Run", "Note"), ((Cell("20250505-090000-0002-averyveryverylongtoken"), Cell("short")),),
                  weights=(0.1, 5.0))
    widths = unbroken_widths(Page, table, size)
    longest = Page.measure.width("20250505-090000-0002-averyveryverylongtoken", size, True)
    assert widths[0] >= longest + 0.08                     # the cell's padding, so wrap never splits it
    assert abs(sum(widths) - Page.width) < 1e-6
    assert Page.measure.wrap("20250505-090000-0002-averyveryverylongtoken", widths[0] - 0.08, size) == \
        ["20250505-090000-0002-averyveryverylongtoken"]


def test_a_bundle_without_bundle_records_is_counted_by_complete_sets_of_its_member_runs(small_year):
    from types import SimpleNamespace

    from xcal.frequency import ScheduleItem
    from xcal.reports.annual import AnnualData, required_tests_section

    members = ("kvp-accuracy", "kvp-reproducibility", "timer-accuracy", "output-reproducibility", "ma-linearity",
               "mas-linearity", "hvl")

    def run(procedure, day, verdict="PASS"):
        return SimpleNamespace(procedure_id=procedure, started_at=f"{day}T09:00:00+00:00", verdict=verdict,
                               status="complete", snapshot={})

    runs = [run(m, "2025-03-01", "FAIL" if m == "hvl" else "PASS") for m in members]
    runs.append(run("kvp-accuracy", "2025-06-01"))
    data = AnnualData(small_year.site, small_year.site.room("3"), 2025, runs, {},
                      [ScheduleItem("3", "radiographic-acceptance", "annual")], {})
    (row,) = required_tests_section(data).blocks[0].rows
    # every member run at least once: one complete set; 7 + 1 member runs, hvl's FAILed; the set was last whole
    # on 1 March (the oldest of the members' newest runs), and its worst newest verdict is hvl's FAIL
    assert [c.text for c in row[2:]] == ["1 set", "7", "0", "1", "2025-03-01 FAIL"]
