"""Thin helpers so JUnit, allure and pytest-html carry the true verdict (the framework wires them).

JUnit and allure know only passed/failed/skipped/broken; the ISO 9646 verdict travels alongside as
a property or label, so INCONC is never mistaken for FAIL nor NA for a skip of ours.
"""

from __future__ import annotations

from markupsafe import Markup

from osgpct.reports.model import VERDICTS, CaseResult, Results
from osgpct.reports.verdicts import Verdict

_ALLURE_STATUS = {Verdict.PASS: "passed", Verdict.FAIL: "failed", Verdict.INCONC: "skipped",
                  Verdict.ERROR: "broken", Verdict.NA: "skipped", Verdict.NOT_RUN: "unknown"}


def junit_properties(tc: CaseResult) -> list[tuple[str, str]]:
    """For `record_property` / `user_properties`: verdict, then one "requirement" per id."""
    props = [("verdict", tc.verdict.value)]
    props += [("requirement", rid) for rid in tc.requirements]
    if tc.pics:
        props.append(("pics", tc.pics))
    if tc.reason:
        props.append(("reason", tc.reason))
    return props


def allure_labels(tc: CaseResult) -> list[tuple[str, str]]:
    """(name, value) pairs for `allure.dynamic.label(name, value)`."""
    labels = [("verdict", tc.verdict.value), ("tag", f"verdict:{tc.verdict.value}")]
    if tc.area:
        labels.append(("parentSuite", tc.area))
    if tc.group:
        labels.append(("suite", tc.group))
    labels += [("requirement", rid) for rid in tc.requirements]
    labels += [("tag", rid) for rid in tc.requirements]
    return labels


def allure_status(verdict: Verdict) -> str:
    """Closest allure status; the label above carries the exact verdict."""
    return _ALLURE_STATUS[verdict]


def html_table_header() -> Markup:
    """For `pytest_html_results_table_header(cells)`: cells.insert(2, html_table_header())."""
    return Markup('<th class="sortable" data-column-type="verdict">Verdict</th>')


def html_table_cell(tc: CaseResult) -> Markup:
    """For `pytest_html_results_table_row(report, cells)`."""
    return Markup('<td class="col-verdict">{}</td>').format(tc.verdict.value)


def html_extra(tc: CaseResult) -> str:
    """An HTML snippet for `pytest_html.extras.html(...)`: verdict, reason, requirements, steps."""
    steps = "".join(
        Markup("<li>{}. {}: <b>{}</b>{}</li>").format(s.n, s.title, s.verdict.value,
                                                       f" ({s.reason})" if s.reason else "")
        for s in tc.steps)
    box = Markup('<div class="osgp-verdict"><p><b>{}</b> {}</p><p>Requirements: {}</p>{}</div>')
    return str(box.format(
        tc.verdict.value, tc.reason, ", ".join(tc.requirements) or "-",
        Markup("<ol>{}</ol>").format(Markup(steps)) if steps else ""))


def html_summary(results: Results) -> list[str]:
    """For `pytest_html_results_summary(prefix, ...)`: prefix.extend(html_summary(results))."""
    n = results.counts()
    status = results.status()
    counts = ", ".join(f"{v.value} {n[v]}" for v in VERDICTS)
    return [str(Markup("<p><b>OSGP verdicts</b> (ISO/IEC 9646): {}</p><p>{}: {}</p>").format(
        counts, status.label, status.statement))]
