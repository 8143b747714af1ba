"""JUnit, allure and pytest-html helpers carry the true verdict and requirement ids."""

from __future__ import annotations

from reports_fixtures import PLANTED, failing_campaign

from osgpct.reports.pytest_helpers import (
    allure_labels,
    allure_status,
    html_extra,
    html_summary,
    html_table_cell,
    junit_properties,
)
from osgpct.reports.verdicts import Verdict


def test_junit_properties_carry_verdict_and_requirements():
    r = failing_campaign()
    tc = r.case("TC_LNK_TMR_TI_01")
    props = junit_properties(tc)
    assert props[0] == ("verdict", "INCONC")  # JUnit would say "skipped" or "failed"; this says INCONC
    assert ("requirement", "REQ-LNK-004") in props and ("reason", tc.reason) in props
    two = junit_properties(r.case("TC_SEC_KEY_BI_03"))
    assert [v for k, v in two if k == "requirement"] == ["REQ-MGT-002", "REQ-SEC-001"]


def test_allure_labels_and_status():
    tc = failing_campaign().case("TC_PRC_RES_BV_02")
    labels = allure_labels(tc)
    assert ("verdict", "ERROR") in labels and ("tag", "verdict:ERROR") in labels
    assert ("parentSuite", "PRC") in labels and ("requirement", "REQ-PRC-001") in labels
    assert {v: allure_status(v) for v in Verdict} == {
        Verdict.PASS: "passed", Verdict.FAIL: "failed", Verdict.INCONC: "skipped", Verdict.ERROR: "broken",
        Verdict.NA: "skipped", Verdict.NOT_RUN: "unknown"}


def test_pytest_html_snippets_are_escaped():
    r = failing_campaign()
    tc = r.case("TC_SEC_DIG_BI_01")
    tc.reason = PLANTED["hostile"]
    extra = html_extra(tc)
    assert "<b>FAIL</b>" in extra and "<script>" not in extra and "&lt;script&gt;" in extra
    assert "REQ-SEC-001" in extra and extra.count("<li>") == len(tc.steps)
    assert str(html_table_cell(tc)) == '<td class="col-verdict">FAIL</td>'
    (summary,) = html_summary(r)
    assert "PASS 15, FAIL 2, INCONC 1, ERROR 1, NA 1, NOT RUN 0" in summary and "NOT CONFORMING" in summary
