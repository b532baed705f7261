"""The interop pages and API: county staff manage subscriptions; others are refused; every list is scoped; phone
numbers and ID numbers are masked; the national export streams; the command line lists, adds and tests."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from django.core.management import call_command

from fupin.core.testing import make_household, make_user
from fupin.interop import delivery
from fupin.interop.choices import DeliveryStatus
from fupin.interop.models import Delivery, Subscription
from fupin.interop.receiver import WebhookReceiver
from fupin.interop.services import subscription_create
from fupin.interop.sms import queue_sms

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(county):
    office = make_user("county_office", "city_office", division=county["county"])
    town = make_user("town_a", "town_staff", division=county["town_a"])
    hh = make_household(county["va1"], grid=county["ga1"], head="王大", members=2, is_registered_poor=True,
                        poor_code="420581100201000001", poverty_status="0")
    make_household(county["vb1"], grid=county["gb1"], head="乙秘密", members=2, is_registered_poor=True,
                   poor_code="420581200201000002", poverty_status="0")
    return {"office": office, "town": town, "hh": hh, "county": county}


def test_county_staff_create_a_subscription_and_see_its_log(client, people):
    client.force_login(people["office"])
    r = client.post("/interop/webhooks/", {"name": "县政务平台", "url": "http://127.0.0.1:9/hook",
                                           "event_types": ["household.changed", "light.changed"]})
    sub = Subscription.objects.get()
    assert r.status_code == 302 and r["Location"] == sub.get_absolute_url()
    assert sub.area_prefix == people["county"]["county"].prefix and sub.created_by == people["office"]
    assert sub.event_types == ["household.changed", "light.changed"] and len(sub.secret) >= 32
    page = client.get(sub.get_absolute_url())
    assert page.status_code == 200 and "县政务平台" in page.content.decode()
    assert sub.secret not in page.content.decode()  # shown only on request
    assert sub.secret in client.get(sub.get_absolute_url() + "?secret=1").content.decode()
    # a bad URL is refused with a message, nothing saved
    r = client.post("/interop/webhooks/", {"name": "坏的", "url": "ftp://x", "event_types": ["household.changed"]})
    assert Subscription.objects.count() == 1


def test_others_may_not_manage_webhooks(client, people):
    sub = subscription_create(actor=people["office"], name="平台", url="http://127.0.0.1:9/",
                              event_types=["household.changed"], area_prefix="420581")
    client.force_login(people["town"])
    assert client.get("/interop/webhooks/").status_code == 403
    assert client.get(sub.get_absolute_url()).status_code == 403
    assert client.post(f"/interop/webhooks/{sub.uuid}/action/", {"action": "rotate"}).status_code == 403
    assert client.get("/api/v1/interop/webhooks").status_code == 403
    assert client.get("/interop/").status_code == 200  # the town may use the national export and the SMS log
    grid = make_user("grid_a", "grid_worker", grid=people["county"]["ga1"])
    client.force_login(grid)
    assert client.get("/interop/").status_code == 403


def test_test_event_and_resend_by_hand(client, people):
    client.force_login(people["office"])
    with WebhookReceiver("s3cret") as rx:
        sub = subscription_create(actor=people["office"], name="平台", url=rx.url, event_types=["household.changed"],
                                  area_prefix="420581", secret="s3cret")
        client.post(f"/interop/webhooks/{sub.uuid}/action/", {"action": "test"})
        delivery.deliver_pass()
        d = Delivery.objects.get()
        assert d.status == DeliveryStatus.DELIVERED and rx.requests[0]["payload"]["type"] == "ping"
        r = client.post(f"/interop/deliveries/{d.pk}/resend/")
        assert r.status_code == 302
        delivery.deliver_pass()
    assert len(rx.requests) == 2 and len(rx.seen) == 1  # the same event id twice: the receiver deduplicates
    assert Delivery.objects.get().attempts == 2
    assert "测试" in client.get(sub.get_absolute_url()).content.decode()


def test_sms_log_is_scoped_and_masks_phones(client, people):
    county = people["county"]
    queue_sms(phone="13912345678", purpose="test", params={"text": "甲村消息"}, area_code=county["va1"].code)
    queue_sms(phone="13987654321", purpose="test", params={"text": "乙村消息"}, area_code=county["vb1"].code)
    client.force_login(people["town"])
    body = client.get("/interop/sms/").content.decode()
    assert "甲村消息" in body and "乙村消息" not in body
    assert "139****5678" in body and "13912345678" not in body


def test_national_export_streams_the_chosen_households(client, people):
    client.force_login(people["town"])
    r = client.get("/interop/national/export.xlsx")
    assert r.status_code == 200 and r.streaming
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True)
    rows = list(wb["户信息"].iter_rows(values_only=True))[1:]
    assert [row[0] for row in rows] == ["420581100201000001"]  # the town's only; village B is not its
    # a household number outside the jurisdiction is named, not silently left out
    r = client.get("/interop/national/export.xlsx", {"codes": "420581200201000002"})
    assert r.status_code == 302
    r = client.get("/interop/national/export.xlsx", {"status": ["1"]})
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True)
    assert list(wb["户信息"].iter_rows(values_only=True))[1:] == []


def test_national_page_and_adjustment_flow(client, people):
    reviewer = make_user("county_office2", "city_office", division=people["county"]["county"])
    client.force_login(people["office"])
    assert client.get("/interop/national/").status_code == 200
    r = client.post("/interop/national/adjustments/", {"year": "2016"})
    assert r.status_code == 302
    page = client.get(r["Location"])
    assert page.status_code == 200 and "420581100201000001" in page.content.decode()
    changes = client.get(r["Location"] + "changes.xlsx")
    assert changes.status_code == 200
    client.force_login(reviewer)
    client.post(r["Location"], {"action": "review"})
    client.post(r["Location"], {"action": "submit"})
    from fupin.interop.models import Submission

    assert Submission.objects.get().status == "submitted"
    r = client.post("/interop/national/adjustments/", {"year": "abc"})
    assert r.status_code == 302 and Submission.objects.count() == 1


def test_api_lists_event_types(client, people):
    client.force_login(people["town"])
    data = client.get("/api/v1/interop/event-types").json()
    assert {"code": "household.changed", "label": "户信息变更"} in data or any(
        d["code"] == "household.changed" for d in data)


def test_webhooks_command_adds_lists_and_tests(people, capsys):
    with WebhookReceiver("cli-secret") as rx:
        call_command("webhooks", "add", "--name", "命令行", "--url", rx.url, "--events", "household.changed",
                     "--secret", "cli-secret")
        added = json.loads(capsys.readouterr().out)
        assert added["secret"] == "cli-secret"
        call_command("webhooks", "list")
        listed = json.loads(capsys.readouterr().out.splitlines()[0])
        assert listed["name"] == "命令行" and listed["events"] == ["household.changed"]
        call_command("webhooks", "test", "命令行")
        assert json.loads(capsys.readouterr().out)["status"] == "delivered"
    assert rx.requests[0]["valid"]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("webhooks", "add", "--name", "x", "--url", "http://127.0.0.1:9/", "--events", "no.such")


def test_stats_count_failed_deliveries_and_sent_messages(people):
    from io import StringIO

    from fupin.interop import sms

    sub = subscription_create(actor=people["office"], name="平台", url="http://127.0.0.1:9/",
                              event_types=["household.changed"], area_prefix="420581")
    from fupin.registry.services import household_update

    household_update(actor=people["office"], household=people["hh"], phone="13800000099")
    delivery.deliver_pass()  # nothing listens: retrying
    # at noon: a run after 22:00 local time fell in the quiet hours and sent nothing
    from django.utils import timezone

    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    queue_sms(phone="13900000001", purpose="test", params={"text": "测试"}, now=noon)
    queue_sms(phone="13900000002", purpose="test", params={"text": "测试"}, now=noon)
    sms.send_pass(now=noon)  # the log gateway: both sent
    out = StringIO()
    call_command("stats", "--json", stdout=out)
    stats = json.loads(out.getvalue())
    assert stats["webhook_deliveries_failed"] == 1 == Delivery.objects.filter(subscription=sub,
                                                                             status="retrying").count()
    assert stats["sms_sent"] == 2 and stats["webhook_subscriptions"] == 1
