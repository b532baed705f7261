"""Dynamic management: births, deaths, marriages, moves, splits and merges, each logged and audited."""

import datetime as dt

import pytest

from fupin.core.audit import history_for
from fupin.core.errors import ServiceError
from fupin.core.models import AuditEvent
from fupin.core.testing import make_id
from fupin.registry import services
from fupin.registry.models import Household, MemberChange, Person

DAY = dt.date(2016, 6, 1)


def members(hh):
    return list(Person.objects.filter(household=hh).order_by("id"))


def test_birth_adds_a_member_without_id(hh_a1):
    child = services.member_add(actor="t", household=hh_a1, member={"name": "王小宝", "relationship": "之孙子"},
                                kind="birth", date=DAY)
    hh_a1.refresh_from_db()
    assert hh_a1.size == 4 and hh_a1.version == 2
    assert child.id_number == "" and child.household_id == hh_a1.pk
    change = MemberChange.objects.get(person=child)
    assert change.kind == "birth" and change.to_household_id == hh_a1.pk and change.date == DAY
    assert AuditEvent.objects.filter(action="registry.member.birth", object_id=str(child.pk)).exists()


def test_marriage_in_needs_a_valid_id_and_refuses_a_registered_person(hh_a1, hh_b1):
    with pytest.raises(ServiceError):
        services.member_add(actor="t", household=hh_a1, member={"name": "某", "relationship": "之儿媳"},
                            kind="marriage_in", date=DAY)
    taken = members(hh_b1)[1].id_number
    with pytest.raises(ServiceError) as exc:
        services.member_add(actor="t", household=hh_a1, kind="marriage_in", date=DAY,
                            member={"name": "某", "relationship": "之儿媳", "id_number": taken})
    assert "迁" in exc.value.message
    p = services.member_add(actor="t", household=hh_a1, kind="marriage_in", date=DAY,
                            member={"name": "赵某", "relationship": "之儿媳", "id_number": make_id()})
    assert p.relationship == "之儿媳"


def test_death_marks_deceased_and_keeps_the_record(hh_a1):
    spouse = members(hh_a1)[1]
    services.member_death(actor="t", person=spouse, date=DAY)
    spouse.refresh_from_db()
    hh_a1.refresh_from_db()
    assert not spouse.is_alive and spouse.death_date == DAY and spouse.household_id == hh_a1.pk
    assert hh_a1.size == 2
    with pytest.raises(ServiceError):
        services.member_death(actor="t", person=spouse, date=DAY)


def test_death_of_the_head_needs_a_new_head(hh_a1):
    head, spouse, _ = members(hh_a1)
    with pytest.raises(ServiceError) as exc:
        services.member_death(actor="t", person=head, date=DAY)
    assert "新户主" in exc.value.message
    head.refresh_from_db()
    assert head.is_alive  # nothing half-written
    services.member_death(actor="t", person=head, date=DAY, new_head=spouse)
    hh_a1.refresh_from_db()
    spouse.refresh_from_db()
    assert spouse.relationship == "户主" and hh_a1.head_name == spouse.name


def test_last_death_closes_the_household(county):
    hh = services.household_create(actor="t", village=county["va1"],
                                   members=[{"name": "独居", "relationship": "户主", "id_number": make_id()}])
    services.member_death(actor="t", person=members(hh)[0], date=DAY)
    hh.refresh_from_db()
    assert hh.dissolved_on == DAY and hh.dissolved_reason == "death" and hh.size == 0
    with pytest.raises(ServiceError):
        services.member_add(actor="t", household=hh, member={"name": "x"}, date=DAY)


def test_death_date_cannot_be_in_the_future(hh_a1):
    with pytest.raises(ServiceError):
        services.member_death(actor="t", person=members(hh_a1)[2], date=dt.date.today() + dt.timedelta(days=2))


def test_marriage_out_leaves_the_household(hh_a1):
    child = members(hh_a1)[2]
    services.member_leave(actor="t", person=child, date=DAY, kind="marriage_out", note="嫁往宜昌")
    child.refresh_from_db()
    hh_a1.refresh_from_db()
    assert child.household_id is None and hh_a1.size == 2
    change = MemberChange.objects.get(person=child)
    assert change.from_household_id == hh_a1.pk and change.kind == "marriage_out"
    # the person can now be registered elsewhere
    assert services.member_add(actor="t", household=hh_a1, kind="add", date=DAY,
                               member={"name": child.name, "relationship": "之女", "id_number": child.id_number})


