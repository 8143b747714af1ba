"""The kill matrix: does the suite catch every fault the reference device can be told to have?

One campaign runs against the conforming reference device in each plan variant (security modes rc4,
aes128 and digest, and a meter without contactor, load profile and firmware upgrade): every test case
must be PASS or NA, and the NA set follows the PICS. Then one campaign per fault switch. A fault is
*killed* when at least one test case FAILs whose requirement ids include the requirement the fault
breaks. A fault of a rule no source states (its requirement graded inferred or design) must show as a
deviation under the default policy and FAIL under the strict one: its campaign runs in both. A campaign
in which any test case is ERROR shows a bug of the suite (a fault of the DUT must never crash the
tester), so it counts against the matrix too. The conforming device must also be clean under the strict
policy (no deviation of its own).

    python -m osgpct.killmatrix [--out DIR] [--fault NAME ...] [--jobs N]

prints the matrix and stores it as ``killmatrix.json`` and ``killmatrix.md`` in DIR; exit status 0 only
at 100%. Each campaign is a separate ``pytest`` process over the loopback driver, so faults cannot leak
from one run into the next.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from osgpct.catalogue import requirement
from osgpct.layout import campaign_args, default_plan
from osgpct.refdevice.faults import FAULTS

DEFAULT_PLAN = default_plan()
# Faults that only exist in another security mode run against the default plan switched to that mode.
MODE_OF_FAULT = {"aes_accepts_rc4": "aes128"}
CAMPAIGN_TIMEOUT_S = 600


@dataclass
class CampaignRun:
    label: str
    mode: str
    exit_code: int
    verdicts: dict[str, str] = field(default_factory=dict)  # test case id -> verdict
    requirements: dict[str, list[str]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    problem: str = ""  # the campaign itself did not complete

    def ids(self, verdict: str) -> list[str]:
        return sorted(i for i, v in self.verdicts.items() if v == verdict)


@dataclass
class FaultRow:
    fault: str
    requirement: str
    mode: str
    caught_by: list[str]  # FAIL and tied to the fault's requirement
    other_fails: list[str]  # FAIL, but not tied to it (collateral)
    errors: list[str]  # ERROR: a bug of the suite
    problem: str = ""
    #: For a fault of a rule no source states (grade inferred/design): the cases that report it as a deviation
    #: under the default policy. Its FAIL is then asked of the strict policy (mode "strict"), never of the default.
    deviations: list[str] | None = None

    @property
    def killed(self) -> bool:
        seen = self.deviations is None or bool(self.deviations)
        return bool(self.caught_by) and seen and not self.errors and not self.problem

    @property
    def collateral(self) -> int:
        """FAILs on test cases whose requirements do not include the broken one (printed, not judged)."""
        return len(self.other_fails)


@dataclass
class Matrix:
    baselines: list[CampaignRun]
    rows: list[FaultRow]

    @property
    def baseline_ok(self) -> bool:
        return all(not b.problem and not [i for i, v in b.verdicts.items() if v not in ("PASS", "NA")]
                   for b in self.baselines)

    @property
    def score(self) -> float:
        return sum(r.killed for r in self.rows) / len(self.rows) if self.rows else 1.0

    @property
    def complete(self) -> bool:
        return self.baseline_ok and all(r.killed for r in self.rows)

    @property
    def collateral(self) -> int:
        return sum(r.collateral for r in self.rows)


# A meter with less hardware: the reference device is built without it (osgpct.connect.refdevice_factory),
# and the cases that need it must become NA while everything else still passes.
REDUCED_PICS = {"PICS_RELAY": False, "PICS_DISCONNECT": False, "PICS_LOAD_PROFILE": False, "PICS_FW_UPGRADE": False}


def plan_for_mode(mode: str, directory: Path) -> Path:
    """The default test plan with its security mode switched, with the reduced PICS ("reduced"), or under the
    strict verdict policy ("strict")."""
    if mode == "default":
        return DEFAULT_PLAN
    data = yaml.safe_load(DEFAULT_PLAN.read_text(encoding="utf-8"))
    if mode == "reduced":
        data["pics"].update(REDUCED_PICS)
    elif mode == "strict":
        data.setdefault("policy", {})["strictness"] = "strict"
    else:
        data["security"]["mode"] = mode
    path = directory / f"testplan-{mode}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_campaign(label: str, plan: Path, target: str, out: Path, *, mode: str = "default",
                 seed: int = 1, extra: list[str] | None = None, reports: str = "results",
                 env: dict[str, str] | None = None) -> CampaignRun:
    """One campaign in its own pytest process; its verdicts come from its results.json."""
    cmd = [sys.executable, "-m", "pytest",
           *campaign_args(plan=plan, out=out, target=target, seed=seed, extra=extra)]
    # By default results.json only: no PCTR/PDF per fault run.
    env = dict(os.environ, **(env or {}), OSGP_REPORTS=reports)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CAMPAIGN_TIMEOUT_S,
                              env=env)
    except subprocess.TimeoutExpired:
        return CampaignRun(label, mode, -1, problem=f"campaign exceeded {CAMPAIGN_TIMEOUT_S} s")
    run = CampaignRun(label, mode, proc.returncode)
    results = out / "results.json"
    if not results.is_file():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        run.problem = f"no results.json (exit {proc.returncode}): " + " | ".join(tail)
        return run
    data = json.loads(results.read_text(encoding="utf-8"))
    for case in data["test_cases"] + data["use_cases"]:
        run.verdicts[case["id"]] = case["verdict"]
        run.requirements[case["id"]] = list(case["requirements"])
        run.reasons[case["id"]] = case.get("reason", "")
    return run


def build(faults: list[str] | None = None, *, jobs: int = 2, workdir: Path | None = None,
          modes: tuple[str, ...] = ("default", "aes128", "digest", "reduced", "strict")) -> Matrix:
    names = list(faults) if faults else list(FAULTS)
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise SystemExit(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
    tmp = Path(workdir or tempfile.mkdtemp(prefix="killmatrix-"))
    tmp.mkdir(parents=True, exist_ok=True)
    unconfirmed = [n for n in names if requirement(FAULTS[n].requirement).unconfirmed]
    mode_of = {n: "strict" if n in unconfirmed else MODE_OF_FAULT.get(n, "default") for n in names}
    plans = {m: plan_for_mode(m, tmp) for m in {*modes, *mode_of.values(), "default"}}

    jobs_list = [("conforming", m, "loopback:") for m in modes]
    jobs_list += [(n, mode_of[n], f"loopback:?fault={n}") for n in names]
    jobs_list += [(n, "default", f"loopback:?fault={n}") for n in unconfirmed]  # the deviation it must show

    def one(job: tuple[str, str, str]) -> CampaignRun:
        label, mode, target = job
        return run_campaign(label, plans[mode], target, tmp / f"{label}-{mode}", mode=mode)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        runs = list(pool.map(one, jobs_list))
    baselines = runs[:len(modes)]
    default_runs = dict(zip(unconfirmed, runs[len(modes) + len(names):], strict=True))
    rows = []
    for name, run in zip(names, runs[len(modes):len(modes) + len(names)], strict=True):
        req = FAULTS[name].requirement
        fails = run.ids("FAIL")
        caught = [i for i in fails if req in run.requirements.get(i, [])]
        row = FaultRow(name, req, run.mode, caught, [i for i in fails if i not in caught], run.ids("ERROR"),
                       run.problem)
        if name in default_runs:  # under the default policy: a deviation, and no FAIL on the rule
            d = default_runs[name]
            row.deviations = [i for i in d.ids("INCONC") if req in d.requirements.get(i, [])
                              and "deviation" in d.reasons.get(i, "") and i not in d.ids("FAIL")]
            row.errors += [i for i in d.ids("ERROR") if i not in row.errors]
            row.problem = row.problem or d.problem
        rows.append(row)
    return Matrix(baselines, rows)


def render(m: Matrix) -> str:
    lines = ["Kill matrix: reference-device faults vs the test cases that catch them", ""]
    for b in m.baselines:
        bad = {i: v for i, v in b.verdicts.items() if v not in ("PASS", "NA")}
        state = "OK" if not bad and not b.problem else f"NOT CLEAN {b.problem} {bad}"
        lines.append(f"conforming device ({b.mode} plan): {len(b.verdicts)} cases, "
                     f"{len(b.ids('PASS'))} PASS, {len(b.ids('NA'))} NA -> {state}")
    lines.append("")
    w = max([len(r.fault) for r in m.rows] + [5])
    lines.append(f"{'fault':{w}}  {'requirement':12}  {'plan':7}  killed  collateral  "
                 "caught by (FAIL on the requirement)")
    for r in m.rows:
        mark = "yes" if r.killed else "NO"
        detail = ", ".join(r.caught_by) or "-"
        if r.deviations is not None:
            detail += (f"   (no source states {r.requirement}: FAIL under the strict policy; default policy: "
                       f"DEVIATION in {', '.join(r.deviations) or 'no case'})")
        if r.errors:
            detail += f"   ERROR in: {', '.join(r.errors)}"
        if r.problem:
            detail += f"   PROBLEM: {r.problem}"
        lines.append(f"{r.fault:{w}}  {r.requirement:12}  {r.mode:7}  {mark:6}  {r.collateral:10}  {detail}")
    collateral = [r for r in m.rows if r.other_fails]
    if collateral:
        lines.append("")
        lines.append("collateral FAILs (test cases not tied to the broken requirement):")
        for r in collateral:
            lines.append(f"  {r.fault}: {', '.join(r.other_fails)}")
    lines.append("")
    lines.append(f"score: {sum(r.killed for r in m.rows)}/{len(m.rows)} faults killed ({m.score:.0%}); "
                 f"conforming runs clean: {'yes' if m.baseline_ok else 'NO'}; "
                 f"collateral FAILs: {m.collateral} in total over {len(collateral)} faults")
    return "\n".join(lines)


def save(m: Matrix, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    payload = {"score": m.score, "complete": m.complete, "collateral": m.collateral,
               "baselines": [asdict(b) for b in m.baselines],
               "rows": [asdict(r) | {"killed": r.killed, "collateral": r.collateral} for r in m.rows]}
    (out / "killmatrix.json").write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")
    (out / "killmatrix.md").write_text("```\n" + render(m) + "\n```\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m osgpct.killmatrix", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="out/killmatrix", help="where to store killmatrix.json/.md")
    p.add_argument("--fault", action="append", help="only these faults (repeatable)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="campaigns in parallel")
    args = p.parse_args(argv)
    m = build(args.fault, jobs=args.jobs)
    print(render(m))
    save(m, Path(args.out))
    return 0 if m.complete else 1


if __name__ == "__main__":
    sys.exit(main())
