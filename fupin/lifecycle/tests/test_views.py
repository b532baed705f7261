"""Pages of the procedures: scoping (404 outside), recording a step from the form with files, refusals shown and the
database unchanged, batches, notice lists (PDF and xlsx), the 明白卡, the household panel, settings."""

from __future__ import annotations

import datetime as dt
import io
import re
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from fupin.lifecycle import services
from fupin.lifecycle.models import ProcedureStep, StepAttachment
from fupin.lifecycle.tests.conftest import PNG, applicant, png, poor_household

pytestmark = pytest.mark.django_db


def pdf_text_codepoints(data: bytes) -> set[str]:
    """The characters an embedded font maps (from the ToUnicode CMaps of the PDF)."""
    chars = set()
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            text = zlib.decompress(stream).decode("latin-1")
        except zlib.error:
            text = stream.decode("latin-1")
        for hexcode in re.findall(r"<[0-9A-Fa-f]{4}> <([0-9A-Fa-f]{4,8})>", text):
            chars.add(chr(int(hexcode, 16)))
    return chars


def assert_chinese_pdf(data: bytes, *texts: str) -> None:
    assert data.startswith(b"%PDF")
    assert b"/FontFile2" in data, "the font must be embedded"
    assert b"WenQuanYi" in data or b"Noto" in data or b"CJK" in data
    chars = pdf_text_codepoints(data)
    for text in texts:
        missing = {c for c in text if not c.isspace()} - chars
        assert not missing, f"not in the embedded font subset: {missing}"


@pytest.fixture
def started(world, walker):
    hh = applicant(world, head="王五")
    proc = services.procedure_start(actor=world["users"]["village"], kind="identification", household=hh)
    return {"hh": hh, "proc": proc}


def test_pipeline_is_scoped(client, world, started):
    other = make_other(world)
    client.force_login(world["users"]["village"])
    body = client.get("/procedures/").content.decode()
    assert "王五" in body and "乙外人" not in body
    client.force_login(world["users"]["village_b"])
    body = client.get("/procedures/").content.decode()
    assert "王五" not in body and "乙外人" in body
    assert client.get(started["proc"].get_absolute_url()).status_code == 404
    assert client.get(other.get_absolute_url()).status_code == 200


def make_other(world):
    from fupin.core.testing import make_household

    hh = make_household(world["vb1"], grid=world["gb1"], head="乙外人", members=2)
    return services.procedure_start(actor=world["users"]["village_b"], kind="identification", household=hh)


def test_record_step_from_the_form_with_files(client, world, started):
    proc = started["proc"]
    client.force_login(world["users"]["grid"])
    page = client.get(proc.get_absolute_url()).content.decode()
    assert "办理本步骤" in page and "农户申请" in page
    day = timezone.localdate() - dt.timedelta(days=2)
    r = client.post(f"/procedures/{proc.uuid}/step/", {
        "step": "apply", "date": day.isoformat(), "decision": "approve", "notes": "本人书面申请",
        "documents": [png("申请书.png"), SimpleUploadedFile("会议.pdf", b"%PDF-1.4 test")]}, follow=True)
    assert r.status_code == 200, re.findall(r'class="(?:msg msg-error|errorlist)[^"]*">(.*?)<', r.content.decode())
    step = ProcedureStep.objects.get(procedure=proc, step="apply")
    assert step.actor == world["users"]["grid"] and step.date == day and step.attachments.count() == 2
    page = r.content.decode()
    assert "甲一网格员" in page and "申请书.png" in page and "<img" in page
    att = step.attachments.get(kind="photo")
    assert step.attachments.get(kind="document").name == "会议.pdf"
    served = client.get(att.get_absolute_url())
    assert served.status_code == 200 and b"".join(served.streaming_content) == PNG
    client.force_login(world["users"]["village_b"])
    assert client.get(att.get_absolute_url()).status_code == 404


def test_refusal_shown_and_nothing_written(client, world, started):
    proc = started["proc"]
    client.force_login(world["users"]["grid"])
    before = (ProcedureStep.objects.count(), StepAttachment.objects.count())
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    r = client.post(f"/procedures/{proc.uuid}/step/", {"step": "apply", "date": tomorrow.isoformat(),
                                                       "decision": "approve", "documents": [png()]})
    assert r.status_code == 400 and "日期不能晚于今天" in r.content.decode()
    assert (ProcedureStep.objects.count(), StepAttachment.objects.count()) == before
    # a user who may not record the step sees who must, and a POST is refused
    client.force_login(world["users"]["town"])
    page = client.get(proc.get_absolute_url()).content.decode()
    assert "办理本步骤" not in page and "本步骤由" in page
    r = client.post(f"/procedures/{proc.uuid}/step/", {"step": "apply", "date": timezone.localdate().isoformat(),
                                                       "decision": "approve"})
    assert r.status_code == 400 and "须由" in r.content.decode()
    assert ProcedureStep.objects.count() == before[0]


