"""The battle map in headless Chromium: the county with boundaries and households, a town filter, search and the
household popup; the household layer shows within 2 s of navigation."""

import os
import time

import pytest
from django.test import Client

from fupin.core.testing import make_user
from fupin.dashboards.services import refresh_snapshots
from fupin.maps.tests.factories import mapped_county

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user) -> None:
    """Reuse a server-side session (the login form has its own test)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


@pytest.fixture
def county(db):
    t = mapped_county()
    refresh_snapshots()
    t["leader"] = make_user("leader", "city_leader", division=t["county"], display_name="王县长")
    t["worker"] = make_user("worker", "grid_worker", grid=t["ga1"], display_name="甲网格员")
    return t


def test_map_filter_search_and_popup(live_server, page, artifacts_dir, county):
    sign_in(page, live_server, county["leader"])
    page.goto(f"{live_server.url}/dashboard/")  # warm the server's templates and modules (a running server has)
    started = time.monotonic()
    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector("html[data-households-ready='6']", state="attached", timeout=10_000)
    elapsed = time.monotonic() - started
    in_page = int(page.locator("html").get_attribute("data-households-at")) / 1000
    print(f"household layer shown {elapsed:.2f} s after navigation ({in_page:.2f} s by the page's clock)")
    assert in_page <= 2.0 and elapsed <= 2.5, f"household layer shown {elapsed:.2f} s after navigation"
    page.wait_for_selector(".area-label", state="attached")  # the boundaries are drawn and named
    assert page.locator(".area-label", has_text="甲").count() >= 1
    assert "图上 6 户" in page.locator("#hh-count").inner_text() or "6" in page.locator("#hh-count").inner_text()
    page.wait_for_timeout(600)
    page.screenshot(path=os.path.join(artifacts_dir, "map-county.png"))

    # filter by a town: only its households remain, the URL keeps the choice
    page.select_option("#f-town", county["town_a"].code)
    page.wait_for_selector("html[data-households-ready='4']", state="attached")
    assert f"division={county['town_a'].code}" in page.url
    page.wait_for_timeout(400)
    page.screenshot(path=os.path.join(artifacts_dir, "map-town.png"))

    # search a household and open its popup
    page.fill("#map-q", "乙秘密")
    page.wait_for_selector("#map-results li[data-i]")
    page.click("#map-results li[data-i]")
    popup = page.wait_for_selector(".hh-popup .hh-pop")
    text = popup.inner_text()
    assert "乙秘密" in text and "420581101201001" in text and "因残" in text
    assert page.locator(".hh-popup a[href='/households/420581101201001/']").count() == 1
    page.wait_for_timeout(300)
    page.screenshot(path=os.path.join(artifacts_dir, "map-popup.png"))


def test_grid_worker_places_a_household_by_clicking(live_server, page, artifacts_dir, county):
    hh = county["hh"]["a_open"]
    sign_in(page, live_server, county["worker"])
    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector("html[data-households-ready='3']", state="attached", timeout=10_000)
    page.fill("#map-q", "甲未脱")
    page.wait_for_selector("#map-results li[data-i]")
    page.click("#map-results li[data-i]")
    page.wait_for_selector(".hh-popup [data-locate='map']")
    page.click(".hh-popup [data-locate='map']")
    page.wait_for_selector("#locate-banner:not([hidden])")
    page.on("dialog", lambda dialog: dialog.accept())
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2)
    page.wait_for_selector(".hh-popup .hh-pop .muted:has-text('甲网格员')", timeout=5_000)
    hh.refresh_from_db()
    assert hh.location_source == "map" and hh.located_by == county["worker"]
    assert (hh.lng, hh.lat) != (111.400, 30.500)
    page.screenshot(path=os.path.join(artifacts_dir, "map-located.png"))
