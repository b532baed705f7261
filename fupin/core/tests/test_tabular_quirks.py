"""The one tabular reader on real export quirks: split workbooks, footer and note rows, every common date form.

Files are written here with xlsxwriter and csv, never by the code under test.
"""

import csv
import datetime as dt

import pytest

from fupin.core.dates import DateError, parse_date
from fupin.core.errors import ImportRefused
from fupin.core.tabular import ReadReport, TableSpec, read_rows, read_table, skip_kind

SPEC = TableSpec(columns={"姓名": ["户主姓名"], "证件号码": ["身份证号"], "日期": ["登记日期"]}, required=["姓名", "证件号码"])
HEADER = ["序号", "姓名", "身份证号", "登记日期"]


def _book(path, sheets: dict[str, list[list]], *, dates: dict | None = None, merges: dict | None = None):
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if isinstance(v, dt.date):
                    ws.write_datetime(i, j, dt.datetime.combine(v, dt.time()), date_fmt)
                elif isinstance(v, (int, float)):
                    ws.write_number(i, j, v)
                elif v not in ("", None):
                    ws.write_string(i, j, str(v))
        for (r1, c1, r2, c2, text) in (merges or {}).get(name, []):
            ws.merge_range(r1, c1, r2, c2, text)
    wb.close()
    return path


def _rows(n0, n, prefix="人"):
    return [[i, f"{prefix}{i}", f"ID{i:04d}", "2015-03-02"] for i in range(n0, n0 + n)]


# -- dates ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "2015-03-02", "2015/3/2", "2015.3.2", "2015年3月2日", "2015 年 3 月 2 日", "20150302", 20150302, 42065, 42065.0,
    "42065", "２０１５年３月２日", "2015-03-02 00:00:00", "2015/03/02T00:00", dt.date(2015, 3, 2),
    dt.datetime(2015, 3, 2, 0, 0), "2015-3-2",
])
def test_every_common_date_form(value):
    assert parse_date(value) == dt.date(2015, 3, 2)


def test_unambiguous_day_month_forms_and_empty():
    assert parse_date("25/3/2015") == dt.date(2015, 3, 25)
    assert parse_date("3/25/2015") == dt.date(2015, 3, 25)
    assert parse_date("3/3/2015") == dt.date(2015, 3, 3)
    assert parse_date("") is None and parse_date(None) is None


@pytest.mark.parametrize("value", ["03/02/2015", "3/2/2015", "03-02-2015", "3.2.2015"])
def test_day_month_ambiguity_is_refused_not_guessed(value):
    with pytest.raises(DateError) as exc:
        parse_date(value)
    assert exc.value.code == "ambiguous"
    assert "2015年3月2日" in exc.value.message and "2015年2月3日" in exc.value.message


@pytest.mark.parametrize("value", ["2015-02-30", "abc", "15-3-2", "2015年3月", "9999-01-01", True, "12"])
def test_what_is_no_date_is_refused(value):
    with pytest.raises(DateError) as exc:
        parse_date(value)
    assert exc.value.code == "unreadable"


# -- sheets --------------------------------------------------------------------------------------------------------

def test_rows_split_over_sheets_with_the_same_header_are_all_read(tmp_path):
    path = _book(tmp_path / "split.xlsx", {
        "第1页": [["宜都市车辆登记信息"], HEADER, *_rows(1, 3)],
        "第2页": [HEADER, *_rows(4, 2)],
        "第3页": [["序号", "户主姓名", "身份证号", "登记日期"], *_rows(6, 1)],  # same columns, a synonym header
    }, merges={"第1页": [(0, 0, 0, 3, "宜都市车辆登记信息")]})
    report = ReadReport()
    headers, rows = read_table(path, SPEC, report=report)
    got = [(n, r["姓名"]) for n, r in rows]
    assert headers == HEADER
    assert got == [(3, "人1"), (4, "人2"), (5, "人3"), (2, "人4"), (3, "人5"), (2, "人6")]
    assert [(s["name"], s["read"], s["rows"]) for s in report.sheets] == [("第1页", True, 3), ("第2页", True, 2),
                                                                          ("第3页", True, 1)]


def test_a_sheet_with_another_header_is_reported_not_read(tmp_path):
    path = _book(tmp_path / "mixed.xlsx", {
        "第1页": [HEADER, *_rows(1, 2)],
        "汇总": [["乡镇", "车辆数"], ["红花套镇", 12]],
        "空白": [],
        "第2页": [HEADER, *_rows(3, 1)],
    })
    report = ReadReport()
    _, _, rows = read_rows(path, SPEC, report=report)
    assert [r.cells[1] for r in rows] == ["人1", "人2", "人3"]
    by_name = {s["name"]: s for s in report.sheets}
    assert by_name["汇总"]["read"] is False and "没有找到表头" in by_name["汇总"]["reason"]
    assert "乡镇" in by_name["汇总"]["reason"]
    assert by_name["空白"]["reason"] == "空表"
    lines = report.sheet_lines()
    assert any("汇总" in line and "未读取" in line for line in lines)

    other = _book(tmp_path / "other.xlsx", {
        "第1页": [HEADER, *_rows(1, 1)],
        "第2页": [["姓名", "身份证号", "单位"], ["某人", "ID", "某单位"]],  # the required columns, other columns
    })
    report = ReadReport()
    _, _, rows = read_rows(other, SPEC, report=report)
    assert [r.cells[1] for r in rows] == ["人1"]
    assert report.sheets[1]["read"] is False and "表头与「第1页」不同" in report.sheets[1]["reason"]


