"""PICS: the items a DUT declares, the selection expressions over them, and the checks around them.

Three things live here, each as data in one place:

- :data:`ITEMS`, the PICS catalogue: every item a test plan may declare, with its type and where
  the DUT's own BT00 shows it (so the declaration can be compared with what the device says);
- the expression language of test-case selection (``PICS_RELAY and not PICS_SEC_AES``,
  ``PICS_SEC_MODE == "rc4"``, ``PICS_MAX_RESP_DATA >= 12``, parentheses), parsed by a small
  recursive-descent parser and type-checked against the catalogue: no ``eval`` anywhere;
- :data:`RULES`, the static conformance review: consistency rules between items, written in that
  same expression language, run when a plan is loaded.

After a run, :func:`observe_pics` maps a decoded BT00 (tables-used / procedures-used bitmaps and a
few fields) to PICS items and :func:`compare` lists where the declaration and the device disagree.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from osgp.errors import ConfigError

PicsValue = bool | int | str

#: Security modes a plan may select; PICS_SEC_MODE takes the same values.
SECURITY_MODES = ("digest", "rc4", "aes128")

_EXT = 2048  # extended tables and procedures are numbered 2048 + n (ASM-TBL-01)


def bt(n: int) -> int:
    return n


def et(n: int) -> int:
    return _EXT + n


def bp(n: int) -> int:
    return n


def ep(n: int) -> int:
    return _EXT + n


def table_label(table_id: int) -> str:
    return f"ET{table_id - _EXT:02d}" if table_id >= _EXT else f"BT{table_id:02d}"


def procedure_label(proc_id: int) -> str:
    return f"EP{proc_id - _EXT:02d}" if proc_id >= _EXT else f"BP{proc_id:02d}"


class PicsError(ConfigError):
    """A malformed or ill-typed PICS expression, or an unknown PICS item."""


def suggest(name: str, candidates: Iterable[str]) -> str:
    """' (did you mean X?)' when a close match exists, else ''."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


# ---- the catalogue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PicsItem:
    name: str
    type: type  # bool, int or str
    description: str
    source: str
    choices: tuple[str, ...] = ()  # allowed values of a str item
    range: tuple[int, int] | None = None  # inclusive bounds of an int item
    # Where BT00 shows the item: all these tables / procedures listed as used, or a BT00 field.
    tables: tuple[int, ...] = ()
    procedures: tuple[int, ...] = ()
    bt00_field: str | None = None

    @property
    def observable(self) -> bool:
        return bool(self.tables or self.procedures or self.bt00_field)

    def check(self, value: object) -> str | None:
        """Why `value` is not valid for this item, or None."""
        if self.type is bool:
            return None if isinstance(value, bool) else f"{self.name} takes true or false, not {value!r}"
        if self.type is int:
            if not isinstance(value, int) or isinstance(value, bool):
                return f"{self.name} takes an integer, not {value!r}"
            if self.range and not self.range[0] <= value <= self.range[1]:
                return f"{self.name} = {value} is outside {self.range[0]}..{self.range[1]}"
            return None
        if not isinstance(value, str):
            return f"{self.name} takes a string, not {value!r}"
        if self.choices and value not in self.choices:
            return f"{self.name} = {value!r} is not one of {', '.join(self.choices)}"
        return None


_T = "shared/spec/tables-and-procedures.md"
_S = "shared/spec/app-layer-and-security.md"

