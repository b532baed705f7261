"""The risk signals of return-to-poverty monitoring (防返贫监测), each checked on households written by hand: for
each signal the households it must catch and, for each condition, one that differs in that condition alone and must
not be caught. The expected sets are written here, not computed by the code under test.

Who each signal is for (the 2020 rules, docs/assessment-and-screening.md §5): a watched household (exited, monitored
or not registered; households still poor are under assistance already) whose medical self-payments take it below the
monitoring threshold (a household whose income was never surveyed gets an income-survey task instead, and is
decided on the income the village team records); a member newly certified disabled in the period (not every disabled member); the death or the
serious illness of a labourer in the period; an income drop and an overdue loan have their own tests
(test_income_history.py, fupin/funds/tests).
"""

import datetime as dt
from decimal import Decimal
from itertools import count

import pytest

from fupin.assessment import services
from fupin.assessment.choices import INCOME_SURVEY
from fupin.assessment.models import IncomeYear, RiskAlert
from fupin.assessment.signals import labourer_loss, large_medical, new_disability
from fupin.assessment.tests.conftest import poor
from fupin.core.errors import ServiceError
from fupin.core.testing import make_household, make_id
from fupin.exchange.models import RecordLink, Snapshot, Source, StagedRecord
from fupin.registry.models import Household, Person
from fupin.registry.services import household_create

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 15)
_rows = count(1)


@pytest.fixture
def sources(county, frozen):
    from fupin.exchange.services import sources_ensure_defaults

    sources_ensure_defaults()
    services.threshold_set(actor="test", year=2026, amount=6000, valid_from=dt.date(2026, 1, 1))


def snapshot(source: str, name: str) -> Snapshot:
    """A new current snapshot of a department source (the one before stays, not current)."""
    Snapshot.objects.filter(source__code=source, is_current=True).update(is_current=False)
    return Snapshot.objects.create(source=Source.objects.get(code=source), file_name=name, file_sha256="0" * 64,
                                   is_current=True)


def record(snap: Snapshot, person: Person, data: dict, *, link: bool = True) -> StagedRecord:
    rec = StagedRecord.objects.create(snapshot=snap, source_code=snap.source.code, row_number=next(_rows), raw={},
                                      data=data, id_number=person.id_number, id_status="valid", name=person.name)
    if link:
        RecordLink.objects.create(record=rec, person=person, snapshot=snap, source_code=snap.source.code,
                                  method="exact_id", area_code=person.area_code)
    return rec


def income(hh, per_capita) -> Household:
    """The surveyed income of 2025, as a survey leaves it."""
    Household.objects.filter(pk=hh.pk).update(income_year=2025, per_capita_net_income=Decimal(per_capita),
                                              net_income=Decimal(per_capita) * hh.size)
    hh.refresh_from_db()
    return hh


def head(hh) -> Person:
    return Person.objects.filter(household=hh).order_by("pk").first()


def exited(village, name, **fields):
    return poor(village, head=name, poverty_status="1", **fields)


# -- large medical expenses ---------------------------------------------------------------------------------------

