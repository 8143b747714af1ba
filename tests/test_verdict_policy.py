"""The framework, not the test author, maps a requirement's evidence grade to the verdict of a failed
check (docs/requirements.md): stated and ambiguous -> FAIL; inferred and design -> deviation (INCONC),
FAIL only under the strict policy; a DUT protocol error outside the case's requirements -> INCONC
naming the case that judges it."""

from __future__ import annotations

import pytest

from osgp.errors import DecodeError
from osgp.session import MalformedResponse, ResponseNotAuthentic
from osgpct.catalogue import load_catalogue
from osgpct.reports.verdicts import Verdict
from osgpct.testcase import CaseRun, CheckDefinitionError, Context, StopCase, testcase


def _grade(grade: str) -> str:
    return next(r.id for r in load_catalogue() if r.grade == grade and r.testable)


STATED, AMBIGUOUS, INFERRED, DESIGN = (_grade(g) for g in ("stated", "ambiguous", "inferred", "design"))


def _run(*requirements: str, strict: bool = False, judged_by: dict | None = None) -> CaseRun:
    @testcase(id="TC_APP_POL_BV_01", title="policy", purpose="Ensure that the policy holds",
              requirements=list(requirements))
    def body(tc: CaseRun) -> None:
        pass

    run = CaseRun(body.osgp_meta, context=Context(strict=strict, judged_by=judged_by or {}))  # type: ignore[attr-defined]
    run.begin()
    return run


@pytest.mark.parametrize(("rid", "strict", "verdict", "deviation"), [
    (STATED, False, Verdict.FAIL, False),
    (AMBIGUOUS, False, Verdict.FAIL, False),
    (INFERRED, False, Verdict.INCONC, True),
    (DESIGN, False, Verdict.INCONC, True),
    (INFERRED, True, Verdict.FAIL, False),
    (DESIGN, True, Verdict.FAIL, False),
])
def test_the_grade_decides_the_verdict_of_a_failed_check(rid: str, strict: bool, verdict: Verdict,
                                                         deviation: bool) -> None:
    run = _run(rid, strict=strict)
    assert run.check(False, "the DUT did something else") is False
    assert run.verdict is verdict
    (f,) = run.findings
    assert (f.requirement, f.passed, f.verdict, f.deviation) == (rid, False, verdict, deviation)
    assert rid in run.reason
    if deviation:
        assert run.reason.startswith("deviation from an unconfirmed rule")


def test_a_stated_fail_names_its_source_line_and_an_ambiguous_one_its_readings() -> None:
    stated = _run(STATED)
    stated.check(False, "x")
    at = next(r.at for r in load_catalogue() if r.id == STATED)
    assert stated.reason == f"x [{STATED}, stated: {at}]"
    ambiguous = _run(AMBIGUOUS)
    ambiguous.check(False, "x")
    assert f"[{AMBIGUOUS}, ambiguous;" in ambiguous.reason


def test_a_check_judges_only_the_requirement_it_names() -> None:
    run = _run(STATED, INFERRED)
    run.check(True, "ok", req=STATED)
    run.check(False, "off", req=INFERRED)
    assert run.verdict is Verdict.INCONC  # the inferred rule only: a deviation, the stated one passed
    assert [(f.requirement, f.passed) for f in run.findings] == [(STATED, True), (INFERRED, False)]


def test_a_check_that_does_not_say_what_it_judges_is_a_bug_of_the_test_case() -> None:
    run = _run(STATED, INFERRED)
    with pytest.raises(CheckDefinitionError, match="names no requirement"):
        run.check(False, "which one?")
    with pytest.raises(CheckDefinitionError, match="does not list"):
        _run(STATED).check(False, "x", req=INFERRED)
    with pytest.raises(StopCase):
        _run(STATED).fail("stop here")


def _not_authentic() -> ResponseNotAuthentic:
    return ResponseNotAuthentic("read BT01: response authenticator does not verify", exchange=None)  # type: ignore[arg-type]


def test_one_defect_one_fail_a_protocol_error_outside_the_case_is_inconc_naming_the_judge() -> None:
    run = _run(STATED, judged_by={"REQ-SEC-003": ["TC_SEC_DIG_BV_02", "TC_APP_POL_BV_01"]})
    run.on_exception(_not_authentic())
    assert run.verdict is Verdict.INCONC
    assert "REQ-SEC-003" in run.reason and "TC_SEC_DIG_BV_02" in run.reason and "TC_APP_POL_BV_01" not in run.reason


def test_the_case_that_cites_the_broken_requirement_judges_it() -> None:
    run = _run("REQ-SEC-003")
    run.on_exception(_not_authentic())
    assert run.verdict is Verdict.FAIL and run.findings[0].requirement == "REQ-SEC-003"
    malformed = _run("REQ-APP-015")
    malformed.on_exception(MalformedResponse(DecodeError("app", "count", 3, "2 bytes expected"), exchange=None))  # type: ignore[arg-type]
    assert malformed.verdict is Verdict.FAIL and malformed.findings[0].requirement == "REQ-APP-015"
