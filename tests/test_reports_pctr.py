"""PCTR: every section, every test case with its verdict, same counts in HTML and PDF, escaping,
reproducible output, and `osgpct report DIR`."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from reports_fixtures import PLANTED, failing_campaign, passing_campaign

from osgpct.reports import finish_campaign
from osgpct.reports.model import VERDICTS, Results
from osgpct.reports.pctr import SECTION_IDS, cli_report, render, write_reports
from osgpct.reports.verdicts import Verdict

CAMPAIGNS = {"passing": passing_campaign, "failing": failing_campaign}


class _Html(HTMLParser):
    """Collects element ids, the section each one is in, rows by id with their cells, and text."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, str] = {}  # id -> enclosing section id
        self.rows: dict[str, list[tuple[str, str]]] = {}  # row id -> [(class, text)]
        self.section_text: dict[str, list[str]] = {}
        self._section = ""
        self._row: str | None = None
        self._cell: list[str] | None = None
        self._cell_class = ""
        self.script_tags = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.script_tags += 1
        if tag == "section":
            self._section = a.get("id", "")
        if "id" in a:
            self.ids[a["id"]] = self._section
        if tag == "tr" and "id" in a:
            self._row = a["id"]
            self.rows[self._row] = []
        if tag == "td" and self._row:
            self._cell, self._cell_class = [], a.get("class") or ""

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._row:
            self.rows[self._row].append((self._cell_class, "".join(self._cell)))
            self._cell = None
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        self.section_text.setdefault(self._section, []).append(data)

    def text(self, section: str) -> str:
        return " ".join(" ".join(self.section_text.get(section, [])).split())


