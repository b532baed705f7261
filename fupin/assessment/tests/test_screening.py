"""Field checks and their rates, policy gaps (应享未享) through a work order to the receipt, risk alerts, kinship."""

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client

from fupin.assessment import selectors, services
from fupin.assessment.choices import GapStatus
from fupin.assessment.models import FieldCheck, KinshipFlag, PolicyGap, RiskAlert
from fupin.assessment.tests.conftest import poor
from fupin.assistance.models import PolicyReceipt
from fupin.core import extensions as ext
from fupin.core.errors import ServiceError
from fupin.core.testing import make_household, make_id
from fupin.dispatch.models import WorkOrder
from fupin.dispatch.testing import make_departments
from fupin.inbox.models import InboxItem
from fupin.registry.services import household_create

pytestmark = pytest.mark.django_db


# -- field checks ------------------------------------------------------------------------------------------------

@pytest.fixture
def village_mix(county, frozen):
    """va1: 4 poor, 3 exited, 5 not registered households."""
    va1 = county["va1"]
    hhs = [poor(va1, head=f"贫{i}") for i in range(4)]
    hhs += [poor(va1, head=f"脱{i}", poverty_status="1") for i in range(3)]
    hhs += [make_household(va1, head=f"农{i}") for i in range(5)]
    return hhs


def test_sample_is_reproducible_and_drawn_per_group(county, village_mix, office):
    a = services.sample_create(actor=office, village=county["va1"], year=2026, count=2, seed=42)
    b = services.sample_create(actor=office, village=county["va1"], year=2026, count=2, seed=42)
    picked = lambda s: sorted(s.checks.values_list("household_id", flat=True))  # noqa: E731
    assert picked(a) == picked(b)
    assert sorted(a.checks.values_list("stratum", flat=True)) == ["exited"] * 2 + ["other"] * 2 + ["poor"] * 2
    c = services.sample_create(actor=office, village=county["va1"], year=2026, share=0.5, seed=7)
    assert c.checks.count() == 2 + 2 + 3  # ceil(4/2), ceil(3/2), ceil(5/2)


def test_sample_refuses_bad_input(county, village_mix, office, village_b_user):
    with pytest.raises(ServiceError, match="二选一"):
        services.sample_create(actor=office, village=county["va1"], year=2026)
    with pytest.raises(ServiceError, match="比例"):
        services.sample_create(actor=office, village=county["va1"], year=2026, share=1.5)
    with pytest.raises(ServiceError, match="管辖"):
        services.sample_create(actor=village_b_user, village=county["va1"], year=2026, count=1)
    assert not FieldCheck.objects.exists()


def test_rates_from_recorded_checks(county, village_mix, office):
    sample = services.sample_create(actor=office, village=county["va1"], year=2026, count=2, seed=1)
    checks = {s: list(sample.checks.filter(stratum=s)) for s in ("poor", "exited", "other")}
    services.check_record(actor=office, check=checks["poor"][0], correctly_identified=True, satisfied=True)
    services.check_record(actor=office, check=checks["poor"][1], correctly_identified=True, satisfied=True)
    services.check_record(actor=office, check=checks["exited"][0], wrongly_exited=True, satisfied=False)
    services.check_record(actor=office, check=checks["exited"][1], wrongly_exited=False, satisfied=True)
    services.check_record(actor=office, check=checks["other"][0], missed_found=False, satisfied=None)
    with pytest.raises(ServiceError, match="漏评"):
        services.check_record(actor=office, check=checks["other"][1], satisfied=True)
    rates = selectors.field_check_rates(office, year=2026)
    v = rates["villages"][0]
    assert v["code"] == county["va1"].code
    assert v["checks"] == 5 and v["checks_exited"] == 2 and v["checks_other"] == 1
    # 错退率 = 1 of 2 exited = 50 %; 漏评率 = 0 of 1 = 0; 群众认可度 = 3 satisfied of 4 answered = 75 %
    assert v["rates"] == {"wrong_exit_rate": 50.0, "missed_rate": 0.0, "misidentified_rate": 0.0, "approval": 75.0}
    assert v["flags"]["wrong_exit_rate"] and v["flags"]["approval"] and not v["flags"]["missed_rate"]
    assert rates["towns"][0]["code"] == county["town_a"].code and rates["total"]["checks"] == 5


# -- policy gaps -------------------------------------------------------------------------------------------------

@pytest.fixture
def student_household(county, frozen):
    from fupin.dispatch.services import dispatch_setup_defaults

    make_departments()
    dispatch_setup_defaults(actor="test")
    return household_create(actor="test", village=county["va1"], grid=county["ga1"], is_registered_poor=True,
                            poverty_status="0", main_cause="3", members=[
                                {"name": "刘父", "relationship": "户主", "id_number": make_id(birth="19800101"),
                                 "labour_skill": "1", "rural_medical": True},
                                {"name": "刘小", "relationship": "之子", "id_number": make_id(birth="20100101"),
                                 "schooling": "04", "rural_medical": True}])


