"""In the browser: import a roster from the web (progress, report), search, open a household, record a birth."""

import os

import pytest

from fupin.core.testing import make_county_tree, make_user
from fupin.registry.models import Household, Person
from fupin.registry.testdata import roster_rows, write_csv, write_xlsx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PLACES = [("甲镇", "甲一村", "420581100201"), ("甲镇", "甲二村", "420581100202"), ("乙镇", "乙一村", "420581101201")]


def test_import_search_household_page_and_birth(live_server, page, artifacts_dir, tmp_path):
    make_county_tree()
    from fupin.geo.models import Division

    make_user("xianban", "city_office", division=Division.objects.get(code="420581000000"), display_name="县扶贫办",
              password="registry-pass-2016")
    rows = roster_rows(PLACES, households=20, seed=3)
    good = write_xlsx(tmp_path / "宜都市花名册.xlsx", rows, title="宜都市建档立卡贫困人口花名册", merge=True)
    rows_bad = [dict(r) for r in rows]
    rows_bad[4]["行政村"] = "不存在村"
    bad = write_csv(tmp_path / "损坏的花名册.csv", rows_bad, encoding="gbk")

    page.goto(f"{live_server.url}/households/import/")
    page.fill("input[name=username]", "xianban")
    page.fill("input[name=password]", "registry-pass-2016")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/households/import/")

    # a damaged file: refused with the row-by-row report, nothing written
    page.set_input_files("input[name=file]", str(bad))
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#refused")
    assert page.locator("#report").inner_text().count("不存在村") == 1
    page.screenshot(path=os.path.join(artifacts_dir, "registry-import-refused.png"), full_page=True)
    assert not Household.objects.exists()

    # the real file: title row and merged household cells
    page.goto(f"{live_server.url}/households/import/")
    page.set_input_files("input[name=file]", str(good))
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#imported")
    page.screenshot(path=os.path.join(artifacts_dir, "registry-import-done.png"), full_page=True)
    assert Household.objects.count() == 20 and Person.objects.count() == len(rows)

    # search by the last digits of an ID number
    target = rows[0]
    page.goto(f"{live_server.url}/households/")
    page.fill("input[name=q]", target["证件号码"][-6:])
    page.click(".filters button[type=submit]")
    page.wait_for_selector(f"#households a:has-text('{target['户编号']}')")
    page.screenshot(path=os.path.join(artifacts_dir, "registry-list-search.png"), full_page=True)

    page.click(f"#households a:has-text('{target['户编号']}')")
    page.wait_for_url(f"**/households/{target['户编号']}/")
    assert target["姓名"] in page.locator("#members").inner_text()
    page.screenshot(path=os.path.join(artifacts_dir, "registry-household.png"), full_page=True)

    # record a birth: the form shows the new member's fields for this kind of change
    page.click(f"a[href='/households/{target['户编号']}/change/']")
    page.select_option("select[name=kind]", "birth")
    page.fill("input[name=name]", "新生儿")
    page.select_option("select[name=relationship]", "之孙子")
    page.fill("input[name=date]", "2016-05-01")
    page.screenshot(path=os.path.join(artifacts_dir, "registry-change-form.png"), full_page=True)
    page.click("form.card button[type=submit]")
    page.wait_for_url(f"**/households/{target['户编号']}/")
    assert "新生儿" in page.locator("#members").inner_text()
    assert "出生" in page.locator("#changes").inner_text()
    page.screenshot(path=os.path.join(artifacts_dir, "registry-household-after-birth.png"), full_page=True)
