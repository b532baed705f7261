"""Posting and closing many items at once (the comparison's verification tasks): the same outcome as one by one."""

import pytest

from fupin.core.testing import make_user
from fupin.inbox.models import InboxItem
from fupin.inbox.services import inbox_close_by_keys, inbox_post, inbox_post_many

pytestmark = pytest.mark.django_db


def test_post_many_dedupes_like_post_and_close_by_keys_closes_them(county):
    a = make_user("bulk_a", "village_team", division=county["va1"])
    b = make_user("bulk_b", "village_team", division=county["va1"])
    inbox_post(user=a, title="已有", dedupe_key="finding:1")  # already open for a
    posted = inbox_post_many([
        {"user_id": a.pk, "kind": "verify", "title": "一", "dedupe_key": "finding:1", "area_code": "420581"},
        {"user_id": b.pk, "kind": "verify", "title": "一", "dedupe_key": "finding:1", "area_code": "420581"},
        {"user_id": b.pk, "kind": "verify", "title": "一(重复)", "dedupe_key": "finding:1"},
        {"user_id": a.pk, "kind": "verify", "title": "二" * 300, "dedupe_key": "finding:2", "url": "/x/"},
        {"user_id": a.pk, "title": "无键"},
    ])
    assert posted == 3
    assert InboxItem.objects.filter(user=a, dedupe_key="finding:1").count() == 1
    assert InboxItem.objects.filter(user=b, dedupe_key="finding:1").count() == 1
    two = InboxItem.objects.get(dedupe_key="finding:2")
    assert (two.kind, len(two.title), two.url) == ("verify", 200, "/x/")
    assert inbox_close_by_keys(dedupe_keys=["finding:1", "finding:1"]) == 2
    assert not InboxItem.objects.filter(dedupe_key="finding:1", done_at__isnull=True).exists()
    assert InboxItem.objects.filter(dedupe_key="finding:2", done_at__isnull=True).exists()
