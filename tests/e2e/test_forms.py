"""County staff add an item to the household form in the browser and publish a new version; a grid worker fills it
for a household on a phone-sized screen; last year's response still reads under the old version. Screenshots go to
the artifacts folder."""

from __future__ import annotations

import os

import pytest

from fupin.core.testing import make_county_tree, make_household, make_user
from fupin.surveys.models import Form, Response
from fupin.surveys.services import current_version, forms_load_shipped, response_submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-test-12345"


@pytest.fixture
def setup(db):
    county = make_county_tree()
    forms_load_shipped(actor="test")
    hh = make_household(county["va1"], grid=county["ga1"], head="黄大山", members=3, is_registered_poor=True,
                        poor_code="420581100201-0001", poverty_status="0", attribute="1", main_cause="7")
    form = Form.objects.get(key="household")
    response_submit(actor="test", form=form, period="2016", household=hh,
                    answers={"head_name": "黄大山", "attribute": "1", "main_cause": "7", "poverty_status": "0",
                             "income_wages": 2000, "dropout": False})
    make_user("e2e_county", "city_office", division=county["county"], display_name="周扶贫办")
    make_user("e2e_grid", "grid_worker", grid=county["ga1"], display_name="李网格员")
    return {"hh": hh, "form": form}


def test_edit_publish_fill(page, live_server, artifacts_dir, setup):
    base = live_server.url
    shots = iter(range(1, 100))

    def shot(name):
        page.screenshot(path=os.path.join(artifacts_dir, f"forms_{next(shots):02d}_{name}.png"), full_page=True)

    def login(username):
        page.context.clear_cookies()
        page.goto(f"{base}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()

    page.on("dialog", lambda d: d.accept())
    # county staff: a new version with one more item, previewed and published
    login("e2e_county")
    page.goto(f"{base}/forms/household/")
    page.click("#new-version")
    page.wait_for_selector(".sv-editor")
    page.click("#add-item-0")
    page.fill(".sv-ed-item.open .ed-label", "微信号")
    page.fill(".sv-ed-item.open .ed-key", "wechat")
    page.check(".sv-ed-item.open .ed-required")
    page.fill("#version-note", "新增微信号")
    page.click("#preview-btn")
    page.wait_for_selector("#preview .sv-item[data-key=wechat]")
    shot("editor_preview")
    page.click("#publish-btn")
    page.wait_for_url(f"{base}/forms/household/")
    shot("published")
    v2 = current_version(setup["form"])
    assert v2.number == 2 and any(it["key"] == "wechat" for it in v2.definition["sections"][0]["items"])

    # grid worker, on a phone: fill the household form for 2017 under version 2
    login("e2e_grid")
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{base}{setup['hh'].get_absolute_url()}")
    page.click("#surveys-panel a.btn-primary")
    page.wait_for_selector("#fill-form")
    page.goto(page.url + "&period=2017")
    page.wait_for_selector("#fill-form")
    page.fill("input[name='f.wechat']", "huangdashan")
    page.check("input[name='f.dropout'][value='0']")
    page.fill("input[name='f.income_business']", "1500")
    page.wait_for_selector(".sv-item[data-key=cost_business]:not([hidden])")  # shown by its condition
    width = page.evaluate("document.documentElement.scrollWidth")
    shot("fill_phone")
    assert width <= 390, f"the filling page is wider than the phone: {width}px"
    page.click("#submit-form")
    page.wait_for_url("**/forms/responses/**")
    shot("response_phone")
    r2017 = Response.objects.get(period="2017")
    assert r2017.form_version == v2 and r2017.data["wechat"] == "huangdashan"
    assert r2017.household.income_business == 1500  # the bound item updated the registry

    # last year's response still reads under version 1
    page.set_viewport_size({"width": 1366, "height": 860})
    r2016 = Response.objects.get(period="2016")
    page.goto(f"{base}{r2016.get_absolute_url()}")
    assert "1" in page.inner_text("#response-version")
    assert "微信号" not in page.inner_text("main")
    shot("response_2016_v1")