ITEMS: dict[str, PicsItem] = {i.name: i for i in (
    PicsItem("PICS_SEC_MODE", str, "Security mode the DUT is configured in for this campaign "
             "(set from security.mode of the plan)", f"{_S} 4.6; ET04.127", choices=SECURITY_MODES),
    PicsItem("PICS_SEC_DIGEST", bool, "Accepts authenticated requests without encryption (digest and "
             "sequence number)", f"{_S} 4.2-4.4"),
    PicsItem("PICS_SEC_RC4", bool, "Supports the legacy RC4 security mode", f"{_S} 4.5; ET54.90 bit 0"),
    PicsItem("PICS_SEC_AES", bool, "Supports the OSGP-AES-128-PSK security mode", f"{_S} 4.6; ET54.90 bit 2"),
    PicsItem("PICS_KEY_CHANGE", bool, "Supports changing its keys over the air (Annex F)", f"{_T} 12"),
    PicsItem("PICS_BROADCAST", bool, "Accepts secure broadcast messages", f"{_T} 3.3 (ET04.76-86)"),
    PicsItem("PICS_PARTIAL_READ", bool, "Supports partial (offset/count) table reads",
             f"{_T} 8.1 (BT00 DATA_ACCESS_METHOD)", bt00_field="data_access_method"),
    PicsItem("PICS_PARTIAL_WRITE", bool, "Supports partial (offset/count) table writes", f"{_T} 8.1"),
    PicsItem("PICS_PROCEDURES", bool, "Runs procedures through BT07/BT08", f"{_T} 7",
             tables=(bt(7), bt(8))),
    PicsItem("PICS_MAX_PROC_PARM", int, "Largest procedure parameter block, bytes (BT00 MAX_PROC_PARM_LENGTH)",
             f"{_T} 8.1", range=(0, 255), bt00_field="max_proc_parm_length"),
    PicsItem("PICS_MAX_RESP_DATA", int, "Largest procedure response data, bytes (BT00 MAX_RESP_DATA_LEN)",
             f"{_T} 8.1", range=(0, 255), bt00_field="max_resp_data_len"),
    PicsItem("PICS_CLOCK", bool, "Keeps a UTC clock (BT52)", f"{_T} 6 (BT52)", tables=(bt(52),)),
    PicsItem("PICS_SET_TIME", bool, "Sets its clock by procedure BP10", f"{_T} 7.1 (BP10)",
             procedures=(bp(10),)),
    PicsItem("PICS_PENDING", bool, "Supports pending tables and their activation (BT04, BP12-BP15)",
             f"{_T} 6 (BT04), 7.1", tables=(bt(4),), procedures=(bp(12),)),
    PicsItem("PICS_LOAD_PROFILE", bool, "Records a load profile (BT61-BT64)", f"{_T} 6 (BT61, BT64)",
             tables=(bt(61), bt(64))),
    PicsItem("PICS_EVENT_LOG", bool, "Keeps an event (history) log (BT74)", f"{_T} 6 (BT74)",
             tables=(bt(74),)),
    PicsItem("PICS_RELAY", bool, "Has a control relay operated by remote command (EP02 [INF])",
             f"{_T} 7.2 (EP02), 9.6", procedures=(ep(2),)),
    PicsItem("PICS_DISCONNECT", bool, "Has a load disconnect switch operated by remote command",
             f"{_T} 8.17, 9.6"),
    PicsItem("PICS_FW_UPGRADE", bool, "Accepts a firmware download and activation", f"{_T} 9.7, 12"),
    PicsItem("PICS_REPEATER", bool, "Repeats frames for other devices (Annex G)", f"{_S} 3"),
)}


def item(name: str) -> PicsItem:
    try:
        return ITEMS[name]
    except KeyError:
        raise PicsError(f"unknown PICS item {name}{suggest(name, ITEMS)}") from None


TYPES: dict[str, type] = {name: i.type for name, i in ITEMS.items()}


# ---- the expression language ---------------------------------------------------------------------
#
#   expr    := and ("or" and)*
#   and     := not ("and" not)*
#   not     := "not" not | compare
#   compare := atom (("==" | "!=" | "<" | "<=" | ">" | ">=") atom)?
#   atom    := NAME | STRING | INTEGER | "true" | "false" | "(" expr ")"

_TOKEN = re.compile(r"""\s*(?:(?P<op>==|!=|<=|>=|<|>|\(|\))|(?P<int>\d+)|(?P<str>"[^"]*"|'[^']*')
                        |(?P<name>[A-Za-z_][A-Za-z0-9_]*))""", re.VERBOSE)
_KEYWORDS = {"and", "or", "not", "true", "false"}
_ORDERING = {"<", "<=", ">", ">="}


