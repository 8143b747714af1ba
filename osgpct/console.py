"""What the lab engineer sees on the terminal: one progress line per test case, the verdict summary,
and the Verdict column pytest-html adds."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from osgpct.reports.verdicts import Verdict

if TYPE_CHECKING:
    from osgpct.campaign import Campaign

_ORDER = (Verdict.PASS, Verdict.FAIL, Verdict.INCONC, Verdict.ERROR, Verdict.NA)


class Console:
    """Progress lines and the closing summary of a campaign (a pytest plugin object)."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self.config = campaign.config
        self.done: Counter[Verdict] = Counter()

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        if not self.campaign.active or report.nodeid not in self.campaign.runs:
            return None
        # No progress letter: one line per test case instead (pytest_runtest_logfinish); the word is the verdict.
        verdict = getattr(report, "osgp_verdict", "")
        if report.when in ("setup", "teardown"):
            return ("error" if report.failed else "skipped" if report.skipped else "", "",
                    verdict if report.failed or report.skipped else "")
        return (report.outcome, "", verdict)

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        c = self.campaign
        run = c.runs.get(nodeid)
        if run is None:
            return
        self.done[run.verdict] += 1
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is None or self.config.get_verbosity() < -1:
            return
        counts = " ".join(f"{self.done[v]} {v.value}" for v in _ORDER if self.done[v])
        line = f"{run.id} {run.verdict.value} ({sum(self.done.values())}/{len(c.selected)}: {counts})"
        if run.verdict is not Verdict.PASS and self.config.get_verbosity() > 0:
            line += f" - {run.reason}"
        tr.ensure_newline()
        tr.write_line(line, **_COLOURS.get(run.verdict, {}))

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        c = self.campaign
        if not c.active:
            return
        tr = terminalreporter
        tr.section("OSGP verdicts")
        n = Counter(r.verdict for r in c.runs.values())
        tr.write_line(", ".join(f"{n[v]} {v.value}" for v in (*_ORDER, Verdict.NOT_RUN)))
        for r in c.runs.values():
            if r.verdict in (Verdict.FAIL, Verdict.INCONC, Verdict.ERROR):
                tr.write_line(f"  {r.id} {r.verdict.value}: {r.reason}", **_COLOURS.get(r.verdict, {}))
        for note in c.notes:
            tr.write_line(f"  note: {note}")
        if c.results is not None:
            status = c.results.status()
            tr.write_line(f"{status.label}: {status.statement}")
            for m in c.results.pics_mismatches():
                tr.write_line(f"  PICS {m.item}: declared {m.declared}, observed {m.observed} ({m.source})")
        if c.out is not None:
            tr.write_line(f"results and reports: {c.out}")
        tr.write_line(f"exit status {c.exit_code}: {c.exit_reason}")


_COLOURS = {Verdict.PASS: {"green": True}, Verdict.FAIL: {"red": True, "bold": True},
            Verdict.ERROR: {"red": True}, Verdict.INCONC: {"yellow": True}, Verdict.NA: {"cyan": True}}


class HtmlColumns:
    """pytest-html: a Verdict column (registered only when pytest-html is active)."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        from osgpct.reports.pytest_helpers import html_table_header

        cells.insert(2, str(html_table_header()))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        verdict = getattr(report, "osgp_verdict", "")
        cells.insert(2, f'<td class="col-verdict">{verdict}</td>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str]) -> None:
        if self.campaign.results is not None:
            from osgpct.reports.pytest_helpers import html_summary

            prefix.extend(html_summary(self.campaign.results))
