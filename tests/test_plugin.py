"""The campaign plugin, run in-process with pytester on small test cases: verdicts, evidence, the
per-test bound, selection, reports and the exit status of DESIGN.md.

Most runs use a fake driver and session (below) so each verdict path is exercised on purpose; one
run goes through the real loopback driver, session and reference device.
"""

from __future__ import annotations

import json
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import osgp.session  # noqa: F401
import osgpct.bound
import osgpct.catalogue  # noqa: F401
import osgpct.connect
import osgpct.drivers.loopback  # noqa: F401  (imported once here: pytester forgets what an inner run imports)
import osgpct.drivers.pcap  # noqa: F401
import osgpct.plugin  # noqa: F401
import osgpct.refdevice  # noqa: F401
import osgpct.reports.bundle
import osgpct.reports.pctr
import osgpct.reports.pytest_helpers  # noqa: F401
from osgp.clock import VirtualClock
from osgp.errors import ConfigError, DeviceTimeout
from osgpct.drivers.base import FrameEvent
from osgpct.reports.verdicts import Verdict
from osgpct.testcase import (
    CaseRun,
    DefinitionError,
    StopCase,
    catalogue_of_testcases,
    graded_verdict,
    testcase,
    usecase,
)

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent


# ---- fakes: a driver that only taps, a session that "exchanges" through it --------------------------


class FakeDriver:
    def __init__(self) -> None:
        self.clock = VirtualClock(100.0)
        self.observations: list[str] = []
        self.taps: list[Any] = []
        self.opened = self.closed = False

    def open(self) -> None:
        self.opened = True

    def close(self) -> None:
        self.closed = True

    def describe(self) -> dict[str, str]:
        return {"driver": "fake"}

    def add_tap(self, fn: Any) -> None:
        self.taps.append(fn)

    def emit(self, direction: str, frame: bytes) -> SimpleNamespace:
        event = FrameEvent(self.clock.now(), direction, frame)  # type: ignore[arg-type]
        for tap in self.taps:
            tap(event)
        return SimpleNamespace(t=event.t, direction=direction, frame=frame,
                               summary=f"{'request' if direction == 'tx' else 'response'} {frame.hex()}")


class FakeSession:
    """Reads answer OK with no data; `silent` makes the DUT stay quiet (DeviceTimeout)."""

    def __init__(self, driver: FakeDriver) -> None:
        self.driver = driver
        self.listeners: list[Any] = []
        self.silent = False

    def on_exchange(self, fn: Any) -> None:
        self.listeners.append(fn)

    def read(self, table_id: int) -> SimpleNamespace:
        frames = [self.driver.emit("tx", bytes([0x30, 0, table_id]))]
        if self.silent:
            raise DeviceTimeout(f"no response to the read of BT{table_id:02d} after 4 tries")
        self.driver.clock.advance(0.25)
        frames.append(self.driver.emit("rx", bytes([0x00, table_id])))
        exchange = SimpleNamespace(frames=frames)
        for fn in self.listeners:
            fn(exchange)
        return SimpleNamespace(code=0, data=b"")


#: What the framework appends to the reason of a failed check of REQ-APP-001 (its grade and source).
GRADED = graded_verdict("REQ-APP-001", "", strict=False)[1]

REAL_PDF = {"test_results_json_and_the_signed_bundle"}