@pytest.fixture(scope="module", params=sorted(CAMPAIGNS))
def rendered(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    finish_campaign(CAMPAIGNS[request.param](), out)
    parser = _Html()
    parser.feed((out / "pctr.html").read_text(encoding="utf-8"))
    return out, Results.load(out / "results.json"), parser


def test_every_section_is_present_in_order(rendered):
    out, _, html = rendered
    text = (out / "pctr.html").read_text(encoding="utf-8")
    positions = [text.index(f'<section id="{sid}">') for sid in SECTION_IDS]
    assert positions == sorted(positions)
    assert all(sid in html.ids for sid in SECTION_IDS)


def test_every_case_of_results_json_appears_with_its_verdict(rendered):
    _, results, html = rendered
    for prefix, section, cases in (("tc-", "sec-campaign", results.test_cases),
                                   ("uc-", "sec-usecases", results.use_cases)):
        for c in cases:
            row = html.rows[prefix + c.id]
            assert html.ids[prefix + c.id] == section
            assert row[0][1] == c.id
            verdict_cells = [(cls, text) for cls, text in row if "verdict" in cls.split()]
            assert verdict_cells == [(f"verdict v-{c.verdict.value.replace(' ', '_')}", c.verdict.value)]
    shown = {i.removeprefix("tc-") for i, s in html.ids.items() if s == "sec-campaign" and i.startswith("tc-")}
    assert shown == {c.id for c in results.test_cases}


def test_sections_carry_their_content(rendered):
    out, r, html = rendered
    ident = html.text("sec-identification")
    for value in (r.campaign.report_id, r.campaign.lab.name, r.campaign.client, r.campaign.operator,
                  r.dut.firmware, r.dut.neuron_id, r.campaign.tool_commit, r.campaign.plan_sha256,
                  r.campaign.public_key):
        assert value in ident
    limits = html.text("sec-limits")
    assert all(a.id in limits for a in r.assumptions) and len(r.assumptions) > 0
    assert r.status().label in html.text("sec-status")
    assert html.rows[f"req-{PLANTED['uncovered']}"][-1] == ("verdict v-FAIL", "UNCOVERED")
    assert PLANTED["uncovered"] in html.text("sec-traceability").split("Uncovered requirements")[1]
    assert r.observations[0] in html.text("sec-observations")
    assert "driver" in html.text("sec-environment") and r.campaign.target in html.text("sec-environment")


@pytest.fixture(scope="module")
def failing_render():
    return render(failing_campaign())


def _light(make=failing_campaign) -> Results:
    """A campaign with a short assumptions register: PDF layout is the slow part of these tests."""
    r = make()
    r.assumptions = r.assumptions[:2]
    return r


def test_static_summary_shows_the_planted_mismatch(failing_render):
    html = _Html()
    html.feed(failing_render.html)
    static = html.text("sec-static")
    assert "1 mismatch." in static and f"{PLANTED['mismatch']} yes no BT00 tables-used MISMATCH" in static


def test_annex_a_shows_the_frames_of_every_fail_and_inconc_step(rendered):
    _, r, html = rendered
    annex = html.text("sec-annex-a")
    evidence = r.evidence()
    if r.campaign.report_id == passing_campaign().campaign.report_id:
        assert evidence == [] and "no frames to show" in annex
        return
    assert len(evidence) == 4
    for case, step, frames in evidence:
        assert f"ev-{case.id}-{step.n}" in html.ids
        for f in frames:
            assert f" {f.n} " in f" {annex} " and f.hex[:6] in annex.replace(" ", "")


def test_markup_in_device_data_is_escaped(failing_render):
    out = failing_render.html
    html = _Html()
    html.feed(out)
    assert html.script_tags == 0
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Zähler — Ω" in out
    assert PLANTED["hostile"] in html.text("sec-identification")


def test_html_is_self_contained_and_print_friendly(rendered):
    text = (rendered[0] / "pctr.html").read_text(encoding="utf-8")
    assert not re.search(r'<(link|script|img)\b|src=|@import|url\(', text)
    assert "@media print" in text and "break-inside: avoid" in text and "table-header-group" in text


def test_rendering_is_reproducible(failing_render):
    again = render(failing_campaign())
    assert again.html == failing_render.html and again.pdf == failing_render.pdf


def _pdftotext(path, *options: str) -> str:
    exe = shutil.which("pdftotext")
    if not exe:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run([exe, *options, str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_pdf_has_the_same_sections_and_counts(rendered):
    out, r, _ = rendered
    assert (out / "pctr.pdf").read_bytes().startswith(b"%PDF")
    text = " ".join(_pdftotext(out / "pctr.pdf").split())
    m = re.search(r"Test cases by verdict: (.*?) \(total (\d+)\)", text)
    assert m, "verdict counts sentence missing from the PDF"
    counts = dict(re.findall(r"(PASS|FAIL|INCONC|ERROR|NA|NOT RUN) (\d+)", m.group(1)))
    assert {k: int(v) for k, v in counts.items()} == {v.value: n for v, n in r.counts().items()}
    assert int(m.group(2)) == len(r.test_cases)
    for title in ("1 Identification summary", "3 Limits and reservations", "4 DUT conformance status",
                  "9 Traceability matrix", "Annex A: Frames of FAIL and INCONC steps"):
        assert title in text
    pages = re.findall(r"page (\d+) of (\d+)", text)
    assert pages and all(total == pages[0][1] for _, total in pages)
    assert [int(n) for n, _ in pages] == list(range(1, int(pages[0][1]) + 1))
    for c in r.test_cases:
        assert c.id in text


def test_pdf_repeats_table_headers_on_each_page(tmp_path):
    r = _light()
    r.test_cases *= 6  # a campaign table longer than one page
    (tmp_path / "pctr.pdf").write_bytes(render(r).pdf)
    pages = _pdftotext(tmp_path / "pctr.pdf", "-layout").split("\f")
    row = re.compile(r"^TC_\w+ +\S.*? +REQ-[A-Z]+-\d+.*? (PASS|FAIL|INCONC|ERROR|NA) ", re.M)
    campaign_pages = [p for p in pages if row.search(p)]
    assert len(campaign_pages) >= 2
    assert sum(len(row.findall(p)) for p in campaign_pages) == len(r.test_cases)  # no row lost or cut
    assert all(re.search(r"^Test case +Title +Requirements +Verdict +Reason", p, re.M) for p in campaign_pages)


def test_pdf_survives_oversized_text(tmp_path):
    r = _light()
    r.test_cases[0].reason = "x " * 20000  # a row taller than a page would make fpdf2 refuse
    r.frames[0].hex = "ab" * 4000
    r.test_cases[0].verdict = r.test_cases[0].steps[0].verdict = Verdict.FAIL
    assert render(r).pdf.startswith(b"%PDF")


def test_cli_report_rerenders_identically_into_a_signed_bundle(rendered, capsys):
    out = rendered[0]
    before = {n: (out / n).read_bytes() for n in ("pctr.html", "pctr.pdf")}
    assert cli_report(out) == 0
    assert "identical to the signed copies" in capsys.readouterr().out
    assert {n: (out / n).read_bytes() for n in before} == before


def test_cli_report_refuses_to_overwrite_signed_evidence_with_a_different_rendering(tmp_path, capsys):
    finish_campaign(_light(passing_campaign), tmp_path)
    (tmp_path / "pctr.html").write_text("older rendering", encoding="utf-8")
    assert cli_report(tmp_path) == 3
    assert "differs from the signed copy" in capsys.readouterr().err
    assert (tmp_path / "pctr.html").read_text(encoding="utf-8") == "older rendering"
    assert cli_report(tmp_path, tmp_path / "new") == 0
    assert (tmp_path / "new" / "pctr.pdf").is_file()


def test_cli_report_renders_an_unsigned_directory_and_reports_bad_input(tmp_path, capsys):
    _light().save(tmp_path / "results.json")
    assert cli_report(tmp_path) == 0
    assert (tmp_path / "pctr.html").is_file() and (tmp_path / "pctr.pdf").is_file()
    assert "NOT CONFORMING" in capsys.readouterr().out
    assert cli_report(tmp_path / "nowhere") == 3
    (tmp_path / "results.json").write_text('{"schema": "osgpct-results/1"}', encoding="utf-8")
    assert cli_report(tmp_path) == 3
    err = capsys.readouterr().err
    assert "results.json" in err and "missing key 'campaign'" in err and "Traceback" not in err


def test_write_reports_writes_the_three_files(tmp_path):
    paths = write_reports(_light(passing_campaign), tmp_path)
    assert [p.name for p in paths] == ["results.json", "pctr.html", "pctr.pdf"]
    assert Results.load(paths[0]).counts()[Verdict.PASS] == 18


def test_verdict_order_is_the_report_order():
    assert [v.value for v in VERDICTS] == ["PASS", "FAIL", "INCONC", "ERROR", "NA", "NOT RUN"]


def test_a_caller_type_error_is_a_config_error_naming_the_field(tmp_path):
    from osgp.errors import ConfigError
    from osgp.secret import Secret

    r = _light()
    r.campaign.driver["key"] = Secret(bytes(range(16)))  # type: ignore[assignment]
    assert "Secret(" not in render(r).html and bytes(range(16)).hex() not in render(r).html
    r.campaign.seed = "1234"  # type: ignore[assignment]
    with pytest.raises(ConfigError, match=r"campaign\.seed"):
        write_reports(r, tmp_path)
    assert not (tmp_path / "results.json").exists()


def test_every_fail_shows_its_grade_and_source_and_the_matrix_its_evidence(tmp_path):
    finish_campaign(failing_campaign(), tmp_path)
    html = _Html()
    html.feed((tmp_path / "pctr.html").read_text(encoding="utf-8"))
    cells = [text for _, text in html.rows["tc-TC_SEC_DIG_BI_01"]]
    assert any('"0x0B = Authentication failure" (MEP-DG:470)' in c for c in cells)  # stated, with the quote
    trace = [text for _, text in html.rows["req-REQ-APP-002"]]
    assert any(c.startswith("ambiguous: bytes from the offset") for c in trace)
    assert "Verdict policy" in html.text("sec-identification") and "default:" in html.text("sec-identification")


def test_the_strict_policy_is_printed_on_the_front_page(tmp_path):
    r = passing_campaign()
    r.campaign.strictness = "strict"
    finish_campaign(r, tmp_path)
    parser = _Html()
    parser.feed((tmp_path / "pctr.html").read_text(encoding="utf-8"))
    assert "STRICT (asked for by the plan)" in parser.text("sec-identification")
