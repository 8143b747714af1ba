"""Delta between two campaigns (e.g. firmware A vs firmware B): what got worse, what got better.

`compare(old, new)` looks at test cases and use cases alike (their ids are distinct). Rendered as
text for the terminal and as delta.html (the same Document/HTML back-end as the PCTR).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

from osgp.errors import ConfigError
from osgpct.reports.document import Document, Fields, Para, Section, Table
from osgpct.reports.model import VERDICTS, CaseResult, PicsValue, Results
from osgpct.reports.pctr import RESULTS, render_html, verdict_sentence
from osgpct.reports.verdicts import Verdict

EXIT_SAME_OR_BETTER, EXIT_REGRESSION, EXIT_UNUSABLE = 0, 1, 3
_BAD = (Verdict.FAIL, Verdict.ERROR)


@dataclass(frozen=True)
class CaseChange:
    id: str
    title: str
    old: Verdict | None  # None: not in the old campaign
    new: Verdict | None  # None: not in the new campaign
    old_reason: str = ""
    new_reason: str = ""

    def arrow(self) -> str:
        return f"{self.old.value if self.old else '(absent)'} -> {self.new.value if self.new else '(absent)'}"


@dataclass(frozen=True)
class PicsChange:
    item: str
    old_declared: PicsValue | None
    new_declared: PicsValue | None
    old_observed: PicsValue | None
    new_observed: PicsValue | None


@dataclass
class Delta:
    old_report: str
    new_report: str
    dut: list[tuple[str, str, str]] = field(default_factory=list)  # (field, old, new), firmware first
    new_fails: list[CaseChange] = field(default_factory=list)  # FAIL now, not before (added ones too)
    new_passes: list[CaseChange] = field(default_factory=list)  # PASS now, not before (added ones too)
    changed: list[CaseChange] = field(default_factory=list)  # every verdict change of a case in both
    reasons: list[CaseChange] = field(default_factory=list)  # same verdict, different reason
    added: list[CaseChange] = field(default_factory=list)
    removed: list[CaseChange] = field(default_factory=list)
    pics: list[PicsChange] = field(default_factory=list)
    old_counts: dict[Verdict, int] = field(default_factory=dict)
    new_counts: dict[Verdict, int] = field(default_factory=dict)

    @property
    def regression(self) -> bool:
        """Something is FAIL or ERROR now that was not before."""
        return any(c.new in _BAD and c.old != c.new for c in [*self.changed, *self.added])

    @property
    def empty(self) -> bool:
        return not (self.dut or self.changed or self.reasons or self.added or self.removed or self.pics)


def compare(old: Results, new: Results) -> Delta:
    a = {c.id: c for c in [*old.test_cases, *old.use_cases]}
    b = {c.id: c for c in [*new.test_cases, *new.use_cases]}
    d = Delta(old.campaign.report_id, new.campaign.report_id,
              old_counts=old.counts(), new_counts=new.counts())
    for f in ("firmware", *(f.name for f in fields(old.dut) if f.name not in ("firmware", "extra"))):
        x, y = getattr(old.dut, f), getattr(new.dut, f)
        if x != y:
            d.dut.append((f, x, y))
    for k in sorted(old.dut.extra.keys() | new.dut.extra.keys()):
        x, y = old.dut.extra.get(k, ""), new.dut.extra.get(k, "")
        if x != y:
            d.dut.append((k, x, y))
    for cid, c in b.items():
        before = a.get(cid)
        ch = _change(before, c)
        if before is None:
            d.added.append(ch)
        elif before.verdict != c.verdict:
            d.changed.append(ch)
        elif before.reason != c.reason:
            d.reasons.append(ch)
        if c.verdict == Verdict.FAIL and (before is None or before.verdict != Verdict.FAIL):
            d.new_fails.append(ch)
        if c.verdict == Verdict.PASS and (before is None or before.verdict != Verdict.PASS):
            d.new_passes.append(ch)
    d.removed = [_change(c, None) for cid, c in a.items() if cid not in b]
    items = list(dict.fromkeys([*old.pics_declared, *old.pics_observed, *new.pics_declared,
                                *new.pics_observed]))
    for item in items:
        pc = PicsChange(item, old.pics_declared.get(item), new.pics_declared.get(item),
                        _obs(old, item), _obs(new, item))
        if (pc.old_declared, pc.old_observed) != (pc.new_declared, pc.new_observed):
            d.pics.append(pc)
    return d


def _obs(r: Results, item: str) -> PicsValue | None:
    o = r.pics_observed.get(item)
    return None if o is None else o.value


def _change(old: CaseResult | None, new: CaseResult | None) -> CaseChange:
    ref = new or old
    assert ref is not None
    return CaseChange(ref.id, ref.title, old.verdict if old else None, new.verdict if new else None,
                      old.reason if old else "", new.reason if new else "")


def _s(v: object) -> str:
    return "-" if v is None else "yes" if v is True else "no" if v is False else str(v)


# ---- rendering ---------------------------------------------------------------------------------


def render_text(d: Delta) -> str:
    out = [f"Delta {d.old_report} -> {d.new_report}"]
    out += [f"  DUT {f}: {x or '-'} -> {y or '-'}" for f, x, y in d.dut] or ["  DUT identity: unchanged"]
    out.append("  old: " + verdict_sentence("test cases", d.old_counts))
    out.append("  new: " + verdict_sentence("test cases", d.new_counts))

    def block(title: str, changes: list[CaseChange], reasons: bool = False) -> None:
        out.append(f"{title}: {len(changes)}")
        for c in changes:
            tail = "" if reasons else f"  {c.new_reason or c.old_reason}"
            out.append(f"  {c.id:28} {c.arrow()}{tail}")
            if reasons:
                out.append(f"  {'':28} was: {c.old_reason or '-'}\n  {'':28} now: {c.new_reason or '-'}")

    block("New FAILs", d.new_fails)
    block("New PASSes", d.new_passes)
    block("Changed verdicts", d.changed)
    block("Changed reasons (same verdict)", d.reasons, reasons=True)
    block("Added", d.added)
    block("Removed", d.removed)
    out.append(f"PICS changes: {len(d.pics)}")
    for p in d.pics:
        out.append(f"  {p.item}: declared {_s(p.old_declared)} -> {_s(p.new_declared)}, "
                   f"observed {_s(p.old_observed)} -> {_s(p.new_observed)}")
    out.append("REGRESSION: new FAIL or ERROR" if d.regression else "no new FAIL or ERROR")
    return "\n".join(out) + "\n"


def build(d: Delta) -> Document:
    def table(changes: list[CaseChange], empty: str) -> Table:
        rows = [[c.id, c.title, _s(c.old and c.old.value), _s(c.new and c.new.value), c.old_reason or "-",
                 c.new_reason or "-"] for c in changes]
        return Table(["Case", "Title", "Old", "New", "Old reason", "New reason"], rows,
                     [20, 20, 9, 9, 21, 21], verdict_cols=frozenset({2, 3}), mono_cols=frozenset({0}),
                     empty=empty)

    pics = [[p.item, _s(p.old_declared), _s(p.new_declared), _s(p.old_observed), _s(p.new_observed)]
            for p in d.pics]
    counts = [[v.value, str(d.old_counts.get(v, 0)), str(d.new_counts.get(v, 0))] for v in VERDICTS]
    sections = [
        Section("sec-summary", "1", "Summary", [
            Para("REGRESSION: a test case is FAIL or ERROR that was not before." if d.regression
                 else "No new FAIL or ERROR.",
                 "status-NOT_CONFORMING" if d.regression else "status-CONFORMING"),
            Fields([("Old campaign", d.old_report), ("New campaign", d.new_report),
                    *((f"DUT {f}", f"{x or '-'} -> {y or '-'}") for f, x, y in d.dut),
                    *([] if d.dut else [("DUT identity", "unchanged")])]),
            Table(["Verdict", "Old", "New"], counts, [40, 30, 30], verdict_cols=frozenset({0}))]),
        Section("sec-new-fails", "2", "New FAILs", [table(d.new_fails, "no new FAIL")]),
        Section("sec-new-passes", "3", "New PASSes", [table(d.new_passes, "no new PASS")]),
        Section("sec-changed", "4", "Changed verdicts", [table(d.changed, "no verdict changed")]),
        Section("sec-reasons", "5", "Changed reasons (same verdict)",
                [table(d.reasons, "no reason changed")]),
        Section("sec-added-removed", "6", "Test cases added and removed",
                [table(d.added, "none added"), table(d.removed, "none removed")]),
        Section("sec-pics", "7", "PICS changes",
                [Table(["PICS item", "Declared (old)", "Declared (new)", "Observed (old)", "Observed (new)"],
                       pics, [28, 18, 18, 18, 18], mono_cols=frozenset({0}), empty="no PICS change")]),
    ]
    return Document("Campaign delta - OSGP conformance", f"{d.old_report} -> {d.new_report}",
                    f"{d.old_report}..{d.new_report}", sections)


def render_delta_html(d: Delta) -> str:
    return render_html(build(d))


def _load(p: Path) -> Results:
    p = Path(p)
    return Results.load(p / RESULTS if p.is_dir() else p)


def cli_compare(old_dir: Path, new_dir: Path, out: Path | None = None) -> int:
    """`osgpct report --compare OLD NEW`: print the delta, write delta.html (default: ./delta.html, so a
    signed bundle is never touched). Exit 0 no new FAIL/ERROR, 1 regression, 3 unusable input."""
    try:
        delta = compare(_load(old_dir), _load(new_dir))
    except ConfigError as e:
        print(f"osgpct report --compare: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    out = Path(out) if out else Path("delta.html")
    out.write_text(render_delta_html(delta), encoding="utf-8")
    print(render_text(delta) + f"written: {out}")
    return EXIT_REGRESSION if delta.regression else EXIT_SAME_OR_BETTER
