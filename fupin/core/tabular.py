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

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fupin.core import uploads
from fupin.core.errors import ImportRefused, RowProblem
from fupin.core.i18n import join_list

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
            yield from _sheet_rows_xlsx(path, 0)
        except Exception as exc:
            raise ImportRefused(problems=[RowProblem(0, "", path.name, _("Cannot read the Excel file: %(error)s") % {"error": exc})]) from exc
    elif suffix in (".csv", ".txt", ".tsv", ""):
        try:
            yield from _rows_csv(path)
        except csv.Error as exc:
            raise ImportRefused(problems=[RowProblem(0, "", path.name, _("The CSV file is malformed (a cell too long or unbalanced quotes) and cannot be read"))]) from exc
    else:
        raise ImportRefused(problems=[RowProblem(0, "", path.name, _("Unsupported file type (use .xlsx or .csv)"))])


def cell_text(value: object) -> str:
    """A cell as text; floats that are whole numbers lose their '.0' (IDs are handled by idnumber.clean)."""
    if type(value) is str:  # most cells: checked first, the rest of the checks cost a row's worth each
        return value.strip()
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


def read_table(path: str | Path, spec: TableSpec, *, mapping: dict[str, str] | None = None, sheet: str | None = None,
               report: ReadReport | None = None) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    """Find the header row, map it, and return (headers_seen, rows). Raises ImportRefused if required columns lack.

    `mapping` (a saved column mapping: header as in the file → canonical name) wins over the synonyms. Every sheet
    with the same header is read (or only `sheet`); footer and note rows are skipped and listed in `report`
    (see `read_rows`).
    """
    headers, _cols, rows = read_rows(path, spec, mapping=mapping, sheet=sheet, report=report)

    def pairs() -> Iterator[tuple[int, dict]]:
        for r in rows:
            yield r.row_number, {canon: r.cells[j] for j, canon in r.cols.items()}

    return headers, pairs()


# -- workbooks as departments export them: several sheets, footer and note rows ------------------------------------
# (kept apart from the reading functions above: `read_rows` is the reader; `read_table` wraps it)

_FOOTER = re.compile(
    r"^(?:合\s*计|总\s*计|小\s*计|数据截[至止]|第\s*\d+\s*页"  # followed by anything
    r"|(?:制\s*表|审\s*核|填\s*报|填\s*表|负\s*责)\s*人"  # 制表人张三, 审核人:李四
    r"|(?:制\s*表|审\s*核|填\s*报|填\s*表|备\s*注|说\s*明|截[至止]|注)\s*(?:[:：]|$)"  # 备注: …, a word alone
    r"|截[至止]\s*\d)")  # 截至2016年9月30日
SKIP_KINDS = {"footer": gettext_lazy("total, signature or note row"), "note": gettext_lazy("explanatory text after a blank row"),
              "header": gettext_lazy("repeated header")}


@dataclass
class ReadReport:
    """What a read did besides returning rows: the sheets it read or left (and why), the rows it skipped."""

    sheets: list[dict] = field(default_factory=list)  # {"name", "rows", "read", "reason", "headers"}
    skipped: list[list] = field(default_factory=list)  # [sheet, row number, kind, text]

    def skipped_lines(self, limit: int = 50) -> list[str]:
        out = []
        for sheet, row, kind, text in self.skipped[:limit]:
            where = (_("sheet “%(sheet)s” row %(row)s") % {"sheet": sheet, "row": row} if sheet and len(self.sheets) > 1
                     else _("row %(row)s") % {"row": row})
            out.append(_("%(where)s skipped (%(kind)s): %(text)s") % {"where": where, "kind": SKIP_KINDS.get(kind, kind),
                                                                     "text": text})
        if len(self.skipped) > limit:
            out.append(_("… %(n)s more rows skipped") % {"n": len(self.skipped) - limit})
        return out

    def sheet_lines(self) -> list[str]:
        if len(self.sheets) <= 1:
            return []
        return [_("Sheet “%(name)s”: ") % {"name": s["name"]}
                + (_("%(n)s rows read") % {"n": s["rows"]} if s["read"] else _("not read (%(reason)s)") % {"reason": s["reason"]})
                for s in self.sheets]


@dataclass
class DataRow:
    """One data row: where it is (sheet, Excel row number), its cells, and the column → canonical map of its sheet."""

    sheet: str
    row_number: int
    cells: list
    cols: dict[int, str]
    headers: list[str]


