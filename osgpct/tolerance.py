"""The tolerance matrix: does the suite accept every conforming reading the reference device can take?

The dual of the kill matrix (osgpct.killmatrix). Each variant switch of the reference device
(refdevice/variants.py) is a reading of the sources that a device written by someone else may take
where the guides are silent or ambiguous. One campaign runs per variant on the default plan (changed
where the variant needs it: a PIXIT the lab would declare, PLAN_OF_VARIANT); a variant is *tolerated*
when its campaign has no FAIL and no ERROR. A FAIL there is a claim the suite cannot sign.

    python -m osgpct.tolerance [--out DIR] [--variant NAME ...] [--jobs N]

prints the matrix and stores it as ``tolerance.json`` and ``tolerance.md`` in DIR; exit status 0 only
when every variant is tolerated. Campaigns run through osgpct.killmatrix.run_campaign, each a
separate ``pytest`` process over ``loopback:?variant=NAME``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from osgpct import killmatrix
from osgpct.refdevice.variants import PLAN_OF_VARIANT, VARIANTS

DEFAULT_OUT = Path("out") / "selftest"  # beside killmatrix.json of tests/test_campaigns.py


@dataclass
class VariantRow:
    variant: str
    requirement: str
    reading: str
    source: str
    fails: list[str]  # FAIL: the suite rejects a conforming reading
    errors: list[str]  # ERROR: a bug of the suite
    inconclusive: list[str]
    reasons: dict[str, str]  # FAIL/ERROR case -> its reason
    problem: str = ""

    @property
    def tolerated(self) -> bool:
        return not self.fails and not self.errors and not self.problem


@dataclass
class Tolerance:
    rows: list[VariantRow]

    @property
    def complete(self) -> bool:
        return all(r.tolerated for r in self.rows)

    @property
    def score(self) -> float:
        return sum(r.tolerated for r in self.rows) / len(self.rows) if self.rows else 1.0


def plan_for_variant(name: str, directory: Path) -> Path:
    """The default plan, with the plan changes the variant needs (PLAN_OF_VARIANT)."""
    changes = PLAN_OF_VARIANT.get(name)
    if not changes:
        return killmatrix.DEFAULT_PLAN
    data = yaml.safe_load(killmatrix.DEFAULT_PLAN.read_text(encoding="utf-8"))
    for section, values in changes.items():
        data.setdefault(section, {}).update(values)
    path = directory / f"testplan-{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def build(variants: list[str] | None = None, *, jobs: int = 2, workdir: Path | None = None) -> Tolerance:
    names = list(variants) if variants else list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    tmp = Path(workdir or tempfile.mkdtemp(prefix="tolerance-"))
    tmp.mkdir(parents=True, exist_ok=True)
    plans = {n: plan_for_variant(n, tmp) for n in names}

    def one(name: str) -> killmatrix.CampaignRun:
        return killmatrix.run_campaign(name, plans[name], f"loopback:?variant={name}", tmp / name)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        runs = list(pool.map(one, names))
    rows = []
    for name, run in zip(names, runs, strict=True):
        v = VARIANTS[name]
        bad = run.ids("FAIL") + run.ids("ERROR")
        problem = run.problem
        if not problem and run.ids("NOT RUN"):  # a campaign that stopped early proves nothing
            problem = f"{len(run.ids('NOT RUN'))} of {len(run.verdicts)} test cases NOT RUN"
        rows.append(VariantRow(name, v.requirement, v.reading, v.source, run.ids("FAIL"),
                               run.ids("ERROR"), run.ids("INCONC"), {i: run.reasons.get(i, "") for i in bad},
                               problem))
    return Tolerance(rows)


def render(t: Tolerance) -> str:
    lines = ["Tolerance matrix: conforming readings (reference-device variants) vs the test cases that reject "
             "them", ""]
    w = max([len(r.variant) for r in t.rows] + [7])
    lines.append(f"{'variant':{w}}  {'requirement':12}  ok   FAIL / ERROR test cases")
    for r in t.rows:
        detail = ", ".join(r.fails) or "-"
        if r.errors:
            detail += f"   ERROR in: {', '.join(r.errors)}"
        if r.problem:
            detail += f"   PROBLEM: {r.problem}"
        lines.append(f"{r.variant:{w}}  {r.requirement:12}  {'yes' if r.tolerated else 'NO':3}  {detail}")
    lines.append("")
    for r in t.rows:
        lines.append(f"{r.variant}: {r.reading} [{r.source}]")
    lines.append("")
    lines.append(f"score: {sum(r.tolerated for r in t.rows)}/{len(t.rows)} variants tolerated ({t.score:.0%})")
    return "\n".join(lines)


def save(t: Tolerance, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    payload = {"score": t.score, "complete": t.complete,
               "rows": [asdict(r) | {"tolerated": r.tolerated} for r in t.rows]}
    (out / "tolerance.json").write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")
    (out / "tolerance.md").write_text("```\n" + render(t) + "\n```\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m osgpct.tolerance", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(DEFAULT_OUT), help="where to store tolerance.json/.md")
    p.add_argument("--variant", action="append", help="only these variants (repeatable)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="campaigns in parallel")
    args = p.parse_args(argv)
    t = build(args.variant, jobs=args.jobs)
    print(render(t))
    save(t, Path(args.out))
    return 0 if t.complete else 1


if __name__ == "__main__":
    sys.exit(main())
