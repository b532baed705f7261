"""With English chosen, every role's menu pages speak English: no Chinese character shows outside the data (names of
places, people, units and whatever else the database holds) and the few marks a Chinese interface keeps on purpose
(the brand mark 扶, the language switch's 简体中文).

A client walk (no browser): each role's menu is read from its home page, each entry is opened with the language
cookie set to English, and the page's visible text (leaving out scripts, styles, `translate="no"` and `lang="zh…"`
elements) is searched for Chinese once every string stored in the database's data tables is taken out. The positive
control turns one English message Chinese in the loaded catalogue and checks the walk reports it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.test import Client
from django.utils import translation

from fupin.accounts.choices import Role

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
KEPT = {"扶", "简体中文"}  # the brand mark and the language switch's name of Chinese
# Tables whose strings are interface vocabulary, not data: the code lists' built-in labels (core.codeitem: 因病, 户主,
# 汉族 ...) are shown through the catalogue (fupin/registry/codes.py ENGLISH, `CodeTables.shown`), so a page showing
# one in Chinese in English fails. A label a county changed or added stays as the county wrote it.
VOCABULARY: set[str] = {"core.codeitem"}


class _Text(HTMLParser):
    """Visible text of a page and the hrefs of its main navigation."""

    SKIP = {"script", "style", "noscript", "template", "title"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # whether each open element hides its text
        self.text: list[str] = []
        self.nav: list[str] = []
        self.in_nav = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "nav" and "mainnav" in (a.get("class") or "").split():
            self.in_nav = len(self.stack) + 1
        if tag == "a" and self.in_nav and a.get("href"):
            self.nav.append(a["href"])
        if tag in self.VOID:
            return
        hidden = (tag in self.SKIP or a.get("translate") == "no" or (a.get("lang") or "").startswith("zh")
                  or "hidden" in a)
        self.stack.append(hidden or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag):
        if tag in self.VOID or not self.stack:
            return
        self.stack.pop()
        if self.in_nav and len(self.stack) < self.in_nav:
            self.in_nav = 0

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.text.append(data)


def page_text(html: str) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.text), parser.nav


def data_strings() -> list[str]:
    """Every Chinese string stored in a data table, longest first (so 甲一村第1网格 goes before 甲一村)."""
    found: set[str] = set()
    for model in apps.get_models():
        if model._meta.label_lower in VOCABULARY or model._meta.db_table in VOCABULARY:
            continue
        fields = [f.name for f in model._meta.concrete_fields
                  if isinstance(f, models.CharField | models.TextField | models.JSONField)]
        if not fields:
            continue
        for row in model.objects.values_list(*fields):
            found.update(v for v in _leaves(row) if CJK.search(v))
    return sorted(found, key=len, reverse=True)


def _leaves(value) -> list[str]:
    """The strings in a value, a JSON document's keys and leaves included (a department record's fields, a source's
    header synonyms, a rule set's value mappings are the county's data as much as a name column)."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_leaves(k), *_leaves(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _leaves(v)]
    return [str(value)] if value not in (None, "") else []


def chinese_outside_data(text: str, data: list[str]) -> list[str]:
    for value in data:
        if value in text:
            text = text.replace(value, " ")
    return sorted({run for run in CJK.findall(text) if run not in KEPT})


def test_the_check_sees_chinese_outside_data():
    """Positive control for the text check the walk relies on."""
    text, nav = page_text('<nav class="mainnav"><a href="/x/">X</a></nav><p>Village 甲一村 <b>状态</b></p>'
                          '<script>var s = "农户";</script><span translate="no">王县长</span><p lang="zh-Hans">中文</p>')
    assert nav == ["/x/"]
    assert chinese_outside_data(text, ["甲一村"]) == ["状态"]




def _walk(users: dict) -> tuple[list[str], int]:
    data = data_strings()
    failures, pages = [], 0
    for role, user in users.items():
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        client.force_login(user)
        home = client.get("/")
        _text, menu = page_text(home.content.decode())
        if len(menu) < 3:  # the walk saw a menu
            failures.append(f"{role}: a menu of {menu}")
        for href in dict.fromkeys(["/", *menu]):
            response = client.get(href, follow=True)
            pages += 1
            if response.status_code != 200:
                failures.append(f"{role} {href}: HTTP {response.status_code}")
                continue
            text, _nav = page_text(response.content.decode())
            chinese = chinese_outside_data(text, data)
            if chinese:  # a page may have loaded starting content (the exchange's sources): read the data again
                data = data_strings()
                chinese = chinese_outside_data(text, data)
            if chinese:
                failures.append(f"{role} {href}: Chinese {chinese[:12]}")
    return failures, pages


def test_every_menu_page_of_each_role_is_english(county_with_people):
    _t, users = county_with_people
    failures, pages = _walk(users)
    assert pages > 60
    assert failures == [], "\n".join(failures)


def test_the_walk_sees_an_untranslated_message(county_with_people):
    """Positive control: one English menu label turned Chinese in the loaded catalogue is reported."""
    _t, users = county_with_people
    with translation.override("en"):
        catalog = translation.trans_real.translation("en")._catalog._catalogs[0]  # the project's (first) catalogue
    catalog["Households"] = "农户名册"
    try:
        failures, _pages = _walk({Role.CITY_OFFICE: users[Role.CITY_OFFICE]})
    finally:
        del catalog["Households"]
    assert any("农户名册" in f and "/households/" not in f.split(":")[0] for f in failures), failures