def sheet_names(path: str | Path) -> list[str]:
    """The sheet names of a workbook (a CSV has one sheet without a name)."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".xls", ".ods"):
        return [""]
    try:
        from python_calamine import CalamineWorkbook

        return list(CalamineWorkbook.from_path(str(path)).sheet_names)
    except Exception as exc:
        raise ImportRefused(problems=[RowProblem(0, "", path.name, _("Cannot read the Excel file: %(error)s") % {"error": exc})]) from exc


def workbook_sheets(path: str | Path) -> Iterator[tuple[str, Iterator[list]]]:
    """(sheet name, rows) of every sheet, in the workbook's order; a CSV is one sheet named ""."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".xls", ".ods"):
        yield "", iter(raw_rows(path))
        return
    uploads.check_table_file(path, limits=uploads.UploadLimits.local_files())  # every sheet, before reading
    for index, name in enumerate(sheet_names(path)):
        try:
            rows = _sheet_rows_xlsx(path, index)
        except Exception as exc:
            raise ImportRefused(problems=[RowProblem(0, "", path.name, _("Cannot read the sheet “%(name)s”: %(error)s") % {"name": name, "error": exc})]) from exc
        yield name, iter(rows)


def _sheet_rows_xlsx(path: Path, index: int) -> list[list]:
    """Rows of one sheet with merged cells filled (calamine is fast but drops merges, so merged ranges are read from
    the sheet's XML only when it has any)."""
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(index).to_python(skip_empty_area=False)
    merges = _sheet_merged_ranges(path, index)
    if not merges:
        return rows
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
    return rows


def _sheet_merged_ranges(path: Path, index: int) -> list[tuple[int, int, int, int]]:
    """Merged ranges of the index-th sheet (workbook order), from its XML found through the workbook's relations."""
    import posixpath
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            book = z.read("xl/workbook.xml")
            rels = z.read("xl/_rels/workbook.xml.rels")
            ids = re.findall(rb'<(?:\w+:)?sheet\b[^>]*?\br:id="([^"]+)"', book)
            if index >= len(ids):
                return []
            target = None
            for rel in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
                rid = re.search(rb'\bId="([^"]+)"', rel)
                tgt = re.search(rb'\bTarget="([^"]+)"', rel)
                if rid and tgt and rid.group(1) == ids[index]:
                    target = tgt.group(1).decode()
            if target is None:
                return []
            name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            head = z.read(name)
    except (zipfile.BadZipFile, KeyError, OSError):
        return []
    if b"mergeCell" not in head:  # one scan in C; the pattern below looks at every tag
        return []
    out = []
    for ref in re.findall(rb'<(?:\w+:)?mergeCell ref="([A-Z]+\d+):([A-Z]+\d+)"', head):
        (c1, r1), (c2, r2) = (_split_ref(x.decode()) for x in ref)
        out.append((r1, c1, r2, c2))
    return out


def _header_cols(row: list, lookup: dict[str, str]) -> dict[int, str]:
    cols: dict[int, str] = {}
    for j, h in enumerate(row):
        canon = lookup.get(norm_header(h))
        if canon and canon not in cols.values():
            cols[j] = canon
    return cols


def _find_header(rows: Iterator[list], spec: TableSpec, lookup: dict[str, str]
                 ) -> tuple[int, list, dict[int, str], list[list]]:
    """(index, header row, columns, rows scanned) — index -1 when no row within the scan has the required columns."""
    scanned: list[list] = []
    for i, row in enumerate(rows):
        scanned.append(row)
        cols = _header_cols(row, lookup)
        if cols and all(r in cols.values() for r in spec.required):
            return i, row, cols, scanned
        if i + 1 >= spec.max_header_scan:
            break
    return -1, [], {}, scanned


def _seen_headers(scanned: list[list]) -> list[str]:
    row = max(scanned, key=lambda r: sum(1 for x in r if x not in ("", None))) if scanned else []
    return [cell_text(h) for h in row if cell_text(h)]


_NUMBER_LIKE = re.compile(r"[-+]?[\d.,:/\s%]+")


def skip_kind(row: list, *, after_blank: bool, header_norm: list[str] | None = None) -> str | None:
    """Why a row under the header is not data: `footer` (合计, 制表人, 数据截至, 备注 ...), `note` (text after an
    empty row), `header` (the header repeated); None for a data row."""
    texts = [t for t in map(cell_text, row) if t]  # called for every data row: kept to C-level loops
    if not texts:
        return None
    if _FOOTER.match(texts[0]):
        return "footer"
    # a note alone on its line, or merged across it; a number repeated (amounts of 0, 0) is data, not a note
    if (after_blank or len(texts) > 1) and len(set(texts)) == 1 and not _NUMBER_LIKE.fullmatch(texts[0]):
        return "note"
    if header_norm and len(row) >= len(header_norm) and norm_header(row[0]) == header_norm[0] and all(
            norm_header(v) == h for v, h in zip(row, header_norm, strict=False)):  # stops at the first cell that differs
        return "header"
    return None


