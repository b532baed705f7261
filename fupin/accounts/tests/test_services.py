"""user_create / user_update keep area_code equal to the jurisdiction, audit without the password, stay in scope."""

import pytest

from fupin.accounts.models import User
from fupin.accounts.services import user_create, user_unlock, user_update
from fupin.core.errors import ServiceError
from fupin.core.models import AuditEvent
from fupin.core.testing import make_user
from fupin.org.models import Department


@pytest.fixture
def boss(county):
    return make_user("boss", "city_office", division=county["county"])


@pytest.mark.django_db
def test_create_sets_area_code_and_audits_without_password(county, boss):
    worker = user_create(actor=boss, username="gw1", password="long-enough-1", role="grid_worker",
                         grid=county["ga1"], display_name="张三")
    assert worker.area_code == county["ga1"].code
    assert worker.division == county["va1"]  # a grid's village is filled in
    assert worker.check_password("long-enough-1")
    event = AuditEvent.objects.get(action="accounts.user.create")
    assert event.actor == boss and event.area_code == worker.area_code
    assert "password" not in event.after and "long-enough-1" not in str(event.after)
    assert event.after["grid_id"] == county["ga1"].pk


@pytest.mark.django_db
def test_update_moves_area_code_with_the_jurisdiction(county, boss):
    user = user_create(actor=boss, username="t1", password="long-enough-1", role="town_staff",
                       division=county["town_a"])
    assert user.area_code == county["town_a"].code
    user_update(actor=boss, user=user, division=county["town_b"], display_name="新名字")
    user.refresh_from_db()
    assert user.area_code == county["town_b"].code
    event = AuditEvent.objects.get(action="accounts.user.update")
    assert event.before["area_code"] == county["town_a"].code and event.after["area_code"] == county["town_b"].code
    assert User.objects.restrict(make_user("ta", "town_staff", division=county["town_a"])).filter(pk=user.pk).count() == 0


@pytest.mark.django_db
def test_password_change_is_noted_not_recorded(county, boss):
    user = user_create(actor=boss, username="t1", password="long-enough-1", role="town_staff", division=county["town_a"])
    user_update(actor=boss, user=user, password="another-pass-2")
    user.refresh_from_db()
    assert user.check_password("another-pass-2")
    event = AuditEvent.objects.get(action="accounts.user.update")
    assert event.note == "密码已重置" and "another-pass-2" not in str(event.after)


@pytest.mark.django_db
@pytest.mark.parametrize(("kwargs", "message"), [
    ({"role": "nobody"}, "未知角色"),
    ({"division": None}, "请选择管辖区划"),
    ({"role": "dept_handler"}, "部门经办人必须选择所属部门"),
    ({"password": "short"}, "密码"),
])
def test_refusals_write_nothing(county, boss, kwargs, message):
    args = {"username": "x1", "password": "long-enough-1", "role": "town_staff", "division": county["town_a"], **kwargs}
    with pytest.raises(ServiceError) as exc:
        user_create(actor=boss, **args)
    assert message in exc.value.message
    assert not User.objects.filter(username="x1").exists()
    assert not AuditEvent.objects.filter(action="accounts.user.create").exists()


@pytest.mark.django_db
def test_duplicate_username_is_refused(county, boss):
    user_create(actor=boss, username="dup", password="long-enough-1", role="town_staff", division=county["town_a"])
    with pytest.raises(ServiceError, match="已被使用"):
        user_create(actor=boss, username="DUP", password="long-enough-1", role="town_staff", division=county["town_a"])


@pytest.mark.django_db
def test_a_town_manager_cannot_create_users_outside_the_town(county):
    boss_a = make_user("boss_a", "city_office", division=county["town_a"])
    with pytest.raises(ServiceError, match="不在您的管辖范围内"):
        user_create(actor=boss_a, username="x", password="long-enough-1", role="village_team", division=county["vb1"])
    user_create(actor=boss_a, username="y", password="long-enough-1", role="village_team", division=county["va1"])


@pytest.mark.django_db
def test_only_managers_may_create_users(county):
    clerk = make_user("clerk", "town_staff", division=county["town_a"])
    with pytest.raises(ServiceError, match="没有管理用户的权限"):
        user_create(actor=clerk, username="x", password="long-enough-1", role="village_team", division=county["va1"])


@pytest.mark.django_db
def test_department_handler_without_division_is_seen_by_county_users_only(county, boss):
    dept = Department.objects.create(code="civil", name="市民政局", short_name="民政")
    handler = user_create(actor=boss, username="mz", password="long-enough-1", role="dept_handler", department=dept)
    assert handler.area_code == ""
    from fupin.accounts.selectors import visible_users

    assert visible_users(boss).filter(pk=handler.pk).exists()
    assert not visible_users(make_user("ta", "town_staff", division=county["town_a"])).filter(pk=handler.pk).exists()
    boss_a = make_user("boss_a", "city_office", division=county["town_a"])
    with pytest.raises(ServiceError, match="只有市级用户"):
        user_create(actor=boss_a, username="mz2", password="long-enough-1", role="dept_handler", department=dept)


@pytest.mark.django_db
def test_unlock(county, boss):
    import datetime as dt

    from django.utils import timezone

    user = make_user("locked", "town_staff", division=county["town_a"])
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() + dt.timedelta(minutes=5), failed_logins=0)
    user.refresh_from_db()
    user_unlock(actor=boss, user=user)
    user.refresh_from_db()
    assert user.locked_until is None
    assert AuditEvent.objects.filter(action="accounts.user.unlock", object_id=str(user.pk)).exists()
