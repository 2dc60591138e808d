"""PDF documents of the suite (receipts, certificates, invoices): fpdf2 with DejaVu Sans.

fpdf2's built-in fonts only know Latin-1, which has no "€" (and no "œ"); DejaVu
Sans (Debian's fonts-dejavu-core, installed by scripts/bootstrap-python.sh and
the image) covers French. A document is built in order, then rendered::

    document = Document("Reçu de paiement", issuer="Ville de Démonstration")
    document.paragraph("Paiement reçu le mercredi 25 novembre 2026 pour la facture FAC-2026-0042.")
    document.amounts([("Cantine — novembre", 4560), ("Garderie", 1230)], total_label="Total payé")
    pdf_bytes = document.render()

Amounts are integer cents, shown as :func:`guichet_common.money.format_euros`
writes them (no-break spaces, so "1 234,56 €" never splits across lines).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Sequence

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from .money import format_euros

FONT_FAMILY = "DejaVuSans"
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
NBSP = "\u00a0"
BOLD = FontFace(emphasis="BOLD")

TITLE_SIZE = 16
HEADING_SIZE = 12
TEXT_SIZE = 10
SMALL_SIZE = 8


class PdfFontMissing(RuntimeError):
    """The Unicode font is not installed."""


def font_files(directories: Sequence[Path] = FONT_DIRS) -> dict[str, Path]:
    """The font file of each style (regular, bold), from the first directory that has them all."""
    for directory in directories:
        paths = {style: directory / name for style, name in FONT_FILES.items()}
        if all(path.is_file() for path in paths.values()):
            return paths
    raise PdfFontMissing(f"DejaVu Sans not found in {', '.join(map(str, directories))}: install the "
                         "fonts-dejavu-core package (scripts/bootstrap-python.sh and the image do)")


class _Pages(FPDF):
    def __init__(self, issuer: str | None, footer_text: str | None):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.issuer = issuer
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(FONT_FAMILY, "", SMALL_SIZE)
        left = " — ".join(part for part in (self.issuer, self.footer_text) if part)
        self.cell(0, 5, left, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()}/{{nb}}", align="R")


class Document:
    """A simple A4 document: a title, then headings, paragraphs and tables, in order; pages break by themselves."""

    def __init__(self, title: str, *, issuer: str | None = None, footer: str | None = None,
                 created_at: dt.datetime | None = None, fonts: Sequence[Path] = FONT_DIRS):
        self.title = title
        self._pdf = _Pages(issuer, footer)
        for style, path in font_files(fonts).items():
            self._pdf.add_font(FONT_FAMILY, style, str(path))
        self._pdf.set_title(title)
        if issuer:
            self._pdf.set_author(issuer)
        self._pdf.set_creator("Guichet")
        if created_at is not None:
            self._pdf.set_creation_date(created_at)
        self._pdf.set_auto_page_break(auto=True, margin=20)
        self._pdf.add_page()
        if issuer:
            self._write(issuer, SMALL_SIZE)
        self._write(title, TITLE_SIZE, bold=True, after=4)

    def _write(self, text: str, size: int, *, bold: bool = False, after: float = 2) -> None:
        self._pdf.set_font(FONT_FAMILY, "B" if bold else "", size)
        self._pdf.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._pdf.ln(after)

    def heading(self, text: str) -> "Document":
        self._write(text, HEADING_SIZE, bold=True)
        return self

    def paragraph(self, text: str) -> "Document":
        self._write(text, TEXT_SIZE)
        return self

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], *,
              align: Sequence[str] | None = None, widths: Sequence[int] | None = None,
              bold_last: bool = False) -> "Document":
        """A table with a header row (repeated on each page); ``align``: "LEFT"/"RIGHT"/"CENTER" per column;
        ``bold_last``: the last row (a total) in bold."""
        self._pdf.set_font(FONT_FAMILY, "", TEXT_SIZE)
        alignment = tuple(align) if align else ("LEFT",) * len(header)
        with self._pdf.table(col_widths=tuple(widths) if widths else None, text_align=alignment,
                             line_height=TEXT_SIZE * 0.6, first_row_as_headings=True) as table:
            for index, values in enumerate((header, *rows)):
                row = table.row(style=BOLD if bold_last and index == len(rows) else None)
                for value in values:
                    row.cell(value)
        self._pdf.ln(3)
        return self

    def amounts(self, lines: Sequence[tuple[str, int]], *, total_label: str | None = "Total",
                header: tuple[str, str] = ("Désignation", "Montant")) -> "Document":
        """A table of labelled amounts in integer cents, with their total (unless ``total_label`` is None)."""
        rows = [(label, format_euros(cents, space=NBSP)) for label, cents in lines]
        if total_label is not None:
            rows.append((total_label, format_euros(sum(cents for _label, cents in lines), space=NBSP)))
        return self.table(header, rows, align=("LEFT", "RIGHT"), widths=(3, 1), bold_last=total_label is not None)

    def render(self) -> bytes:
        return bytes(self._pdf.output())
