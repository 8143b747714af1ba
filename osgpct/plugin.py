"""The pytest plugin of a conformance campaign (`pytest testcases usecases -p osgpct.plugin --plan …`).

It is inert for ordinary tests: it takes charge only of test functions that carry `@testcase` or
`@usecase` metadata (osgpct.testcase), so the self-tests in tests/ run as plain pytest even though the
repository's conftest.py loads it.

For a campaign it
- loads the test plan (`--plan`, default testplan.yaml at the rootdir); a bad plan ends the run with
  a one-line `FILE:LINE: message (fix: …)` and exit status 3;
- selects at collection: a test case the plan's selection (or -k) leaves out is NOT RUN; one whose
  PICS expression is false is NA, with the expression in the reason;
- provides the fixtures `plan`, `driver` (one per run), `session` (one per test case) and `tc`;
- bounds each test body (`--osgp-timeout`, default pixit.test_timeout_s): see `_alarm`;
- turns pytest outcomes into verdicts (osgpct.testcase.CaseRun.on_exception) and gives JUnit, allure
  and pytest-html the true verdict as a property, label and column;
- prints one progress line per test case, writes results.json and the reports into `--out`, and sets
  the exit status of DESIGN.md: 0 PASS/NA (INCONC if the policy allows), 1 FAIL, 2 ERROR, disallowed
  INCONC or an incomplete run, 3 configuration error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from osgp.errors import ConfigError, OsgpError, TransportError
from osgp.transaction import TidAllocator
from osgpct.pics import PicsError
from osgpct.plan import Plan, load_plan
from osgpct.testcase import CaseRun, Context, describe_exception, meta_of
from osgpct.verdicts import Verdict

EXIT_OK, EXIT_FAIL, EXIT_ERROR, EXIT_CONFIG = 0, 1, 2, 3
_ORDER = (Verdict.PASS, Verdict.FAIL, Verdict.INCONC, Verdict.ERROR, Verdict.NA)
_REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("osgp", "OSGP conformance campaign (osgpct.plugin)")
    g.addoption("--plan", default=None, help="test plan YAML (default: testplan.yaml at the rootdir)")
    g.addoption("--target", default=None, help="override the plan's target URL (loopback:, cnip+udp://H:P, …)")
    g.addoption("--out", default=None, help="campaign output directory: results.json, PCTR, trace, bundle")
    g.addoption("--seed", type=int, default=None, help="seed of the test cases' random values (tc.rng), "
                "recorded in results.json (default: a fresh one); the loopback channel model takes its own "
                "seed from the target URL (loopback:?channel=a-band&seed=N)")
    g.addoption("--show-secrets", action="store_true", default=False, help="allow keys in reports and traces")
    g.addoption("--osgp-timeout", type=float, default=None,
                help="bound on each test body in seconds (default: pixit.test_timeout_s; 0 = no bound)")
    g.addoption("--osgp-reports", choices=("all", "results"), default=os.environ.get("OSGP_REPORTS") or "all",
                help="what --out receives: all (results.json, PCTR, signed bundle) or results (results.json "
                     "only, for fast repeated campaigns such as the kill matrix); default $OSGP_REPORTS or all")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    campaign = Campaign(config)
    config.stash[_CAMPAIGN] = campaign
    config.pluginmanager.register(campaign, "osgp-campaign")
    if config.getoption("plan") or config.getoption("out"):  # clearly a campaign: fail fast on a bad plan
        campaign.ensure_plan()
        campaign.default_output_paths()
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.register(_HtmlColumns(campaign), "osgp-html")


_CAMPAIGN = pytest.StashKey["Campaign"]()


def _campaign(config: pytest.Config) -> Campaign:
    return config.stash[_CAMPAIGN]


# ---- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def plan(pytestconfig: pytest.Config) -> Plan:
    """The campaign's test plan (frozen), with --target / --show-secrets applied."""
    return _campaign(pytestconfig).ensure_plan()


