"""Field checks in headless Chromium at phone width: a town officer opens a sampled exited household, records that it
was wrongly exited, and the village's wrong-exit rate on the field-check page changes at once."""

import os

import pytest
from django.test import Client
from django.utils import timezone

from fupin.assessment import services
from fupin.assessment.models import FieldCheck
from fupin.core.testing import make_county_tree, make_household, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_field_check_at_phone_width_changes_the_rates(live_server, page, artifacts_dir):
    t = make_county_tree()
    for i in range(2):
        make_household(t["va1"], head=f"脱贫户{i}", is_registered_poor=True, poverty_status="1")
    officer = make_user("e2e_town", "town_staff", division=t["town_a"])
    year = timezone.localdate().year
    sample = services.sample_create(actor=officer, village=t["va1"], year=year, count=1, seed=5)
    check = sample.checks.get(stratum="exited")
    client = Client()
    client.force_login(officer)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(f"{live_server.url}/assessment/checks/?year={year}")
    assert page.locator(f"tr[data-code='{t['va1'].code}']").count() == 0  # nothing checked yet
    page.goto(f"{live_server.url}/assessment/checks/{check.pk}/")
    page.check("input[name='wrongly_exited'][value='1']")
    page.check("input[name='satisfied'][value='0']")
    width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=os.path.join(artifacts_dir, "assessment_check_phone.png"), full_page=True)
    assert width <= 375, f"the check form is wider than the phone: {width}px"
    page.click("[data-testid=save-check]")
    page.wait_for_url("**/assessment/checks/samples/**")
    assert FieldCheck.objects.get(pk=check.pk).wrongly_exited is True
    page.goto(f"{live_server.url}/assessment/checks/?year={year}")
    row = page.locator(f"tr[data-code='{t['va1'].code}']")
    assert row.locator("[data-rate='wrong_exit_rate']").inner_text() == "100.00%"
    assert row.locator("[data-rate='approval']").inner_text() == "0.00%"
    page.screenshot(path=os.path.join(artifacts_dir, "assessment_rates_phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