@pytest.fixture(autouse=True)
def quick_pdf(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The PCTR's PDF layout takes seconds; only the bundle test renders it for real."""
    if request.node.originalname not in REAL_PDF:
        monkeypatch.setattr(osgpct.reports.pctr, "render_pdf", lambda doc: b"%PDF-1.4 stub for the plugin self-tests")


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> list[FakeDriver]:
    drivers: list[FakeDriver] = []

    def make_driver(plan: Any, seed: int) -> FakeDriver:
        drivers.append(FakeDriver())
        return drivers[-1]

    monkeypatch.setattr(osgpct.connect, "make_driver", make_driver)
    monkeypatch.setattr(osgpct.connect, "make_session", lambda driver, plan, tids=None: FakeSession(driver))
    return drivers


HEADER = '''
import time
from osgp.errors import DeviceTimeout
from osgpct.testcase import testcase, usecase

def tc_(id, **kw):
    kw.setdefault("title", id)
    kw.setdefault("purpose", "Ensure that, when tested, the DUT behaves")
    kw.setdefault("requirements", ["REQ-APP-001"])
    return testcase(id=id, **kw)
'''


def write_plan(pytester: pytest.Pytester, **edits: str) -> Path:
    text = (REPO / "testplan.yaml").read_text(encoding="utf-8")
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return pytester.makefile(".yaml", testplan=text)


def run(pytester: pytest.Pytester, body: str, *args: str, plan: Path | None = None) -> tuple[Any, dict]:
    pytester.makepyfile(test_cases=HEADER + textwrap.dedent(body))
    plan = plan or write_plan(pytester)
    out = pytester.path / "out"
    result = pytester.runpytest("-p", "osgpct.plugin", f"--plan={plan}", f"--out={out}", "-p", "no:cacheprovider",
                                *args)
    data = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    return result, data


def verdicts(data: dict) -> dict[str, str]:
    return {c["id"]: c["verdict"] for c in data["test_cases"] + data["use_cases"]}


def case(data: dict, case_id: str) -> dict:
    return next(c for c in data["test_cases"] + data["use_cases"] if c["id"] == case_id)


# ---- verdicts ------------------------------------------------------------------------------------


MIXED = '''
@tc_("TC_APP_RD_BV_01", steps=[("read BT01", "OK")])
def test_pass(tc, session):
    with tc.step(1):
        tc.check(session.read(1).code == 0, "BT01 read refused")

@tc_("TC_APP_RD_BV_02", steps=[("read", "OK"), ("again", "OK")])
def test_fail(tc, session):
    with tc.step(1):
        tc.check(False, "response code 0x04 instead of 0x00")
    with tc.step(2):
        tc.observe("step 2 still ran")

@tc_("TC_APP_RD_BV_03")
def test_inconc(tc):
    tc.require(False, "the DUT's clock is not set")
    raise AssertionError("not reached")

@tc_("TC_APP_RD_BV_04")
def test_exception(tc):
    raise ValueError("a bug in the test")

@tc_("TC_APP_RD_BV_05")
def test_bare_assert(tc):
    assert 1 == 2, "written as a bare assert"

@tc_("TC_APP_RD_BV_06", pics="PICS_REPEATER and PICS_RELAY")
def test_na(tc):
    raise AssertionError("an NA test case must not run")

@tc_("TC_APP_RD_BV_07")
def test_silent(tc, session):
    session.silent = True
    session.read(1)

@tc_("TC_APP_RD_TI_08", timing=True)
def test_silent_timing(tc, session):
    session.silent = True
    session.read(1)

@usecase(id="UC_READ_ID", title="read identity", steps=["read BT01"])
def test_uc(tc, session):
    with tc.step(1):
        session.read(1)
'''


def test_each_outcome_maps_to_its_verdict(pytester: pytest.Pytester, fakes: list[FakeDriver]) -> None:
    result, data = run(pytester, MIXED)
    assert verdicts(data) == {
        "TC_APP_RD_BV_01": "PASS", "TC_APP_RD_BV_02": "FAIL", "TC_APP_RD_BV_03": "INCONC",
        "TC_APP_RD_BV_04": "ERROR", "TC_APP_RD_BV_05": "ERROR", "TC_APP_RD_BV_06": "NA",
        "TC_APP_RD_BV_07": "INCONC", "TC_APP_RD_TI_08": "FAIL", "UC_READ_ID": "PASS"}
    assert [c["id"] for c in data["use_cases"]] == ["UC_READ_ID"]
    assert result.ret == 1  # any FAIL
    assert case(data, "TC_APP_RD_BV_02")["reason"] == "step 1: response code 0x04 instead of 0x00" + GRADED
    assert case(data, "TC_APP_RD_BV_03")["reason"] == "the DUT's clock is not set"
    assert case(data, "TC_APP_RD_BV_04")["reason"].startswith("test system error: ValueError: a bug in the test")
    assert "AssertionError: written as a bare assert" in case(data, "TC_APP_RD_BV_05")["reason"]
    assert case(data, "TC_APP_RD_BV_06")["reason"] == (
        "not applicable: PICS expression `PICS_REPEATER and PICS_RELAY` is false for this DUT")
    assert "no response to the read of BT01" in case(data, "TC_APP_RD_BV_07")["reason"]
    assert "did not answer in time" in case(data, "TC_APP_RD_TI_08")["reason"]
    assert fakes[0].opened and fakes[0].closed  # one driver for the whole run, closed at the end


def test_check_goes_on_and_steps_keep_their_own_verdicts(pytester: pytest.Pytester, fakes: list) -> None:
    _, data = run(pytester, MIXED, "-k", "test_fail")
    steps = case(data, "TC_APP_RD_BV_02")["steps"]
    assert [(s["n"], s["verdict"]) for s in steps] == [(1, "FAIL"), (2, "PASS")]
    assert case(data, "TC_APP_RD_BV_02")["observations"] == ["step 2: step 2 still ran"]


def test_stop_and_require_end_the_case_and_later_steps_are_not_run(pytester: pytest.Pytester,
                                                                   fakes: list) -> None:
    _, data = run(pytester, '''
        @tc_("TC_SEC_SEQ_BI_01", steps=["one", "two", "three"])
        def test_stop(tc):
            with tc.step(1):
                tc.check(False, "first", stop=True)
            with tc.step(2):
                pass

        @tc_("TC_SEC_SEQ_BI_02", steps=["one", "two"])
        def test_require(tc):
            with tc.step(1):
                tc.require(False, "precondition")
            with tc.step(2):
                pass
    ''')
    stop, require = case(data, "TC_SEC_SEQ_BI_01"), case(data, "TC_SEC_SEQ_BI_02")
    assert [(s["n"], s["verdict"]) for s in stop["steps"]] == [(1, "FAIL"), (2, "NOT RUN"), (3, "NOT RUN")]
    assert (require["verdict"], [s["verdict"] for s in require["steps"]]) == ("INCONC", ["INCONC", "NOT RUN"])


def test_a_verdict_only_gets_worse(pytester: pytest.Pytester, fakes: list) -> None:
    _, data = run(pytester, '''
        @tc_("TC_APP_ORD_BV_01")
        def test_fail_then_pass(tc):
            tc.check(False, "bad")
            tc.check(True, "fine")
            tc.observe("noted")

        @tc_("TC_APP_ORD_BV_02")
        def test_fail_then_inconc(tc):
            tc.check(False, "bad")
            tc.inconc("could not judge the rest")

        @tc_("TC_APP_ORD_BV_03")
        def test_fail_then_error(tc):
            tc.check(False, "bad")
            {}["missing"]

        @tc_("TC_APP_ORD_BV_04")
        def test_inconc_then_fail(tc):
            tc.record_inconc = tc.require
            with tc.step(1, "s", "e"):
                tc.check(False, "worse")
            tc.fail("worst of FAIL")
    ''')
    assert verdicts(data) == {"TC_APP_ORD_BV_01": "FAIL", "TC_APP_ORD_BV_02": "FAIL", "TC_APP_ORD_BV_03": "ERROR",
                              "TC_APP_ORD_BV_04": "FAIL"}
    assert case(data, "TC_APP_ORD_BV_02")["reason"] == "bad" + GRADED
    assert case(data, "TC_APP_ORD_BV_04")["reason"] == f"step 1: worse{GRADED}; worst of FAIL{GRADED}"


# ---- the exit status -----------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "policy", "expected"), [
    ("tc.check(True, 'ok')", "false", 0),
    ("tc.check(False, 'no')", "false", 1),
    ("raise RuntimeError('ours')", "false", 2),
    ("tc.inconc('cannot judge')", "false", 0),
    ("tc.inconc('cannot judge')", "true", 2),
])
def test_exit_status(pytester: pytest.Pytester, fakes: list, body: str, policy: str, expected: int) -> None:
    plan = write_plan(pytester, **{"inconc_fails_run: false": f"inconc_fails_run: {policy}"})
    result, data = run(pytester, f'''
        @tc_("TC_APP_EX_BV_01")
        def test_one(tc):
            {body}

        @tc_("TC_APP_EX_BV_02", pics="PICS_REPEATER")
        def test_na(tc):
            pass
    ''', plan=plan)
    assert result.ret == expected
    assert data["campaign"]["inconc_allowed"] is (policy == "false")
    result.stdout.fnmatch_lines([f"exit status {expected}: *"])


