"""Reading one department file into staged rows: header detection through synonyms and saved mappings, ID
cleaning (spaces, apostrophes, full-width digits, lower-case x, 15-digit numbers, Excel floats), dates, sex.

Pure functions: no database. `read_department_file` returns the headers it saw, the mapping it used and one
`ParsedRow` per data row (unreadable ones included and flagged, never dropped).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from fupin.core import dates, idnumber
from fupin.core.tabular import ReadReport, TableSpec, cell_text, read_rows

_SCI = re.compile(r"^\s*\d(\.\d+)?[eE]\+?\d+\s*$")
_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
_NAME_CLEAN = re.compile(r"[\s\u3000'‘’\"“”]")


@dataclass
class ParsedRow:
    """One data row as received and as read."""

    row_number: int
    raw: dict
    data: dict
    sheet: str = ""
    id_raw: str = ""
    id_clean: str = ""
    id_number: str = ""
    id_status: str = "empty"
    id_kind: str = "missing"
    id_area6: str = ""
    id_birth_year: int | None = None
    id_birth_date: dt.date | None = None
    id_last4: str = ""
    id_sex: str = ""
    name: str = ""
    birth_date: dt.date | None = None
    sex: str = ""
    address: str = ""
    readable: bool = True
    problems: list[str] = field(default_factory=list)


# roles whose values are categories a value mapping may cover (ids, names, dates, numbers, addresses are not)
MAPPABLE_ROLES = ("text",)
DISTINCT_KEPT = 1000  # distinct values counted per field and snapshot; more means free text


def value_counts(rows, fields: list[dict]) -> dict[str, dict[str, int] | None]:
    """{field: {value: rows}} of the category fields of parsed rows (None for a field with more than
    DISTINCT_KEPT values: free text, not a category)."""
    names = [f["name"] for f in fields if f.get("role", "text") in MAPPABLE_ROLES]
    counts: dict[str, dict[str, int] | None] = {n: {} for n in names}
    for r in rows:
        data = r.data
        for n in names:
            c = counts[n]
            if c is None:
                continue
            v = data.get(n)
            if v in (None, ""):
                continue
            c[v] = c.get(v, 0) + 1
            if len(c) > DISTINCT_KEPT:
                counts[n] = None
    return counts


def spec_for(fields: list[dict]) -> TableSpec:
    return TableSpec(columns={f["name"]: list(f.get("synonyms", [])) for f in fields},
                     required=[f["name"] for f in fields if f.get("required")])


def parse_date(value: object) -> dt.date | None:
    """A date cell read by the one date parser (`fupin.core.dates`); None when it cannot be read or is ambiguous."""
    return dates.parse_date_or_none(value)


def parse_sex(value: object) -> str:
    text = cell_text(value)
    if text in ("男", "1", "男性", "M", "m"):
        return "1"
    if text in ("女", "2", "女性", "F", "f"):
        return "2"
    return ""


def classify_id(value: object) -> tuple[str, str, str, str]:
    """(raw text, cleaned, normalised-or-empty, status) of an ID cell (see `read_id` for the visible parts)."""
    parsed, status = read_id(value)
    return parsed.raw, parsed.clean, parsed.number, status


def read_id(value: object) -> tuple[idnumber.ParsedId, str]:
    """The ID cell read by `fupin.core.idnumber.parse`, and its staging status (valid, legacy15, masked, truncated,
    invalid, empty).

    A number cell with 16 or more digits is an ID that Excel stored as a float: only 15 significant digits survive,
    so it is `truncated` (even when the zeros happen to pass the check; kind invalid) and linkage treats its first
    15 digits only.
    """
    if (type(value) is str and len(value) == 18 and value.isascii() and value[:17].isdigit()
            and (value[17].isdigit() or value[17] == "X")):
        birth = idnumber.quick_birth(value)  # the common case: a clean 18-character number
        if birth:
            return idnumber.ParsedId(idnumber.IdKind.FULL, raw=value, clean=value, number=value, area6=value[:6],
                                     birth_year=birth.year, birth_date=birth, last4=value[14:],
                                     sex="1" if int(value[16]) % 2 else "2"), "valid"
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if numeric or (isinstance(value, str) and _SCI.match(value)):
        clean = idnumber.clean(value)
        if len(clean) >= 16:
            return idnumber.ParsedId(idnumber.IdKind.INVALID, raw=cell_text(value), clean=clean,
                                     error=f"证件号码被Excel存为数字,后几位已丢失:{idnumber.mask(cell_text(value))}"), "truncated"
        value = clean
    parsed = idnumber.parse(value)
    status = {idnumber.IdKind.FULL: "valid", idnumber.IdKind.REPAIRED: "valid", idnumber.IdKind.LEGACY15: "legacy15",
              idnumber.IdKind.MASKED: "masked", idnumber.IdKind.MISSING: "empty"}.get(parsed.kind, "invalid")
    return parsed, status


def read_department_file(path: str | Path, fields: list[dict], *, mapping: dict[str, str] | None = None,
                         sheet: str | None = None, report: ReadReport | None = None
                         ) -> tuple[list[str], dict[str, str], list[ParsedRow]]:
    """Read a department extract (every sheet with the same header, or `sheet`; footer rows skipped into `report`).
    Raises ImportRefused when required columns cannot be found."""
    spec = spec_for(fields)
    headers, cols, rows = read_rows(path, spec, mapping=mapping, sheet=sheet, report=report,
                                    hint="(每列可用的表头名称见「数据源」页)")
    roles = {f["name"]: f.get("role", "text") for f in fields}
    used = {headers[j]: canon for j, canon in cols.items()}
    parsed: list[ParsedRow] = []
    for data_row in rows:
        row, offset, cols, sheet_headers = data_row.cells, data_row.row_number, data_row.cols, data_row.headers
        raw = {(sheet_headers[j] if j < len(sheet_headers) and sheet_headers[j] else f"列{j + 1}"):
               (v if type(v) is str else cell_text(v)) for j, v in enumerate(row) if v != "" and v is not None}
        pr = ParsedRow(row_number=offset, raw=raw, data={}, sheet=data_row.sheet)
        for j, canon in cols.items():
            value = row[j] if j < len(row) else None
            role = roles.get(canon, "text")
            if role in ("id", "disability_card"):
                _read_id(pr, value, role)
                pr.data[canon] = pr.id_clean
            elif role == "name":
                pr.name = _NAME_CLEAN.sub("", cell_text(value))[:100]
                pr.data[canon] = pr.name
            elif role in ("birth_date", "date"):
                try:
                    d = dates.parse_date(value)
                except dates.DateError as exc:
                    d = None
                    pr.problems.append(f"「{canon}」{exc.message}")
                if role == "birth_date":
                    pr.birth_date = d
                pr.data[canon] = d.isoformat() if d else cell_text(value)
            elif role == "sex":
                pr.sex = parse_sex(value)
                pr.data[canon] = cell_text(value)
            elif role == "address":
                pr.address = cell_text(value)[:300]
                pr.data[canon] = pr.address
            else:
                pr.data[canon] = value.strip() if type(value) is str else cell_text(value)
        if pr.id_birth_date or pr.id_sex:  # a valid number, or what a masked one shows
            pr.birth_date = pr.birth_date or pr.id_birth_date
            pr.sex = pr.sex or pr.id_sex
        if not pr.name and not pr.id_clean:
            pr.readable = False
            pr.problems.insert(0, "无法读取:既没有姓名也没有证件号码")
        parsed.append(pr)
    return headers, used, parsed


def _read_id(pr: ParsedRow, value: object, role: str) -> None:
    if role == "disability_card" and value not in (None, ""):
        text = idnumber.clean(value)
        if len(text) in (20, 21, 22) and not isinstance(value, float):
            value = text[:18]
    parsed, status = read_id(value)
    pr.id_raw, pr.id_clean, pr.id_number, pr.id_status = parsed.raw[:60], parsed.clean[:40], parsed.number, status
    pr.id_kind, pr.id_area6, pr.id_last4, pr.id_sex = parsed.kind, parsed.area6, parsed.last4, parsed.sex
    pr.id_birth_year, pr.id_birth_date = parsed.birth_year, parsed.birth_date
    if parsed.error:
        pr.problems.append(parsed.error)
