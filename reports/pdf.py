"""PDF back-end (fpdf2) for a reports.document.Document.

Built-in PDF fonts only (Helvetica, Courier): the output is byte-for-byte reproducible on any
machine and its text stays searchable by the secrets scan. They cover Latin-1; other characters are
transliterated or shown as "?" (the HTML report keeps them).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout, VAlign, WrapMode

from osgpct.reports.document import Document, Fields, Heading, Items, Para, Section, Table

_FILL = {"PASS": (217, 242, 221), "FAIL": (248, 215, 215), "INCONC": (253, 240, 196),
         "ERROR": (233, 216, 245), "NA": (236, 239, 242), "NOT RUN": (236, 239, 242),
         "MISMATCH": (248, 215, 215), "UNCOVERED": (248, 215, 215), "DEVIATION": (253, 240, 196)}
_STATUS = {"status-CONFORMING": (217, 242, 221), "status-NOT_CONFORMING": (248, 215, 215),
           "status-NOT_ESTABLISHED": (253, 240, 196)}
_HEAD = FontFace(emphasis="BOLD", fill_color=(238, 241, 245))
_TRANSLIT = str.maketrans({"\u2014": "-", "\u2013": "-", "\u2192": "->", "\u2190": "<-", "\u2264": "<=",
                           "\u2265": ">=", "\u2026": "...", "\u201c": '"', "\u201d": '"', "\u2018": "'",
                           "\u2019": "'", "\u2022": "*", "\u2260": "!=", "\u2248": "~", "\u00a0": " ",
                           "\u2212": "-", "\u03a9": "Ohm", "\u2713": "ok"})
_BODY_PT, _SMALL_PT = 8.5, 7.0
_CHARS_PER_MM = 1.0  # generous upper bound at 7 pt, used only to cap giant cells


def latin1(text: str) -> str:
    return text.translate(_TRANSLIT).encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    def __init__(self, doc: Document) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc = doc
        self.set_margins(14, 16, 14)
        self.set_auto_page_break(True, margin=16)
        self.alias_nb_pages("{nb}")
        self.set_title(latin1(f"{doc.title} {doc.report_id}"))
        self.set_creator("osgp-conformance")
        self.set_creation_date(_date(doc.date))

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font("Helvetica", "", 7)
        self.set_text_color(90)
        self.cell(0, 4, latin1(f"{self.doc.title} - {self.doc.report_id}"), align="L")
        self.ln(6)
        self.set_text_color(0)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font("Helvetica", "", 7)
        self.set_text_color(90)
        self.cell(0, 4, latin1(self.doc.report_id), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, f"page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0)


def _date(iso: str) -> datetime:
    try:
        d = datetime.fromisoformat(iso)
    except ValueError:
        return datetime(2000, 1, 1, tzinfo=UTC)  # any fixed date: the file must not depend on "now"
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def render_pdf(doc: Document) -> bytes:
    pdf = _Pdf(doc)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 8, latin1(doc.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5, latin1(doc.subtitle), new_x="LMARGIN", new_y="NEXT")
    if doc.banner:
        _para(pdf, Para(doc.banner, "status-NOT_CONFORMING"))
    pdf.ln(2)
    for section in doc.sections:
        _section(pdf, section)
    return bytes(pdf.output())


def _section(pdf: _Pdf, s: Section) -> None:
    if pdf.y > pdf.page_break_trigger - 30:  # no heading orphaned at the foot of a page
        pdf.add_page()
    pdf.ln(3)
    pdf.start_section(latin1(s.heading))  # PDF outline (bookmarks)
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 7, latin1(s.heading), new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(30)
    pdf.line(pdf.l_margin, pdf.y, pdf.w - pdf.r_margin, pdf.y)
    pdf.ln(1.5)
    for b in s.blocks:
        match b:
            case Para():
                _para(pdf, b)
            case Heading():
                if pdf.y > pdf.page_break_trigger - 25:
                    pdf.add_page()
                pdf.set_font("Helvetica", "B", 9.5)
                pdf.multi_cell(0, 5.5, latin1(b.text), new_x="LMARGIN", new_y="NEXT")
            case Items():
                pdf.set_font("Helvetica", "", _BODY_PT)
                for item in b.items or ["none"]:
                    pdf.set_x(pdf.l_margin + 2)
                    pdf.multi_cell(0, 4.2, latin1(f"- {item}"), new_x="LMARGIN", new_y="NEXT")
                pdf.ln(1.5)
            case Fields():
                _table(pdf, Table(["", ""], [[k, v] for k, v in b.rows], [28, 72]), headings=False)
            case Table():
                if b.rows:
                    _table(pdf, b)
                else:
                    _para(pdf, Para(b.empty, "empty"))


def _para(pdf: _Pdf, p: Para) -> None:
    fill = _STATUS.get(p.css)
    pdf.set_font("Helvetica", "B" if fill else "", 10 if fill else _BODY_PT)
    if fill:
        pdf.set_fill_color(*fill)
    if p.css in ("note", "empty"):
        pdf.set_text_color(90)
    pdf.multi_cell(0, 5 if fill else 4.2, latin1(p.text), fill=bool(fill), padding=1.5 if fill else 0,
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.set_fill_color(255)  # fpdf2 tables paint cells with the current fill colour
    pdf.ln(1.5)


def _table(pdf: _Pdf, t: Table, headings: bool = True) -> None:
    width = pdf.epw
    total = sum(t.widths)
    limits = [int(width * w / total * _CHARS_PER_MM * 45) for w in t.widths]  # about 45 lines per cell
    pdf.set_font("Helvetica", "", _SMALL_PT)
    pdf.set_fill_color(255)
    with pdf.table(
        col_widths=tuple(t.widths), width=width, text_align="LEFT", v_align=VAlign.T, line_height=3.3,
        padding=(0.8, 1.0), headings_style=_HEAD, first_row_as_headings=headings,
        num_heading_rows=1 if headings else 0, repeat_headings=1, wrapmode=WrapMode.WORD,
        borders_layout=TableBordersLayout.ALL,
    ) as table:
        if headings:
            head = table.row()
            for h in t.headers:
                head.cell(latin1(h))
        for row in t.rows:
            r = table.row()
            for col, text in enumerate(row):
                style = None
                if col in t.verdict_cols and text in _FILL:
                    style = FontFace(emphasis="BOLD", fill_color=_FILL[text])
                elif col in t.mono_cols:
                    style = FontFace(family="Courier")
                elif not headings and col == 0:
                    style = _HEAD
                r.cell(latin1(_cap(text, limits[col])), style=style)
    pdf.ln(2)


def _cap(text: str, limit: int) -> str:
    """fpdf2 refuses a row taller than a page; such text is cut here (results.json has it whole)."""
    return text if len(text) <= limit else text[:limit] + " [... cut; full text in results.json]"