def test_a_bad_plan_is_one_line_and_exit_status_3(pytester: pytest.Pytester, fakes: list) -> None:
    plan = write_plan(pytester, **{"  mode: rc4": "  mode: rc5"})
    result, data = run(pytester, '''
        @tc_("TC_APP_EX_BV_01")
        def test_one(tc):
            pass
    ''', plan=plan)
    assert result.ret == 3 and data == {}
    lines = [line for line in result.stderr.lines if "testplan.yaml" in line]
    assert len(lines) == 1
    line = plan.read_text().splitlines().index("  mode: rc5") + 1
    assert f"testplan.yaml:{line}: security.mode: 'rc5' is not one of digest, rc4, aes128" in lines[0]
    assert "Traceback" not in result.stderr.str()
    assert not fakes  # nothing was opened


def test_without_plan_the_rootdir_testplan_is_used_and_checked(pytester: pytest.Pytester, fakes: list) -> None:
    write_plan(pytester, **{"  node: 2": "  node: 0"})  # testplan.yaml at the rootdir, refused
    pytester.makepyfile(test_cases=HEADER + textwrap.dedent('''
        @tc_("TC_APP_EX_BV_01")
        def test_one(tc):
            pass
    '''))
    result = pytester.runpytest("-p", "osgpct.plugin", "-p", "no:cacheprovider")  # no --plan, no --out
    assert result.ret == 3
    output = result.stdout.str() + result.stderr.str()
    assert output.count("address.node: 0 is outside 1..127") == 1
    assert "Traceback" not in output


