"""Test-case and use-case metadata, and the verdict recorder a test body uses (the `tc` fixture).

Metadata (CONVENTIONS.md) is declared with :func:`testcase` / :func:`usecase`, checked when the
module is imported, and readable without running anything (:func:`catalogue_of_testcases`, used by
`osgpct list`)::

    @testcase(id="TC_SEC_SEQ_BI_02", title="Stale sequence number is refused",
              purpose="Ensure that, when a request repeats the last sequence number, the DUT refuses it",
              requirements=["REQ-SEC-004"], pics="PICS_SEC_RC4 or PICS_SEC_AES", pixit=["seq_window"],
              steps=[("Read BT01 with seq n", "Response OK"), ("Read BT01 again with seq n", "0x0C")])
    def test_stale_seq(tc, session): ...

Inside the body, :class:`CaseRun` records the verdict, which only gets worse:

- ``with tc.step(n):`` numbers the evidence (frames from the session's exchange hook) and the verdict;
- ``tc.check(cond, reason, req="REQ-…")`` judges requirement ``req`` (one the case names; it may be
  left out when the case names only one): when ``cond`` is false, the requirement's evidence grade
  decides the verdict (:func:`graded_verdict`): FAIL for a ``stated`` or ``ambiguous`` rule, a
  reported *deviation* (INCONC) for an ``inferred`` or ``design`` one unless the plan's policy is
  strict. ``stop=True`` ends the case;
- ``tc.fail(reason, req=…)``: the same judgement, and stop;
- ``tc.require(cond, reason)`` -> INCONC and stop: a precondition the DUT did not give us;
- ``tc.inconc(reason)`` -> INCONC and stop;
- ``tc.observe(text)`` -> a note in the report, no verdict.

Every check is kept as a :class:`Finding` (requirement, passed or not, verdict, step): the report
gives each requirement the verdict of the checks that name it, not of the whole case.

Exceptions map to verdicts (:meth:`CaseRun.on_exception`): a :class:`DeviceTimeout` is INCONC, or
FAIL in a test case declared ``timing=True`` (the requirement is "the DUT answers within T"). A
:class:`DutProtocolError` (an answer that does not authenticate or decode) is a failed check of the
requirement it breaks (:data:`BROKEN_BY`) when the case names that requirement, else INCONC naming
the requirement and the test cases that judge it: one defect, one FAIL. Anything else is ERROR (a
fault of the test system), never FAIL. A bare ``assert`` is such an exception: judge the DUT with
``tc.check``.
"""

from __future__ import annotations

import contextlib
import importlib
import random
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from osgp.errors import ConfigError, DeviceTimeout, DutProtocolError, NotJudged
from osgpct.pics import Expr, Mismatch, Observed, PicsError, PicsValue, compare, compile_expr, observe_pics
from osgpct.reports.verdicts import Verdict

AREAS = ("LNK", "APP", "TBL", "PRC", "SEC", "MGT")  # CONVENTIONS.md, requirement and test-case areas
KINDS = {"BV": "valid behaviour", "BI": "invalid behaviour", "BO": "inopportune behaviour",
         "TI": "timer behaviour", "CA": "capability"}
TC_ID = re.compile(r"TC_(?P<area>[A-Z]{3})_(?P<group>[A-Z0-9]+)_(?P<kind>[A-Z]{2})_(?P<nn>\d{2})")
UC_ID = re.compile(r"UC_[A-Z0-9]+(?:_[A-Z0-9]+)*")
REQ_ID = re.compile(r"REQ-(?P<area>[A-Z]{3})-\d{3}")
PURPOSE_START = "Ensure that"

F = TypeVar("F", bound=Callable[..., Any])


class DefinitionError(ConfigError):
    """Test-case or use-case metadata that breaks CONVENTIONS.md (raised at import)."""


class CheckDefinitionError(Exception):
    """A check that does not say which of the case's requirements it judges: a bug of the test case (ERROR)."""


@dataclass(frozen=True)
class StepSpec:
    n: int
    title: str
    expected: str = ""


