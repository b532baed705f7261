"""Bank statements and the finance ledger: messy real files import whole; a bad file is refused whole with the
Chinese row report and writes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from openpyxl import Workbook

from fupin.core.errors import ImportRefused
from fupin.core.models import AuditEvent
from fupin.funds import imports, services
from fupin.funds.choices import LoanState
from fupin.funds.models import Loan, Payment, Repayment
from fupin.funds.tests.conftest import disbursed_loan

D = Decimal


def _xlsx(path, rows, title="宜都农商银行扶贫小额信贷还款流水(2026年6月)"):
    wb = Workbook()
    ws = wb.active
    ws.append([title])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


@pytest.fixture
def loans(rule, fund, bank, hh_a, hh_b, frozen):
    return disbursed_loan(hh_a, bank, amount=30000, term=12, on=dt.date(2025, 7, 1)), \
        disbursed_loan(hh_b, bank, amount=20000, term=24, on=dt.date(2025, 7, 1))


def test_messy_xlsx_statement_imports_and_closes_a_repaid_loan(loans, bank, users, tmp_path):
    a, b = loans
    path = _xlsx(tmp_path / "流水.xlsx", [
        ["借据号", "客户名称", "记账日期", "实还本金", "实还利息", "交易流水号"],
        [a.number, "张甲", "2026/3/21", "0", "￥356.25", "LS001"],
        [a.number, "张甲", dt.datetime(2026, 6, 1), "30,000.00", "300.00元", "LS002"],
        [b.number, "赵乙", "2026年3月21日", None, 237.5, "LS003"],
        [None, None, None, None, None, None],
    ])
    result = imports.import_statement(actor=users["county"], bank=bank, path=path)
    assert result == {"rows": 3, "loans": 2, "repaid": 1, "batch": result["batch"]}
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.state, a.principal_repaid, a.interest_paid, a.closed_on) == (LoanState.REPAID, D(30000), D("656.25"),
                                                                           dt.date(2026, 6, 1))
    assert (b.state, b.principal_repaid, b.interest_paid) == (LoanState.DISBURSED, D(0), D("237.50"))
    assert AuditEvent.objects.filter(action="batch.funds_statement").count() == 1
    assert set(Repayment.objects.values_list("bank_ref", flat=True)) == {"LS001", "LS002", "LS003"}


def test_gbk_csv_matched_by_id_number(loans, bank, users, tmp_path):
    a, _b = loans
    number = a.person.id_number
    text = "户名,身份证号码,交易日期,归还本金,归还利息,流水号\n" + f"张甲,{number},2026-06-01,1000,50,CSV1\n"
    path = tmp_path / "bank.csv"
    path.write_bytes(text.encode("gbk"))
    assert imports.import_statement(actor=users["county"], bank=bank, path=path)["rows"] == 1
    assert Loan.objects.get(pk=a.pk).principal_repaid == D(1000)


def test_bad_statement_is_refused_whole_with_a_chinese_row_report(loans, bank, users, tmp_path):
    a, b = loans
    imports.import_statement(actor=users["county"], bank=bank, path=_xlsx(tmp_path / "first.xlsx", [
        ["贷款编号", "还款日期", "本金", "利息", "流水号"], [b.number, "2026-03-21", 0, 100, "OLD1"]]))
    before = list(Repayment.objects.values_list("pk", flat=True))
    path = _xlsx(tmp_path / "bad.xlsx", [
        ["贷款编号", "还款日期", "本金", "利息", "流水号"],
        [a.number, "2026-06-01", 100, 10, "N1"],             # fine
        ["XD-NOPE", "2026-06-01", 100, 10, "N2"],            # no such loan
        [a.number, "下个月", 100, 10, "N3"],                  # date not understood
        [a.number, "2026-06-01", "一百", 10, "N4"],           # amount not a number
        [a.number, "2026-06-01", 100, 10, "N1"],             # duplicate reference in the file
        [b.number, "2026-06-01", 100, 10, "OLD1"],           # already imported
        [b.number, "2026-06-01", 25000, 0, "N5"],            # more principal than the loan
        [a.number, "2024-01-01", 100, 10, "N6"],             # before the loan was disbursed
        [a.number, "2026-06-01", -5, 0, "N7"],               # negative
    ])
    with pytest.raises(ImportRefused) as exc:
        imports.import_statement(actor=users["county"], bank=bank, path=path)
    report = exc.value.report()
    assert "共8处问题,数据库未作任何改动" in report
    for text in ("第4行「贷款编号」列值「XD-NOPE」", "第5行「日期」列值「下个月」:日期无效", "金额不是有效的数字",
                 "与第3行流水号重复", "该流水号已导入过", "累计还本超过贷款金额20000", "早于放款日期", "不能为负"):
        assert text in report, text
    assert list(Repayment.objects.values_list("pk", flat=True)) == before
    assert Loan.objects.get(pk=a.pk).principal_repaid == 0


def test_statement_refuses_missing_columns_and_loans_outside_jurisdiction(loans, bank, users, tmp_path):
    _a, b = loans
    with pytest.raises(ImportRefused, match="找不到必需的列"):
        imports.import_statement(actor=users["county"], bank=bank, path=_xlsx(tmp_path / "x.xlsx", [
            ["姓名", "金额"], ["张甲", 100]]))
    path = _xlsx(tmp_path / "b.xlsx", [["贷款编号", "还款日期", "本金", "利息"], [b.number, "2026-06-01", 0, 10]])
    with pytest.raises(ImportRefused, match="不在您的管辖范围内"):
        imports.import_statement(actor=users["town_a"], bank=bank, path=path)
    with pytest.raises(Exception, match="不能导入"):
        imports.import_statement(actor=users["village_a"], bank=bank, path=path)
    assert not Repayment.objects.exists()


def test_finance_ledger_import(county, hh_a, users, tmp_path, frozen):
    source = services.source_create(actor="test", year=2026, kind="integrated", name="2026年统筹整合涉农资金",
                                    document_no="宜财农〔2026〕8号", amount=500000)
    project = services.project_create(actor="test", name="通组公路", kind="infrastructure", year=2026,
                                      division=county["va1"], responsible_unit="交通局", mechanism="方便出行",
                                      targets=[{"indicator": "硬化公路", "value": "3公里"}])
    services.project_advance(actor="test", project=project, to_state="appraisal")
    services.beneficiary_add(actor="test", project=project, household=hh_a, how="infrastructure")
    services.notice_create(actor="test", project=project, kind="project", start_date=dt.date(2026, 5, 1),
                           end_date=dt.date(2026, 5, 10))
    services.project_advance(actor="test", project=project, to_state="notice")
    services.project_advance(actor="test", project=project, to_state="library")
    services.allocation_create(actor="test", source=source, project=project, amount=300000,
                               allocated_on=dt.date(2026, 5, 20))
    header = ["项目编号", "指标文号", "拨付金额", "拨付日期", "收款单位", "摘要", "记账凭证号"]
    bad = _xlsx(tmp_path / "bad.xlsx", [header,
                                        [project.code, "宜财农〔2026〕8号", "200,000", "2026-06-01", "路桥公司", "进度款", "记-1"],
                                        [project.code, "宜财农〔2026〕8号", "150000", "2026-06-05", "路桥公司", "进度款", "记-2"],
                                        ["XM-NONE", "宜财农〔2026〕8号", "1", "2026-06-05", "路桥公司", "", "记-3"]],
                title="县财政局扶贫资金支付台账")
    with pytest.raises(ImportRefused) as exc:
        imports.import_ledger(actor=users["county"], path=bad)
    assert "超过该笔下达资金的余额100000.00元" in exc.value.report() and "项目库中没有该项目编号" in exc.value.report()
    assert not Payment.objects.exists()
    good = _xlsx(tmp_path / "good.xlsx", [header,
                                          [project.code, "宜财农〔2026〕8号", "200,000", "2026-06-01", "路桥公司", "进度款", "记-1"],
                                          [project.code, "2026年统筹整合涉农资金", 100000, "2026/6/5", "路桥公司", "尾款", "记-2"]])
    assert imports.import_ledger(actor=users["county"], path=good)["rows"] == 2
    assert sum(Payment.objects.values_list("amount", flat=True)) == D(300000)
    with pytest.raises(Exception, match="县级"):
        imports.import_ledger(actor=users["town_a"], path=good)


def test_statement_and_ledger_pages_take_the_file_through_the_guarded_upload(loans, bank, users, tmp_path, client):
    """The two upload pages copy the file through fupin.core.uploads (a file that is no table is refused with a
    message, nothing written) and import the statement as the service does."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    a, _b = loans
    client.force_login(users["county"])
    r = client.post("/funds/risk/statement/", {"bank": bank.pk,
                                                "file": SimpleUploadedFile("流水.exe", b"MZ not a table")})
    assert r.status_code == 302 and not Repayment.objects.exists()
    assert any("流水.exe" in str(m) or ".exe" in str(m) for m in r.wsgi_request._messages)
    path = _xlsx(tmp_path / "流水.xlsx", [["借据号", "客户名称", "记账日期", "实还本金", "实还利息", "交易流水号"],
                                         [a.number, "张甲", "2026/3/21", "0", "356.25", "WEB1"]])
    r = client.post("/funds/risk/statement/", {"bank": bank.pk,
                                                "file": SimpleUploadedFile("流水.xlsx", path.read_bytes())})
    assert r.status_code == 302
    assert list(Repayment.objects.values_list("bank_ref", "interest")) == [("WEB1", D("356.25"))]
    r = client.post("/funds/sources/import/", {"file": SimpleUploadedFile("台账.txt", b"\xff\xfe\x00garbage\x00")})
    assert r.status_code == 302 and not Payment.objects.exists()
