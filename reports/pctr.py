"""The Protocol Conformance Test Report (PCTR), in ISO/IEC 9646 section order, as HTML and PDF.

`build(results)` lays the report out once as a Document; `render_html` and `render_pdf` print that
same document, so the two files cannot disagree. `write_reports` writes results.json, pctr.html and
pctr.pdf; `cli_report` re-renders them from a stored results.json.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from osgp.errors import ConfigError
from osgp.secret import Secret
from osgpct.reports.document import Document, Fields, Heading, Items, Para, Section, Table, spaced_hex
from osgpct.reports.model import VERDICTS, CaseResult, Results
from osgpct.reports.pdf import render_pdf
from osgpct.reports.redact import Redactor
from osgpct.reports.verdicts import Verdict

RESULTS, HTML, PDF = "results.json", "pctr.html", "pctr.pdf"
SECTION_IDS = ("sec-identification", "sec-environment", "sec-limits", "sec-status", "sec-static",
               "sec-dynamic", "sec-campaign", "sec-usecases", "sec-traceability", "sec-observations",
               "sec-annex-a")
SHOW_SECRETS_BANNER = ("Rendered with --show-secrets: this report may contain key material. "
                       "Do not distribute it.")


@cache
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(doc: Document) -> str:
    return _env().get_template("document.html.j2").render(doc=doc)


def verdict_sentence(label: str, counts: dict[Verdict, int]) -> str:
    """'Test cases by verdict: PASS 14, FAIL 2, ... (total 20).' Same words in HTML and PDF."""
    parts = ", ".join(f"{v.value} {n}" for v, n in counts.items())
    return f"{label} by verdict: {parts} (total {sum(counts.values())})."


# ---- the PCTR layout ---------------------------------------------------------------------------


def build(r: Results, show_secrets: bool = False) -> Document:
    c, d = r.campaign, r.dut
    status = r.status()
    sections = [
        Section("sec-identification", "1", "Identification summary", _identification(r)),
        Section("sec-environment", "2", "Testing environment", _environment(r)),
        Section("sec-limits", "3", "Limits and reservations", _limits(r, show_secrets)),
        Section("sec-status", "4", "DUT conformance status",
                [Para(f"{status.label}. {status.statement}", "status-" + status.label.replace(" ", "_"))]),
        Section("sec-static", "5", "Static conformance summary (PICS)", _static(r)),
        Section("sec-dynamic", "6", "Dynamic conformance summary", _dynamic(r)),
        Section("sec-campaign", "7", "Campaign: test case results", _campaign(r)),
        Section("sec-usecases", "8", "Use case results", _usecases(r)),
        Section("sec-traceability", "9", "Traceability matrix", _traceability(r)),
        Section("sec-observations", "10", "Observations", _observations(r)),
        Section("sec-annex-a", "A", "Frames of FAIL and INCONC steps", _annex(r)),
    ]
    dut = " ".join(x for x in (d.manufacturer, d.model) if x) or "unidentified DUT"
    return Document(
        title="Protocol Conformance Test Report - OSGP (ETSI TS 104 001)",
        subtitle=f"{c.title} | {dut}, firmware {d.firmware or 'unknown'} | report {c.report_id} | "
                 f"{status.label}",
        report_id=c.report_id, sections=sections, date=c.finished or c.started,
        banner=SHOW_SECRETS_BANNER if show_secrets else "")


POLICY_TEXT = {
    "default": "default: FAIL only where a source states the rule (grade stated, or ambiguous outside every "
               "accepted reading); departures from inferred or design rules are deviations (INCONC)",
    "strict": "STRICT (asked for by the plan): departures from inferred or design rules, which no source "
              "states, are FAIL as well",
}


def _duration(start: str, end: str) -> str:
    try:
        s = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (ValueError, TypeError):
        return "unknown"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def _identification(r: Results) -> list:
    c, d = r.campaign, r.dut
    key = {"lab": "lab key", "generated": "key generated for this campaign (proves integrity, not origin)"}
    rows = [
        ("Report id", c.report_id), ("Title", c.title),
        ("Test laboratory", ", ".join(x for x in (c.lab.name, c.lab.address) if x) or "-"),
        ("Accreditation", c.lab.accreditation or "-"), ("Client", c.client or "-"),
        ("Operator", c.operator or "-"),
        ("Campaign", f"{c.started} to {c.finished} ({_duration(c.started, c.finished)})"),
        ("DUT manufacturer", d.manufacturer or "-"), ("DUT model", d.model or "-"),
        ("DUT serial number", d.serial or "-"), ("DUT firmware version", d.firmware or "-"),
        ("DUT hardware version", d.hardware or "-"), ("DUT Neuron ID", d.neuron_id or "-"),
        *((f"DUT {k}", v) for k, v in d.extra.items()),
        ("Test tool", f"osgp-conformance {c.tool_version or '?'} (commit {c.tool_commit or 'unknown'})"),
        ("Test plan", c.plan_file or "-"), ("Test plan SHA-256", c.plan_sha256 or "-"),
        ("Seed", "-" if c.seed is None else str(c.seed)),
        ("Verdict policy", POLICY_TEXT.get(c.strictness, c.strictness)),
        ("Evidence bundle", "manifest.json + manifest.sig (Ed25519); check with `osgpct verify DIR`"),
        ("Signing public key", f"{c.public_key or 'not signed'}"
         + (f" ({key[c.key_source]})" if c.key_source in key else "")),
    ]
    return [Fields(rows)]


def _environment(r: Results) -> list:
    c = r.campaign
    rows = [("Target", c.target or "-"), *((f"Driver: {k}", v) for k, v in c.driver.items())]
    rows += [(f"Modem: {k}", v) for k, v in c.modem.items()] or [("Modem", "not known to the driver")]
    if c.channel:
        rows += [("Predicted duration on power line", f"{c.channel.predicted_s:.1f} s"),
                 ("of which airtime", f"{c.channel.airtime_s:.1f} s")]
    return [Fields(rows)]


def _limits(r: Results, show_secrets: bool) -> list:
    text = [
        "Verdicts hold for the selected test cases, against the DUT identified in section 1, "
        "in the environment of section 2; they do not certify behaviour outside them.",
        "The full text of ETSI TS 104 001 was not available to the authors of the suite: where the "
        "behaviour is not confirmed by a readable source the suite uses the assumptions below "
        "(overridable by PIXIT), and a test depending on one says so in its reason.",
        *r.reservations,
    ]
    if show_secrets:
        text.append(SHOW_SECRETS_BANNER)
    na = r.counts()[Verdict.NA]
    if na:
        text.append(f"{na} test cases were not applicable to the DUT's PICS and were not run.")
    for why, cases in r.inconclusive().items():
        text.append(f"{len(cases)} could not be judged: {why}: " + "; ".join(f"{c.id} ({c.reason})" for c in cases))
    rows = [[a.id, a.title, a.value, a.pixit or "-", a.basis, ", ".join(a.used_in)] for a in r.assumptions]
    return [Items(text), Heading("Assumptions register"),
            Table(["Id", "Assumption", "Value used", "PIXIT", "Basis", "Used in"], rows,
                  [11, 20, 21, 12, 24, 12], mono_cols=frozenset({0}), empty="no assumptions recorded")]


def _static(r: Results) -> list:
    mismatched = {m.item for m in r.pics_mismatches()}
    items = list(r.pics_declared) + [i for i in r.pics_observed if i not in r.pics_declared]
    rows = []
    for item in items:
        obs = r.pics_observed.get(item)
        declared = _v(r.pics_declared[item]) if item in r.pics_declared else "not declared"
        match = ("MISMATCH" if item in mismatched else "not observed" if obs is None
                 else "undeclared" if item not in r.pics_declared else "agrees")
        rows.append([item, declared, _v(obs.value) if obs else "-", obs.source if obs else "-", match])
    n = len(mismatched)
    return [Para(f"{len(r.pics_declared)} PICS items declared, {len(r.pics_observed)} observed on the DUT, "
                 f"{n} mismatch{'es' if n != 1 else ''}."),
            Table(["PICS item", "Declared", "Observed", "Observed in", "Result"], rows, [26, 16, 16, 26, 16],
                  verdict_cols=frozenset({4}), mono_cols=frozenset({0}), empty="no PICS declared")]


def _v(value: object) -> str:
    return "yes" if value is True else "no" if value is False else str(value)


def _dynamic(r: Results) -> list:
    tc, uc = r.counts(), r.counts(r.use_cases)
    by_area = r.counts_by_area()
    rows = [[a, *(str(n[v]) for v in VERDICTS), str(sum(n.values()))] for a, n in by_area.items()]
    rows.append(["all", *(str(tc[v]) for v in VERDICTS), str(sum(tc.values()))])
    return [
        Para(verdict_sentence("Test cases", tc)),
        Para(verdict_sentence("Use cases", uc)),
        Table(["Verdict", "Test cases", "Use cases"], [[v.value, str(tc[v]), str(uc[v])] for v in VERDICTS],
              [40, 30, 30], verdict_cols=frozenset({0})),
        Heading("Test cases by area"),
        Table(["Area", *(v.value for v in VERDICTS), "Total"], rows, [16, *(12,) * len(VERDICTS), 12]),
    ]


def _case_rows(r: Results, cases: Iterable[CaseResult]) -> tuple[list[list[str]], list[str]]:
    rows, ids = [], []
    for c in cases:
        reason = c.reason or "-"
        if c.verdict is Verdict.FAIL:  # every FAIL shows the source it rests on
            failed = dict.fromkeys(f.requirement for f in c.findings if f.verdict is Verdict.FAIL)
            reason += "".join(f" | {rid} {req.basis}" for rid in failed if (req := r.requirement(rid)))
        rows.append([c.id, c.title, ", ".join(c.requirements) or "-", c.verdict.value, reason,
                     f"{c.duration_s:.2f}"])
        ids.append("tc-" + c.id)
    return rows, ids


def _campaign(r: Results) -> list:
    rows, ids = _case_rows(r, r.test_cases)
    return [Table(["Test case", "Title", "Requirements", "Verdict", "Reason", "Time (s)"], rows,
                  [21, 22, 15, 9, 25, 8], verdict_cols=frozenset({3}), mono_cols=frozenset({0}),
                  row_ids=ids, empty="no test case was run")]


def _usecases(r: Results) -> list:
    rows, ids = _case_rows(r, r.use_cases)
    rows_ids = [i.replace("tc-", "uc-", 1) for i in ids]
    steps = [[c.id, str(s.n), s.title, s.verdict.value, s.reason or "-"]
             for c in r.use_cases for s in c.steps]
    return [Table(["Use case", "Title", "Requirements", "Verdict", "Reason", "Time (s)"], rows,
                  [21, 22, 15, 9, 25, 8], verdict_cols=frozenset({3}), mono_cols=frozenset({0}),
                  row_ids=rows_ids, empty="no use case was run"),
            Heading("Use case steps"),
            Table(["Use case", "Step", "Action", "Verdict", "Reason"], steps, [22, 6, 36, 10, 26],
                  verdict_cols=frozenset({3}), mono_cols=frozenset({0}), empty="no steps recorded")]


def _traceability(r: Results) -> list:
    rows, ids = [], []
    for row in r.traceability():
        req = row.requirement
        covered = ", ".join(f"{cid} {v.value}" for cid, v in row.cases)
        if row.steps:
            covered += "; failed checks: " + ", ".join(row.steps)
        if not req.testable:
            result = "not testable"
        elif not row.cases:
            result = "UNCOVERED"
        else:
            result = row.label
        kind = req.kind + (f" ({req.condition})" if req.condition else "")
        if req.assumptions:
            kind += "; " + ", ".join(req.assumptions)
        rows.append([req.id, req.text, kind, req.basis, covered or "-", result])
        ids.append("req-" + req.id)
    uncovered = [f"{q.id}: {q.text} ({q.source})" for q in r.uncovered()]
    untestable = [[q.id, q.text, q.reason or "no reason given"] for q in r.requirements if not q.testable]
    blocks = [
        Para(f"{len(r.requirements)} requirements: {len(r.requirements) - len(untestable) - len(uncovered)} "
             f"covered, {len(uncovered)} uncovered, {len(untestable)} not testable here."),
        Para("Each requirement's verdict comes from the checks that name it. Evidence: stated (quote and "
             "line of the source), ambiguous (the readings a conforming device may take, all accepted), "
             "inferred or design (no source states it: a departure is a DEVIATION, not a FAIL, unless the "
             "verdict policy is strict)."),
        Table(["Requirement", "Paraphrase", "Kind", "Evidence", "Test cases and verdicts", "Result"], rows,
              [12, 24, 10, 24, 20, 10], verdict_cols=frozenset({5}), mono_cols=frozenset({0}), row_ids=ids,
              empty="no requirement catalogue recorded"),
        Heading("Uncovered requirements", "uncovered"), Items(uncovered or ["none"]),
        Heading("Requirements not testable here"),
        Table(["Requirement", "Paraphrase", "Why not"], untestable, [16, 42, 42], mono_cols=frozenset({0})),
    ]
    unknown = r.unknown_requirement_refs()
    if unknown:
        blocks += [Heading("References to requirements missing from the catalogue"),
                   Items([f"{cid} cites {rid}" for cid, rid in unknown])]
    return blocks


def _observations(r: Results) -> list:
    per_case = [[c.id, o] for c in [*r.test_cases, *r.use_cases] for o in c.observations]
    return [Heading("Campaign"), Items(r.observations or ["none"]), Heading("Per test case"),
            Table(["Case", "Observation"], per_case, [25, 75], mono_cols=frozenset({0}))]


def _annex(r: Results) -> list:
    evidence = r.evidence()
    blocks: list = [Para("Frames are numbered as in trace.pcap (open it in Wireshark: CN/IP over UDP). "
                         "Direction tx is tester to DUT, rx is DUT to tester.", "note")]
    if not evidence:
        blocks.append(Para("No FAIL or INCONC step: no frames to show."))
    for case, step, frames in evidence:
        where = f"step {step.n}: {step.title}" if step else "(no single step carries the verdict)"
        verdict = step.verdict if step else case.verdict
        reason = (step.reason if step else "") or case.reason
        blocks.append(Heading(f"{case.id} {where} - {verdict.value}",
                              f"ev-{case.id}-{step.n if step else 0}"))
        if step and step.expected:
            blocks.append(Para(f"Expected: {step.expected}"))
        blocks.append(Para(f"Verdict {verdict.value}: {reason or '-'}"))
        rows = [[str(f.n), f"{f.t:.3f}", f.direction, f.summary or "-", spaced_hex(f.hex)] for f in frames]
        blocks.append(Table(["No.", "t (s)", "Dir", "Decoded", "Frame (hex)"], rows, [7, 9, 5, 35, 44],
                            mono_cols=frozenset({0, 4}), empty="no frames were recorded for this step"))
    return blocks


# ---- writing and re-rendering ------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    html: str
    pdf: bytes


def as_stored(results: Results, secrets: Iterable[Secret | bytes] = (), show_secrets: bool = False) -> Results:
    """`results` exactly as results.json will hold it: type-checked (a wrong type from the caller is a
    ConfigError naming the field, not a crash inside a renderer), stray `Secret`s as "***" and every
    encoding of `secrets` scrubbed, unless show_secrets."""
    data = results.to_dict(show_secrets)
    if not show_secrets:
        data = Redactor(secrets).data(data)
    return Results.from_dict(data, "results")


def _render(stored: Results, show_secrets: bool) -> Rendered:
    doc = build(stored, show_secrets)
    return Rendered(render_html(doc), render_pdf(doc))


def render(results: Results, *, secrets: Iterable[Secret | bytes] = (),
           show_secrets: bool = False) -> Rendered:
    """Both PCTR files in memory. Keys in `secrets` are scrubbed unless show_secrets."""
    return _render(as_stored(results, secrets, show_secrets), show_secrets)


def write_reports(results: Results, out_dir: str | Path, *, secrets: Iterable[Secret | bytes] = (),
                  show_secrets: bool = False) -> list[Path]:
    """results.json, pctr.html and pctr.pdf in out_dir (keys scrubbed from all three unless show_secrets)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stored = as_stored(results, secrets, show_secrets)
    rendered = _render(stored, show_secrets)
    paths = [stored.save(out / RESULTS, show_secrets), out / HTML, out / PDF]
    paths[1].write_text(rendered.html, encoding="utf-8")
    paths[2].write_bytes(rendered.pdf)
    return paths