def test_gap_becomes_a_work_order_and_closes_with_the_receipt(student_household, office):
    stats = services.policy_match(actor=office)
    gap = PolicyGap.objects.get(rule__code="education_aid")
    assert gap.household == student_household and gap.person.name == "刘小"
    assert gap.status == GapStatus.OPEN and gap.evidence["政策"] == "贫困家庭学生教育资助"
    assert stats["opened"] >= 1
    # the 明白卡 and the household page show it
    from fupin.assessment.integration import card_gaps, household_panel

    assert any("刘小" in row[1] for row in card_gaps(student_household)["rows"])
    request = type("Request", (), {"user": office})()
    assert any(r[0] == "应享未享" for r in household_panel(request, student_household)["rows"])
    order = services.gap_dispatch(actor=office, gap=gap)
    assert WorkOrder.objects.get(pk=order.pk).department.code == "jiaoyu"
    assert order.household == student_household
    assert services.gap_dispatch(actor=office, gap=PolicyGap.objects.get(pk=gap.pk)).pk == order.pk  # once
    services.gap_receipt_record(actor=office, gap=PolicyGap.objects.get(pk=gap.pk), received_on=dt.date(2026, 6, 10))
    gap.refresh_from_db()
    assert gap.status == GapStatus.CLOSED and gap.closed_on is not None
    assert PolicyReceipt.objects.filter(household=student_household, policy__name="建档立卡学生生活补助").count() == 1
    services.policy_match(actor=office)  # matching again: covered by the receipt, stays closed
    gap.refresh_from_db()
    assert gap.status == GapStatus.CLOSED
    assert not PolicyGap.objects.filter(rule__code="education_aid", status="open").exists()


def test_gap_closes_when_no_longer_owed(student_household, office):
    services.policy_match(actor=office)
    gap = PolicyGap.objects.get(rule__code="education_aid")
    from fupin.registry.models import Person

    Person.objects.filter(name="刘小").update(schooling="")  # left school (data fixed elsewhere)
    services.policy_match(actor=office)
    gap.refresh_from_db()
    assert gap.status == GapStatus.CLOSED and gap.close_reason


def test_dismiss_needs_a_reason_and_clearance_report(student_household, office, county):
    services.policy_match(actor=office)
    gap = PolicyGap.objects.get(rule__code="education_aid")
    with pytest.raises(ServiceError, match="理由"):
        services.gap_dismiss(actor=office, gap=gap, reason=" ")
    report = selectors.clearance(office, county["va1"])
    row = next(r for r in report["rows"] if r["household"] == student_household)
    assert "贫困家庭学生教育资助" in row["status"]["school"] and not row["ok"]


# -- return-to-poverty monitoring --------------------------------------------------------------------------------

def test_income_signal_raises_one_alert_for_the_village_team(county, frozen, village_a_user):
    from decimal import Decimal

    services.threshold_set(actor="test", year=2026, amount=6000, valid_from=dt.date(2026, 1, 1))
    hh = poor(county["va1"], poverty_status="1", income_year=2025, income_wages=Decimal("13500"))  # 3 × 4500
    poor(county["va1"], poverty_status="1", income_year=2025, income_wages=Decimal("27000"))  # 3 × 9000: fine
    make_household(county["va1"], head="未调查收入")  # no income surveyed: no signal
    first = services.risk_scan(actor="test")
    again = services.risk_scan(actor="test")
    alert = RiskAlert.objects.get()
    assert alert.household == hh and alert.signal == "income" and "6000" in alert.detail
    assert first["new"] == 1 and again["new"] == 0
    assert InboxItem.objects.filter(user=village_a_user, done_at__isnull=True, title__contains="防返贫").count() == 1
    services.alert_close(actor=village_a_user, alert=alert, note="入户核查:已纳入监测")
    assert not InboxItem.objects.filter(user=village_a_user, done_at__isnull=True).exists()


