"""PICS: the expression language, the consistency review, and declared vs observed from BT00."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osgpct.pics import (
    ITEMS,
    RULES,
    Bt00Capabilities,
    Observed,
    PicsError,
    compare,
    compile_expr,
    ep,
    observe_pics,
    parse,
    review,
)
from osgpct.plan import load_plan

FULL = dict(load_plan("testplan.yaml").pics)  # the default plan: a full-featured meter


@pytest.mark.parametrize(("text", "values", "expected"), [
    ("PICS_RELAY", {"PICS_RELAY": True}, True),
    ("not PICS_RELAY", {"PICS_RELAY": True}, False),
    ("PICS_RELAY and not PICS_SEC_AES", {"PICS_RELAY": True, "PICS_SEC_AES": False}, True),
    ("PICS_RELAY and not PICS_SEC_AES", {"PICS_RELAY": True, "PICS_SEC_AES": True}, False),
    ('PICS_SEC_MODE == "rc4"', {"PICS_SEC_MODE": "rc4"}, True),
    ("PICS_SEC_MODE == 'rc4'", {"PICS_SEC_MODE": "aes128"}, False),
    ('PICS_SEC_MODE != "digest"', {"PICS_SEC_MODE": "aes128"}, True),
    ("PICS_MAX_RESP_DATA >= 12", {"PICS_MAX_RESP_DATA": 12}, True),
    ("PICS_MAX_RESP_DATA > 12", {"PICS_MAX_RESP_DATA": 12}, False),
    ("PICS_MAX_RESP_DATA < 13 and PICS_MAX_RESP_DATA <= 12", {"PICS_MAX_RESP_DATA": 12}, True),
    # `not` binds tighter than `and`, `and` tighter than `or`; parentheses override
    ("not PICS_CLOCK or PICS_RELAY", {"PICS_CLOCK": True, "PICS_RELAY": True}, True),
    ("not (PICS_CLOCK or PICS_RELAY)", {"PICS_CLOCK": True, "PICS_RELAY": True}, False),
    ("PICS_CLOCK or PICS_RELAY and PICS_PENDING", {"PICS_CLOCK": True, "PICS_RELAY": False,
                                                   "PICS_PENDING": False}, True),
    ("(PICS_CLOCK or PICS_RELAY) and PICS_PENDING", {"PICS_CLOCK": True, "PICS_RELAY": False,
                                                     "PICS_PENDING": False}, False),
    ("PICS_RELAY == true", {"PICS_RELAY": False}, False),
    ("not not PICS_RELAY", {"PICS_RELAY": True}, True),
])
def test_expressions_evaluate(text: str, values: dict, expected: bool) -> None:
    expr = compile_expr(text)
    assert expr.evaluate(values) is expected
    assert expr.names == frozenset(values)


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("   ", "empty"),
    ("PICS_RELAY and", "expected a PICS item, a value or '(' at the end"),
    ("(PICS_RELAY", "expected ')' at the end"),
    ("PICS_RELAY)", "expected 'and', 'or' or the end at ')'"),
    ("PICS_RELAY && PICS_CLOCK", "unexpected '&' at column 12"),
    ("PICS_RELAY AND PICS_CLOCK", "write 'and', not 'AND'"),
    ("PICS_RELAY = true", "unexpected '=' at column 12"),
    ("PICS_MAX_RESP_DATA == 1 == 1", "expected 'and', 'or' or the end"),
    ('PICS_SEC_MODE == "rc4', "unexpected '\"'"),
    ("PICS_RELAI", "unknown PICS item PICS_RELAI (did you mean PICS_RELAY?)"),
    ("PICS_MAX_RESP_DATA", "PICS_MAX_RESP_DATA is an integer, not true/false"),
    ("PICS_RELAY and PICS_MAX_RESP_DATA", "PICS_MAX_RESP_DATA is an integer, not true/false"),
    ('PICS_SEC_MODE == true', 'PICS_SEC_MODE is a string but true is true/false'),
    ('PICS_SEC_MODE > "rc4"', "'>' compares integers only"),
    ('"rc4"', '"rc4" is a string, not true/false'),
    ("__import__('os').system('true')", "unexpected '.'"),
    ("PICS_RELAY or exit()", "expected 'and', 'or' or the end at '(' (column 19)"),
])
def test_bad_expressions_are_rejected_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(PicsError) as e:
        compile_expr(text)
    assert message.strip() in str(e.value)


def test_evaluation_needs_every_item_it_names() -> None:
    with pytest.raises(PicsError, match="needs PICS_RELAY, which the plan does not declare"):
        parse("PICS_RELAY or PICS_CLOCK").evaluate({"PICS_CLOCK": True})


def test_evaluation_checks_the_types_of_the_values_it_is_given() -> None:
    with pytest.raises(PicsError, match="PICS_RELAY is a string"):
        parse("PICS_RELAY").evaluate({"PICS_RELAY": "yes"})


_BOOLS = sorted(n for n, i in ITEMS.items() if i.type is bool)


@st.composite
def _trees(draw: st.DrawFn, depth: int = 3) -> tuple[str, object]:
    """A random expression text and the Python function it must compute."""
    if depth == 0 or draw(st.booleans()):
        name = draw(st.sampled_from(_BOOLS))
        return name, lambda v, n=name: v[n]
    op = draw(st.sampled_from(["and", "or", "not"]))
    if op == "not":
        text, fn = draw(_trees(depth - 1))
        return f"not ({text})", lambda v: not fn(v)
    (lt, lf), (rt, rf) = draw(_trees(depth - 1)), draw(_trees(depth - 1))
    if op == "and":
        return f"({lt}) and ({rt})", lambda v: lf(v) and rf(v)
    return f"({lt}) or ({rt})", lambda v: lf(v) or rf(v)


@given(_trees(), st.fixed_dictionaries({n: st.booleans() for n in _BOOLS}))
def test_random_expressions_agree_with_python(tree: tuple[str, object], values: dict) -> None:
    text, fn = tree
    assert compile_expr(text).evaluate(values) == bool(fn(values))  # type: ignore[operator]


def test_the_full_featured_plan_passes_the_review() -> None:
    assert [f for f in review(FULL) if f.severity == "error"] == []


@pytest.mark.parametrize("rule", [r for r in RULES if r.severity == "error"], ids=lambda r: r.id)
def test_each_error_rule_catches_its_inconsistency(rule) -> None:
    pics = dict(FULL)
    # make `when` hold and `then` fail: turn off the items `then` needs
    for name in compile_expr(rule.then).names:
        pics[name] = False if ITEMS[name].type is bool else 0
    if rule.when != "true":
        for name in compile_expr(rule.when).names - compile_expr(rule.then).names:
            if ITEMS[name].type is bool:
                pics[name] = True
    if rule.id.startswith("PICS-SEC-0") and rule.id != "PICS-SEC-04":
        pics["PICS_SEC_MODE"] = compile_expr(rule.when).node.right.value
    found = [f for f in review(pics) if f.rule == rule.id]
    assert found and found[0].severity == "error"
    assert rule.then in found[0].message


def test_observed_pics_from_the_nes_default_bt00() -> None:
    from osgp.tables import Dimensions

    bt00 = Dimensions.nes_default().bt00  # a decoded BT00 as osgp.tables gives it
    observed = observe_pics(bt00)
    assert observed["PICS_PROCEDURES"] == Observed(True, "BT00 tables/procedures used: BT07, BT08")
    assert observed["PICS_CLOCK"].value is True
    assert observed["PICS_LOAD_PROFILE"].value is True
    assert observed["PICS_EVENT_LOG"].value is True
    assert observed["PICS_SET_TIME"].value is True
    assert observed["PICS_PENDING"].value is True  # BT04 and BP12
    assert observed["PICS_RELAY"].value is False  # EP02 is not in the NES example's EP bitmap
    assert "not listed: EP02" in observed["PICS_RELAY"].source
    assert observed["PICS_PARTIAL_READ"] == Observed(True, "BT00 DATA_ACCESS_METHOD = 1")
    assert observed["PICS_MAX_RESP_DATA"].value == 12
    assert "PICS_SEC_AES" not in observed  # BT00 cannot show it


def test_observed_pics_from_raw_bitmaps_lsb_first() -> None:
    bt00 = {"STD_TBLS_USED": bytes([0b1000_0000, 0b0000_0001]),  # BT07, BT08
            "MFG_TBLS_USED": b"", "STD_PROC_USED": bytes([0, 0]), "MFG_PROC_USED": bytes([0b100]),  # EP02
            "DATA_ACCESS_METHOD": 0}
    observed = observe_pics(bt00)
    assert observed["PICS_PROCEDURES"].value is True
    assert observed["PICS_RELAY"].value is True
    assert observed["PICS_CLOCK"].value is False
    assert observed["PICS_PARTIAL_READ"].value is False


def test_compare_lists_only_disagreements() -> None:
    caps = Bt00Capabilities(tables=frozenset({7, 8, 52}), procedures=frozenset({10, ep(2)}),
                            fields={"max_resp_data_len": 8})
    mismatches = compare(FULL, observe_pics(caps))
    assert {m.item for m in mismatches} == {"PICS_PENDING", "PICS_LOAD_PROFILE", "PICS_EVENT_LOG",
                                            "PICS_MAX_RESP_DATA"}
    m = next(m for m in mismatches if m.item == "PICS_MAX_RESP_DATA")
    assert (m.declared, m.observed) == (12, 8)
    assert str(m) == "PICS_MAX_RESP_DATA: declared 12, the DUT shows 8 (BT00 MAX_RESP_DATA_LEN = 8)"
