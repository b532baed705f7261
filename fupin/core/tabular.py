"""Reading the spreadsheets counties really have: CSV in GBK or UTF-8 (with or without BOM), xlsx with a title row
above the header, merged cells and varying header names.

`read_table(path, spec)` finds the header row by the required columns, maps headers through synonyms and yields
(excel_row_number, {canonical: value}) rows. A file whose required columns cannot be found raises ImportRefused
with the headers it saw and the ones it expected.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fupin.core import uploads
from fupin.core.errors import ImportRefused, RowProblem

_HEADER_CLEAN = re.compile(r"[\s\u3000*＊:：()（）\[\]【】]")


def norm_header(text: object) -> str:
    return _HEADER_CLEAN.sub("", str(text or "")).lower()


@dataclass
class TableSpec:
    """Canonical columns and the header names seen for each. `required` must all be found."""

    columns: dict[str, list[str]]
    required: list[str] = field(default_factory=list)
    max_header_scan: int = 10

    def lookup(self) -> dict[str, str]:
        table = {}
        for canonical, names in self.columns.items():
            table[norm_header(canonical)] = canonical
            for n in names:
                table[norm_header(n)] = canonical
        return table


def decode_bytes(data: bytes) -> str:
    """UTF-8 (BOM or not), else GB18030 (a superset of GBK and GB2312); mixed or unknown encodings are refused."""
    return uploads.decode_text(data)


def _rows_csv(path: Path) -> Iterator[list]:
    text = decode_bytes(path.read_bytes())
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _rows_xlsx(path: Path) -> Iterator[list]:
    """Rows of the first sheet; a merged cell's value fills every cell it covers (calamine is fast but drops merges,
    so merged ranges are read with openpyxl's metadata only when the sheet has any)."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    sheet = wb.get_sheet_by_index(0)
    rows = sheet.to_python(skip_empty_area=False)
    merges = _merged_ranges(path)
    if merges:
        rows = [list(r) for r in rows]
        for min_row, min_col, max_row, max_col in merges:
            if min_row - 1 >= len(rows):
                continue
            value = rows[min_row - 1][min_col - 1] if min_col - 1 < len(rows[min_row - 1]) else ""
            for r in range(min_row - 1, min(max_row, len(rows))):
                row = rows[r]
                while len(row) < max_col:
                    row.append("")
                for c in range(min_col - 1, max_col):
                    if row[c] in ("", None):
                        row[c] = value
    yield from rows


def _merged_ranges(path: Path) -> list[tuple[int, int, int, int]]:
    """Merged ranges of the first sheet, read from the sheet XML without loading the cells."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
            if not names:
                return []
            first = sorted(names, key=lambda n: int(re.sub(r"\D", "", n) or 0))[0]
            with z.open(first) as fh:
                head = fh.read()
    except (zipfile.BadZipFile, KeyError):
        return []
    out = []
    for ref in re.findall(rb'<mergeCell ref="([A-Z]+\d+):([A-Z]+\d+)"', head):
        (c1, r1), (c2, r2) = (_split_ref(x.decode()) for x in ref)
        out.append((r1, c1, r2, c2))
    return out


def _split_ref(ref: str) -> tuple[int, int]:
    m = re.match(r"([A-Z]+)(\d+)", ref)
    assert m
    col = 0
    for ch in m.group(1):
        col = col * 26 + (ord(ch) - 64)
    return col, int(m.group(2))


def raw_rows(path: str | Path) -> Iterator[list]:
    path = Path(path)
    suffix = path.suffix.lower()
    uploads.check_table_file(path, limits=uploads.UploadLimits.local_files())  # bombs, merged ranges, encodings
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        try:
            yield from _rows_xlsx(path)
        except Exception as exc:
            raise ImportRefused(problems=[RowProblem(0, "", path.name, f"无法读取Excel文件:{exc}")]) from exc
    elif suffix in (".csv", ".txt", ".tsv", ""):
        try:
            yield from _rows_csv(path)
        except csv.Error as exc:
            raise ImportRefused(problems=[RowProblem(0, "", path.name, "CSV文件格式错误(某个单元格过长或引号不配对),无法读取")]) from exc
    else:
        raise ImportRefused(problems=[RowProblem(0, "", path.name, "不支持的文件类型(请用 .xlsx 或 .csv)")])


def cell_text(value: object) -> str:
    """A cell as text; floats that are whole numbers lose their '.0' (IDs are handled by idnumber.clean)."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if hasattr(value, "hour") and not value.hour and not value.minute else value.isoformat()
    return str(value).strip()


def read_table(path: str | Path, spec: TableSpec, *, mapping: dict[str, str] | None = None
               ) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    """Find the header row, map it, and return (headers_seen, rows). Raises ImportRefused if required columns lack.

    `mapping` (a saved column mapping: header as in the file → canonical name) wins over the synonyms.
    """
    lookup = spec.lookup()
    if mapping:
        lookup.update({norm_header(k): v for k, v in mapping.items()})
    it = iter(raw_rows(path))
    scanned: list[list] = []
    best: tuple[int, dict[int, str]] | None = None
    for i, row in enumerate(it):
        scanned.append(row)
        cols = {}
        for j, h in enumerate(row):
            canon = lookup.get(norm_header(h))
            if canon and canon not in cols.values():
                cols[j] = canon
        if all(r in cols.values() for r in spec.required) and cols:
            best = (i, cols)
            break
        if i + 1 >= spec.max_header_scan:
            break
    if best is None:
        seen = [cell_text(h) for h in (max(scanned, key=lambda r: sum(1 for x in r if x not in ("", None))) if scanned else []) if cell_text(h)]
        missing = list(spec.required)
        raise ImportRefused(
            headline="找不到必需的列,文件未导入",
            problems=[RowProblem(0, "", "、".join(seen), f"文件中的表头为:{'、'.join(seen) or '(空)'};必需的列为:{'、'.join(missing)}")],
        )
    header_index, cols = best
    headers_seen = [cell_text(h) for h in scanned[header_index]]

    width = max(cols) + 1
    pairs = list(cols.items())

    def rows() -> Iterator[tuple[int, dict]]:
        for offset, row in enumerate(it, start=header_index + 2):
            if not any(v not in ("", None) for v in row):
                continue
            if len(row) < width:  # short rows (CSV lines cut early) are padded once, not checked per column
                row = [*row, *([None] * (width - len(row)))]
            yield offset, {canon: row[j] for j, canon in pairs}

    return headers_seen, rows()