def test_an_unreachable_target_is_exit_status_3(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(plan: Any, seed: int) -> Any:
        raise ConfigError("cnip+udp://192.0.2.9:1628: connection refused")

    monkeypatch.setattr(osgpct.connect, "make_driver", refuse)
    result, _ = run(pytester, '''
        @tc_("TC_APP_EX_BV_01")
        def test_one(tc, session):
            pass
    ''')
    assert result.ret == 3
    result.stdout.fnmatch_lines(["*target loopback:: cnip+udp://192.0.2.9:1628: connection refused*"])


def test_nothing_selected_is_a_configuration_error(pytester: pytest.Pytester, fakes: list) -> None:
    result, data = run(pytester, '''
        @tc_("TC_APP_EX_BV_01")
        def test_one(tc):
            pass
    ''', "-k", "no_such_test")
    assert result.ret == 3
    assert verdicts(data) == {"TC_APP_EX_BV_01": "NOT RUN"}


# ---- selection ------------------------------------------------------------------------------------


def test_plan_selection_and_k_give_not_run(pytester: pytest.Pytester, fakes: list) -> None:
    plan = write_plan(pytester, **{"  exclude: []": "  exclude: [TC_SEC_*]"})
    result, data = run(pytester, '''
        @tc_("TC_APP_SEL_BV_01")
        def test_app(tc):
            pass

        @tc_("TC_APP_SEL_BV_02")
        def test_app_other(tc):
            pass

        @tc_("TC_SEC_SEL_BV_01")
        def test_sec(tc):
            raise AssertionError("excluded: must not run")
    ''', "-k", "not test_app_other", plan=plan)
    assert verdicts(data) == {"TC_APP_SEL_BV_01": "PASS", "TC_APP_SEL_BV_02": "NOT RUN", "TC_SEC_SEL_BV_01": "NOT RUN"}
    assert "selection.include / exclude" in case(data, "TC_SEC_SEL_BV_01")["reason"]
    assert "-k" in case(data, "TC_APP_SEL_BV_02")["reason"]
    assert result.ret == 0


def test_duplicate_ids_are_errors(pytester: pytest.Pytester, fakes: list) -> None:
    result, data = run(pytester, '''
        @tc_("TC_APP_DUP_BV_01")
        def test_a(tc):
            pass

        @tc_("TC_APP_DUP_BV_01")
        def test_b(tc):
            pass
    ''')
    assert sorted(c["verdict"] for c in data["test_cases"]) == ["ERROR", "PASS"]
    assert result.ret == 2


# ---- the per-test bound ----------------------------------------------------------------------------


def test_a_test_over_its_bound_is_error_and_the_campaign_goes_on(pytester: pytest.Pytester, fakes: list) -> None:
    started = time.monotonic()
    result, data = run(pytester, '''
        @tc_("TC_APP_TMO_BV_01", steps=["wait"])
        def test_sleeps(tc):
            with tc.step(1):
                time.sleep(30)  # blocked in a system call: only the alarm can end this

        @tc_("TC_APP_TMO_BV_02")
        def test_busy(tc, session):
            while True:  # talks to the DUT for ever: stops at an exchange
                session.read(1)

        @tc_("TC_APP_TMO_BV_03")
        def test_swallows(tc):
            try:
                time.sleep(30)
            except BaseException:
                pass  # a body that swallows the timeout is still caught when it returns

        @tc_("TC_APP_TMO_BV_04")
        def test_after(tc):
            tc.check(True, "runs after the others")
    ''', "--osgp-timeout=0.3")
    assert time.monotonic() - started < 10
    assert verdicts(data) == {"TC_APP_TMO_BV_01": "ERROR", "TC_APP_TMO_BV_02": "ERROR",
                              "TC_APP_TMO_BV_03": "ERROR", "TC_APP_TMO_BV_04": "PASS"}
    for cid in ("TC_APP_TMO_BV_01", "TC_APP_TMO_BV_02", "TC_APP_TMO_BV_03"):
        assert "test exceeded 0.3 s" in case(data, cid)["reason"], case(data, cid)
    assert case(data, "TC_APP_TMO_BV_01")["steps"][0]["verdict"] == "ERROR"
    assert result.ret == 2


def test_the_bound_is_checked_without_signals_too(pytester: pytest.Pytester, fakes: list,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(osgpct.bound.signal, "setitimer", None, raising=False)
    monkeypatch.delattr(osgpct.bound.signal, "setitimer")
    _, data = run(pytester, '''
        @tc_("TC_APP_TMO_BV_01")
        def test_busy(tc):
            while True:
                tc.check(True, "still here")

        @tc_("TC_APP_TMO_BV_02")
        def test_slow(tc):
            time.sleep(0.5)  # nothing interrupts it, but it returns late
    ''', "--osgp-timeout=0.2")
    assert verdicts(data) == {"TC_APP_TMO_BV_01": "ERROR", "TC_APP_TMO_BV_02": "ERROR"}
    assert case(data, "TC_APP_TMO_BV_02")["reason"].startswith("test exceeded 0.2 s")


# ---- evidence and the report formats ---------------------------------------------------------------


def test_frames_are_filed_under_their_step_with_their_decoded_summary(pytester: pytest.Pytester,
                                                                    fakes: list) -> None:
    _, data = run(pytester, '''
        @tc_("TC_APP_EV_BV_01", steps=["read BT01", "read BT02"])
        def test_ev(tc, session):
            session.read(0)  # before any step: the case's evidence, no step
            with tc.step(1):
                session.read(1)
            with tc.step(2):
                session.read(2)
    ''')
    preflight, frames = data["frames"][:2], data["frames"][2:]  # the set-up check's read of BT01 comes first
    assert [(f["test_case"], f["hex"]) for f in preflight] == [("", "300001"), ("", "0001")]
    assert [f["n"] for f in frames] == list(range(3, 9))
    assert [(f["direction"], f["step"]) for f in frames] == [("tx", None), ("rx", None), ("tx", 1), ("rx", 1),
                                                             ("tx", 2), ("rx", 2)]
    assert frames[2]["hex"] == "300001"
    assert frames[2]["summary"] == FrameEvent(0, "tx", bytes.fromhex("300001")).summary  # not an LPDU: says why
    assert frames[2]["summary"].startswith("undecodable")
    assert frames[3]["t"] - frames[2]["t"] == pytest.approx(0.25)  # on the driver's clock
    assert {f["test_case"] for f in frames} == {"TC_APP_EV_BV_01"}
    steps = case(data, "TC_APP_EV_BV_01")["steps"]
    assert [s["frames"] for s in steps] == [[5, 6], [7, 8]]
    assert (pytester.path / "out" / "trace.pcap").stat().st_size > 24  # 8 packets after the header


def test_junit_and_allure_carry_the_true_verdict(pytester: pytest.Pytester, fakes: list) -> None:
    result, data = run(pytester, MIXED, "--alluredir=allure")
    junit = ET.parse(pytester.path / "out" / "junit.xml").getroot()  # --out puts it there by default
    by_name = {tc.get("name"): tc for tc in junit.iter("testcase")}

    def props(name: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for p in by_name[name].iter("property"):
            out.setdefault(p.get("name"), []).append(p.get("value"))
        return out

    assert props("test_fail")["verdict"] == ["FAIL"] and props("test_fail")["requirement"] == ["REQ-APP-001"]
    assert by_name["test_fail"].find("failure") is not None
    assert props("test_inconc")["verdict"] == ["INCONC"] and by_name["test_inconc"].find("skipped") is not None
    assert props("test_na")["verdict"] == ["NA"] and by_name["test_na"].find("skipped") is not None
    assert props("test_exception")["verdict"] == ["ERROR"]
    labels = {}
    for f in (pytester.path / "allure").glob("*-result.json"):
        r = json.loads(f.read_text())
        labels[r["name"]] = (r["status"], [lab["value"] for lab in r["labels"] if lab["name"] == "verdict"])
    assert labels["test_fail"] == ("failed", ["FAIL"])
    assert labels["test_exception"] == ("broken", ["ERROR"])
    assert labels["test_inconc"] == ("skipped", ["INCONC"])
    assert labels["test_pass"] == ("passed", ["PASS"])
    html = (pytester.path / "out" / "report.html").read_text()  # pytest-html: a Verdict column and our summary
    assert "col-verdict\\&#34;&gt;INCONC&lt;" in html and "OSGP verdicts" in html


def test_results_json_and_the_signed_bundle(pytester: pytest.Pytester, fakes: list) -> None:
    _, data = run(pytester, MIXED)
    out = pytester.path / "out"
    assert data["schema"] == "osgpct-results/2"
    assert data["campaign"]["plan_sha256"] and data["campaign"]["seed"] is not None
    assert data["campaign"]["driver"] == {"driver": "fake"}
    assert data["dut"]["model"] == "REFDEV01" and data["pics_declared"]["PICS_SEC_MODE"] == "rc4"
    assert any(a["id"] == "ASM-MGT-03" and "ep80" in a["value"] for a in data["assumptions"])
    for name in ("pctr.html", "pctr.pdf", "report.html", "manifest.json", "manifest.sig"):
        assert (out / name).is_file(), name
    assert osgpct.reports.bundle.verify(out).ok  # the manifest, written last, covers junit+html
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"junit.xml", "report.html", "results.json", "trace.pcap"} <= {f["path"] for f in manifest["files"]}


def test_results_only_skips_the_pctr_and_the_bundle(pytester: pytest.Pytester, fakes: list) -> None:
    _, data = run(pytester, MIXED, "--osgp-reports=results")
    out = pytester.path / "out"
    assert verdicts(data)["TC_APP_RD_BV_02"] == "FAIL"
    assert not (out / "pctr.pdf").exists() and not (out / "manifest.json").exists()
    assert "0101010101" not in (out / "results.json").read_text()  # keys scrubbed all the same


def test_progress_line_per_test_case(pytester: pytest.Pytester, fakes: list) -> None:
    result, _ = run(pytester, MIXED, "-q")
    result.stdout.fnmatch_lines([
        "TC_APP_RD_BV_01 PASS (1/9: 1 PASS)",
        "TC_APP_RD_BV_02 FAIL (2/9: 1 PASS 1 FAIL)",
        "TC_APP_RD_BV_03 INCONC (3/9: 1 PASS 1 FAIL 1 INCONC)",
        "*",
        "UC_READ_ID PASS (9/9: 2 PASS 2 FAIL 2 INCONC 2 ERROR 1 NA)",
    ])


def test_self_tests_are_untouched_by_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain='''
        def test_ok():
            assert True

        def test_broken():
            assert False
    ''')
    result = pytester.runpytest("-p", "osgpct.plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1
    assert "OSGP verdicts" not in result.stdout.str()


# ---- the real thing: loopback, session, reference device ------------------------------------------


def test_a_campaign_against_the_reference_device(pytester: pytest.Pytester) -> None:
    result, data = run(pytester, '''
        from osgp.app import ResponseCode
        from osgp.tables import Dimensions, schema

        @tc_("TC_TBL_BT00_CA_01", steps=[("Read BT00", "OK, and the PICS it shows match the plan")])
        def test_bt00(tc, session):
            with tc.step(1):
                r = session.read(0)
                tc.check(r.code == ResponseCode.OK, f"BT00 read answered {r.code}")
                tc.observe_pics(schema(0).decode(r.data, Dimensions.nes_default()))
    ''')
    assert verdicts(data) == {"TC_TBL_BT00_CA_01": "PASS"}, result.stdout.str()
    assert result.ret == 0
    step = case(data, "TC_TBL_BT00_CA_01")["steps"][0]
    frames = {f["n"]: f for f in data["frames"]}
    assert step["frames"] and all(frames[n]["summary"].startswith("SPDU") for n in step["frames"])
    assert data["pics_observed"]["PICS_PROCEDURES"]["value"] is True


# ---- metadata (osgpct.testcase) ----------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"id": "TC_SEC_SEQ_XX_01"}, "kind XX is not one of BV, BI, BO, TI, CA"),
    ({"id": "TC_FOO_SEQ_BI_01"}, "area FOO is not one of LNK, APP, TBL, PRC, SEC, MGT"),
    ({"id": "TC_SEC_SEQ_BI_1"}, "a test-case id is TC_<AREA>_<GROUP>_<KIND>_<NN>"),
    ({"purpose": "Checks things"}, "the test purpose must start with 'Ensure that'"),
    ({"requirements": []}, "a test case names the requirements it checks"),
    ({"requirements": ["REQ-SEC-1"]}, "requirement 'REQ-SEC-1' is not REQ-<AREA>-<NNN>"),
    ({"requirements": "REQ-SEC-001"}, "requirements is a single string"),
    ({"pics": "PICS_RELAI"}, "unknown PICS item PICS_RELAI (did you mean PICS_RELAY?)"),
    ({"pixit": ["seq_windw"]}, "unknown PIXIT 'seq_windw' (did you mean seq_window?)"),
    ({"steps": [("a", "b"), 3]}, "step 2 is 3"),
])
def test_bad_metadata_is_refused_at_import(kwargs: dict, message: str) -> None:
    args = {"id": "TC_SEC_SEQ_BI_01", "title": "t", "purpose": "Ensure that, when x, the DUT y",
            "requirements": ["REQ-SEC-001"], **kwargs}
    with pytest.raises(DefinitionError) as e:
        testcase(**args)(lambda tc: None)
    assert message in str(e.value)
    assert "(fix: " in str(e.value) and "test_plugin.py:" in str(e.value)