@dataclass(frozen=True)
class CaseMeta:
    """What a test case or use case declares, readable without running it."""

    id: str
    title: str
    purpose: str
    requirements: tuple[str, ...]
    pics: str  # selection expression; "" = always applicable
    pixit: tuple[str, ...]
    initial: str
    steps: tuple[StepSpec, ...]
    timing: bool  # a DeviceTimeout is a FAIL: the requirement under test is "answers within T"
    is_usecase: bool
    area: str  # LNK, APP, ... ("" for use cases)
    group: str  # e.g. SEQ of TC_SEC_SEQ_BI_02 ("" for use cases)
    kind: str  # BV, BI, BO, TI, CA ("" for use cases)
    location: str  # file:line of the function
    expr: Expr | None = field(default=None, repr=False, compare=False)

    def applicable(self, pics: Mapping[str, PicsValue]) -> bool:
        return self.expr is None or self.expr.evaluate(pics)

    def step_spec(self, n: int) -> StepSpec | None:
        return next((s for s in self.steps if s.n == n), None)


def meta_of(obj: Any) -> CaseMeta | None:
    """The metadata a decorated function carries, or None."""
    meta = getattr(obj, "osgp_meta", None)
    return meta if isinstance(meta, CaseMeta) else None


def _location(fn: Callable[..., Any]) -> str:
    code = getattr(fn, "__code__", None)
    if code is None:
        return getattr(fn, "__qualname__", repr(fn))
    return f"{code.co_filename}:{code.co_firstlineno}"


def _steps(steps: Iterable[Any], bad: Callable[[str, str], NoReturn]) -> tuple[StepSpec, ...]:
    out = []
    for n, s in enumerate(steps, 1):
        if isinstance(s, StepSpec):
            out.append(s)
        elif isinstance(s, str):
            out.append(StepSpec(n, s))
        elif isinstance(s, Sequence) and len(s) == 2 and all(isinstance(x, str) for x in s):
            out.append(StepSpec(n, s[0], s[1]))
        else:
            bad(f"step {n} is {s!r}", "write each step as (title, expected result)")
    numbers = [s.n for s in out]
    if len(set(numbers)) != len(numbers):
        bad(f"step numbers {numbers} repeat", "number each step once")
    return tuple(out)


def _declare(fn: Callable[..., Any], *, id: str, title: str, purpose: str, requirements: Iterable[str],
             pics: str | None, pixit: Iterable[str], initial: str, steps: Iterable[Any], timing: bool,
             is_usecase: bool) -> CaseMeta:
    where = _location(fn)

    def bad(message: str, fix: str) -> NoReturn:
        raise DefinitionError(f"{where}: {id!r}: {message} (fix: {fix})")

    if not callable(fn):
        bad("the decorator applies to a test function", "put it on a `def test_…(tc, session)`")
    area = group = kind = ""
    if is_usecase:
        if not isinstance(id, str) or not UC_ID.fullmatch(id):
            bad("a use-case id is UC_<NAME> (capitals, digits, _)", "e.g. UC_READ_IDENTITY")
    else:
        m = TC_ID.fullmatch(id) if isinstance(id, str) else None
        if not m:
            bad("a test-case id is TC_<AREA>_<GROUP>_<KIND>_<NN>", "e.g. TC_SEC_SEQ_BI_02")
        area, group, kind = m["area"], m["group"], m["kind"]
        if area not in AREAS:
            bad(f"area {area} is not one of {', '.join(AREAS)}", "use the area of the requirement under test")
        if kind not in KINDS:
            bad(f"kind {kind} is not one of {', '.join(KINDS)}",
                "; ".join(f"{k} = {v}" for k, v in KINDS.items()))
        if not isinstance(purpose, str) or not purpose.startswith(PURPOSE_START):
            bad(f"the test purpose must start with {PURPOSE_START!r}",
                "write it as 'Ensure that, when …, the DUT …'")
    if not isinstance(title, str) or not title.strip():
        bad("the title is empty", "give a one-line title")
    if isinstance(requirements, str):
        bad("requirements is a single string", "give a list: requirements=['REQ-SEC-001']")
    reqs = tuple(requirements)
    if not reqs and not is_usecase:
        bad("a test case names the requirements it checks", "requirements=['REQ-<AREA>-<NNN>', …]")
    for r in reqs:
        if not isinstance(r, str) or not REQ_ID.fullmatch(r) or r.split("-")[1] not in AREAS:
            bad(f"requirement {r!r} is not REQ-<AREA>-<NNN>", f"AREA is one of {', '.join(AREAS)}")
    expr = None
    if pics is not None and str(pics).strip():
        try:
            expr = compile_expr(pics)
        except PicsError as e:
            bad(str(e), "use the items of osgpct/pics.py ITEMS with and/or/not, ==, !=, <, >, parentheses")
    from osgpct.plan import Pixit  # here, not at the top: the plan module is heavier than this one

    known = {f for f in Pixit.__dataclass_fields__}
    if isinstance(pixit, str):
        bad("pixit is a single string", "give a list: pixit=['seq_window']")
    for p in pixit:
        if p not in known:
            from osgpct.pics import suggest

            bad(f"unknown PIXIT {p!r}{suggest(p, known)}", "use the PIXIT names of docs/testplan.md")
    return CaseMeta(id=id, title=title.strip(), purpose=purpose or "", requirements=reqs,
                    pics=expr.text if expr else "", pixit=tuple(pixit), initial=initial or "",
                    steps=_steps(steps, bad), timing=bool(timing), is_usecase=is_usecase, area=area,
                    group=group, kind=kind, location=where, expr=expr)


