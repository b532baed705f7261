"""The field app in headless Chromium at phone width with the network switched off (Playwright's offline mode):
visits and 民情 recorded offline survive a reload and reach the server exactly once; two phones changing the same
phone number offline end in a conflict the second one sees; a revoked phone cannot sync and loses nothing; a page
killed in the middle of a photo upload resumes it without a duplicate."""

import io
import os
import random

import pytest
from django.test import Client
from PIL import Image

from fupin.accounts.models import AccessToken
from fupin.accounts.services import token_revoke
from fupin.assistance.models import AssistanceRecord, RecordAttachment
from fupin.core.testing import make_county_tree, make_household, make_user
from fupin.dispatch.models import MinqingReport
from fupin.mobile.models import SyncChange, SyncConflict
from fupin.registry.models import Household

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PW = "phone-pass-2016"


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    tree = make_county_tree()
    return {
        "tree": tree,
        "worker": make_user("wk_a", "grid_worker", grid=tree["ga1"], password=PW, display_name="网格员甲"),
        "worker2": make_user("wk_a2", "grid_worker", grid=tree["ga1"], password=PW, display_name="网格员乙"),
        "hh": make_household(tree["va1"], grid=tree["ga1"], head="李大山", phone="13800000001",
                             is_registered_poor=True),
        "hh2": make_household(tree["va1"], grid=tree["ga1"], head="王秀英"),
        "far": make_household(tree["vb1"], grid=tree["gb1"], head="赵建国"),
    }


@pytest.fixture
def phone(browser):
    contexts = []

    def new(**kw):
        # bypass_csp: the test's own page.wait_for_function strings are evaluated by eval, which the app's strict CSP
        # (script-src 'self') refuses; the app itself runs under that CSP in every other browser test
        ctx = browser.new_context(locale="zh-CN", viewport={"width": 360, "height": 740}, service_workers="allow",
                                  bypass_csp=True, **kw)
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.on("dialog", lambda d: d.accept())
        return pg

    yield new
    for ctx in contexts:
        ctx.close()


