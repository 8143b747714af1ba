"""The results model: the single source every report is rendered from (schema "osgpct-results/2").

The framework fills a :class:`Results` during a campaign and saves it as `results.json`; the PCTR,
the delta report and the pytest-html/allure/JUnit helpers read nothing else. Derived figures
(counts by verdict and by area, PICS mismatches, traceability, conformance status) are methods,
never stored, so they cannot disagree with the data they come from.
"""

from __future__ import annotations

import dataclasses
import json
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from osgp.errors import ConfigError
from osgp.secret import Secret
from osgpct.reports.verdicts import Verdict, combine

SCHEMA = "osgpct-results/2"  # /2: requirements carry grade and evidence, cases their findings

#: Areas of CONVENTIONS.md in report order; unknown areas follow, sorted.
AREAS = ("LNK", "APP", "TBL", "PRC", "SEC", "MGT")
#: Verdicts in report order.
VERDICTS = (Verdict.PASS, Verdict.FAIL, Verdict.INCONC, Verdict.ERROR, Verdict.NA, Verdict.NOT_RUN)

PicsValue = str | int | float | bool


@dataclass
class Lab:
    name: str = ""
    address: str = ""
    accreditation: str = ""


@dataclass
class ChannelPrediction:
    """What the simulated power-line channel predicts a real-medium campaign would take."""

    predicted_s: float
    airtime_s: float


@dataclass
class CampaignRecord:
    report_id: str
    title: str
    started: str  # ISO 8601 with offset
    finished: str
    lab: Lab = field(default_factory=Lab)
    client: str = ""
    operator: str = ""
    plan_file: str = ""
    plan_sha256: str = ""
    tool_version: str = ""
    tool_commit: str = ""
    seed: int | None = None
    target: str = ""
    driver: dict[str, str] = field(default_factory=dict)  # Driver.describe(): no secrets
    modem: dict[str, str] = field(default_factory=dict)  # modem identity, where the driver knows it
    channel: ChannelPrediction | None = None
    inconc_allowed: bool = False  # the plan's policy: may INCONC count as acceptable?
    strictness: str = "default"  # the plan's verdict policy: default, or strict (deviations are FAIL)
    public_key: str = ""  # Ed25519 raw public key (hex) that signs the evidence bundle's manifest
    key_source: Literal["lab", "generated", ""] = ""


@dataclass
class DutRecord:
    manufacturer: str = ""
    model: str = ""
    serial: str = ""
    firmware: str = ""
    hardware: str = ""
    neuron_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class PicsObservation:
    value: PicsValue
    source: str  # where the suite saw it, e.g. "BT00 tables-used"


@dataclass(frozen=True)
class PicsMismatch:
    item: str
    declared: PicsValue
    observed: PicsValue
    source: str


@dataclass
class Requirement:
    id: str  # REQ-<AREA>-<NNN>
    text: str
    source: str
    kind: Literal["mandatory", "optional", "conditional"] = "mandatory"
    testable: bool = True
    reason: str = ""  # why it is not testable here
    condition: str = ""  # PICS expression of a conditional requirement
    grade: str = ""  # evidence grade: stated / ambiguous / inferred / design (docs/requirements.md)
    assumptions: list[str] = field(default_factory=list)  # ids in the assumptions register
    quote: str = ""  # stated: the source's words
    at: str = ""  # stated: where they stand (KEY:LINE)
    port: str = ""  # stated: the port the source describes
    readings: list[str] = field(default_factory=list)  # ambiguous: every reading a conforming device may take
    pixit: str = ""  # ambiguous: the PIXIT that fixes one reading

    @property
    def unconfirmed(self) -> bool:
        """No source states the rule (inferred/design): a departure is a deviation, not a FAIL."""
        return self.grade in ("inferred", "design")

    @property
    def basis(self) -> str:
        """The evidence in one line: grade and quote with its place, or the readings a device may take."""
        if self.grade == "stated":
            return f'stated ({self.port}): "{self.quote}" ({self.at})'
        if self.grade == "ambiguous":
            return "ambiguous: " + " | ".join(self.readings) + (f" (PIXIT {self.pixit})" if self.pixit else "")
        return self.grade or "not graded"

    @property
    def area(self) -> str:
        parts = self.id.split("-")
        return parts[1] if len(parts) > 2 else ""


