"""Device tokens and API keys: one token mechanism, `Authorization: Bearer` on the API, scoped, revocable, expiring,
read-only keys refused on writes, every issue, use, refusal and revocation in the audit trail."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from fupin.accounts import services
from fupin.accounts.models import AccessToken, User
from fupin.core.errors import ServiceError
from fupin.core.models import AuditEvent
from fupin.core.testing import make_household, make_user
from fupin.registry.models import Household

PW = "token-pass-2016"


@pytest.fixture
def world(county):
    return {
        "tree": county,
        "worker": make_user("worker_a", "grid_worker", grid=county["ga1"], password=PW, display_name="网格员甲"),
        "worker_b": make_user("worker_b", "grid_worker", grid=county["gb1"], password=PW),
        "boss": make_user("boss", "city_office", division=county["county"], password=PW),
        "town_b": make_user("town_b", "town_staff", division=county["town_b"], password=PW),
        "hh_a": make_household(county["va1"], grid=county["ga1"], head="李大山", phone="13800000001"),
        "hh_b": make_household(county["vb1"], grid=county["gb1"], head="赵建国"),
    }


def _sign_in(client, username="worker_a", password=PW, device="甲的手机"):
    return client.post("/api/v1/auth/token", json.dumps({"username": username, "password": password,
                                                         "device_name": device}),
                       content_type="application/json")


def _bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.mark.django_db
def test_sign_in_gives_a_device_token_stored_only_as_a_hash(client, world):
    r = _sign_in(client)
    assert r.status_code == 201, r.content
    body = r.json()
    secret = body["token"]
    assert secret.startswith("fpd_") and body["user"]["username"] == "worker_a"
    token = AccessToken.objects.get()
    assert token.kind == "device" and token.user == world["worker"] and token.name == "甲的手机"
    assert secret not in token.secret_hash and token.secret_hash == services.hash_secret(secret)
    assert token.expires_at > timezone.now() + dt.timedelta(days=100)
    assert AuditEvent.objects.filter(action="accounts.token.issue_device", object_id=str(token.pk)).exists()
    # the token works without a session, and the request acts as the worker
    me = client.__class__().get("/api/v1/accounts/me", **_bearer(secret))
    assert me.status_code == 200 and me.json()["username"] == "worker_a"


@pytest.mark.django_db
def test_wrong_password_or_missing_device_name_gives_no_token(client, world):
    assert _sign_in(client, password="wrong-password").status_code == 401
    assert User.objects.get(username="worker_a").failed_logins == 1  # counts towards the login lockout
    assert _sign_in(client, device="  ").status_code == 400
    assert not AccessToken.objects.exists()


@pytest.mark.django_db
def test_a_token_is_scoped_like_its_user(client, world):
    secret = _sign_in(client).json()["token"]
    anon = client.__class__()
    listed = anon.get("/api/v1/households/?poor=all", **_bearer(secret)).json()
    heads = {h["head_name"] for h in listed["items"]}
    assert heads == {"李大山"}
    assert anon.get(f"/api/v1/households/{world['hh_b'].uuid}", **_bearer(secret)).status_code == 404
    assert anon.get(f"/api/v1/households/{world['hh_a'].uuid}", **_bearer(secret)).status_code == 200


@pytest.mark.django_db
def test_token_writes_go_through_services_without_csrf(client, world):
    secret = _sign_in(client).json()["token"]
    hh = world["hh_a"]
    r = client.__class__(enforce_csrf_checks=True).patch(
        f"/api/v1/households/{hh.uuid}", json.dumps({"phone": "13900000002", "expected_version": hh.version}),
        content_type="application/json", **_bearer(secret))
    assert r.status_code == 200, r.content
    hh.refresh_from_db()
    assert hh.phone == "13900000002"
    event = AuditEvent.objects.get(action="registry.household.update")
    assert event.actor == world["worker"]


@pytest.mark.django_db
def test_a_session_still_needs_its_csrf_token(world):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world["worker"])
    r = browser.patch(f"/api/v1/households/{world['hh_a'].uuid}", json.dumps({"phone": "1"}),
                      content_type="application/json")
    assert r.status_code in (401, 403)
    assert Household.objects.get(pk=world["hh_a"].pk).phone == "13800000001"


@pytest.mark.django_db
def test_revoked_and_expired_tokens_are_refused_and_audited(client, world):
    secret = _sign_in(client).json()["token"]
    token = AccessToken.objects.get()
    anon = client.__class__()
    assert anon.get("/api/v1/accounts/me", **_bearer(secret)).status_code == 200
    services.token_revoke(actor=world["worker"], token=token, reason="手机丢失")
    assert anon.get("/api/v1/accounts/me", **_bearer(secret)).status_code == 401
    assert AuditEvent.objects.filter(action="accounts.token.revoke_device", note="").exists()
    refused = AuditEvent.objects.get(action="accounts.token.refused")
    assert refused.note.startswith("已吊销")

    secret2 = _sign_in(client, device="第二部手机").json()["token"]
    AccessToken.objects.filter(name="第二部手机").update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert anon.get("/api/v1/accounts/me", **_bearer(secret2)).status_code == 401
    assert AuditEvent.objects.filter(action="accounts.token.refused", note__startswith="已过期").exists()
    assert anon.get("/api/v1/accounts/me", **_bearer("fpd_not-a-real-token")).status_code == 401


@pytest.mark.django_db
def test_use_is_audited_once_per_stretch_and_last_seen_kept(client, world):
    secret = _sign_in(client).json()["token"]
    anon = client.__class__()
    for _ in range(3):
        anon.get("/api/v1/accounts/me", **_bearer(secret))
    token = AccessToken.objects.get()
    assert token.use_count == 3 and token.last_used_at is not None and token.last_used_ip == "127.0.0.1"
    assert AuditEvent.objects.filter(action="accounts.token.use", object_id=str(token.pk)).count() == 1
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - dt.timedelta(hours=1))
    anon.get("/api/v1/accounts/me", **_bearer(secret))
    assert AuditEvent.objects.filter(action="accounts.token.use", object_id=str(token.pk)).count() == 2


@pytest.mark.django_db
def test_read_only_api_key_reads_its_jurisdiction_and_is_refused_on_writes(client, world):
    tree = world["tree"]
    token, secret = services.api_key_create(actor=world["boss"], name="民政系统", division=tree["town_a"],
                                            capabilities=["view", "edit"], read_only=True)
    assert token.user.is_service_account and not token.user.has_usable_password()
    anon = client.__class__()
    heads = {h["head_name"] for h in anon.get("/api/v1/households/?poor=all", **_bearer(secret)).json()["items"]}
    assert heads == {"李大山"}  # town A only
    r = anon.patch(f"/api/v1/households/{world['hh_a'].uuid}", json.dumps({"phone": "1"}),
                   content_type="application/json", **_bearer(secret))
    assert r.status_code == 403 and "只读" in r.json()["detail"]
    assert Household.objects.get(pk=world["hh_a"].pk).phone == "13800000001"


@pytest.mark.django_db
def test_read_write_api_key_is_limited_to_its_capabilities(client, world):
    tree = world["tree"]
    _t, viewer = services.api_key_create(actor=world["boss"], name="统计系统", division=tree["county"],
                                         capabilities=["view"], read_only=False)
    _t, editor = services.api_key_create(actor=world["boss"], name="网格平台", division=tree["county"],
                                         capabilities=["view", "edit"], read_only=False)
    anon = client.__class__()
    url = f"/api/v1/households/{world['hh_b'].uuid}"
    body = json.dumps({"phone": "13700000000", "expected_version": world["hh_b"].version})
    r = anon.patch(url, body, content_type="application/json", **_bearer(viewer))
    assert r.status_code == 403
    assert Household.objects.get(pk=world["hh_b"].pk).phone == ""
    r = anon.patch(url, body, content_type="application/json", **_bearer(editor))
    assert r.status_code == 200, r.content
    assert Household.objects.get(pk=world["hh_b"].pk).phone == "13700000000"


@pytest.mark.django_db
def test_api_key_creation_is_checked(world):
    tree = world["tree"]
    with pytest.raises(ServiceError):  # a town's staff cannot manage users
        services.api_key_create(actor=world["town_b"], name="x", division=tree["vb1"], capabilities=["view"])
    with pytest.raises(ServiceError):
        services.api_key_create(actor=world["boss"], name="x", division=tree["va1"], capabilities=["manage_users"])
    with pytest.raises(ServiceError):
        services.api_key_create(actor=world["boss"], name="x", division=tree["va1"], capabilities=["view"],
                                expires_at=timezone.now() - dt.timedelta(days=1))
    with pytest.raises(ServiceError):
        services.api_key_create(actor=world["boss"], name="", division=tree["va1"], capabilities=["view"])
    assert not AccessToken.objects.exists() and not User.objects.filter(is_service_account=True).exists()


@pytest.mark.django_db
def test_openapi_declares_the_bearer_scheme(client, world):
    client.force_login(world["boss"])
    doc = client.get("/api/v1/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    assert "/api/v1/auth/token" in doc["paths"]


@pytest.mark.django_db
def test_my_devices_page_revokes_in_one_click_and_only_my_own(client, world):
    secret = _sign_in(client).json()["token"]
    token = AccessToken.objects.get()
    other = client.__class__()
    other.force_login(world["worker_b"])
    assert other.post(f"/accounts/tokens/{token.uuid}/revoke/").status_code == 404
    client.force_login(world["worker"])
    body = client.get("/accounts/devices/").content.decode()
    assert "甲的手机" in body
    r = client.post(f"/accounts/tokens/{token.uuid}/revoke/", {"next": "/accounts/devices/"})
    assert r.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == world["worker"]
    assert client.__class__().get("/api/v1/accounts/me", **_bearer(secret)).status_code == 401


@pytest.mark.django_db
def test_county_staff_list_create_and_revoke_scoped(client, world):
    _sign_in(client)  # worker A's phone (town A)
    _sign_in(client, username="worker_b", device="乙的手机")  # town B
    client.force_login(world["town_b"])
    assert client.get("/accounts/tokens/").status_code == 403  # town staff do not manage users
    client.force_login(world["boss"])
    body = client.get("/accounts/tokens/").content.decode()
    assert "甲的手机" in body and "乙的手机" in body
    assert "设备与API密钥" in body and "吊销" in body and "手机(设备令牌)" in body  # the page speaks Chinese
    r = client.post("/accounts/tokens/new/", {"name": "四务通", "division": world["tree"]["town_a"].pk,
                                              "capabilities": ["view"], "read_only": "on"})
    assert r.status_code == 200
    key = AccessToken.objects.get(kind="api_key")
    secret = r.content.decode().split('id="api-key-secret">')[1].split("<")[0]
    assert services.hash_secret(secret) == key.secret_hash and key.read_only and key.capabilities == ["view"]
    assert client.get("/accounts/tokens/").content.decode().count(secret) == 0  # shown once only
    r = client.post(f"/accounts/tokens/{key.uuid}/revoke/", {"next": "/accounts/tokens/"})
    key.refresh_from_db()
    assert key.revoked_at is not None
    bad = client.post("/accounts/tokens/new/", {"name": "", "division": world["tree"]["town_a"].pk})
    assert bad.status_code == 200 and AccessToken.objects.filter(kind="api_key").count() == 1


@pytest.mark.django_db
def test_signing_out_on_the_phone_stores_the_reason_by_id_and_shows_it_in_the_readers_language(client, world):
    from django.utils import translation

    from fupin.core.i18n import shown
    from fupin.web.templatetags.fupin import audit_changes

    secret = _sign_in(client).json()["token"]
    assert client.__class__().delete("/api/v1/auth/token", **_bearer(secret)).status_code == 204
    token = AccessToken.objects.get()
    assert token.revoked_at is not None and token.revoke_reason == 'i18n:["Signed out on the phone"]'
    assert shown(token.revoke_reason, "zh-hans") == "在手机上退出登录"
    assert shown(token.revoke_reason, "en") == "Signed out on the phone"
    event = AuditEvent.objects.get(action="accounts.token.revoke_device")
    for language, text in (("zh-hans", "在手机上退出登录"), ("en", "Signed out on the phone")):
        with translation.override(language):
            assert text in [after for _label, _before, after in audit_changes(event, world["boss"])]