def _medical_county(county):
    va1 = county["va1"]
    h = {
        # income surveyed (3 members; threshold 6,000 per person)
        "pushed_below": income(exited(va1, "医甲"), "8000"),  # 9,000 / 3 = 3,000 → 5,000: below
        "rich_big_bill": income(exited(va1, "医乙"), "20000"),  # 12,000 (over 10,000) / 3 → 16,000: fine
        "small_bill": income(exited(va1, "医丙"), "8000"),  # 3,000 / 3 → 7,000: fine
        "already_below": income(exited(va1, "医丁"), "5000"),  # below before: the income signal raises it
        "edge_exact": income(exited(va1, "医戊"), "9000"),  # 9,000 / 3 → 6,000: not below
        # income not surveyed (near-poor, not registered): an income-survey task, not an alert
        "unknown_big": make_household(va1, head="医己"),  # 10,000 + 9,000 = 19,000 / 3 ≥ 6,000
        "unknown_mid": make_household(va1, head="医庚"),  # 15,000 / 3 = 5,000 < 6,000: nothing
        "still_poor": income(poor(va1, head="医辛"), "3000"),  # under assistance: not watched
        "old_extract": income(exited(va1, "医壬"), "8000"),  # the bill is only in the replaced extract
        # income only in the income history (entered by the office): decided on it
        "history_below": make_household(va1, head="医癸"),  # 8,000 in 2025; 9,000 / 3 → 5,000: below
        "history_fine": make_household(va1, head="医子"),  # 20,000 in 2025; 21,000 / 3 → 13,000: fine
    }
    services.income_year_set(actor="test", household=h["history_below"], year=2025, per_capita="8000")
    services.income_year_set(actor="test", household=h["history_fine"], year=2025, per_capita="20000")
    old = snapshot("medical", "医疗2025.xlsx")
    record(old, head(h["old_extract"]), {"病种": "骨折", "自付": "9000"})
    snap = snapshot("medical", "医疗2026.xlsx")
    for key, bills in (("pushed_below", ["9000"]), ("rich_big_bill", ["12,000元"]), ("small_bill", ["3000"]),
                       ("already_below", ["9000"]), ("edge_exact", ["9000"]), ("unknown_big", ["10000", "9000"]),
                       ("unknown_mid", ["15000"]), ("still_poor", ["50000"]), ("history_below", ["9000"]),
                       ("history_fine", ["21000"])):
        members = list(Person.objects.filter(household=h[key]).order_by("pk"))
        for i, bill in enumerate(bills):
            record(snap, members[i], {"病种": "骨折", "医疗总费用": "60000", "自付": bill})
    return h


def test_medical_expense_taking_a_household_below_the_threshold(county, sources, village_a_user):
    from fupin.assessment.selectors import stats
    from fupin.inbox.models import InboxItem

    h = _medical_county(county)
    signals = large_medical(TODAY)
    assert {s.household_id for s in signals if s.signal == "medical"} == {h["pushed_below"].pk,
                                                                         h["history_below"].pk}
    assert {s.household_id for s in signals if s.signal == INCOME_SURVEY} == {h["unknown_big"].pk}
    services.risk_scan(actor="test")
    alerts = RiskAlert.objects.filter(signal="medical")
    assert set(alerts.values_list("household_id", flat=True)) == {h["pushed_below"].pk, h["history_below"].pk}
    below = alerts.get(household=h["pushed_below"])
    assert below.evidence["扣除自付后人均"] == "5000.00" and below.evidence["规则版本"] == "3"
    assert "5000" in below.detail and "6000" in below.detail
    assert alerts.get(household=h["history_below"]).evidence["收入年度"] == "2025"
    # the household already below is raised once, by the income signal, not again as a medical expense
    assert RiskAlert.objects.filter(household=h["already_below"]).values_list("signal", flat=True).get() == "income"
    survey = RiskAlert.objects.get(signal=INCOME_SURVEY)
    assert survey.household_id == h["unknown_big"].pk and survey.evidence["人均自付"] == "6333.33"
    # a task, not an alert: not counted among the open alerts, its own inbox item for the village team
    figures = stats()
    assert figures["income_surveys_open"] == 1
    assert figures["risk_alerts_open"] == RiskAlert.objects.filter(status="open").count() - 1
    keys = set(InboxItem.objects.filter(user=village_a_user, done_at__isnull=True).values_list("dedupe_key",
                                                                                                flat=True))
    village = county["va1"].code
    assert keys == {f"assessment.alerts.{village}", f"assessment.income_surveys.{village}"}


