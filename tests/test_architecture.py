"""The house rules of DESIGN.md, read from the import statements of the source tree.

- `osgp` (the protocol model) imports nothing of the project outside itself;
- drivers, the reference device and reports never import the harness (nor each other);
- test cases and use cases never import drivers, the reference device or reports;
- no import circle, between packages or between modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: installed package name -> folder of the checkout (pyproject.toml [tool.setuptools.package-dir])
PACKAGES = {"osgp": "osgp", "osgpct": "osgpct", "osgpct.drivers": "drivers", "osgpct.reports": "reports",
            "osgpct.refdevice": "refdevice", "osgpct.usecases": "usecases", "osgpct.testcases": "testcases"}
LAYERS = {  # package -> the project packages it may import (besides itself)
    "osgp": set(),
    "osgpct.drivers": {"osgp"},
    "osgpct.refdevice": {"osgp"},
    "osgpct.reports": {"osgp"},
    "osgpct.testcases": {"osgp", "osgpct", "osgpct.usecases"},
    "osgpct.usecases": {"osgp", "osgpct"},
    "osgpct": {"osgp", "osgpct.drivers", "osgpct.refdevice", "osgpct.reports", "osgpct.usecases",
               "osgpct.testcases"},
}


def _module_name(path: Path) -> str:
    for pkg, folder in sorted(PACKAGES.items(), key=lambda kv: -len(kv[1])):
        try:
            rel = path.relative_to(REPO / folder)
        except ValueError:
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join([pkg, *parts])
    raise AssertionError(path)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for folder in set(PACKAGES.values()) for p in (REPO / folder).rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Project modules `name` imports (a `from pkg import mod` counts as importing pkg.mod only)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            subs = {f"{base}.{a.name}" for a in node.names} & known
            found |= subs
            if len(subs) < len(node.names):
                found.add(base)
    return {m for m in found if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(m, p, set(mods)) for m, p in mods.items()}


def package_of(module: str) -> str:
    return max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_every_package_imports_only_the_layers_below_it() -> None:
    wrong = sorted(f"{m} imports {d}" for m, deps in _graph().items() for d in deps
                   if package_of(d) != package_of(m) and package_of(d) not in LAYERS[package_of(m)])
    assert not wrong, "\n".join(wrong)


def test_no_import_circle_between_modules() -> None:
    assert not _cycles(_graph())


def test_no_import_circle_between_packages() -> None:
    g = _graph()
    packages: dict[str, set[str]] = {p: set() for p in LAYERS}
    for m, deps in g.items():
        packages[package_of(m)] |= {package_of(d) for d in deps} - {package_of(m)}
    # osgpct (the harness) sits above every subpackage: its own edges downwards are not a circle
    assert not _cycles(packages)


def test_the_checker_sees_a_circle_and_a_wrong_layer() -> None:
    """The rules above must be able to fail: a planted circle and a planted upward import are found."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
    assert package_of("osgpct.drivers.loopback") == "osgpct.drivers"
    assert "osgpct" not in LAYERS[package_of("osgpct.reports.model")]
    g = _graph()
    assert "osgp.session" in g["osgpct.plugin"] or "osgp.session" in g.get("osgpct.dut", set())
