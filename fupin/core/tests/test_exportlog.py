"""Accountable exports: each recorded (who, filter, people, full IDs), rate-limited, approved by another person above
a size, and watermarked with the user and the time."""

import io

import pytest
from openpyxl import load_workbook

from fupin.core.models import AuditEvent, ExportRequest
from fupin.core.testing import make_household, make_user


@pytest.fixture
def roster(county):
    for i in range(3):
        make_household(county["va1"], head=f"甲{i}", members=2, is_registered_poor=True)
    make_household(county["vb1"], head="乙户", members=2, is_registered_poor=True)
    return county


def _xlsx(response):
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)


def test_an_export_is_recorded_and_watermarked(client, roster):
    office = make_user("office", "town_staff", division=roster["town_a"], display_name="王站长")
    client.force_login(office)
    response = client.get("/households/export.xlsx", {"q": ""})
    assert response.status_code == 200
    title = next(_xlsx(response).active.iter_rows(max_row=1, values_only=True))[0]
    assert "王站长(office)" in title and "导出" in title
    event = AuditEvent.objects.get(action="export.registry.roster")
    assert event.actor == office and event.after["people"] == 6 and event.after["full_ids"] is True
    assert event.after["url"].startswith("/households/export.xlsx")
    assert client.get("/households/export.csv").status_code == 200
    assert AuditEvent.objects.filter(action="export.registry.roster").count() == 2


def test_the_rate_limit_refuses_with_a_message(client, roster, settings):
    settings.FUPIN_EXPORT_RATE_PER_HOUR = 2
    client.force_login(make_user("gw", "grid_worker", grid=roster["ga1"]))
    assert client.get("/households/export.csv").status_code == 200
    assert client.get("/households/export.csv").status_code == 200
    third = client.get("/households/export.csv", follow=True)
    assert "导出过于频繁" in third.content.decode()
    assert AuditEvent.objects.filter(action="export.registry.roster").count() == 2


def test_a_large_export_waits_for_another_persons_approval(client, roster, settings):
    settings.FUPIN_EXPORT_APPROVAL_PEOPLE = 5
    requester = make_user("req", "town_staff", division=roster["town_a"])
    client.force_login(requester)
    response = client.get("/households/export.xlsx")
    assert response.status_code == 302 and response["Location"].startswith("/exports/request/")
    assert not AuditEvent.objects.filter(action="export.registry.roster").exists()  # nothing left the system
    form = client.get(response["Location"])
    assert "须经他人审批" in form.content.decode()
    empty = client.post("/exports/request/", {"kind": "registry.roster", "title": "花名册",
                                              "url": "/households/export.xlsx", "people": 6, "reason": ""})
    assert "请填写导出用途" in empty.content.decode()
    client.post("/exports/request/", {"kind": "registry.roster", "title": "花名册", "url": "/households/export.xlsx",
                                      "people": 6, "full_ids": "1", "reason": "乡镇核查"})
    req = ExportRequest.objects.get()
    assert req.status == "pending" and req.area_code == roster["town_a"].code
    # the requester cannot approve their own, nor can someone outside the jurisdiction or without the capability
    assert client.post(f"/exports/{req.pk}/decide/", {"decision": "approve"}).status_code == 404
    client.force_login(make_user("other_county_office", "city_office", division=roster["town_b"]))
    assert client.post(f"/exports/{req.pk}/decide/", {"decision": "approve"}).status_code == 404
    client.force_login(make_user("gw", "grid_worker", grid=roster["ga1"]))
    assert client.post(f"/exports/{req.pk}/decide/", {"decision": "approve"}).status_code == 404
    approver = make_user("office", "city_office", division=roster["county"])
    client.force_login(approver)
    assert "乡镇核查" in client.get("/exports/").content.decode()
    client.post(f"/exports/{req.pk}/decide/", {"decision": "approve"})
    req.refresh_from_db()
    assert req.status == "approved" and req.decided_by == approver
    client.force_login(requester)
    assert client.get("/households/export.xlsx").status_code == 200  # once
    event = AuditEvent.objects.get(action="export.registry.roster")
    assert event.after["approval"] == req.pk
    assert client.get("/households/export.xlsx").status_code == 302  # the approval is used up
    assert AuditEvent.objects.filter(action__in=["export.request", "export.approve"]).count() == 2


def test_pdf_documents_carry_the_watermark(county):
    from pypdf import PdfReader

    from fupin.core.pdf import Document

    doc = Document(title="测试", watermark="王站长(office) 2016-03-02 10:00 导出")
    doc.heading("标题")
    text = PdfReader(io.BytesIO(doc.to_bytes())).pages[0].extract_text()
    assert "王站长" in text and "导出" in text


def test_pages_and_api_answers_that_show_full_ids_are_recorded(client, roster):
    hh = make_household(roster["va1"], head="丙户", members=2, is_registered_poor=True)
    numbers = list(hh.members.values_list("id_number", flat=True))
    client.force_login(make_user("vt", "village_team", division=roster["va1"]))
    assert client.get(hh.get_absolute_url()).status_code == 200
    event = AuditEvent.objects.filter(action="view.full_id").latest("id")
    assert event.object_repr == hh.get_absolute_url() and event.after["count"] >= 2
    assert not any(n in str(event.after) for n in numbers)  # the trail holds them masked
    url = f"/api/v1/households/{hh.poor_code or hh.uuid}"
    assert client.get(url).status_code == 200
    assert AuditEvent.objects.filter(action="view.full_id", object_repr=url).exists()
    # a role that sees masked numbers leaves no such event
    client.force_login(make_user("cadre", "pairing_cadre", division=roster["va1"]))
    before = AuditEvent.objects.filter(action="view.full_id").count()
    client.get(hh.get_absolute_url())
    assert AuditEvent.objects.filter(action="view.full_id").count() == before
