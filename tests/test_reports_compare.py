"""Delta report: finds exactly the differences planted between the two synthetic campaigns."""

from __future__ import annotations

from reports_fixtures import PLANTED, failing_campaign, passing_campaign

from osgpct.reports.compare import cli_compare, compare, render_delta_html, render_text
from osgpct.reports.verdicts import Verdict


def test_compare_finds_the_planted_differences():
    d = compare(passing_campaign(), failing_campaign())
    assert d.dut[0] == ("firmware", *PLANTED["firmware"])
    assert {f for f, _, _ in d.dut} == {"firmware", "manufacturer"}
    assert {c.id for c in d.new_fails} == PLANTED["new_fails"]
    assert {c.id for c in d.new_passes} == PLANTED["new_passes"]
    assert {c.id for c in d.reasons} == PLANTED["changed_reason"]
    assert {c.id for c in d.added} == PLANTED["added"]
    assert {c.id for c in d.removed} == PLANTED["removed"]
    changed = {c.id: (c.old, c.new) for c in d.changed}
    assert changed == {
        "TC_SEC_DIG_BI_01": (Verdict.PASS, Verdict.FAIL), "TC_APP_PREAD_BV_02": (Verdict.PASS, Verdict.FAIL),
        "UC_DISCONNECT_RECONNECT": (Verdict.PASS, Verdict.FAIL),
        "TC_LNK_TMR_TI_01": (Verdict.PASS, Verdict.INCONC), "TC_PRC_RES_BV_02": (Verdict.PASS, Verdict.ERROR),
        "TC_SEC_AES_BV_01": (Verdict.NA, Verdict.PASS)}
    pics = {p.item: p for p in d.pics}
    assert set(pics) == PLANTED["pics_changed"]
    assert (pics["SEC.AES128"].old_declared, pics["SEC.AES128"].new_declared) == (False, True)
    assert (pics["TBL.ET11"].old_observed, pics["TBL.ET11"].new_observed) == (True, False)
    assert d.regression and not d.empty


def test_the_reverse_direction_is_an_improvement():
    d = compare(failing_campaign(), passing_campaign())
    assert not d.regression
    assert {c.id for c in d.new_passes} >= PLANTED["new_fails"] | {"TC_LNK_DUP_BV_02"}
    assert {c.id for c in d.removed} == PLANTED["added"]


def test_a_campaign_compared_with_itself_is_empty():
    d = compare(failing_campaign(), failing_campaign())
    assert d.empty and not d.regression and not d.new_fails and not d.new_passes


def test_text_and_html_renderings_name_the_differences():
    d = compare(passing_campaign(), failing_campaign())
    text = render_text(d)
    assert "DUT firmware: 2.0.3 -> 2.1.0-rc1" in text and "REGRESSION" in text
    assert "TC_SEC_DIG_BI_01" in text and "PASS -> FAIL" in text and "(absent)" in text
    html = render_delta_html(d)
    for sid in ("sec-summary", "sec-new-fails", "sec-new-passes", "sec-changed", "sec-reasons",
                "sec-added-removed", "sec-pics"):
        assert f'<section id="{sid}">' in html
    assert "<script>" not in html and "&lt;script&gt;" in html  # the hostile manufacturer name


def test_cli_compare(tmp_path, capsys, monkeypatch):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir(), new.mkdir()
    passing_campaign().save(old / "results.json")
    failing_campaign().save(new / "results.json")
    monkeypatch.chdir(tmp_path)
    assert cli_compare(old, new) == 1
    assert "New FAILs: 3" in capsys.readouterr().out
    assert (tmp_path / "delta.html").is_file() and not (new / "delta.html").exists()
    assert cli_compare(new, old, tmp_path / "back.html") == 0
    assert cli_compare(old / "results.json", old / "results.json") == 0  # files are accepted too
    assert cli_compare(old, tmp_path / "missing") == 3
    assert "no such file" in capsys.readouterr().err