def test_metadata_is_derived_from_the_id_and_readable_without_running(tmp_path: Path) -> None:
    (tmp_path / "test_some.py").write_text(textwrap.dedent('''
        from osgpct.testcase import testcase, usecase

        @testcase(id="TC_SEC_SEQ_BI_02", title="Stale sequence number", requirements=["REQ-SEC-004"],
                  purpose="Ensure that, when a request repeats the sequence number, the DUT refuses it",
                  pics="PICS_SEC_RC4", pixit=["seq_window"], steps=[("send n", "OK"), ("send n again", "0x0C")])
        def test_stale(tc, session):
            raise AssertionError("listing must not run it")

        @usecase(id="UC_READ_IDENTITY", title="Read identity")
        def test_identity(tc, session):
            pass

        def helper():
            pass
    '''))
    metas = catalogue_of_testcases([tmp_path, tmp_path / "missing"])
    assert [m.id for m in metas] == ["TC_SEC_SEQ_BI_02", "UC_READ_IDENTITY"]
    tc_meta = metas[0]
    assert (tc_meta.area, tc_meta.group, tc_meta.kind) == ("SEC", "SEQ", "BI")
    assert tc_meta.pics == "PICS_SEC_RC4" and tc_meta.requirements == ("REQ-SEC-004",)
    assert [(s.n, s.title, s.expected) for s in tc_meta.steps] == [(1, "send n", "OK"), (2, "send n again", "0x0C")]
    assert metas[1].is_usecase and metas[1].kind == ""


