"""Department imports of exports as they really come: desensitised IDs, rows split over sheets, footer rows, dates
in every form. Files are built here with xlsxwriter and csv, not by the code under test."""

import csv
import datetime as dt

import pytest
from django.test import Client

from fupin.core import idnumber
from fupin.core.errors import ImportRefused
from fupin.core.testing import make_user
from fupin.exchange.models import RecordLink, Snapshot, StagedRecord
from fupin.exchange.services import import_department

from .conftest import ident, write_csv

pytestmark = pytest.mark.django_db

HEADER = ["序号", "机动车所有人", "身份证明号码", "车辆类型", "机动车状态", "初次登记日期"]


def _book(path, sheets: dict[str, list[list]]):
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    date_fmt = wb.add_format({"num_format": "yyyy/m/d"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if isinstance(v, dt.date):
                    ws.write_datetime(i, j, dt.datetime.combine(v, dt.time()), date_fmt)
                elif isinstance(v, (int, float)):
                    ws.write_number(i, j, v)
                elif v not in ("", None):
                    ws.write_string(i, j, v)
        if rows and len(rows[0]) == 1 and len(rows) > 1:  # a title row merged over the header's width
            ws.merge_range(0, 0, 0, len(HEADER) - 1, rows[0][0])
    wb.close()
    return path


@pytest.fixture
def split_export(tmp_path):
    full = ident("19800301", 123)
    legacy = ident("19750505", 31)
    rows1 = [["宜都市机动车登记信息(脱敏)"], HEADER,
             [1, "张伟", full, "小型轿车", "A", "2015-03-02"],
             [2, "李娜", "420581********123X", "小型轿车", "A-正常", "2015年3月2日"],
             [3, "王明", "4205811980****1242", "轻型普通货车", "正常", "20150302"],
             ["小计", "", "", "", "", ""],
             [4, "赵六", "420581 ******** 0021", "小型轿车", "E", dt.date(2015, 3, 2)]]
    rows2 = [HEADER,
             [5, "钱七", legacy[:6] + legacy[8:17], "小型轿车", "A", 42065],
             [6, "孙八", "４２０５８１＊＊＊＊＊＊＊＊００５Ｘ", "小型轿车", "A", "2015.3.2"],
             [7, "周九", " " + full[:6] + " " + full[6:] + " ", "小型轿车", "A", "2015/3/2"],
             [8, "吴十", full[:-1] + ("1" if full[-1] != "1" else "2"), "小型轿车", "A", ""],
             [9, "郑一", "", "小型轿车", "A", ""],
             ["合计", "", "", "", "9辆", ""], [],
             ["制表人:张三", "", "审核人:李四", "", "", ""], ["数据截至2016年9月30日"],
             ["备注:本表身份证号已脱敏"]]
    summary = [["乡镇", "车辆数"], ["甲镇", 9]]
    path = _book(tmp_path / "车辆_脱敏_分页.xlsx", {"第1页": rows1, "第2页": rows2, "汇总": summary})
    return {"path": path, "full": full, "legacy": legacy}


def test_desensitised_split_footed_export_imports_with_a_report(split_export):
    snap = import_department(actor="test", source_code="vehicle", path=split_export["path"])
    recs = list(StagedRecord.objects.filter(snapshot=snap).order_by("id"))
    assert [r.name for r in recs] == ["张伟", "李娜", "王明", "赵六", "钱七", "孙八", "周九", "吴十", "郑一"]
    assert [(r.sheet, r.row_number) for r in recs][:5] == [("第1页", 3), ("第1页", 4), ("第1页", 5), ("第1页", 7),
                                                          ("第2页", 2)]
    kinds = [r.id_kind for r in recs]
    assert kinds == ["full", "masked", "masked", "masked", "legacy15", "masked", "repaired", "invalid", "missing"]
    assert snap.id_kinds == {"full": 1, "masked": 4, "legacy15": 1, "repaired": 1, "invalid": 1, "missing": 1}
    li, wang, zhao, sun = recs[1], recs[2], recs[3], recs[5]
    assert (li.id_status, li.id_clean, li.id_number) == ("masked", "420581********123X", "")
    assert (li.id_area6, li.id_birth_year, li.id_birth_date, li.id_last4, li.id_sex) == (
        "420581", None, None, "123X", "1")
    assert (wang.id_birth_year, wang.id_last4, wang.id_sex) == (1980, "1242", "2")
    assert wang.sex == "2"  # the sex a masked ID shows fills the record's sex
    assert zhao.id_clean == "420581********0021" and sun.id_last4 == "005X"
    full = recs[0]
    assert (full.id_area6, full.id_birth_date, full.id_last4) == ("420581", dt.date(1980, 3, 1),
                                                                  split_export["full"][-4:])
    assert recs[4].id_number == split_export["legacy"] and recs[6].id_number == split_export["full"]
    assert "校验位" in recs[7].problem and not any("脱敏" in r.problem for r in recs)
    # every date form read as the same date
    assert [r.data["初次登记日期"] for r in recs[:7]] == ["2015-03-02"] * 7
    # footer rows skipped and listed, never staged; the sheet with another header listed, not read
    skipped = {(s, row, kind) for s, row, kind, _t in snap.skipped}
    assert skipped == {("第1页", 6, "footer"), ("第2页", 7, "footer"), ("第2页", 9, "footer"),
                       ("第2页", 10, "footer"), ("第2页", 11, "footer")}
    assert not StagedRecord.objects.filter(name__in=["小计", "合计"]).exists()
    sheets = {s["name"]: s for s in snap.sheets}
    assert sheets["第1页"]["rows"] == 4 and sheets["第2页"]["rows"] == 5 and sheets["汇总"]["read"] is False
    assert snap.row_count == 9 and snap.problem_count == 1
    # the value report: one value no mapping knows is none here (A, A-正常, 正常, E are known)
    assert snap.value_counts["机动车状态"] == {"A": 6, "A-正常": 1, "正常": 1, "E": 1}
    assert snap.not_understood == []
    # the columnar cache has the visible parts for the linkage, in file order
    from fupin.exchange import cache

    table = cache.snapshot_records_read(snap)
    assert table.column("id_kind").to_pylist() == kinds
    assert table.column("id_last4").to_pylist()[1] == "123X"
    assert table.column("record_id").to_pylist() == [r.pk for r in recs]


def test_ambiguous_and_unreadable_dates_are_reported_not_guessed(tmp_path):
    path = write_csv(tmp_path / "v.csv", HEADER, [
        [1, "张伟", ident("19800101", 11), "小型轿车", "正常", "03/02/2015"],
        [2, "李娜", ident("19750505", 31), "小型轿车", "正常", "25/3/2015"],
        [3, "王明", ident("19900909", 41), "小型轿车", "正常", "2015年2月30日"]], encoding="gb18030")
    snap = import_department(actor="test", source_code="vehicle", path=path)
    r1, r2, r3 = StagedRecord.objects.filter(snapshot=snap).order_by("id")
    assert "既可读作2015年3月2日,也可读作2015年2月3日" in r1.problem and r1.data["初次登记日期"] == "03/02/2015"
    assert r2.problem == "" and r2.data["初次登记日期"] == "2015-03-25"
    assert "不是有效的日期" in r3.problem
    assert snap.problem_count == 2 and [p[0] for p in snap.problems] == [2, 4]


def test_command_reads_a_chosen_sheet_and_reports(split_export):
    import io

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("import_department", str(split_export["path"]), source="vehicle", sheet="第2页", stdout=out)
    text = out.getvalue()
    snap = Snapshot.objects.get(is_current=True, source__code="vehicle")
    assert snap.row_count == 5 and set(StagedRecord.objects.filter(snapshot=snap).values_list("sheet", flat=True)) \
        == {"第2页"}
    assert "工作表「第1页」:未读取(未选择)" in text and "已跳过(合计、落款或备注行):合计" in text
    assert "脱敏1" in text and "15位旧号1" in text
    with pytest.raises(CommandError) as exc:
        call_command("import_department", str(split_export["path"]), source="vehicle", sheet="第9页")
    assert "没有名为「第9页」的工作表" in str(exc.value)


def test_a_file_with_no_matching_sheet_is_refused_whole(tmp_path):
    path = _book(tmp_path / "x.xlsx", {"汇总": [["乡镇", "车辆数"], ["甲镇", 1]], "说明": [["本表说明"]]})
    with pytest.raises(ImportRefused) as exc:
        import_department(actor="test", source_code="vehicle", path=path)
    assert "乡镇" in exc.value.report() and "身份证明号码" in exc.value.report()
    assert not Snapshot.objects.exists()


def test_upload_form_names_a_sheet_and_the_snapshot_page_reports(split_export, county):
    from fupin.core.models import Job

    office = Client()
    office.force_login(make_user("office", "city_office", division=county["county"]))
    assert 'name="sheet"' in office.get("/exchange/").content.decode()
    with open(split_export["path"], "rb") as fh:
        resp = office.post("/exchange/upload/", {"source": "vehicle", "file": fh, "sheet": "第2页"})
    assert resp.status_code == 302
    assert Job.objects.get(kind="exchange.import").params["sheet"] == "第2页"

    snap = import_department(actor="test", source_code="vehicle", path=split_export["path"])
    rec = StagedRecord.objects.get(snapshot=snap, name="张伟")
    from fupin.core.testing import make_household
    from fupin.registry.models import Person

    hh = make_household(county["va1"])
    person = Person.objects.filter(household=hh).first()
    RecordLink.objects.create(record=rec, person=person, snapshot=snap, source_code="vehicle", method="exact_id",
                              area_code=hh.area_code)
    from fupin.exchange.selectors import id_kind_counts

    counts = {c["kind"]: (c["records"], c["linked"]) for c in id_kind_counts(snap)}
    assert counts == {"full": (1, 1), "repaired": (1, 0), "legacy15": (1, 0), "masked": (4, 0), "invalid": (1, 0),
                      "missing": (1, 0)}
    body = office.get(f"/exchange/snapshots/{snap.pk}/").content.decode()
    assert "脱敏" in body and "已跳过的行(5)" in body and "工作表「汇总」:未读取" in body and "第2页" in body
    town = Client()
    town.force_login(make_user("town", "town_staff", division=county["town_a"]))
    assert town.get(f"/exchange/snapshots/{snap.pk}/").status_code == 403
    police = Client()
    police.force_login(make_user("police", "dept_handler", division=county["county"],
                                 department=snap.source.department))
    assert police.get(f"/exchange/snapshots/{snap.pk}/").status_code == 403  # files as a whole: county staff


def test_roster_import_skips_footer_rows(tmp_path, county):
    from fupin.registry.importer import import_roster
    from fupin.registry.models import Household, Person
    from fupin.registry.testdata import NATIONAL_HEADERS, roster_rows

    rows = roster_rows([("甲镇", "甲一村", "420581100201")], households=2, seed=3)
    path = tmp_path / "roster.csv"
    with open(path, "w", encoding="gb18030", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["宜都市建档立卡贫困户花名册"])
        w.writerow(NATIONAL_HEADERS)
        for r in rows:
            w.writerow([r.get(h, "") for h in NATIONAL_HEADERS])
        w.writerow(["合计", "", "", f"{len(rows)}人"] + [""] * (len(NATIONAL_HEADERS) - 4))
        w.writerow([])
        w.writerow(["填报人:王五", "", "审核人:赵六"])
    result = import_roster(actor="t", path=path)
    assert result.persons_created == len(rows) and Person.objects.count() == len(rows)
    assert Household.objects.count() == 2
    report = result.report()
    assert "已跳过(合计、落款或备注行):合计" in report and "填报人:王五 审核人:赵六" in report
    assert idnumber.is_valid(Person.objects.first().id_number)
