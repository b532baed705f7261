"""Every bulk export of people's data goes through fupin.core.exportlog: the sweep lists each export view and checks
it is wrapped; the wrapper records (who, filter, how many, full IDs), limits, holds for approval and watermarks
(xlsx: page header, footer and properties; pdf: every page's footer and the document's subject)."""

import io
from importlib import import_module

import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.http import FileResponse, HttpResponse
from django.test import RequestFactory
from openpyxl import Workbook, load_workbook

from fupin.core import exportlog
from fupin.core.models import AuditEvent
from fupin.core.testing import make_user

pytestmark = pytest.mark.django_db

# (module, view): every export view that answers a whole file naming people
EXPORT_VIEWS = [
    ("fupin.funds.views", "notice_pdf"), ("fupin.funds.views", "notice_xlsx"), ("fupin.funds.views", "payable_xlsx"),
    ("fupin.assessment.views", "ranking_xlsx"), ("fupin.assessment.views", "leader_pdf"),
    ("fupin.dispatch.views", "minqing_analysis_xlsx"), ("fupin.dispatch.views", "minqing_analysis_pdf"),
    ("fupin.lifecycle.views", "notice_pdf"), ("fupin.lifecycle.views", "notice_xlsx"),
    ("fupin.surveys.views", "export_xlsx"),
]


@pytest.mark.parametrize(("module", "name"), EXPORT_VIEWS)
def test_each_export_view_is_accountable(module, name):
    assert getattr(getattr(import_module(module), name), "export_kind", None)


def _request(user, path="/x/export.xlsx?village=1"):
    request = RequestFactory().get(path)
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def _xlsx_bytes(rows):
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "户编号"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _pdf_has(content: bytes, text: str) -> bool:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    return text in (reader.metadata.subject or "")


@pytest.fixture
def user(county):
    return make_user("exporter", "town_staff", division=county["town_a"], display_name="李导出")


def test_an_xlsx_is_recorded_counted_and_watermarked(user):
    view = exportlog.accountable("test.list", "测试名单")(lambda r: HttpResponse(
        _xlsx_bytes([["张三", "A1"], ["李四", "A2"], ["王五", "A3"]]), content_type=exportlog.XLSX_TYPE))
    response = view(_request(user))
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    assert "李导出(exporter)" in wb.active.oddFooter.right.text and "李导出" in wb.properties.description
    event = AuditEvent.objects.get(action="export.test.list")
    assert event.actor == user and event.after["people"] == 3 and event.after["url"] == "/x/export.xlsx?village=1"
    assert event.after["full_ids"] is bool(user.may_view_full_id)  # what the exporter may see


def test_a_pdf_carries_the_watermark_and_counts_its_table_rows(user):
    from fupin.core.pdf import Document

    def view(request):
        doc = Document(title="名单")
        doc.data_table(["姓名"], [["张三"], ["李四"]])
        return HttpResponse(doc.to_bytes(), content_type="application/pdf")

    response = exportlog.accountable("test.pdf", "测试PDF", full_ids=False)(view)(_request(user))
    assert _pdf_has(response.content, "李导出(exporter)")
    assert AuditEvent.objects.get(action="export.test.pdf").after["people"] == 2
    # outside an export view a document carries no watermark of its own
    assert Document(title="x").watermark == ""


def test_a_file_response_is_read_whole_and_pages_pass_through(user, tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(_xlsx_bytes([["张三", "A1"]]))
    view = exportlog.accountable("test.file", "文件")(
        lambda r: FileResponse(open(path, "rb"), as_attachment=True, filename="a.xlsx"))
    response = view(_request(user))
    assert "attachment" in response["Content-Disposition"]
    assert "李导出" in load_workbook(io.BytesIO(response.content)).properties.description
    page = exportlog.accountable("test.page", "页面")(lambda r: HttpResponse("<p>表单</p>"))(_request(user))
    assert page.content == b"<p>\xe8\xa1\xa8\xe5\x8d\x95</p>"
    assert not AuditEvent.objects.filter(action="export.test.page").exists()


def test_above_the_limit_the_export_waits_and_nothing_leaves(user, settings):
    settings.FUPIN_EXPORT_APPROVAL_PEOPLE = 2
    view = exportlog.accountable("test.big", "大名单")(lambda r: HttpResponse(
        _xlsx_bytes([["张三", "A1"], ["李四", "A2"], ["王五", "A3"]]), content_type=exportlog.XLSX_TYPE))
    response = view(_request(user))
    assert response.status_code == 302 and response["Location"].startswith("/exports/request/")
    assert not AuditEvent.objects.filter(action="export.test.big").exists()
    settings.FUPIN_EXPORT_APPROVAL_PEOPLE = 0
    settings.FUPIN_EXPORT_RATE_PER_HOUR = 1
    assert view(_request(user)).status_code == 200
    refused = view(_request(user))
    assert refused.status_code == 302 and refused["Location"] == "/"


def test_the_dispatch_analysis_exports_through_the_wrapper(client, county):
    office = make_user("office", "city_office", division=county["county"], display_name="县办")
    client.force_login(office)
    xlsx = client.get("/dispatch/minqing/analysis.xlsx")
    assert xlsx.status_code == 200
    assert "县办(office)" in load_workbook(io.BytesIO(xlsx.content)).properties.description
    pdf = client.get("/dispatch/minqing/analysis.pdf")
    assert pdf.status_code == 200 and _pdf_has(pdf.content, "县办(office)")
    assert AuditEvent.objects.filter(action="export.dispatch.minqing_analysis").count() == 2
