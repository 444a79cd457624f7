"""One order of severity and one look for verdicts, shared by the console, reports and plots."""

from __future__ import annotations

import pytest

from xcal.reports.model import VERDICT_TONES
from xcal.reports.plots import VERDICT_COLOURS, VERDICT_MARKERS
from xcal.verdict import LOOKS, Verdict, console_style, run_verdict, worst


def test_severity_runs_info_pass_warn_fail():
    assert sorted(Verdict, key=lambda v: v.severity) == [Verdict.INFO, Verdict.PASS, Verdict.WARN, Verdict.FAIL]
    assert worst(["PASS", "WARN", "INFO"]) == Verdict.WARN and worst([]) == Verdict.INFO


@pytest.mark.parametrize("checks, verdict", [(["PASS", "WARN", "INFO"], "PASS"), (["WARN", "FAIL"], "FAIL"),
                                             ([], "PASS")])
def test_a_run_fails_only_on_a_failed_check(checks, verdict):
    assert run_verdict(checks) == verdict


def test_verdicts_are_their_own_words_so_records_keep_plain_text():
    assert Verdict.FAIL == "FAIL" and f"{Verdict.WARN}" == "WARN" and Verdict("PASS") is Verdict.PASS
    with pytest.raises(ValueError):
        Verdict("NOT_DONE")


def test_every_front_end_takes_its_look_from_the_one_map():
    for verdict, look in LOOKS.items():
        assert console_style(verdict) == look.console
        assert VERDICT_COLOURS[verdict] == look.colour and VERDICT_MARKERS[verdict] == look.marker
        assert VERDICT_TONES[verdict] == look.tone
    assert set(LOOKS) == set(Verdict)
    assert console_style("INCOMPLETE") == "" and VERDICT_TONES["INCOMPLETE"] == "fail"