@dataclass
class Step:
    n: int
    title: str
    expected: str = ""
    verdict: Verdict = Verdict.NOT_RUN
    reason: str = ""
    frames: list[int] = field(default_factory=list)  # packet numbers in trace.pcap


@dataclass
class Finding:
    """A check of one requirement inside a case (osgpct.testcase.Finding): the verdict per requirement."""

    requirement: str
    verdict: Verdict  # PASS, or the graded verdict of a failed check
    reason: str = ""
    step: int | None = None
    deviation: bool = False  # failed check of an unconfirmed rule: INCONC, never FAIL by default


@dataclass
class CaseResult:
    """One test case or one use case (same shape; use cases have no KIND)."""

    id: str
    title: str
    verdict: Verdict
    group: str = ""
    area: str = ""
    kind: str = ""  # BV, BI, BO, TI, CA (test cases); "" for use cases
    purpose: str = ""
    requirements: list[str] = field(default_factory=list)
    pics: str = ""  # selection expression
    reason: str = ""
    duration_s: float = 0.0
    steps: list[Step] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unattributed: Verdict = Verdict.PASS  # worst verdict not given by a check of a requirement (a precondition)

    def requirement_verdict(self, rid: str) -> tuple[Verdict, bool]:
        """The verdict this case gives requirement `rid` (and whether it is a deviation), from the checks
        that name it: a failed check of another requirement does not mark this one."""
        failed = [f for f in self.findings if f.requirement == rid and f.verdict is not Verdict.PASS]
        if failed:
            worst = combine(f.verdict for f in failed)
            return worst, all(f.deviation for f in failed if f.verdict is worst)
        if self.verdict in (Verdict.PASS, Verdict.NA, Verdict.NOT_RUN, Verdict.ERROR):
            return self.verdict, False
        if self.unattributed is Verdict.PASS and (len(self.requirements) == 1 or any(
                f.requirement == rid for f in self.findings)):
            return Verdict.PASS, False  # every check of it passed; the case's verdict is another requirement's
        return (self.unattributed if self.unattributed is not Verdict.PASS else Verdict.INCONC), False

    @property
    def deviations(self) -> list[Finding]:
        return [f for f in self.findings if f.deviation]


@dataclass
class Frame:
    n: int  # packet number in trace.pcap (1-based, as Wireshark shows it)
    t: float  # seconds since the campaign started
    direction: Literal["tx", "rx"]
    hex: str  # the LPDU as sent or received, lowercase hex without spaces
    summary: str = ""
    test_case: str = ""
    step: int | None = None


@dataclass
class AssumptionRecord:
    """An entry of the assumptions register as it stood for this campaign (value may be a PIXIT)."""

    id: str
    title: str
    value: str
    pixit: str | None
    basis: str
    used_in: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TraceRow:
    requirement: Requirement
    cases: tuple[tuple[str, Verdict], ...]  # (case id, the verdict that case gives this requirement)
    deviation: bool = False  # the worst verdict is a deviation from an unconfirmed rule
    steps: tuple[str, ...] = ()  # "TC_X step 3" behind each failed check of the requirement

    @property
    def verdict(self) -> Verdict | None:
        """Verdict of the requirement from the cases that ran; None when none did."""
        ran = [v for _, v in self.cases if v not in (Verdict.NA, Verdict.NOT_RUN)]
        return combine(ran) if ran else None

    @property
    def label(self) -> str:
        v = self.verdict
        return "not run" if v is None else ("DEVIATION" if self.deviation and v is Verdict.INCONC else v.value)


@dataclass(frozen=True)
class Status:
    """The DUT conformance statement of PCTR section 4."""

    label: Literal["CONFORMING", "NOT CONFORMING", "NOT ESTABLISHED"]
    statement: str


