"""From the records of a campaign to the results model (osgpct.reports.model) and the outputs in --out."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

from osgp.errors import ConfigError, OsgpError
from osgpct.reports.verdicts import Verdict
from osgpct.testcase import CaseRun, describe_exception


class Campaign(Protocol):
    """What building the results needs of the running campaign (osgpct.campaign.Campaign)."""

    config: Any
    plan: Any
    runs: dict[str, CaseRun]
    notes: list[str]
    driver: Any
    evidence: Any
    seed: int
    started: str
    out: Path | None
    results: Any
    signing_key: Any

    def ensure_plan(self) -> Any: ...

_REPO = Path(__file__).resolve().parent.parent


def case_result(run: CaseRun) -> Any:
    """One case run as the results model records it (verdict, steps, findings per requirement)."""
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

def build_results(c: Campaign) -> Any:
    """The results model of a finished campaign: the single source of every report."""
    from osgpct.reports.model import (
        CampaignRecord,
        ChannelPrediction,
        DutRecord,
        Lab,
        PicsObservation,
        Results,
        assumptions_from_register,
    )

    plan = c.ensure_plan()
    import osgp

    campaign = CampaignRecord(
        report_id=plan.campaign.id, title=plan.campaign.title, started=c.started, finished=now(),
        lab=Lab(plan.lab.name, plan.lab.address, plan.lab.accreditation), client=plan.client,
        operator=plan.lab.operator, plan_file=str(plan.path or ""), plan_sha256=plan.sha256,
        tool_version=osgp.__version__, tool_commit=_git_commit(), seed=c.seed, target=plan.target,
        driver=dict(c.driver.describe()) if c.driver is not None else {},
        inconc_allowed=not plan.policy.inconc_fails_run, strictness=plan.policy.strictness)
    channel = getattr(c.driver, "channel", None)
    if channel is not None:  # the loopback's power-line model: what the same campaign costs on a real line
        campaign.channel = ChannelPrediction(predicted_s=c.driver.elapsed, airtime_s=channel.stats.airtime)
    d = plan.dut
    dut = DutRecord(d.manufacturer, d.model, d.serial, d.firmware, d.hardware,
              plan.address.neuron_id.hex().upper() if plan.address.neuron_id else "")
    observed = {name: PicsObservation(o.value, o.source)
                for r in c.runs.values() for name, o in r.pics_observed.items()}
    cases = [r for r in c.runs.values()]
    results = Results(
        campaign=campaign, dut=dut, pics_declared=dict(plan.pics), pics_observed=observed,
        requirements=_requirements(c.notes),
        test_cases=[case_result(r) for r in cases if not r.meta.is_usecase],
        use_cases=[case_result(r) for r in cases if r.meta.is_usecase],
        observations=list(c.notes) + [f"driver: {o}" for o in getattr(c.driver, "observations", [])],
        frames=c.evidence.frames() if c.evidence else [],
        assumptions=assumptions_from_register(plan.pixit.assumption_overrides()))
    return results

def _requirements(notes: list[str]) -> list[Any]:
    from osgpct.reports.model import requirements_from_catalogue

    try:
        from osgpct.catalogue import load_catalogue

        reqs = load_catalogue()
    except (ImportError, ConfigError) as e:
        notes.append(f"requirement catalogue not loaded: {e}")
        return []
    return requirements_from_catalogue(reqs)


def write_outputs(c: Campaign) -> None:
    """Write results.json, the PCTR and the signed manifest (after JUnit, pytest-html and allure)."""
    assert c.plan is not None and c.out is not None
    show, secrets = c.plan.output.show_secrets, c.plan.secrets()
    try:
        if c.config.getoption("osgp_reports") == "results":
            from osgpct.reports.pctr import as_stored

            as_stored(c.results, secrets, show).save(c.out / "results.json", show)
            return
        from osgpct.reports import finish_campaign

        finish_campaign(c.results, c.out, signing_key=c.signing_key, secrets=secrets, show_secrets=show)
    except (ImportError, OsgpError, OSError) as e:
        # Too late to change the exit status: say it where the user will see it.
        print(f"osgp: the campaign's reports were not all written to {c.out}: {describe_exception(e)}",
              file=sys.stderr)


def now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(_REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""
