"""A tiny document model: the PCTR and the delta report are built once as a `Document`, then
rendered by two back-ends (HTML through jinja2, PDF through fpdf2), so both always carry the same
sections, in the same order, with the same figures."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from osgpct.reports.verdicts import Verdict

_VERDICTS = {v.value for v in Verdict}
FLAGS = {"MISMATCH", "UNCOVERED"}  # findings shown like a FAIL in verdict columns


@dataclass
class Para:
    text: str
    css: str = ""  # e.g. "status-CONFORMING", "note"


@dataclass
class Heading:
    text: str
    id: str = ""


@dataclass
class Items:
    items: list[str]


@dataclass
class Fields:
    """Label/value pairs (identification data)."""

    rows: list[tuple[str, str]]


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    widths: list[float]  # relative column widths (PDF); HTML lets the browser decide
    verdict_cols: frozenset[int] = frozenset()  # cells coloured by verdict
    mono_cols: frozenset[int] = frozenset()  # hex and ids
    row_ids: list[str] | None = None  # HTML anchors, one per row
    empty: str = "none"  # said instead of an empty table

    def cell_class(self, col: int, text: str) -> str:
        classes = []
        if col in self.verdict_cols:
            classes.append("verdict")
            if text in _VERDICTS or text == "DEVIATION":
                classes.append("v-" + text.replace(" ", "_"))
            elif text in FLAGS:
                classes.append("v-FAIL")
        if col in self.mono_cols:
            classes.append("mono")
        return " ".join(classes)


Block = Para | Heading | Items | Fields | Table


@dataclass
class Section:
    id: str  # stable HTML id, e.g. "sec-identification"
    number: str  # "1" ... "10", "A"
    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def heading(self) -> str:
        annex = self.number.isalpha()
        return f"Annex {self.number}: {self.title}" if annex else f"{self.number} {self.title}"


@dataclass
class Document:
    title: str
    subtitle: str
    report_id: str
    sections: list[Section]
    date: str = ""  # ISO 8601; fixes the PDF creation date so rendering is reproducible
    banner: str = ""  # e.g. a --show-secrets warning, printed on top


def spaced_hex(h: str) -> str:
    """'30000a' -> '30 00 0a' so long frames wrap at byte boundaries (text around hex kept as is)."""
    return re.sub(r"[0-9a-fA-F]{2}(?=[0-9a-fA-F]{2})", r"\g<0> ", h)