@dataclass(frozen=True)
class _Tok:
    kind: str  # op, int, str, name, kw, end
    text: str
    col: int  # 1-based


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class Const:
    value: PicsValue


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class BoolOp:
    op: Literal["and", "or"]
    operands: tuple[Any, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            col = len(text) - len(text[pos:].lstrip()) + 1
            raise PicsError(f"PICS expression {text!r}: unexpected {text[col - 1]!r} at column {col}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        col = m.start(kind) + 1
        if kind == "name" and value in _KEYWORDS:
            kind = "kw"
        elif kind == "name" and value.lower() in _KEYWORDS:  # 'AND', 'True': say how to write it
            raise PicsError(f"PICS expression {text!r}: write {value.lower()!r}, not {value!r} "
                            f"(column {col})")
        out.append(_Tok(kind, value, col))
        pos = m.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, expected: str) -> PicsError:
        tok = self.peek()
        where = "the end" if tok.kind == "end" else f"{tok.text!r} (column {tok.col})"
        return PicsError(f"PICS expression {self.text!r}: expected {expected} at {where}")

    def parse(self) -> Any:
        node = self.expr()
        if self.peek().kind != "end":
            raise self.error("'and', 'or' or the end")
        return node

    def expr(self) -> Any:
        return self._chain("or", self.conj)

    def conj(self) -> Any:
        return self._chain("and", self.neg)

    def _chain(self, op: Literal["and", "or"], sub: Any) -> Any:
        operands = [sub()]
        while self.peek().kind == "kw" and self.peek().text == op:
            self.take()
            operands.append(sub())
        return operands[0] if len(operands) == 1 else BoolOp(op, tuple(operands))

    def neg(self) -> Any:
        if self.peek().kind == "kw" and self.peek().text == "not":
            self.take()
            return Not(self.neg())
        return self.compare()

    def compare(self) -> Any:
        left = self.atom()
        tok = self.peek()
        if tok.kind == "op" and tok.text not in "()":
            self.take()
            return Compare(tok.text, left, self.atom())
        return left

    def atom(self) -> Any:
        tok = self.take()
        if tok.kind == "name":
            return Name(tok.text)
        if tok.kind == "int":
            return Const(int(tok.text))
        if tok.kind == "str":
            return Const(tok.text[1:-1])
        if tok.kind == "kw" and tok.text in ("true", "false"):
            return Const(tok.text == "true")
        if tok.kind == "op" and tok.text == "(":
            node = self.expr()
            if self.take().text != ")":
                self.i -= 1
                raise self.error("')'")
            return node
        self.i -= 1
        raise self.error("a PICS item, a value or '('")


def _type_name(tp: type) -> str:
    return {bool: "true/false", int: "an integer", str: "a string"}[tp]


@dataclass(frozen=True)
class Expr:
    """A parsed PICS expression. `str(expr)` is the text as written."""

    text: str
    node: Any = field(repr=False)
    names: frozenset[str] = field(repr=False)

    def __str__(self) -> str:
        return self.text

    def check(self, types: Mapping[str, type] = TYPES) -> None:
        """Raise PicsError for an unknown item or a comparison of the wrong types."""
        self._condition(self.node, types)

    def _condition(self, node: Any, types: Mapping[str, type]) -> None:
        """`node` must be true/false: an item used as a condition, a comparison, and/or/not."""
        tp = self._type(node, types)
        if tp is not bool:
            raise PicsError(f"PICS expression {self.text!r}: {_show(node)} is {_type_name(tp)}, "
                            "not true/false; compare it (e.g. `PICS_X == 3`)")

    def evaluate(self, values: Mapping[str, PicsValue]) -> bool:
        """The expression's value for the declared PICS `values` (all items it names must be there)."""
        missing = sorted(self.names - set(values))
        if missing:
            raise PicsError(f"PICS expression {self.text!r} needs {', '.join(missing)}, which the plan "
                            "does not declare")
        self.check({n: type(values[n]) for n in self.names})
        return bool(self._eval(self.node, values))

    def _type(self, node: Any, types: Mapping[str, type]) -> type:
        if isinstance(node, Name):
            if node.id not in types:
                raise PicsError(f"PICS expression {self.text!r}: unknown PICS item {node.id}"
                                f"{suggest(node.id, types)}")
            return types[node.id]
        if isinstance(node, Const):
            return type(node.value)
        if isinstance(node, Not | BoolOp):
            for sub in (node.operand,) if isinstance(node, Not) else node.operands:
                self._condition(sub, types)
            return bool
        left, right = self._type(node.left, types), self._type(node.right, types)
        if left is not right:
            raise PicsError(f"PICS expression {self.text!r}: {_show(node.left)} is {_type_name(left)} "
                            f"but {_show(node.right)} is {_type_name(right)}")
        if node.op in _ORDERING and left is not int:
            raise PicsError(f"PICS expression {self.text!r}: {node.op!r} compares integers only")
        return bool

    def _eval(self, node: Any, values: Mapping[str, PicsValue]) -> PicsValue:
        if isinstance(node, Name):
            return values[node.id]
        if isinstance(node, Const):
            return node.value
        if isinstance(node, Not):
            return not self._eval(node.operand, values)
        if isinstance(node, BoolOp):
            results = (self._eval(sub, values) for sub in node.operands)
            return all(results) if node.op == "and" else any(results)
        a, b = self._eval(node.left, values), self._eval(node.right, values)
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]


def _show(node: Any) -> str:
    if isinstance(node, Name):
        return node.id
    if isinstance(node, Const):
        return f'"{node.value}"' if isinstance(node.value, str) else str(node.value).lower()
    return "the sub-expression"


