"""Pages: every page renders, reads are scoped (a user of village A sees nothing of village B), forms write through
the services and the light changes at once."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fupin.assistance import services
from fupin.assistance.models import AssistanceRecord, Errand, HouseholdLight, HouseholdPairing, Measure
from fupin.core.testing import make_user

from .conftest import TODAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def paired(hh_a, hh_b, cadre, other_cadre):
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY - dt.timedelta(days=45))
    services.pairing_assign(actor="test", household=hh_b, cadre=other_cadre, start=TODAY - dt.timedelta(days=45))
    return hh_a, hh_b


def login(client, user):
    client.force_login(user)
    return client


PAGES = ["/assistance/", "/assistance/lights/", "/assistance/lights/?colour=red", "/assistance/cadres/",
         "/assistance/units/", "/assistance/pairing/", "/assistance/pairing/villages/", "/assistance/errands/",
         "/assistance/policies/", "/assistance/settings/"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_for_a_town_leader(client, paired, town_a_leader, url):
    r = login(client, town_a_leader).get(url)
    assert r.status_code == 200, r.content[:500]


def test_overview_shows_red_cadres_in_the_town(client, paired, cadre, other_cadre, town_a_leader):
    body = login(client, town_a_leader).get("/assistance/").content.decode()
    assert cadre.name in body
    assert other_cadre.name not in body  # carries only a household of town B


def test_village_a_user_sees_nothing_of_village_b(client, paired, village_a_user, other_cadre):
    hh_a, hh_b = paired
    c = login(client, village_a_user)
    assert c.get(f"/assistance/households/{hh_b.uuid}/").status_code == 404
    assert c.get(f"/assistance/households/{hh_b.uuid}/visit/").status_code == 404
    assert c.get(f"/assistance/households/{hh_b.uuid}/panel/").status_code == 404
    assert c.get(f"/assistance/cadres/{other_cadre.pk}/").status_code == 404
    body = c.get("/assistance/lights/").content.decode()
    assert str(hh_a.uuid) in body and str(hh_b.uuid) not in body
    # a division outside the jurisdiction in the query string is ignored, not honoured
    body = c.get("/assistance/lights/?division=420581101201").content.decode()
    assert str(hh_b.uuid) not in body
    r = c.post(f"/assistance/households/{hh_b.uuid}/visit/", {"kind": "visit", "occurred_on": TODAY,
                                                               "content": "x"})
    assert r.status_code == 404
    assert not AssistanceRecord.objects.exists()


def test_cadre_user_sees_the_households_they_carry(client, paired, cadre):
    hh_a, hh_b = paired
    user = make_user("cadre_user", "pairing_cadre")
    services.cadre_update(actor="test", cadre=cadre, user=user)
    c = login(client, user)
    assert c.get(f"/assistance/households/{hh_a.uuid}/").status_code == 200
    assert c.get(f"/assistance/households/{hh_b.uuid}/").status_code == 404
    body = c.get("/assistance/").content.decode()
    assert "data-testid=\"count-red\">1<" in body.replace(" ", "")


def test_record_a_visit_turns_the_light_green(client, paired, village_a_user):
    hh_a, _ = paired
    assert HouseholdLight.objects.get(pk=hh_a.pk).colour == "red"
    c = login(client, village_a_user)
    assert c.get(f"/assistance/households/{hh_a.uuid}/visit/").status_code == 200
    photo = SimpleUploadedFile("visit.jpg", b"\xff\xd8\xff" + b"0" * 100, content_type="image/jpeg")
    r = c.post(f"/assistance/households/{hh_a.uuid}/visit/", {
        "kind": "visit", "occurred_on": TODAY.isoformat(), "content": "入户走访,了解就医情况", "needs": "申请大病救助",
        "lng": "111.401", "lat": "30.501", "gps_accuracy": "12", "client_uuid": "0b6f4c39-5b8e-4f3f-9d7c-2f1f2a9d0c11",
        "attachments": [photo]})
    assert r.status_code == 302
    rec = AssistanceRecord.objects.get()
    assert (rec.recorded_by, rec.lng, rec.needs, rec.attachments.count()) == (village_a_user, 111.401, "申请大病救助", 1)
    assert str(rec.uuid) == "0b6f4c39-5b8e-4f3f-9d7c-2f1f2a9d0c11"
    assert HouseholdLight.objects.get(pk=hh_a.pk).colour == "green"
    page = c.get(f"/assistance/households/{hh_a.uuid}/").content.decode()
    assert 'data-light="green"' in page
    # a double submit of the same form writes nothing more
    c.post(f"/assistance/households/{hh_a.uuid}/visit/", {
        "kind": "visit", "occurred_on": TODAY.isoformat(), "content": "入户走访", "client_uuid":
        "0b6f4c39-5b8e-4f3f-9d7c-2f1f2a9d0c11"})
    assert AssistanceRecord.objects.count() == 1


def test_record_form_refuses_bad_input_without_writing(client, paired, village_a_user):
    hh_a, _ = paired
    c = login(client, village_a_user)
    r = c.post(f"/assistance/households/{hh_a.uuid}/visit/", {
        "kind": "visit", "occurred_on": (TODAY + dt.timedelta(days=1)).isoformat(), "content": "走访"})
    assert r.status_code == 200
    assert "不能晚于今天" in r.content.decode()
    bad = SimpleUploadedFile("x.exe", b"MZ", content_type="application/octet-stream")
    r = c.post(f"/assistance/households/{hh_a.uuid}/visit/", {
        "kind": "visit", "occurred_on": TODAY.isoformat(), "content": "走访", "attachments": [bad]})
    assert "只能上传照片或PDF" in r.content.decode()
    assert not AssistanceRecord.objects.exists()
    assert HouseholdLight.objects.get(pk=hh_a.pk).colour == "red"


def test_auditor_cannot_record(client, paired, county):
    hh_a, _ = paired
    auditor = make_user("auditor", "auditor", division=county["county"])
    c = login(client, auditor)
    assert c.get(f"/assistance/households/{hh_a.uuid}/").status_code == 200
    assert c.get(f"/assistance/households/{hh_a.uuid}/visit/").status_code == 403


def test_pairing_page_assigns_and_reassigns(client, county, hh_a, cadre, other_cadre, town_a_leader):
    c = login(client, town_a_leader)
    r = c.post(f"/assistance/households/{hh_a.uuid}/pairing/", {
        "action": "assign", "cadre": cadre.pk, "start": TODAY.isoformat(), "duty": "落实一户一法",
        "post": "结对帮扶干部", "exit_commitment": "2018年脱贫"})
    assert r.status_code == 302
    assert HouseholdPairing.objects.get().cadre == cadre
    r = c.post(f"/assistance/households/{hh_a.uuid}/pairing/", {"action": "end", "reason": "调动"})
    assert r.status_code == 200 and "不脱贫不脱钩" in r.content.decode()
    assert HouseholdPairing.objects.get().end_date is None
    r = c.post(f"/assistance/households/{hh_a.uuid}/pairing/", {
        "action": "reassign", "cadre": other_cadre.pk, "reason": "工作调动", "approver": town_a_leader.pk})
    assert r.status_code == 302
    assert HouseholdPairing.objects.get(end_date__isnull=True).cadre == other_cadre


def test_cadre_search_returns_options(client, cadre, town_a_leader):
    body = login(client, town_a_leader).get("/assistance/cadres/search/?cadre_q=王").content.decode()
    assert f'value="{cadre.pk}"' in body


def test_plan_page_confirms_suggestions(client, county, frozen, cadre, town_a_leader):
    from .conftest import poor

    hh = poor(county["va1"], head="钱学", main_cause="3", dilapidated_grade="D")
    services.pairing_assign(actor="test", household=hh, cadre=cadre)
    c = login(client, town_a_leader)
    page = c.get(f"/assistance/households/{hh.uuid}/plan/").content.decode()
    assert "危房改造(D级危房)" in page
    r = c.post(f"/assistance/households/{hh.uuid}/plan/", {
        "action": "suggest", "titles": ["危房改造(D级危房)"], "target_date": (TODAY + dt.timedelta(days=60)).isoformat()})
    assert r.status_code == 302
    m = Measure.objects.get()
    assert (m.kind, m.suggested, m.responsible) == ("housing", True, cadre)
    assert m.plan.confirmed_by == town_a_leader
    r = c.post(f"/assistance/measures/{m.pk}/", {"status": "done", "evidence": ""})
    m.refresh_from_db()
    assert m.status == "planned"  # done needs evidence
    c.post(f"/assistance/measures/{m.pk}/", {"status": "done", "evidence": "已验收"})
    m.refresh_from_db()
    assert m.status == "done" and m.done_on == TODAY


def test_errand_flow(client, paired, village_a_user):
    hh_a, _ = paired
    c = login(client, village_a_user)
    r = c.post(f"/assistance/households/{hh_a.uuid}/errand/", {"matter": "代办医保报销", "office": "镇医保站",
                                                                "opened_on": TODAY.isoformat()})
    assert r.status_code == 302
    e = Errand.objects.get()
    assert (e.handled_by, e.for_name) == (village_a_user, hh_a.head_name)
    assert "代办医保报销" in c.get("/assistance/errands/").content.decode()
    c.post(f"/assistance/errands/{e.pk}/close/", {"status": "done", "result": "已报销1200元"})
    e.refresh_from_db()
    assert (e.status, e.closed_on) == ("done", TODAY)


def test_pairing_import_page_reports_row_problems(client, paired, town_a_leader):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["户编号", "帮扶责任人", "帮扶单位"])
    ws.append(["NOPE-1", "张三", "市直某局"])
    buf = io.BytesIO()
    wb.save(buf)
    upload = SimpleUploadedFile("结对.xlsx", buf.getvalue())
    r = login(client, town_a_leader).post("/assistance/pairing/", {"file": upload})
    assert r.status_code == 200
    assert "第2行" in r.content.decode() and "没有该户编号" in r.content.decode()


def test_threshold_page_is_for_county_staff(client, paired, town_a_leader, office):
    r = login(client, town_a_leader).post("/assistance/settings/", {
        "yellow_from_days": 5, "red_from_days": 9, "finding_days": 15, "no_cadre_colour": "red",
        "overdue_measure_colour": "yellow", "finding_colour": "yellow"})
    assert r.status_code == 403
    r = login(client, office).post("/assistance/settings/", {
        "yellow_from_days": 50, "red_from_days": 60, "finding_days": 15, "no_cadre_colour": "red",
        "overdue_measure_colour": "yellow", "finding_colour": "yellow"})
    assert r.status_code == 302
    assert HouseholdLight.objects.get(pk=paired[0].pk).colour == "green"  # 45 days < 50


def test_query_budgets_do_not_grow_with_the_rows(client, county, frozen, unit, town_a_leader):
    """Pages and API lists read a fixed number of queries however many households they show."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from .conftest import poor

    budgets = {"/assistance/": 26, "/assistance/lights/": 10, "/assistance/cadres/": 10, "/assistance/units/": 11,
               "/assistance/pairing/": 14, "/api/v1/assistance/lights": 7, "/api/v1/assistance/rollup?by=cadre": 8,
               "/api/v1/assistance/map": 7}
    client.force_login(town_a_leader)

    def add(n):
        for i in range(n):
            c = services.cadre_create(actor="test", name=f"干部{i}", unit=unit)
            h = poor(county["va1"], county["ga1"], head=f"户{i}")
            services.pairing_assign(actor="test", household=h, cadre=c, start=TODAY - dt.timedelta(days=i * 4))
        return h, c

    def counts():
        out = {}
        for url in budgets:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out[url] = len(ctx.captured_queries)
        return out

    add(3)
    few = counts()
    h, c = add(9)
    many = counts()
    assert many == few
    assert all(many[url] <= budget for url, budget in budgets.items()), many
    for url, budget in ((f"/assistance/cadres/{c.pk}/", 18), (f"/assistance/households/{h.uuid}/", 20),
                        (f"/assistance/households/{h.uuid}/plan/", 22)):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        assert len(ctx.captured_queries) <= budget, (url, len(ctx.captured_queries))


def test_cadre_user_updates_the_measures_of_the_households_they_carry(client, hh_a, hh_b, cadre, other_cadre):
    user = make_user("cadre_login", "pairing_cadre")
    services.cadre_update(actor="test", cadre=cadre, user=user)
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre)
    services.pairing_assign(actor="test", household=hh_b, cadre=other_cadre)
    mine = services.measure_add(actor="test", household=hh_a, kind="medical", title="大病保险", target_date=TODAY)
    theirs = services.measure_add(actor="test", household=hh_b, kind="medical", title="大病保险", target_date=TODAY)
    client.force_login(user)
    client.post(f"/assistance/measures/{mine.pk}/", {"status": "done", "evidence": "已参保"})
    assert client.post(f"/assistance/measures/{theirs.pk}/", {"status": "done", "evidence": "x"}).status_code == 404
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("done", "planned")