def cli_report(directory: Path, out_dir: Path | None = None) -> int:
    """`osgpct report DIR`: re-render pctr.html and pctr.pdf from DIR/results.json.

    A signed bundle is evidence: its files are only rewritten when the new rendering is identical;
    otherwise the new report goes to out_dir (exit 3 asks for one).
    """
    directory = Path(directory)
    try:
        results = Results.load(directory / RESULTS)
        rendered = render(results)
    except ConfigError as e:
        print(f"osgpct report: {e}", file=sys.stderr)
        return 3
    target = Path(out_dir) if out_dir else directory
    new = {HTML: rendered.html.encode("utf-8"), PDF: rendered.pdf}
    if target.resolve() == directory.resolve() and (directory / "manifest.json").exists():
        changed = [n for n, b in new.items()
                   if not (directory / n).is_file() or (directory / n).read_bytes() != b]
        if changed:
            print(f"osgpct report: {directory} is a signed evidence bundle and the new rendering of "
                  f"{', '.join(changed)} differs from the signed copy; not overwritten. To re-render, copy "
                  f"{RESULTS} into another directory and run `osgpct report` there.", file=sys.stderr)
            return 3
        print(f"{directory}: {HTML} and {PDF} re-rendered, identical to the signed copies")
        return 0
    target.mkdir(parents=True, exist_ok=True)
    for name, data in new.items():
        (target / name).write_bytes(data)
    status = results.status()
    print(f"{target / HTML}\n{target / PDF}\n{results.campaign.report_id}: {status.label}; "
          + verdict_sentence("test cases", results.counts()))
    return 0