def test_an_income_survey_task_is_answered_by_the_surveyed_income(county, sources, village_a_user):
    from fupin.inbox.models import InboxItem

    h = _medical_county(county)
    services.risk_scan(actor="test")
    task = RiskAlert.objects.get(signal=INCOME_SURVEY, household=h["unknown_big"])
    # 7,000 per person in 2025 less 19,000 / 3 = 6,333 → 667, below 6,000: the next scan raises the alert
    services.income_survey_record(actor=village_a_user, task=task, year=2025, per_capita="7000")
    task.refresh_from_db()
    assert task.status == "closed" and "7000" in task.close_note
    assert IncomeYear.objects.get(household=h["unknown_big"]).source == "survey"
    key = f"assessment.income_surveys.{county['va1'].code}"
    assert not InboxItem.objects.filter(dedupe_key=key, done_at__isnull=True).exists()
    result = services.risk_scan(actor="test")
    assert result["new"] == 1 and result["surveys"] == 0
    alert = RiskAlert.objects.get(signal="medical", household=h["unknown_big"])
    assert alert.status == "open" and alert.evidence["人均纯收入"] == "7000.00"
    assert RiskAlert.objects.filter(household=h["unknown_big"], signal=INCOME_SURVEY).count() == 1


def test_an_income_survey_closes_by_itself_when_not_needed_any_more(county, sources):
    h = _medical_county(county)
    services.risk_scan(actor="test")
    task = RiskAlert.objects.get(signal=INCOME_SURVEY)
    # the income is recorded another way (high: no alert), then the scan closes the task with the reason
    services.income_year_set(actor="test", household=h["unknown_big"], year=2025, per_capita="30000")
    result = services.risk_scan(actor="test")
    task.refresh_from_db()
    assert (task.status, task.close_note, result["surveys_closed"]) == ("closed", services.SURVEY_DONE_NOTE, 1)
    assert not RiskAlert.objects.filter(signal="medical", household=h["unknown_big"]).exists()
    # a new household's task whose bills leave the current extract closes as no longer needed
    hh = make_household(county["va1"], head="医丑")
    record(Snapshot.objects.get(source__code="medical", is_current=True), head(hh), {"病种": "骨折", "自付": "30000"})
    services.risk_scan(actor="test")
    other = RiskAlert.objects.get(signal=INCOME_SURVEY, household=hh, status="open")
    snapshot("medical", "医疗2026-2.xlsx")  # the new extract no longer has the bill
    services.risk_scan(actor="test")
    other.refresh_from_db()
    assert (other.status, other.close_note) == ("closed", services.SURVEY_MOOT_NOTE)


def test_income_survey_refusals_change_nothing(county, sources, village_a_user, village_b_user):
    h = _medical_county(county)
    services.risk_scan(actor="test")
    task = RiskAlert.objects.get(signal=INCOME_SURVEY)
    alert = RiskAlert.objects.get(signal="medical", household=h["pushed_below"])
    for who, target, pc in ((village_a_user, alert, "7000"), (village_a_user, task, "many"),
                            (village_a_user, task, "-5"), (village_b_user, task, "7000")):
        with pytest.raises(ServiceError):
            services.income_survey_record(actor=who, task=target, year=2025, per_capita=pc)
    task.refresh_from_db()
    alert.refresh_from_db()
    assert task.status == alert.status == "open"
    assert not IncomeYear.objects.filter(household=h["unknown_big"]).exists()


def test_the_survey_form_on_the_task_page(county, sources, village_a_user):
    from django.test import Client

    _medical_county(county)
    services.risk_scan(actor="test")
    task = RiskAlert.objects.get(signal=INCOME_SURVEY)
    c = Client()
    c.force_login(village_a_user)
    assert "医己" not in c.get("/assessment/alerts/").content.decode()  # the default list: alerts only
    assert "医己" in c.get("/assessment/alerts/?kind=survey").content.decode()
    page = c.get(f"/assessment/alerts/{task.pk}/").content.decode()
    assert 'data-testid="income-survey"' in page
    r = c.post(f"/assessment/alerts/{task.pk}/", {"year": "2025", "per_capita": "7000", "net_income": ""})
    assert r.status_code == 302
    task.refresh_from_db()
    assert task.status == "closed"
    assert IncomeYear.objects.get(household=task.household).per_capita_net_income == Decimal("7000.00")
    api = c.get("/api/v1/assessment/alerts?kind=survey&status=closed").json()
    assert [a["id"] for a in api] == [task.pk]


def test_medical_signal_without_a_threshold_raises_nothing(county, frozen):
    from fupin.exchange.services import sources_ensure_defaults

    sources_ensure_defaults()
    hh = make_household(county["va1"], head="无标准")
    record(snapshot("medical", "医疗.xlsx"), head(hh), {"病种": "骨折", "自付": "90000"})
    assert large_medical(TODAY) == []


