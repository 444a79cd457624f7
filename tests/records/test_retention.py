"""Retention: the runs past their period and the rule that governs each; nothing is ever deleted.

Worked by hand, today = 2025-06-01, rules WA "*" 3 years, WA "hvl" 400 days, federal "*" 2 years:
  A kvp 2020-03-01: WA 2023-03-01, federal 2022-03-01 -> keep until 2023-03-01; past by 366 + 365 + 92 = 823 days
  B hvl 2023-06-15: WA's hvl rule (more specific than WA "*") 2023-06-15 + 400 d = 2024-07-19, federal
    2025-06-15 -> keep until 2025-06-15: not past
  C kvp 2025-01-01: WA 2028-01-01: not past
  D x   2022-06-01: WA 2025-06-01 = today: kept through today, not past
"""

from __future__ import annotations

import datetime as dt

import pytest

from xcal.errors import ConfigError
from xcal.records.retention import RetentionRule, retention_report

from .factory import raw

TODAY = dt.date(2025, 6, 1)
WA_ANY = RetentionRule("US-WA", "*", years=3, source="WAC 246-225")
WA_HVL = RetentionRule("US-WA", "hvl", days=400)
FED_ANY = RetentionRule("US (federal)", "*", years=2)
RULES = [WA_ANY, WA_HVL, FED_ANY]


@pytest.fixture
def four_runs(make_run):
    make_run("A", started_at="2020-03-01T10:00:00+00:00")
    make_run("B", started_at="2023-06-15T10:00:00+00:00", procedure="hvl")
    make_run("C", started_at="2025-01-01T10:00:00+00:00")
    make_run("D", started_at="2022-06-01T10:00:00+00:00", procedure="x", finish=False)


def test_keep_until_in_days_and_calendar_years():
    assert RetentionRule("X", "*", days=365).keep_until(dt.date(2024, 1, 10)) == dt.date(2025, 1, 9)
    assert RetentionRule("X", "*", years=1).keep_until(dt.date(2024, 2, 29)) == dt.date(2025, 2, 28)
    assert RetentionRule("X", "*", years=4).keep_until(dt.date(2024, 2, 29)) == dt.date(2028, 2, 29)
    assert WA_HVL.keep_until(dt.date(2023, 6, 15)) == dt.date(2024, 7, 19)


def test_the_report_lists_runs_past_retention_with_the_governing_rule(store, four_runs):
    report = retention_report(store, RULES, TODAY)
    assert [(i.run_id, i.keep_until, i.rule, i.days_past) for i in report] == [
        ("A", dt.date(2023, 3, 1), WA_ANY, 823)]
    assert report[0].procedure_id == "kvp-accuracy" and report[0].room_id == "3"


def test_jurisdictions_per_site_choose_the_rules(store, four_runs):
    """Federal rules only: A keep until 2022-03-01 (past by 1188 days), D until 2024-06-01 (past by 365)."""
    report = retention_report(store, RULES, TODAY, jurisdictions={"Test site": ["US (federal)"]})
    assert [(i.run_id, i.keep_until, i.rule.jurisdiction, i.days_past) for i in report] == [
        ("A", dt.date(2022, 3, 1), "US (federal)", 1188), ("D", dt.date(2024, 6, 1), "US (federal)", 365)]
    assert retention_report(store, RULES, TODAY, jurisdictions={"Other site": ["US-WA"]}) == []


def test_a_run_no_rule_covers_is_kept(store, four_runs):
    """Only B is an hvl run: A, C and D have no rule, so they are kept however old they are."""
    assert [i.run_id for i in retention_report(store, [RetentionRule("US-WA", "hvl", days=1)], TODAY)] == ["B"]


def test_the_report_deletes_nothing(db, store, four_runs):
    """Three complete runs of six entries and D (created, three readings): 22 entries."""
    tables = ("runs", "readings", "checks", "entries")
    before = {t: raw(db, f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables}
    assert before == {"runs": 4, "readings": 12, "checks": 3, "entries": 22}
    retention_report(store, [RetentionRule("X", "*", days=1)], TODAY)
    assert {t: raw(db, f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables} == before
    assert store.verify().ok


@pytest.mark.parametrize("kw", [{}, {"days": 10, "years": 1}, {"days": 0}, {"years": -1}, {"days": 1.5},
                                {"years": True}])
def test_a_rule_needs_one_positive_whole_period(kw):
    with pytest.raises(ConfigError, match="whole positive number"):
        RetentionRule("US-WA", "*", **kw)
