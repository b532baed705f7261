"""The national system: the export in its layout round-trips through the roster importer; suspect-data feedback
opens findings in the verification flow; the yearly dynamic adjustment batches the year's changes for review."""

from __future__ import annotations

import io

import openpyxl
import pytest

from fupin.core import idnumber
from fupin.core.errors import ImportRefused, ServiceError
from fupin.core.testing import make_household, make_user
from fupin.eligibility.models import Finding
from fupin.inbox.models import InboxItem
from fupin.interop import national, services
from fupin.interop.choices import SubmissionStatus
from fupin.interop.models import FeedbackImport, Submission
from fupin.registry.importer import import_roster
from fupin.registry.models import Household, Person
from fupin.registry.services import household_update, member_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def roster(county):
    office = make_user("county_office", "city_office", division=county["county"])
    office2 = make_user("county_office2", "city_office", division=county["county"])
    a = make_household(county["va1"], grid=county["ga1"], head="王大", members=3, is_registered_poor=True,
                       poor_code="420581100201000001", poverty_status="0", attribute="2", main_cause="1",
                       other_causes=["7", "9"], identification_standard="national", year_identified=2014)
    b = make_household(county["vb1"], grid=county["gb1"], head="李二", members=2, is_registered_poor=True,
                       poor_code="420581200201000002", poverty_status="1", attribute="1", main_cause="2",
                       year_identified=2015, year_exited=2016)
    make_household(county["va1"], head="非贫困", members=2)  # a resident household: not on the national roster
    return {"office": office, "office2": office2, "a": a, "b": b, "county": county}


def _workbook(user, qs) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(b"".join(national.export_chunks(user, qs))), read_only=True)


def test_export_has_member_and_household_sheets_with_code_values(roster):
    wb = _workbook(roster["office"], national.registered(roster["county"]["county"].prefix))
    assert wb.sheetnames == [national.MEMBER_SHEET, national.HOUSEHOLD_SHEET]
    members = [list(r) for r in wb[national.MEMBER_SHEET].iter_rows(values_only=True)]
    header = members[0]
    assert header[:6] == ["序号", "乡镇", "行政村", "组", "户编号", "姓名"]
    rows = [dict(zip(header, r, strict=False)) for r in members[1:]]
    assert len(rows) == 5
    head = rows[0]
    assert head["与户主关系"] == "户主" and head["户编号"] == "420581100201000001"
    assert head["性别"] in ("1", "2") and head["贫困户属性"] == "2" and head["主要致贫原因"] == "1"
    assert head["其他致贫原因"] == "7,9" and head["脱贫状态"] == "0" and head["证件类型"] == "居民身份证"
    assert idnumber.is_valid(head["证件号码"])
    households = [list(r) for r in wb[national.HOUSEHOLD_SHEET].iter_rows(values_only=True)]
    assert households[0][:3] == ["户编号", "行政区划代码", "乡镇"]
    assert [h[0] for h in households[1:]] == ["420581100201000001", "420581200201000002"]
    assert households[1][1] == roster["county"]["va1"].code and idnumber.is_valid(households[1][6])


def test_ids_are_masked_for_a_role_without_full_ids_and_rows_are_scoped(roster):
    county = roster["county"]
    leader = make_user("leader", "city_leader", division=county["county"])
    wb = _workbook(leader, national.registered(county["county"].prefix))
    rows = list(wb[national.MEMBER_SHEET].iter_rows(values_only=True))[1:]
    assert all("*" in r[8] for r in rows)
    village_a = make_user("va_team", "village_team", division=county["va1"])
    qs = Household.objects.restrict(village_a).filter(pk__in=national.registered("").values("pk"))
    rows = list(_workbook(village_a, qs)[national.MEMBER_SHEET].iter_rows(values_only=True))[1:]
    assert {r[4] for r in rows} == {"420581100201000001"}


def test_export_round_trips_through_the_roster_importer(roster, tmp_path):
    county = roster["county"]
    path = tmp_path / "national.xlsx"
    path.write_bytes(b"".join(national.export_chunks(roster["office"], national.registered(county["county"].prefix))))
    before = {p.id_number: (p.name, p.relationship, p.sex, p.ethnicity, p.household_id)
              for p in Person.objects.filter(household__is_registered_poor=True)}
    households_before = {h.poor_code: (h.attribute, h.main_cause, h.other_causes, h.poverty_status, h.size)
                         for h in Household.objects.filter(is_registered_poor=True)}
    result = import_roster(actor=roster["office"], path=path)
    assert result.households_created == 0 and result.persons_created == 0
    after = {p.id_number: (p.name, p.relationship, p.sex, p.ethnicity, p.household_id)
             for p in Person.objects.filter(household__is_registered_poor=True)}
    assert after == before
    assert {h.poor_code: (h.attribute, h.main_cause, h.other_causes, h.poverty_status, h.size)
            for h in Household.objects.filter(is_registered_poor=True)} == households_before
    # and into an empty registry it creates the same households and members
    Person.objects.all().delete()
    Household.objects.all().delete()
    import_roster(actor=roster["office"], path=path)
    assert {p.id_number: (p.name, p.relationship) for p in Person.objects.all()} == \
        {k: v[:2] for k, v in before.items()}
    assert {h.poor_code: (h.attribute, h.main_cause, h.other_causes, h.poverty_status, h.size)
            for h in Household.objects.all()} == households_before


def _feedback_file(tmp_path, rows, name="疑点.xlsx"):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["全国扶贫开发信息系统疑点数据反馈"])
    ws.append(["户编号", "姓名", "证件号码", "疑点类型", "疑点描述"])
    for r in rows:
        ws.append(r)
    path = tmp_path / name
    wb.save(path)
    return path