def test_registered_provider_and_self_report(county, frozen, village_a_user):
    hh = poor(county["va1"], poverty_status="4")

    def loans(today):
        return [services.Signal(hh.pk, f"loan:{hh.pk}", "loan", "小额信贷逾期30天", {"逾期天数": 30})]

    with ext.added(ext.RiskSignal(key="test_loan_overdue", fn=loans)):
        services.risk_scan(actor="test")
    assert RiskAlert.objects.filter(signal="loan", household=hh).exists()
    with pytest.raises(ServiceError, match="困难"):
        services.risk_self_report(actor=village_a_user, household=hh, detail="")
    InboxItem.objects.filter(user=village_a_user).update(done_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))  # seen
    alert = services.risk_self_report(actor=village_a_user, household=hh, detail="房屋受灾")
    assert alert.reported_by == village_a_user
    # stored by message id and parameters (fupin/core/i18n.py), shown in the reader's language
    assert alert.detail == 'i18n:["Reported by the household: %(detail)s",{"detail":"房屋受灾"}]'
    assert InboxItem.objects.filter(user=village_a_user, title="防返贫监测预警:农户自主申报:房屋受灾").exists()
    client = Client()
    client.force_login(village_a_user)
    page = client.get(f"/assessment/alerts/{alert.pk}/").content.decode()
    assert "<h1>农户自主申报:房屋受灾</h1>" in page and "i18n:" not in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(f"/assessment/alerts/{alert.pk}/").content.decode()
    assert "<h1>Reported by the household: 房屋受灾</h1>" in page
    # a row written before messages were stored by id shows its text as it is
    RiskAlert.objects.filter(pk=alert.pk).update(detail="农户自主申报:房屋受灾")
    assert "<h1>农户自主申报:房屋受灾</h1>" in client.get(f"/assessment/alerts/{alert.pk}/").content.decode()


# -- favouritism -------------------------------------------------------------------------------------------------

def test_kinship_from_the_household_register(county, frozen, office, tmp_path):
    from fupin.core.testing import make_user
    from fupin.exchange.services import import_department, sources_ensure_defaults

    cadre_id, son_id = make_id(birth="19700101"), make_id(birth="19950101")
    hh = household_create(actor="test", village=county["va1"], address="甲一村3组8号",
                          members=[{"name": "周子", "relationship": "户主", "id_number": son_id}])
    other = poor(county["va1"], head="无关")
    cadre = make_user("cadre1", "village_team", division=county["va1"], display_name="周村干")
    services.staff_identity_set(actor=office, user=cadre, role="village_cadre", id_number=cadre_id)
    sources_ensure_defaults()
    path = tmp_path / "户籍.csv"
    path.write_text("姓名,公民身份号码,户号,与户主关系,户籍地址\n"
                    f"周村干,{cadre_id},H001,户主,甲一村3组9号\n周子,{son_id},H001,之子,甲一村3组9号\n", encoding="utf-8")
    import_department(actor="test", source_code="household_register", path=path)
    assert services.kinship_scan(actor=office, year=2026)["new"] == 0  # not registered, not applying: no flag
    from fupin.lifecycle.services import procedure_start

    procedure_start(actor=cadre, kind="identification", household=hh)  # applies: listed for the town's review
    result = services.kinship_scan(actor=office, year=2026)
    flag = KinshipFlag.objects.get()
    assert flag.household == hh and flag.relation == "child" and "H001" in flag.source
    assert not KinshipFlag.objects.filter(household=other).exists()
    assert result["new"] == 1
    assert services.kinship_scan(actor=office, year=2026)["new"] == 0
    with pytest.raises(ServiceError):
        services.staff_identity_set(actor=office, user=cadre, role="village_cadre", id_number="123")


def test_monitored_households_get_lights_like_poor_ones(county, frozen):
    from fupin.assistance.models import HouseholdLight
    from fupin.assistance.tracking import recompute_all
    from fupin.registry.services import household_update

    edge = make_household(county["va1"], head="边缘户")
    exited = poor(county["va1"], head="脱贫户", poverty_status="4")
    plain = make_household(county["va1"], head="普通户")
    for hh, group in ((edge, "edge"), (exited, "unstable")):
        household_update(actor="test", household=hh, monitoring_category=group, monitoring_risks=["1"])
    recompute_all()
    lit = set(HouseholdLight.objects.values_list("household_id", flat=True))
    assert {edge.pk, exited.pk} <= lit and plain.pk not in lit


def test_a_labourer_marked_ill_in_the_registry_alone_is_not_a_new_signal(county, frozen):
    """Version 2 of the labourer signal: an illness recorded at registration is in the household's plan already; the
    illness of the period comes from the medical extract (test_risk_signals.py has the positives)."""
    hh = household_create(actor="test", village=county["va1"], is_registered_poor=True, poverty_status="1",
                          members=[{"name": "病劳力", "relationship": "户主", "id_number": make_id(birth="19750101"),
                                    "labour_skill": "1", "health": ["3"]},
                                   {"name": "好劳力", "relationship": "配偶", "id_number": make_id(birth="19760101"),
                                    "labour_skill": "1", "health": ["1"]}])
    services.risk_scan(actor="test")
    assert not RiskAlert.objects.filter(household=hh, signal="labour").exists()
