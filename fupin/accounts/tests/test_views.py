"""Users and roles pages: scoped lists, 404 outside the jurisdiction, only manage_users may create or edit."""

import pytest

from fupin.accounts.models import User
from fupin.core.models import AuditEvent
from fupin.core.testing import make_user


@pytest.fixture
def people(county):
    return {
        "boss": make_user("boss", "city_office", division=county["county"], display_name="李明"),
        "a_team": make_user("a_team", "village_team", division=county["va1"], display_name="甲队员"),
        "b_team": make_user("b_team", "village_team", division=county["vb1"], display_name="乙队员"),
        "town_a": make_user("town_a", "town_staff", division=county["town_a"], display_name="甲镇干部"),
    }


@pytest.mark.django_db
def test_user_list_is_scoped(client, people):
    client.force_login(people["town_a"])
    body = client.get("/accounts/users/").content.decode()
    assert "甲队员" in body and "甲镇干部" in body
    assert "乙队员" not in body and "李明" not in body


@pytest.mark.django_db
def test_user_list_filters_by_role_and_search(client, people):
    client.force_login(people["boss"])
    body = client.get("/accounts/users/", {"role": "town_staff"}).content.decode()
    assert "甲镇干部" in body and "甲队员" not in body
    body = client.get("/accounts/users/", {"q": "乙"}).content.decode()
    assert "乙队员" in body and "甲队员" not in body


@pytest.mark.django_db
def test_user_detail_in_and_out_of_scope(client, people):
    client.force_login(people["town_a"])
    response = client.get("/accounts/users/a_team/")
    assert response.status_code == 200
    assert "操作痕迹" in response.content.decode()
    assert client.get("/accounts/users/b_team/").status_code == 404
    assert client.get("/accounts/users/nobody/").status_code == 404


@pytest.mark.django_db
def test_roles_matrix(client, people):
    client.force_login(people["a_team"])
    body = client.get("/accounts/roles/").content.decode()
    assert "市扶贫办工作人员" in body and "管理用户" in body and "查看完整身份证号" in body


@pytest.mark.django_db
def test_create_user_through_the_form(client, county, people):
    client.force_login(people["boss"])
    assert client.get("/accounts/users/new/").status_code == 200
    response = client.post("/accounts/users/new/", {
        "username": "newgw", "display_name": "新网格员", "role": "grid_worker", "division": county["va1"].pk,
        "grid_code": county["ga1"].code, "password": "long-enough-1", "password2": "long-enough-1",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="newgw")
    assert user.area_code == county["ga1"].code and user.grid == county["ga1"]
    assert AuditEvent.objects.filter(action="accounts.user.create", actor=people["boss"]).exists()


@pytest.mark.django_db
def test_form_errors_are_shown_and_nothing_is_written(client, county, people):
    client.force_login(people["boss"])
    response = client.post("/accounts/users/new/", {
        "username": "bad", "display_name": "x", "role": "grid_worker", "division": county["va1"].pk,
        "grid_code": county["gb1"].code, "password": "long-enough-1", "password2": "long-enough-1",
    })
    assert response.status_code == 200
    assert "网格420581101201001不属于甲一村" in response.content.decode()
    assert not User.objects.filter(username="bad").exists()


@pytest.mark.django_db
def test_edit_user(client, county, people):
    client.force_login(people["boss"])
    response = client.post("/accounts/users/a_team/edit/", {
        "display_name": "甲队长", "role": "first_secretary", "division": county["va2"].pk, "is_active": "on",
    })
    assert response.status_code == 302
    user = User.objects.get(username="a_team")
    assert (user.display_name, user.role, user.area_code) == ("甲队长", "first_secretary", county["va2"].code)


@pytest.mark.django_db
def test_only_managers_may_create_or_edit(client, people):
    client.force_login(people["town_a"])
    assert client.get("/accounts/users/new/").status_code == 403
    assert client.post("/accounts/users/a_team/edit/", {"display_name": "x"}).status_code == 403
    assert "没有权限" in client.get("/accounts/users/new/").content.decode()


@pytest.mark.django_db
def test_user_list_query_budget(client, county, people, django_assert_max_num_queries):
    for i in range(30):
        make_user(f"gw{i}", "grid_worker", grid=county["ga1"])
    client.force_login(people["boss"])
    with django_assert_max_num_queries(12):
        assert client.get("/accounts/users/").status_code == 200
