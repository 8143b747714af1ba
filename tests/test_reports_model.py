"""Results model: round trip, stable bytes, typed load errors, derived figures."""

from __future__ import annotations

import json

import pytest
from reports_fixtures import PLANTED, failing_campaign, passing_campaign

from osgp.errors import ConfigError
from osgp.secret import Secret
from osgpct.catalogue import load_catalogue
from osgpct.reports.model import SCHEMA, Finding, Results, assumptions_from_register, requirements_from_catalogue
from osgpct.reports.verdicts import Verdict


@pytest.mark.parametrize("make", [passing_campaign, failing_campaign])
def test_round_trip_is_lossless_and_bytes_are_stable(tmp_path, make):
    r = make()
    path = r.save(tmp_path / "results.json")
    again = Results.load(path)
    assert again == r
    assert again.to_json() == path.read_text(encoding="utf-8")
    assert json.loads(path.read_bytes())["schema"] == SCHEMA
    assert list(json.loads(path.read_bytes())) == ["campaign", "dut", "pics_declared", "pics_observed",
                                                   "requirements", "test_cases", "use_cases", "observations",
                                                   "frames", "assumptions", "reservations", "schema"]


def test_counts_are_derived_not_stored(tmp_path):
    r = failing_campaign()
    n = r.counts()
    assert (n[Verdict.PASS], n[Verdict.FAIL], n[Verdict.INCONC], n[Verdict.ERROR], n[Verdict.NA]) == (15, 2, 1, 1, 1)
    assert sum(n.values()) == len(r.test_cases)
    by_area = r.counts_by_area()
    assert list(by_area) == ["LNK", "APP", "TBL", "PRC", "SEC", "MGT"]
    assert by_area["SEC"][Verdict.FAIL] == 1 and by_area["PRC"][Verdict.ERROR] == 1
    assert '"counts"' not in r.save(tmp_path / "r.json").read_text(encoding="utf-8")  # no such key


def test_pics_mismatch_traceability_and_uncovered():
    good, bad = passing_campaign(), failing_campaign()
    assert good.pics_mismatches() == []
    (m,) = bad.pics_mismatches()
    assert (m.item, m.declared, m.observed, m.source) == (PLANTED["mismatch"], True, False, "BT00 tables-used")
    assert [q.id for q in good.uncovered()] == [PLANTED["uncovered"]]
    assert [q.id for q in bad.uncovered()] == ["REQ-LNK-003", PLANTED["uncovered"]]  # its only TC was removed
    row = {t.requirement.id: t for t in bad.traceability()}
    assert row["REQ-SEC-001"].verdict == Verdict.FAIL  # TC_SEC_DIG_BI_01 FAIL + TC_SEC_KEY_BI_03 PASS
    assert row["REQ-SEC-010"].cases == () and not row["REQ-SEC-010"].requirement.testable
    assert bad.unknown_requirement_refs() == []


def test_status_statement():
    assert passing_campaign().status().label == "CONFORMING"
    assert failing_campaign().status().label == "NOT CONFORMING"
    r = failing_campaign()
    for c in [*r.test_cases, *r.use_cases]:
        if c.verdict == Verdict.FAIL:
            c.verdict = Verdict.PASS
    assert r.status().label == "NOT ESTABLISHED"  # ERROR and INCONC remain


def test_evidence_lists_frames_of_fail_and_inconc_steps_only():
    r = failing_campaign()
    ev = {(c.id, s.n if s else None): [f.n for f in frames] for c, s, frames in r.evidence()}
    assert set(ev) == {("TC_SEC_DIG_BI_01", 2), ("TC_APP_PREAD_BV_02", 3), ("TC_LNK_TMR_TI_01", 2),
                       ("UC_DISCONNECT_RECONNECT", 3)}  # the ERROR is the test system's, not evidence
    assert all(len(frames) == 2 for frames in ev.values())
    step = r.case("TC_SEC_DIG_BI_01").steps[1]
    assert ev[("TC_SEC_DIG_BI_01", 2)] == step.frames


def test_stray_secret_is_written_as_stars_unless_show_secrets(tmp_path):
    r = passing_campaign()
    r.campaign.driver["key"] = Secret(bytes(range(16)))  # type: ignore[assignment]  # a careless caller
    assert r.to_dict()["campaign"]["driver"]["key"] == "***"
    assert r.to_dict(show_secrets=True)["campaign"]["driver"]["key"] == bytes(range(16)).hex()


def _broken(tmp_path, mutate) -> str:
    data = passing_campaign().to_dict()
    mutate(data)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        Results.load(path)
    assert str(path) in str(e.value)
    return str(e.value)


