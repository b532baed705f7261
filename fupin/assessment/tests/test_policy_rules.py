"""Each starting-pack policy rule (应享未享) fires exactly when it should, on hand-built households: for every rule a
household it must find and, for every condition of the rule, a household that differs in that condition alone and
must not be found. The expected gaps are written out here, not derived from the rules."""

import datetime as dt
from decimal import Decimal

import pytest

from fupin.assessment import defaults, services
from fupin.assessment.models import PolicyGap, PolicyRule, PolicyRuleRevision
from fupin.assistance.models import Policy
from fupin.assistance.services import policy_create, policy_receipt_add
from fupin.core.models import AuditEvent
from fupin.core.testing import make_id
from fupin.registry.services import household_create

pytestmark = pytest.mark.django_db

RECENT, LONG_AGO = dt.date(2026, 3, 1), dt.date(2023, 5, 1)  # the clock is frozen at 2026-06-15


def _member(name, rel, birth, **fields):
    fields.setdefault("labour_skill", "1")
    fields.setdefault("rural_medical", True)
    return {"name": name, "relationship": rel, "id_number": make_id(birth=birth), **fields}


def _receive(hh, policy_name, on=RECENT):
    policy_receipt_add(actor="test", household=hh, policy=Policy.objects.get(name=policy_name), received_on=on)


@pytest.fixture
def households(county, frozen):
    """name -> household; every household gets the medical subsidy and is insured unless the case is about that."""
    services.policy_rules_ensure_default(actor="test")
    policy_create(actor="test", name="雨露计划", kind="education")
    va1 = county["va1"]
    made = {}

    def hh(key, members, *, medical=True, per_capita=None, **fields):
        fields.setdefault("is_registered_poor", True)
        fields.setdefault("poverty_status", "0")
        fields.setdefault("main_cause", "1")
        fields.setdefault("land_cultivated", Decimal("2.0"))
        if per_capita is not None:
            fields.update(income_year=2025, transfer_other=Decimal(per_capita * len(members)))
        h = household_create(actor="test", village=va1, grid=county["ga1"], members=members, **fields)
        if medical:
            _receive(h, "新农合个人缴费资助")
        made[key] = h
        return h

    adult = lambda name, **kw: _member(name, "户主", "19800101", **kw)  # noqa: E731
    old = lambda name, **kw: _member(name, "户主", "19450101", labour_skill="4", **kw)  # noqa: E731
    # education aid: a student of a poor household with no education aid of any kind this year
    hh("edu", [adult("教父"), _member("教子", "之子", "20120101", labour_skill="5", schooling="04")])
    h = hh("edu_kind", [adult("雨父"), _member("雨子", "之子", "20080101", labour_skill="5", schooling="10")])
    _receive(h, "雨露计划")  # another education policy covers the student
    hh("edu_exited", [adult("退父"), _member("退子", "之子", "20120101", labour_skill="5", schooling="04")],
       poverty_status="4")
    hh("edu_preschool", [adult("幼父"), _member("幼子", "之子", "20220101", labour_skill="5", schooling="01")])
    # medical: a member not insured; a household whose contribution was not subsidised (every member owed)
    hh("med_uninsured", [adult("医甲", rural_medical=False), _member("医乙", "配偶", "19820101")])
    hh("med_unpaid", [adult("费甲"), _member("费乙", "配偶", "19820101")], medical=False)
    # housing: C or D without a renovation ever; a D renovated years ago; a B house
    hh("house_c", [adult("房丙")], dilapidated_grade="C")
    _receive(hh("house_d_done", [adult("房丁")], dilapidated_grade="D"), "农村危房改造补助", LONG_AGO)
    hh("house_b", [adult("房乙")], dilapidated_grade="B")
    # 低保: no labour, income below the line, not on 低保 nor 特困供养
    hh("dibao", [old("保甲")], attribute="1", per_capita=2000)
    hh("dibao_tekun", [old("特甲")], attribute="3", per_capita=2000)
    hh("dibao_on", [old("低甲")], attribute="2", per_capita=2000)
    hh("dibao_rich", [old("富甲")], attribute="1", per_capita=4000)
    hh("dibao_labour", [adult("劳甲")], attribute="1", per_capita=2000)
    # 产业奖补: runs an industry, has labour, no industry support this year
    hh("industry", [adult("产甲")], leading_industry="柑橘种植")
    hh("industry_work", [adult("工甲")], leading_industry="外出务工")
    _receive(hh("industry_paid", [adult("奖甲")], leading_industry="茶叶"), "产业发展扶持资金")
    hh("industry_nolabour", [old("弱甲")], leading_industry="茶叶", attribute="3", per_capita=5000)
    # 小额信贷: short of funds, a labourer of 18-60, no loan and no interest subsidy
    hh("credit", [adult("贷甲")], main_cause="9")
    hh("credit_other", [adult("贷乙")], other_causes=["9"])
    loan_to = hh("credit_loan", [adult("贷丙")], main_cause="9")
    hh("credit_old", [_member("贷丁", "户主", "19580101")], main_cause="9")
    hh("credit_nocause", [adult("贷戊")], main_cause="7")
    from fupin.funds.services import loan_apply
    from fupin.funds.testing import _credit_setup

    bank, _source = _credit_setup("test")
    loan_apply(actor="test", person=loan_to.members.get(), bank=bank, amount=20000, term_months=24, purpose="养殖",
               applied_on=dt.date(2026, 5, 1))
    return made


