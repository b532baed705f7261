"""Assistance in headless Chromium: a town leader sees which cadres let their households go red, opens one, records a
visit, and the light and the roll-ups change at once (on the assistance pages, on the household's own page and on the
battle map, coloured by the tracking light)."""

import datetime as dt
import io
import os

import pytest
from django.test import Client
from PIL import Image

from fupin.assistance import services
from fupin.assistance.choices import COLOUR_HEX
from fupin.assistance.conf import local_today
from fupin.assistance.models import AssistanceRecord, HouseholdLight
from fupin.core.testing import make_county_tree, make_household, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def _light_on_map(page, live_server, household) -> tuple[str, dict, str]:
    """Open the battle map, colour the households by the tracking light (着色依据) and return the household's light as
    the map draws it (the legend code of its point's colour index, from the very answer the page rendered), the
    legend's counts as shown in the panel, and the text of the household's popup. The points are drawn on a canvas,
    so the layer's answer is what tells a point's colour."""
    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector("html[data-households-ready]", state="attached", timeout=10_000)
    with page.expect_response(lambda r: "/api/v1/map/households?" in r.url and "color=light" in r.url) as answer:
        page.select_option("#f-color", "light")
    layer = answer.value.json()
    assert layer["color"] == "light" and layer["mode"] == "points"
    point = next(p for p in layer["points"] if p[0] == household.pk)
    drawn = layer["legend"][point[3]]
    page.wait_for_selector("#f-status input[data-code='green']", state="attached")
    shown = {row.locator("input").get_attribute("data-code"): int(row.locator(".n").inner_text())
             for row in page.locator("#f-status .legend-row").all()}
    assert page.locator(f"#f-status input[data-code='{drawn['code']}'] + .dot").get_attribute("style") == \
        f"background:{drawn['color']}"
    page.fill("#map-q", household.head_name)
    page.wait_for_selector("#map-results li[data-i]")
    page.click("#map-results li[data-i]")
    popup = page.wait_for_selector(".hh-popup .hh-pop")
    page.wait_for_timeout(400)  # the popup's pan ends
    return drawn["code"], shown, popup.inner_text()


def _marker_pixels(page, colour_hex: str) -> int:
    """How many pixels of `colour_hex` (give or take antialiasing) are drawn at the open popup's tip, where
    the household's point is."""
    tip = page.locator(".hh-popup .leaflet-popup-tip-container").bounding_box()
    clip = {"x": tip["x"] + tip["width"] / 2 - 12, "y": tip["y"], "width": 24, "height": 32}
    image = Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")
    want = tuple(int(colour_hex[i:i + 2], 16) for i in (1, 3, 5))
    return sum(1 for px in image.get_flattened_data() if sum(abs(a - b) for a, b in zip(px, want, strict=True)) <= 30)


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

    # on the battle map, coloured by the light, the household is red
    code, legend, popup = _light_on_map(page, live_server, red)
    assert code == "red" and legend == {"red": 1, "yellow": 0, "green": 1}
    assert "跟踪警示灯" in popup and "红灯" in popup and "王慢" in popup
    assert _marker_pixels(page, COLOUR_HEX["red"]) >= 20 and _marker_pixels(page, COLOUR_HEX["green"]) == 0
    page.screenshot(path=os.path.join(artifacts_dir, "assistance-map-red.png"))

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

    # the battle map shows it green at once (the layer reads the lights; its cached counts follow the audit trail)
    code, legend, popup = _light_on_map(page, live_server, red)
    assert code == "green" and legend == {"red": 0, "yellow": 0, "green": 2}
    assert "绿灯" in popup and "红灯" not in popup
    assert _marker_pixels(page, COLOUR_HEX["green"]) >= 20 and _marker_pixels(page, COLOUR_HEX["red"]) == 0
    page.screenshot(path=os.path.join(artifacts_dir, "assistance-map-green.png"))

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
