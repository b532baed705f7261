"""Printed outputs of the registry's procedures: the public notice list (公示名单, PDF and xlsx) and the household's
assistance card (明白卡, PDF). Both are Chinese documents whatever the user's page language."""

from __future__ import annotations

import io
from decimal import Decimal

from django.utils import timezone, translation

from fupin.core.exportcells import xlsx_workbook
from fupin.core.exportlog import watermark
from fupin.core.pdf import Document, cn_date
from fupin.lifecycle import hooks, selectors
from fupin.lifecycle.choices import Status
from fupin.lifecycle.definitions import GUARANTEES, PROCEDURES
from fupin.lifecycle.models import ProcedureBatch
from fupin.lifecycle.services import kind_name as _kind_name


def _kind(kind: str) -> str:
    with translation.override("zh-hans"):
        return _kind_name(kind)


NOTICE_HEADERS = ["序号", "乡镇", "村", "户编号", "户主姓名", "户主身份证号", "家庭人口", "贫困户属性", "主要致贫原因"]
NOTICE_WIDTHS = [12, 24, 26, 40, 22, 44, 16, 36, 36]
# What the notice rests on, as said in its opening sentence.
NOTICE_BASIS = {
    ("identification", "first_notice"): "经农户申请、入户核实和村民代表评议",
    ("identification", "second_notice"): "经乡镇审核和部门信息比对",
    ("exit", "notice"): "经村两委评议、驻村工作队核实和农户认可",
    ("return_to_poverty", "notice"): "经农户申请、入户核实和村民代表评议",
    ("monitoring_entry", "notice"): "经入户核查、信息比对和民主评议",
    ("monitoring_exit", "notice"): "经入户核查和民主评议",
}


def notice_title(batch: ProcedureBatch, step_code: str, village: str = "") -> str:
    with translation.override("zh-hans"):
        label = str(PROCEDURES[batch.kind].step(step_code).label)
    return f"{batch.year}年{batch.town.name}{village}{_kind(batch.kind)}{label}名单"


def notice_pdf(*, user, batch: ProcedureBatch, step_code: str) -> bytes:
    """One page (or more) per village: title, notice period, the households, how to object, signature lines."""
    sections = selectors.notice_sections(user=user, batch=batch, step_code=step_code)
    doc = Document(title=notice_title(batch, step_code), orientation="L", watermark=watermark(user),
                   footer_note=f"{batch.name} · 打印于{cn_date(timezone.localdate())}")
    if not sections:
        doc.heading(notice_title(batch, step_code))
        doc.para("本批次尚无已公示的农户。")
    for i, sec in enumerate(sections):
        if i:
            doc.add_page()
        doc.heading(notice_title(batch, step_code, sec.village))
        days = (sec.until - sec.start).days + 1
        doc.para(f"根据{_kind(batch.kind)}工作程序,{NOTICE_BASIS.get((batch.kind, step_code), '经评议')},现将{sec.village}"
                 f"以下{len(sec.rows)}户予以公示。公示时间:{cn_date(sec.start)}至{cn_date(sec.until)}(共{days}天)。", size=10.5)
        doc.ln(2)
        rows = [[n, r.town, r.village, r.code, r.head, r.id_number, r.size, r.attribute, r.cause]
                for n, r in enumerate(sec.rows, start=1)]
        doc.data_table(NOTICE_HEADERS, rows, widths=NOTICE_WIDTHS)
        doc.ln(3)
        doc.para("公示期间,如对公示对象有异议,请以书面或口头形式向村民委员会、驻村工作队或乡镇扶贫工作站反映。"
                 "反映问题须实事求是,署名反映的将予以保密。监督电话:________________", size=10)
        doc.signature_lines(["村民委员会(盖章)", "驻村工作队", "乡镇扶贫工作站"])
    return doc.to_bytes()


