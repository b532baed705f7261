"""Assistance in headless Chromium: a town leader sees which cadres let their households go red, opens one, records a
visit, and the light and the roll-ups change at once (on the assistance pages and on the household's own page).

The map's part of the issue (the household turning green on the battle map) belongs to the map's tests."""

import datetime as dt
import os

import pytest
from django.test import Client

from fupin.assistance import services
from fupin.assistance.conf import local_today
from fupin.assistance.models import AssistanceRecord, HouseholdLight
from fupin.core.testing import make_county_tree, make_household, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def test_town_leader_records_a_visit_for_a_red_household(live_server, page, artifacts_dir):
    t = make_county_tree()
    today = local_today()
    unit = services.unit_create(actor="test", name="市教育局")
    slack = services.cadre_create(actor="test", name="王慢", unit=unit, phone="13900000011", post="科员")
    keen = services.cadre_create(actor="test", name="赵勤", unit=unit, phone="13900000012", post="科员")
    red = make_household(t["va1"], grid=t["ga1"], head="李红", is_registered_poor=True, poverty_status="0",
                         main_cause="1", poor_code="420581100201001", lng=111.401, lat=30.501)
    green = make_household(t["va1"], grid=t["ga1"], head="周绿", is_registered_poor=True, poverty_status="0",
                           main_cause="3", poor_code="420581100201002")
    services.pairing_assign(actor="test", household=red, cadre=slack, start=today - dt.timedelta(days=60))
    services.record_create(actor="test", household=red, occurred_on=today - dt.timedelta(days=40), content="走访")
    services.pairing_assign(actor="test", household=green, cadre=keen, start=today - dt.timedelta(days=60))
    services.record_create(actor="test", household=green, occurred_on=today - dt.timedelta(days=3), content="走访")
    assert HouseholdLight.objects.get(pk=red.pk).colour == "red"
    leader = make_user("town_leader", "town_staff", division=t["town_a"], display_name="甲镇李镇长")
    _login(page, live_server, leader)
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": 30.5012, "longitude": 111.4013, "accuracy": 15})

    # which cadres let their households go red
    page.goto(f"{live_server.url}/assistance/")
    assert page.locator("[data-testid=count-red]").inner_text() == "1"
    first_row = page.locator("[data-testid=cadre-rollup] tbody tr").first
    assert "王慢" in first_row.inner_text()
    page.screenshot(path=os.path.join(artifacts_dir, "assistance-overview-red.png"), full_page=True)

    # open the cadre, record a visit for the red household
    first_row.locator("a:has-text('王慢')").click()
    page.wait_for_url(f"**/assistance/cadres/{slack.pk}/**")
    assert page.locator("[data-testid=cadre-red]").inner_text() == "1"
    row = page.locator(f"tr[data-household='{red.uuid}']")
    assert row.locator("[data-light]").get_attribute("data-light") == "red"
    assert "录入一条帮扶记录" in row.inner_text()  # the action that clears it
    page.screenshot(path=os.path.join(artifacts_dir, "assistance-cadre-red.png"), full_page=True)
    row.locator("a.btn").click()
    page.wait_for_url(f"**/assistance/households/{red.uuid}/visit/**")
    page.fill("textarea[name=content]", "入户走访,了解李红住院报销进度,协助准备大病救助材料")
    page.fill("textarea[name=needs]", "申请医疗救助")
    page.wait_for_selector("text=已记录定位", timeout=5000)
    page.screenshot(path=os.path.join(artifacts_dir, "assistance-visit-form.png"), full_page=True)
    page.click("[data-testid=save-record]")

    # back on the cadre's page: the light and the roll-up changed at once
    page.wait_for_url(f"**/assistance/cadres/{slack.pk}/**")
    assert page.locator(f"tr[data-household='{red.uuid}'] [data-light]").get_attribute("data-light") == "green"
    assert page.locator("[data-testid=cadre-red]").inner_text() == "0"
    assert "帮扶记录已保存" in page.locator(".messages").inner_text()
    page.screenshot(path=os.path.join(artifacts_dir, "assistance-cadre-green.png"), full_page=True)
    record = AssistanceRecord.objects.get(household=red, occurred_on=today)
    assert (record.recorded_by, record.cadre, round(record.lng, 3)) == (leader, slack, 111.401)

    page.goto(f"{live_server.url}/assistance/")
    assert page.locator("[data-testid=count-red]").inner_text() == "0"
    assert page.locator("[data-testid=count-green]").inner_text() == "2"

    # the household's pages show it green
    page.goto(f"{live_server.url}/assistance/households/{red.uuid}/")
    assert page.locator("[data-testid=light-panel] [data-light]").get_attribute("data-light") == "green"
    assert "入户走访,了解李红住院报销进度" in page.locator("[data-testid=records]").inner_text()
    page.screenshot(path=os.path.join(artifacts_dir, "assistance-household-green.png"), full_page=True)
    page.goto(f"{live_server.url}{red.get_absolute_url()}")
    panel = page.locator("[data-testid=assistance-panel]")
    if panel.count():  # the registry's household page with the assistance panel
        assert panel.locator("[data-light]").first.get_attribute("data-light") == "green"
        assert "王慢" in panel.inner_text()
        page.screenshot(path=os.path.join(artifacts_dir, "assistance-registry-panel.png"), full_page=True)