def testcase(*, id: str, title: str, purpose: str, requirements: Iterable[str], pics: str | None = None,
             pixit: Iterable[str] = (), initial: str = "", steps: Iterable[Any] = (),
             timing: bool = False) -> Callable[[F], F]:
    """Declare a conformance test case (see the module docstring). The function is returned unchanged."""

    def apply(fn: F) -> F:
        fn.osgp_meta = _declare(fn, id=id, title=title, purpose=purpose, requirements=requirements,  # type: ignore[attr-defined]
                                pics=pics, pixit=pixit, initial=initial, steps=steps, timing=timing,
                                is_usecase=False)
        return fn

    return apply


def usecase(*, id: str, title: str, purpose: str = "", requirements: Iterable[str] = (), pics: str | None = None,
            pixit: Iterable[str] = (), initial: str = "", steps: Iterable[Any] = (),
            timing: bool = False) -> Callable[[F], F]:
    """Declare an end-to-end use case (UC_<NAME>); same shape and verdicts as a test case."""

    def apply(fn: F) -> F:
        fn.osgp_meta = _declare(fn, id=id, title=title, purpose=purpose, requirements=requirements,  # type: ignore[attr-defined]
                                pics=pics, pixit=pixit, initial=initial, steps=steps, timing=timing,
                                is_usecase=True)
        return fn

    return apply


testcase.__test__ = False  # type: ignore[attr-defined]  # pytest must not collect the decorator itself


# ---- reading metadata without running (osgpct list) ----------------------------------------------


def _import_file(path: Path) -> Any:
    """Import a test module the way pytest's default (prepend) import mode does."""
    path = path.resolve()
    root, parts = path.parent, [path.stem]
    while (root / "__init__.py").is_file():
        parts.insert(0, root.name)
        root = root.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    name = ".".join(parts)
    try:
        return importlib.import_module(name)
    except DefinitionError:
        raise
    except Exception as e:
        raise DefinitionError(f"{path}: cannot import: {type(e).__name__}: {e}") from None


def _collectable(module: Any) -> Iterator[tuple[str, Any]]:
    """The functions pytest would collect: test* at module level and in Test* classes."""
    for name, obj in vars(module).items():
        if name.startswith("test") and callable(obj):
            yield name, obj
        elif name.startswith("Test") and isinstance(obj, type):
            yield from ((n, o) for n, o in vars(obj).items() if n.startswith("test") and callable(o))


def catalogue_of_testcases(paths: Iterable[str | Path]) -> list[CaseMeta]:
    """Every test case and use case under `paths` (files or directories), test cases first, by id."""
    found: dict[str, CaseMeta] = {}
    for path in map(Path, paths):
        if not path.exists():
            continue
        files = [path] if path.is_file() else sorted(
            p for p in path.rglob("*.py") if p.name.startswith("test_") or p.name.endswith("_test.py"))
        for file in files:
            for _, obj in _collectable(_import_file(file)):
                meta = meta_of(obj)
                if meta is None:
                    continue
                other = found.setdefault(meta.id, meta)
                if other.location != meta.location:
                    raise DefinitionError(f"{meta.location}: id {meta.id} is already used at {other.location} "
                                          "(fix: give each test case its own id)")
    return sorted(found.values(), key=lambda m: (m.is_usecase, m.id))


