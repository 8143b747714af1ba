"""The requirement catalogue (osgpct/requirements/<AREA>.yaml): loaded, validated, summarised.

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
#: Evidence grades (docs/requirements.md): what a failed check on the requirement may become.
GRADES = ("stated", "ambiguous", "inferred", "design")
FIELDS = ("id", "text", "source", "kind", "pics", "grade", "testable", "reason", "assumptions")
#: Fields by grade: `stated` keeps a short quote, where it stands and the port it was read for;
#: `ambiguous` lists every reading a conforming device may take (and may name the PIXIT that picks one).
GRADE_FIELDS = {"stated": ("quote", "at", "port"), "ambiguous": ("readings",), "inferred": (), "design": ()}
OPTIONAL_FIELDS = ("pixit", "note")
PORTS = ("power line", "MEP (TCP)", "optical port", "any")
#: Where `at` points: KEY:LINE, KEY one of these files (relative to the spec folder, shared/spec/).
SOURCE_FILES: Mapping[str, str] = {
    "MEP-DG": "sources/OSGP-Alliance-MEP-Client-Developers-Guide-078-0372-01BD.txt",
    "OPG": "sources/OSGP-Alliance-Optical-Port-Programmers-Guide-c21F.txt",
    "app": "app-layer-and-security.md",
    "tbl": "tables-and-procedures.md",
    "low": "lower-layers.md",
}
AT_RE = re.compile(r"^(?P<key>" + "|".join(SOURCE_FILES) + r"):(?P<line>\d+)$")
MAX_QUOTE_WORDS = 30

ID_RE = re.compile(r"^REQ-(?P<area>[A-Z]{3})-(?P<number>\d{3})$")
ASSUMPTION_RE = re.compile(r"^ASM-[A-Z]{3}-\d{2}$")
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
    grade: str
    testable: bool
    reason: str | None
    assumptions: tuple[str, ...]
    quote: str = ""  # stated: the source's words (at most ~25)
    at: str = ""  # stated: KEY:LINE (SOURCE_FILES)
    port: str = ""  # stated: the port the source describes (power line, MEP (TCP), optical port, any)
    readings: tuple[str, ...] = ()  # ambiguous: every reading a conforming device may take
    pixit: str = ""  # ambiguous: the PIXIT that fixes one reading (then a departure from it is FAIL)
    note: str = ""

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
    def unconfirmed(self) -> bool:
        """No source states the rule: a departure is a deviation, FAIL only under a strict policy."""
        return self.grade in ("inferred", "design")


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
    allowed = set(FIELDS) | set(OPTIONAL_FIELDS) | {f for fs in GRADE_FIELDS.values() for f in fs}
    unknown = sorted(set(e) - allowed)
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
    if not isinstance(source, str) or not source.strip():
        problems.append(f"{name}: source is empty")
    elif "TS 104 001" not in source:
        problems.append(f"{name}: source must name the TS 104 001 clause/annex (or 'clause unknown')")

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

    problems += _grade_problems(name, e)

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


def _grade_problems(name: str, e: Mapping[str, Any]) -> list[str]:
    grade = e["grade"]
    if grade not in GRADES:
        return [f"{name}: grade {grade!r} is not one of {', '.join(GRADES)}"]
    problems = [f"{name}: {f} belongs to grade {g}, not {grade}" for g, fs in GRADE_FIELDS.items() if g != grade
                for f in fs if f in e and f not in GRADE_FIELDS[grade]]
    problems += [f"{name}: a {grade} requirement needs {f!r}" for f in GRADE_FIELDS[grade] if not e.get(f)]
    if grade == "stated" and not problems:
        quote, at, port = e["quote"], e["at"], e["port"]
        if not isinstance(quote, str) or len(quote.split()) > MAX_QUOTE_WORDS:
            problems.append(f"{name}: quote must be a string of at most {MAX_QUOTE_WORDS} words")
        if not isinstance(at, str) or not AT_RE.match(at):
            problems.append(f"{name}: at {at!r} is not KEY:LINE with KEY one of {', '.join(SOURCE_FILES)}")
        if port not in PORTS:
            problems.append(f"{name}: port {port!r} is not one of {', '.join(PORTS)}")
    if grade == "ambiguous" and not problems:
        readings = e["readings"]
        if not isinstance(readings, list) or len(readings) < 2 or not all(isinstance(r, str) and r.strip()
                                                                          for r in readings):
            problems.append(f"{name}: readings must list at least two readings a conforming device may take")
    if e.get("pixit") and grade != "ambiguous":
        problems.append(f"{name}: only an ambiguous requirement names the PIXIT that picks its reading")
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
        Requirement(e["id"], e["text"].strip(), e["source"].strip(), e["kind"], e["pics"], e["grade"],
                    e["testable"], e["reason"], tuple(e["assumptions"]), quote=str(e.get("quote", "")).strip(),
                    at=e.get("at", ""), port=e.get("port", ""), readings=tuple(e.get("readings", ())),
                    pixit=e.get("pixit", "") or "", note=e.get("note", "") or "")
        for e in entries
    )


def packaged_text() -> str:
    """The packaged catalogue, its area files in the order of AREAS, as one YAML list."""
    folder = resources.files("osgpct").joinpath("requirements")
    return "\n".join(folder.joinpath(f"{area}.yaml").read_text(encoding="utf-8") for area in AREAS)


@cache
def _packaged() -> tuple[Requirement, ...]:
    return parse_catalogue(packaged_text(), origin="osgpct/requirements/")


def load_catalogue(path: str | Path | None = None, *,
                   assumption_ids: Iterable[str] | None = None) -> tuple[Requirement, ...]:
    """The validated catalogue: the packaged osgpct/requirements/, or the file at `path`."""
    if path is None and assumption_ids is None:
        return _packaged()
    if path is None:
        return parse_catalogue(packaged_text(), origin="osgpct/requirements/", assumption_ids=assumption_ids)
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
    raise KeyError(f"{requirement_id}: no such requirement in osgpct/requirements/")


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


def _normalise(text: str) -> str:
    """Text as the quote check compares it: hyphenated line breaks joined, quotes and spaces unified."""
    text = re.sub(r"-\s*\n\s*", "-", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(text.split()).lower()


QUOTE_WINDOW = 6  # lines after `at` a quote may run on to (the guides' text is wrapped)


def quote_problems(reqs: Iterable[Requirement], spec_dir: Path) -> list[str]:
    """Every `stated` requirement whose quote is not found at (or just after) the line it names."""
    problems = []
    cache_: dict[str, list[str]] = {}
    for r in reqs:
        if r.grade != "stated":
            continue
        m = AT_RE.match(r.at)
        if not m:
            problems.append(f"{r.id}: at {r.at!r} is not KEY:LINE")
            continue
        rel = SOURCE_FILES[m["key"]]
        if rel not in cache_:
            # split on newlines only: the guides hold a form feed per page, which grep -n does not count
            cache_[rel] = (spec_dir / rel).read_text(encoding="utf-8", errors="replace").split("\n")
        lines, n = cache_[rel], int(m["line"])
        window = _normalise("\n".join(lines[max(0, n - 1):n - 1 + QUOTE_WINDOW]))
        if not 1 <= n <= len(lines) or _normalise(r.quote) not in window:
            problems.append(f"{r.id}: quote {r.quote!r} not found at {r.at} ({rel})")
    return problems


def find_spec_dir() -> Path | None:
    """The spec folder (shared/spec/, with sources/): $OSGP_SPEC_DIR, else ../shared/spec beside the checkout."""
    import os

    for cand in (os.environ.get("OSGP_SPEC_DIR"), Path(__file__).resolve().parents[2] / "shared" / "spec"):
        if cand and (Path(cand) / SOURCE_FILES["MEP-DG"]).is_file():
            return Path(cand)
    return None


@dataclass(frozen=True)
class AreaSummary:
    area: str
    title: str
    total: int
    mandatory: int
    optional: int
    conditional: int
    stated: int
    ambiguous: int
    inferred: int
    design: int
    with_assumptions: int
    not_testable: int


def summarise(reqs: Iterable[Requirement] | None = None) -> tuple[AreaSummary, ...]:
    out = []
    for area, rs in by_area(reqs).items():
        out.append(AreaSummary(
            area, AREAS[area], len(rs),
            sum(r.kind == "mandatory" for r in rs), sum(r.kind == "optional" for r in rs),
            sum(r.kind == "conditional" for r in rs),
            *(sum(r.grade == g for r in rs) for g in GRADES),
            sum(bool(r.assumptions) for r in rs), sum(not r.testable for r in rs)))
    return tuple(out)


def format_summary(rows: Iterable[AreaSummary]) -> str:
    rows = tuple(rows)
    head = ("area", "total", "mand", "opt", "cond", "stated", "ambig", "infer", "design", "w/ASM", "untestable")
    lines = ["{:<5} {:>5} {:>5} {:>4} {:>5} {:>6} {:>5} {:>6} {:>6} {:>6} {:>11}  {}".format(*head, "title")]
    for r in rows:
        lines.append(f"{r.area:<5} {r.total:>5} {r.mandatory:>5} {r.optional:>4} {r.conditional:>5} "
                     f"{r.stated:>6} {r.ambiguous:>5} {r.inferred:>6} {r.design:>6} {r.with_assumptions:>6} "
                     f"{r.not_testable:>11}  {r.title}")
    tot = [sum(getattr(r, f) for r in rows) for f in ("total", "mandatory", "optional", "conditional",
                                                      *GRADES, "with_assumptions", "not_testable")]
    lines.append("{:<5} {:>5} {:>5} {:>4} {:>5} {:>6} {:>5} {:>6} {:>6} {:>6} {:>11}".format("all", *tot))
    return "\n".join(lines)


def format_markdown_counts(rows: Iterable[AreaSummary]) -> str:
    """The counts table of docs/requirements.md (between its counts:begin/end markers)."""
    rows = tuple(rows)
    fields = ("total", "mandatory", "optional", "conditional", *GRADES, "with_assumptions", "not_testable")
    lines = ["| Area | Total | Mandatory | Optional | Conditional | Stated | Ambiguous | Inferred | Design "
             "| With assumptions | Not testable |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| " + " | ".join([r.area, *(str(getattr(r, f)) for f in fields)]) + " |")
    tot = [str(sum(getattr(r, f) for r in rows)) for f in fields]
    lines.append("| " + " | ".join(["all", *tot]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m osgpct.catalogue [--markdown] [--check-quotes] [FILE]`: summary per area; exit 3 on a
    broken file (or, with --check-quotes, a `stated` quote not found in its source)."""
    args = sys.argv[1:] if argv is None else list(argv)
    markdown, check = "--markdown" in args, "--check-quotes" in args
    args = [a for a in args if a not in ("--markdown", "--check-quotes")]
    try:
        reqs = load_catalogue(args[0] if args else None)
    except CatalogueError as exc:
        print(exc, file=sys.stderr)
        return 3
    if check:
        spec = find_spec_dir()
        if spec is None:
            print("no spec folder: set OSGP_SPEC_DIR to the folder holding sources/ and the digests", file=sys.stderr)
            return 3
        problems = quote_problems(reqs, spec)
        for p in problems:
            print(p, file=sys.stderr)
        print(f"{sum(r.grade == 'stated' for r in reqs)} stated quotes checked, {len(problems)} not found")
        if problems:
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
