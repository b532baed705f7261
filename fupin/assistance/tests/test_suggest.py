"""Measures suggested from the causes and the household's facts."""

import pytest

from fupin.assistance import selectors, services
from fupin.assistance.suggest import HouseholdFacts, MemberFacts, suggest

from .conftest import poor

M = MemberFacts


def kinds(hh, **kw):
    return [s.kind for s in suggest(hh, **kw)]


def test_schooling_with_a_student_suggests_education_aid():
    hh = HouseholdFacts(causes={"3"}, members=[M("李父", age=45, labour_skill="1", work_status="务工"),
                                               M("李明", age=15, schooling="05")])
    s = suggest(hh)
    assert [x.kind for x in s] == ["education"]
    assert "李明" in s[0].title and "因学" in s[0].reason


def test_schooling_cause_without_a_student_suggests_nothing_for_education():
    hh = HouseholdFacts(causes={"3"}, members=[M("李父", age=45, labour_skill="1", work_status="务工")])
    assert "education" not in kinds(hh)


def test_dilapidated_c_or_d_suggests_housing_renovation():
    assert "housing" in kinds(HouseholdFacts(dilapidated_grade="C"))
    assert "housing" in kinds(HouseholdFacts(dilapidated_grade="D"))
    assert "housing" not in kinds(HouseholdFacts(dilapidated_grade="B"))


def test_illness_and_uninsured_members_suggest_medical_aid():
    assert "medical" in kinds(HouseholdFacts(causes={"1"}))
    assert "medical" in kinds(HouseholdFacts(members=[M("王", health=["3"])]))
    assert "medical" in kinds(HouseholdFacts(members=[M("王", rural_medical=False)]))


def test_other_causes():
    assert kinds(HouseholdFacts(causes={"9"})) == ["credit", "industry"]
    assert "employment" in kinds(HouseholdFacts(causes={"7"}))
    assert "employment" in kinds(HouseholdFacts(members=[M("闲", age=30, labour_skill="1")]))
    assert "social_security" in kinds(HouseholdFacts(causes={"8"}))
    assert "social_security" in kinds(HouseholdFacts(members=[M("老", age=80, labour_skill="5")]))
    assert "relocation" in kinds(HouseholdFacts(causes={"10"}))
    assert "other" in kinds(HouseholdFacts(drinking_difficulty=True))


def test_planned_kinds_are_not_suggested_again():
    hh = HouseholdFacts(causes={"1"}, dilapidated_grade="D")
    assert kinds(hh, existing_kinds={"medical"}) == ["housing"]


@pytest.mark.django_db
def test_suggestions_from_the_registry_and_confirmation(county, frozen, cadre, town_a_leader):
    import datetime as dt

    from fupin.core.testing import make_id
    from fupin.registry.services import member_add

    hh = poor(county["va1"], head="孙学", main_cause="3", other_causes=["1"], dilapidated_grade="C", members=1)
    member_add(actor="test", household=hh, member={
        "name": "孙小", "relationship": "之子", "id_number": make_id(birth="20100101"), "schooling": "04"})
    titles = [s.title for s in selectors.measure_suggestions(hh)]
    assert any("孙小" in t for t in titles)
    assert "危房改造(C级危房)" in titles
    services.pairing_assign(actor="test", household=hh, cadre=cadre)
    made = services.measures_confirm(actor=town_a_leader, household=hh, titles=titles,
                                     target_date=dt.date(2026, 12, 31))
    assert {m.kind for m in made} >= {"education", "housing", "medical"}
    assert all(m.responsible_name == cadre.name or m.responsible == cadre for m in made)
    assert selectors.measure_suggestions(hh) == []
