"""The template tags other apps rely on: idmask, the audit history partial, status badges."""

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from fupin.core import audit
from fupin.core.testing import make_id, make_user
from fupin.geo.services import grid_assign_post
from fupin.web.templatetags.fupin import action_label, audit_changes, idmask


class _Viewer:
    def __init__(self, full: bool):
        self.may_view_full_id = full


def test_idmask_masks_unless_the_user_may_see_full_ids():
    number = make_id()
    assert idmask(number, _Viewer(True)) == number
    masked = idmask(number, _Viewer(False))
    assert masked == number[:6] + "*" * 8 + number[-4:]
    assert idmask(number, None) == masked
    assert idmask("", _Viewer(True)) == ""


@pytest.mark.django_db
def test_idmask_in_a_template_follows_the_role(county):
    number = make_id()
    template = Template("{% load fupin %}{{ n|idmask:user }}")
    cadre = make_user("cadre", "pairing_cadre", division=county["va1"])
    worker = make_user("gw", "grid_worker", grid=county["ga1"])
    assert template.render(Context({"n": number, "user": worker})) == number
    assert template.render(Context({"n": number, "user": cadre})) != number


@pytest.mark.django_db
def test_history_shows_labels_names_and_changes(county):
    boss = make_user("boss", "city_office", division=county["county"], display_name="李明")
    first = make_user("w1", "grid_worker", grid=county["ga1"], display_name="张一")
    second = make_user("w2", "grid_worker", grid=county["ga1"], display_name="王二")
    grid = county["ga1"]
    grid_assign_post(actor=boss, grid=grid, post="grid_worker", user=first)
    grid_assign_post(actor=boss, grid=grid, post="grid_worker", user=second)
    events = list(audit.AuditEvent.objects.filter(object_type="geo.gridpost").order_by("id"))
    assign = audit_changes(events[0], boss)
    labels = dict((label, after) for label, _before, after in assign)
    assert labels["岗位"] == "网格员"  # choice label, not the code
    assert "张一" in labels.values()  # the user's name, not a primary key
    end = audit_changes(events[1], boss)
    assert [label for label, _b, _a in end] == ["截止日期"]
    assert action_label(events[0]) == "网格岗位 · 分配"

    request = RequestFactory().get("/")
    request.user = boss
    html = Template("{% load fupin %}{% audit_history obj %}").render(Context({"obj": events[0].__class__.objects.filter(
        object_type="geo.gridpost").first(), "request": request}))
    assert "操作痕迹" in html


@pytest.mark.django_db
def test_history_hides_names_the_viewer_may_not_see(county):
    boss = make_user("boss", "city_office", division=county["county"])
    other = make_user("other", "grid_worker", grid=county["gb1"], display_name="乙网格员")
    grid_assign_post(actor=boss, grid=county["gb1"], post="grid_worker", user=other)
    event = audit.AuditEvent.objects.get(object_type="geo.gridpost")
    outsider = make_user("a_team", "village_team", division=county["va1"])
    rendered = " ".join(after for _l, _b, after in audit_changes(event, outsider))
    assert "乙网格员" not in rendered
    assert "不在您的管辖范围" in rendered and f"#{other.pk}" not in rendered  # said, never a bare row id


def test_status_badge_colours():
    html = Template("{% load fupin %}{% status_badge 'failed' 'x' %}{% status_badge 'succeeded' 'y' %}"
                    "{% status_badge 'whatever' 'z' tone='amber' %}").render(Context())
    assert 'badge-red">x' in html and 'badge-green">y' in html and 'badge-amber">z' in html


def test_a_sealed_fields_fingerprint_is_shown_as_a_code():
    # the history panel once showed "[加密 0123bdecafa9]" as text: its letters-only tail read as an English word in
    # the Chinese page walk (tests/e2e/test_detail_pages.py), now and then, as the digits fell
    from fupin.web.templatetags.fupin import _show

    shown = _show(audit.FINGERPRINT + "0123bdecafa9]")
    assert shown == '<span translate="no">[加密 0123bdecafa9]</span>'
    assert _show("[加密 <b>]") == '<span translate="no">[加密 &lt;b&gt;]</span>'  # escaped, never markup
    assert _show("电话 0123bdecafa9") == "电话 0123bdecafa9"  # only the fingerprint's form
