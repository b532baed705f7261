"""Every kind of detail page (a household, a person's procedure, a work order, a visit's unit, a finding, a linkage
run's review, a form and its response, a job ...), opened in headless Chromium at 360 px by a county office user in
Chinese and in English: HTTP 200, a heading, nothing scrolls sideways, no English word in Chinese (the walk of
tests/e2e/test_role_menus.py) and no Chinese outside the data in English (the walk of tests/test_english_interface.py).

The objects are the ones each app's `fupin/<app>/testing.py: sweep_objects` makes for the scoping sweep (one
village, one grid), so a new capability's detail page is opened here as soon as it registers its objects; the pages
are the `get_absolute_url` of the first object of every model that has one. One county, one browser context per
language, every page opened once per language. The same run opens every role's menu pages (one user per role of
tests/conftest.py USERS, one browser context each) in English at 360 and 1440 px (each page loaded once, laid out
at both widths): no sideways scrolling (the English brand name
once pushed the top bar's buttons out, longer English labels push tables and chips), no Chinese outside the data.
"""

from __future__ import annotations

import importlib
import os
from importlib.util import find_spec

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client

from fupin.accounts.choices import Role
from fupin.core.appconfig import fupin_apps
from fupin.core.testing import make_county_tree, make_household, make_user
from tests.conftest import USERS
from tests.e2e.test_role_menus import SKIP, VISIBLE_TEXT, english_words
from tests.test_english_interface import chinese_outside_data, data_strings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 360
MENU_WIDTHS = (360, 1440)  # the English menu walk: a phone and a desk, like the Chinese walk of test_role_menus
# Models whose get_absolute_url is not a page of its own (a download, or a page the API serves).
NOT_PAGES = {"lifecycle.stepattachment"}  # the attached file itself
SHOWN = {"registry.household", "dispatch.workorder"}  # kept as screenshots in test-artifacts/ for a reader
KINDS_AT_LEAST = 15  # positive control: the sweep's objects gave this many kinds of detail page


@pytest.fixture
def detail_pages(db):
    t = make_county_tree()
    admin = make_user("detail_admin", "city_office", division=t["county"], display_name="李主任")
    worker = make_user("detail_worker", "grid_worker", grid=t["ga1"], division=t["va1"], display_name="周网格")
    make_household(t["va1"], grid=t["ga1"], head="甲村民", members=3, is_registered_poor=True, poor_code="A0001",
                   poverty_status="0", attribute="1", main_cause="1")
    for app in fupin_apps():
        if find_spec(f"{app.name}.testing") is not None:
            module = importlib.import_module(f"{app.name}.testing")
            if hasattr(module, "sweep_objects"):
                module.sweep_objects(village=t["va1"], grid=t["ga1"], actor=admin)
    from fupin.org.models import Department

    t["dept"] = Department.objects.create(code="detail_dept", name="市民政局", short_name="民政")
    users = {Role.CITY_OFFICE: admin, Role.GRID_WORKER: worker}
    for role, (where, name) in USERS.items():
        if role in users:
            continue
        place = t[where]
        kw = {"department": place} if where == "dept" else ({"grid": place, "division": place.village}
                                                              if where.startswith("g") else {"division": place})
        users[role] = make_user(f"detail_{role}", role, display_name=name, **kw)
    pages = {"geo.division": t["va1"].get_absolute_url(), "geo.grid": t["ga1"].get_absolute_url()}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in pages or label in NOT_PAGES or not hasattr(model, "get_absolute_url"):
            continue
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages[label] = first.get_absolute_url()
    return admin, users, pages


