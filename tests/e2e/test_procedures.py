"""A household goes through identification and later exit in the browser, every step recorded by its proper actor
with its files, dates in the past that respect the notice periods; then its actors and files are visible on the
procedure pages and in the household's history. Screenshots go to the artifacts folder."""

from __future__ import annotations

import datetime as dt
import io
import os
from decimal import Decimal

import pytest
from django.utils import timezone

from fupin.core.testing import make_county_tree, make_household, make_user
from fupin.registry.models import PovertyLine

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-test-12345"


def picture(text: str, colour: str) -> bytes:
    """A small PNG with a caption, so that thumbnails in the screenshots show something."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (320, 220), colour)
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 34)
    except OSError:
        font = ImageFont.load_default()
    draw.rectangle((10, 10, 310, 210), outline="white", width=4)
    draw.text((30, 85), text, fill="white", font=font)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def setup(db):
    county = make_county_tree()
    year = timezone.localdate().year
    for y, amount in ((year - 1, 4000), (year, 4100)):
        PovertyLine.objects.get_or_create(year=y, defaults={"amount": Decimal(amount)})
    users = {
        "village": make_user("e2e_team", "village_team", division=county["va1"], display_name="刘工作队"),
        "town": make_user("e2e_town", "town_staff", division=county["town_a"], display_name="陈镇干部"),
        "county": make_user("e2e_county", "city_office", division=county["county"], display_name="周扶贫办"),
    }
    hh = make_household(county["va1"], grid=county["ga1"], head="黄大山", members=3, income_year=year,
                        income_wages=Decimal(18000))
    return {"county": county, "users": users, "hh": hh}


class Browser:
    def __init__(self, page, live_server, artifacts_dir):
        self.page, self.base, self.dir = page, live_server.url, artifacts_dir
        self.shots = 0

    def login(self, username: str):
        self.page.context.clear_cookies()
        self.page.goto(f"{self.base}/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def go(self, path: str):
        self.page.goto(f"{self.base}{path}")

    def shot(self, name: str):
        self.shots += 1
        self.page.screenshot(path=os.path.join(self.dir, f"procedures_{self.shots:02d}_{name}.png"), full_page=True)

    def record(self, step_label: str, day: dt.date, *, notes: str = "", files: list | None = None,
               checks: list[str] | None = None, selects: dict | None = None, thumbprint=None, shot: str = ""):
        """Fill the next-step form (checking that it is the expected step) and submit it."""
        page = self.page
        heading = page.locator(".next-step .card-title").inner_text()
        assert step_label in heading, f"expected {step_label}, the page shows {heading}"
        page.fill(".step-form input[name=date]", day.isoformat())
        if notes:
            page.fill(".step-form textarea[name=notes]", notes)
        for name in checks or []:
            page.check(f".step-form input[name={name}]")
        for name, value in (selects or {}).items():
            page.select_option(f".step-form select[name={name}]", value)
        if files:
            page.set_input_files(".step-form input[name=documents]", files=files)
        if thumbprint:
            page.set_input_files(".step-form input[name=thumbprint]", files=[thumbprint])
        if shot:
            self.shot(shot)
        page.click(".step-form button[type=submit]")
        page.wait_for_load_state()
        errors = page.locator(".msg-error, .errorlist").all_inner_texts()
        assert not errors, errors
        assert page.locator(".msg-success").count() == 1

    def spot_check(self, day: dt.date, note: str, photo):
        page = self.page
        details = page.locator("details.spot-form")
        if details.get_attribute("open") is None:
            page.click("details.spot-form summary")
        page.fill("details.spot-form input[name=date]", day.isoformat())
        page.fill("details.spot-form textarea[name=notes]", note)
        page.set_input_files("details.spot-form input[name=photos]", files=[photo])
        page.click("details.spot-form button[type=submit]")
        page.wait_for_load_state()
        assert page.locator(".msg-success").count() == 1, page.locator(".msg-error").all_inner_texts()


def png(name: str, text: str, colour: str) -> dict:
    return {"name": name, "mimeType": "image/png", "buffer": picture(text, colour)}


def test_identification_then_exit_in_the_browser(page, live_server, artifacts_dir, setup):
    hh = setup["hh"]
    b = Browser(page, live_server, artifacts_dir)
    d0 = timezone.localdate() - dt.timedelta(days=60)

    def day(n: int) -> dt.date:
        return d0 + dt.timedelta(days=n)

    # Identification ------------------------------------------------------------------------------------------------
    b.login("e2e_team")
    b.go(f"/procedures/start/?kind=identification&household={hh.uuid}")
    page.fill("input[name=date]", day(0).isoformat())
    page.click("form.form-actions button[type=submit]")
    page.wait_for_load_state()
    proc_url = page.url
    b.record("农户申请", day(0), notes="农户提交书面申请", files=[png("申请书.png", "申请书", "#2a5db0")], shot="apply")
    b.record("入户核实", day(1), notes="住房为土坯房,一人长期患病", selects={"attribute": "1", "main_cause": "1"},
             files=[png("入户照片.png", "入户核实", "#1e7b45")])
    b.record("村民代表评议", day(2), notes="参会代表23人,同意21人",
             files=[png("评议会议记录.png", "会议记录", "#7b3294")])
    b.record("第一次公示", day(3), notes="在村务公开栏公示")
    # the town review cannot come before the notice has run five days
    b.login("e2e_town")
    b.go(proc_url.replace(live_server.url, ""))
    b.shot("town_before_spot_check")
    page.fill(".step-form input[name=date]", day(6).isoformat())
    page.click(".step-form button[type=submit]")
    page.wait_for_load_state()
    assert "公示期未满" in page.locator(".step-form .errorlist").first.inner_text()
    b.shot("notice_refused")
    b.spot_check(day(8), "入户抽查,情况属实", png("抽查.png", "乡镇抽查", "#b7791f"))
    b.record("乡镇审核", day(8), notes="审核通过")
    b.record("部门比对", day(9))
    assert page.get_by_text("无比对数据").count() >= 1
    b.record("第二次公示", day(10))
    b.login("e2e_county")
    b.go(proc_url.replace(live_server.url, ""))
    b.spot_check(day(16), "县级抽查,情况属实", png("县抽查.png", "县级抽查", "#c0392b"))
    b.record("县审批", day(16), notes="同意")
    b.record("公告", day(17))
    b.record("建档立卡", day(18), shot="register")
    hh.refresh_from_db()
    assert hh.is_registered_poor and hh.poverty_status == "0" and hh.poor_code
    assert page.locator(".step-log .step-entry").count() == 12  # ten steps and two spot-checks
    b.shot("identification_done")

    # the batch page and its notice list as a PDF
    batch = hh.procedures.get().batch
    b.go(batch.get_absolute_url())
    assert "黄大山" in page.inner_text("main")
    b.shot("batch")
    batch_pdf = page.request.get(f"{live_server.url}/procedures/batches/{batch.uuid}/notice/first_notice.pdf")
    assert batch_pdf.ok and batch_pdf.body().startswith(b"%PDF")

    # Exit ----------------------------------------------------------------------------------------------------------
    b.login("e2e_team")
    b.go(f"/procedures/households/{hh.poor_code}/panel/")
    b.go(f"/procedures/start/?kind=exit&household={hh.poor_code}")
    page.fill("input[name=date]", day(25).isoformat())
    page.click("form.form-actions button[type=submit]")
    page.wait_for_load_state()
    exit_url = page.url
    hh.refresh_from_db()
    assert hh.poverty_status == "2"  # 预脱贫
    b.record("村两委评议", day(25), notes="两委会议同意退出", files=[png("两委会议.png", "两委会议", "#7b3294")])
    b.record("驻村工作队核实", day(26), checks=["food", "clothing", "education", "medical", "housing"],
             notes="人均纯收入6000元,高于贫困线", shot="verification")
    b.record("农户认可", day(27), thumbprint=png("手印.png", "户主手印", "#c0392b"), shot="consent")
    b.record("村内公示", day(28))
    b.login("e2e_town")
    b.go(exit_url.replace(live_server.url, ""))
    b.record("公告", day(35))
    b.record("脱贫销号", day(36))
    hh.refresh_from_db()
    assert hh.poverty_status == "1" and hh.year_exited == day(36).year
    b.shot("exit_done")
    b.go("/procedures/?status=all")
    assert "黄大山" in page.inner_text("main")
    b.shot("pipeline")

    # Visible afterwards: actors and files on the procedure pages and in the household's panel and history -------------
    b.go(proc_url.replace(live_server.url, ""))
    log = page.locator(".step-log").inner_text()
    for name in ("刘工作队", "陈镇干部", "周扶贫办"):
        assert name in log
    for file_name in ("申请书.png", "入户照片.png", "评议会议记录.png", "抽查.png", "县抽查.png"):
        assert file_name in log
    assert page.locator(".step-log img").count() >= 5
    b.go(f"/procedures/households/{hh.poor_code}/panel/")
    panel = page.inner_text("body")
    assert "贫困户识别" in panel and "贫困户退出" in panel and "手印.png" in panel and "刘工作队" in panel
    thumb = page.locator("img[alt*='手印']").first
    assert thumb.evaluate("img => img.naturalWidth") > 0  # the attachment is served and shown inline
    b.shot("household_panel")
    # the household page: the procedures panel and the audit history name the actors and the files
    response = page.goto(f"{live_server.url}{hh.get_absolute_url()}")
    assert response is not None and response.ok
    panel = page.locator("#procedures-panel").inner_text()
    assert "刘工作队" in panel and "陈镇干部" in panel and "手印.png" in panel
    history = page.locator(".history").inner_text()
    for text in ("刘工作队", "陈镇干部", "周扶贫办", "农户认可", "手印.png", "申请书.png"):
        assert text in history, text
    b.shot("household_page")
    card = page.request.get(f"{live_server.url}/procedures/households/{hh.poor_code}/card.pdf")
    assert card.ok and card.body().startswith(b"%PDF")
