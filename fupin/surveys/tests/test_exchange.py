"""xlsx export (one sheet per table) and the all-or-nothing import."""

import pytest
from openpyxl import load_workbook

from fupin.core.errors import ImportRefused
from fupin.core.testing import make_household
from fupin.surveys import exchange, services
from fupin.surveys.models import Response

pytestmark = pytest.mark.django_db


def _answers(hh, **extra):
    return {"head_name": hh.head_name, "attribute": "1", "main_cause": "1", "poverty_status": "0",
            "income_wages": 3000, "dropout": False, **extra}


@pytest.fixture
def filled(county, forms):
    form = forms["household"]
    hhs = []
    for i, head in enumerate(("张一", "王二")):
        hh = make_household(county["va1"], grid=county["ga1"], head=head, members=2, is_registered_poor=True,
                            poor_code=f"X{i}", poverty_status="0", attribute="1", main_cause="1")
        initial = services.registry_answers(form, services.current_version(form), household=hh)
        services.response_submit(actor="t", form=form, period="2016", household=hh,
                                 answers={**initial, **_answers(hh)})
        hhs.append(hh)
    return form, hhs


def test_export_has_one_sheet_per_table_and_labels(filled, tmp_path):
    form, _hhs = filled
    path = exchange.export_responses(form, Response.objects.all(), tmp_path / "out.xlsx", mask_ids=True)
    wb = load_workbook(path)
    assert wb.sheetnames == ["答卷", "家庭成员"]
    main, members = wb["答卷"], wb["家庭成员"]
    keys = [c.value for c in main[1]]
    row = dict(zip(keys, [c.value for c in main[3]], strict=False))
    assert row["对象代码"] == "X0" and row["attribute"] == "一般贫困户" and row["dropout"] == "否"
    assert members.max_row == 2 + 4
    ids = [c.value for c in members["E"]][2:] if members["E"][0].value == "id_number" else []
    assert all("*" in (v or "*") for v in ids)


def test_import_round_trip_and_refusal(filled, tmp_path):
    form, hhs = filled
    path = exchange.export_responses(form, Response.objects.all(), tmp_path / "out.xlsx", mask_ids=True)
    wb = load_workbook(path)
    ws = wb["答卷"]
    keys = [c.value for c in ws[1]]
    ws.cell(row=3, column=keys.index(exchange.PERIOD) + 1, value="2017")
    ws.cell(row=4, column=keys.index(exchange.PERIOD) + 1, value="2017")
    ws.cell(row=3, column=keys.index("income_wages") + 1, value=4200)
    good = tmp_path / "good.xlsx"
    mt = wb["家庭成员"]
    for r in range(3, mt.max_row + 1):
        mt.cell(row=r, column=2, value="2017")
    wb.save(good)
    # a bad copy: an unknown household, a wrong code, a number that is not one
    ws.cell(row=4, column=1, value="NOPE")
    ws.cell(row=3, column=keys.index("attribute") + 1, value="富裕户")
    ws.cell(row=3, column=keys.index("income_business") + 1, value="很多")
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    before = Response.objects.count()
    with pytest.raises(ImportRefused) as exc:
        exchange.import_responses(actor="t", form=form, path=bad)
    text = exc.value.report()
    assert "NOPE" in text and "富裕户" in text and "应为数字" in text
    assert Response.objects.count() == before  # nothing written
    result = exchange.import_responses(actor="t", form=form, path=good)
    assert result["responses"] == 2
    r = Response.objects.get(household=hhs[0], period="2017")
    assert r.data["income_wages"] == 4200 and len(r.data["members"]) == 2
    assert all(row.get("_person") for row in r.data["members"])  # rows matched to the members by name
    hhs[0].refresh_from_db()
    assert hhs[0].income_wages == 4200


def test_export_writes_formula_answers_as_text(filled, tmp_path):
    form, hhs = filled
    hh = hhs[0]
    hh.head_name = "=1+2"
    r = Response.objects.filter(household=hh).first()
    r.data = {**r.data, "head_name": "=HYPERLINK(\"http://evil.example\")"}
    r.save(update_fields=["data"])
    path = exchange.export_responses(form, Response.objects.all(), tmp_path / "out.xlsx", mask_ids=True)
    cells = [c for row in load_workbook(path)["答卷"].iter_rows() for c in row if isinstance(c.value, str)]
    evil = [c for c in cells if c.value.startswith("=HYPERLINK")]
    assert evil and all(c.data_type == "s" for c in evil)


def test_a_refused_import_speaks_the_readers_language(filled, tmp_path):
    """The import's own problems go through the catalogue: a file without the answers sheet, read in English."""
    from django.utils import translation
    from openpyxl import Workbook

    form, _hhs = filled
    path = tmp_path / "其他.xlsx"
    wb = Workbook()
    wb.active.title = "别的表"
    wb.active.append(["甲", "乙"])
    wb.save(path)
    with translation.override("en"), pytest.raises(ImportRefused) as exc:
        exchange.import_responses(actor="t", form=form, path=path)
    assert f"The sheet “{exchange.MAIN_SHEET}” is missing" in exc.value.report()
    with pytest.raises(ImportRefused) as exc:
        exchange.import_responses(actor="t", form=form, path=path)
    assert f"缺少工作表「{exchange.MAIN_SHEET}」" in exc.value.report()
