"""Red lights warn the responsible people once, through the inbox and the SMS sender, and close when they clear."""

import datetime as dt

import pytest
from django.test import override_settings

from fupin.assistance import services
from fupin.assistance.sms import MemorySmsSender
from fupin.assistance.tracking import recompute_all
from fupin.core.testing import make_user
from fupin.inbox.models import InboxItem

from .conftest import TODAY

pytestmark = pytest.mark.django_db
MEMORY = {"sms_sender": "fupin.assistance.sms.MemorySmsSender"}


@pytest.fixture
def outbox():
    MemorySmsSender.outbox = []
    with override_settings(FUPIN_ASSISTANCE=MEMORY):
        yield MemorySmsSender.outbox


@pytest.fixture
def people(county, unit, cadre, village_a_user, village_b_user):
    cadre_user = make_user("cadre_wang", "pairing_cadre")
    services.cadre_update(actor="test", cadre=cadre, user=cadre_user)
    unit_head = make_user("unit_head", "dept_handler")
    services.unit_update(actor="test", unit=unit, contact_user=unit_head, phone="07175555555")
    return {"cadre": cadre_user, "unit": unit_head, "village": village_a_user, "other_village": village_b_user}


def test_red_light_posts_once_to_each_responsible_user(hh_a, cadre, people, outbox, frozen, django_capture_on_commit_callbacks):
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY - dt.timedelta(days=10))
    services.record_create(actor="test", household=hh_a, occurred_on=TODAY - dt.timedelta(days=5), content="走访")
    assert not InboxItem.objects.exists()

    frozen.move_to(dt.datetime(2026, 7, 11, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))  # 31 days later
    with django_capture_on_commit_callbacks(execute=True):
        result = recompute_all()
    assert result["newly_red"] == 1
    items = InboxItem.objects.filter(dedupe_key=f"assistance.red.{hh_a.pk}")
    assert {i.user for i in items} == {people["cadre"], people["unit"], people["village"]}
    item = items.first()
    assert item.kind == "warning" and item.done_at is None
    assert "红灯" in item.title
    assert "录入一条帮扶记录" in item.body  # names the action that clears it
    assert item.url == f"/assistance/households/{hh_a.uuid}/"
    assert sorted(p for p, _ in outbox) == ["07175555555", "13900000001"]
    assert "请录入一条帮扶记录" in outbox[0][1]

    # the next nights post nothing again
    frozen.move_to(dt.datetime(2026, 7, 12, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    with django_capture_on_commit_callbacks(execute=True):
        again = recompute_all()
    assert again["newly_red"] == 0
    assert InboxItem.objects.count() == 3
    assert len(outbox) == 2

    # a visit clears the light and closes the warnings
    services.record_create(actor=people["cadre"], household=hh_a, occurred_on=dt.date(2026, 7, 12), content="入户走访")
    assert InboxItem.objects.filter(done_at__isnull=True).count() == 0


def test_red_again_later_posts_a_new_warning(hh_a, cadre, people, frozen):
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY - dt.timedelta(days=40))
    assert InboxItem.objects.filter(user=people["cadre"]).count() == 1
    services.record_create(actor="test", household=hh_a, occurred_on=TODAY, content="走访")
    assert InboxItem.objects.filter(user=people["cadre"], done_at__isnull=True).count() == 0
    frozen.move_to(dt.datetime(2026, 7, 17, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    recompute_all()
    assert InboxItem.objects.filter(user=people["cadre"], done_at__isnull=True).count() == 1
    assert InboxItem.objects.filter(user=people["cadre"]).count() == 2


def test_unpaired_household_warns_the_village(hh_a, people):
    recompute_all()
    items = InboxItem.objects.filter(dedupe_key=f"assistance.red.{hh_a.pk}")
    assert [i.user for i in items] == [people["village"]]
    assert "指定帮扶责任人" in items[0].body