def notice_xlsx(*, user, batch: ProcedureBatch, step_code: str) -> bytes:
    """The same list as a workbook: a title row, the notice period, one row per household."""

    sections = selectors.notice_sections(user=user, batch=batch, step_code=step_code)
    buffer = io.BytesIO()
    wb = xlsx_workbook(buffer, {"in_memory": True})
    ws = wb.add_worksheet("公示名单")
    title = wb.add_format({"bold": True, "font_size": 14, "align": "center"})
    head = wb.add_format({"bold": True, "border": 1, "bg_color": "#EBEEF2", "align": "center"})
    cell = wb.add_format({"border": 1})
    text = wb.add_format({"border": 1, "num_format": "@"})
    headers = [*NOTICE_HEADERS, "公示开始", "公示结束"]
    ws.merge_range(0, 0, 0, len(headers) - 1, notice_title(batch, step_code), title)
    ws.write(1, 0, f"批次:{batch.name};导出时间:{timezone.localtime():%Y-%m-%d %H:%M}")
    for c, h in enumerate(headers):
        ws.write(2, c, h, head)
    widths = [6, 10, 12, 20, 10, 22, 8, 14, 14, 12, 12]
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    r = 3
    n = 0
    for sec in sections:
        for row in sec.rows:
            n += 1
            values = [n, row.town, row.village, row.code, row.head, row.id_number, row.size, row.attribute,
                      row.cause, sec.start.isoformat(), sec.until.isoformat()]
            for c, v in enumerate(values):
                # 户编号 and ID numbers are text: Excel must not turn them into numbers.
                ws.write_string(r, c, str(v), text) if c in (3, 5) else ws.write(r, c, v, cell)
            r += 1
    ws.freeze_panes(3, 0)
    wb.close()
    return buffer.getvalue()


def _label(key: str, code: str) -> str:
    return selectors.code_labels(key).get(code or "", code or "")


def _money(value) -> str:
    if value in (None, ""):
        return ""
    return f"{Decimal(value):,.2f}"


def _yes_no(value) -> str:
    return "" if value is None else ("是" if value else "否")