# -- new disability -----------------------------------------------------------------------------------------------

def _disability_county(county):
    va1 = county["va1"]
    h = {
        "new": make_household(va1, head="残甲"),  # certified since the last extract
        "held_before": make_household(va1, head="残乙"),  # in both extracts: not new
        "known_in_registry": household_create(actor="test", village=va1, members=[
            {"name": "残丙", "relationship": "户主", "id_number": make_id(birth="19700101"),
             "disability_category": "1", "disability_grade": 2}]),  # the registry records the disability
        "still_poor": poor(va1, head="残丁"),  # under assistance: not watched
        "before_by_id": make_household(va1, head="残戊"),  # in the last extract, not linked there
        "exited_new": exited(va1, "残己"),
    }
    return h


def _extracts(h, *, two: bool):
    card = {"残疾类别": "肢体", "残疾等级": "三级"}
    if two:
        old = snapshot("disability", "残疾人证2025.xlsx")
        record(old, head(h["held_before"]), card)
        record(old, head(h["before_by_id"]), card, link=False)
    snap = snapshot("disability", "残疾人证2026.xlsx")
    for key in ("new", "held_before", "known_in_registry", "still_poor", "before_by_id", "exited_new"):
        record(snap, head(h[key]), card)


def test_new_disability_is_a_card_absent_from_the_extract_before(county, sources):
    h = _disability_county(county)
    _extracts(h, two=True)
    signals = new_disability(TODAY)
    assert {s.household_id for s in signals} == {h["new"].pk, h["exited_new"].pk}
    assert all(s.evidence["上期数据"] == "残疾人证2025.xlsx" for s in signals)


def test_the_first_disability_extract_is_the_baseline(county, sources):
    h = _disability_county(county)
    _extracts(h, two=False)
    assert new_disability(TODAY) == []


# -- death or serious illness of a labourer -----------------------------------------------------------------------

def _member(name, *, skill="1", born="19750101", **kw):
    return {"name": name, "id_number": make_id(birth=born), "labour_skill": skill, **kw}


def _labour_county(county):
    va1 = county["va1"]

    def hh(name, *members):
        return household_create(actor="test", village=va1, is_registered_poor=True, poverty_status="1", members=[
            {**_member(name), "relationship": "户主"}, *[{**m, "relationship": "配偶"} for m in members]])

    h = {
        "died": hh("亡甲", _member("亡甲妻")),
        "died_long_ago": hh("亡乙", _member("亡乙妻")),
        "non_labourer_died": hh("亡丙", _member("亡丙父", skill="5", born="19400101")),
        "cancer": hh("病丁", _member("病丁妻")),
        "hypertension": hh("病戊", _member("病戊妻")),
        "registry_only": hh("病己", _member("病己妻", health=["3"])),
        "non_labourer_ill": hh("病庚", _member("病庚母", skill="4", born="19450101")),
        "still_poor_ill": poor(va1, head="病辛"),
    }

    def second(key):
        return Person.objects.filter(household=h[key]).order_by("pk")[1]

    Person.objects.filter(pk=second("died").pk).update(is_alive=False, death_date=dt.date(2026, 3, 1))
    Person.objects.filter(pk=second("died_long_ago").pk).update(is_alive=False, death_date=dt.date(2024, 1, 1))
    Person.objects.filter(pk=second("non_labourer_died").pk).update(is_alive=False, death_date=dt.date(2026, 3, 1))
    Person.objects.filter(household=h["still_poor_ill"]).update(labour_skill="1")
    snap = snapshot("medical", "医疗2026.xlsx")
    for key, disease in (("cancer", "肺癌"), ("hypertension", "高血压"), ("non_labourer_ill", "尿毒症"),
                         ("still_poor_ill", "尿毒症")):
        record(snap, second(key) if key != "still_poor_ill" else head(h[key]),
               {"病种": disease, "医疗总费用": "2000", "自付": "200"})
    return h, second


