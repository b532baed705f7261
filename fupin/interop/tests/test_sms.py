"""The SMS gateway adapter against the local fake gateway: templates, retries, daily limits, quiet hours, delivery
reports; red lights and overdue work orders reach a phone whether or not its owner has an account."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone

from fupin.core.testing import make_household, make_user
from fupin.interop import sms
from fupin.interop.choices import SmsStatus
from fupin.interop.models import SmsMessage
from fupin.interop.receiver import FakeSmsGateway

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOON = dt.datetime(2026, 6, 15, 12, 0, tzinfo=SH)


def _cfg(url, **kw):
    # shaped like a relay in front of 阿里云 SendSms: phone, sign, template code, template parameters as JSON text
    cfg = {"gateway": "http", "url": url, "sign_name": "宜都扶贫",
           "body": {"PhoneNumbers": "{phone}", "SignName": "{sign_name}", "TemplateCode": "{template_id}",
                    "TemplateParam": "{params_json}", "OutId": "{message_id}"},
           "headers": {"X-Api-Key": "k-123"},
           "success_field": "code", "success_value": "OK", "message_id_field": "msgid",
           "templates": {"red_light": {"id": "SMS_0001", "params": ["cadre", "household", "problems"]}},
           "quiet_hours": ["22:00", "07:30"], "daily_limit": 3, "max_attempts": 3, "retry_seconds": 60}
    cfg.update(kw)
    return override_settings(FUPIN_INTEROP={"sms": cfg})


PARAMS = {"cadre": "王干部", "household": "甲一村张甲户", "problems": "超过30天无帮扶记录"}


def test_template_and_parameters_reach_the_gateway_and_a_report_marks_delivery():
    with FakeSmsGateway() as gw, _cfg(gw.url):
        msg = sms.queue_sms(phone="+86 139-0000-0001", purpose="red_light", params=PARAMS, text="红灯", now=NOON)
        assert msg.phone == "13900000001" and msg.status == SmsStatus.QUEUED
        assert sms.send_pass(now=NOON) == {"sent": 1}
    body = gw.received[0]["body"]
    assert body["PhoneNumbers"] == "13900000001" and body["TemplateCode"] == "SMS_0001"
    assert body["SignName"] == "宜都扶贫" and body["OutId"] == str(msg.uuid)
    import json

    assert json.loads(body["TemplateParam"]) == PARAMS
    assert gw.received[0]["headers"]["X-Api-Key"] == "k-123"
    msg.refresh_from_db()
    assert msg.status == SmsStatus.SENT and msg.provider_id == "fake-1" and msg.attempts == 1
    assert sms.sms_receipt(provider_id="fake-1", delivered=True) == 1
    msg.refresh_from_db()
    assert msg.status == SmsStatus.DELIVERED and msg.delivered_at is not None


def test_a_gateway_failure_is_retried_and_a_refusal_is_not():
    with FakeSmsGateway() as gw, _cfg(gw.url):
        gw.fail(1)
        a = sms.queue_sms(phone="13900000001", purpose="red_light", params=PARAMS, now=NOON)
        assert sms.send_pass(now=NOON) == {"retrying": 1}
        a.refresh_from_db()
        assert a.error == "HTTP 500" and a.next_attempt_at == NOON + dt.timedelta(seconds=60)
        assert sms.send_pass(now=NOON + dt.timedelta(seconds=30)) == {}
        assert sms.send_pass(now=NOON + dt.timedelta(seconds=61)) == {"sent": 1}
        gw.refuse(1)
        b = sms.queue_sms(phone="13900000002", purpose="red_light", params=PARAMS, now=NOON)
        assert sms.send_pass(now=NOON + dt.timedelta(seconds=62)) == {"failed": 1}
        b.refresh_from_db()
        assert b.status == SmsStatus.FAILED and b.attempts == 1 and "MOBILE_NUMBER_ILLEGAL" in b.error
    with _cfg("http://127.0.0.1:9/"):  # nothing listens: every attempt fails, the last one gives up
        c = sms.queue_sms(phone="13900000003", purpose="red_light", params=PARAMS, now=NOON)
        for minutes in (0, 2, 5):
            sms.send_pass(now=NOON + dt.timedelta(minutes=minutes))
        c.refresh_from_db()
        assert c.status == SmsStatus.FAILED and c.attempts == 3


def test_daily_limit_per_phone():
    with FakeSmsGateway() as gw, _cfg(gw.url):
        made = [sms.queue_sms(phone="13900000001", purpose="red_light", params=PARAMS, now=NOON + dt.timedelta(
            minutes=i)) for i in range(4)]
        other = sms.queue_sms(phone="13900000009", purpose="red_light", params=PARAMS, now=NOON)
        assert [m.status for m in made] == [SmsStatus.QUEUED] * 3 + [SmsStatus.LIMITED]
        assert other.status == SmsStatus.QUEUED
        sms.send_pass(now=NOON + dt.timedelta(minutes=5))
        tomorrow = sms.queue_sms(phone="13900000001", purpose="red_light", params=PARAMS,
                                 now=NOON + dt.timedelta(days=1))
    assert len(gw.received) == 4
    assert tomorrow.status == SmsStatus.QUEUED
    assert SmsMessage.objects.get(pk=made[3].pk).status == SmsStatus.LIMITED  # logged, never sent


def test_quiet_hours_hold_messages_until_morning():
    late = dt.datetime(2026, 6, 15, 23, 10, tzinfo=SH)
    with FakeSmsGateway() as gw, _cfg(gw.url):
        msg = sms.queue_sms(phone="13900000001", purpose="red_light", params=PARAMS, now=late)
        assert msg.status == SmsStatus.HELD
        assert msg.next_attempt_at == dt.datetime(2026, 6, 16, 7, 30, tzinfo=SH)
        assert sms.send_pass(now=late + dt.timedelta(hours=2)) == {}
        assert sms.send_pass(now=dt.datetime(2026, 6, 16, 7, 31, tzinfo=SH)) == {"sent": 1}
    assert len(gw.received) == 1
    assert sms.quiet_until(dt.datetime(2026, 6, 16, 6, 0, tzinfo=SH)) == dt.datetime(2026, 6, 16, 7, 30, tzinfo=SH)
    assert sms.quiet_until(dt.datetime(2026, 6, 16, 21, 59, tzinfo=SH)) is None


def test_bad_numbers_and_duplicates_are_not_queued():
    with _cfg("http://127.0.0.1:9/"):
        assert sms.queue_sms(phone="07175555555", purpose="red_light", params=PARAMS, now=NOON) is None
        assert sms.queue_sms(phone="", purpose="red_light", params=PARAMS, now=NOON) is None
        assert sms.queue_sms(phone="13900000001", purpose="red_light", params=PARAMS, dedupe_key="k", now=NOON)
        assert sms.queue_sms(phone="13900000001", purpose="red_light", params=PARAMS, dedupe_key="k", now=NOON) \
            is None
    assert SmsMessage.objects.count() == 1


def test_unconfigured_http_gateway_fails_without_retrying():
    with _cfg(""):
        msg = sms.queue_sms(phone="13900000001", purpose="red_light", params=PARAMS, now=NOON)
        sms.send_pass(now=NOON)
    msg.refresh_from_db()
    assert msg.status == SmsStatus.FAILED and "not configured" in msg.error


def test_a_red_light_reaches_a_cadre_without_an_account(county, django_capture_on_commit_callbacks):
    import time_machine

    from fupin.assistance import services
    from fupin.assistance.tracking import recompute_all

    with time_machine.travel(NOON, tick=False), FakeSmsGateway() as gw, _cfg(gw.url, quiet_hours=[]):
        unit = services.unit_create(actor="test", name="市交通局", kind="department")
        cadre = services.cadre_create(actor="test", name="刘干部", unit=unit, phone="13900000077")
        assert cadre.user_id is None
        hh = make_household(county["va1"], grid=county["ga1"], head="陈户", is_registered_poor=True,
                            poverty_status="0", main_cause="1")
        with django_capture_on_commit_callbacks(execute=True):
            services.pairing_assign(actor="test", household=hh, cadre=cadre,
                                    start=NOON.date() - dt.timedelta(days=40))
            recompute_all()
        msg = SmsMessage.objects.get(phone="13900000077")
        assert msg.purpose == "red_light" and msg.params["cadre"] == "刘干部" and "陈户" in msg.params["household"]
        assert msg.status == SmsStatus.SENT  # the task ran on commit (the immediate backend)
    assert gw.received[0]["body"]["TemplateCode"] == "SMS_0001"


def test_an_overdue_work_order_reaches_the_department_head_phone(county):
    from fupin.dispatch import services as dispatch
    from fupin.dispatch.testing import ensure_department
    from fupin.org.models import Department

    head = make_user("dept_head", "dept_handler", phone="13900000088")
    department = ensure_department()
    Department.objects.filter(pk=department.pk).update(head=head)
    department.refresh_from_db()
    hh = make_household(county["va1"], grid=county["ga1"], head="工单户")
    dispatch.dispatch_setup_defaults(actor="test")
    with _cfg("http://127.0.0.1:9/", quiet_hours=[]):
        order = dispatch.work_order_create(actor="test", household=hh, title="危房改造", order_type="other",
                                           department=department)
        later = order.accept_due_at + dt.timedelta(hours=1)
        dispatch.escalate_overdue(now=later)
        msg = SmsMessage.objects.get(phone="13900000088")
        assert msg.purpose == "work_order_overdue" and order.number in msg.text
        dispatch.escalate_overdue(now=later)  # nothing new the second time
        assert SmsMessage.objects.filter(phone="13900000088").count() == 1
        far = order.accept_due_at + dt.timedelta(days=order.order_type.escalate_days + 1)
        dispatch.escalate_overdue(now=far)
        assert SmsMessage.objects.filter(phone="13900000088", purpose="work_order_escalated").count() == 1
    assert timezone.now()
