"""Bulk pairing and policies received from xlsx: all or nothing, with the row report."""

import datetime as dt

import openpyxl
import pytest

from fupin.assistance import imports, services
from fupin.assistance.models import Cadre, HouseholdLight, HouseholdPairing, PolicyReceipt, Unit
from fupin.core.errors import ImportRefused
from fupin.core.models import AuditEvent

from .conftest import TODAY, poor

pytestmark = pytest.mark.django_db


def xlsx(tmp_path, rows, name="名单.xlsx", title=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    for r in rows:
        ws.append(r)
    path = tmp_path / name
    wb.save(path)
    return path


@pytest.fixture
def three(county, frozen):
    return [poor(county["va1"], county["ga1"], head=n, poor_code=f"P{i}") for i, n in enumerate(("甲", "乙", "丙"))]


def test_pairing_import_creates_units_cadres_and_pairings(tmp_path, three, town_a_leader):
    path = xlsx(tmp_path, [
        ["户编号", "户主姓名", "帮扶责任人", "联系电话", "帮扶单位", "职务", "脱贫承诺", "计划脱贫年度", "结对日期"],
        ["P0", "甲", "周一", "13800000001", "市教育局", "副局长", "2017年脱贫", "2017", "2016-03-01"],
        ["P1", "乙", "周一", "13800000001", "市教育局", "副局长", "", "2017年", "2016/3/1"],
        ["P2", "丙", "吴二", "", "宜都某公司", "", "", "", ""],
    ], title="宜都市结对帮扶名单")
    result = imports.import_pairings(actor=town_a_leader, path=path)
    assert (result["paired"], result["cadres_created"], result["units_created"]) == (3, 2, 2)
    zhou = Cadre.objects.get(name="周一")
    assert zhou.pairings.count() == 2 and zhou.unit.name == "市教育局"
    p = HouseholdPairing.objects.get(household=three[0])
    assert (p.start_date, p.exit_target_year, p.exit_commitment) == (dt.date(2016, 3, 1), 2017, "2017年脱贫")
    assert HouseholdPairing.objects.get(household=three[2]).start_date == TODAY
    assert AuditEvent.objects.filter(action="batch.assistance_pairing_import").count() == 1
    assert HouseholdLight.objects.get(pk=three[2].pk).colour == "green"
    # importing the same file again changes nothing
    again = imports.import_pairings(actor=town_a_leader, path=path)
    assert again["paired"] == 0 and HouseholdPairing.objects.count() == 3


def test_pairing_import_is_all_or_nothing(tmp_path, three, county, cadre, town_a_leader):
    services.pairing_assign(actor="test", household=three[2], cadre=cadre)
    outsider = poor(county["vb1"], head="丁", poor_code="B9")
    path = xlsx(tmp_path, [
        ["户编号", "帮扶责任人", "帮扶单位", "计划脱贫年度"],
        ["P0", "周一", "市教育局", ""],
        ["NOPE", "周一", "市教育局", ""],
        ["P1", "", "市教育局", "1999"],
        ["P2", "吴二", "宜都某公司", ""],
        ["B9", "吴二", "宜都某公司", ""],
    ])
    with pytest.raises(ImportRefused) as exc:
        imports.import_pairings(actor=town_a_leader, path=path)
    report = exc.value.report()
    assert "第3行" in report and "没有该户编号" in report
    assert "第4行" in report and "帮扶责任人姓名不能为空" in report and "计划脱贫年度" in report
    assert "第5行" in report and "不脱贫不脱钩" in report
    assert "第6行" in report and "管辖范围" in report
    assert HouseholdPairing.objects.count() == 1  # only the one made before
    assert not Unit.objects.filter(name="市教育局").exists()
    assert not HouseholdPairing.objects.filter(household=outsider).exists()


def test_pairing_import_missing_columns(tmp_path, three, town_a_leader):
    with pytest.raises(ImportRefused, match="必需的列"):
        imports.import_pairings(actor=town_a_leader, path=xlsx(tmp_path, [["户编号", "姓名"], ["P0", "x"]]))


def test_policy_receipts_import(tmp_path, three, town_a_leader, office):
    services.policy_create(actor=office, name="雨露计划", kind="education", amount=3000)
    path = xlsx(tmp_path, [["户编号", "政策名称", "发放日期", "金额"], ["P0", "雨露计划", "2026-03-01", ""],
                           ["P1", "雨露计划", "2026年3月2日", "1,500"]])
    assert imports.import_policy_receipts(actor=town_a_leader, path=path)["receipts"] == 2
    amounts = sorted(PolicyReceipt.objects.values_list("amount", flat=True))
    assert [float(a) for a in amounts] == [1500.0, 3000.0]
    bad = xlsx(tmp_path, [["户编号", "政策名称", "发放日期", "金额"], ["P0", "不存在的政策", "2026-03-01", ""],
                          ["P1", "雨露计划", "明天", "-5"]], name="bad.xlsx")
    with pytest.raises(ImportRefused) as exc:
        imports.import_policy_receipts(actor=town_a_leader, path=bad)
    assert "政策目录中没有该政策" in exc.value.report() and "享受日期" in exc.value.report()
    assert PolicyReceipt.objects.count() == 2


@pytest.mark.parametrize(("raw", "expected"), [("2016-03-01", dt.date(2016, 3, 1)), ("2016/3/1", dt.date(2016, 3, 1)),
                                               ("2016年3月1日", dt.date(2016, 3, 1)), ("20160301", dt.date(2016, 3, 1)),
                                               (42430.0, dt.date(2016, 3, 1)), ("", None)])
def test_parse_date(raw, expected):
    assert imports.parse_date(raw) == expected


def test_pairing_import_goes_through_pairing_assign_and_refuses_an_inactive_cadre(tmp_path, three, town_a_leader):
    unit = services.unit_create(actor="test", name="市教育局")
    gone = services.cadre_create(actor="test", name="周一", unit=unit, phone="13800000001")
    services.cadre_update(actor="test", cadre=gone, is_active=False)
    path = xlsx(tmp_path, [["户编号", "帮扶责任人", "联系电话", "帮扶单位"],
                           ["P0", "吴二", "", "宜都某公司"],
                           ["P1", "周一", "13800000001", "市教育局"]])
    with pytest.raises(ImportRefused) as exc:
        imports.import_pairings(actor=town_a_leader, path=path)
    assert "第3行" in exc.value.report() and "已停用" in exc.value.report()
    assert not HouseholdPairing.objects.exists() and not Unit.objects.filter(name="宜都某公司").exists()
    calls = []
    real = services.pairing_assign
    path = xlsx(tmp_path, [["户编号", "帮扶责任人", "帮扶单位"], ["P0", "吴二", "宜都某公司"]], name="ok.xlsx")
    import unittest.mock

    with unittest.mock.patch.object(services, "pairing_assign",
                                    side_effect=lambda **kw: calls.append(kw) or real(**kw)):
        imports.import_pairings(actor=town_a_leader, path=path)
    assert [c["household"].pk for c in calls] == [three[0].pk]
    assert HouseholdPairing.objects.get(household=three[0]).cadre.name == "吴二"
    assert AuditEvent.objects.filter(action="assistance.cadre.create", object_repr__contains="吴二").exists()
