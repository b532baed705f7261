"""The project library and the money trail: entry refused without targets, beneficiaries or a finished notice;
notice periods; allocations and payments never beyond what is left; assets and their income; traceability."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fupin.core.errors import ServiceError
from fupin.funds import services
from fupin.funds.models import AssetIncome, Notice, Payment, Project
from fupin.funds.selectors import project_sources, stats

D = Decimal


@pytest.fixture
def source(county):
    return services.source_create(actor="test", year=2016, kind="central", name="2016年中央专项扶贫资金",
                                  amount=100000, document_no="财农〔2016〕1号")


def _project(county, **kw):
    kw.setdefault("targets", [{"indicator": "带动贫困户", "value": "2户"}])
    kw.setdefault("mechanism", "务工带动")
    return services.project_create(actor="test", name="柑橘基地", kind="industry", year=2016, division=county["va1"],
                                   responsible_unit="甲镇人民政府", budget={"central": "80000"}, **kw)


def test_entry_refused_without_targets_households_or_a_finished_notice(county, hh_a, users, frozen):
    project = _project(county, targets=[], mechanism="")
    with pytest.raises(ServiceError, match="管辖范围"):  # a grid worker's jurisdiction is the grid, not the village
        services.project_advance(actor=users["grid_a"], project=project, to_state="appraisal")
    project = services.project_advance(actor=users["village_a"], project=project, to_state="appraisal")
    with pytest.raises(ServiceError, match="没有绩效目标"):
        services.project_advance(actor=users["town_a"], project=project, to_state="notice")
    services.project_update(actor=users["village_a"], project=project, targets=[{"indicator": "增收", "value": "1000元"}],
                            mechanism="入股分红")
    with pytest.raises(ServiceError, match="不足规定的10天"):
        services.notice_create(actor=users["village_a"], project=project, kind="project",
                               start_date=dt.date(2026, 5, 1), end_date=dt.date(2026, 5, 9))
    services.notice_create(actor=users["village_a"], project=project, kind="project", start_date=dt.date(2026, 6, 1),
                           end_date=dt.date(2026, 6, 10))
    with pytest.raises(ServiceError, match="不能办理"):
        services.project_advance(actor=users["village_a"], project=project, to_state="notice")
    project = services.project_advance(actor=users["town_a"], project=project, to_state="notice")
    with pytest.raises(ServiceError) as exc:
        services.project_advance(actor=users["county"], project=project, to_state="library")
    assert "没有带动的贫困户" in exc.value.message
    assert Project.objects.get(pk=project.pk).state == "notice"
    services.beneficiary_add(actor=users["village_a"], project=project, household=hh_a, how="dividend",
                             expected_yuan=800)
    with pytest.raises(ServiceError, match=r"县级|不能办理"):
        services.project_advance(actor=users["town_a"], project=project, to_state="library")
    project = services.project_advance(actor=users["county"], project=project, to_state="library")
    assert (project.state, project.entered_on) == ("library", dt.date(2026, 6, 15))
    with pytest.raises(ServiceError, match="不能直接进入"):
        services.project_advance(actor=users["county"], project=project, to_state="accepted")


def test_notice_in_progress_blocks_entry_and_another_village_cannot_act(county, hh_a, users, frozen):
    project = _project(county)
    services.project_advance(actor="test", project=project, to_state="appraisal")
    services.beneficiary_add(actor="test", project=project, household=hh_a, how="wages")
    services.notice_create(actor="test", project=project, kind="project", start_date=dt.date(2026, 6, 10),
                           end_date=dt.date(2026, 6, 20))
    services.project_advance(actor="test", project=project, to_state="notice")
    with pytest.raises(ServiceError, match="公示未结束"):
        services.project_advance(actor="test", project=project, to_state="library")
    with pytest.raises(ServiceError, match="管辖范围"):
        services.notice_create(actor=users["village_b"], project=project, kind="project",
                               start_date=dt.date(2026, 6, 1), end_date=dt.date(2026, 6, 30))


def _in_library(county, hh):
    project = _project(county)
    services.project_advance(actor="test", project=project, to_state="appraisal")
    services.beneficiary_add(actor="test", project=project, household=hh, how="wages")
    services.notice_create(actor="test", project=project, kind="project", start_date=dt.date(2026, 5, 1),
                           end_date=dt.date(2026, 5, 10))
    services.project_advance(actor="test", project=project, to_state="notice")
    return services.project_advance(actor="test", project=project, to_state="library")


def test_money_trail_from_source_to_payment_and_fund_use_notice(county, hh_a, source, users, frozen):
    project = _in_library(county, hh_a)
    with pytest.raises(ServiceError, match=r"余额100000\.00元,不足以下达100001\.00元"):
        services.allocation_create(actor=users["county"], source=source, project=project, amount=100001,
                                   allocated_on=dt.date(2026, 5, 20))
    with pytest.raises(ServiceError, match="县级"):
        services.allocation_create(actor=users["town_a"], source=source, project=project, amount=1,
                                   allocated_on=dt.date(2026, 5, 20))
    allocation = services.allocation_create(actor=users["county"], source=source, project=project, amount=60000,
                                            allocated_on=dt.date(2026, 5, 20))
    payment = services.payment_create(actor=users["county"], allocation=allocation, amount=40000,
                                      paid_on=dt.date(2026, 6, 1), payee="甲一村合作社", purpose="种苗",
                                      voucher_no="记-001", voucher=SimpleUploadedFile("v.pdf", b"%PDF-1.4"))
    with pytest.raises(ServiceError, match=r"余额20000\.00元"):
        services.payment_create(actor=users["county"], allocation=allocation, amount=20001,
                                paid_on=dt.date(2026, 6, 2), payee="甲一村合作社")
    assert Payment.objects.count() == 1 and payment.voucher.name.startswith("funds/vouchers/")
    assert project_sources(project) == [{"source_id": source.pk, "name": source.name, "kind": "central",
                                         "year": 2016, "amount": D(60000), "paid": D(40000)}]
    notice = services.notice_create(actor=users["village_a"], project=project, kind="fund_use", payment=payment,
                                    start_date=dt.date(2026, 6, 2), end_date=dt.date(2026, 6, 11))
    assert "本次支付:40000.00元" in notice.text and "2016年中央专项扶贫资金60000.00元" in notice.text
    with pytest.raises(ServiceError, match="照片"):
        services.notice_post(actor=users["village_a"], notice=notice, posted_on=dt.date(2026, 6, 2), place="村务栏")
    with pytest.raises(ServiceError, match="晚于公示开始"):
        services.notice_post(actor=users["village_a"], notice=notice, posted_on=dt.date(2026, 6, 3), place="村务栏",
                             photo=SimpleUploadedFile("p.jpg", b"jpg"))
    services.notice_post(actor=users["village_a"], notice=notice, posted_on=dt.date(2026, 6, 2), place="村务栏",
                         photo=SimpleUploadedFile("p.jpg", b"jpg"))
    notice.refresh_from_db()
    assert notice.posted_place == "村务栏" and notice.photo.name


def test_accepted_project_becomes_an_asset_and_income_is_shared(county, hh_a, users, frozen):
    from fupin.funds.tests.conftest import poor

    hh2 = poor(county["va1"], head="钱丙", poor_code="A0002")
    project = _in_library(county, hh_a)
    services.beneficiary_add(actor="test", project=project, household=hh2, how="dividend")
    with pytest.raises(ServiceError, match="验收后"):
        services.asset_create(actor="test", project=project, name="柑橘园", owner="甲一村", manager="合作社", value=1,
                              handed_over_on=dt.date(2026, 6, 1))
    services.project_advance(actor="test", project=project, to_state="implementation")
    services.project_advance(actor="test", project=project, to_state="accepted")
    asset = services.asset_create(actor=users["county"], project=project, name="柑橘园", owner="甲一村村委会",
                                  manager="甲一村合作社", value=80000, handed_over_on=dt.date(2026, 6, 1))
    assert Project.objects.get(pk=project.pk).state == "handed_over"
    assert set(asset.shares.values_list("household_id", flat=True)) == {hh_a.pk, hh2.pk}
    rows = services.asset_income_distribute(actor=users["county"], asset=asset, year=2026, total="1000.01")
    assert sorted(r.amount for r in rows) == [D("500.00"), D("500.01")]
    assert sum(AssetIncome.objects.values_list("amount", flat=True)) == D("1000.01")
    with pytest.raises(ServiceError, match="已分配"):
        services.asset_income_distribute(actor=users["county"], asset=asset, year=2026, total=5)
    services.project_review(actor=users["county"], project=project, year=2026, note="运行良好")
    with pytest.raises(ServiceError, match="已审核"):
        services.project_review(actor=users["county"], project=project, year=2026, note="再审")
    s = stats()
    assert s["projects"] == 1 and s["projects_by_state"]["handed_over"] == 1 and set(s["projects_by_state"]) == {
        "reserve", "appraisal", "notice", "library", "implementation", "accepted", "handed_over"}
    assert Notice.objects.filter(project=project).count() == 1