@dataclass
class Results:
    campaign: CampaignRecord
    dut: DutRecord = field(default_factory=DutRecord)
    pics_declared: dict[str, PicsValue] = field(default_factory=dict)
    pics_observed: dict[str, PicsObservation] = field(default_factory=dict)
    requirements: list[Requirement] = field(default_factory=list)
    test_cases: list[CaseResult] = field(default_factory=list)
    use_cases: list[CaseResult] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    assumptions: list[AssumptionRecord] = field(default_factory=list)
    reservations: list[str] = field(default_factory=list)  # limits beyond the assumptions register
    schema: str = SCHEMA

    # ---- derived figures -------------------------------------------------------------------

    def counts(self, cases: Iterable[CaseResult] | None = None) -> dict[Verdict, int]:
        """Cases per verdict, every verdict present (zeros included), in report order."""
        out = dict.fromkeys(VERDICTS, 0)
        for c in self.test_cases if cases is None else cases:
            out[c.verdict] += 1
        return out

    def areas(self) -> list[str]:
        seen = {c.area for c in self.test_cases}
        return [a for a in AREAS if a in seen] + sorted(seen - set(AREAS))

    def counts_by_area(self) -> dict[str, dict[Verdict, int]]:
        return {a: self.counts(c for c in self.test_cases if c.area == a) for a in self.areas()}

    def case(self, case_id: str) -> CaseResult:
        for c in [*self.test_cases, *self.use_cases]:
            if c.id == case_id:
                return c
        raise KeyError(case_id)

    def pics_mismatches(self) -> list[PicsMismatch]:
        """Items observed on the DUT whose value differs from the declaration (the rule of
        osgpct.pics.compare: plan values are typed, so equality is strict)."""
        return [PicsMismatch(item, self.pics_declared[item], obs.value, obs.source)
                for item, obs in self.pics_observed.items()
                if item in self.pics_declared and self.pics_declared[item] != obs.value]

    def traceability(self) -> list[TraceRow]:
        """Per requirement: the verdict each citing case gives it (from the checks that name it)."""
        rows = []
        for r in self.requirements:
            judged = [(c, *c.requirement_verdict(r.id)) for c in [*self.test_cases, *self.use_cases]
                      if r.id in c.requirements]
            steps = [f"{c.id} step {f.step}" if f.step else c.id for c, _, _ in judged
                     for f in c.findings if f.requirement == r.id and f.verdict is not Verdict.PASS]
            row = TraceRow(r, tuple((c.id, v) for c, v, _ in judged), steps=tuple(dict.fromkeys(steps)))
            inconc = [dev for _, v, dev in judged if v is Verdict.INCONC]
            deviation = row.verdict is Verdict.INCONC and all(inconc)
            rows.append(TraceRow(r, row.cases, deviation, row.steps))
        return rows

    def requirement(self, rid: str) -> Requirement | None:
        return next((r for r in self.requirements if r.id == rid), None)

    def inconclusive(self) -> dict[str, list[CaseResult]]:
        """The cases that could not be judged, by why: deviations from unconfirmed rules, DUT errors
        outside the requirement under test, no answer, preconditions or harness limits."""
        out: dict[str, list[CaseResult]] = {}
        for c in [*self.test_cases, *self.use_cases]:
            if c.verdict is not Verdict.INCONC:
                continue
            if c.deviations and c.unattributed is Verdict.PASS:
                why = "deviation from a rule no source states (inferred or design)"
            elif "outside this case's requirements" in c.reason:
                why = "DUT error on a requirement another case judges"
            elif "no answer" in c.reason or "did not answer" in c.reason:
                why = "no answer from the DUT within the bounds"
            elif "not judged" in c.reason:
                why = "not judged by this harness (time budget, link, capability)"
            else:
                why = "precondition not met"
            out.setdefault(why, []).append(c)
        return out

    def uncovered(self) -> list[Requirement]:
        """Testable requirements that no test case or use case refers to: holes in the suite."""
        return [row.requirement for row in self.traceability()
                if row.requirement.testable and not row.cases]

    def unknown_requirement_refs(self) -> list[tuple[str, str]]:
        """(case id, requirement id) pairs that cite a requirement missing from the catalogue."""
        known = {r.id for r in self.requirements}
        return [(c.id, rid) for c in [*self.test_cases, *self.use_cases]
                for rid in c.requirements if rid not in known]

    def frames_by_number(self) -> dict[int, Frame]:
        return {f.n: f for f in self.frames}

    def evidence(self) -> list[tuple[CaseResult, Step | None, list[Frame]]]:
        """Frames behind every FAIL/INCONC step (Annex A), in campaign order.

        A FAIL/INCONC case none of whose steps carries the verdict contributes all its frames,
        under step None, so its evidence is never lost.
        """
        bad = (Verdict.FAIL, Verdict.INCONC)
        by_n = self.frames_by_number()
        out: list[tuple[CaseResult, Step | None, list[Frame]]] = []
        for c in [*self.test_cases, *self.use_cases]:
            if c.verdict not in bad:
                continue
            steps = [s for s in c.steps if s.verdict in bad]
            for s in steps:
                out.append((c, s, [by_n[n] for n in s.frames if n in by_n]))
            if not steps:
                out.append((c, None, [f for f in self.frames if f.test_case == c.id]))
        return out

    def status(self) -> Status:
        cases = [*self.test_cases, *self.use_cases]
        n = self.counts(cases)
        selected = len(cases) - n[Verdict.NA]
        if n[Verdict.FAIL]:
            return Status("NOT CONFORMING", f"The DUT failed {n[Verdict.FAIL]} of the {selected} selected "
                          "test cases and use cases: it does not conform to the selected test cases.")
        blocking = n[Verdict.ERROR] + n[Verdict.NOT_RUN]
        if not self.campaign.inconc_allowed:
            blocking += n[Verdict.INCONC]
        if blocking or not selected:
            return Status("NOT ESTABLISHED", "No FAIL was observed, but conformance is not established: "
                          f"{n[Verdict.ERROR]} ERROR (test system), {n[Verdict.INCONC]} INCONC, "
                          f"{n[Verdict.NOT_RUN]} NOT RUN of {selected} selected."
                          + ("" if selected else " No test case was selected."))
        if n[Verdict.INCONC]:
            why = "; ".join(f"{len(cs)} {reason}" for reason, cs in self.inconclusive().items())
            return Status("CONFORMING", f"No FAIL: the DUT passed {n[Verdict.PASS]} of the {selected} selected "
                          f"test cases and use cases ({n[Verdict.NA]} not applicable); {n[Verdict.INCONC]} could "
                          f"not be judged ({why}), accepted by the plan's policy and listed under the "
                          "reservations.")
        return Status("CONFORMING", f"The DUT passed all {selected} selected test cases and use cases "
                      f"({n[Verdict.NA]} not applicable): it conforms to the selected test cases.")

    # ---- serialisation -----------------------------------------------------------------------

    def to_dict(self, show_secrets: bool = False) -> dict[str, Any]:
        """Plain JSON data in field order. A stray `Secret` prints as "***" unless show_secrets."""
        return _dump(self, show_secrets)

    @classmethod
    def from_dict(cls, data: Any, source: str = "results") -> Results:
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
        if data.get("schema") == SCHEMA_1:
            data = _from_schema_1(data)
        if data.get("schema") != SCHEMA:
            raise ConfigError(f"{source}: schema is {data.get('schema')!r}, expected {SCHEMA!r}")
        try:
            return _load(cls, data, "")
        except _Bad as e:
            raise ConfigError(f"{source}: {e.where or 'top level'}: {e.message}") from None

    def to_json(self, show_secrets: bool = False) -> str:
        return json.dumps(self.to_dict(show_secrets), indent=1, ensure_ascii=False) + "\n"

    def save(self, path: str | Path, show_secrets: bool = False) -> Path:
        path = Path(path)
        path.write_text(self.to_json(show_secrets), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Results:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file (is this a campaign output directory?)") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read: {e}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}: not valid JSON: {e}") from None
        return cls.from_dict(data, str(path))


