"""The Content-Security-Policy allows no inline or eval'd script, and the pages still work under it: no violation is
reported in the console and the Alpine behaviours (menu, show/hide by kind, form editor) still run."""

from __future__ import annotations

import pytest

from fupin.core.testing import make_county_tree, make_household, make_user
from fupin.surveys.services import forms_load_shipped

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-test-12345"


@pytest.fixture
def setup(db):
    county = make_county_tree()
    forms_load_shipped(actor="test")
    hh = make_household(county["va1"], grid=county["ga1"], head="黄大山", members=3, is_registered_poor=True,
                        poor_code="420581100201-0009", poverty_status="0", attribute="1", main_cause="7")
    make_user("csp_county", "city_office", division=county["county"])
    return {"hh": hh}


def test_pages_run_under_a_strict_csp(page, live_server, setup):
    base = live_server.url
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text
            or "CSP" in m.text or "Alpine Expression Error" in m.text else None)
    page.on("pageerror", lambda e: violations.append(str(e)))
    page.goto(f"{base}/login/")
    csp = page.evaluate("() => fetch('/login/').then(r => r.headers.get('content-security-policy'))")
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    page.fill("input[name=username]", "csp_county")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    hh = setup["hh"]
    # the registry's member-change form shows the fields of the chosen kind (x-show over x-model)
    page.goto(f"{base}/households/{hh.poor_code}/change/")
    page.wait_for_load_state("networkidle")
    page.select_option("select[name=kind]", "split")
    page.wait_for_timeout(300)
    assert page.locator("[name=split_members]").first.is_visible()
    page.select_option("select[name=kind]", "birth")
    page.wait_for_timeout(300)
    assert not page.locator("[name=split_members]").first.is_visible()
    # the form editor (an Alpine.data component with arguments)
    page.goto(f"{base}/forms/household/")
    page.click("#new-version")
    page.wait_for_selector(".sv-editor")
    page.click("#add-item-0")
    page.fill(".sv-ed-item.open .ed-label", "微信号")
    assert page.locator(".sv-ed-item.open .ed-label").input_value() == "微信号"
    for path in ("/", "/dispatch/figures/", "/dispatch/minqing/analysis/", "/dashboards/", "/map/",
                 f"/assistance/households/{hh.poor_code}/visit/"):
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
    # the phone menu toggles (x-data on the body)
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"{base}/")
    toggle = page.locator("[\\@click='navOpen = !navOpen']").first
    if toggle.count():
        toggle.click()
    assert not violations, violations
