"""Browser: a county office user who must use two factors enrols an authenticator at first sign-in, then signs in with
password and code; the security page lists the session."""

import os
import time

import pytest

from fupin.accounts import twofactor
from fupin.accounts.models import TwoFactorDevice
from fupin.core.testing import make_county_tree, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _not_near_a_step_boundary(margin: float = 10.0) -> None:
    """Wait for the next time step when the current one ends within `margin` seconds: a code typed now must still be
    within the server's one-step window when it arrives, even on a loaded machine (the suite failed once at load 10
    when the step turned between typing the previous step's code and the server checking it)."""
    left = twofactor.STEP_SECONDS - time.time() % twofactor.STEP_SECONDS
    if left < margin:
        time.sleep(left + 0.5)


def test_enrol_then_sign_in_with_a_code(live_server, page, artifacts_dir, settings):
    settings.FUPIN_2FA_REQUIRED_ROLES = ("superuser", "city_office", "auditor")
    tree = make_county_tree()
    user = make_user("office", "city_office", division=tree["county"], display_name="王主任", password="pw-2fa-2016")
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "office")
    page.fill("input[name=password]", "pw-2fa-2016")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/account/two-factor/")
    assert page.locator(".qr svg").first.is_visible()
    page.set_viewport_size({"width": 360, "height": 800})
    page.screenshot(path=os.path.join(artifacts_dir, "two-factor-enrol-360.png"), full_page=True)
    secret = page.locator("#totp-secret").inner_text()
    _not_near_a_step_boundary()
    page.fill("input[name=code]", twofactor.code_at(secret, twofactor.current_step() - 1))
    page.click("button:has-text('启用')")
    page.wait_for_selector("#recovery-codes")
    assert page.locator("#recovery-codes code").count() == 10
    assert TwoFactorDevice.objects.get(user=user).confirmed_at is not None

    page.goto(f"{live_server.url}/households/")  # enrolled: pages open
    assert "/households/" in page.url
    page.click("button:has-text('退出')")
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "office")
    page.fill("input[name=password]", "pw-2fa-2016")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/login/verify/")
    page.fill("input[name=code]", "000000")
    page.click("button[type=submit]")
    assert "验证码不正确" in page.locator(".form-error").inner_text()
    _not_near_a_step_boundary()
    page.fill("input[name=code]", twofactor.code_at(secret, twofactor.current_step()))
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/account/sessions/")
    assert "本浏览器" in page.locator("table").inner_text()
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=os.path.join(artifacts_dir, "account-security-1440.png"), full_page=True)
