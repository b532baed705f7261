"""The web shell: login required, Chinese by default, lockout message, language switch, home counts, division tree."""

import pytest
from django.urls import reverse

from fupin.accounts.models import User
from fupin.core.testing import make_household, make_user

PAGES = ["/", "/geo/", "/geo/grids/", "/geo/staff/", "/inbox/", "/jobs/", "/accounts/users/", "/accounts/roles/",
         "/org/departments/", "/org/units/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_pages_require_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_login_page_is_chinese_even_for_an_english_browser(client):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    body = response.content.decode()
    assert response.status_code == 200
    assert "扶贫网格化管理平台" in body
    assert "用户名" in body and "登录" in body


@pytest.mark.django_db
def test_login_lands_on_home(client, county):
    make_user("alice", "city_office", division=county["county"], display_name="李明")
    response = client.post("/login/", {"username": "alice", "password": "pw-test-12345"}, follow=True)
    body = response.content.decode()
    assert response.redirect_chain[-1][0] == "/"
    assert "欢迎您,李明" in body
    assert "测试县" in body


@pytest.mark.django_db
def test_wrong_password_message_is_chinese(client, county):
    make_user("alice", "city_office", division=county["county"])
    response = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert "用户名或密码不正确" in response.content.decode()


def _login_error(client, username, password) -> str:
    import re

    body = client.post("/login/", {"username": username, "password": password}).content.decode()
    found = re.search(r'<div class="form-error" role="alert">(.*?)</div>', body, re.S)
    assert found, body[:2000]
    return found.group(1)


@pytest.mark.django_db
def test_lockout_after_five_failures_answers_as_an_unknown_name_would(client, county, settings):
    settings.FUPIN_LOCKOUT_ATTEMPTS = 5
    make_user("alice", "city_office", division=county["county"])
    answers = [_login_error(client, "alice", "wrong") for _ in range(6)]
    unknown = [_login_error(client, "nobody-here", "wrong") for _ in range(6)]
    assert set(answers) == set(unknown) and len(set(answers)) == 1  # a real, locked account cannot be told apart
    assert "用户名或密码不正确" in answers[0] and "锁定" in answers[0]
    # the right password is refused while locked, with the same answer, and no session is opened
    assert _login_error(client, "alice", "pw-test-12345") == unknown[0]
    assert "_auth_user_id" not in client.session
    assert User.objects.get(username="alice").locked_until is not None


@pytest.mark.django_db
def test_logout_is_a_post(client, county):
    user = make_user("alice", "city_office", division=county["county"])
    client.force_login(user)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_language_switch_to_english_and_back(client, county):
    client.force_login(make_user("alice", "city_office", division=county["county"]))
    assert "首页" in client.get("/").content.decode()
    response = client.post(reverse("set_language"), {"language": "en", "next": "/geo/"})
    assert response.status_code == 302
    body = client.get("/geo/").content.decode()
    assert "Poverty Alleviation Grid Management Platform" in body
    assert "Grid network" in body
    assert "扶贫网格化管理平台" not in body
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "扶贫网格化管理平台" in client.get("/").content.decode()


@pytest.mark.django_db
def test_home_counts_are_scoped_to_the_jurisdiction(client, county):
    make_household(county["va1"], grid=county["ga1"], head="甲户", is_registered_poor=True)
    make_household(county["va2"], head="甲二户")
    make_household(county["vb1"], grid=county["gb1"], head="乙户", is_registered_poor=True)
    client.force_login(make_user("town_a", "town_staff", division=county["town_a"]))
    counts = client.get("/").context["counts"]
    assert counts == {"towns": 1, "villages": 2, "communities": 0, "grids": 1, "households": 2,
                      "poor_households": 1, "unassigned": 1}


@pytest.mark.django_db
def test_division_filter_narrows_and_ignores_codes_outside_the_jurisdiction(client, county):
    make_household(county["va1"], grid=county["ga1"], head="甲户")
    make_household(county["va2"], head="甲二户")
    make_household(county["vb1"], head="乙户")
    client.force_login(make_user("town_a", "town_staff", division=county["town_a"]))
    narrowed = client.get("/", {"division": county["va1"].code})
    assert narrowed.context["counts"]["households"] == 1
    assert narrowed.context["area"].name == "甲一村"
    assert 'data-division="420581100201"' in narrowed.content.decode()
    outside = client.get("/", {"division": county["vb1"].code})
    assert outside.context["area"] is None
    assert outside.context["counts"]["households"] == 2
    assert "乙一村" not in outside.content.decode()


@pytest.mark.django_db
def test_nav_links_keep_the_division_choice(client, county):
    client.force_login(make_user("boss", "city_office", division=county["county"]))
    body = client.get("/geo/", {"division": county["town_b"].code}).content.decode()
    assert 'href="/inbox/?division=420581101000"' in body
    assert "乙镇" in body


@pytest.mark.django_db
def test_tree_shows_the_users_jurisdiction_only(client, county):
    client.force_login(make_user("town_a", "town_staff", division=county["town_a"]))
    body = client.get("/tree/", {"here": "/geo/"}).content.decode()
    assert "甲镇" in body and "甲一村" in body and "甲二村" in body
    assert "乙镇" not in body and "测试县" not in body
    assert 'href="/geo/?division=420581100201"' in body
    # a parent outside the jurisdiction yields nothing
    body = client.get("/tree/", {"parent": county["town_b"].code, "here": "/"}).content.decode()
    assert "乙一村" not in body


@pytest.mark.django_db
def test_tree_opens_the_path_to_the_current_choice(client, county):
    client.force_login(User.objects.create_superuser("root", password="pw-test-12345"))
    body = client.get("/tree/", {"here": "/", "current": county["ga1"].code}).content.decode()
    assert "甲一村第1网格" in body  # county → town A → village A1 → its grid, all opened
    assert "乙镇" in body and "乙一村" not in body  # siblings are listed, not opened
    body = client.get("/tree/", {"here": "https://evil.example/", "parent": county["town_b"].code}).content.decode()
    assert 'href="/?division=420581101201"' in body


@pytest.mark.django_db
def test_pages_render_for_a_superuser_and_a_grid_worker(client, county):
    client.force_login(User.objects.create_superuser("root", password="pw-test-12345"))
    for url in PAGES:
        assert client.get(url).status_code == 200, url
    client.force_login(make_user("gw", "grid_worker", grid=county["ga1"]))
    for url in PAGES:
        assert client.get(url, follow=True).status_code == 200, url  # /geo/ shows a grid worker their grid


@pytest.mark.django_db
def test_home_query_budget(client, county, django_assert_max_num_queries):
    for i in range(5):
        make_household(county["va1"], grid=county["ga1"], head=f"户{i}")
    client.force_login(make_user("boss", "city_office", division=county["county"]))
    with django_assert_max_num_queries(16):
        assert client.get("/").status_code == 200