@pytest.fixture(scope="session")
def driver(pytestconfig: pytest.Config) -> Any:
    """The driver to the DUT, opened once per run (drivers.open_driver(plan.target, …))."""
    return _campaign(pytestconfig).open_driver()


@pytest.fixture
def tc(request: pytest.FixtureRequest) -> CaseRun:
    """The verdict recorder of the running test case (osgpct.testcase.CaseRun)."""
    run = _campaign(request.config).runs.get(request.node.nodeid)
    if run is None:
        raise OsgpError(f"{request.node.nodeid}: the `tc` fixture serves functions declared with "
                        "@testcase or @usecase (osgpct.testcase)")
    return run


@pytest.fixture
def session(request: pytest.FixtureRequest, driver: Any, plan: Plan, tc: CaseRun) -> Iterator[Any]:
    """A fresh osgp.session.Session to the DUT; every exchange becomes evidence of the running step."""
    campaign = _campaign(request.config)
    s = make_session(driver, plan, tids=campaign.tids)
    campaign.attach(s, tc)
    yield s
    close = getattr(s, "close", None)
    if close is not None:
        close()  # its tap leaves the driver: evidence of finished cases is not kept alive


# ---- factories (module level, so self-tests can substitute fakes) --------------------------------


def make_driver(plan: Plan, seed: int) -> Any:
    """The (unopened) driver for the plan's target. The loopback hosts the reference device, given the
    plan's address, security mode, keys, sequence window and APDU prefix (docs/testplan.md)."""
    try:
        from osgpct.drivers import open_driver
    except ImportError as e:
        raise OsgpError(f"the drivers package is not available ({e}); no test case can reach the DUT") from None
    return open_driver(plan.target, device_factory=refdevice_factory(plan), seed=seed)


def refdevice_factory(plan: Plan) -> Any:
    def factory(clock: Any = None, faults: Any = (), variants: Any = ()) -> Any:
        try:
            from osgpct import refdevice
        except ImportError as e:
            raise OsgpError(f"the reference device is not available ({e}); loopback: cannot run") from None
        a, s = plan.address, plan.security
        keys: dict[str, object] = {}
        for k in s.keys:  # the device's keys by access level, in the plan's order
            keys.setdefault(k.access, k.secret)
        overrides: dict[str, object] = {
            "security.mode": s.mode, "security.keys": keys,
            "security.window": plan.pixit.seq_window, "address.domain": a.domain.hex(),
            "address.subnet": a.subnet, "address.node": a.node}
        if a.neuron_id is not None:
            overrides["address.neuron_id"] = a.neuron_id.hex()
        # The simulated DUT is built with the hardware the plan declares (a meter without a contactor,
        # without load profile ...), so a reduced PICS is checked against a device that really lacks it.
        pics = plan.pics
        for item, option in (("PICS_DISCONNECT", "capabilities.relay"), ("PICS_LOAD_PROFILE",
                             "capabilities.load_profile"), ("PICS_FW_UPGRADE", "capabilities.firmware_upgrade")):
            if pics.get(item) is False:
                overrides[option] = False
        device = refdevice.build(faults=faults, clock=clock, variants=variants, **overrides)
        device.prefix = plan.pixit.apdu_prefix  # ASM-APP-01: the envelope both sides assume
        return device

    return factory