def test_the_decorator_itself_is_not_collected_by_pytest() -> None:
    assert testcase.__test__ is False  # `from osgpct.testcase import testcase` in a test module is harmless
    assert callable(usecase)


def test_case_run_records_without_pytest() -> None:
    @testcase(id="TC_APP_RUN_BV_01", title="t", purpose="Ensure that x", requirements=["REQ-APP-001"],
              steps=[("one", "ok"), ("two", "ok")])
    def body(tc: CaseRun) -> None:
        pass

    run = CaseRun(body.osgp_meta)  # type: ignore[attr-defined]
    run.begin()
    with run.step(1):
        run.add_frame(7)
        run.check(False, "bad answer")
    with pytest.raises(StopCase):
        with run.step(2):
            run.inconc("then silence")
    run.finish()
    assert run.verdict is Verdict.FAIL and run.reason == "step 1: bad answer" + GRADED
    assert [(s.n, s.verdict, s.frames) for s in run.steps] == [(1, Verdict.FAIL, [7]), (2, Verdict.INCONC, [])]
    assert run.frames == [7]


def test_sessions_leave_no_tap_on_the_driver_after_a_campaign(pytester: pytest.Pytester,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case's session taps the run's driver; when the case ends its tap goes, so that a long campaign
    does not keep the evidence of every finished session alive. Left at the end: the campaign's own tap."""
    opened: list[Any] = []
    real = osgpct.connect.make_driver

    def make_driver(plan: Any, seed: int) -> Any:
        opened.append(real(plan, seed))
        return opened[-1]

    monkeypatch.setattr(osgpct.connect, "make_driver", make_driver)
    result, data = run(pytester, """
        @tc_("TC_APP_READ_BV_91")
        def test_a(tc, session):
            tc.check(session.read(0x0001).ok, "BT01 read")

        @tc_("TC_APP_READ_BV_92")
        def test_b(tc, session):
            tc.check(session.read(0x0001).ok, "BT01 read")

        @tc_("TC_APP_READ_BV_93")
        def test_c(tc, session):
            tc.check(session.read(0x0001).ok, "BT01 read")
    """)
    assert verdicts(data) == dict.fromkeys(("TC_APP_READ_BV_91", "TC_APP_READ_BV_92", "TC_APP_READ_BV_93"), "PASS")
    assert len(opened) == 1 and opened[0].tap_count == 1  # the evidence tap; sessions (and the preflight) left