def _context(browser, live_server, user, language: str):
    client = Client()
    client.force_login(user)
    ctx = browser.new_context(locale="zh-CN" if language == "zh-hans" else "en-GB",
                              viewport={"width": WIDTH, "height": 800})
    ctx.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url},
                     {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
    return ctx


def _scrolls_sideways(page) -> tuple[int, int] | None:
    wide = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    return (wide[0], wide[1]) if wide[0] > wide[1] else None


def test_every_kind_of_detail_page_at_360px_in_both_languages(live_server, browser, artifacts_dir, detail_pages):
    admin, users, pages = detail_pages
    assert set(users) == set(Role.values)  # every role's menu is walked below
    assert len(pages) >= KINDS_AT_LEAST, sorted(pages)
    failures = []
    for language in ("zh-hans", "en"):
        data = data_strings()
        ctx = _context(browser, live_server, admin, language)
        page = ctx.new_page()
        for kind, href in sorted(pages.items()):
            where = f"{language} {kind} {href}"
            response = page.goto(f"{live_server.url}{href}", wait_until="load")
            if response is None or response.status != 200:
                failures.append(f"{where}: HTTP {response.status if response else '?'}")
                continue
            if page.locator("main h1").count() == 0:
                failures.append(f"{where}: no heading")
            wide = _scrolls_sideways(page)
            if wide:
                failures.append(f"{where}: scrolls sideways ({wide[0]} > {wide[1]})")
                page.screenshot(path=os.path.join(artifacts_dir, f"wide-detail-{language}-{kind}.png"))
            if kind in SHOWN:
                page.screenshot(path=os.path.join(artifacts_dir, f"detail-{language}-{kind}.png"), full_page=True)
            text = page.evaluate(VISIBLE_TEXT, SKIP[language])
            if language == "zh-hans":
                words = english_words(text)
                if words:
                    failures.append(f"{where}: English {words[:12]}")
            else:
                chinese = chinese_outside_data(text, data)
                if chinese:  # the page may have loaded starting content: read the data again
                    data = data_strings()
                    chinese = chinese_outside_data(text, data)
                if chinese:
                    failures.append(f"{where}: Chinese {chinese[:12]}")
        ctx.close()
    # Every role's menu pages in English at 360 and 1440 px (the role-menu walk opens them in Chinese at both widths,
    # and tests/test_english_interface.py reads them in English through the test client, without layout). Each page
    # is loaded once and laid out at both widths (the viewport is resized, the page reflows), so the desk width costs
    # a resize and a read, not a second load.
    menu_pages = 0
    data = data_strings()
    for user in users.values():
        ctx = _context(browser, live_server, user, "en")
        page = ctx.new_page()
        page.goto(f"{live_server.url}/")
        menu = page.eval_on_selector_all(".mainnav a", "els => els.map(a => a.getAttribute('href'))")
        if len(menu) < 3:  # positive control: the walk saw a menu
            failures.append(f"en {user.role}: a menu of {menu}")
        for href in menu:
            page.set_viewport_size({"width": WIDTH, "height": 800})
            response = page.goto(f"{live_server.url}{href}", wait_until="load")
            menu_pages += 1
            if response is None or response.status != 200:
                failures.append(f"en {user.role} menu {href}: HTTP {response.status if response else '?'}")
                continue
            for width in MENU_WIDTHS:
                where = f"en {user.role} {width}px menu {href}"
                if width != WIDTH:
                    page.set_viewport_size({"width": width, "height": 800})
                    if page.evaluate("window.innerWidth") != width:  # positive control: the page was laid out anew
                        failures.append(f"{where}: the viewport stayed at {page.evaluate('window.innerWidth')} px")
                main = page.locator("main").inner_text().strip()
                if page.locator("main h1").count() == 0 or len(main) < 40:
                    failures.append(f"{where}: empty page ({main[:60]!r})")
                wide = _scrolls_sideways(page)
                if wide:
                    failures.append(f"{where}: scrolls sideways ({wide[0]} > {wide[1]})")
                    name = href.strip("/").replace("/", "-") or "home"
                    page.screenshot(path=os.path.join(artifacts_dir, f"wide-menu-en-{user.role}-{width}-{name}.png"))
                chinese = chinese_outside_data(page.evaluate(VISIBLE_TEXT, SKIP["en"]), data)
                if chinese:
                    data = data_strings()
                    chinese = chinese_outside_data(page.evaluate(VISIBLE_TEXT, SKIP["en"]), data)
                if chinese:
                    failures.append(f"{where}: Chinese {chinese[:12]}")
        ctx.close()
    assert menu_pages > 60
    assert failures == [], "\n".join(failures)