def test_move_is_a_recorded_transfer(hh_a1, hh_b1):
    child = members(hh_a1)[2]
    services.member_move(actor="t", person=child, to_household=hh_b1, relationship="之女婿", date=DAY)
    child.refresh_from_db()
    hh_a1.refresh_from_db()
    hh_b1.refresh_from_db()
    assert child.household_id == hh_b1.pk and child.area_code == hh_b1.area_code
    assert (hh_a1.size, hh_b1.size) == (2, 3)
    change = MemberChange.objects.get(person=child)
    assert (change.from_household_id, change.to_household_id, change.kind) == (hh_a1.pk, hh_b1.pk, "move")
    assert Person.objects.filter(id_number=child.id_number).count() == 1
    assert history_for(child).filter(action="registry.member.move").exists()


def test_split_creates_a_household_from_members(hh_a1):
    child = members(hh_a1)[2]
    new = services.household_split(actor="t", household=hh_a1, members=[child], relationships={child.pk: "户主"},
                                   date=DAY)
    hh_a1.refresh_from_db()
    assert new.split_from_id == hh_a1.pk and new.village_id == hh_a1.village_id and new.size == 1
    assert new.head_name == child.name and not new.is_registered_poor and new.poor_code is None
    assert hh_a1.size == 2
    assert MemberChange.objects.filter(kind="split", person=child, to_household=new).exists()


def test_split_refuses_to_empty_the_household_or_lack_a_head(hh_a1):
    ms = members(hh_a1)
    with pytest.raises(ServiceError):
        services.household_split(actor="t", household=hh_a1, members=ms, relationships={p.pk: "户主" for p in ms})
    with pytest.raises(ServiceError):
        services.household_split(actor="t", household=hh_a1, members=[ms[2]], relationships={ms[2].pk: "之子"})
    assert Household.objects.count() == 1


def test_merge_moves_everyone_and_closes_the_source(hh_a1, hh_b1):
    moving = members(hh_b1)
    services.household_merge(actor="t", source=hh_b1, target=hh_a1, date=DAY,
                             relationships={moving[0].pk: "之兄弟姐妹"})
    hh_a1.refresh_from_db()
    hh_b1.refresh_from_db()
    assert hh_a1.size == 5 and hh_b1.size == 0
    assert hh_b1.dissolved_on == DAY and hh_b1.merged_into_id == hh_a1.pk
    assert Person.objects.get(pk=moving[0].pk).relationship == "之兄弟姐妹"
    assert Person.objects.get(pk=moving[1].pk).relationship == "其他"
    assert MemberChange.objects.filter(kind="merge").count() == 2
    assert AuditEvent.objects.filter(action="registry.household.merge", object_id=str(hh_b1.pk)).exists()


def test_head_change(hh_a1):
    head, spouse, _ = members(hh_a1)
    services.head_change(actor="t", household=hh_a1, new_head=spouse, old_head_relationship="配偶", date=DAY)
    head.refresh_from_db()
    hh_a1.refresh_from_db()
    assert head.relationship == "配偶" and hh_a1.head_name == spouse.name


def test_roster_income_survives_a_birth(county, tmp_path):
    """A roster gives only the per-capita figure: a birth divides the net income by the new size, never zeroes it."""
    from decimal import Decimal

    hh = services.household_create(actor="t", village=county["va1"], members=[
        {"name": "甲", "relationship": "户主", "id_number": make_id()},
        {"name": "乙", "relationship": "配偶", "id_number": make_id()}])
    Household.objects.filter(pk=hh.pk).update(net_income=Decimal("6000"), per_capita_net_income=Decimal("3000"))
    hh.refresh_from_db()
    services.member_add(actor="t", household=hh, member={"name": "丙", "relationship": "之子"}, date=DAY)
    hh.refresh_from_db()
    assert hh.net_income == Decimal("6000.00") and hh.per_capita_net_income == Decimal("2000.00")