# ---- the verdict recorder (the `tc` fixture) -----------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One check of a requirement: what the test case saw and the verdict the grade gave it."""

    requirement: str
    passed: bool
    verdict: Verdict  # PASS, or the graded verdict of the failed check
    reason: str = ""
    step: int | None = None
    deviation: bool = False  # a failed check of an unconfirmed (inferred/design) rule, not a FAIL


@dataclass(frozen=True)
class Context:
    """What a case run needs of its campaign: the verdict policy and who judges each requirement."""

    strict: bool = False
    judged_by: Mapping[str, Sequence[str]] = field(default_factory=dict)  # requirement -> case ids


#: The requirement a DUT answer breaks when it does not authenticate or decode (DutProtocolError).
BROKEN_BY: Mapping[str, str] = {
    "ResponseNotAuthentic": "REQ-SEC-003",  # the response digest does not verify against its request
    "UnencryptedResponse": "REQ-SEC-017",  # an encrypted request answered in clear
    "MalformedResponse": "REQ-APP-015",
}


def broken_requirement(exc: BaseException) -> str:
    """The requirement a DutProtocolError stands for: its cause first (the session wraps the security
    profile's error), then along the class hierarchy."""
    if getattr(exc, "field", "") == "sequence number":
        return "REQ-SEC-011"  # a 0x0C without a well-formed sequence number
    for e in (exc.__cause__, exc):
        for cls in type(e).__mro__ if e is not None else ():
            if cls.__name__ in BROKEN_BY:
                return BROKEN_BY[cls.__name__]
    return "REQ-APP-015"


def graded_verdict(requirement_id: str, reason: str, *, strict: bool) -> tuple[Verdict, str, bool]:
    """The verdict of a failed check of `requirement_id`, its reason (grade and source appended), and
    whether it is a deviation from an unconfirmed rule. The one place where grade becomes verdict."""
    from osgpct.catalogue import requirement

    r = requirement(requirement_id)
    if r.grade == "stated":
        return Verdict.FAIL, f"{reason} [{r.id}, stated: {r.at}]", False
    if r.grade == "ambiguous":
        how = f"PIXIT {r.pixit}" if r.pixit else f"accepted readings: {'; '.join(r.readings)}"
        return Verdict.FAIL, f"{reason} [{r.id}, ambiguous; {how}]", False
    if strict:
        return Verdict.FAIL, f"{reason} [{r.id}, {r.grade}; FAIL under the strict policy]", False
    return (Verdict.INCONC, f"deviation from an unconfirmed rule ({r.id}, {r.grade}: no source states it): "
            f"{reason}", True)


class StopCase(BaseException):
    """Ends a test body once its verdict is recorded (fail, inconc, require, check(stop=True)).

    A BaseException, so that an `except Exception` in a test body cannot swallow it."""


class CaseTimeout(BaseException):
    """The test body ran past its bound (pixit.test_timeout_s or --osgp-timeout)."""

    def __init__(self, bound: float) -> None:
        super().__init__(f"test exceeded {bound:g} s")
        self.bound = bound


@dataclass
class StepRecord:
    n: int
    title: str
    expected: str = ""
    verdict: Verdict = Verdict.NOT_RUN
    reasons: list[str] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)  # evidence: frame numbers given by the frame sink
    observations: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