SCHEMA_1 = "osgpct-results/1"


def _from_schema_1(data: dict[str, Any]) -> dict[str, Any]:
    """A campaign stored before evidence grades (so `osgpct report --compare` spans the change): the
    requirement's `confidence` had no grade behind it and is dropped; cases had no findings."""
    data = dict(data, schema=SCHEMA)
    data["requirements"] = [{k: v for k, v in r.items() if k != "confidence"} for r in data.get("requirements", [])]
    return data


# ---- generic dataclass <-> JSON, with errors that name the field -------------------------------


class _Bad(Exception):
    def __init__(self, where: str, message: str) -> None:
        self.where, self.message = where, message


def _dump(obj: Any, show_secrets: bool) -> Any:
    if isinstance(obj, Verdict):
        return obj.value
    if isinstance(obj, Secret):
        return obj.reveal().hex() if show_secrets else "***"
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _dump(getattr(obj, f.name), show_secrets) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [_dump(v, show_secrets) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _dump(v, show_secrets) for k, v in obj.items()}
    if isinstance(obj, bytes | bytearray):
        return "***" if not show_secrets else bytes(obj).hex()  # raw bytes are never meant for reports
    return obj


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _load(tp: Any, data: Any, where: str) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise _Bad(where, f"expected an object, got {type(data).__name__}")
        fields = dataclasses.fields(tp)
        unknown = set(data) - {f.name for f in fields}
        if unknown:
            raise _Bad(where, f"unknown key(s) {', '.join(sorted(unknown))}")
        kwargs = {}
        for f in fields:
            sub = f"{where}.{f.name}" if where else f.name
            if f.name in data:
                kwargs[f.name] = _load(_hints(tp)[f.name], data[f.name], sub)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise _Bad(where, f"missing key '{f.name}'")
        return tp(**kwargs)
    if origin is list:
        if not isinstance(data, list):
            raise _Bad(where, f"expected a list, got {type(data).__name__}")
        (item,) = get_args(tp)
        return [_load(item, v, f"{where}[{i}]") for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            raise _Bad(where, f"expected an object, got {type(data).__name__}")
        _, item = get_args(tp)
        return {k: _load(item, v, f"{where}.{k}") for k, v in data.items()}
    if origin is Literal:
        if data not in get_args(tp):
            raise _Bad(where, f"{data!r} is not one of {', '.join(map(repr, get_args(tp)))}")
        return data
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if data is None and type(None) in args:
            return None
        for arm in args:
            if arm is not type(None) and _scalar_ok(arm, data):
                return data
        dataclass_arms = [a for a in args if dataclasses.is_dataclass(a)]
        if dataclass_arms:
            return _load(dataclass_arms[0], data, where)
        raise _Bad(where, f"{data!r} is not a {' or '.join(getattr(a, '__name__', str(a)) for a in args)}")
    if tp is Verdict:
        try:
            return Verdict(data)
        except ValueError:
            raise _Bad(where, f"{data!r} is not a verdict ({', '.join(v.value for v in Verdict)})") from None
    if _scalar_ok(tp, data):
        return float(data) if tp is float else data
    raise _Bad(where, f"expected {getattr(tp, '__name__', tp)}, got {data!r}")


def _scalar_ok(tp: Any, data: Any) -> bool:
    if tp is bool:
        return isinstance(data, bool)
    if tp is int:
        return isinstance(data, int) and not isinstance(data, bool)
    if tp is float:
        return isinstance(data, int | float) and not isinstance(data, bool)
    if tp is str:
        return isinstance(data, str)
    return False


def requirements_from_catalogue(reqs: Iterable[Any]) -> list[Requirement]:
    """Model entries from osgpct.catalogue requirements (duck-typed: id, text, source, kind, pics, grade,
    testable, reason, assumptions, quote, at, port, readings, pixit)."""
    return [Requirement(q.id, q.text, q.source, q.kind, q.testable, q.reason or "", q.pics or "", q.grade,
                        list(q.assumptions), q.quote, q.at, q.port, list(q.readings), q.pixit) for q in reqs]


def assumptions_from_register(overrides: dict[str, str] | None = None) -> list[AssumptionRecord]:
    """Snapshot of osgp/assumptions.yaml for a campaign; `overrides` maps id -> PIXIT value in force."""
    from osgp.assumptions import register

    overrides = overrides or {}
    return [AssumptionRecord(a.id, a.title, overrides.get(a.id, a.value), a.pixit, a.basis, list(a.used_in))
            for a in register()]