def test_stale_step_post_is_not_recorded_twice(client, world, started):
    proc = started["proc"]
    client.force_login(world["users"]["grid"])
    data = {"step": "apply", "date": timezone.localdate().isoformat(), "decision": "approve"}
    client.post(f"/procedures/{proc.uuid}/step/", data)
    r = client.post(f"/procedures/{proc.uuid}/step/", data, follow=True)
    assert "已被办理" in r.content.decode()
    assert ProcedureStep.objects.filter(procedure=proc).count() == 1


def test_start_pages(client, world):
    hh = applicant(world, head="李四")
    client.force_login(world["users"]["village"])
    page = client.get("/procedures/start/?kind=identification").content.decode()
    assert "李四" in page
    r = client.post("/procedures/start/", {"kind": "identification", "household": str(hh.uuid)})
    proc = hh.procedures.get()
    assert r.status_code == 302 and r["Location"] == proc.get_absolute_url()
    # an exit cannot start for a non-poor household: the refusal is shown
    r = client.post("/procedures/start/", {"kind": "exit", "household": str(hh.uuid)}, follow=True)
    assert "只有未脱贫或返贫" in r.content.decode()
    # outside the jurisdiction: 404
    client.force_login(world["users"]["village_b"])
    assert client.get(f"/procedures/start/?kind=identification&household={hh.uuid}").status_code == 404


