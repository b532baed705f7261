import pytest

from fupin.core.testing import make_user


@pytest.mark.django_db
def test_api_requires_a_session(client):
    assert client.get("/api/v1/geo/divisions").status_code == 401
    assert client.get("/api/v1/accounts/me").status_code == 401


@pytest.mark.django_db
def test_api_post_requires_csrf(county):
    from django.test import Client

    from fupin.inbox.services import inbox_post

    user = make_user("worker", "grid_worker", grid=county["ga1"])
    item = inbox_post(user=user, title="核实")
    c = Client(enforce_csrf_checks=True)
    c.force_login(user)
    assert c.post(f"/api/v1/inbox/items/{item.uuid}/done").status_code == 403
    secret = "a" * 32
    c.cookies["csrftoken"] = secret
    response = c.post(f"/api/v1/inbox/items/{item.uuid}/done", headers={"X-CSRFToken": secret})
    assert response.status_code == 200 and response.json()["done"] is True


@pytest.mark.django_db
def test_openapi_docs_are_served(client, county):
    client.force_login(make_user("office", "city_office", division=county["county"]))
    assert client.get("/api/v1/docs").status_code == 200
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/geo/divisions" in schema["paths"]


@pytest.mark.django_db
def test_pages_require_login_and_send_security_headers(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    response = client.get("/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_me_reports_capabilities(client, county):
    client.force_login(make_user("leader", "city_leader", division=county["county"]))
    me = client.get("/api/v1/accounts/me").json()
    assert me["role"] == "city_leader" and me["may_view_full_id"] is False
