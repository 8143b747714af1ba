"""Self-tests of the requirement catalogue (osgpct/requirements/<AREA>.yaml) and its loader."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from osgp.assumptions import register
from osgp.errors import ConfigError
from osgpct import catalogue
from osgpct.catalogue import (
    AREAS,
    CatalogueError,
    Requirement,
    check_pics_expression,
    find_spec_dir,
    load_catalogue,
    quote_problems,
    requirement,
)

# --- the real catalogue ----------------------------------------------------------------------

def test_packaged_catalogue_loads_and_validates() -> None:
    reqs = load_catalogue()
    assert len(reqs) >= 120
    assert all(isinstance(r, Requirement) for r in reqs)
    assert len({r.id for r in reqs}) == len(reqs)


def test_packaged_catalogue_is_read_through_the_package_and_matches_the_files(tmp_path: Path) -> None:
    folder = Path(catalogue.__file__).with_name("requirements")
    joined = tmp_path / "all.yaml"
    joined.write_text("\n".join((folder / f"{a}.yaml").read_text(encoding="utf-8") for a in AREAS), encoding="utf-8")
    assert load_catalogue() == load_catalogue(joined)
    assert sorted(p.stem for p in folder.glob("*.yaml")) == sorted(AREAS)


def test_every_area_is_present_and_numbered_from_001_without_gaps() -> None:
    for area, reqs in catalogue.by_area().items():
        assert reqs, f"area {area} has no requirement"
        assert [r.number for r in reqs] == list(range(1, len(reqs) + 1)), area


def test_every_referenced_assumption_is_registered() -> None:
    known = {a.id for a in register()}
    for r in load_catalogue():
        assert set(r.assumptions) <= known, r.id


def test_untestable_requirements_say_why_and_testable_ones_do_not() -> None:
    for r in load_catalogue():
        if r.testable:
            assert r.reason is None, r.id
        else:
            assert r.reason and len(r.reason) > 20, r.id


def test_every_requirement_is_graded_with_the_evidence_its_grade_needs() -> None:
    for r in load_catalogue():
        assert r.grade in catalogue.GRADES, r.id
        if r.grade == "stated":
            assert r.quote and catalogue.AT_RE.match(r.at) and r.port, r.id
        if r.grade == "ambiguous":
            assert len(r.readings) >= 2, r.id


SPEC = find_spec_dir()


@pytest.mark.skipif(SPEC is None, reason="shared/spec (the sources) is not beside this checkout; "
                    "set OSGP_SPEC_DIR to check the quotes")
def test_every_stated_quote_is_found_at_the_line_it_names() -> None:
    assert quote_problems(load_catalogue(), SPEC) == []


@pytest.mark.skipif(SPEC is None, reason="shared/spec is not beside this checkout")
def test_the_quote_check_catches_a_wrong_line_and_a_wrong_quote() -> None:
    r = next(q for q in load_catalogue() if q.grade == "stated" and q.at.startswith("MEP-DG:"))
    key, line = r.at.split(":")
    moved = Requirement(**{**r.__dict__, "at": f"{key}:{int(line) + 40}"})
    altered = Requirement(**{**r.__dict__, "quote": r.quote + " and never otherwise"})
    assert len(quote_problems([moved, altered], SPEC)) == 2


def test_requirements_no_source_states_are_not_quoted_as_if_one_did() -> None:
    reqs = load_catalogue()
    unconfirmed = [r for r in reqs if r.unconfirmed]
    assert unconfirmed and len(unconfirmed) < len(reqs)
    assert all(not r.quote and not r.readings for r in unconfirmed)


def test_conditional_requirements_and_only_those_carry_a_pics_expression() -> None:
    for r in load_catalogue():
        assert (r.kind == "conditional") == (r.pics is not None), r.id
        if r.pics:
            assert check_pics_expression(r.pics) is None, r.id
            assert r.pics_items


def test_requirement_lookup() -> None:
    r = requirement("REQ-SEC-004")
    assert r.area == "SEC" and r.number == 4
    assert "0x0B" in r.text
    with pytest.raises(KeyError, match="REQ-SEC-999"):
        requirement("REQ-SEC-999")


def test_summary_counts_add_up() -> None:
    rows = catalogue.summarise()
    assert [r.area for r in rows] == list(AREAS)
    assert sum(r.total for r in rows) == len(load_catalogue())
    for r in rows:
        assert r.mandatory + r.optional + r.conditional == r.total
        assert r.stated + r.ambiguous + r.inferred + r.design == r.total


def test_cli_prints_a_summary_per_area(capsys: pytest.CaptureFixture[str]) -> None:
    assert catalogue.main([]) == 0
    out = capsys.readouterr().out
    for area in AREAS:
        assert re.search(rf"^{area}\s+\d+", out, flags=re.M), area
    assert "PICS_SEC_RC4" in out


# --- broken catalogues are rejected with a message naming the entry ---------------------------

def _entry(rid: str = "REQ-SEC-001", **changes: Any) -> dict[str, Any]:
    e: dict[str, Any] = {
        "id": rid,
        "text": "A request whose digest does not verify is answered 0x0B.",
        "source": "TS 104 001 Annex F (clause unknown); MEP-DG p.10-11 Table 2.5 [READ]",
        "kind": "mandatory",
        "pics": None,
        "grade": "stated",
        "quote": "0x0B = Authentication failure",
        "at": "MEP-DG:470",
        "port": "MEP (TCP)",
        "testable": True,
        "reason": None,
        "assumptions": ["ASM-APP-03"],
    }
    e.update(changes)
    return e


def _write(tmp_path: Path, entries: Any) -> Path:
    p = tmp_path / "requirements.yaml"
    p.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def _problems(tmp_path: Path, entries: Any) -> str:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(_write(tmp_path, entries))
    assert str(tmp_path) in str(info.value)
    return str(info.value)


def test_a_minimal_valid_file_loads(tmp_path: Path) -> None:
    reqs = load_catalogue(_write(tmp_path, [_entry(), _entry("REQ-SEC-002")]))
    assert [r.id for r in reqs] == ["REQ-SEC-001", "REQ-SEC-002"]
    assert reqs[0].assumptions == ("ASM-APP-03",)


def test_duplicate_id_is_rejected(tmp_path: Path) -> None:
    msg = _problems(tmp_path, [_entry(), _entry()])
    assert "entry 1 (REQ-SEC-001): duplicate id, first used by entry 0" in msg


@pytest.mark.parametrize("bad", ["REQ-SEC-4", "REQ-SECURITY-004", "SEC-004", "req-sec-004", 17])
def test_malformed_id_is_rejected(tmp_path: Path, bad: Any) -> None:
    msg = _problems(tmp_path, [_entry(bad)])
    assert f"id {bad!r} is not of the form REQ-<AREA>-<NNN>" in msg


def test_unknown_area_and_number_zero_are_rejected(tmp_path: Path) -> None:
    msg = _problems(tmp_path, [_entry("REQ-XYZ-001"), _entry("REQ-LNK-000")])
    assert "entry 0 (REQ-XYZ-001): area 'XYZ' is not one of" in msg
    assert "entry 1 (REQ-LNK-000): numbering starts at 001" in msg


def test_missing_reason_for_untestable_requirement_is_rejected(tmp_path: Path) -> None:
    msg = _problems(tmp_path, [_entry(testable=False, reason=None)])
    assert "entry 0 (REQ-SEC-001): not testable, so 'reason' must say why" in msg


def test_reason_on_a_testable_requirement_is_rejected(tmp_path: Path) -> None:
    msg = _problems(tmp_path, [_entry(reason="because")])
    assert "reason is only for requirements that are not testable" in msg


def test_unknown_assumption_is_rejected(tmp_path: Path) -> None:
    msg = _problems(tmp_path, [_entry(assumptions=["ASM-SEC-99"])])
    assert "entry 0 (REQ-SEC-001): assumption ASM-SEC-99 is not in osgp/assumptions.yaml" in msg


def test_malformed_assumption_id_is_rejected(tmp_path: Path) -> None:
    msg = _problems(tmp_path, [_entry(assumptions=["ASM-3"])])
    assert "assumption 'ASM-3' is not of the form ASM-<AREA>-<NN>" in msg


def test_assumption_ids_can_be_injected(tmp_path: Path) -> None:
    path = _write(tmp_path, [_entry(assumptions=["ASM-ZZZ-01"])])
    assert load_catalogue(path, assumption_ids=["ASM-ZZZ-01"])[0].assumptions == ("ASM-ZZZ-01",)


def test_bad_kind_and_pics_rules_are_rejected(tmp_path: Path) -> None:
    msg = _problems(tmp_path, [
        _entry("REQ-SEC-001", kind="must"),
        _entry("REQ-SEC-002", kind="conditional", pics=None),
        _entry("REQ-SEC-003", pics="PICS_RELAY"),
        _entry("REQ-SEC-004", kind="conditional", pics="PICS_RELAY and"),
        _entry("REQ-SEC-005", kind="conditional", pics="relay or PICS_X"),
    ])
    assert "entry 0 (REQ-SEC-001): kind 'must' is not one of mandatory, optional, conditional" in msg
    assert "entry 1 (REQ-SEC-002): a conditional requirement needs a PICS expression" in msg
    assert "entry 2 (REQ-SEC-003): pics must be null unless kind is conditional" in msg
    assert "entry 3 (REQ-SEC-004): pics 'PICS_RELAY and'" in msg
    assert "entry 4 (REQ-SEC-005): pics 'relay or PICS_X': relay: PICS items are named PICS_<NAME>" in msg


def test_grade_fields_are_checked(tmp_path: Path) -> None:
    inferred = {k: v for k, v in _entry("REQ-SEC-003").items() if k not in ("quote", "at", "port")}
    msg = _problems(tmp_path, [
        _entry("REQ-SEC-001", grade="likely"),
        _entry("REQ-SEC-002", at="page 11"),
        {**inferred, "grade": "inferred", "readings": ["a", "b"]},
        {**inferred, "grade": "ambiguous", "readings": ["only one"]},
        _entry("REQ-SEC-005", quote=" ".join(["word"] * 40)),
        _entry("REQ-SEC-006", port="somewhere"),
    ])
    assert "entry 0 (REQ-SEC-001): grade 'likely' is not one of stated, ambiguous, inferred, design" in msg
    assert "entry 1 (REQ-SEC-002): at 'page 11' is not KEY:LINE" in msg
    assert "entry 2 (REQ-SEC-003): readings belongs to grade ambiguous, not inferred" in msg
    assert "entry 3 (REQ-SEC-003): readings must list at least two readings" in msg
    assert "entry 4 (REQ-SEC-005): quote must be a string of at most 30 words" in msg
    assert "entry 5 (REQ-SEC-006): port 'somewhere' is not one of" in msg


def test_a_stated_requirement_needs_its_quote(tmp_path: Path) -> None:
    e = _entry()
    del e["quote"]
    assert "a stated requirement needs 'quote'" in _problems(tmp_path, [e])


def test_source_without_ts_reference_is_rejected(tmp_path: Path) -> None:
    msg = _problems(tmp_path, [_entry(source="MEP-DG p.11")])
    assert "source must name the TS 104 001 clause/annex" in msg


def test_multiline_text_and_unknown_or_missing_fields_are_rejected(tmp_path: Path) -> None:
    missing = _entry("REQ-SEC-003")
    del missing["grade"]
    msg = _problems(tmp_path, [
        _entry("REQ-SEC-001", text="line one\nline two"),
        _entry("REQ-SEC-002", verdict="PASS"),
        missing,
    ])
    assert "entry 0 (REQ-SEC-001): text must be one line" in msg
    assert "entry 1 (REQ-SEC-002): unknown field(s) verdict" in msg
    assert "entry 2 (REQ-SEC-003): missing field(s) grade" in msg


def test_ids_out_of_order_within_an_area_are_rejected(tmp_path: Path) -> None:
    msg = _problems(tmp_path, [_entry("REQ-SEC-002"), _entry("REQ-SEC-001")])
    assert "entry 1 (REQ-SEC-001): ids of area SEC must appear in ascending order" in msg


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(_write(tmp_path, [_entry(), _entry(), _entry("bad", assumptions=["ASM-SEC-99"])]))
    assert len(info.value.problems) == 3
    assert isinstance(info.value, ConfigError)


@pytest.mark.parametrize("content", ["", "{}", "- just a string", "key: [unclosed"])
def test_not_a_list_of_mappings_is_rejected(tmp_path: Path, content: str) -> None:
    p = tmp_path / "requirements.yaml"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogueError):
        load_catalogue(p)


def test_missing_file_is_a_catalogue_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(tmp_path / "nope.yaml")


def test_cli_exit_status_3_on_a_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert catalogue.main([str(_write(tmp_path, [_entry(), _entry()]))]) == 3
    assert "duplicate id" in capsys.readouterr().err


# --- helpers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("expr", [
    "PICS_A", "not PICS_A", "PICS_A and PICS_B", "PICS_A or (PICS_B and not PICS_C)", "((PICS_A))",
    'PICS_SEC_MODE == "rc4"', "PICS_MAX_RESP_DATA >= 12 and PICS_LOAD_PROFILE",
])
def test_valid_pics_expressions(expr: str) -> None:
    assert check_pics_expression(expr) is None


@pytest.mark.parametrize("expr", [
    "", "PICS_A and", "(PICS_A", "PICS_A PICS_B", "PICS_a", "PICS_A && PICS_B", ")", "relay",
    "PICS_MAX_RESP_DATA", "PICS_SEC_MODE == 3",
])
def test_invalid_pics_expressions(expr: str) -> None:
    assert check_pics_expression(expr) is not None


def test_declared_pics_items_are_used_with_the_osgp_pics_vocabulary() -> None:
    from osgpct.pics import ITEMS

    used = set(catalogue.pics_items())
    undeclared = set(catalogue.undeclared_pics_items())
    assert undeclared <= used and undeclared.isdisjoint(ITEMS)
    # the concepts osgpct.pics already names are used under its names, not under synonyms
    for synonym in ("PICS_LP", "PICS_BP10", "PICS_SEC_RC4_ENC"):
        assert synonym not in used


# --- docs/requirements.md stays in step with the file -----------------------------------------

DOC = Path(__file__).resolve().parents[1] / "docs" / "requirements.md"


def test_docs_counts_table_matches_the_catalogue() -> None:
    text = DOC.read_text(encoding="utf-8")
    begin, end = "<!-- counts:begin -->\n", "<!-- counts:end -->"
    table = text[text.index(begin) + len(begin):text.index(end)].strip()
    expected = catalogue.format_markdown_counts(catalogue.summarise())
    assert table == expected, "regenerate with: python -m osgpct.catalogue --markdown"


def test_docs_list_every_pics_item_the_catalogue_uses() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [item for item in catalogue.pics_items() if f"`{item}`" not in text]
    assert not missing
    proposed = text[text.index("| Proposed PICS item"):]
    for item in catalogue.undeclared_pics_items():
        assert f"| `{item}` |" in proposed, f"{item} is not in the proposed-items table"


def test_cli_markdown_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert catalogue.main(["--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| Area | Total |") and "| all |" in out
