"""Every check of a test case says which requirement it judges (docs/writing-testcases.md): in a case
that names several requirements, each `tc.check(...)` / `tc.fail(...)` of its body gives `req=`, so that
the framework can grade the verdict by that requirement's evidence and keep verdicts per requirement."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FOLDERS = ("testcases", "usecases")


def _requirements(fn: ast.FunctionDef) -> list[str] | None:
    for d in fn.decorator_list:
        if isinstance(d, ast.Call) and getattr(d.func, "id", "") in ("testcase", "usecase"):
            for kw in d.keywords:
                if kw.arg == "requirements" and isinstance(kw.value, ast.List | ast.Tuple):
                    return [e.value for e in kw.value.elts if isinstance(e, ast.Constant)]
            return []
    return None


def unnamed_checks(source: str, where: str) -> list[str]:
    """Checks without req= in the bodies of cases that name more than one requirement."""
    out = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, ast.FunctionDef):
            continue
        reqs = _requirements(fn)
        if reqs is None or len(reqs) < 2:
            continue
        for call in ast.walk(fn):
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr in ("check", "fail")
                    and ast.unparse(call.func.value).split(".")[-1] == "tc"
                    and not any(k.arg == "req" for k in call.keywords)):
                out.append(f"{where}:{call.lineno} ({fn.name}: one of {', '.join(reqs)})")
    return out


def test_every_check_of_a_multi_requirement_case_names_its_requirement() -> None:
    missing = [m for folder in FOLDERS for path in sorted((REPO / folder).rglob("*.py"))
               for m in unnamed_checks(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))]
    assert not missing, f"{len(missing)} checks name no requirement:\n" + "\n".join(missing)


def test_the_scan_finds_an_unnamed_check() -> None:
    planted = '''
@testcase(id="TC_APP_X_BV_01", title="t", purpose="Ensure that", requirements=["REQ-APP-001", "REQ-APP-002"])
def test_x(tc, session):
    tc.check(True, "named", req="REQ-APP-001")
    tc.check(False, "unnamed")
'''
    assert unnamed_checks(planted, "planted.py") == ["planted.py:5 (test_x: one of REQ-APP-001, REQ-APP-002)"]
