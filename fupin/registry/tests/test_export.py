"""Export in the roster layout: it re-imports unchanged, it masks ID numbers for roles that may not see them."""

import io

import pytest
from django.core.management import call_command

from fupin.registry.exporter import HEADERS
from fupin.registry.importer import import_roster
from fupin.registry.models import Household, Person
from fupin.registry.testdata import roster_rows, write_csv

PLACES = [("甲镇", "甲一村", "420581100201"), ("甲镇", "甲二村", "420581100202"), ("乙镇", "乙一村", "420581101201")]


@pytest.fixture
def imported(county, tmp_path):
    rows = roster_rows(PLACES, households=15, seed=11)
    import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows))
    return rows


def _xlsx_rows(content: bytes) -> list[list]:
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


def test_xlsx_export_reimports_unchanged(client, users, imported, tmp_path):
    client.force_login(users["county"])
    r = client.get("/households/export.xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    content = b"".join(r.streaming_content)
    sheet = _xlsx_rows(content)
    assert sheet[1][: len(HEADERS)] == HEADERS
    assert len(sheet) == 2 + len(imported)
    path = tmp_path / "export.xlsx"
    path.write_bytes(content)
    result = import_roster(actor="t", path=path)
    assert result.households_unchanged == 15 and result.households_updated == 0
    assert result.persons_unchanged == len(imported) and result.persons_updated == 0 and result.persons_created == 0


def test_csv_export_reimports_unchanged(client, users, imported, tmp_path):
    client.force_login(users["county"])
    r = client.get("/households/export.csv")
    path = tmp_path / "export.csv"
    path.write_bytes(b"".join(r.streaming_content))
    result = import_roster(actor="t", path=path)
    assert (result.households_unchanged, result.persons_unchanged) == (15, len(imported))


def test_export_follows_scope_and_filters(client, users, imported):
    client.force_login(users["village_a1"])
    sheet = _xlsx_rows(b"".join(client.get("/households/export.xlsx").streaming_content))
    villages = {row[2] for row in sheet[2:]}
    assert villages == {"甲一村"}
    client.force_login(users["county"])
    status0 = Household.objects.filter(poverty_status="0").count()
    sheet = _xlsx_rows(b"".join(client.get("/households/export.xlsx?status=0").streaming_content))
    assert len({row[5] for row in sheet[2:]}) == status0


def test_export_masks_ids_for_roles_without_full_id(client, users, imported):
    client.force_login(users["leader"])
    sheet = _xlsx_rows(b"".join(client.get("/households/export.xlsx").streaming_content))
    col = HEADERS.index("证件号码")
    numbers = [row[col] for row in sheet[2:]]
    assert numbers and all("********" in n for n in numbers)
    assert not set(numbers) & set(Person.objects.values_list("id_number", flat=True))


def test_export_command_round_trip(imported, tmp_path):
    out = io.StringIO()
    path = tmp_path / "all.xlsx"
    call_command("export_roster", str(path), stdout=out)
    assert f"已导出{len(imported)}行" in out.getvalue()
    result = import_roster(actor="t", path=path)
    assert result.persons_unchanged == len(imported)
    call_command("export_roster", str(tmp_path / "all.csv"), "--division", "420581100201", stdout=out)
    text = (tmp_path / "all.csv").read_text(encoding="utf-8-sig")
    assert "甲一村" in text and "乙一村" not in text
