"""Printable and spreadsheet forms of the funds app: notices (PDF in the embedded Chinese font, xlsx) and the
quarter's interest-subsidy payable list for the finance bureau. ID numbers are always masked in notices; the payable
list shows them in full only to roles that may see them."""

from __future__ import annotations

import io

from fupin.core import idnumber
from fupin.core.pdf import Document, cn_date
from fupin.funds.choices import NoticeKind
from fupin.funds.models import Notice, PayableList


def _beneficiary_rows(notice: Notice) -> list[list]:
    rows = []
    for i, b in enumerate(notice.project.beneficiaries.select_related("household").order_by("household__poor_code"),
                          start=1):
        head = b.household.members.filter(relationship="户主").values_list("id_number", flat=True).first() or ""
        rows.append([i, b.household.head_name, idnumber.mask(head) if head else "", b.household.poor_code or "",
                     b.get_how_display()])
    return rows


def notice_pdf(notice: Notice) -> bytes:
    doc = Document(title=notice.title, footer_note=notice.project.code)
    doc.heading(notice.title)
    doc.para(notice.text)
    if notice.kind == NoticeKind.PROJECT:
        rows = _beneficiary_rows(notice)
        if rows:
            doc.subheading("带动贫困户名单")
            doc.data_table(["序号", "户主", "身份证号", "户编号", "带贫方式"], rows, widths=(12, 30, 50, 40, 48))
    doc.ln(4)
    doc.para(f"公示期:{cn_date(notice.start_date)}至{cn_date(notice.end_date)}"
             f"(共{(notice.end_date - notice.start_date).days + 1}天)")
    doc.para(f"公示单位:{notice.project.division.full_name or notice.project.division.name}")
    doc.para(f"日期:{cn_date(notice.start_date)}", align="R")
    return doc.to_bytes()


def notice_xlsx(notice: Notice) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "公示"
    ws.append([notice.title])
    for line in notice.text.splitlines():
        ws.append([line])
    ws.append([f"公示期:{notice.start_date}至{notice.end_date}"])
    if notice.kind == NoticeKind.PROJECT:
        sheet = wb.create_sheet("带动贫困户")
        sheet.append(["序号", "户主", "身份证号", "户编号", "带贫方式"])
        for row in _beneficiary_rows(notice):
            sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def payable_xlsx(pl: PayableList, user) -> bytes:
    """贴息资金拨付清单: one row per loan, with the totals; for the finance bureau."""
    from openpyxl import Workbook

    full = bool(getattr(user, "may_view_full_id", False))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(f"{pl.period}贴息")
    ws.append([f"扶贫小额信贷贴息资金拨付清单({pl.period})"])
    ws.append(["序号", "贷款编号", "乡镇", "村", "借款人", "身份证号", "银行", "贷款金额", "年利率%", "本季利息", "贴息比例",
               "应付贴息"])
    subsidies = (pl.subsidies.restrict(user).select_related("loan__person", "loan__bank", "loan__household__village__parent")
                 .order_by("loan__area_code", "loan__number"))
    total = 0
    for i, s in enumerate(subsidies.iterator(chunk_size=2000), start=1):
        loan = s.loan
        village = loan.household.village
        number = loan.person.id_number
        ws.append([i, loan.number, village.parent.name if village.parent else "", village.name, loan.person.name,
                   number if full else idnumber.mask(number), loan.bank.name, float(loan.amount), float(loan.rate),
                   float(s.interest), float(loan.subsidy_share), float(s.amount)])
        total += s.amount
    ws.append(["合计", "", "", "", "", "", "", "", "", "", "", float(total)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
