"""Dashboards in headless Chromium: the county's figures with charts, drilled down town → village → grid."""

import os

import pytest
from django.test import Client

from fupin.core.testing import make_user
from fupin.dashboards.services import refresh_snapshots
from fupin.maps.tests.factories import mapped_county

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_drill_down_to_a_grid(live_server, page, artifacts_dir, db):
    t = mapped_county()
    refresh_snapshots()
    leader = make_user("leader", "city_leader", division=t["county"], display_name="王县长")
    client = Client()
    client.force_login(leader)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])

    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("html[data-dashboard-ready]", state="attached")
    assert page.locator(".kpi-lead .kpi-value").inner_text().startswith("7")
    assert page.locator("#children-chart canvas").count() == 1
    assert page.locator("[data-chart='poor_households_by_status'] canvas").count() == 1
    page.wait_for_timeout(700)  # let the charts' animation finish
    page.screenshot(path=os.path.join(artifacts_dir, "dashboard-county.png"), full_page=True)

    page.click("a.drill:has-text('甲镇')")
    page.wait_for_url(f"**/dashboard/?division={t['town_a'].code}")
    assert page.locator(".kpi-lead .kpi-value").inner_text().startswith("5")
    page.click("a.drill:has-text('甲一村')")
    page.wait_for_url(f"**/dashboard/?division={t['va1'].code}")
    page.click("a.drill:has-text('甲一村第1网格')")
    page.wait_for_url(f"**/dashboard/?division={t['ga1'].code}")
    assert "甲一村第1网格" in page.locator("h1").inner_text()
    assert page.locator(".kpi-lead .kpi-value").inner_text().startswith("3")
    crumbs = page.locator(".crumbs").inner_text()
    assert "测试县" in crumbs and "甲镇" in crumbs and "甲一村" in crumbs
    page.wait_for_timeout(700)
    page.screenshot(path=os.path.join(artifacts_dir, "dashboard-grid.png"), full_page=True)

    # a figure links to the households behind it
    href = page.locator(".kpi-lead").get_attribute("href")
    assert href.startswith(f"/households/?division={t['ga1'].code}")