def _expected(h):
    return {
        ("education_aid", h["edu"].pk, "教子"),
        ("medical_subsidy", h["med_uninsured"].pk, "医甲"),
        ("medical_subsidy", h["med_unpaid"].pk, "费甲"), ("medical_subsidy", h["med_unpaid"].pk, "费乙"),
        ("housing_renovation", h["house_c"].pk, None),
        ("dibao", h["dibao"].pk, None),
        ("industry_award", h["industry"].pk, None),
        ("microcredit", h["credit"].pk, None), ("microcredit", h["credit_other"].pk, None),
    }


def _found():
    return {(g.rule.code, g.household_id, g.person.name if g.person_id else None)
            for g in PolicyGap.objects.filter(status="open").select_related("rule", "person")}


def test_each_rule_fires_exactly_when_it_should(households):
    services.policy_match(actor="test")
    assert _found() == _expected(households)


def test_a_receipt_closes_exactly_its_gap(households):
    services.policy_match(actor="test")
    _receive(households["house_c"], "农村危房改造补助")
    _receive(households["industry"], "产业发展扶持资金")
    stats = services.policy_match(actor="test")
    assert stats["closed"] == 2
    expected = _expected(households) - {("housing_renovation", households["house_c"].pk, None),
                                        ("industry_award", households["industry"].pk, None)}
    assert _found() == expected


def test_an_unedited_rule_moves_to_the_new_pack_as_a_revision_and_its_old_gaps_close(households):
    """A rule saved with the first pack's text (before versioning) is upgraded; its gaps the new text no longer
    finds close with the revision named; a rule the county edited is left alone."""
    old_e, old_c = defaults.EARLIER_POLICY_RULES["industry_award"][0]
    PolicyRule.objects.filter(code="industry_award").update(eligible=old_e, covered=old_c, origin="", revision=1)
    PolicyRuleRevision.objects.filter(rule__code="industry_award").delete()
    services.policy_rule_save(actor="test", code="dibao", name="县定低保规则", subject="household",
                              eligible="household_poor and labour_count == 0", covered="attribute == \"2\"")
    # the first pack's industry rule finds every poor household with labour and land and no award
    rule = PolicyRule.objects.get(code="industry_award")
    from fupin.assessment import screening

    old_hits = {r["household_id"] for r in screening.evaluate([rule]).to_pylist()}
    assert households["industry_work"].pk in old_hits  # 外出务工 with land: found by the old text
    for hid in old_hits:
        PolicyGap.objects.create(key=f"industry_award:{hid}:0", rule=rule, household_id=hid, area_code="x",
                                 rule_revision=1, opened_on=dt.date(2026, 6, 1))
    services.policy_match(actor="test")
    rule.refresh_from_db()
    assert rule.revision == 2 and rule.origin == f"pack:{defaults.POLICY_PACK_VERSION}"
    assert list(rule.revisions.values_list("revision", "origin")) == [(2, "pack:2"), (1, "pack:1")]
    assert AuditEvent.objects.filter(action="assessment.policy_rule.upgrade").count() == 1
    gone = PolicyGap.objects.get(rule=rule, household=households["industry_work"])
    assert gone.status == "closed" and gone.close_reason == "规则修订为第2版后不再认定"
    kept = PolicyGap.objects.get(rule=rule, household=households["industry"])
    assert kept.status == "open" and kept.rule_revision == 2
    dibao = PolicyRule.objects.get(code="dibao")
    assert dibao.origin == "county" and dibao.eligible == "household_poor and labour_count == 0"
    services.policy_rules_ensure_default(actor="test")
    assert PolicyRule.objects.get(code="dibao").eligible == "household_poor and labour_count == 0"
