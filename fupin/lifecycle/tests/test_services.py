"""Services of the procedures: every kind's happy path, every rule refused, the database unchanged by a refusal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from fupin.core.errors import ServiceError
from fupin.core.models import AuditEvent
from fupin.geo.models import Division
from fupin.inbox.models import InboxItem
from fupin.lifecycle import services
from fupin.lifecycle.models import Procedure, ProcedureBatch, ProcedureStep, StepAttachment
from fupin.lifecycle.tests.conftest import applicant, png, poor_household, thumbprint
from fupin.registry.models import Household

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def state(*objs):
    """A fingerprint of the database rows a refusal must leave alone."""
    out = [Procedure.objects.count(), ProcedureStep.objects.count(), StepAttachment.objects.count(),
           AuditEvent.objects.count(), ProcedureBatch.objects.count(), InboxItem.objects.count()]
    for o in objs:
        o = type(o).objects.get(pk=o.pk)
        out.append({f.attname: getattr(o, f.attname) for f in o._meta.concrete_fields if f.name != "updated_at"})
    return out


def refused(fn, match: str, *objs):
    before = state(*objs)
    with pytest.raises(ServiceError, match=match):
        fn()
    assert state(*objs) == before


# Happy paths ---------------------------------------------------------------------------------------------------

def test_identification_happy_path_registers_the_household(world, walker):
    hh = applicant(world)
    users = world["users"]
    proc = services.procedure_start(actor=users["grid"], kind="identification", household=hh)
    assert proc.current_step == "apply" and proc.batch is not None and proc.batch.town == world["town_a"]
    walker.step(proc, attachments=[("document", png("申请书.png"))])
    walker.until(proc)
    assert proc.status == "completed" and proc.current_step == ""
    hh.refresh_from_db()
    assert hh.is_registered_poor and hh.poverty_status == "0"
    assert hh.poor_code == world["va1"].code + "0001"
    assert hh.year_identified == proc.finished_on.year
    assert hh.attribute == "1" and hh.main_cause == "2"  # proposed at the visit
    codes = list(proc.steps.exclude(step__startswith="spot_check").values_list("step", flat=True))
    assert codes == [s.code for s in proc.definition.steps]
    assert proc.steps.filter(step="spot_check_town").exists() and proc.steps.filter(step="spot_check_county").exists()
    comparison = proc.steps.get(step="dept_comparison").data["comparison"]
    assert comparison == {"available": False, "findings": [], "message": "无比对数据"}
    # every step is in the household's history, with the actor
    actions = set(AuditEvent.objects.filter(object_type="registry.household", object_id=str(hh.pk))
                  .values_list("action", flat=True))
    assert {f"lifecycle.identification.{s.code}" for s in proc.definition.steps} <= actions
    assert "registry.household.update" in actions
    apply_event = AuditEvent.objects.get(object_id=str(hh.pk), action="lifecycle.identification.apply")
    assert apply_event.actor == users["village"] and "申请书.png" in apply_event.note


def test_exit_happy_path_passes_through_pre_exit(world, walker):
    hh = poor_household(world)
    proc = services.procedure_start(actor=world["users"]["village"], kind="exit", household=hh)
    hh.refresh_from_db()
    assert hh.poverty_status == "2"
    walker.until(proc, "notice")
    hh.refresh_from_db()
    assert hh.poverty_status == "2"
    walker.until(proc)
    hh.refresh_from_db()
    assert proc.status == "completed" and hh.poverty_status == "1" and hh.year_exited == proc.finished_on.year
    verification = proc.steps.get(step="team_verification").data
    assert verification["guarantees"] == {k: True for k in ("food", "clothing", "education", "medical", "housing")}
    assert Decimal(verification["per_capita_net_income"]) > Decimal(verification["poverty_line"])
    consent = proc.steps.get(step="household_consent")
    assert consent.attachments.get().kind == "thumbprint"


def test_exit_rejection_returns_status(world, walker):
    hh = poor_household(world)
    proc = services.procedure_start(actor=world["users"]["village"], kind="exit", household=hh)
    walker.step(proc)
    walker.step(proc, decision="reject", notes="收入不稳定", data={})
    hh.refresh_from_db()
    assert proc.status == "rejected" and hh.poverty_status == "0"


def test_return_to_poverty(world, walker):
    hh = poor_household(world, status="1")
    proc = services.procedure_start(actor=world["users"]["village"], kind="return_to_poverty", household=hh)
    walker.until(proc)
    hh.refresh_from_db()
    assert proc.status == "completed" and hh.poverty_status == "3"
    # a returned household can start an exit again
    services.procedure_start(actor=world["users"]["village"], kind="exit", household=hh)
    hh.refresh_from_db()
    assert hh.poverty_status == "2"


def test_monitoring_entry_and_exit(world, walker):
    hh = applicant(world)
    proc = services.procedure_start(actor=world["users"]["grid"], kind="monitoring_entry", household=hh)
    refused(lambda: walker.step(proc, data={"monitoring_category": "edge"}), "风险类型", hh)
    walker.until(proc)
    hh.refresh_from_db()
    assert hh.monitoring_category == "edge" and hh.monitoring_risks == ["1", "5"]
    out = services.procedure_start(actor=world["users"]["grid"], kind="monitoring_exit", household=hh)
    refused(lambda: walker.step(out, data={}), "风险已经消除", hh)
    walker.until(out)
    hh.refresh_from_db()
    assert hh.monitoring_category == "" and hh.monitoring_risks == []


def test_village_exit(world, walker):
    va1 = world["va1"]
    Division.objects.filter(pk=va1.pk).update(is_poor_village=True)
    va1.refresh_from_db()
    for i in range(10):
        applicant(world, head=f"村民{i}", members=5)  # 50 people, none poor
    poor_household(world, head="未脱", status="0", members=1)  # 1 of 51: 1.96 % < 2 %
    proc = services.procedure_start(actor=world["users"]["village"], kind="village_exit", village=va1)
    assert proc.batch is None
    walker.until(proc)
    va1.refresh_from_db()
    assert proc.status == "completed" and not va1.is_poor_village
    assert AuditEvent.objects.filter(object_type="geo.division", object_id=str(va1.pk),
                                     action__startswith="lifecycle.village_exit.delist").exists()
    assert AuditEvent.objects.filter(object_type="geo.division", object_id=str(va1.pk),
                                     action="registry.village.not_poor").exists()


def test_village_exit_refused_above_threshold(world, walker):
    va1 = world["va1"]
    Division.objects.filter(pk=va1.pk).update(is_poor_village=True)
    applicant(world, head="村民", members=5)
    applicant(world, head="乡亲", members=5)
    poor_household(world, head="未脱", members=1)  # 1 of 11 = 9 %
    proc = services.procedure_start(actor=world["users"]["village"], kind="village_exit", village=va1)
    walker.step(proc)
    refused(lambda: walker.step(proc), "贫困发生率9.09%未低于2%", proc, va1)
    services.procedure_setting_set(actor=world["users"]["county"], key="village_exit_incidence_threshold",
                                   value="0.10")
    walker.step(proc)
    assert proc.current_step == "notice"


# Enforcement ---------------------------------------------------------------------------------------------------

def test_skipping_a_step_is_refused(world, walker):
    hh = applicant(world)
    proc = services.procedure_start(actor=world["users"]["village"], kind="identification", household=hh)
    walker.step(proc)
    refused(lambda: walker.step(proc, step="village_review"), "不能跳过步骤:当前应办理「入户核实」", proc, hh)
    refused(lambda: walker.step(proc, step="apply"), "已办理", proc, hh)


def test_notice_period_cannot_be_shortened(world, walker):
    hh = applicant(world)
    proc = services.procedure_start(actor=world["users"]["village"], kind="identification", household=hh)
    walker.until(proc, "first_notice")
    start = walker.next_day(proc)
    refused(lambda: walker.step(proc, date=start, data={"notice_until": (start + dt.timedelta(days=3)).isoformat()}),
            "公示期不得少于5天", proc)
    walker.step(proc, date=start)
    notice = proc.steps.get(step="first_notice")
    assert notice.data["notice_until"] == (start + dt.timedelta(days=4)).isoformat()
    walker.spot_checks(proc, "town")
    town = world["users"]["town"]
    refused(lambda: services.procedure_record_step(actor=town, procedure=proc, step="town_review", decision="approve",
                                                   date=start + dt.timedelta(days=4)), "公示期未满", proc, hh)
    services.procedure_record_step(actor=town, procedure=proc, step="town_review", decision="approve",
                                   date=start + dt.timedelta(days=5))


def test_notice_days_are_a_county_setting(world, walker):
    services.procedure_setting_set(actor=world["users"]["county"], key="exit_notice_days", value=10)
    hh = poor_household(world)
    proc = services.procedure_start(actor=world["users"]["village"], kind="exit", household=hh)
    walker.until(proc, "notice")
    walker.step(proc)
    notice = proc.steps.get(step="notice")
    assert notice.data["notice_days"] == 10
    assert dt.date.fromisoformat(notice.data["notice_until"]) == notice.date + dt.timedelta(days=9)
    with pytest.raises(ServiceError, match="只有市扶贫办"):
        services.procedure_setting_set(actor=world["users"]["town"], key="exit_notice_days", value=3)
    with pytest.raises(ServiceError, match="须在1至60之间"):
        services.procedure_setting_set(actor=world["users"]["county"], key="exit_notice_days", value=0)


def test_wrong_role_is_refused(world, walker):
    hh = applicant(world)
    users = world["users"]
    refused(lambda: services.procedure_start(actor=users["town"], kind="identification", household=hh),
            "须由.*办理", hh)
    refused(lambda: services.procedure_start(actor=users["leader"], kind="identification", household=hh),
            "须由.*办理", hh)
    proc = services.procedure_start(actor=users["village"], kind="identification", household=hh)
    walker.until(proc, "town_review")
    walker.spot_checks(proc, "town")
    refused(lambda: walker.step(proc, actor=users["village"]), "「乡镇审核」须由乡镇网格站工作人员办理", proc, hh)
    walker.step(proc)


def test_out_of_jurisdiction_is_refused(world, walker):
    hh = applicant(world)
    users = world["users"]
    refused(lambda: services.procedure_start(actor=users["village_b"], kind="identification", household=hh),
            "管辖范围", hh)
    proc = services.procedure_start(actor=users["village"], kind="identification", household=hh)
    walker.until(proc, "town_review")
    refused(lambda: services.procedure_record_spot_check(actor=users["town_b"], procedure=proc, level="town",
                                                         date=walker.next_day(proc)), "管辖范围", proc)
    walker.spot_checks(proc, "town")
    refused(lambda: walker.step(proc, actor=users["town_b"]), "管辖范围", proc, hh)


def test_spot_check_ratio_is_enforced_for_the_batch(world, walker):
    users = world["users"]
    procs = [services.procedure_start(actor=users["village"], kind="identification",
                                      household=applicant(world, head=f"申请{i}")) for i in range(6)]
    assert len({p.batch_id for p in procs}) == 1
    for p in procs:
        walker.until(p, "town_review")
    first = procs[0]
    refused(lambda: services.procedure_record_step(actor=users["town"], procedure=first, step="town_review",
                                                   decision="approve", date=walker.next_day(first)),
            "本批次6户,需抽查2户,已抽查0户", first)
    services.procedure_record_spot_check(actor=users["town"], procedure=procs[1], level="town",
                                         date=walker.next_day(procs[1]), attachments=[("photo", png())])
    refused(lambda: services.procedure_record_step(actor=users["town"], procedure=first, step="town_review",
                                                   decision="approve", date=walker.next_day(first)),
            "已抽查1户", first)
    services.procedure_record_spot_check(actor=users["town"], procedure=procs[2], level="town",
                                         date=walker.next_day(procs[2]), finding="reject", notes="家中有新车,待核")
    services.procedure_record_step(actor=users["town"], procedure=first, step="town_review", decision="approve",
                                   date=walker.next_day(first))
    batch = ProcedureBatch.objects.get(pk=first.batch_id)
    assert batch.closed
    # a new applicant now goes to a new batch
    late = services.procedure_start(actor=users["village"], kind="identification", household=applicant(world, head="迟到"))
    assert late.batch_id != batch.pk and late.batch.number == 2
    # the county ratio (10 % of 6 → 1) is checked before the county approval
    p = procs[0]
    walker.until(p, "county_approval")
    refused(lambda: services.procedure_record_step(actor=users["county"], procedure=p, step="county_approval",
                                                   decision="approve", date=walker.next_day(p)), "县须抽查", p)


def test_spot_check_only_at_its_step(world, walker):
    hh = applicant(world)
    proc = services.procedure_start(actor=world["users"]["village"], kind="identification", household=hh)
    refused(lambda: services.procedure_record_spot_check(actor=world["users"]["town"], procedure=proc, level="town",
                                                         date=TODAY()), "当前步骤为「乡镇审核」时", proc)


def test_exit_without_income_above_the_line_is_refused(world, walker):
    hh = poor_household(world, income=Decimal("4100"))  # the line of this year is 4100: not above it
    proc = services.procedure_start(actor=world["users"]["village"], kind="exit", household=hh)
    walker.step(proc)
    refused(lambda: walker.step(proc), "人均纯收入4100.00元未超过", proc, hh)
    Household.objects.filter(pk=hh.pk).update(per_capita_net_income=Decimal("4100.01"))  # as a registry edit would
    walker.step(proc)


def test_exit_needs_each_guarantee(world, walker):
    hh = poor_household(world)
    proc = services.procedure_start(actor=world["users"]["village"], kind="exit", household=hh)
    walker.step(proc)
    data = {k: True for k in ("food", "clothing", "education", "medical")}
    refused(lambda: walker.step(proc, data=data), "未确认:.*住房", proc, hh)


def test_exit_without_income_line_or_income_is_refused(world, walker):
    hh = poor_household(world, year=2014)
    proc = services.procedure_start(actor=world["users"]["village"], kind="exit", household=hh)
    walker.step(proc)
    refused(lambda: walker.step(proc), "已过时", proc, hh)


def test_exit_without_signature_or_thumbprint_is_refused(world, walker):
    hh = poor_household(world)
    proc = services.procedure_start(actor=world["users"]["village"], kind="exit", household=hh)
    walker.until(proc, "household_consent")
    refused(lambda: walker.step(proc, attachments=[("photo", png())]), "签字或手印", proc, hh)
    walker.step(proc, attachments=[thumbprint()])
    assert proc.current_step == "notice"


def test_future_date_and_date_before_last_step_are_refused(world, walker):
    hh = applicant(world)
    proc = services.procedure_start(actor=world["users"]["village"], kind="identification", household=hh)
    refused(lambda: walker.step(proc, date=TODAY() + dt.timedelta(days=1)), "不能晚于今天", proc)
    walker.step(proc, date=TODAY() - dt.timedelta(days=3))
    refused(lambda: walker.step(proc, date=TODAY() - dt.timedelta(days=4)), "不得早于上一步骤", proc)


def test_return_sends_back_and_the_notice_runs_again(world, walker):
    hh = applicant(world)
    users = world["users"]
    proc = services.procedure_start(actor=users["village"], kind="identification", household=hh)
    walker.until(proc, "town_review")
    walker.spot_checks(proc, "town")
    refused(lambda: walker.step(proc, decision="return"), "须在备注中写明理由", proc)
    walker.step(proc, decision="return", notes="公示材料不全,重新公示")
    assert proc.current_step == "first_notice" and proc.status == "open"
    walker.step(proc)
    assert proc.steps.filter(step="first_notice").count() == 2
    walker.step(proc)
    assert proc.current_step == "dept_comparison"


def test_rejected_identification_leaves_household_unregistered(world, walker):
    hh = applicant(world)
    proc = services.procedure_start(actor=world["users"]["village"], kind="identification", household=hh)
    walker.until(proc, "village_review")
    walker.step(proc, decision="reject", notes="评议未通过")
    hh.refresh_from_db()
    assert proc.status == "rejected" and not hh.is_registered_poor
    refused(lambda: services.procedure_record_step(actor=world["users"]["village"], procedure=proc,
                                                   step="first_notice", decision="approve", date=TODAY()),
            "不能再办理", proc)
    # a new application is possible afterwards
    services.procedure_start(actor=world["users"]["village"], kind="identification", household=hh)


def test_start_rules(world):
    users = world["users"]
    poor = poor_household(world)
    refused(lambda: services.procedure_start(actor=users["village"], kind="identification", household=poor),
            "已是建档立卡贫困户", poor)
    plain = applicant(world)
    refused(lambda: services.procedure_start(actor=users["village"], kind="exit", household=plain),
            "只有未脱贫或返贫", plain)
    refused(lambda: services.procedure_start(actor=users["village"], kind="return_to_poverty", household=poor),
            "只有已脱贫", poor)
    services.procedure_start(actor=users["village"], kind="exit", household=poor)
    refused(lambda: services.procedure_start(actor=users["village"], kind="monitoring_entry", household=poor),
            "已有进行中的贫困户退出程序", poor)
    refused(lambda: services.procedure_start(actor=users["village"], kind="village_exit", village=world["va1"]),
            "不是贫困村", world["va1"])


@pytest.fixture
def fake_providers():
    from fupin.core import extensions as ext

    with ext.replaced("lifecycle.assessment", ext.ProcedureAssessment(
            fn=lambda hh: {"label": "四看评分", "score": 62, "items": []})), \
            ext.replaced("lifecycle.findings", ext.ProcedureFindings(
                fn=lambda hh: [{"source": "vehicle", "label": "名下有车辆", "detail": "鄂E"}])):
        yield


def test_findings_and_assessment_providers(world, walker, fake_providers):
    hh = applicant(world)
    proc = services.procedure_start(actor=world["users"]["village"], kind="identification", household=hh)
    walker.until(proc, "town_review")
    assert proc.steps.get(step="visit").data["assessment"] == [{"label": "四看评分", "score": 62, "items": []}]
    walker.step(proc)
    refused(lambda: walker.step(proc), "发现1条疑点", proc)
    walker.step(proc, notes="车辆为农用车,已核实")
    assert proc.steps.get(step="dept_comparison").data["comparison"]["findings"][0]["label"] == "名下有车辆"


def test_idempotent_by_client_uuid(world, walker):
    import uuid

    hh = applicant(world)
    proc = services.procedure_start(actor=world["users"]["village"], kind="identification", household=hh)
    key = uuid.uuid4()
    first = walker.step(proc, client_uuid=key)
    again = services.procedure_record_step(actor=world["users"]["village"], procedure=proc, step="apply",
                                           decision="approve", date=TODAY(), client_uuid=key)
    assert again.pk == first.pk and proc.steps.count() == 1


def test_inbox_posts_the_next_step_to_its_users(world, walker):
    users = world["users"]
    hh = applicant(world)
    proc = services.procedure_start(actor=users["village"], kind="identification", household=hh)
    walker.until(proc, "town_review")
    item = InboxItem.objects.get(user=users["town"], done_at__isnull=True)
    assert "待乡镇审核" in item.title and item.url == proc.batch.get_absolute_url()
    assert not InboxItem.objects.filter(user=users["town_b"]).exists()
    walker.step(proc)
    item.refresh_from_db()
    assert item.done_at is not None


def test_bad_attachments_are_refused(world, walker):
    from django.core.files.uploadedfile import SimpleUploadedFile

    hh = applicant(world)
    proc = services.procedure_start(actor=world["users"]["village"], kind="identification", household=hh)
    fake = SimpleUploadedFile("x.png", b"<svg></svg>", content_type="image/png")
    refused(lambda: walker.step(proc, attachments=[("photo", fake)]), "内容与扩展名不符", proc)
    exe = SimpleUploadedFile("x.exe", b"MZ", content_type="application/octet-stream")
    refused(lambda: walker.step(proc, attachments=[("document", exe)]), "类型不允许", proc)
