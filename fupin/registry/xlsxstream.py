"""A streaming xlsx writer for large exports: the workbook is produced while the rows are read, chunk by chunk.

xlsxwriter spends about 5 µs per cell in Python (150 µs per roster row); a roster sheet is only text cells, so the
sheet XML is written here directly (inline strings, one `<row>` per row) into a zip stream that needs no seeking:
the first bytes reach the browser at once and 100,000 rows take a few seconds, with constant memory.

Example::

    for chunk in xlsx_chunks(rows, header=["序号", "姓名"], title="花名册"):
        response.write(chunk)
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from xml.sax.saxutils import escape

_SHEET1_OVERRIDE = ('<Override PartName="/xl/worksheets/sheet1.xml" '
                    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
_SHEET1_REL = ('<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
               'worksheet" Target="worksheets/sheet1.xml"/>')
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>")
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>')
# style 0: normal; 1: bold (header); 2: bold, larger (title)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="3"><font><sz val="11"/><name val="宋体"/></font>'
    '<font><b/><sz val="11"/><name val="宋体"/></font><font><b/><sz val="14"/><name val="宋体"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
_ILLEGAL = {c: None for c in range(32) if c not in (9, 10, 13)}  # XML 1.0 forbids other control characters


def _col(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _text(value: str) -> str:
    return escape(value.translate(_ILLEGAL))


class _Sink:
    """A write-only, unseekable file for zipfile: it collects what is written until the generator takes it."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


@dataclass
class Sheet:
    """One sheet of a streamed workbook: its rows are read only when the writer reaches it."""

    name: str
    header: list[str]
    rows: Iterable[list[str]]
    title: str | None = None
    widths: dict[int, float] | None = None
    freeze_header: bool = True


def xlsx_chunks(rows: Iterable[list[str]], *, header: list[str], title: str | None = None,
                sheet_name: str = "Sheet1", widths: dict[int, float] | None = None,
                freeze_header: bool = True, rows_per_chunk: int = 2000) -> Iterator[bytes]:
    """The bytes of an xlsx file with an optional title row, a bold header and the rows (lists of text)."""
    return workbook_chunks([Sheet(sheet_name, header, rows, title, widths, freeze_header)],
                           rows_per_chunk=rows_per_chunk)


def workbook_chunks(sheets: list[Sheet], *, rows_per_chunk: int = 2000) -> Iterator[bytes]:
    """The bytes of an xlsx file of several sheets, written one after the other as their rows come."""
    sink = _Sink()
    width = max((len(s.header) for s in sheets), default=1)
    cols = [_col(i) for i in range(max(width, 1) + 64)]
    n = len(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, n + 1))
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        f'worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=5) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES.replace(_SHEET1_OVERRIDE, overrides))
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS.replace(_SHEET1_REL, rels).replace(
            'Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"',
            f'Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"'))
        zf.writestr("xl/styles.xml", _STYLES)
        names = "".join(f'<sheet name="{escape(s.name, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
                        for i, s in enumerate(sheets, start=1))
        zf.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f"<sheets>{names}</sheets></workbook>"))
        yield sink.take()
        for number, s in enumerate(sheets, start=1):
            yield from _sheet_chunks(zf, sink, number, s, cols, rows_per_chunk)
    yield sink.take()


def _sheet_chunks(zf: zipfile.ZipFile, sink: _Sink, number: int, s: Sheet, cols: list[str],
                  rows_per_chunk: int) -> Iterator[bytes]:
    title, header, widths = s.title, s.header, s.widths
    with zf.open(f"xl/worksheets/sheet{number}.xml", "w") as sheet:
        first_data = 2 if title else 1
        head = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">']
        if s.freeze_header:
            selected = ' tabSelected="1"' if number == 1 else ""
            head.append(f'<sheetViews><sheetView workbookViewId="0"{selected}>'
                        f'<pane ySplit="{first_data}" topLeftCell="A{first_data + 1}" activePane="bottomLeft" '
                        'state="frozen"/></sheetView></sheetViews>')
        if widths:
            head.append("<cols>" + "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>'
                                           for i, w in sorted(widths.items())) + "</cols>")
        head.append("<sheetData>")
        if title:
            head.append(f'<row r="1"><c r="A1" s="2" t="inlineStr"><is><t>{_text(title)}</t></is></c></row>')
        head.append(f'<row r="{first_data}">' + "".join(
            f'<c r="{cols[i]}{first_data}" s="1" t="inlineStr"><is><t>{_text(h)}</t></is></c>'
            for i, h in enumerate(header)) + "</row>")
        sheet.write("".join(head).encode("utf-8"))
        buf: list[str] = []
        r = first_data
        for row in s.rows:
            r += 1
            buf.append(f'<row r="{r}">' + "".join(
                f'<c r="{cols[i]}{r}" t="inlineStr"><is><t xml:space="preserve">{_text(v)}</t></is></c>'
                for i, v in enumerate(row) if v) + "</row>")
            if len(buf) >= rows_per_chunk:
                sheet.write("".join(buf).encode("utf-8"))
                buf.clear()
                yield sink.take()
        sheet.write(("".join(buf) + "</sheetData></worksheet>").encode("utf-8"))