def household_card_pdf(*, user, household) -> bytes:
    """The 明白卡: who the household is, why it is poor, how it lives, its income against the line, its status,
    and the cadre, plan and policies (filled by later capabilities through hooks.register_card_section; blank lines
    for hand-filling meanwhile)."""
    from fupin.core import idviews
    from fupin.registry.models import PovertyLine

    hh = household
    village = hh.village
    town = village.parent.name if village.parent_id else ""
    doc = Document(title=f"{hh.head_name}户扶贫明白卡", footer_note=f"{town}{village.name} · 户编号 {hh.poor_code or '—'}",
                   watermark=watermark(user))
    doc.heading("精准扶贫明白卡", size=18)
    doc.para(f"{town} {village.name}{(' ' + hh.group_name) if hh.group_name else ''}    户编号:{hh.poor_code or '(未编号)'}"
             f"    打印日期:{cn_date(timezone.localdate())}", align="C")
    doc.ln(2)

    doc.subheading("一、家庭基本情况")
    doc.field_grid([
        ("户主", hh.head_name), ("联系电话", hh.phone), ("家庭人口", f"{hh.size}人"),
        ("住址", hh.address or f"{town}{village.name}"),
        ("识别标准", _label("standard", hh.identification_standard)), ("贫困户属性", _label("attribute", hh.attribute)),
        ("脱贫状态", _label("status", hh.poverty_status) or ("非建档立卡户" if not hh.is_registered_poor else "")),
        ("识别年度", hh.year_identified or ""), ("脱贫年度", hh.year_exited or ""),
        ("监测对象", _label("monitoring_category", hh.monitoring_category) or "否"),
    ])
    members = list(hh.members.filter(is_alive=True).order_by("id"))
    rows = []
    for p in members:
        number = p.id_number or ""
        health = "、".join(_label("health", h) for h in (p.health or []))
        school = _label("schooling", p.schooling) if p.schooling else _label("education", p.education)
        rows.append([p.name, p.relationship, _label("sex", p.sex), p.birth_date.isoformat() if p.birth_date else "",
                     idviews.shown(number, user), health, _label("labour", p.labour_skill), school])
    doc.ln(2)
    doc.para(f"家庭成员({len(members)}人)")
    doc.data_table(["姓名", "与户主关系", "性别", "出生日期", "证件号码", "健康状况", "劳动技能", "文化程度/在校"],
                   rows, widths=[18, 20, 10, 22, 40, 24, 26, 20])

    doc.subheading("二、致贫原因")
    others = "、".join(_label("cause", c) for c in (hh.other_causes or []))
    doc.field_grid([("主要致贫原因", _label("cause", hh.main_cause)), ("其他致贫原因", others)])

    doc.subheading("三、生产生活条件")
    doc.field_grid([
        ("耕地(亩)", hh.land_cultivated or ""), ("林地(亩)", hh.land_forest or ""),
        ("住房面积(㎡)", hh.housing_area or ""), ("住房结构", _label("housing_structure", hh.housing_structure)),
        ("危房等级", _label("dilapidated", hh.dilapidated_grade) or "否"), ("饮水安全", _yes_no(hh.drinking_safe)),
        ("饮水来源", _label("water_source", hh.water_source)), ("卫生厕所", _yes_no(hh.sanitary_toilet)),
        ("距村主干路(公里)", hh.road_distance_km or ""), ("生产用电", _yes_no(hh.production_power)),
    ])

    doc.subheading("四、收入情况")
    year = hh.income_year
    line = PovertyLine.objects.filter(year=year).values_list("amount", flat=True).first() if year else None
    transfers = sum(Decimal(getattr(hh, f) or 0) for f in ("transfer_family_planning", "transfer_dibao",
                                                            "transfer_wubao", "transfer_pension", "transfer_eco",
                                                            "transfer_other"))
    per_capita = Decimal(hh.per_capita_net_income or 0)
    if line is None:
        compare = f"未设置{year}年贫困线" if year else "未登记收入"
    elif per_capita > line:
        compare = f"高于贫困线{_money(per_capita - line)}元"
    else:
        compare = f"低于(或等于)贫困线,差{_money(line - per_capita)}元"
    doc.field_grid([
        ("收入年度", year or ""), ("工资性收入", _money(hh.income_wages)),
        ("生产经营性收入", _money(hh.income_business)), ("生产经营支出", _money(hh.cost_business)),
        ("财产性收入", _money(hh.income_property)), ("转移性收入", _money(transfers)),
        ("家庭纯收入", _money(hh.net_income)), ("人均纯收入", _money(per_capita)),
        (f"{year or ''}年贫困线", _money(line) if line is not None else ""), ("对比", compare),
    ])

    exit_check = _latest_exit_verification(hh)
    if exit_check is not None:
        doc.subheading("五、两不愁三保障(退出核实)")
        with translation.override("zh-hans"):
            pairs = [(str(label), "已确认" if exit_check.data.get("guarantees", {}).get(key) else "")
                     for key, label in GUARANTEES]
        pairs.append(("核实日期", exit_check.date.isoformat()))
        doc.field_grid(pairs)

    sections = {}
    for fn in hooks.card_sections():
        sec = fn(hh)
        if sec:
            sections[sec.get("key", sec.get("title"))] = sec
    number = 6 if exit_check is not None else 5
    for key, title in (("cadre", "帮扶责任人"), ("plan", "帮扶计划"), ("policies", "帮扶措施与享受政策")):
        doc.subheading(f"{'一二三四五六七八九十'[number - 1]}、{title}")
        number += 1
        sec = sections.pop(key, None)
        if sec and sec.get("rows"):
            doc.field_grid([(str(a), str(b)) for a, b in sec["rows"]])
        else:
            doc.blank_lines("", lines=2 if key == "cadre" else 3)
    for sec in sections.values():
        doc.subheading(f"{'一二三四五六七八九十'[min(number, 10) - 1]}、{sec.get('title', '')}")
        number += 1
        doc.field_grid([(str(a), str(b)) for a, b in sec.get("rows", [])])

    procs = list(hh.procedures.order_by("started_on"))
    if procs:
        doc.subheading("办理记录")
        rows = [[_kind(p.kind), p.started_on.isoformat(), p.finished_on.isoformat() if p.finished_on else "",
                 Status(p.status).label if p.status != Status.OPEN else f"办理中({_step_label(p)})"]
                for p in procs]
        with translation.override("zh-hans"):
            rows = [[*r[:3], str(r[3])] for r in rows]
        doc.data_table(["程序", "开始", "办结", "状态"], rows, widths=[40, 30, 30, 80])
    doc.signature_lines(["户主(签字或按手印)", "帮扶责任人"], date_line=True)
    return doc.to_bytes()


def _step_label(proc) -> str:
    with translation.override("zh-hans"):
        return str(proc.current_step_def.label) if proc.current_step else ""


def _latest_exit_verification(hh):
    from fupin.lifecycle.models import ProcedureStep

    return (ProcedureStep.objects.filter(procedure__household=hh, procedure__kind="exit", step="team_verification",
                                         decision="approve").order_by("-date", "-seq").first())