class CaseRun:
    """The running record of one test case or use case: its verdict, steps, evidence and notes."""

    def __init__(self, meta: CaseMeta, *, case_id: str | None = None, seed: int = 0,
                 pics: Mapping[str, PicsValue] | None = None, context: Context | None = None) -> None:
        self.meta = meta
        self.context = context or Context()
        self.findings: list[Finding] = []
        self.unattributed = Verdict.PASS  # worst verdict recorded other than by a check of a requirement
        self.id = case_id or meta.id
        self.verdict = Verdict.NOT_RUN
        self.events: list[tuple[Verdict, str]] = []
        self.steps: list[StepRecord] = []
        self.observations: list[str] = []
        self.frames: list[int] = []
        self.pics: Mapping[str, PicsValue] = pics or {}
        self.pics_observed: dict[str, Observed] = {}
        self.duration = 0.0
        self.exchanges = 0
        self.preset = False  # the verdict was set before running (NA, NOT RUN, a definition ERROR)
        #: Deterministic per campaign seed and case: fuzz values are reproducible with --seed.
        self.rng = random.Random(f"{seed}/{self.id}")
        self._current: StepRecord | None = None
        self._deadline: float | None = None
        self._bound: float | None = None
        self._timeout: CaseTimeout | None = None
        self._handled: list[BaseException] = []

    # ---- lifecycle (driven by the plugin) ------------------------------------------------------

    def set_outcome(self, verdict: Verdict, reason: str) -> None:
        """Set NA, NOT RUN (or ERROR for a broken definition) before anything runs."""
        self.verdict, self.events, self.preset = verdict, [(verdict, reason)], True

    def begin(self, bound: float | None = None) -> None:
        """The test starts now; `bound` seconds (wall clock) is its allowance, None for no bound."""
        self.verdict = self.verdict.worsen(Verdict.PASS)
        self._bound = bound
        self._deadline = time.monotonic() + bound if bound else None

    def finish(self) -> None:
        """Close the record: declared steps that never ran are listed as NOT RUN."""
        ran = {s.n for s in self.steps}
        for spec in self.meta.steps:
            if spec.n not in ran:
                self.steps.append(StepRecord(spec.n, spec.title, spec.expected, Verdict.NOT_RUN))
        self.steps.sort(key=lambda s: s.n)

    @property
    def reason(self) -> str:
        """Why the verdict is what it is: the reasons recorded at the final verdict."""
        return "; ".join(text for v, text in self.events if v == self.verdict and text)

    @property
    def current_step(self) -> int | None:
        return self._current.n if self._current else None

    def add_frame(self, n: int) -> None:
        """Evidence: frame number `n` (its packet number in trace.pcap) belongs to this case and step."""
        self.frames.append(n)
        if self._current is not None:
            self._current.frames.append(n)

    # ---- the API of test bodies ----------------------------------------------------------------

    @contextlib.contextmanager
    def step(self, n: int, title: str | None = None, expected: str | None = None) -> Iterator[StepRecord]:
        """Run step `n`; title and expected result default to the declared step `n`."""
        self.check_deadline()
        if self._current is not None:
            raise RuntimeError(f"step {n} started inside step {self._current.n}: steps do not nest")
        spec = self.meta.step_spec(n)
        if title is None and spec is None:
            raise RuntimeError(f"step {n} is not declared in the metadata of {self.id} and has no title")
        record = StepRecord(n, title if title is not None else spec.title,  # type: ignore[union-attr]
                            expected if expected is not None else (spec.expected if spec else ""), Verdict.PASS)
        self.steps.append(record)
        self._current = record
        try:
            yield record
        except GeneratorExit:
            raise
        except BaseException as e:
            self.on_exception(e)
            raise
        finally:
            self._current = None

    def check(self, condition: object, reason: str, *, req: str | None = None, stop: bool = False) -> bool:
        """Judge requirement `req` (see the module docstring): a failed check gets the verdict of the
        requirement's grade, for this step and the case; go on unless `stop`."""
        self.check_deadline()
        if condition:
            if req is not None or len(self.meta.requirements) == 1:
                self.findings.append(Finding(self._requirement(req), True, Verdict.PASS, step=self.current_step))
            return True
        self._judge(self._requirement(req), reason)
        if stop:
            raise StopCase(reason)
        return False

    def _requirement(self, req: str | None) -> str:
        reqs = self.meta.requirements
        if req is None:
            if len(reqs) == 1:
                return reqs[0]
            raise CheckDefinitionError(f"a check of {self.id} names no requirement and the case names "
                                       f"{len(reqs)}: give req= one of {', '.join(reqs) or '(none)'}")
        if req not in reqs:
            raise CheckDefinitionError(f"a check of {self.id} names {req}, which the case does not list "
                                       f"(requirements: {', '.join(reqs)})")
        return req

    def _judge(self, rid: str, reason: str) -> None:
        verdict, text, deviation = graded_verdict(rid, reason, strict=self.context.strict)
        self.findings.append(Finding(rid, False, verdict, text, self.current_step, deviation))
        self._record(verdict, text)

    def require(self, condition: object, reason: str) -> None:
        """INCONC and stop unless `condition` holds: a precondition the DUT did not give us."""
        self.check_deadline()
        if not condition:
            self.record(Verdict.INCONC, reason)
            raise StopCase(reason)

    def fail(self, reason: str, *, req: str | None = None) -> NoReturn:
        """A failed check of `req` (graded as in :meth:`check`), and stop."""
        self._judge(self._requirement(req), reason)
        raise StopCase(reason)

    def inconc(self, reason: str) -> NoReturn:
        self.record(Verdict.INCONC, reason)
        raise StopCase(reason)

    def observe(self, text: str) -> None:
        """A note for the report; it does not change the verdict."""
        self.check_deadline()
        note = f"step {self._current.n}: {text}" if self._current else text
        self.observations.append(note)
        if self._current:
            self._current.observations.append(text)

    def observe_pics(self, bt00_value: Any) -> list[Mismatch]:
        """Record what the DUT's BT00 shows of its PICS; mismatches with the declaration become notes."""
        observed = observe_pics(bt00_value)
        self.pics_observed.update(observed)
        mismatches = compare(self.pics, observed)
        for m in mismatches:
            self.observe(f"PICS mismatch: {m}")
        return mismatches

    def on_exchange(self, exchange: Any) -> None:
        """Listener for Session.on_exchange: a body that keeps talking to the DUT stops here once out of time."""
        self.exchanges += 1
        self.check_deadline()

    def check_deadline(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            self.expire()

    def expire(self) -> None:
        """The bound is over: raise CaseTimeout in the body. Its clean-up then gets one more bound of time;
        a body still talking to the DUT after that (or one where the first raise was lost, e.g. swallowed)
        is stopped again at its next exchange, so a case can never keep the campaign for ever."""
        if self._timeout is None:
            self._timeout = CaseTimeout(self._bound or 0.0)
        self._deadline = time.monotonic() + (self._bound or 0.0)
        raise self._timeout

    def overran(self, seconds: float) -> None:
        """The body returned, but after its bound (it swallowed the timeout, or nothing could interrupt it)."""
        if self._timeout is None:
            self._timeout = CaseTimeout(self._bound or 0.0)
        self.on_exception(self._timeout)

    # ---- verdicts from exceptions --------------------------------------------------------------

    def on_exception(self, exc: BaseException) -> None:
        """Record the verdict an exception escaping the body (or a step, or a fixture) stands for."""
        if isinstance(exc, StopCase) or any(exc is h for h in self._handled):
            return
        self._handled.append(exc)
        if isinstance(exc, CaseTimeout):
            self.record(Verdict.ERROR, f"{exc} (pixit.test_timeout_s / --osgp-timeout)")
        elif isinstance(exc, DeviceTimeout):
            if self.meta.timing:
                self.record(Verdict.FAIL, f"the DUT did not answer in time: {exc}")
            else:
                self.record(Verdict.INCONC, f"no answer from the DUT within the bounds: {exc}")
        elif isinstance(exc, NotJudged):
            self.record(Verdict.INCONC, str(exc))
        elif isinstance(exc, DutProtocolError):
            self._protocol_error(exc)
        elif isinstance(exc, KeyboardInterrupt):
            self.record(Verdict.ERROR, "interrupted")
        else:
            self.record(Verdict.ERROR, f"test system error: {describe_exception(exc)}")

    def _protocol_error(self, exc: DutProtocolError) -> None:
        """One defect, one FAIL: judged here only when this case names the requirement it breaks."""
        rid = broken_requirement(exc)
        if rid in self.meta.requirements:
            self._judge(rid, f"the DUT's answer breaks the protocol: {exc}")
            return
        judges = [c for c in self.context.judged_by.get(rid, ()) if c != self.meta.id]
        where = f"judged by {', '.join(judges)}" if judges else "no selected test case judges it"
        self.record(Verdict.INCONC, f"the DUT broke {rid} outside this case's requirements ({exc}); {where}")

    def record(self, verdict: Verdict, reason: str) -> None:
        """Worsen the verdict of the case (and of the running step) with a reason, without stopping.
        A verdict recorded here judges no requirement in particular (preconditions, timeouts, ERROR)."""
        self.unattributed = self.unattributed.worsen(verdict)
        self._record(verdict, reason)

    def _record(self, verdict: Verdict, reason: str) -> None:
        step = self._current
        self.verdict = self.verdict.worsen(verdict)
        if step is not None:
            step.verdict = step.verdict.worsen(verdict)
            step.reasons.append(reason)
        self.events.append((verdict, f"step {step.n}: {reason}" if step else reason))


def describe_exception(exc: BaseException) -> str:
    """'TypeError: message (at file.py:12)': the innermost frame, without a traceback."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        text += f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})"
    return text