def test_a_chosen_sheet_is_the_only_one_read(tmp_path):
    path = _book(tmp_path / "pick.xlsx", {"说明": [["本表说明"]], "第1页": [HEADER, *_rows(1, 2)],
                                          "第2页": [HEADER, *_rows(3, 2)]})
    report = ReadReport()
    _, rows = read_table(path, SPEC, sheet="第2页", report=report)
    assert [r["姓名"] for _, r in rows] == ["人3", "人4"]
    assert {s["name"]: s["reason"] for s in report.sheets if not s["read"]} == {"说明": "未选择", "第1页": "未选择"}
    _, rows = read_table(path, SPEC, sheet="2")  # by number, counted from 1
    assert [r["姓名"] for _, r in rows] == ["人1", "人2"]
    with pytest.raises(ImportRefused) as exc:
        read_table(path, SPEC, sheet="第9页")
    assert "没有名为「第9页」的工作表" in exc.value.problems[0].problem and "第1页" in exc.value.problems[0].problem


def test_a_first_sheet_without_the_header_is_reported_and_the_next_read(tmp_path):
    path = _book(tmp_path / "notes_first.xlsx", {"填表说明": [["请按要求填写"], ["不要改表头"]],
                                                 "数据": [HEADER, *_rows(1, 1)]})
    report = ReadReport()
    _, rows = read_table(path, SPEC, report=report)
    assert [r["姓名"] for _, r in rows] == ["人1"]
    assert report.sheets[0]["read"] is False


def test_no_sheet_with_the_required_columns_is_refused_with_the_headers_seen(tmp_path):
    path = _book(tmp_path / "none.xlsx", {"第1页": [["乡镇", "人数"], ["甲", 1]], "第2页": [["村", "户数"]]})
    with pytest.raises(ImportRefused) as exc:
        read_table(path, SPEC)
    assert "乡镇" in exc.value.problems[0].problem and "证件号码" in exc.value.problems[0].problem


# -- footer and note rows ------------------------------------------------------------------------------------------

FOOTERS = ["合计", "总计", "小计", "制表人:张三", "审核人:李四", "填报人:王五", "数据截至2016年12月31日", "备注:无",
           "说明:本表由公安局提供"]


@pytest.mark.parametrize("text", FOOTERS)
def test_each_footer_word_is_recognised(text):
    assert skip_kind([text, "", "", "12"], after_blank=False) == "footer"
    assert skip_kind(["", text], after_blank=False) == "footer"


def test_data_rows_are_not_footers():
    assert skip_kind([1, "张三", "ID", "2015-03-02"], after_blank=False) is None
    assert skip_kind([1, "张三", "ID", "2015-03-02"], after_blank=True) is None
    assert skip_kind(["", "张三", "", ""], after_blank=False) is None  # a sparse data row is data (flagged later)
    assert skip_kind(["", "张三", "", ""], after_blank=True) == "note"
    for name in ("制表厂有限公司", "说明书印刷厂", "审核通过", "合作社"):  # a company name is no footer word
        assert skip_kind([name, "张三", "ID", ""], after_blank=False) is None


def test_footer_rows_in_an_xlsx_are_skipped_and_listed(tmp_path):
    rows = [["宜都市财政供养人员"], HEADER, *_rows(1, 2), ["小计", "", "", ""], *_rows(3, 1),
            ["合计", "", "", 3], [], ["制表人:张三", "", "审核人:李四", ""], ["数据截至2016年12月31日"],
            [], ["注:本表不含临时工"], ["备注", "以上人员均已核对"], ["说明:如有疑问请联系"]]
    path = _book(tmp_path / "footed.xlsx", {"Sheet1": rows},
                 merges={"Sheet1": [(0, 0, 0, 3, "宜都市财政供养人员")]})
    report = ReadReport()
    _, out = read_table(path, SPEC, report=report)
    assert [r["姓名"] for _, r in out] == ["人1", "人2", "人3"]
    skipped = {row: kind for _sheet, row, kind, _text in report.skipped}
    assert skipped == {5: "footer", 7: "footer", 9: "footer", 10: "footer", 12: "footer", 13: "footer",
                       14: "footer"}
    texts = [t for *_, t in report.skipped]
    assert "制表人:张三 审核人:李四" in texts
    assert any("已跳过" in line and "合计" in line for line in report.skipped_lines())


def test_text_after_an_empty_row_and_merged_notes_are_skipped_in_a_csv(tmp_path):
    path = tmp_path / "notes.csv"
    with open(path, "w", encoding="gb18030", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(_rows(1, 2))
        w.writerow(HEADER)  # the header repeated (a printed export)
        w.writerows(_rows(3, 1))
        w.writerow([])
        w.writerow(["", "以上数据仅供扶贫核查使用", "", ""])
        w.writerow(["本表共三人", "本表共三人", "本表共三人", "本表共三人"])  # a merged note, filled across
    report = ReadReport()
    _, out = read_table(path, SPEC, report=report)
    assert [r["姓名"] for _, r in out] == ["人1", "人2", "人3"]
    assert [(row, kind) for _s, row, kind, _t in report.skipped] == [(4, "header"), (7, "note"), (8, "note")]


def test_merged_cells_are_filled_on_every_sheet(tmp_path):
    path = _book(tmp_path / "merged.xlsx", {
        "第1页": [HEADER, [1, "人1", "ID1", "2015-03-02"]],
        "第2页": [["宜都市登记(续)"], HEADER, [2, "人2", "ID2", ""], [3, "人3", "ID3", ""]],
    }, merges={"第2页": [(0, 0, 0, 3, "宜都市登记(续)"), (2, 3, 3, 3, "2015年3月2日")]})  # one date for two rows
    _, rows = read_table(path, SPEC)
    assert [(r["姓名"], r["日期"]) for _, r in rows] == [("人1", "2015-03-02"), ("人2", "2015年3月2日"),
                                                        ("人3", "2015年3月2日")]