def test_labourer_death_in_the_year_or_serious_illness_in_the_medical_extract(county, sources):
    h, second = _labour_county(county)
    signals = labourer_loss(TODAY)
    assert sorted((s.household_id, s.key) for s in signals) == sorted([
        (h["died"].pk, f"labour:{second('died').pk}:dead"),
        (h["cancer"].pk, f"labour:{second('cancer').pk}:ill"),
    ])
    ill = next(s for s in signals if s.key.endswith(":ill"))
    assert ill.evidence["病种"] == "肺癌" and "肺癌" in ill.detail


def test_serious_diseases_are_a_setting(county, sources, settings):
    h, _second = _labour_county(county)
    settings.FUPIN_MONITOR_SERIOUS_DISEASES = ["高血压"]
    assert {s.household_id for s in labourer_loss(TODAY) if s.key.endswith(":ill")} == {h["hypertension"].pk}


# -- a revised rule closes the alerts it no longer raises ---------------------------------------------------------

def test_alerts_of_an_earlier_rule_version_close_with_the_reason(county, sources, village_a_user):
    from fupin.inbox.models import InboxItem

    h = _medical_county(county)
    old = {key: RiskAlert.objects.create(key=f"medical:{h[key].pk}:2026", household=h[key],
                                         area_code=h[key].area_code, signal="medical", detail="医疗费用个人自付超过10000元",
                                         evidence={"自付合计": "12000"}, raised_on=dt.date(2026, 6, 1))
           for key in ("pushed_below", "rich_big_bill")}  # version 1 raised both
    county_alert = RiskAlert.objects.create(key="self:x", household=h["rich_big_bill"], signal="self_report",
                                            area_code=h["rich_big_bill"].area_code, detail="农户自主申报:受灾",
                                            evidence={}, raised_on=dt.date(2026, 6, 1))
    result = services.risk_scan(actor="test")
    assert result["superseded"] == 1
    for alert in (*old.values(), county_alert):
        alert.refresh_from_db()
    assert old["rich_big_bill"].status == "closed"
    assert old["rich_big_bill"].close_note == "预警规则修订为第3版后不再触发"
    assert old["pushed_below"].status == "open"  # raised again by version 2: stays for the village team
    assert county_alert.status == "open"  # not a versioned signal
    assert services.risk_scan(actor="test")["superseded"] == 0
    assert InboxItem.objects.filter(user=village_a_user).exists()


def test_a_version_2_alert_without_income_becomes_a_survey_and_comes_back_on_a_low_income(county, sources,
                                                                                         village_a_user):
    h = _medical_county(county)
    v2 = {key: RiskAlert.objects.create(key=f"medical:{h[key].pk}:2026", household=h[key], signal="medical",
                                        area_code=h[key].area_code, detail="医疗费用个人自付19000元(收入未调查)",
                                        evidence={"规则版本": "2"}, raised_on=dt.date(2026, 6, 1))
          for key in ("unknown_big", "pushed_below")}
    services.alert_close(actor=village_a_user, alert=v2["pushed_below"], note="已入户核实,不需纳入监测")
    result = services.risk_scan(actor="test")
    assert (result["superseded"], result["surveys"], result["reopened"]) == (1, 1, 0)
    for alert in v2.values():
        alert.refresh_from_db()
    assert (v2["unknown_big"].status, v2["unknown_big"].close_note) == ("closed", "预警规则修订为第3版后不再触发")
    assert v2["pushed_below"].status == "closed"  # the village team's decision stands: not reopened
    task = RiskAlert.objects.get(signal=INCOME_SURVEY, household=h["unknown_big"])
    services.income_survey_record(actor=village_a_user, task=task, year=2025, per_capita="7000")
    result = services.risk_scan(actor="test")
    assert result["reopened"] == 1
    v2["unknown_big"].refresh_from_db()
    assert v2["unknown_big"].status == "open" and v2["unknown_big"].evidence["规则版本"] == "3"
    assert v2["unknown_big"].close_note == "" and v2["unknown_big"].raised_on == TODAY
    v2["pushed_below"].refresh_from_db()
    assert v2["pushed_below"].status == "closed"
