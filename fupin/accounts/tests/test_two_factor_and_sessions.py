"""Two-factor sign-in (TOTP, recovery codes), its enforcement for the roles that must, and browser sessions bound to
their browser, ended after idle time, listed and ended everywhere."""

import time

import pytest

from fupin.accounts import sessions, twofactor
from fupin.accounts.models import TwoFactorDevice, UserSession
from fupin.core.models import AuditEvent
from fupin.core.testing import make_user

PW = "pw-test-12345"
UA = {"HTTP_USER_AGENT": "Mozilla/5.0 (test browser)"}


def test_totp_matches_rfc_6238():
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # the RFC's key "12345678901234567890"
    assert twofactor.code_at(secret, 59 // 30) == "287082"
    assert twofactor.code_at(secret, 1111111109 // 30) == "081804"
    assert twofactor.code_at(secret, 2000000000 // 30) == "279037"


def _enrolled(user):
    device = twofactor.enrol_begin(actor=user, user=user)
    codes = twofactor.enrol_confirm(actor=user, user=user,
                                    code=twofactor.code_at(device.secret, twofactor.current_step() - 1))
    device.refresh_from_db()
    return device, codes


def _login(client, username):
    return client.post("/login/", {"username": username, "password": PW}, **UA)


def test_sign_in_with_password_then_code(client, county):
    user = make_user("office", "city_office", division=county["county"])
    device, codes = _enrolled(user)
    assert len(codes) == 10 and len(device.recovery_hashes) == 10
    assert codes[0] not in str(device.recovery_hashes)  # stored hashed
    response = _login(client, "office")
    assert response.status_code == 302 and response["Location"] == "/login/verify/"
    assert client.get("/households/", **UA).status_code == 302  # not signed in yet
    wrong = client.post("/login/verify/", {"code": "000000"}, **UA)
    assert wrong.status_code == 200 and "验证码不正确" in wrong.content.decode()
    code = twofactor.code_at(device.secret, twofactor.current_step())
    ok = client.post("/login/verify/", {"code": code}, **UA)
    assert ok.status_code == 302
    assert client.get("/households/", **UA).status_code == 200
    record = UserSession.objects.get(user=user)
    assert record.two_factor and record.user_agent.startswith("Mozilla")
    # the same code is never accepted twice
    client.post("/logout/", **UA)
    _login(client, "office")
    client.post("/login/verify/", {"code": code}, **UA)
    assert client.get("/households/", **UA).status_code == 302
    # a recovery code works once
    assert client.post("/login/verify/", {"code": codes[3].upper()}, **UA).status_code == 302
    assert client.get("/households/", **UA).status_code == 200
    assert len(TwoFactorDevice.objects.get(user=user).recovery_hashes) == 9
    assert not twofactor.verify(user=user, code=codes[3])
    assert AuditEvent.objects.filter(action="accounts.two_factor.recovery_code_used").count() == 1


def test_five_wrong_codes_lock_the_account(client, county):
    user = make_user("office", "city_office", division=county["county"])
    _enrolled(user)
    _login(client, "office")
    for _ in range(5):
        client.post("/login/verify/", {"code": "123456"}, **UA)
    user.refresh_from_db()
    assert user.locked_until is not None
    assert client.get("/login/verify/", **UA).status_code == 302


def test_roles_that_must_enrol_are_sent_to_enrolment(client, county, settings):
    settings.FUPIN_2FA_REQUIRED_ROLES = ("superuser", "city_office", "auditor")
    office = make_user("office", "city_office", division=county["county"])
    grid = make_user("gw", "grid_worker", grid=county["ga1"])
    _login(client, "gw")
    assert client.get("/households/", **UA).status_code == 200  # not required for a grid worker
    client.post("/logout/", **UA)
    _login(client, "office")
    response = client.get("/households/", **UA)
    assert response.status_code == 302 and response["Location"] == "/account/two-factor/"
    assert client.get("/api/v1/households/", **UA).status_code == 403
    page = client.get("/account/two-factor/", **UA)
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TwoFactorDevice.objects.get(user=office)
    assert device.confirmed_at is None
    bad = client.post("/account/two-factor/", {"action": "confirm", "code": "999999"}, **UA)
    assert "不正确" in bad.content.decode()
    done = client.post("/account/two-factor/", {"action": "confirm",
                                                "code": twofactor.code_at(device.secret, twofactor.current_step())},
                       **UA)
    assert done.status_code == 200 and 'id="recovery-codes"' in done.content.decode()
    assert client.get("/households/", **UA).status_code == 200
    assert grid.two_factor if hasattr(grid, "two_factor") else True


def test_security_administrator_resets_a_lost_authenticator(client, county):
    user = make_user("office2", "city_office", division=county["county"])
    _enrolled(user)
    office = make_user("office3", "city_office", division=county["county"])
    client.force_login(office)  # the county office manages users but not sign-in security (三员分立)
    assert client.post("/accounts/users/office2/reset-2fa/", **UA).status_code == 403
    admin = make_user("secadmin", "security_admin", division=county["county"])
    client.force_login(admin)
    assert client.post("/accounts/users/office2/reset-2fa/", **UA).status_code == 302
    assert not TwoFactorDevice.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action="accounts.two_factor.reset", object_id=str(user.pk)).exists()
    village = make_user("vt", "village_team", division=county["va1"])
    _enrolled(village)
    client.force_login(make_user("gw2", "grid_worker", grid=county["ga1"]))
    assert client.post("/accounts/users/vt/reset-2fa/", **UA).status_code == 403
    assert TwoFactorDevice.objects.filter(user=village).exists()


def test_a_session_is_bound_to_its_browser(client, county):
    make_user("gw", "grid_worker", grid=county["ga1"])
    _login(client, "gw")
    assert client.get("/households/", **UA).status_code == 200
    stolen = client.get("/households/", HTTP_USER_AGENT="curl/8.0")
    assert stolen.status_code == 302 and "ended=browser" in stolen["Location"]
    assert client.get("/households/", **UA).status_code == 302  # the session is gone for the real browser too


def test_idle_and_absolute_timeouts(client, county, settings):
    make_user("gw", "grid_worker", grid=county["ga1"])
    _login(client, "gw")
    session = client.session
    session[sessions.SEEN_KEY] = time.time() - settings.FUPIN_SESSION_IDLE_SECONDS - 5
    session.save()
    response = client.get("/households/", **UA)
    assert response.status_code == 302 and "ended=idle" in response["Location"]
    _login(client, "gw")
    session = client.session
    session[sessions.LOGIN_AT_KEY] = time.time() - settings.SESSION_COOKIE_AGE - 5
    session.save()
    assert "ended=expired" in client.get("/households/", **UA)["Location"]


def test_sign_out_everywhere_else(county):
    from django.test import Client

    make_user("gw", "grid_worker", grid=county["ga1"])
    phone, desk = Client(), Client()
    _login(phone, "gw")
    _login(desk, "gw")
    assert UserSession.objects.filter(ended_at__isnull=True).count() == 2
    page = desk.get("/account/sessions/", **UA)
    assert page.status_code == 200 and page.content.decode().count("Mozilla/5.0") == 2
    desk.post("/account/sessions/end-all/", **UA)
    assert phone.get("/households/", **UA).status_code == 302
    assert desk.get("/households/", **UA).status_code == 200
    assert UserSession.objects.filter(ended_at__isnull=True).count() == 1
    other = UserSession.objects.exclude(session_key=desk.session.session_key).get()
    assert desk.post(f"/account/sessions/{other.pk}/end/", **UA).status_code == 302  # already ended: no error
    desk.post("/logout/", **UA)
    assert UserSession.objects.filter(ended_at__isnull=True).count() == 0


def test_a_user_cannot_end_another_users_session(county):
    from django.test import Client

    make_user("gw", "grid_worker", grid=county["ga1"])
    make_user("gw2", "grid_worker", grid=county["ga1"])
    victim, attacker = Client(), Client()
    _login(victim, "gw")
    _login(attacker, "gw2")
    record = UserSession.objects.get(user__username="gw")
    attacker.post(f"/account/sessions/{record.pk}/end/", **UA)
    assert victim.get("/households/", **UA).status_code == 200


@pytest.mark.parametrize("path", ["/login/verify/"])
def test_second_step_without_a_password_step_goes_back_to_sign_in(client, db, path):
    assert client.get(path).status_code == 302


def test_separated_roles_are_given_only_by_the_security_administrator(county):
    from fupin.accounts import services
    from fupin.core.errors import ServiceError

    office = make_user("office", "city_office", division=county["county"])
    sysadmin = make_user("sysadmin", "system_admin", division=county["county"])
    secadmin = make_user("secadmin", "security_admin", division=county["county"])
    for actor in (office, sysadmin):
        with pytest.raises(ServiceError):
            services.user_create(actor=actor, username=f"aud_{actor.username}", password="Audit-pass-2016",
                                 role="auditor", division=county["county"])
    auditor = services.user_create(actor=secadmin, username="aud", password="Audit-pass-2016", role="auditor",
                                   division=county["county"])
    with pytest.raises(ServiceError):
        services.user_update(actor=sysadmin, user=auditor, role="city_office")
    with pytest.raises(ServiceError):
        services.user_update(actor=office, user=office, role="security_admin")
    services.user_update(actor=sysadmin, user=office, display_name="王主任")  # other changes stay theirs


def test_security_records_are_the_auditors_to_read(client, county):
    from fupin.accounts.models import User

    sysadmin = make_user("sysadmin", "system_admin", division=county["county"])
    make_user("gw", "grid_worker", grid=county["ga1"])
    _login(client, "gw")  # a sign-in: a security record on the grid worker
    client.force_login(sysadmin)
    page = client.get("/accounts/users/gw/").content.decode()
    assert "accounts.session.start" not in page
    assert client.get("/audit/").status_code == 403
    auditor = make_user("aud", "auditor", division=county["county"])
    client.force_login(auditor)
    assert "accounts.session.start" in client.get("/accounts/users/gw/").content.decode()
    assert client.post("/accounts/users/gw/edit/", {"display_name": "x"}).status_code == 403  # reads only
    assert User.objects.get(username="gw").display_name == "gw"
