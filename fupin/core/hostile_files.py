"""Hostile files for tests and the upload benchmark (bench/hostile_uploads.py): each is what a broken or malicious
department system could send. They are written by hand from raw XML so that nothing in our reading code shapes them."""

from __future__ import annotations

import zipfile
from pathlib import Path

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships '
         'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
         'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         'Target="xl/workbook.xml"/></Relationships>')
_WB = ('<?xml version="1.0" encoding="UTF-8"?><workbook '
       'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
       '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships '
            'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>')
_SHEET_HEAD = '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'


def _row(r: int, values: list[str]) -> str:
    cells = "".join(f'<c r="{chr(65 + i)}{r}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values))
    return f'<row r="{r}">{cells}</row>'


def xlsx(path: str | Path, rows: list[list[str]], *, merges: list[str] = (), padding: int = 0,
         raw_rows: str = "") -> Path:
    """A minimal xlsx with inline strings; `merges` as Excel refs; `padding` bytes of whitespace in the sheet XML
    (compresses to almost nothing: the zip bomb)."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WB)
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(_SHEET_HEAD.encode())
            for r, values in enumerate(rows, start=1):
                fh.write(_row(r, values).encode())
            fh.write(raw_rows.encode())
            block = b" " * (1 << 20)
            left = padding
            while left > 0:
                fh.write(block[:left])
                left -= len(block)
            fh.write(b"</sheetData>")
            if merges:
                fh.write(f'<mergeCells count="{len(merges)}">'.encode())
                fh.write("".join(f'<mergeCell ref="{m}"/>' for m in merges).encode())
                fh.write(b"</mergeCells>")
            fh.write(b"</worksheet>")
    return path


ROSTER_HEAD = ["户编号", "姓名", "证件号码", "与户主关系"]


def merged_range_bomb(path: str | Path) -> Path:
    """6 KB: one merged range A2:ZZZZZZZ3 (8 billion columns)."""
    return xlsx(path, [ROSTER_HEAD, ["1", "张三", "420581199001011234", "户主"]], merges=["A2:ZZZZZZZ3"])


def far_cell(path: str | Path) -> Path:
    """One cell at row 1,048,576: the reader would fill the rows between."""
    return xlsx(path, [ROSTER_HEAD], raw_rows='<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')


def zip_bomb(path: str | Path, unpacked_mb: int = 2048) -> Path:
    """A sheet of `unpacked_mb` MB of whitespace: about 1/1000 of that on disk."""
    return xlsx(path, [ROSTER_HEAD], padding=unpacked_mb * 1024 * 1024)


def huge_csv(path: str | Path, rows: int = 1_000_000) -> Path:
    path = Path(path)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(",".join(ROSTER_HEAD) + "\n")
        line = "1,张三,420581199001011234,户主\n"
        fh.writelines(line for _ in range(rows))
    return path


def mixed_encoding_csv(path: str | Path) -> Path:
    """The first lines in GBK, a later one in UTF-8 (two exports pasted together)."""
    path = Path(path)
    gbk = (",".join(ROSTER_HEAD) + "\n1,张三,420581199001011234,户主\n").encode("gbk")
    utf8 = "2,李四光明,420581199001015678,户主\n".encode()
    path.write_bytes(gbk + utf8)
    return path


def renamed(path: str | Path) -> Path:
    """A PNG named .xlsx."""
    path = Path(path)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 200)
    return path


def truncated(path: str | Path, source: str | Path) -> Path:
    """The first half of a real xlsx (an upload cut off)."""
    data = Path(source).read_bytes()
    path = Path(path)
    path.write_bytes(data[: len(data) // 2])
    return path
