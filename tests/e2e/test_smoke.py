"""Browser smoke test: log in through the form, land on the home page, screenshot it, open the grid network."""

import os

import pytest

from fupin.core.testing import make_county_tree, make_household, make_user
from fupin.inbox.models import InboxItem
from fupin.inbox.services import inbox_post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(db):
    tree = make_county_tree()
    user = make_user("zhangsan", "city_office", division=tree["county"], display_name="张三",
                     password="smoke-pass-2016")
    for head, village, grid, poor in (("李大山", "va1", "ga1", True), ("王秀英", "va1", None, False),
                                      ("赵建国", "vb1", "gb1", True)):
        make_household(tree[village], grid=tree[grid] if grid else None, head=head, is_registered_poor=poor)
    inbox_post(user=user, title="核实比对发现:李大山户名下有车辆登记", kind="verify", url="/geo/")
    return {"tree": tree, "user": user}


def test_login_home_and_grid_network(live_server, page, artifacts_dir, demo):
    page.goto(f"{live_server.url}/geo/")
    assert "/login/" in page.url  # not signed in: sent to the login form
    page.fill("input[name=username]", "zhangsan")
    page.fill("input[name=password]", "smoke-pass-2016")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/geo/")

    page.goto(f"{live_server.url}/")
    page.wait_for_selector(".tree a:has-text('甲镇')")  # the division tree loaded through htmx
    assert page.locator("h1").inner_text().startswith("欢迎您,张三")
    assert page.locator(".stat-value").first.inner_text() == "2"  # two towns
    assert page.title().endswith("扶贫网格化管理平台")
    page.screenshot(path=os.path.join(artifacts_dir, "home.png"), full_page=True)

    page.click(".mainnav a:has-text('网格管理')")
    page.wait_for_url(f"{live_server.url}/geo/")
    assert page.locator("table").first.locator("text=甲一村").count() == 1
    page.screenshot(path=os.path.join(artifacts_dir, "geo.png"), full_page=True)

    # narrowing to a town in the tree keeps the choice on the next page
    page.click(".tree a:has-text('乙镇')")
    page.wait_for_url("**/geo/?division=420581101000")
    assert page.locator(".area-chip").inner_text().startswith("当前范围")
    page.click(".mainnav a:has-text('首页')")
    page.wait_for_url("**/?division=420581101000")
    assert page.locator(".stat-value").nth(3).inner_text() == "1"  # households in town B only

    # the inbox marks an item done in place (htmx POST with the CSRF header)
    page.goto(f"{live_server.url}/inbox/")
    page.click("button:has-text('标记已办')")
    page.wait_for_selector("tr.is-done")
    assert InboxItem.objects.get().done_at is not None

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/")
    box = page.locator(".sidebar").bounding_box()
    assert box["x"] + box["width"] <= 1  # on a phone the navigation is off-canvas until the menu button opens it
    page.click(".nav-toggle")
    page.wait_for_timeout(300)
    assert page.locator(".sidebar").bounding_box()["x"] >= 0
    page.screenshot(path=os.path.join(artifacts_dir, "home-phone.png"))


def test_language_switch_in_the_browser(live_server, page, demo):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "zhangsan")
    page.fill("input[name=password]", "smoke-pass-2016")
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
    page.click("button[name=language][value=en]")
    page.wait_for_selector("text=Welcome, 张三")
    assert "Poverty Alleviation Grid Management Platform" in page.title()
