"""Pages and API of assessment and screening: what they show, what they refuse, and scoping."""

import datetime as dt
import io

import pytest
from django.test import Client

from fupin.assessment import services
from fupin.assessment.models import FieldCheck, PolicyGap, Score
from fupin.assessment.tests.conftest import poor
from fupin.assistance import services as assistance
from fupin.core.testing import make_household, make_id
from fupin.registry.services import household_create

pytestmark = pytest.mark.django_db


def _client(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def scored(county, frozen):
    hh_a = poor(county["va1"], county["ga1"], head="张甲户")
    hh_b = poor(county["vb1"], county["gb1"], head="赵乙户")
    for hh in (hh_a, hh_b):
        assistance.record_create(actor="test", household=hh, occurred_on=dt.date(2026, 3, 1), content="走访了解情况")
    run, _ = services.assess_run(actor="test", period="2026")
    return {"run": run, "hh_a": hh_a, "hh_b": hh_b}


def test_ranking_and_drill_down_are_scoped(scored, county, office, village_b_user):
    page = _client(office).get("/assessment/ranking/village/?period=2026")
    assert page.status_code == 200
    html = page.content.decode()
    assert "甲一村" in html and "乙一村" in html and "户均月走访次数" in html
    own = _client(village_b_user).get("/assessment/ranking/village/?period=2026").content.decode()
    assert "乙一村" in own and "甲一村" not in own
    score_a = Score.objects.get(run=scored["run"], kind="village", code=county["va1"].code)
    assert _client(village_b_user).get(f"/assessment/scores/{score_a.pk}/").status_code == 404
    detail = _client(office).get(f"/assessment/scores/{score_a.pk}/").content.decode()
    assert "visits / households / months" in detail
    drill = _client(office).get(f"/assessment/scores/{score_a.pk}/visits/").content.decode()
    assert "张甲户" in drill and "走访了解情况" in drill and "赵乙户" not in drill


def test_xlsx_and_leader_pdf(scored, office):
    from openpyxl import load_workbook

    response = _client(office).get("/assessment/ranking/village/export.xlsx?period=2026")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    assert ws.cell(1, 2).value == "名称" and {ws.cell(r, 2).value for r in range(2, ws.max_row + 1)} >= {"甲一村"}
    pdf = _client(office).get("/assessment/report.pdf?period=2026")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_field_check_form_changes_the_village_rates(county, frozen, office):
    va1 = county["va1"]
    for i in range(3):
        poor(va1, head=f"脱贫{i}", poverty_status="1")
    sample = services.sample_create(actor=office, village=va1, year=2026, count=2, seed=3)
    check = sample.checks.filter(stratum="exited").first()
    c = _client(office)
    before = c.get("/assessment/checks/?year=2026").content.decode()
    assert "50.00%" not in before
    form = c.get(f"/assessment/checks/{check.pk}/")
    assert 'name="wrongly_exited"' in form.content.decode()
    bad = c.post(f"/assessment/checks/{check.pk}/", {"satisfied": "1", "version": check.version})
    assert bad.status_code == 200 and FieldCheck.objects.get(pk=check.pk).status == "pending"
    r = c.post(f"/assessment/checks/{check.pk}/", {"wrongly_exited": "1", "satisfied": "0",
                                                   "version": check.version})
    assert r.status_code == 302
    other = sample.checks.filter(stratum="exited").exclude(pk=check.pk).first()
    c.post(f"/assessment/checks/{other.pk}/", {"wrongly_exited": "0", "satisfied": "1", "version": other.version})
    after = c.get("/assessment/checks/?year=2026").content.decode()
    assert 'data-rate="wrong_exit_rate">50.00%' in after  # 1 wrongly exited of 2 exited checked


def test_gap_page_sends_the_work_order(county, frozen, office, village_b_user):
    from fupin.dispatch.services import dispatch_setup_defaults
    from fupin.dispatch.testing import make_departments

    make_departments()
    dispatch_setup_defaults(actor="test")
    household_create(actor="test", village=county["va1"], is_registered_poor=True, poverty_status="0", members=[
        {"name": "钱户主", "relationship": "户主", "id_number": make_id(birth="19800101"), "labour_skill": "1"},
        {"name": "钱学生", "relationship": "之女", "id_number": make_id(birth="20120101"), "schooling": "03"}])
    services.policy_match(actor="test")
    gap = PolicyGap.objects.get(rule__code="education_aid")
    assert _client(village_b_user).get(f"/assessment/gaps/{gap.pk}/").status_code == 404
    assert "钱学生" not in _client(village_b_user).get("/assessment/gaps/").content.decode()
    r = _client(office).post(f"/assessment/gaps/{gap.pk}/", {"action": "dispatch"})
    assert r.status_code == 302
    gap.refresh_from_db()
    assert gap.work_order is not None and gap.work_order.department.code == "jiaoyu"
    report = _client(office).get(f"/assessment/villages/{county['va1'].code}/clearance/").content.decode()
    assert "钱户主" in report and "贫困家庭学生教育资助" in report
    assert _client(village_b_user).get(f"/assessment/villages/{county['va1'].code}/clearance/").status_code == 404


def test_self_report_raises_an_alert(county, frozen, village_a_user, village_b_user):
    hh = make_household(county["va1"], head="孙自报")
    c = _client(village_a_user)
    assert c.post(f"/assessment/households/{hh.uuid}/report/", {"detail": "家中失火"}).status_code == 302
    page = c.get("/assessment/alerts/").content.decode()
    assert "孙自报" in page and "家中失火" in page
    assert "孙自报" not in _client(village_b_user).get("/assessment/alerts/").content.decode()
    assert _client(village_b_user).post(f"/assessment/households/{hh.uuid}/report/",
                                        {"detail": "x"}).status_code == 404


def test_api_scores_rates_and_check(scored, county, office, village_b_user):
    c = _client(office)
    rows = c.get("/api/v1/assessment/scores?period=2026&kind=village").json()
    assert {r["code"] for r in rows} >= {county["va1"].code, county["vb1"].code}
    assert c.get("/api/v1/assessment/scores?period=2016H3").status_code == 422
    own = _client(village_b_user).get("/api/v1/assessment/scores?period=2026&kind=village").json()
    assert {r["code"] for r in own} == {county["vb1"].code}
    sample = services.sample_create(actor=office, village=county["va1"], year=2026, count=1, seed=1)
    check = sample.checks.get()
    assert _client(village_b_user).post(f"/api/v1/assessment/checks/{check.pk}", {"satisfied": True},
                                        content_type="application/json").status_code == 404
    bad = c.post(f"/api/v1/assessment/checks/{check.pk}", {"satisfied": True}, content_type="application/json")
    assert bad.status_code == 422
    ok = c.post(f"/api/v1/assessment/checks/{check.pk}", {"satisfied": True, "correctly_identified": True},
                content_type="application/json")
    assert ok.status_code == 200 and ok.json()["status"] == "done"
    rates = c.get("/api/v1/assessment/rates?year=2026").json()
    assert rates["total"]["checks"] == 1 and rates["total"]["rates"]["approval"] == 100.0


def test_figures_and_map_layers_are_registered(county, frozen):
    from fupin.assessment.integration import dashboard_rows
    from fupin.dashboards.figures import figures
    from fupin.maps.layers import indicator

    assert {"assessment.gaps", "assessment.alerts", "assessment.checks"} <= set(figures())
    assert indicator("policy_gaps").figure == "assessment.gaps"
    hh = make_household(county["va1"], head="图户")
    services.risk_self_report(actor="test", household=hh, detail="受灾")
    rows = list(dashboard_rows(None))
    assert any(r.key == "assessment.alerts" and r.code == hh.area_code and r.value == 1 for r in rows)


def test_scheme_page_drafts_edits_and_releases(county, frozen, office, village_a_user):
    from fupin.assessment.models import Scheme

    services.scheme_ensure_default(actor="test")
    assert _client(village_a_user).post("/assessment/schemes/", {"action": "draft"}).status_code == 403
    c = _client(office)
    c.post("/assessment/schemes/", {"action": "draft"})
    draft = Scheme.objects.get(status="draft")
    r = c.post("/assessment/schemes/", {"action": "indicator", "scheme": draft.pk, "subject_kind": "village",
                                        "code": "bad", "name": "坏公式", "formula": "visits +", "target": 1,
                                        "weight": 1})
    assert r.status_code == 302 and not draft.indicators.filter(code="bad").exists()
    c.post("/assessment/schemes/", {"action": "indicator", "scheme": draft.pk, "subject_kind": "village",
                                    "code": "orders_total", "name": "工单数", "formula": "orders", "target": 10,
                                    "weight": 5})
    assert draft.indicators.get(code="orders_total").formula == "orders"
    c.post("/assessment/schemes/", {"action": "release", "scheme": draft.pk})
    assert Scheme.objects.get(pk=draft.pk).status == "released"
    assert Scheme.objects.filter(status="released").count() == 1
    assert "工单数" in c.get("/assessment/schemes/").content.decode()