def read_rows(path: str | Path, spec: TableSpec, *, mapping: dict[str, str] | None = None, sheet: str | None = None,
              report: ReadReport | None = None, hint: str = "") -> tuple[list[str], dict[int, str], Iterator[DataRow]]:
    """Read every sheet of a file that has the same header: (headers of the first, its columns, data rows).

    A sheet whose header differs (or that has none) is not read and is listed in `report.sheets` with the reason;
    `sheet` (a name, or a number counted from 1) reads only that sheet. Footer and note rows are skipped and listed
    in `report.skipped`, never returned. Raises ImportRefused when no sheet has the required columns.
    """
    report = report if report is not None else ReadReport()
    lookup = spec.lookup()
    if mapping:
        lookup.update({norm_header(k): v for k, v in mapping.items() if v})
    path = Path(path)
    sheets = workbook_sheets(path)
    if sheet:
        names = sheet_names(path)
        chosen = sheet if sheet in names else (names[int(sheet) - 1] if sheet.isdigit() and 0 < int(sheet) <= len(names)
                                               else None)
        if chosen is None:
            raise ImportRefused(headline=_("Sheet not found: the file was not imported"), problems=[RowProblem(
                0, "", sheet, _("The workbook has no sheet named “%(sheet)s” (it has: %(names)s)") % {
                    "sheet": sheet, "names": join_list(names)})])
        sheets = ((n, rows) for n, rows in sheets if n == chosen)
        report.sheets.extend({"name": n, "rows": 0, "read": False, "reason": _("not chosen"), "headers": []}
                             for n in names if n != chosen)
    first: tuple[list[str], dict[int, str]] | None = None
    first_scanned: list[list] = []
    plan: list[tuple[str, Iterator[list], int, list, dict[int, str], dict]] = []
    for name, rows in sheets:
        index, header_row, cols, scanned = _find_header(rows, spec, lookup)
        entry = {"name": name, "rows": 0, "read": False, "reason": "", "headers": _seen_headers(scanned)}
        report.sheets.append(entry)
        if not first_scanned and scanned:
            first_scanned = scanned
        if index < 0:
            entry["reason"] = _("empty sheet") if not any(any(v not in ("", None) for v in r) for r in scanned) else \
                _("no header found (the headers are: %(headers)s)") % {
                    "headers": join_list(entry["headers"]) or _("(empty)")}
            continue
        entry["headers"] = [cell_text(h) for h in header_row if cell_text(h)]
        if first is None:
            first = ([cell_text(h) for h in header_row], cols)
        elif set(cols.values()) != set(first[1].values()):
            first_name = plan[0][0] if plan else ""
            entry["reason"] = _("header differs from “%(first)s” (the headers are: %(headers)s)") % {
                "first": first_name, "headers": join_list(entry["headers"])}
            continue
        entry["read"] = True
        plan.append((name, chain(scanned[index + 1:], rows), index + 2, header_row, cols, entry))
    if first is None:
        seen = _seen_headers(first_scanned)
        raise ImportRefused(
            headline=_("Required columns not found: the file was not imported"),
            problems=[RowProblem(0, "", "、".join(seen), _(
                "The file's headers are: %(seen)s; the required columns are: %(required)s%(hint)s") % {
                    "seen": join_list(seen) or _("(empty)"), "required": join_list(spec.required), "hint": hint})],
        )

    def data() -> Iterator[DataRow]:
        for name, rows, start, header_row, cols, entry in plan:
            headers = [cell_text(h) for h in header_row]
            header_norm = [norm_header(h) for h in header_row]
            width = max(cols) + 1
            after_blank = False
            for number, row in enumerate(rows, start=start):
                if row.count("") + row.count(None) >= len(row):  # an empty row
                    after_blank = True
                    continue
                kind = skip_kind(row, after_blank=after_blank, header_norm=header_norm)
                if kind:
                    text = " ".join(dict.fromkeys(t for t in (cell_text(v) for v in row) if t))
                    report.skipped.append([name, number, kind, text[:200]])
                    continue
                if len(row) < width:
                    row = [*row, *([None] * (width - len(row)))]
                after_blank = False
                entry["rows"] += 1
                yield DataRow(name, number, row, cols, headers)

    return first[0], first[1], data()


def chain(head: list[list], rest: Iterator[list]) -> Iterator[list]:
    yield from head
    yield from rest
