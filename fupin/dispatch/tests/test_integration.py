"""What the dispatch app adds elsewhere: `fupin stats` keys, dashboard figures, the map's pinned highlight and popup,
the household card, pinned-first ordering."""

import datetime as dt

from django.utils import timezone

from fupin.core.stats import collect
from fupin.dispatch import integration
from fupin.dispatch.selectors import pinned_first
from fupin.dispatch.services import (
    household_pin,
    joint_plan_create,
    minqing_answer,
    minqing_report_create,
    work_order_act,
    work_order_create,
)
from fupin.registry.models import Household


def _some_activity(world):
    u = world.users
    a = work_order_create(actor=u["grid_a"], household=world.hh_a, title="住院", order_type="medical")
    work_order_act(actor=u["weiji"], order=a, action="accept")
    work_order_act(actor=u["weiji"], order=a, action="resolve", note="已报销")
    work_order_act(actor=u["grid_a"], order=a, action="confirm", satisfaction=4)
    work_order_create(actor=u["grid_b"], household=world.hh_b, title="贷款", order_type="credit")
    household_pin(actor=u["team_a"], household=world.hh_a2, reason="孤寡")
    joint_plan_create(actor=u["team_a"], household=world.hh_a2, title="李学户方案",
                      items=[{"project": "助学", "department": world.depts["jiaoyu"],
                              "deadline": timezone.localdate() + dt.timedelta(days=10)}])
    r = minqing_report_create(actor=u["grid_a"], channel="grid_worker", category="medical", content="看病",
                              household=world.hh_a)
    minqing_answer(actor=u["grid_a"], report=r, answer="已答复", way="visit")
    minqing_report_create(actor=u["grid_b"], channel="hotline", category="credit", content="贷款难",
                          household=world.hh_b, reporter_phone="13800000000")


def test_stats_keys(world):
    _some_activity(world)
    stats = collect()
    assert stats["work_orders"]["confirmed"] == 1
    assert stats["work_orders"]["pushed"] == 2  # the credit order and the joint plan's item
    assert set(stats["work_orders"]) == {"pushed", "accepted", "in_progress", "resolved", "returned", "confirmed",
                                         "closed", "cancelled"}
    assert stats["work_orders_overdue"] == 0
    assert stats["pinned_households"] == 1
    assert stats["joint_plans"] == 1
    assert stats["minqing_reports"] == 2 and stats["minqing_answered"] == 1


def test_dashboard_figures(world):
    from fupin.dashboards.models import FigureSnapshot
    from fupin.dashboards.services import refresh_snapshots

    _some_activity(world)
    refresh_snapshots(reason="test")
    county = world.county["county"].code
    snap = {s.key: s for s in FigureSnapshot.objects.filter(area_code=county, key__startswith="dispatch.")}
    assert snap["dispatch.solved"].value == 1
    assert snap["dispatch.orders"].breakdown == {"confirmed": 1, "pushed": 2}
    assert snap["dispatch.solved_by_department"].breakdown == {"weiji": 1}
    assert snap["dispatch.pinned"].value == 1
    assert snap["dispatch.satisfaction"].value == 4
    assert snap["dispatch.minqing_answered_share"].value == 50
    town_b = world.county["town_b"].code
    assert not FigureSnapshot.objects.filter(area_code=town_b, key="dispatch.solved").exists()


def test_map_highlights_pinned_households_and_adds_a_popup(world):
    from fupin.maps.layers import attribute

    _some_activity(world)
    pinned = attribute("pinned")
    assert pinned is not None and pinned.highlight == "1"
    qs = Household.objects.all()
    assert list(pinned.narrow(qs, ["1"])) == [world.hh_a2]
    assert world.hh_a2 not in pinned.narrow(qs, ["0"])
    values = dict(qs.annotate(p=pinned.expression()).values_list("pk", "p"))
    assert values[world.hh_a2.pk] == "1" and values[world.hh_a.pk] == "0"
    popup = integration.map_popup(world.hh_a2, world.users["team_a"])
    assert popup["url"] == "/dispatch/households/A-002/"
    assert any("孤寡" in str(v) for _k, v in popup["rows"])
    assert integration.map_popup(world.hh_a2, world.users["grid_b"]) is None  # outside B's jurisdiction


def test_household_card_lists_the_joint_plan(world):
    _some_activity(world)
    section = integration.card_section(world.hh_a2)
    assert section["key"] == "joint_plan" and section["rows"][0][0] == "助学"
    assert integration.card_section(world.hh_b) is None


def test_pinned_first_keeps_the_existing_order_after_the_pin(world):
    household_pin(actor=world.users["team_a"], household=world.hh_a2, reason="孤寡")
    ordered = list(pinned_first(Household.objects.order_by("poor_code")))
    assert ordered == [world.hh_a2, world.hh_a, world.hh_b]
    assert [h.is_pinned for h in ordered] == [True, False, False]


def test_registry_household_page_shows_the_whole_path_and_the_list_puts_pinned_first(client, world):
    u = world.users
    order = work_order_create(actor=u["grid_a"], household=world.hh_a2, title="学费减免", order_type="education")
    work_order_act(actor=u["jiaoyu"], order=order, action="accept")
    work_order_act(actor=u["jiaoyu"], order=order, action="resolve", note="已落实学费减免")
    household_pin(actor=u["team_a"], household=world.hh_a2, reason="子女多人上学")
    client.force_login(u["team_a"])
    page = client.get(world.hh_a2.get_absolute_url()).content.decode()
    assert 'data-testid="dispatch-panel"' in page
    assert order.number in page and "已落实学费减免" in page and "子女多人上学" in page
    listing = client.get("/households/").content.decode()
    assert listing.index("李学户") < listing.index("王病户")  # pinned first, whatever the list's own order


def test_monthly_figures(world):
    from fupin.dispatch.models import WorkOrder
    from fupin.dispatch.selectors import department_figures, monthly_solved, order_figures

    _some_activity(world)
    months = monthly_solved(WorkOrder.objects.all())
    assert len(months) == 12 and months[-1] == (f"{timezone.localdate():%Y-%m}", 3, 1)
    figures = order_figures(WorkOrder.objects.all())
    assert figures["total"] == 3 and figures["solved"] == 1 and figures["satisfaction"] == 4
    weiji = next(d for d in department_figures(WorkOrder.objects.all()) if d["code"] == "weiji")
    assert weiji["solved"] == 1 and weiji["satisfaction"] == 4 and weiji["accept_hours"] is not None