def make_session(driver: Any, plan: Plan, tids: Any = None) -> Any:
    """An osgp.session.Session configured from the plan's address, security and PIXIT."""
    try:
        from osgp.security import AesCcmProfile, DigestProfile, Rc4Profile
        from osgp.session import Session, SessionConfig
        from osgp.transaction import ToNode
    except ImportError as e:
        raise OsgpError(f"osgp.session is not available ({e}); test cases that talk to the DUT cannot run") \
            from None
    sec, px = plan.security, plan.pixit
    default = sec.key()
    keys = [default.secret] + [k.secret for k in sec.keys if k is not default]  # key_index 0 = default key
    if sec.mode == "aes128":
        profile = AesCcmProfile(keys, tag_len=px.aes_ccm.tag_len, device_id=px.aes_ccm.device_id)
    elif sec.mode == "rc4":
        profile = Rc4Profile(keys, variant=px.rc4_variant)
    else:
        profile = DigestProfile(keys)
    a = plan.address
    config = SessionConfig(domain=a.domain, tester_subnet=a.tester.subnet or a.subnet, tester_node=a.tester.node,
                           dut=ToNode(a.subnet, a.node), profile=profile, apdu_prefix=px.apdu_prefix,
                           retries=px.lon_timers.retries, tx_timer_code=px.lon_timers.tx_timer_code)
    budget = 0.8 * px.test_timeout_s if px.test_timeout_s else None
    return Session(driver, config, tids=tids, wait_budget=budget)


PREFLIGHT_TRIES = 2


def preflight(driver: Any, plan: Plan, tids: Any = None) -> str:
    """A wrong set-up is not a non-conforming device. Before the first test case, read BT01 (harmless
    to a meter in service): when nothing answers, or every answer is 0x0B or fails to authenticate, the
    campaign stops as a configuration error naming the likely cause, instead of judging 137 cases.
    Returns "" when the set-up works (any other answer: the test cases judge it)."""
    a, sec = plan.address, plan.security
    session = make_session(driver, plan, tids)
    try:
        seen = _preflight_reads(session)
    finally:
        getattr(session, "close", lambda: None)()
    if not seen:
        return ""
    key = sec.key()
    transport = next((s.split(":", 1)[1] for s in seen if s.startswith("transport:")), None)
    if transport:
        return f"cannot reach the DUT: {transport}"
    if seen == {"silent"}:
        return (f"no answer from the DUT at {plan.target} (domain {a.domain.hex() or '-'}, subnet/node "
                f"{a.subnet}/{a.node}) to {PREFLIGHT_TRIES} reads of BT01: check target, address and the "
                f"14908 envelope (pixit.apdu_prefix = {px_hex(plan.pixit.apdu_prefix)}), and that the DUT is on")
    if "0x0B" in seen:
        return (f"the DUT answers 0x0B (authentication failure) to reads of BT01: check security.keys "
                f"(key {key.name!r}, access {key.access}) and security.mode ({sec.mode})")
    return (f"the DUT's answers to reads of BT01 do not authenticate under the plan's keys: check "
            f"security.keys (key {key.name!r}, access {key.access}), security.mode ({sec.mode}) and "
            "pixit.rc4_variant")


def _preflight_reads(session: Any) -> set[str] | None:
    """What the reads of BT01 met: None when one got a usable answer (the test cases judge the rest)."""
    from osgp.app import ResponseCode, bt
    from osgp.errors import DeviceTimeout
    from osgp.session import ResponseNotAuthentic

    seen: set[str] = set()
    for _ in range(PREFLIGHT_TRIES):
        try:
            r = session.read(bt(1))
        except DeviceTimeout:
            seen.add("silent")
            continue
        except ResponseNotAuthentic:
            seen.add("unauthentic")
            continue
        except TransportError as e:
            seen.add(f"transport:{e}")
            return seen
        except OsgpError:
            return None  # a malformed answer: the DUT is reachable and the test cases judge it
        if r.code != ResponseCode.AUTH_FAILURE:
            return None
        seen.add("0x0B")
    return seen


def px_hex(data: bytes) -> str:
    return data.hex(" ") or "none (no envelope)"


# ---- the per-test bound --------------------------------------------------------------------------


