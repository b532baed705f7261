"""The 民情 analysis report for the regular analysis meeting (民情分析会): a PDF (Chinese font through
`fupin.core.pdf` when that module is present), an xlsx workbook, and a print-friendly page (the template)."""

from __future__ import annotations

import io
from importlib.util import find_spec

from django.utils import timezone

from fupin.core.exportcells import xlsx_workbook
from fupin.dispatch.choices import Category, Channel, Urgency


def pdf_available() -> bool:
    return find_spec("fupin.core.pdf") is not None


def _title(ctx: dict) -> str:
    scope = ctx.get("scope_name") or ""
    return f"{scope}民情分析报告({ctx['start']:%Y年%m月%d日}至{ctx['end']:%Y年%m月%d日})"


def _summary(ctx: dict) -> str:
    d = ctx["data"]
    top = "、".join(f"{r['label']}{r['count']}件" for r in d["by_category"][:3]) or "无"
    return (f"本期共收集民情{d['total']}件,其中紧急{d['urgent']}件;已答复{d['answered']}件,答复率{d['answered_percent']}%;"
            f"反映较多的是:{top}。")


def _report_rows(reports) -> list[list[str]]:
    labels, channels, urgencies = dict(Category.choices), dict(Channel.choices), dict(Urgency.choices)
    return [[r.number or "", f"{timezone.localtime(r.reported_at):%Y-%m-%d}", str(labels.get(r.category, "")),
             str(urgencies.get(r.urgency, "")), str(channels.get(r.channel, "")),
             (str(r.household) if r.household_id else r.place)[:20], r.content[:80]] for r in reports]


def analysis_pdf(ctx: dict) -> bytes:
    from fupin.core.pdf import Document

    d = ctx["data"]
    doc = Document(title=_title(ctx), footer_note="民情分析会材料")
    doc.heading(_title(ctx))
    doc.para(f"生成时间:{ctx['generated_at']:%Y-%m-%d %H:%M}", size=9, align="R")
    doc.subheading("一、总体情况")
    doc.para(_summary(ctx))
    doc.subheading("二、按类别")
    doc.data_table(["类别", "件数", "已答复", "答复率"],
                   [[r["label"], r["count"], r["answered"], f"{r['percent']}%"] for r in d["by_category"]],
                   widths=[60, 30, 30, 30])
    doc.subheading("三、按地区(乡镇)" if d["area_level"] == "town" else "三、按地区(村)")
    doc.data_table(["地区", "件数", "已答复", "答复率"],
                   [[r["label"], r["count"], r["answered"], f"{r['percent']}%"] for r in d["by_area"]],
                   widths=[60, 30, 30, 30])
    doc.subheading("四、按月份")
    doc.data_table(["月份", "件数", "已答复", "答复率"],
                   [[r["label"], r["count"], r["answered"], f"{r['percent']}%"] for r in d["by_month"]],
                   widths=[60, 30, 30, 30])
    headers = ["编号", "日期", "类别", "紧急", "渠道", "农户/地点", "内容"]
    widths = [30, 20, 18, 12, 18, 24, 58]
    doc.subheading("五、紧急民情")
    doc.data_table(headers, _report_rows(ctx["urgent"]) or [["—"] * 7], widths=widths, size=8, align="LEFT")
    doc.subheading("六、尚未答复的民情(须在会上明确责任人)")
    doc.data_table(headers, _report_rows(ctx["waiting"]) or [["—"] * 7], widths=widths, size=8, align="LEFT")
    doc.subheading("七、会议研判意见")
    doc.blank_lines("", lines=5)
    doc.signature_lines(["主持人", "记录人"])
    return doc.to_bytes()


def analysis_xlsx(ctx: dict) -> bytes:

    d = ctx["data"]
    out = io.BytesIO()
    book = xlsx_workbook(out, {"in_memory": True})
    title = book.add_format({"bold": True, "font_size": 14})
    head = book.add_format({"bold": True, "bg_color": "#EBEEF2", "border": 1})
    cell = book.add_format({"border": 1})
    sheet = book.add_worksheet("汇总")
    sheet.write(0, 0, _title(ctx), title)
    sheet.write(1, 0, _summary(ctx))
    row = 3
    for caption, table in (("按类别", d["by_category"]), ("按地区", d["by_area"]), ("按月份", d["by_month"])):
        sheet.write(row, 0, caption, title)
        row += 1
        for col, h in enumerate(["项目", "件数", "已答复", "答复率%"]):
            sheet.write(row, col, h, head)
        row += 1
        for r in table:
            for col, value in enumerate([r["label"], r["count"], r["answered"], r["percent"]]):
                sheet.write(row, col, value, cell)
            row += 1
        row += 1
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 3, 10)
    for name, reports in (("紧急民情", ctx["urgent"]), ("未答复民情", ctx["waiting"])):
        ws = book.add_worksheet(name)
        for col, h in enumerate(["编号", "日期", "类别", "紧急程度", "渠道", "农户/地点", "内容"]):
            ws.write(0, col, h, head)
        for i, r in enumerate(_report_rows(reports), start=1):
            for col, value in enumerate(r):
                ws.write(i, col, value, cell)
        ws.set_column(0, 0, 18)
        ws.set_column(5, 5, 20)
        ws.set_column(6, 6, 60)
    book.close()
    return out.getvalue()
