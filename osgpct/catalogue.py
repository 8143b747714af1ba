"""The requirement catalogue (osgpct/requirements.yaml): loaded, validated, summarised.

Every test case names the requirements it checks by id (``REQ-<AREA>-<NNN>``); the traceability
matrix of every report is built from this catalogue. The file is data, written by hand; this
module refuses a file that breaks the rules in docs/requirements.md and names the offending entry.

``python -m osgpct.catalogue`` prints a summary per area (``--markdown``: the table of
docs/requirements.md).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from osgp.errors import ConfigError

AREAS: Mapping[str, str] = {
    "LNK": "Link and transport (ISO/IEC 14908-1)",
    "APP": "Application services and response codes (TS 104 001 Clause 9)",
    "TBL": "Tables, their structure and content (Clause 5, Annexes A-B, Clauses 7-8)",
    "PRC": "Procedures (Clause 5, Annexes C-D)",
    "SEC": "Security: digest, sequence numbers, RC4, AES, lockout (Annex F)",
    "MGT": "Management: time, topology, broadcast, firmware, keys (Clauses 4, 7-8, Annex F-G)",
}
KINDS = ("mandatory", "optional", "conditional")
CONFIDENCES = ("read", "verified", "inferred")
FIELDS = ("id", "text", "source", "kind", "pics", "confidence", "testable", "reason", "assumptions")

# Evidence tags used in shared/spec and in the `source` field, mapped onto the confidence they allow.
# The confidence of a requirement is the weakest tag its source carries.
TAG_CONFIDENCE: Mapping[str, str] = {
    "VERIFIED": "verified",
    "READ": "read",
    "SECONDARY": "read",
    "INFERRED": "inferred",
    "UNVERIFIED": "inferred",
    "NOT FOUND": "inferred",
}
_STRENGTH = {"verified": 2, "read": 1, "inferred": 0}

ID_RE = re.compile(r"^REQ-(?P<area>[A-Z]{3})-(?P<number>\d{3})$")
ASSUMPTION_RE = re.compile(r"^ASM-[A-Z]{3}-\d{2}$")
_TAG_RE = re.compile(r"\[(" + "|".join(TAG_CONFIDENCE) + r")\b[^\]]*\]")
_PICS_NAME_RE = re.compile(r"PICS_[A-Z0-9_]+")
MAX_TEXT = 240


class CatalogueError(ConfigError):
    """The requirement catalogue breaks a rule; the message lists every offending entry."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s) in the requirement catalogue:\n{lines}")


@dataclass(frozen=True)
class Requirement:
    """One entry of the catalogue (field meanings: docs/requirements.md)."""

    id: str
    text: str
    source: str
    kind: str
    pics: str | None
    confidence: str
    testable: bool
    reason: str | None
    assumptions: tuple[str, ...]

    @property
    def area(self) -> str:
        return self.id.split("-")[1]

    @property
    def number(self) -> int:
        return int(self.id.split("-")[2])

    @property
    def pics_items(self) -> tuple[str, ...]:
        """The PICS items the selection expression names (empty when unconditional)."""
        return tuple(sorted(set(re.findall(r"PICS_[A-Z0-9_]+", self.pics or ""))))

    @property
    def rests_on_assumption(self) -> bool:
        """True when a failing check may only be a FAIL if it names the assumption or inference."""
        return self.confidence == "inferred" or bool(self.assumptions)


def weakest_tag_confidence(source: str) -> str | None:
    """The confidence the weakest evidence tag in `source` allows; None when it carries no tag."""
    found = [TAG_CONFIDENCE[m.group(1)] for m in _TAG_RE.finditer(source)]
    if not found:
        return None
    return min(found, key=_STRENGTH.__getitem__)


def check_pics_expression(expr: str) -> str | None:
    """None when `expr` is a valid selection expression, else why not.

    The language is the one of osgpct.pics (and/or/not, parentheses, comparisons). Items must be
    named PICS_<NAME>; items osgpct.pics declares are type-checked, others are taken as true/false
    (see undeclared_pics_items)."""
    from osgpct.pics import TYPES, PicsError, parse

    try:
        parsed = parse(expr)
        bad = sorted(n for n in parsed.names if not _PICS_NAME_RE.fullmatch(n))
        if bad:
            return f"{', '.join(bad)}: PICS items are named PICS_<NAME> (capitals, digits, _)"
        parsed.check({**{n: bool for n in parsed.names}, **TYPES})
    except PicsError as exc:
        return str(exc)
    return None


