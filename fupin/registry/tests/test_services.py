import datetime as dt
import uuid
from decimal import Decimal

import pytest

from fupin.core import idnumber
from fupin.core.errors import ConflictError, ServiceError
from fupin.core.fields import blind_q
from fupin.core.models import AuditEvent
from fupin.core.testing import make_household, make_id
from fupin.registry import services
from fupin.registry.models import Household, Person, PovertyLine


def test_create_household_with_members_and_audit(county):
    hh = make_household(county["va1"], head="王大山", members=3, poor_code="P-1", is_registered_poor=True)
    assert hh.size == 3
    assert hh.head_name == "王大山"
    assert hh.area_code == county["va1"].code
    people = list(Person.objects.filter(household=hh))
    assert len(people) == 3
    assert all(p.id_valid and p.birth_date and p.sex in ("1", "2") for p in people)
    assert all(Person.objects.get(blind_q(Person, "id_number", p.id_number)) == p for p in people)
    assert AuditEvent.objects.filter(action="registry.household.create", object_id=str(hh.pk)).count() == 1


def test_create_refuses_bad_id_in_chinese_and_writes_nothing(county):
    with pytest.raises(ServiceError) as exc:
        services.household_create(actor="t", village=county["va1"],
                                  members=[{"name": "甲", "relationship": "户主", "id_number": "11010519491231002X"},
                                           {"name": "乙", "relationship": "配偶", "id_number": "110105194912310021"}])
    assert "第2名成员乙" in exc.value.message and "校验位" in exc.value.message
    assert not Household.objects.exists() and not Person.objects.exists()


@pytest.mark.parametrize(("raw", "message"), [("1234", "18位"), ("11010519491331002X", "出生日期"),
                                              ("00010519491231002X", "地区码"), ("1101051949123100AX", "非法字符")])
def test_each_id_failure_has_its_chinese_message(county, raw, message):
    with pytest.raises(ServiceError) as exc:
        services.household_create(actor="t", village=county["va1"],
                                  members=[{"name": "甲", "relationship": "户主", "id_number": raw}])
    assert message in exc.value.message


def _id_ending_in_x() -> str:
    body = next(f"42058119900101{n:03d}" for n in range(1000) if idnumber.check_char(f"42058119900101{n:03d}") == "X")
    return body + "X"


def test_create_accepts_15_digit_full_width_and_lowercase_x(county):
    with_x = _id_ending_in_x()
    typed = " ".join(with_x[i:i + 6] for i in range(0, 18, 6)).translate(str.maketrans("0123456789X", "０１２３４５６７８９x"))
    hh = services.household_create(actor="t", village=county["va1"], members=[
        {"name": "甲", "relationship": "户主", "id_number": "110105491231002"},
        {"name": "乙", "relationship": "配偶", "id_number": typed}])
    numbers = set(Person.objects.filter(household=hh).values_list("id_number", flat=True))
    assert numbers == {"11010519491231002X", with_x}


def test_a_person_is_in_one_household_only(county, hh_a1):
    number = Person.objects.filter(household=hh_a1).first().id_number
    with pytest.raises(ServiceError) as exc:
        services.household_create(actor="t", village=county["vb1"],
                                  members=[{"name": "某", "relationship": "户主", "id_number": number}])
    assert "已在" in exc.value.message and "迁移" in exc.value.message
    assert Household.objects.count() == 1


def test_client_uuid_makes_create_idempotent(county):
    key = uuid.uuid4()
    members = [{"name": "甲", "relationship": "户主", "id_number": make_id()}]
    a = services.household_create(actor="t", village=county["va1"], members=members, uuid=key)
    b = services.household_create(actor="t", village=county["va1"], members=members, uuid=key)
    assert a.pk == b.pk
    assert Household.objects.count() == 1 and Person.objects.count() == 1


def test_update_with_stale_version_is_a_conflict(hh_a1):
    services.household_update(actor="t", household=hh_a1, expected_version=1, phone="13800000000")
    with pytest.raises(ConflictError):
        services.household_update(actor="t", household=hh_a1, expected_version=1, phone="13900000000")
    hh_a1.refresh_from_db()
    assert hh_a1.phone == "13800000000" and hh_a1.version == 2


def test_update_computes_income(hh_a1):
    hh = services.household_update(actor="t", household=hh_a1, income_year=2016, income_wages=6000,
                                   income_business=3000, cost_business=1000, transfer_dibao=900, transfer_eco=100)
    assert hh.annual_income == Decimal("10000.00")
    assert hh.net_income == Decimal("9000.00")
    assert hh.per_capita_net_income == Decimal("3000.00")


def test_income_figures_pure():
    f = services.income_figures({"income_wages": "1000.5", "transfer_pension": 200}, 0)
    assert f["net_income"] == Decimal("1200.50") and f["per_capita_net_income"] == Decimal("0")


def test_poverty_line_setting(db):
    services.poverty_line_set(actor="t", year=2017, amount=3335)
    services.poverty_line_set(actor="t", year=2017, amount="3335.5", note="省定")
    assert PovertyLine.objects.get(year=2017).amount == Decimal("3335.50")
    assert services.poverty_line(2017) == Decimal("3335.50")
    with pytest.raises(ServiceError):
        services.poverty_line_set(actor="t", year=2018, amount=0)


def test_person_update_validates_id_and_uniqueness(hh_a1, hh_b1):
    a = Person.objects.filter(household=hh_a1).exclude(relationship="户主").first()
    b_number = Person.objects.filter(household=hh_b1).first().id_number
    with pytest.raises(ServiceError) as exc:
        services.person_update(actor="t", person=a, id_number="12345")
    assert "18位" in exc.value.message
    with pytest.raises(ServiceError):
        services.person_update(actor="t", person=a, id_number=b_number)
    new = make_id(birth="19900101")
    p = services.person_update(actor="t", person=a, id_number=new, phone="139")
    assert p.id_number == new and p.birth_date == dt.date(1990, 1, 1) and p.version == 2


def test_village_profile_and_poor_flag(county):
    v = county["va1"]
    prof = services.village_profile_save(actor="t", village=v, year=2016, rural_population=1200, terrain="山区")
    prof2 = services.village_profile_save(actor="t", village=v, year=2016, expected_version=1, cooperatives=2)
    assert prof.pk == prof2.pk and prof2.version == 2 and prof2.rural_population == 1200
    with pytest.raises(ConflictError):
        services.village_profile_save(actor="t", village=v, year=2016, expected_version=1, cooperatives=3)
    services.village_set_poor(actor="t", village=v, is_poor=True)
    v.refresh_from_db()
    assert v.is_poor_village
    assert AuditEvent.objects.filter(action="registry.village.poor").count() == 1
    with pytest.raises(ServiceError):
        services.village_set_poor(actor="t", village=county["town_a"], is_poor=True)
