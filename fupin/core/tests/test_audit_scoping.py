import pytest

from fupin.core import audit
from fupin.core.models import AuditEvent
from fupin.core.testing import make_household, make_user
from fupin.registry.models import Household, Person


def test_audit_events_cannot_be_changed_or_deleted(county):
    event = audit.record(actor=None, action="test.thing", object_type="x", object_id="1")
    event.note = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(note="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).note == ""


def test_service_write_records_before_and_after(county):
    actor = make_user("office", "city_office", division=county["county"])
    hh = make_household(county["va1"], actor=actor)
    event = audit.history_for(hh).first()
    assert event.action == "registry.household.create"
    assert event.actor == actor and event.area_code == county["va1"].code
    assert event.after["head_name"] == "张三"


@pytest.mark.parametrize(
    ("who", "sees_a1", "sees_a2", "sees_b1"),
    [("county", True, True, True), ("town_a", True, True, False), ("va1", True, False, False),
     ("ga1", True, False, False), ("gb1", False, False, True)],
)
def test_restrict_follows_the_code_prefix(county, who, sees_a1, sees_a2, sees_b1):
    a1 = make_household(county["va1"], grid=county["ga1"], head="甲一")
    a2 = make_household(county["va2"], head="甲二")
    b1 = make_household(county["vb1"], grid=county["gb1"], head="乙一")
    target = county[who]
    user = make_user("u", "village_team", **({"grid": target} if who.startswith("g") else {"division": target}))
    visible = set(Household.objects.restrict(user).values_list("pk", flat=True))
    assert (a1.pk in visible, a2.pk in visible, b1.pk in visible) == (sees_a1, sees_a2, sees_b1)
    people = set(Person.objects.restrict(user).values_list("household_id", flat=True))
    assert people == visible


def test_unbound_and_anonymous_users_see_nothing(county):
    make_household(county["va1"])
    from django.contrib.auth.models import AnonymousUser

    assert not Household.objects.restrict(make_user("nobody", "auditor")).exists()
    assert not Household.objects.restrict(AnonymousUser()).exists()
    admin = make_user("root", "", is_superuser=True)
    assert Household.objects.restrict(admin).count() == 1


def test_department_user_sees_department_but_no_households(county):
    from fupin.accounts.models import User
    from fupin.org.models import Department

    dept = Department.objects.create(code="minzheng", name="民政局", short_name="民政")
    handler = make_user("dept", "dept_handler", department=dept)
    make_household(county["va1"])
    assert not Household.objects.restrict(handler).exists()
    assert list(User.objects.restrict(handler)) == [handler]
    assert list(Department.objects.restrict(handler)) == [dept]
