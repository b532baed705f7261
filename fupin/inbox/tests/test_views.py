"""The inbox page: own items only, open first by due date, overdue highlighted, marked done with htmx."""

import datetime as dt

import pytest
from django.utils import timezone

from fupin.core.models import AuditEvent
from fupin.core.testing import make_user
from fupin.inbox.models import InboxItem
from fupin.inbox.services import inbox_done, inbox_post


@pytest.fixture
def me(county):
    return make_user("me", "village_team", division=county["va1"])


@pytest.mark.django_db
def test_own_items_open_first_by_due_date(client, county, me):
    today = timezone.localdate()
    other = make_user("other", "village_team", division=county["va1"])
    inbox_post(user=other, title="别人的待办")
    later = inbox_post(user=me, title="下周的核实", kind="verify", due_date=today + dt.timedelta(days=7))
    overdue = inbox_post(user=me, title="超期的工单", kind="work_order", due_date=today - dt.timedelta(days=1),
                         url="/geo/")
    undated = inbox_post(user=me, title="一般通知")
    done = inbox_post(user=me, title="已办的事")
    inbox_done(actor=me, item=done)
    client.force_login(me)
    response = client.get("/inbox/")
    items = list(response.context["page_obj"])
    assert items == [overdue, later, undated]
    body = response.content.decode()
    assert "别人的待办" not in body and "已办的事" not in body
    assert f'id="item-{overdue.pk}" class="overdue"' in body and "已超期" in body
    assert 'href="/geo/"' in body
    assert list(client.get("/inbox/", {"state": "all"}).context["page_obj"]) == [overdue, later, undated, done]
    assert list(client.get("/inbox/", {"state": "done"}).context["page_obj"]) == [done]


@pytest.mark.django_db
def test_mark_done_with_htmx(client, me):
    item = inbox_post(user=me, title="核实张三户")
    client.force_login(me)
    response = client.post(f"/inbox/{item.pk}/done/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="item-{item.pk}" class="is-done"')
    assert "已完成" in body
    item.refresh_from_db()
    assert item.done_at is not None
    assert AuditEvent.objects.filter(action="inbox.done", object_id=str(item.pk), actor=me).count() == 1
    # without htmx: back to the list
    other = inbox_post(user=me, title="另一件")
    assert client.post(f"/inbox/{other.pk}/done/")["Location"] == "/inbox/"


@pytest.mark.django_db
def test_cannot_touch_someone_elses_item(client, county, me):
    theirs = inbox_post(user=make_user("other", "village_team", division=county["va1"]), title="别人的")
    client.force_login(me)
    assert client.post(f"/inbox/{theirs.pk}/done/").status_code == 404
    assert client.get(f"/inbox/{theirs.pk}/done/").status_code == 405
    theirs.refresh_from_db()
    assert theirs.done_at is None


@pytest.mark.django_db
def test_nav_badge_counts_open_items(client, me):
    inbox_post(user=me, title="一")
    inbox_post(user=me, title="二")
    client.force_login(me)
    nav = client.get("/").context["nav"]
    assert next(n for n in nav if n["url"] == "/inbox/")["badge"] == 2


@pytest.mark.django_db
def test_inbox_query_budget(client, me, django_assert_max_num_queries):
    for i in range(40):
        inbox_post(user=me, title=f"事项{i}")
    client.force_login(me)
    with django_assert_max_num_queries(10):
        assert client.get("/inbox/").status_code == 200
    assert InboxItem.objects.count() == 40