@contextlib.contextmanager
def _alarm(run: CaseRun, seconds: float | None, busy: Any = lambda: False) -> Iterator[bool]:
    """Interrupt the test body after `seconds` of wall-clock time (SIGALRM, main thread, POSIX only).

    No thread is killed: the signal raises CaseTimeout inside the body wherever it is (also inside a
    blocking receive), the body unwinds through its `finally` blocks, and the campaign goes on. While
    `busy()` (evidence being filed) the alarm waits 10 ms, so a frame is never half recorded. Where
    SIGALRM is unavailable, the bound is still checked at every tc call and every DUT exchange, and
    after the body returns. Yields whether the alarm is armed.
    """
    usable = bool(seconds) and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield False
        return

    def expire(signum: int, frame: Any) -> None:
        if busy():
            signal.setitimer(signal.ITIMER_REAL, 0.01)
            return
        run.expire()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---- evidence ------------------------------------------------------------------------------------


class Evidence:
    """Numbers every frame the driver sees (its packet number in trace.pcap) and files it under the
    running test case and step; the session's exchange hook adds the decoded summaries."""

    def __init__(self, pcap_path: Path | None, t0: float, current: Any) -> None:
        from osgpct.reports.model import Frame

        self._frame_type = Frame
        self.t0 = t0
        self.current = current  # () -> the running CaseRun or None
        self.frames: list[Any] = []  # reports.model.Frame, n = index + 1
        self._index: dict[tuple[float, str, bytes], int] = {}
        self._pcap = None
        self.busy = False  # inside tap(): the per-test alarm waits
        if pcap_path is not None:
            from osgpct.drivers.pcap import PcapWriter

            self._pcap = PcapWriter(pcap_path, time_base=time.time() - t0)

    def tap(self, event: Any) -> None:
        if event.note.startswith("lost"):  # never reached the other side: not in the trace
            return
        self.busy = True
        try:
            self._file(event)
        finally:
            self.busy = False

    def _file(self, event: Any) -> None:
        n = len(self.frames) + 1
        if self._pcap is not None:
            self._pcap.write(event)
        run = self.current()
        step = run.current_step if run else None
        self.frames.append(self._frame_type(n=n, t=round(event.t - self.t0, 6), direction=event.direction,
                                            hex=bytes(event.frame).hex(), test_case=run.id if run else "",
                                            step=step))
        self._index[(event.t, event.direction, bytes(event.frame))] = n
        if run is not None:
            run.add_frame(n)

    def describe(self, exchange: Any) -> None:
        """Session.on_exchange listener: the session's decoded summary of each frame of the exchange."""
        for rec in getattr(exchange, "frames", ()):
            n = self._index.get((rec.t, rec.direction, bytes(rec.frame)))
            if n is not None:
                self.frames[n - 1].summary = rec.summary

    def close(self) -> None:
        if self._pcap is not None:
            self._pcap.close()
        for f in self.frames:  # frames sent outside an exchange (raw sends) get their summary here
            if not f.summary:
                f.summary = _summary(bytes.fromhex(f.hex))


def _summary(frame: bytes) -> str:
    try:
        from osgp import lon

        return lon.decode(frame).summary()
    except Exception as e:  # evidence of a malformed frame: say so, never crash the report
        return f"undecodable: {e}"