def _photo(size=(800, 600), noisy=False) -> bytes:
    img = Image.new("RGB", size, "green")
    if noisy:  # noise does not compress: the resized JPEG spans several upload chunks
        rnd = random.Random(7)
        img = Image.frombytes("RGB", size, bytes(rnd.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _sign_in(page, live_server, username, device):
    page.goto(f"{live_server.url}/app/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PW)
    page.fill("input[name=device_name]", device)
    page.click("button[type=submit]")
    page.wait_for_selector("text=李大山")
    page.wait_for_selector("#unsent-count[data-count='0']")
    page.wait_for_function("document.querySelector('.bar .status').textContent.startsWith('已同步')")


def _unsent(page, n):
    page.wait_for_selector(f"#unsent-count[data-count='{n}']", timeout=20_000)


def _open_household(page, name):
    page.click(f".list a:has-text('{name}')")
    page.wait_for_selector("text=记录走访")


def _record_visit(page, text, photo: bytes | None = None):
    page.click("text=记录走访")
    page.fill("textarea[name=content]", text)
    if photo:
        page.set_input_files("input[name=photo]", files=[{"name": "p.png", "mimeType": "image/png", "buffer": photo}])
    page.click("button:has-text('保存到手机')")
    page.wait_for_selector("#local-records")


def test_offline_visits_and_minqing_survive_a_reload_and_arrive_once(live_server, phone, world, artifacts_dir):
    page = phone()
    _sign_in(page, live_server, "wk_a", "甲的手机")
    assert "赵建国" not in page.content()  # another village is not on this phone
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("caches.keys().then(k => k.length > 0)")
    page.screenshot(path=os.path.join(artifacts_dir, "phone-households.png"))

    page.context.set_offline(True)
    page.wait_for_selector(".net.off")
    _open_household(page, "李大山")
    _record_visit(page, "入户走访,了解务工收入", photo=_photo())
    _record_visit(page, "电话回访,落实助学金")
    _record_visit(page, "帮助联系医保报销")
    page.click("text=反映民情")
    page.select_option("select[name=category]", "medical")
    page.fill("textarea[name=content]", "老人看病路远,希望送医上门")
    page.click("button:has-text('保存到手机')")
    _unsent(page, 4)
    page.screenshot(path=os.path.join(artifacts_dir, "phone-household-offline.png"), full_page=True)
    assert AssistanceRecord.objects.count() == 0 and MinqingReport.objects.count() == 0

    page.reload()  # still offline: the service worker serves the shell, IndexedDB keeps the outbox
    page.wait_for_selector("text=李大山")
    _unsent(page, 4)
    page.goto(f"{live_server.url}/app/#/outbox")
    page.wait_for_selector("#outbox-list")
    assert page.locator("#outbox-list li[data-state=saved]").count() == 4
    page.screenshot(path=os.path.join(artifacts_dir, "phone-outbox-offline.png"), full_page=True)

    page.context.set_offline(False)
    _unsent(page, 0)
    page.wait_for_selector("#outbox-list li[data-state=sent] >> nth=3")
    page.click("#sync-now")  # another sync sends nothing again
    page.wait_for_function("document.querySelector('.bar .status').textContent.startsWith('已同步')")
    assert AssistanceRecord.objects.filter(household=world["hh"], source="app").count() == 3
    assert RecordAttachment.objects.count() == 1
    assert MinqingReport.objects.get().content == "老人看病路远,希望送医上门"
    assert SyncChange.objects.filter(status="applied").count() == 4


def test_the_household_form_and_a_birth_offline_survive_a_reload_and_arrive_once(live_server, phone, world):
    from fupin.registry.models import ChangeRequest

    page = phone()
    _sign_in(page, live_server, "wk_a", "甲的手机")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("caches.keys().then(k => k.length > 0)")
    page.context.set_offline(True)
    page.wait_for_selector(".net.off")
    _open_household(page, "李大山")
    page.click("a:has-text('农户信息')")
    page.select_option("select[name=housing_structure]", "2")  # 砖混, from the code list sent with the forms
    page.fill("input[name=housing_area]", "62.5")
    page.select_option("select[name=sanitary_toilet]", "false")
    page.click("button:has-text('保存到手机')")
    page.wait_for_selector("text=记录走访")
    page.click("a:has-text('报告出生死亡迁移')")
    page.select_option("select[name=kind]", "birth")
    page.fill("input[name=name]", "李小宝")
    page.select_option("select[name=sex]", "1")
    page.fill("input[name=relationship]", "之孙子")
    page.set_input_files("input[name=photo]", files=[{"name": "birth.png", "mimeType": "image/png",
                                                      "buffer": _photo((1600, 1200), noisy=True)}])
    page.click("button:has-text('保存到手机')")
    page.wait_for_selector("#local-records")
    _unsent(page, 2)

    page.reload()  # offline: the shell from the service worker, the outbox from IndexedDB
    page.wait_for_selector("text=李大山")
    _unsent(page, 2)
    assert not ChangeRequest.objects.exists() and Household.objects.get(pk=world["hh"].pk).housing_area is None

    page.context.set_offline(False)
    _unsent(page, 0)
    page.click("#sync-now")  # sending again sends nothing twice
    page.wait_for_function("document.querySelector('.bar .status').textContent.startsWith('已同步')")
    hh = Household.objects.get(pk=world["hh"].pk)
    assert (hh.housing_structure, str(hh.housing_area), hh.sanitary_toilet) == ("2", "62.50", False)
    req = ChangeRequest.objects.get()
    assert (req.kind, req.state, req.payload["name"], req.payload["sex"]) == ("birth", "submitted", "李小宝", "1")
    with Image.open(req.evidence.open("rb")) as im:  # (sealed on disk) shrunk on the phone: JPEG, 800 px at most
        assert im.format == "JPEG" and max(im.size) == 800
    change = SyncChange.objects.get(kind="change_request")
    assert change.payload["photo_sizes"][0]["width"] == 1600  # the original's size is kept with the change
    assert SyncChange.objects.filter(status="applied").count() == 2


def test_two_phones_change_the_same_phone_number_and_the_second_sees_a_conflict(live_server, phone, world,
                                                                               artifacts_dir):
    a, b = phone(), phone()
    _sign_in(a, live_server, "wk_a", "甲的手机")
    _sign_in(b, live_server, "wk_a2", "乙的手机")
    for pg, number in ((a, "13911110000"), (b, "13922220000")):
        pg.context.set_offline(True)
        pg.wait_for_selector(".net.off")
        _open_household(pg, "李大山")
        pg.click("a:has-text('农户信息')")
        pg.fill("input[name=phone]", number)
        pg.click("button:has-text('保存到手机')")
        pg.wait_for_selector(f"#hh-phone:has-text('{number}')")  # the phone shows its own value at once
        _unsent(pg, 1)
    a.context.set_offline(False)
    _unsent(a, 0)
    b.context.set_offline(False)
    _unsent(b, 0)
    b.wait_for_selector(".conflict")
    assert "13911110000" in b.locator(".conflict").inner_text() and "13922220000" in b.locator(".conflict").inner_text()
    b.screenshot(path=os.path.join(artifacts_dir, "phone-conflict.png"), full_page=True)
    assert Household.objects.get(pk=world["hh"].pk).phone == "13911110000"
    conflict = SyncConflict.objects.get()
    assert (conflict.theirs, conflict.ours, conflict.status) == ("13911110000", "13922220000", "open")
    # the village team sees the same conflict side by side on its page
    team = make_user("team_a", "village_team", division=world["tree"]["va1"], password=PW)
    staff = phone()
    staff.set_viewport_size({"width": 1366, "height": 700})
    client = Client()
    client.force_login(team)
    staff.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                                "url": live_server.url}])
    staff.goto(f"{live_server.url}/app/conflicts/")
    row = staff.locator("table tbody tr").first.inner_text()
    assert "李大山户" in row and "13911110000" in row and "13922220000" in row and "网格员乙" in row
    assert staff.locator("h1").inner_text() == "同步冲突"
    staff.screenshot(path=os.path.join(artifacts_dir, "conflicts-page.png"))
    b.click(".conflict button:has-text('用本机的')")
    b.wait_for_selector(".conflict", state="detached")
    assert Household.objects.get(pk=world["hh"].pk).phone == "13922220000"