def _entry_problems(n: int, e: Any, known_assumptions: frozenset[str]) -> list[str]:
    if not isinstance(e, dict):
        return [f"entry {n}: not a mapping"]
    name = f"entry {n} ({e.get('id', '<no id>')})"
    problems: list[str] = []
    missing = [f for f in FIELDS if f not in e]
    if missing:
        problems.append(f"{name}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(e) - set(FIELDS))
    if unknown:
        problems.append(f"{name}: unknown field(s) {', '.join(unknown)}")
    if missing:
        return problems

    rid = e["id"]
    m = ID_RE.match(rid) if isinstance(rid, str) else None
    if m is None:
        problems.append(f"{name}: id {rid!r} is not of the form REQ-<AREA>-<NNN>")
    elif m.group("area") not in AREAS:
        problems.append(f"{name}: area {m.group('area')!r} is not one of {', '.join(AREAS)}")
    elif m.group("number") == "000":
        problems.append(f"{name}: numbering starts at 001")

    text = e["text"]
    if not isinstance(text, str) or not text.strip():
        problems.append(f"{name}: text is empty")
    elif "\n" in text.strip() or len(text) > MAX_TEXT:
        problems.append(f"{name}: text must be one line of at most {MAX_TEXT} characters (has {len(text)})")

    source = e["source"]
    tag_conf: str | None = None
    if not isinstance(source, str) or not source.strip():
        problems.append(f"{name}: source is empty")
    else:
        if "TS 104 001" not in source:
            problems.append(f"{name}: source must name the TS 104 001 clause/annex (or 'clause unknown')")
        tag_conf = weakest_tag_confidence(source)
        if tag_conf is None:
            problems.append(f"{name}: source carries no evidence tag ([READ], [VERIFIED], [INFERRED], ...)")

    kind, pics = e["kind"], e["pics"]
    if kind not in KINDS:
        problems.append(f"{name}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "conditional":
        if not isinstance(pics, str) or not pics.strip():
            problems.append(f"{name}: a conditional requirement needs a PICS expression in 'pics'")
        else:
            why = check_pics_expression(pics)
            if why:
                problems.append(f"{name}: pics {pics!r}: {why}")
    elif pics is not None:
        problems.append(f"{name}: pics must be null unless kind is conditional (kind is {kind!r})")

    conf = e["confidence"]
    if conf not in CONFIDENCES:
        problems.append(f"{name}: confidence {conf!r} is not one of {', '.join(CONFIDENCES)}")
    elif tag_conf is not None and conf != tag_conf:
        problems.append(f"{name}: confidence {conf!r} but the weakest tag in its source gives {tag_conf!r}")

    testable, reason = e["testable"], e["reason"]
    if not isinstance(testable, bool):
        problems.append(f"{name}: testable must be true or false")
    elif not testable and (not isinstance(reason, str) or not reason.strip()):
        problems.append(f"{name}: not testable, so 'reason' must say why and what would make it testable")
    elif testable and reason is not None:
        problems.append(f"{name}: reason is only for requirements that are not testable")

    asms = e["assumptions"]
    if not isinstance(asms, list):
        problems.append(f"{name}: assumptions must be a list of ASM-<AREA>-<NN> ids")
    else:
        for a in asms:
            if not isinstance(a, str) or not ASSUMPTION_RE.match(a):
                problems.append(f"{name}: assumption {a!r} is not of the form ASM-<AREA>-<NN>")
            elif a not in known_assumptions:
                problems.append(f"{name}: assumption {a} is not in osgp/assumptions.yaml")
        if len(set(map(str, asms))) != len(asms):
            problems.append(f"{name}: an assumption is listed twice")
    return problems


def parse_catalogue(text: str, *, origin: str = "requirements.yaml",
                    assumption_ids: Iterable[str] | None = None) -> tuple[Requirement, ...]:
    """Validate catalogue text and build the requirements; raise CatalogueError listing every problem."""
    if assumption_ids is None:
        from osgp.assumptions import register

        assumption_ids = (a.id for a in register())
    known = frozenset(assumption_ids)
    try:
        entries = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(origin, [f"not valid YAML: {exc}"]) from exc
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(origin, ["the file must be a non-empty YAML list of requirements"])

    problems: list[str] = []
    seen: dict[str, int] = {}
    last_in_area: dict[str, int] = {}
    for n, e in enumerate(entries):
        problems += _entry_problems(n, e, known)
        rid = e.get("id") if isinstance(e, dict) else None
        if not isinstance(rid, str):
            continue
        if rid in seen:
            problems.append(f"entry {n} ({rid}): duplicate id, first used by entry {seen[rid]}")
            continue
        seen[rid] = n
        m = ID_RE.match(rid)
        if m:
            area, number = m.group("area"), int(m.group("number"))
            if number < last_in_area.get(area, 0):
                problems.append(f"entry {n} ({rid}): ids of area {area} must appear in ascending order")
            last_in_area[area] = max(number, last_in_area.get(area, 0))
    if problems:
        raise CatalogueError(origin, problems)
    return tuple(
        Requirement(e["id"], e["text"].strip(), e["source"].strip(), e["kind"], e["pics"], e["confidence"],
                    e["testable"], e["reason"], tuple(e["assumptions"]))
        for e in entries
    )


@cache
def _packaged() -> tuple[Requirement, ...]:
    text = resources.files("osgpct").joinpath("requirements.yaml").read_text(encoding="utf-8")
    return parse_catalogue(text, origin="osgpct/requirements.yaml")


def load_catalogue(path: str | Path | None = None, *,
                   assumption_ids: Iterable[str] | None = None) -> tuple[Requirement, ...]:
    """The validated catalogue: the packaged osgpct/requirements.yaml, or the file at `path`."""
    if path is None and assumption_ids is None:
        return _packaged()
    if path is None:
        text = resources.files("osgpct").joinpath("requirements.yaml").read_text(encoding="utf-8")
        return parse_catalogue(text, origin="osgpct/requirements.yaml", assumption_ids=assumption_ids)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(str(p), [f"cannot read: {exc.strerror or exc}"]) from exc
    return parse_catalogue(text, origin=str(p), assumption_ids=assumption_ids)


def requirement(requirement_id: str) -> Requirement:
    """The packaged requirement with this id; KeyError naming the id when there is none."""
    for r in _packaged():
        if r.id == requirement_id:
            return r
    raise KeyError(f"{requirement_id}: no such requirement in osgpct/requirements.yaml")


def by_area(reqs: Iterable[Requirement] | None = None) -> dict[str, tuple[Requirement, ...]]:
    """Requirements grouped per area, in the order of AREAS."""
    items = tuple(_packaged() if reqs is None else reqs)
    return {area: tuple(r for r in items if r.area == area) for area in AREAS}


def pics_items(reqs: Iterable[Requirement] | None = None) -> tuple[str, ...]:
    """Every PICS item the catalogue's selection expressions name."""
    items = _packaged() if reqs is None else reqs
    return tuple(sorted({p for r in items for p in r.pics_items}))


def undeclared_pics_items(reqs: Iterable[Requirement] | None = None) -> tuple[str, ...]:
    """PICS items the catalogue names that the test-plan PICS catalogue (osgpct.pics.ITEMS) lacks."""
    from osgpct.pics import ITEMS

    return tuple(p for p in pics_items(reqs) if p not in ITEMS)


@dataclass(frozen=True)
class AreaSummary:
    area: str
    title: str
    total: int
    mandatory: int
    optional: int
    conditional: int
    verified: int
    read: int
    inferred: int
    with_assumptions: int
    not_testable: int


def summarise(reqs: Iterable[Requirement] | None = None) -> tuple[AreaSummary, ...]:
    out = []
    for area, rs in by_area(reqs).items():
        out.append(AreaSummary(
            area, AREAS[area], len(rs),
            sum(r.kind == "mandatory" for r in rs), sum(r.kind == "optional" for r in rs),
            sum(r.kind == "conditional" for r in rs),
            sum(r.confidence == "verified" for r in rs), sum(r.confidence == "read" for r in rs),
            sum(r.confidence == "inferred" for r in rs),
            sum(bool(r.assumptions) for r in rs), sum(not r.testable for r in rs)))
    return tuple(out)


def format_summary(rows: Iterable[AreaSummary]) -> str:
    rows = tuple(rows)
    head = ("area", "total", "mand", "opt", "cond", "verif", "read", "infer", "w/ASM", "untestable")
    lines = ["{:<5} {:>5} {:>5} {:>4} {:>5} {:>6} {:>5} {:>6} {:>6} {:>11}  {}".format(*head, "title")]
    for r in rows:
        lines.append(f"{r.area:<5} {r.total:>5} {r.mandatory:>5} {r.optional:>4} {r.conditional:>5} "
                     f"{r.verified:>6} {r.read:>5} {r.inferred:>6} {r.with_assumptions:>6} "
                     f"{r.not_testable:>11}  {r.title}")
    tot = [sum(getattr(r, f) for r in rows) for f in ("total", "mandatory", "optional", "conditional",
                                                      "verified", "read", "inferred", "with_assumptions",
                                                      "not_testable")]
    lines.append("{:<5} {:>5} {:>5} {:>4} {:>5} {:>6} {:>5} {:>6} {:>6} {:>11}".format("all", *tot))
    return "\n".join(lines)


def format_markdown_counts(rows: Iterable[AreaSummary]) -> str:
    """The counts table of docs/requirements.md (between its counts:begin/end markers)."""
    rows = tuple(rows)
    fields = ("total", "mandatory", "optional", "conditional", "verified", "read", "inferred",
              "with_assumptions", "not_testable")
    lines = ["| Area | Total | Mandatory | Optional | Conditional | Verified | Read | Inferred "
             "| With assumptions | Not testable |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| " + " | ".join([r.area, *(str(getattr(r, f)) for f in fields)]) + " |")
    tot = [str(sum(getattr(r, f) for r in rows)) for f in fields]
    lines.append("| " + " | ".join(["all", *tot]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m osgpct.catalogue [--markdown] [FILE]`: summary per area; exit 3 on a broken file."""
    args = sys.argv[1:] if argv is None else list(argv)
    markdown = "--markdown" in args
    args = [a for a in args if a != "--markdown"]
    try:
        reqs = load_catalogue(args[0] if args else None)
    except CatalogueError as exc:
        print(exc, file=sys.stderr)
        return 3
    if markdown:
        print(format_markdown_counts(summarise(reqs)))
        return 0
    print(format_summary(summarise(reqs)))
    items = pics_items(reqs)
    print(f"\nPICS items named by conditional requirements ({len(items)}): {', '.join(items)}")
    missing = undeclared_pics_items(reqs)
    if missing:
        print(f"Not yet declared in osgpct.pics.ITEMS ({len(missing)}): {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