def test_batch_page_notice_pdf_and_xlsx(client, world, walker, artifacts_dir):
    procs = []
    for name in ("王五", "钱七"):
        hh = applicant(world, head=name)
        procs.append(services.procedure_start(actor=world["users"]["village"], kind="identification", household=hh))
    for p in procs:
        walker.until(p, "town_review")
    batch = procs[0].batch
    client.force_login(world["users"]["town"])
    page = client.get(batch.get_absolute_url()).content.decode()
    assert "第一次公示" in page and "王五" in page
    r = client.get(f"/procedures/batches/{batch.uuid}/notice/first_notice.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert_chinese_pdf(r.content, "甲一村贫困户识别第一次公示名单", "王五", "钱七", "村民委员会")
    with open(f"{artifacts_dir}/lifecycle_notice_list.pdf", "wb") as fh:
        fh.write(r.content)
    r = client.get(f"/procedures/batches/{batch.uuid}/notice/first_notice.xlsx")
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    rows = list(wb.active.iter_rows(values_only=True))
    assert "第一次公示名单" in rows[0][0]
    heads = {row[4]: row for row in rows[3:]}
    assert set(heads) == {"王五", "钱七"}
    full = procs[0].household.members.get(relationship="户主").id_number
    masked = full[:6] + "********" + full[-4:]
    # a public notice is masked whoever prints it, even a role that may see full ID numbers elsewhere
    assert heads["王五"][5] == masked
    from pypdf import PdfReader

    pdf = client.get(f"/procedures/batches/{batch.uuid}/notice/first_notice.pdf").content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "王五" in text and full[-4:] in text and full not in text and full[6:14] not in text
    client.force_login(world["users"]["leader"])  # and so does a city leader
    r = client.get(f"/procedures/batches/{batch.uuid}/notice/first_notice.xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert {row[5] for row in rows[3:] if row[4] == "王五"} == {full[:6] + "********" + full[-4:]}
    assert client.get(f"/procedures/batches/{batch.uuid}/notice/town_review.pdf").status_code == 404
    client.force_login(world["users"]["village_b"])
    assert client.get(batch.get_absolute_url()).status_code == 404
    assert client.get(f"/procedures/batches/{batch.uuid}/notice/first_notice.pdf").status_code == 404


def test_household_card_pdf(client, world, artifacts_dir):
    hh = poor_household(world, head="赵六", address="甲一村三组12号", phone="13900000000", other_causes=["7", "9"],
                        housing_structure="3", housing_area=80, drinking_safe=True, sanitary_toilet=False)
    client.force_login(world["users"]["village"])
    r = client.get(f"/procedures/households/{hh.poor_code}/card.pdf")
    assert r.status_code == 200
    assert_chinese_pdf(r.content, "精准扶贫明白卡", "赵六", "家庭成员", "帮扶责任人", "人均纯收入", "高于贫困线")
    with open(f"{artifacts_dir}/lifecycle_card.pdf", "wb") as fh:
        fh.write(r.content)
    client.force_login(world["users"]["village_b"])
    assert client.get(f"/procedures/households/{hh.poor_code}/card.pdf").status_code == 404
    assert client.get(f"/procedures/households/{hh.uuid}/card.pdf").status_code == 404


def test_card_sections_from_hooks(client, world):
    from fupin.core import extensions as ext

    section = ext.CardSection(fn=lambda hh: {"key": "cadre", "title": "帮扶责任人",
                                             "rows": [("姓名", "孙结对"), ("电话", "13800000000")]})
    hh = poor_household(world, head="赵六")
    client.force_login(world["users"]["village"])
    with ext.replaced("lifecycle.card_section", section):
        assert_chinese_pdf(client.get(f"/procedures/households/{hh.poor_code}/card.pdf").content, "孙结对")


def test_household_panel(client, world, started, walker):
    client.force_login(world["users"]["village"])
    hh = started["hh"]
    walker.step(started["proc"], attachments=[("photo", png("申请书.png"))])
    body = client.get(f"/procedures/households/{hh.uuid}/panel/").content.decode()
    assert "贫困户识别" in body and "明白卡" in body and "申请书.png" in body
    # the registry's household page carries the panel, and the step in its history
    page = client.get(hh.get_absolute_url()).content.decode()
    assert 'id="procedures-panel"' in page and "申请书.png" in page and "lifecycle.identification.apply" in page
    client.force_login(world["users"]["village_b"])
    assert client.get(f"/procedures/households/{hh.uuid}/panel/").status_code == 404


def test_settings_page(client, world):
    client.force_login(world["users"]["village"])
    assert client.get("/procedures/settings/").status_code == 200
    assert client.post("/procedures/settings/", {"exit_notice_days": 3}).status_code == 403
    client.force_login(world["users"]["county"])
    from fupin.lifecycle.selectors import settings_table

    data = {r["key"]: r["value"] for r in settings_table()}
    data["exit_notice_days"] = 9
    assert client.post("/procedures/settings/", data).status_code == 302
    from fupin.lifecycle.selectors import setting_value

    assert setting_value("exit_notice_days") == 9


def test_pages_render(client, world, walker):
    va1 = world["va1"]
    from fupin.geo.models import Division

    Division.objects.filter(pk=va1.pk).update(is_poor_village=True)
    client.force_login(world["users"]["county"])
    for url in ("/procedures/", "/procedures/?kind=exit&status=all", "/procedures/batches/",
                "/procedures/start/?kind=village_exit", "/procedures/start/?kind=exit",
                f"/procedures/start/?kind=village_exit&village={va1.code}"):
        assert client.get(url).status_code == 200, url


def test_query_budgets(client, world, walker, django_assert_max_num_queries):
    """Lists and the procedure page do not grow with the number of rows or steps."""
    procs = []
    for i in range(6):
        hh = applicant(world, head=f"预算{i}")
        procs.append(services.procedure_start(actor=world["users"]["village"], kind="identification", household=hh))
    walker.until(procs[0], "town_review")
    for p in procs[1:]:
        walker.step(p, attachments=[("photo", png())])
    client.force_login(world["users"]["town"])
    client.get("/procedures/")  # warm the per-process caches (translations, templates)
    with django_assert_max_num_queries(10):
        assert client.get("/procedures/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get("/api/v1/lifecycle/procedures").status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(procs[0].get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(15):
        assert client.get(procs[0].batch.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(f"/api/v1/lifecycle/procedures/{procs[0].uuid}").status_code == 200


def test_notice_xlsx_writes_formula_names_as_text(client, world, walker):
    import openpyxl

    name = '=HYPERLINK("http://evil.example","点击")'
    proc = services.procedure_start(actor=world["users"]["village"], kind="identification",
                                    household=applicant(world, head=name))
    walker.until(proc, "town_review")
    client.force_login(world["users"]["town"])
    r = client.get(f"/procedures/batches/{proc.batch.uuid}/notice/first_notice.xlsx")
    cells = [row[4] for row in openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows() if row[4].value]
    evil = [c for c in cells if c.value == name]
    assert evil and evil[0].data_type == "s"