def test_a_revoked_phone_cannot_sync_and_keeps_its_unsent_work(live_server, phone, world):
    page = phone()
    _sign_in(page, live_server, "wk_a", "甲的手机")
    page.context.set_offline(True)
    page.wait_for_selector(".net.off")
    _open_household(page, "王秀英")
    _record_visit(page, "走访后手机丢失")
    _unsent(page, 1)
    token_revoke(actor=world["worker"], token=AccessToken.objects.get(name="甲的手机"), reason="手机丢失")
    page.context.set_offline(False)
    page.wait_for_selector("text=本设备已被吊销")
    _unsent(page, 1)
    assert not AssistanceRecord.objects.exists() and not SyncChange.objects.exists()


def test_a_page_killed_mid_upload_resumes_without_duplicates(live_server, phone, world):
    page = phone()
    _sign_in(page, live_server, "wk_a", "甲的手机")
    page.context.set_offline(True)
    page.wait_for_selector(".net.off")
    _open_household(page, "李大山")
    _record_visit(page, "拍了一张大照片", photo=_photo((1200, 900), noisy=True))
    _unsent(page, 1)
    cut = {"n": 0}

    def lose_second_chunk(route):
        if route.request.method == "PUT" and "offset=0&" not in route.request.url:
            cut["n"] += 1
            route.abort()  # the connection dies after the first chunk arrived
        else:
            route.continue_()

    page.route("**/api/v1/mobile/uploads/**", lose_second_chunk)
    page.context.set_offline(False)
    page.wait_for_function("document.querySelector('.bar .status').textContent.startsWith('同步未完成')")
    assert cut["n"] == 1
    page.close()  # the page is killed
    assert not AssistanceRecord.objects.exists()

    again = page.context.new_page()
    again.goto(f"{live_server.url}/app/")
    again.wait_for_selector("#unsent-count[data-count='0']", timeout=20_000)
    record = AssistanceRecord.objects.get()
    assert record.content == "拍了一张大照片"
    attachment = RecordAttachment.objects.get()
    with Image.open(attachment.file.open("rb")) as im:  # sealed on disk: opened through the storage
        assert max(im.size) == 800  # resized on the phone
    assert SyncChange.objects.count() == 1
