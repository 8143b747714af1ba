"""One campaign: the plan, the record of every test case, selection, verdicts from pytest's outcomes,
the driver's lifetime and the exit status (DESIGN.md §3). Results and reports: osgpct.results;
the terminal: osgpct.console."""

from __future__ import annotations

import contextlib
import fnmatch
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from osgp.errors import ConfigError, TransportError
from osgp.transaction import TidAllocator
from osgpct import connect
from osgpct.bound import alarm
from osgpct.evidence import Evidence
from osgpct.pics import PicsError
from osgpct.plan import Plan, load_plan
from osgpct.reports.verdicts import Verdict
from osgpct.results import build_results, case_result, now, write_outputs
from osgpct.testcase import CaseRun, Context, meta_of

EXIT_OK, EXIT_FAIL, EXIT_ERROR, EXIT_CONFIG = 0, 1, 2, 3


class Campaign:
    """State of one run: plan, records of every test case, evidence, outputs, exit status."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.plan: Plan | None = None
        self.active = False  # test cases were collected: this run is a campaign
        self.tids = TidAllocator()  # one 14908-1 TID history for all the campaign's sessions
        self.judged_by: dict[str, list[str]] = {}  # requirement -> ids of the selected cases that cite it
        self._context: Context | None = None
        self.runs: dict[str, CaseRun] = {}  # nodeid -> record, in collection order
        self.selected: list[str] = []  # nodeids of the test cases selected to run (NA included)
        self.current: CaseRun | None = None
        self.foreign_failures = 0  # failed tests without OSGP metadata inside a campaign
        self.notes: list[str] = []  # observations for the report
        self.exit_reason = ""
        self.exit_code: int | None = None
        self.results: Any = None
        self.driver: Any = None
        self.evidence: Evidence | None = None
        self.started = now()
        seed = config.getoption("seed")
        self.seed: int = seed if seed is not None else random.SystemRandom().randrange(1 << 31)
        out = config.getoption("out")
        self.out: Path | None = Path(out).resolve() if out else None
        self.signing_key: Any = None

    # ---- plan ----------------------------------------------------------------------------------

    @property
    def context(self) -> Context:
        """What every case run shares: the verdict policy of the plan and who judges each requirement."""
        if self._context is None:
            strict = self.plan.policy.strict if self.plan else False
            self._context = Context(strict=strict, judged_by=self.judged_by)
        return self._context

    def ensure_plan(self) -> Plan:
        if self.plan is None:
            opt = self.config.getoption("plan")
            path = Path(opt) if opt else Path(self.config.rootpath) / "testplan.yaml"
            try:
                plan = load_plan(path).with_overrides(target=self.config.getoption("target"),
                                                      show_secrets=self.config.getoption("show_secrets"))
                if self.out is not None and plan.lab.signing_key is not None:
                    from osgpct.reports.bundle import load_signing_key

                    self.signing_key = load_signing_key(plan.lab.signing_key)
            except ConfigError as e:
                self.exit_reason = str(e)
                pytest.exit(str(e), returncode=EXIT_CONFIG)
            self.plan = plan
            self.notes += [f"PICS review {f}" for f in plan.review]
        return self.plan

    def default_output_paths(self) -> None:
        """With --out, JUnit, pytest-html and allure write into it unless told otherwise."""
        if self.out is None:
            return
        opt = self.config.option
        if hasattr(opt, "xmlpath") and not opt.xmlpath:
            opt.xmlpath = str(self.out / "junit.xml")
        if hasattr(opt, "htmlpath") and not opt.htmlpath:
            opt.htmlpath = str(self.out / "report.html")
            opt.self_contained_html = True
        if hasattr(opt, "allure_report_dir") and not opt.allure_report_dir:
            opt.allure_report_dir = str(self.out / "allure-results")

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        if self.plan is None:
            return []
        p = self.plan
        return [f"osgp: plan {p.path} (sha256 {p.sha256[:12]}…), target {p.target}, seed {self.seed}, "
                f"security {p.security.mode}"]

    # ---- collection ----------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)  # after -k / -m deselection
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        if not self.runs and not any(meta_of(getattr(it, "function", None)) for it in items):
            return  # no test case here: plain pytest (the self-tests)
        self.active = True
        plan = self.ensure_plan()
        keep, deselected = [], []
        for item in items:
            run = self._new_run(item)
            if run is None:
                keep.append(item)
            elif run.verdict is Verdict.NOT_RUN and not plan.selection.selects(run.id):
                run.set_outcome(Verdict.NOT_RUN, "not selected by the plan (selection.include / exclude)")
                deselected.append(item)
            else:
                keep.append(item)
                if run.verdict is Verdict.NOT_RUN:
                    self._apply_pics(item, run, plan)
        for pattern in plan.selection.include:
            if not any(fnmatch.fnmatchcase(r.id, pattern) for r in self.runs.values()):
                self.notes.append(f"selection.include {pattern!r} matches no test case")
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = keep
        self.selected = [it.nodeid for it in items if it.nodeid in self.runs]
        for nodeid in self.selected:  # who judges each requirement: named when another case meets its defect
            run = self.runs[nodeid]
            for rid in run.meta.requirements:
                self.judged_by.setdefault(rid, []).append(run.meta.id)
        tr = config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.showfspath = False  # our progress lines name the test cases

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        """`-k TC_SEC_SEQ` selects by test case id, not only by function name."""
        meta = meta_of(getattr(item, "function", None))
        if meta is not None:
            item.extra_keyword_matches.add(meta.id)

    def _new_run(self, item: pytest.Item) -> CaseRun | None:
        meta = meta_of(getattr(item, "function", None))
        if meta is None:
            return None
        if item.nodeid in self.runs:
            return self.runs[item.nodeid]
        callspec = getattr(item, "callspec", None)
        case_id = f"{meta.id}[{callspec.id}]" if callspec else meta.id
        run = CaseRun(meta, case_id=case_id, seed=self.seed, pics=self.plan.pics if self.plan else {},
                      context=self.context)
        other = next((r for r in self.runs.values() if r.id == case_id), None)
        if other is not None:
            run.set_outcome(Verdict.ERROR, f"test case id {case_id} is also used at {other.meta.location}")
            item.add_marker(pytest.mark.skip(reason=f"ERROR: duplicate test case id {case_id}"))
        self.runs[item.nodeid] = run
        return run

    @staticmethod
    def _apply_pics(item: pytest.Item, run: CaseRun, plan: Plan) -> None:
        try:
            applicable = run.meta.applicable(plan.pics)
        except PicsError as e:  # cannot happen with a checked plan and checked metadata; never hide it
            run.set_outcome(Verdict.ERROR, f"PICS selection failed: {e}")
            item.add_marker(pytest.mark.skip(reason=f"ERROR: {e}"))
            return
        if not applicable:
            reason = f"not applicable: PICS expression `{run.meta.pics}` is false for this DUT"
            run.set_outcome(Verdict.NA, reason)
            item.add_marker(pytest.mark.skip(reason=f"NA: {reason}"))

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:
            run = self._new_run(item)
            if run is not None and not run.events:
                run.set_outcome(Verdict.NOT_RUN, "deselected on the command line (-k / -m)")

    # ---- running ---------------------------------------------------------------------------------

    def bound(self) -> float | None:
        opt = self.config.getoption("osgp_timeout")
        seconds = opt if opt is not None else (self.plan.pixit.test_timeout_s if self.plan else 0)
        return seconds or None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.current = self.runs.get(item.nodeid)  # frames from now on are this test case's evidence

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        run = self.runs.get(item.nodeid)
        if run is None:
            return (yield)
        bound = self.bound()
        run.begin(bound)
        with alarm(run, bound, lambda: self.evidence is not None and self.evidence.busy):
            return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        run = self.runs.get(item.nodeid)
        if run is None:
            return None
        if call.excinfo is not None:
            exc = call.excinfo.value
            if run.preset and isinstance(exc, pytest.skip.Exception):
                pass  # our own skip marker of an NA (or broken) test case: the verdict is already set
            elif isinstance(exc, pytest.skip.Exception):
                run.record(Verdict.INCONC, f"skipped at run time: {exc.msg}")
            else:
                run.on_exception(exc)
        bound = self.bound()
        if call.when == "call" and bound and call.duration > bound:
            run.overran(call.duration)
        run.duration += call.duration
        if call.when == "teardown":
            run.finish()
            case = case_result(run)
            from osgpct.reports.pytest_helpers import allure_labels, junit_properties

            item.user_properties.extend(junit_properties(case))  # JUnit writes them with the teardown report
            if getattr(self.config.option, "allure_report_dir", None):
                import allure

                for name, value in allure_labels(case):
                    allure.dynamic.label(name, value)
        report = pytest.TestReport.from_item_and_call(item, call)
        self._shape(report, run, call)
        if call.excinfo is not None and run.verdict is not Verdict.ERROR:
            call.excinfo = None  # control flow (StopCase) or the DUT's silence: the verdict says it all
        return report

    def _shape(self, report: pytest.TestReport, run: CaseRun, call: pytest.CallInfo[None]) -> None:
        """pytest's outcome from the verdict: PASS passed; FAIL, ERROR and disallowed INCONC failed;
        NA and allowed INCONC skipped. The verdict itself rides along as `report.osgp_verdict`."""
        report.osgp_verdict = run.verdict.value  # type: ignore[attr-defined]
        if call.when != "call" and call.excinfo is None:  # a clean setup or teardown
            return
        v = run.verdict
        strict = self.plan is not None and self.plan.policy.inconc_fails_run
        text = f"{v.value}: {run.reason}" if run.reason else v.value
        if v is Verdict.PASS:
            report.outcome, report.longrepr = "passed", None
        elif v in (Verdict.NA, Verdict.NOT_RUN) or (v is Verdict.INCONC and not strict):
            path, line, _ = report.location
            report.outcome, report.longrepr = "skipped", (path, (line or 0) + 1, text)
        elif v is Verdict.ERROR and report.outcome == "failed":
            pass  # keep pytest's traceback: an ERROR is a bug of the suite, to be debugged
        else:
            report.outcome, report.longrepr = "failed", text

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        self.current = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.active and report.failed and report.nodeid not in self.runs:
            self.foreign_failures += 1

    # ---- driver and session ------------------------------------------------------------------------

    def open_driver(self) -> Any:
        if self.driver is not None:
            return self.driver
        plan = self.ensure_plan()
        try:
            drv = connect.make_driver(plan, self.seed)
            drv.open()
        except (ConfigError, TransportError) as e:
            self.exit_reason = f"target {plan.target}: {e}"
            pytest.exit(self.exit_reason, returncode=EXIT_CONFIG)
        self.driver = drv
        self.evidence = Evidence(self.out / "trace.pcap" if self.out else None, drv.clock.now(),
                                 lambda: self.current)
        drv.add_tap(self.evidence.tap)
        self.config.add_cleanup(self._close_driver)
        first, self.current = self.current, None  # the preflight's frames are no test case's evidence
        problem = connect.preflight(drv, plan, self.tids)
        self.current = first
        if problem:
            self.exit_reason = problem
            self.notes.append(f"campaign stopped before the first test case: {problem}")
            pytest.exit(problem, returncode=EXIT_CONFIG)
        return drv

    def _close_driver(self) -> None:
        if self.driver is not None:
            with contextlib.suppress(Exception):  # closing must never mask the campaign's outcome
                self.driver.close()

    def attach(self, session: Any, run: CaseRun) -> None:
        """The test's cooperative timeout point: every exchange of the session checks the bound."""
        session.on_exchange(run.on_exchange)

    # ---- the end ---------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.active or self.plan is None:  # no campaign, or its plan was refused (exit status 3)
            return
        if self.evidence is not None:
            self.evidence.close()
        self.exit_code, why = self.exit_status(int(exitstatus))
        self.exit_reason = self.exit_reason or why
        session.exitstatus = self.exit_code
        try:
            self.results = build_results(self)
        except ImportError as e:
            self.notes.append(f"results not built: the reports package is not available ({e})")

    def exit_status(self, pytest_status: int) -> tuple[int, str]:
        """DESIGN.md's exit status from the verdicts (and from pytest's own status when it stopped early)."""
        if self.exit_reason and pytest_status == EXIT_CONFIG:
            return EXIT_CONFIG, self.exit_reason
        if pytest_status in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
            return EXIT_ERROR, "the run was interrupted (collection errors, Ctrl-C) or pytest failed internally"
        if not self.selected:
            return EXIT_CONFIG, "no test case selected (check selection.include / exclude and -k)"
        runs = list(self.runs.values())
        n = Counter(r.verdict for r in runs)
        strict = self.plan is not None and self.plan.policy.inconc_fails_run
        unfinished = sum(1 for i in self.selected if self.runs[i].verdict is Verdict.NOT_RUN)
        if n[Verdict.FAIL]:  # a FAIL stands on its own, whatever else went wrong (DESIGN.md: "1 when any FAIL")
            errors = f", and {n[Verdict.ERROR]} ERROR of the test system" if n[Verdict.ERROR] else ""
            return EXIT_FAIL, f"{n[Verdict.FAIL]} FAIL: the DUT does not conform{errors}"
        if n[Verdict.ERROR]:
            return EXIT_ERROR, f"{n[Verdict.ERROR]} ERROR: the test system failed (not a verdict on the DUT)"
        if self.foreign_failures:
            return EXIT_ERROR, f"{self.foreign_failures} failed test(s) without @testcase metadata"
        if strict and n[Verdict.INCONC]:
            return EXIT_ERROR, f"{n[Verdict.INCONC]} INCONC, and the plan's policy does not accept INCONC"
        if unfinished:
            return EXIT_ERROR, f"{unfinished} selected test case(s) did not run"
        return EXIT_OK, "every selected test case PASS or NA" + (
            f" ({n[Verdict.INCONC]} INCONC accepted by the plan's policy)" if n[Verdict.INCONC] else "")

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Write results.json, the PCTR and the signed manifest last, after JUnit, pytest-html and allure."""
        if self.active and self.results is not None and self.out is not None and self.plan is not None:
            write_outputs(self)