def test_load_errors_name_the_file_and_the_field(tmp_path):
    msg = _broken(tmp_path, lambda d: d["test_cases"][3].update(verdict="PASSED"))
    assert "test_cases[3].verdict" in msg and "'PASSED' is not a verdict" in msg
    assert "missing key 'report_id'" in _broken(tmp_path, lambda d: d["campaign"].pop("report_id"))
    assert "unknown key(s) colour" in _broken(tmp_path, lambda d: d["dut"].update(colour="grey"))
    assert "schema" in _broken(tmp_path, lambda d: d.update(schema="osgpct-results/0"))
    assert "frames[0].n" in _broken(tmp_path, lambda d: d["frames"][0].update(n="1"))
    assert "'sideways' is not one of" in _broken(tmp_path, lambda d: d["frames"][0].update(direction="sideways"))


def test_load_errors_for_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        Results.load(tmp_path / "results.json")
    (tmp_path / "results.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        Results.load(tmp_path / "results.json")
    (tmp_path / "results.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a JSON object"):
        Results.load(tmp_path / "results.json")


def test_the_real_catalogue_and_register_fit_the_model():
    reqs = requirements_from_catalogue(load_catalogue())
    assert len(reqs) > 100 and {q.kind for q in reqs} <= {"mandatory", "optional", "conditional"}
    r = passing_campaign()
    r.requirements, r.assumptions = reqs, assumptions_from_register({"ASM-SEC-02": "current+1 .. current+4"})
    again = Results.from_dict(json.loads(r.to_json()))
    assert again.requirements == reqs
    assert next(a for a in again.assumptions if a.id == "ASM-SEC-02").value == "current+1 .. current+4"
    untestable = [q for q in reqs if not q.testable]
    assert all(q.reason for q in untestable)


def test_a_requirement_takes_the_verdict_of_the_checks_that_name_it():
    """TC_SEC_KEY_BI_03 cites REQ-MGT-002 and REQ-SEC-001; a failed check of REQ-SEC-001 makes that
    requirement FAIL and leaves REQ-MGT-002, whose checks passed, PASS."""
    r = failing_campaign()
    c = r.case("TC_SEC_KEY_BI_03")
    c.verdict, c.findings = Verdict.FAIL, [Finding("REQ-SEC-001", Verdict.FAIL, "old key accepted", 2),
                                           Finding("REQ-MGT-002", Verdict.PASS)]
    assert c.requirement_verdict("REQ-SEC-001") == (Verdict.FAIL, False)
    assert c.requirement_verdict("REQ-MGT-002") == (Verdict.PASS, False)
    row = {t.requirement.id: t for t in r.traceability()}
    assert row["REQ-MGT-002"].verdict == Verdict.PASS
    assert "TC_SEC_KEY_BI_03 step 2" in row["REQ-SEC-001"].steps
    # a case stopped by a precondition judges none of its requirements
    c.findings, c.verdict, c.unattributed = [], Verdict.INCONC, Verdict.INCONC
    assert c.requirement_verdict("REQ-MGT-002") == (Verdict.INCONC, False)


def test_a_deviation_is_reported_as_such_and_never_makes_the_dut_non_conforming():
    r = passing_campaign()
    r.campaign.inconc_allowed = True  # the default plan's policy
    c = r.case("TC_SEC_SEQ_BI_02")  # REQ-SEC-002 is inferred in the fixture
    c.verdict = Verdict.INCONC
    c.reason = "deviation from an unconfirmed rule (REQ-SEC-002, inferred: no source states it): accepted +9"
    c.findings = [Finding("REQ-SEC-002", Verdict.INCONC, c.reason, 3, deviation=True)]
    row = {t.requirement.id: t for t in r.traceability()}["REQ-SEC-002"]
    assert row.label == "DEVIATION"
    status = r.status()
    assert status.label == "CONFORMING"
    assert "passed all" not in status.statement  # honest: one case could not be judged
    assert "1 could not be judged" in status.statement and "deviation" in status.statement
    assert list(r.inconclusive()) == ["deviation from a rule no source states (inferred or design)"]


def test_requirement_basis_shows_quote_or_readings():
    reqs = {q.id: q for q in passing_campaign().requirements}
    assert reqs["REQ-SEC-001"].basis == 'stated (MEP (TCP)): "0x0B = Authentication failure" (MEP-DG:470)'
    assert reqs["REQ-APP-002"].basis.startswith("ambiguous: bytes from the offset | 0x04")
    assert reqs["REQ-SEC-002"].basis == "inferred" and reqs["REQ-SEC-002"].unconfirmed


def test_results_stored_before_grades_still_load_for_compare(tmp_path):
    """A results.json of schema /1 (requirements with a 'confidence', cases without findings) loads, so
    `osgpct report --compare` spans the change."""
    data = passing_campaign().to_dict()
    data["schema"] = "osgpct-results/1"
    for r in data["requirements"]:
        for key in ("grade", "quote", "at", "port", "readings", "pixit"):
            r.pop(key)
        r["confidence"] = "read"
    for c in data["test_cases"] + data["use_cases"]:
        c.pop("findings")
        c.pop("unattributed")
    old = Results.from_dict(data, "old")
    assert old.schema == SCHEMA and old.requirements[0].grade == ""
    assert [c.verdict for c in old.test_cases] == [c.verdict for c in passing_campaign().test_cases]
