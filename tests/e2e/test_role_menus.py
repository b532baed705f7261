"""Every role's menu, walked in headless Chromium at 360 px (a phone) and 1440 px (a desk): each entry opens a page
with content (HTTP 200, a heading and text), nothing scrolls sideways, and no English word shows outside the proper
names and abbreviations a Chinese user reads as they are (API, ID, PDF, xlsx, GPS ...)."""

import os
import re

import pytest
from django.test import Client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (360, 1440)
# Read as they are in a Chinese interface: abbreviations, formats, and the names in the map's attribution.
ALLOWED = {"API", "ID", "PDF", "xlsx", "XLSX", "xls", "csv", "CSV", "GPS", "Excel", "GeoJSON", "JSON", "URL", "QR",
           "SMS", "TOTP", "OK", "CC", "BY", "Vonng", "adcode", "Leaflet", "OpenStreetMap", "OSM", "km", "WGS",
           "GCJ", "App", "HTTPS", "PNG", "JPG", "png", "jpg", "jpeg", "Fupin", "CPU", "IP", "Android", "iOS", "Wi-Fi", "WiFi", "PWA", "m", "GBK",
           "test"}  # "m": the map's scale bar; "test": the name the fixtures' services record as the actor
# Visible text, leaving out what is shown as a code on purpose (code, pre, kbd, samp), what is marked as another
# language (the "English" switch) or not to be translated (user names) and the map's tiles.
VISIBLE_TEXT = """(skip) => {
  const out = [];
  const walk = (node) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) { out.push(child.textContent); continue; }
      if (child.nodeType !== Node.ELEMENT_NODE || child.matches(skip)) continue;
      const style = getComputedStyle(child);
      if (style.display === "none" || style.visibility === "hidden") continue;
      walk(child);
    }
  };
  walk(document.body);
  return out.join(" ");
}"""
# What the walk leaves out per language: in English the Chinese-marked elements (the language switch's 简体中文)
# instead of the English-marked ones.
SKIP = {"zh-hans": "script,style,noscript,code,pre,kbd,samp,[lang=en],[translate=no],.leaflet-tile-pane,template",
        "en": "script,style,noscript,code,pre,kbd,samp,[lang^=zh],[translate=no],.leaflet-tile-pane,template"}


def english_words(text: str) -> list[str]:
    text = re.sub(r"https?://\S+", " ", text)  # addresses (a webhook's target) are names, read as they are
    # ID numbers, full or masked, end in a check character X (not the digits of a code such as R420581…)
    text = re.sub(r"(?<![A-Za-z\d])[\d*＊]{14,17}[\dXx](?![A-Za-z\d])", " ", text)
    words = re.findall(r"[A-Za-z][A-Za-z0-9_.'’-]*", text)
    return sorted({w.rstrip(".") for w in words
                   if not re.search(r"\d", w) and not re.search(r"\.(xlsx|xls|csv|pdf|json|geojson)$", w, re.I)
                   and w.rstrip(".") not in ALLOWED})


def test_the_english_check_sees_english():
    """Positive control for the word check the walk relies on."""
    assert english_words("状态 open · 规则 income_above_line") == ["income_above_line", "open"]
    assert english_words("导出xlsx · GD2016010100001 · 花名册.xlsx · 身份证号 ID") == []
    assert english_words("身份证号 420581********123X · 42058119800101123X") == []
    assert english_words("户编号 R42058110020102011 · 照片.png · http://127.0.0.1:9/") == []  # a code, a file, a URL




def _menu(page) -> list[str]:
    return page.eval_on_selector_all(".mainnav a", "els => els.map(a => a.getAttribute('href'))")


def test_every_menu_item_of_each_role(live_server, browser, artifacts_dir, county_with_people):
    _t, users = county_with_people
    failures = []
    for role, user in users.items():
        failures += _walk(live_server, browser, artifacts_dir, role, user)
    assert failures == [], "\n".join(failures)


def _walk(live_server, browser, artifacts_dir, role, user) -> list[str]:
    client = Client()
    client.force_login(user)
    failures = []
    menus = {}
    for width in WIDTHS:
        ctx = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 800})
        ctx.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
        page = ctx.new_page()
        page.goto(f"{live_server.url}/")
        menu = _menu(page)
        menus[width] = menu
        for href in menu:
            response = page.goto(f"{live_server.url}{href}", wait_until="load")
            where = f"{role} {width}px {href}"
            if response is None or response.status != 200:
                failures.append(f"{where}: HTTP {response.status if response else '?'}")
                continue
            main = page.locator("main").inner_text().strip()
            if page.locator("main h1").count() == 0 or len(main) < 40:
                failures.append(f"{where}: empty page ({main[:60]!r})")
            wide = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            if wide[0] > wide[1]:
                failures.append(f"{where}: scrolls sideways ({wide[0]} > {wide[1]})")
                name = href.strip("/").replace("/", "-") or "home"
                page.screenshot(path=os.path.join(artifacts_dir, f"wide-{role}-{width}-{name}.png"))
            words = english_words(page.evaluate(VISIBLE_TEXT, SKIP["zh-hans"]))
            if words:
                failures.append(f"{where}: English {words[:12]}")
        ctx.close()
    if menus[360] != menus[1440]:
        failures.append(f"{role}: the menu differs between widths")
    if len(menus[360]) < 3:  # positive control: the walk saw a menu
        failures.append(f"{role}: a menu of {menus[360]}")
    return failures