def _names(node: Any) -> frozenset[str]:
    if isinstance(node, Name):
        return frozenset({node.id})
    if isinstance(node, Not):
        return _names(node.operand)
    if isinstance(node, BoolOp):
        return frozenset().union(*map(_names, node.operands))
    if isinstance(node, Compare):
        return _names(node.left) | _names(node.right)
    return frozenset()


def parse(text: str) -> Expr:
    """Parse a PICS expression (syntax only; :meth:`Expr.check` types it against the catalogue)."""
    if not isinstance(text, str) or not text.strip():
        raise PicsError(f"PICS expression {text!r} is empty")
    node = _Parser(text).parse()
    return Expr(text.strip(), node, _names(node))


def compile_expr(text: str) -> Expr:
    """Parse and type-check against the catalogue: what test-case metadata uses at import."""
    expr = parse(text)
    expr.check()
    return expr


# ---- static conformance review -------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """When `when` holds, `then` must hold too; otherwise a finding of `severity`."""

    id: str
    when: str
    then: str
    severity: Literal["error", "observation"]
    why: str


RULES: tuple[Rule, ...] = (
    Rule("PICS-SEC-01", 'PICS_SEC_MODE == "aes128"', "PICS_SEC_AES", "error",
         "the campaign runs in OSGP-AES-128-PSK mode, so the DUT must support it"),
    Rule("PICS-SEC-02", 'PICS_SEC_MODE == "rc4"', "PICS_SEC_RC4", "error",
         "the campaign runs in RC4 mode, so the DUT must support it"),
    Rule("PICS-SEC-03", 'PICS_SEC_MODE == "digest"', "PICS_SEC_DIGEST", "error",
         "the campaign runs digest-only, so the DUT must accept unencrypted authenticated requests"),
    Rule("PICS-SEC-04", "true", "PICS_SEC_DIGEST or PICS_SEC_RC4 or PICS_SEC_AES", "error",
         "an OSGP device supports at least one security mode"),
    Rule("PICS-PRC-01", "PICS_RELAY", "PICS_PROCEDURES", "error",
         "the relay is operated by a procedure (EP02 [INF]), which needs BT07/BT08"),
    Rule("PICS-PRC-02", "PICS_DISCONNECT", "PICS_PROCEDURES", "error",
         "remote disconnect/reconnect is a procedure, which needs BT07/BT08"),
    Rule("PICS-PRC-03", "PICS_SET_TIME", "PICS_PROCEDURES and PICS_CLOCK", "error",
         "BP10 sets the clock: it needs procedures and a clock"),
    Rule("PICS-PRC-04", "PICS_PENDING", "PICS_PROCEDURES", "error",
         "pending tables are activated by BP12/BP13, which need BT07/BT08"),
    Rule("PICS-PRC-05", "PICS_FW_UPGRADE", "PICS_PROCEDURES", "error",
         "firmware activation is requested by procedure"),
    Rule("PICS-PRC-06", "PICS_PROCEDURES", "PICS_MAX_RESP_DATA >= 1", "observation",
         "a device that runs procedures normally returns some response data (BT00 MAX_RESP_DATA_LEN)"),
    Rule("PICS-TBL-01", "PICS_LOAD_PROFILE", "PICS_CLOCK", "observation",
         "load-profile intervals are time-stamped from the clock"),
    Rule("PICS-TBL-02", "PICS_PARTIAL_WRITE", "PICS_PARTIAL_READ", "observation",
         "a device that writes by offset/count normally reads that way too (BT00 DATA_ACCESS_METHOD)"),
)

_RULE_EXPRS = {r.id: (compile_expr(r.when), compile_expr(r.then)) for r in RULES}  # bad rules fail at import


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Literal["error", "observation"]
    message: str
    items: tuple[str, ...]  # the items the rule names, for pointing at the plan

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


def review(pics: Mapping[str, PicsValue]) -> list[Finding]:
    """Run the consistency rules over complete, well-typed declared PICS."""
    out = []
    for rule in RULES:
        when, then = _RULE_EXPRS[rule.id]
        if when.evaluate(pics) and not then.evaluate(pics):
            cond = "" if rule.when == "true" else f"{rule.when} but "
            out.append(Finding(rule.id, rule.severity, f"{cond}not ({rule.then}): {rule.why}",
                               tuple(sorted(when.names | then.names))))
    return out


# ---- declared vs observed ------------------------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    value: PicsValue
    source: str  # where the suite saw it, e.g. "BT00 tables used: BT61, BT64"


