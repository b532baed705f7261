import pytest

from fupin.core.errors import ImportRefused, ServiceError
from fupin.exchange.models import Snapshot, StagedRecord
from fupin.exchange.services import import_department, mapping_save, source_get

from .conftest import ident, write_csv

pytestmark = pytest.mark.django_db


def _xlsx(path, header, rows, *, title=True, numeric_ids=()):
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    r0 = 0
    if title:
        ws.merge_range(0, 0, 0, len(header) - 1, "宜都市机动车登记信息(2016年)")
        r0 = 1
    ws.write_row(r0, 0, header)
    for i, row in enumerate(rows, start=r0 + 1):
        for j, v in enumerate(row):
            if j in numeric_ids and str(v).endswith("000"):
                ws.write_number(i, j, float(v))
            else:
                ws.write_string(i, j, str(v))
    wb.close()
    return path


def test_messy_ids_are_cleaned_and_classified(tmp_path):
    good = ident("19800101", 11)
    legacy = good[:6] + good[8:17]
    lower = ident("19800101", 5)
    assert lower.endswith("X")
    path = write_csv(tmp_path / "payroll.csv", ["序号", "姓名", "身份证号", "工作单位", "状态"], [
        [1, "张 伟", f" {good[:6]} {good[6:]} ", "教育局", "在职"],
        [2, "李娜", "'" + good, "水利局", "退休"],
        [3, "王明", good.translate(str.maketrans("0123456789", "０１２３４５６７８９")), "医院", "在职"],
        [4, "赵六", lower[:-1] + "x", "镇政府", "在职"],
        [5, "钱七", legacy, "镇政府", "在职"],
        [6, "孙八", good[:-1] + ("1" if good[-1] != "1" else "2"), "镇政府", "在职"],
        [7, "周九", "", "镇政府", "在职"],
    ], encoding="gb18030")
    snap = import_department(actor="test", source_code="payroll", path=path)
    rows = {r.row_number: r for r in StagedRecord.objects.filter(snapshot=snap)}
    assert [rows[i].id_number for i in (2, 3, 4)] == [good, good, good]
    assert rows[2].name == "张伟" and rows[2].id_status == "valid"
    assert rows[5].id_number == lower and rows[5].id_status == "valid"
    assert rows[6].id_number == good and rows[6].id_status == "legacy15"
    assert rows[7].id_status == "invalid" and rows[7].id_number == "" and "校验位" in rows[7].problem
    assert rows[8].id_status == "empty"
    assert rows[2].data["工作单位" if False else "单位名称"] == "教育局"  # header synonym mapped
    assert rows[2].raw["工作单位"] == "教育局"  # raw values keep the file's header
    assert rows[2].birth_date.isoformat() == "1980-01-01" and rows[2].sex == "1"
    assert snap.file_sha256 and snap.raw_path and snap.batch_id and snap.is_current
    assert snap.problem_count == 1 and snap.id_stats["valid"] == 4


def test_xlsx_with_title_row_and_excel_numbers(tmp_path):
    number = ident("19800101", 11)
    path = _xlsx(tmp_path / "v.xlsx", ["序号", "车主", "身份证明号码", "车辆类型", "机动车状态", "住所地址"],
                 [[1, "张伟", number[:15] + "000", "小型轿车", "正常", "宜都市甲镇甲一村"],
                  [2, "李娜", ident("19750505", 31), "轻型普通货车", "正常", "宜都市甲镇甲二村"]], numeric_ids=(2,))
    snap = import_department(actor="test", source_code="vehicle", path=path)
    r1, r2 = StagedRecord.objects.filter(snapshot=snap).order_by("row_number")
    assert r1.row_number == 3 and r1.id_status == "truncated" and r1.id_clean == number[:15] + "000"
    assert r1.id_number == "" and "Excel" in r1.problem
    assert r2.id_status == "valid" and r2.data["车辆类型"] == "轻型普通货车"


def test_missing_required_column_is_refused_with_headers(tmp_path):
    path = write_csv(tmp_path / "bad.csv", ["序号", "车主", "车辆类型"], [[1, "张伟", "小型轿车"]])
    with pytest.raises(ImportRefused) as exc:
        import_department(actor="test", source_code="vehicle", path=path)
    text = exc.value.report()
    assert "车主" in text and "车辆类型" in text and "身份证明号码" in text
    assert not Snapshot.objects.exists() and not StagedRecord.objects.exists()


def test_unknown_source_is_refused(tmp_path):
    path = write_csv(tmp_path / "x.csv", ["姓名", "身份证号"], [["张伟", ident("19800101", 11)]])
    with pytest.raises(ServiceError, match="未知的数据源"):
        import_department(actor="test", source_code="nonsense", path=path)


def test_unreadable_rows_are_kept_and_reported(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["姓名", "身份证号", "保障类型"],
                     [["张伟", ident("19800101", 11), "农村低保"], ["", "", "农村低保"], ["李娜", "", "特困供养"]])
    snap = import_department(actor="test", source_code="dibao", path=path)
    assert snap.row_count == 3 and snap.unreadable_count == 1
    assert any("无法读取" in p[3] for p in snap.problems)
    assert StagedRecord.objects.filter(snapshot=snap, readable=False).count() == 1


def test_reload_replaces_current_snapshot_and_keeps_the_old(tmp_path):
    p1 = write_csv(tmp_path / "a.csv", ["姓名", "身份证号"], [["张伟", ident("19800101", 11)]])
    p2 = write_csv(tmp_path / "b.csv", ["姓名", "身份证号"], [["李娜", ident("19750505", 31)], ["王明", ""]])
    s1 = import_department(actor="test", source_code="land", path=p1)
    s2 = import_department(actor="test", source_code="land", path=p2)
    s1.refresh_from_db()
    assert not s1.is_current and s1.replaced_at and s2.is_current
    assert StagedRecord.objects.filter(snapshot=s1).count() == 1
    assert StagedRecord.objects.filter(snapshot__source__code="land", snapshot__is_current=True).count() == 2


def test_saved_mapping_reads_unusual_headers(tmp_path):
    source = source_get("forest")
    mapping_save(actor="test", source=source, name="林业局2016", mapping={"权利人名称": "林权权利人", "证件": "身份证号"},
                 is_default=True)
    path = write_csv(tmp_path / "f.csv", ["权利人名称", "证件", "面积"], [["张伟", ident("19800101", 11), "12.5"]])
    snap = import_department(actor="test", source_code="forest", path=path)
    rec = StagedRecord.objects.get(snapshot=snap)
    assert rec.name == "张伟" and rec.id_status == "valid" and rec.data["林地面积"] == "12.5"
    with pytest.raises(ServiceError):
        mapping_save(actor="test", source=source, name="bad", mapping={"x": "不存在的字段"})


def test_command_reports_and_fails_cleanly(tmp_path):
    from django.core.management import CommandError, call_command

    path = write_csv(tmp_path / "bad.csv", ["序号", "车主"], [[1, "张伟"]])
    with pytest.raises(CommandError) as exc:
        call_command("import_department", str(path), source="vehicle")
    assert "必需的列" in str(exc.value)