def test_feedback_opens_findings_with_inbox_tasks_once(roster, tmp_path):
    a = roster["a"]
    member = a.members.exclude(relationship="户主").first()
    worker = make_user("grid_a", "grid_worker", grid=roster["county"]["ga1"])
    from fupin.geo.services import grid_assign_post

    grid_assign_post(actor="test", grid=roster["county"]["ga1"], user=worker, post="grid_worker")
    path = _feedback_file(tmp_path, [
        [a.poor_code, member.name, member.id_number, "财政供养人员", "该成员在财政供养人员名单中"],
        [a.poor_code, "", "", "户人均纯收入异常", "人均纯收入高于当年标准"],
    ])
    record = services.feedback_import(actor=roster["office"], path=path)
    assert (record.rows, record.opened, record.already) == (2, 2, 0)
    findings = list(Finding.objects.filter(source_code="national").order_by("id"))
    assert [f.person_id for f in findings] == [member.pk, None]
    assert findings[0].rule_name == "国家系统疑点:财政供养人员" and findings[0].status == Finding.Status.OPEN
    assert findings[0].evidence["national"]["row"] == 3
    assert InboxItem.objects.filter(user=worker, dedupe_key=findings[0].inbox_key, kind="verify").exists()
    # the same file again opens nothing new
    again = services.feedback_import(actor=roster["office"], path=path)
    assert (again.opened, again.already) == (0, 2)
    assert Finding.objects.filter(source_code="national").count() == 2
    # and the grid worker verifies it as any finding
    from fupin.eligibility.services import finding_dismiss

    finding_dismiss(actor=worker, finding=findings[0], reason="已退休,不再领取财政工资")
    assert Finding.objects.get(pk=findings[0].pk).status == Finding.Status.DISMISSED


def test_feedback_naming_unknown_households_or_people_is_refused_whole(roster, tmp_path):
    a, b = roster["a"], roster["b"]
    path = _feedback_file(tmp_path, [
        [a.poor_code, "", "", "户人均纯收入异常", "偏高"],
        ["420581999999999999", "", "", "重复户", ""],
        [a.poor_code, "查无此人", "", "死亡未销户", ""],
        [a.poor_code, "", "", "", "没有类型"],
    ])
    with pytest.raises(ImportRefused) as refused:
        services.feedback_import(actor=roster["office"], path=path)
    text = refused.value.report()
    assert "第4行" in text and "第5行" in text and "第6行" in text and "第3行" not in text
    assert not Finding.objects.exists() and not FeedbackImport.objects.exists()
    # a village user may not receive feedback about another village's household
    va_user = make_user("va_town", "town_staff", division=roster["county"]["town_a"])
    with pytest.raises(ImportRefused):
        services.feedback_import(actor=va_user, path=_feedback_file(tmp_path, [[b.poor_code, "", "", "重复户", ""]],
                                                                    name="b.xlsx"))
    path = _feedback_file(tmp_path, [["x"]], name="bad.xlsx")
    with pytest.raises(ImportRefused):
        services.feedback_import(actor=roster["office"], path=path)
    assert not Finding.objects.exists()


def test_dynamic_adjustment_batches_the_years_changes_and_diffs_the_last_submission(roster):
    office, office2, a, b = roster["office"], roster["office2"], roster["a"], roster["b"]
    first = services.adjustment_prepare(actor=office, year=2016)
    assert first.counts["identified"] == 2 and first.status == SubmissionStatus.DRAFT
    with pytest.raises(ServiceError):
        services.adjustment_submit(actor=office, submission=first)  # not reviewed
    with pytest.raises(ServiceError):
        services.adjustment_review(actor=office, submission=first)  # not by its author
    services.adjustment_review(actor=office2, submission=first)
    services.adjustment_submit(actor=office, submission=first)
    # the next year: a new identification, an exit, a return, a birth
    county = roster["county"]
    make_household(county["va1"], head="新识别", members=2, is_registered_poor=True,
                   poor_code="420581100201000009", poverty_status="0")
    household_update(actor=office, household=a, poverty_status="1", year_exited=2017)
    household_update(actor=office, household=b, poverty_status="3")
    member_add(actor=office, household=Household.objects.get(pk=a.pk),
               member={"name": "王小", "relationship": "之孙子", "id_number": ""})
    second = services.adjustment_prepare(actor=office, year=2017)
    assert second.based_on_id == first.pk
    d = second.diff
    assert [x["poor_code"] for x in d["identified"]] == ["420581100201000009"]
    assert [x["poor_code"] for x in d["exited"]] == [a.poor_code]
    assert [x["poor_code"] for x in d["returned"]] == [b.poor_code]
    assert [x["name"] for x in d["member_added"]] == ["王小"]
    assert second.counts["member_removed"] == 0 and second.counts["removed"] == 0
    # refreshing the draft keeps one draft per year
    again = services.adjustment_prepare(actor=office, year=2017)
    assert again.pk == second.pk and Submission.objects.filter(year=2017).count() == 1
    services.adjustment_review(actor=office2, submission=again)
    with pytest.raises(ServiceError):
        services.adjustment_prepare(actor=office, year=2017)  # reviewed: no silent refresh
    services.adjustment_review(actor=office2, submission=again, approve=False, note="请补充说明")
    assert Submission.objects.get(pk=again.pk).status == SubmissionStatus.DRAFT


def test_only_county_staff_prepare_adjustments(roster):
    town = make_user("town_a", "town_staff", division=roster["county"]["town_a"])
    with pytest.raises(ServiceError):
        services.adjustment_prepare(actor=town, year=2016)
    assert not Submission.objects.exists()