@dataclass(frozen=True)
class Mismatch:
    item: str
    declared: PicsValue
    observed: PicsValue
    source: str

    def __str__(self) -> str:
        return (f"{self.item}: declared {_fmt(self.declared)}, the DUT shows {_fmt(self.observed)} "
                f"({self.source})")


def _fmt(v: PicsValue) -> str:
    return str(v).lower() if isinstance(v, bool) else repr(v) if isinstance(v, str) else str(v)


@dataclass(frozen=True)
class Bt00Capabilities:
    """What BT00 says about the device, independent of how the table codec spells it."""

    tables: frozenset[int]  # BT n -> n, ET n -> 2048 + n
    procedures: frozenset[int]  # BP n -> n, EP n -> 2048 + n
    fields: Mapping[str, int]  # lower-case BT00 field names: data_access_method, max_resp_data_len, ...


def _get(value: Any, name: str) -> Any:
    """Field `name` of a decoded table, whether a mapping or an object, in any letter case."""
    for key in (name, name.upper()):
        if isinstance(value, Mapping) and key in value:
            return value[key]
        if not isinstance(value, Mapping) and hasattr(value, key):
            return getattr(value, key)
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(k, str) and k.lower() == name:
                return v
    fields = getattr(value, "fields", None)  # a TableValue-like wrapper around its fields
    if fields is not None and fields is not value:
        return _get(fields, name)
    return None


def _bits(bitmap: Any, base: int) -> set[int]:
    """Members of a C12.19 SET: bytes (bit 0 of byte 0 = member 0, LSB first), ints or an int mask."""
    if bitmap is None:
        return set()
    if isinstance(bitmap, bytes | bytearray):
        return {base + 8 * i + b for i, byte in enumerate(bitmap) for b in range(8) if byte >> b & 1}
    if isinstance(bitmap, int) and not isinstance(bitmap, bool):
        return {base + b for b in range(bitmap.bit_length()) if bitmap >> b & 1}
    if isinstance(bitmap, Iterable):
        items = list(bitmap)
        if all(isinstance(b, bool) for b in items):  # a decoded list of flags
            return {base + i for i, b in enumerate(items) if b}
        return {base + int(b) for b in items}
    raise TypeError(f"cannot read a bitmap from {type(bitmap).__name__}")


def capabilities(bt00: Any) -> Bt00Capabilities:
    """Normalise a decoded BT00 (osgp.tables value, mapping, or Bt00Capabilities)."""
    if isinstance(bt00, Bt00Capabilities):
        return bt00
    tables = _bits(_get(bt00, "std_tbls_used"), 0) | _bits(_get(bt00, "mfg_tbls_used"), _EXT)
    procs = _bits(_get(bt00, "std_proc_used"), 0) | _bits(_get(bt00, "mfg_proc_used"), _EXT)
    fields = {}
    for i in ITEMS.values():
        if i.bt00_field and (v := _get(bt00, i.bt00_field)) is not None:
            fields[i.bt00_field] = int(v)
    return Bt00Capabilities(frozenset(tables), frozenset(procs), fields)


def observe_pics(bt00_value: Any) -> dict[str, Observed]:
    """PICS items as the DUT's BT00 shows them. Items BT00 cannot show are left out."""
    caps = capabilities(bt00_value)
    out: dict[str, Observed] = {}
    for i in ITEMS.values():
        if i.bt00_field:
            if i.bt00_field not in caps.fields:
                continue
            raw = caps.fields[i.bt00_field]
            # DATA_ACCESS_METHOD: 1 offset/count, 3 both (C12.19); the only field read as a flag.
            value: PicsValue = raw in (1, 3) if i.type is bool else raw
            out[i.name] = Observed(value, f"BT00 {i.bt00_field.upper()} = {raw}")
        elif i.tables or i.procedures:
            listed = [table_label(t) for t in i.tables] + [procedure_label(p) for p in i.procedures]
            present = set(i.tables) <= caps.tables and set(i.procedures) <= caps.procedures
            missing = [table_label(t) for t in i.tables if t not in caps.tables] + \
                      [procedure_label(p) for p in i.procedures if p not in caps.procedures]
            source = f"BT00 tables/procedures used: {', '.join(listed)}"
            out[i.name] = Observed(present, source if present else f"{source} (not listed: {', '.join(missing)})")
    return out


def compare(declared: Mapping[str, PicsValue], observed: Mapping[str, Observed]) -> list[Mismatch]:
    """Items both declared and observed whose values differ, in catalogue order."""
    return [Mismatch(name, declared[name], observed[name].value, observed[name].source)
            for name in ITEMS
            if name in declared and name in observed and declared[name] != observed[name].value]