# ---- the campaign ---------------------------------------------------------------------------------


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
        self.done: Counter[Verdict] = Counter()
        self.foreign_failures = 0  # failed tests without OSGP metadata inside a campaign
        self.notes: list[str] = []  # observations for the report
        self.exit_reason = ""
        self.exit_code: int | None = None
        self.results: Any = None
        self.driver: Any = None
        self.evidence: Evidence | None = None
        self.started = _now()
        seed = config.getoption("seed")
        self.seed: int = seed if seed is not None else random.SystemRandom().randrange(1 << 31)
        out = config.getoption("out")
        self.out: Path | None = Path(out).resolve() if out else None
        self._signing_key: Any = None

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

                    self._signing_key = load_signing_key(plan.lab.signing_key)
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
        with _alarm(run, bound, lambda: self.evidence is not None and self.evidence.busy):
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
            case = self.case_result(run)
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

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        if not self.active or report.nodeid not in self.runs:
            return None
        # No progress letter: one line per test case instead (pytest_runtest_logfinish); the word is the verdict.
        verdict = getattr(report, "osgp_verdict", "")
        if report.when in ("setup", "teardown"):
            return ("error" if report.failed else "skipped" if report.skipped else "", "",
                    verdict if report.failed or report.skipped else "")
        return (report.outcome, "", verdict)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.active and report.failed and report.nodeid not in self.runs:
            self.foreign_failures += 1

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        run = self.runs.get(nodeid)
        self.current = None
        if run is None:
            return
        self.done[run.verdict] += 1
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is None or self.config.get_verbosity() < -1:
            return
        counts = " ".join(f"{self.done[v]} {v.value}" for v in _ORDER if self.done[v])
        line = f"{run.id} {run.verdict.value} ({sum(self.done.values())}/{len(self.selected)}: {counts})"
        if run.verdict is not Verdict.PASS and self.config.get_verbosity() > 0:
            line += f" - {run.reason}"
        tr.ensure_newline()
        tr.write_line(line, **_COLOURS.get(run.verdict, {}))

    # ---- driver and session ------------------------------------------------------------------------

    def open_driver(self) -> Any:
        if self.driver is not None:
            return self.driver
        plan = self.ensure_plan()
        try:
            drv = make_driver(plan, self.seed)
            drv.open()
        except (ConfigError, TransportError) as e:
            self.exit_reason = f"target {plan.target}: {e}"
            pytest.exit(self.exit_reason, returncode=EXIT_CONFIG)
        self.driver = drv
        self.evidence = Evidence(self.out / "trace.pcap" if self.out else None, drv.clock.now(),
                                 lambda: self.current)
        drv.add_tap(self.evidence.tap)
        self.config.add_cleanup(self._close_driver)
        problem = preflight(drv, plan, self.tids)
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
        """Evidence from the session's exchange hook, and the test's cooperative timeout point."""
        if self.evidence is not None:
            session.on_exchange(self.evidence.describe)
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
            self.results = self.build_results()
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

    def case_result(self, run: CaseRun) -> Any:
        from osgpct.reports.model import CaseResult, Finding, Step

        m = run.meta
        steps = [Step(s.n, s.title, s.expected, s.verdict, s.reason, list(s.frames)) for s in run.steps]
        findings = [Finding(f.requirement, f.verdict, f.reason, f.step, f.deviation)
                    for f in run.findings if not f.passed]
        findings += [Finding(rid, Verdict.PASS) for rid in dict.fromkeys(f.requirement for f in run.findings
                                                                         if f.passed)]
        unattributed = run.unattributed if run.verdict not in (Verdict.NA, Verdict.NOT_RUN) else run.verdict
        return CaseResult(id=run.id, title=m.title, verdict=run.verdict, group=m.group, area=m.area, kind=m.kind,
                          purpose=m.purpose, requirements=list(m.requirements), pics=m.pics, reason=run.reason,
                          duration_s=round(run.duration, 6), steps=steps, observations=list(run.observations),
                          findings=findings, unattributed=unattributed)

    def build_results(self) -> Any:
        from osgpct.reports.model import Campaign as RCampaign
        from osgpct.reports.model import (
            ChannelPrediction,
            Dut,
            Lab,
            PicsObservation,
            Results,
            assumptions_from_register,
        )

        plan = self.ensure_plan()
        import osgp

        campaign = RCampaign(
            report_id=plan.campaign.id, title=plan.campaign.title, started=self.started, finished=_now(),
            lab=Lab(plan.lab.name, plan.lab.address, plan.lab.accreditation), client=plan.client,
            operator=plan.lab.operator, plan_file=str(plan.path or ""), plan_sha256=plan.sha256,
            tool_version=osgp.__version__, tool_commit=_git_commit(), seed=self.seed, target=plan.target,
            driver=dict(self.driver.describe()) if self.driver is not None else {},
            inconc_allowed=not plan.policy.inconc_fails_run, strictness=plan.policy.strictness)
        channel = getattr(self.driver, "channel", None)
        if channel is not None:  # the loopback's power-line model: what the same campaign costs on a real line
            campaign.channel = ChannelPrediction(predicted_s=self.driver.elapsed, airtime_s=channel.stats.airtime)
        d = plan.dut
        dut = Dut(d.manufacturer, d.model, d.serial, d.firmware, d.hardware,
                  plan.address.neuron_id.hex().upper() if plan.address.neuron_id else "")
        observed = {name: PicsObservation(o.value, o.source)
                    for r in self.runs.values() for name, o in r.pics_observed.items()}
        cases = [r for r in self.runs.values()]
        results = Results(
            campaign=campaign, dut=dut, pics_declared=dict(plan.pics), pics_observed=observed,
            requirements=self._requirements(),
            test_cases=[self.case_result(r) for r in cases if not r.meta.is_usecase],
            use_cases=[self.case_result(r) for r in cases if r.meta.is_usecase],
            observations=list(self.notes) + [f"driver: {o}" for o in getattr(self.driver, "observations", [])],
            frames=list(self.evidence.frames) if self.evidence else [],
            assumptions=assumptions_from_register(plan.pixit.assumption_overrides()))
        return results

    def _requirements(self) -> list[Any]:
        from osgpct.reports.model import requirements_from_catalogue

        try:
            from osgpct.catalogue import load_catalogue

            reqs = load_catalogue()
        except (ImportError, ConfigError) as e:
            self.notes.append(f"requirement catalogue not loaded: {e}")
            return []
        return requirements_from_catalogue(reqs)

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if not self.active:
            return
        tr = terminalreporter
        tr.section("OSGP verdicts")
        n = Counter(r.verdict for r in self.runs.values())
        tr.write_line(", ".join(f"{n[v]} {v.value}" for v in (*_ORDER, Verdict.NOT_RUN)))
        for r in self.runs.values():
            if r.verdict in (Verdict.FAIL, Verdict.INCONC, Verdict.ERROR):
                tr.write_line(f"  {r.id} {r.verdict.value}: {r.reason}", **_COLOURS.get(r.verdict, {}))
        for note in self.notes:
            tr.write_line(f"  note: {note}")
        if self.results is not None:
            status = self.results.status()
            tr.write_line(f"{status.label}: {status.statement}")
            for m in self.results.pics_mismatches():
                tr.write_line(f"  PICS {m.item}: declared {m.declared}, observed {m.observed} ({m.source})")
        if self.out is not None:
            tr.write_line(f"results and reports: {self.out}")
        tr.write_line(f"exit status {self.exit_code}: {self.exit_reason}")

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Write results.json, the PCTR and the signed manifest last, after JUnit, pytest-html and allure."""
        if not self.active or self.results is None or self.out is None or self.plan is None:
            return
        show, secrets = self.plan.output.show_secrets, self.plan.secrets()
        try:
            if self.config.getoption("osgp_reports") == "results":
                from osgpct.reports.pctr import as_stored

                as_stored(self.results, secrets, show).save(self.out / "results.json", show)
                return
            from osgpct.reports import finish_campaign

            finish_campaign(self.results, self.out, signing_key=self._signing_key, secrets=secrets,
                            show_secrets=show)
        except (ImportError, OsgpError, OSError) as e:
            # Too late to change the exit status: say it where the user will see it.
            import sys

            print(f"osgp: the campaign's reports were not all written to {self.out}: {describe_exception(e)}",
                  file=sys.stderr)


_COLOURS = {Verdict.PASS: {"green": True}, Verdict.FAIL: {"red": True, "bold": True},
            Verdict.ERROR: {"red": True}, Verdict.INCONC: {"yellow": True}, Verdict.NA: {"cyan": True}}


class _HtmlColumns:
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


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(_REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""

