"""The assumptions register (osgp/assumptions.yaml): loaded, checked, printed in every report."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

_FIELDS = ("id", "title", "value", "pixit", "basis", "used_in")


@dataclass(frozen=True)
class Assumption:
    id: str
    title: str
    value: str
    pixit: str | None
    basis: str
    used_in: tuple[str, ...]


@cache
def register() -> tuple[Assumption, ...]:
    text = resources.files("osgp").joinpath("assumptions.yaml").read_text(encoding="utf-8")
    entries = yaml.safe_load(text) or []
    out: list[Assumption] = []
    seen: set[str] = set()
    for n, e in enumerate(entries):
        missing = [f for f in _FIELDS if f not in e]
        if missing:
            raise ValueError(f"assumptions.yaml entry {n} ({e.get('id')}): missing {missing}")
        if e["id"] in seen:
            raise ValueError(f"assumptions.yaml: duplicate id {e['id']}")
        seen.add(e["id"])
        out.append(Assumption(e["id"], e["title"], str(e["value"]), e["pixit"], e["basis"],
                              tuple(e["used_in"])))
    return tuple(out)


def get(assumption_id: str) -> Assumption:
    for a in register():
        if a.id == assumption_id:
            return a
    raise KeyError(assumption_id)


if __name__ == "__main__":
    for a in register():
        print(f"{a.id}  {a.title}  [{a.value}]")
    sys.exit(0)
