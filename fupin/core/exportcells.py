"""Exported cells that Excel or WPS must never run as formulas (CSV/formula injection).

A value a person typed (a name `=HYPERLINK(...)`, a note `+cmd|' /C calc'!A0`) must reach the spreadsheet as the
text it is. Every export goes through one of these:

- `csv_cell(value)` / `csv_row(values)`: a text starting with = + - @, a tab or a carriage return gets a leading
  apostrophe, which Excel and WPS show as text and do not evaluate (numbers stay numbers);
- `xlsx_workbook(target, options)`: an xlsxwriter Workbook whose `write()` never turns a string into a formula
  (`strings_to_formulas` off; URLs stay text too); formulas the code means are written with `write_formula`;
- `openpyxl_text_row(ws, values)`: appends a row to an openpyxl sheet with every string stored as a text cell.

And `sheet_title(label, used)`: a worksheet name Excel accepts (none of the characters it refuses, at most 31
characters), unique in the workbook.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def xlsx_workbook(target, options: dict | None = None):
    import xlsxwriter

    return xlsxwriter.Workbook(target, {**(options or {}), "strings_to_formulas": False, "strings_to_urls": False})


def openpyxl_text_row(ws, values: Iterable[Any]) -> None:
    ws.append(list(values))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.data_type == "f":
            cell.data_type = "s"


def sheet_title(label: str, used: set[str], *, empty: str = "sheet", sep: str = "_") -> str:
    """A worksheet name from label that Excel accepts and no other sheet of the workbook has (`used`, updated):
    the characters []:*?/\\ dropped, 28 characters at most, `empty` for an empty label, a number after `sep` for
    a name already used."""
    title = "".join(ch for ch in label if ch not in "[]:*?/\\")[:28] or empty
    base, n = title, 2
    while title in used:
        title = f"{base[:25]}{sep}{n}"
        n += 1
    used.add(title)
    return title
