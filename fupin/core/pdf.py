"""PDF documents with a Chinese font embedded (fpdf2): notice lists, assistance cards, reports.

The font is found once per document: the `FUPIN_PDF_FONT` setting (a .ttf/.otf/.ttc path, optionally "path#index"
for a face of a collection), else the first of `KNOWN_FONTS` that exists on the machine, else a clear Chinese error
(`PdfFontMissing`). fpdf2 embeds only the glyphs used (a subset), so documents stay small.

    doc = Document(title="公示名单")
    doc.heading("2016年甲镇贫困户识别第一次公示名单")
    doc.data_table(["户主", "人口"], [["张三", "3"]], widths=[40, 20])
    pdf_bytes = doc.to_bytes()
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from contextvars import ContextVar

from django.conf import settings
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import Align, TableCellFillMode, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from fupin.core.errors import ServiceError

# (path, face index in a collection): free CJK fonts of common Linux packages first, then macOS and Windows fonts.
KNOWN_FONTS: list[tuple[str, int]] = [
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),  # fonts-wqy-microhei
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # fonts-wqy-zenhei
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # fonts-noto-cjk: face 2 is Simplified Chinese
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),  # fonts-arphic-uming
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("/System/Library/Fonts/STHeiti Light.ttc", 0),
    ("C:/Windows/Fonts/msyh.ttc", 0),
    ("C:/Windows/Fonts/simhei.ttf", 0),
    ("C:/Windows/Fonts/simsun.ttc", 0),
]
FONT_FAMILY = "cjk"
HEADER_FILL = (235, 238, 242)


class PdfFontMissing(ServiceError):
    """No Chinese font could be found: PDFs cannot be made."""


def chinese_font() -> tuple[str, int]:
    """(path, face index) of the Chinese font to embed; raises PdfFontMissing with what to do."""
    configured = getattr(settings, "FUPIN_PDF_FONT", "") or os.environ.get("FUPIN_PDF_FONT", "")
    if configured:
        path, _sep, index = str(configured).partition("#")
        if not os.path.isfile(path):
            raise PdfFontMissing(_("The font file named by the setting FUPIN_PDF_FONT does not exist: %(path)s") % {"path": path})
        return path, int(index or 0)
    for path, index in KNOWN_FONTS:
        if os.path.isfile(path):
            return path, index
    raise PdfFontMissing(_("No Chinese font was found, so the PDF cannot be made: install fonts-wqy-microhei "
                           "(apt-get install fonts-wqy-microhei), or give the path of a .ttf/.otf/.ttc Chinese font "
                           "file in the setting FUPIN_PDF_FONT"))


# Set by fupin.core.exportlog.accountable while an export view runs: every Document made then carries the
# exporter's watermark, and its tables count the rows they write (the people an export names).
EXPORT_WATERMARK: ContextVar[str] = ContextVar("fupin_export_watermark", default="")
EXPORT_ROWS: ContextVar[list | None] = ContextVar("fupin_export_rows", default=None)


class Document(FPDF):
    """An A4 document in the Chinese font, with a page footer "第 n / N 页" and helpers for the usual blocks."""

    def __init__(self, *, title: str, orientation: str = "P", footer_note: str = "", watermark: str = ""):
        super().__init__(orientation=orientation, unit="mm", format="A4")
        path, index = chinese_font()
        # Regular only: CJK fonts rarely ship a bold face (emphasis is by size and shading), and parsing a CJK font
        # is the slow part of a document (about 0.7 s for WenQuanYi Micro Hei).
        self.add_font(FONT_FAMILY, "", path, collection_font_number=index)
        self.set_title(title)
        self.set_creator("Fupin")
        self.set_lang("zh-CN")
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.footer_note = footer_note
        # who printed it and when (fupin.core.exportlog.watermark), on every page and in the document's subject
        self.watermark = watermark or EXPORT_WATERMARK.get()
        if self.watermark:
            self.set_subject(self.watermark)
        self.set_font(FONT_FAMILY, size=10)
        self.add_page()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT_FAMILY, size=8)
        self.set_text_color(110)
        text = f"第 {self.page_no()} / {{nb}} 页"
        if self.footer_note:
            text = f"{self.footer_note}    {text}"
        self.cell(0, 6, text, align=Align.C)
        if self.watermark:
            self.set_y(-7)
            self.set_font(FONT_FAMILY, size=6.5)
            self.set_text_color(150)
            self.cell(0, 4, self.watermark, align=Align.R)
        self.set_text_color(0)

    def heading(self, text: str, *, size: float = 16, align: str = "C") -> None:
        self.set_font(FONT_FAMILY, size=size)
        self.multi_cell(0, size * 0.55, text, align=align, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN,
                        new_y=YPos.NEXT)
        self.set_font(FONT_FAMILY, size=10)
        self.ln(2)

    def subheading(self, text: str, *, size: float = 12) -> None:
        self.ln(1)
        self.set_font(FONT_FAMILY, size=size)
        self.cell(0, size * 0.6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT_FAMILY, size=10)
        self.ln(1)

    def para(self, text: str, *, size: float = 10, align: str = "L") -> None:
        self.set_font(FONT_FAMILY, size=size)
        self.multi_cell(0, size * 0.55, text, align=align, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN,
                        new_y=YPos.NEXT)

    def data_table(self, headers: Sequence[str], rows: Sequence[Sequence[object]], *,
                   widths: Sequence[float] | None = None, size: float = 9, align: str = "CENTER") -> None:
        """A bordered table with a shaded heading row repeated on each page; text wraps by character."""
        self.set_font(FONT_FAMILY, size=size)
        with self.table(col_widths=tuple(widths) if widths else None, text_align=align, wrapmode=WrapMode.CHAR,
                        line_height=size * 0.6, padding=1,
                        headings_style=FontFace(fill_color=HEADER_FILL),
                        cell_fill_mode=TableCellFillMode.NONE) as table:
            head = table.row()
            for h in headers:
                head.cell(str(h))
            counter = EXPORT_ROWS.get()
            if counter is not None:
                counter[0] += len(rows)
            for r in rows:
                row = table.row()
                for value in r:
                    row.cell("" if value is None else str(value))
        self.set_font(FONT_FAMILY, size=10)

    def field_grid(self, pairs: Sequence[tuple[str, object]], *, columns: int = 2, size: float = 9.5) -> None:
        """Label/value pairs in a bordered grid, `columns` pairs per line."""
        self.set_font(FONT_FAMILY, size=size)
        label_w = 26.0
        usable = self.epw
        value_w = usable / columns - label_w
        widths = [label_w, value_w] * columns
        with self.table(col_widths=tuple(widths), first_row_as_headings=False, wrapmode=WrapMode.CHAR,
                        line_height=size * 0.6, padding=1, text_align="LEFT") as table:
            for i in range(0, len(pairs), columns):
                row = table.row()
                chunk = list(pairs[i:i + columns])
                chunk += [("", "")] * (columns - len(chunk))
                for label, value in chunk:
                    row.cell(str(label), style=FontFace(fill_color=HEADER_FILL) if label else None)
                    row.cell("" if value in (None, "") else str(value))
        self.set_font(FONT_FAMILY, size=10)

    def blank_lines(self, label: str, lines: int = 3) -> None:
        """A label and ruled lines to be filled in by hand."""
        self.para(label)
        for _line in range(lines):
            y = self.get_y() + 7
            self.line(self.l_margin, y, self.w - self.r_margin, y)
            self.set_y(y)
        self.ln(2)

    def signature_lines(self, labels: Sequence[str], *, date_line: bool = True) -> None:
        """Signature blocks side by side: "label:________" and a date line under each."""
        self.ln(6)
        width = self.epw / max(len(labels), 1)
        y = self.get_y()
        for i, label in enumerate(labels):
            self.set_xy(self.l_margin + i * width, y)
            self.cell(width, 7, f"{label}:" + "_" * 14)
            if date_line:
                self.set_xy(self.l_margin + i * width, y + 9)
                self.cell(width, 7, "日期:____年__月__日")
        self.set_xy(self.l_margin, y + (18 if date_line else 10))

    def to_bytes(self) -> bytes:
        return bytes(self.output())


def cn_date(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""
