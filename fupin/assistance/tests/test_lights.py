"""Stored lights: thresholds with frozen time, updates on writes, the nightly recompute, roll-ups."""

import datetime as dt

import pytest

from fupin.assistance import selectors, services
from fupin.assistance.models import HouseholdLight
from fupin.assistance.tracking import recompute_all
from fupin.core.nightly import steps

from .conftest import TODAY, poor

pytestmark = pytest.mark.django_db


def light(hh):
    return HouseholdLight.objects.get(pk=hh.pk)


@pytest.mark.parametrize(("days", "colour"), [(19, "green"), (20, "yellow"), (30, "yellow"), (31, "red")])
def test_days_since_last_record(hh_a, cadre, frozen, days, colour):
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY - dt.timedelta(days=200))
    services.record_create(actor="test", household=hh_a, occurred_on=TODAY, content="入户走访")
    assert light(hh_a).colour == "green"
    frozen.move_to(dt.datetime(2026, 6, 15, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))
                   + dt.timedelta(days=days))
    recompute_all()
    lt = light(hh_a)
    assert (lt.colour, lt.days) == (colour, days)


def test_calendar_days_are_shanghai_days(hh_a, cadre, frozen):
    """At 00:30 Shanghai time (16:30 UTC the day before) it is already the next calendar day."""
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY - dt.timedelta(days=200))
    services.record_create(actor="test", household=hh_a, occurred_on=TODAY, content="走访")
    frozen.move_to(dt.datetime(2026, 7, 15, 16, 30, tzinfo=dt.UTC))  # = 2026-07-16 00:30 in Shanghai
    recompute_all()
    assert light(hh_a).days == 31
    assert light(hh_a).colour == "red"


def test_counts_from_pairing_start_without_records(hh_a, cadre):
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY - dt.timedelta(days=31))
    lt = light(hh_a)
    assert (lt.colour, lt.days, lt.since) == ("red", 31, TODAY - dt.timedelta(days=31))
    services.record_create(actor="test", household=hh_a, occurred_on=TODAY, content="电话联系", kind="call")
    lt = light(hh_a)
    assert (lt.colour, lt.days, lt.reasons) == ("green", 0, [])


def test_household_without_cadre_is_red(hh_a):
    recompute_all()
    lt = light(hh_a)
    assert lt.colour == "red"
    assert lt.cadre_id is None
    assert [r["code"] for r in lt.reasons] == ["no_cadre"]


def test_overdue_measure_turns_yellow_and_done_clears(hh_a, cadre, frozen):
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY)
    m = services.measure_add(actor="test", household=hh_a, kind="medical", title="大病保险",
                             target_date=TODAY + dt.timedelta(days=3))
    assert light(hh_a).colour == "green"
    frozen.move_to(dt.datetime(2026, 6, 19, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    services.record_create(actor="test", household=hh_a, occurred_on=dt.date(2026, 6, 19), content="走访")
    assert light(hh_a).colour == "yellow"
    assert light(hh_a).reasons[0]["code"] == "overdue_measure"
    services.measure_update(actor="test", measure=m, status="done", evidence="已办理参保")
    assert light(hh_a).colour == "green"


def test_non_poor_and_exited_unpaired_households_have_no_light(county, frozen, cadre):
    plain = poor(county["va1"], head="钱丙", is_registered_poor=False)
    exited = poor(county["va1"], head="孙丁", poverty_status="4")
    recompute_all()
    assert not HouseholdLight.objects.filter(pk__in=[plain.pk, exited.pk]).exists()
    # an exited household still paired keeps being tracked
    services.pairing_assign(actor="test", household=exited, cadre=cadre, start=TODAY)
    assert light(exited).colour == "green"


def test_finding_provider_feeds_the_light(hh_a, cadre):
    from fupin.core import extensions

    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY)

    def fake(ids):
        return {hh_a.pk: TODAY - dt.timedelta(days=16)}

    with extensions.replaced("assistance.unverified_findings", extensions.UnverifiedFindings(fn=fake)):
        recompute_all()
        assert light(hh_a).colour == "yellow"
        assert light(hh_a).reasons[0]["code"] == "finding"


def test_thresholds_are_configurable(hh_a, cadre, office):
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY - dt.timedelta(days=12))
    assert light(hh_a).colour == "green"
    services.light_rules_update(actor=office, yellow_from_days=7, red_from_days=10, finding_days=15)
    assert light(hh_a).colour == "red"


def test_recompute_is_idempotent_and_registered_as_nightly_step(hh_a, hh_b, cadre):
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY)
    first = recompute_all()
    second = recompute_all()
    assert second["changed"] == 0
    assert first["households"] == second["households"] == 2
    assert "assistance.lights" in steps()


def test_rollups_by_area_cadre_and_unit(county, frozen, cadre, other_cadre, town_a_leader, office):
    h1 = poor(county["va1"], county["ga1"], head="甲一")
    h2 = poor(county["va1"], county["ga1"], head="甲二")
    h3 = poor(county["va2"], head="甲三")
    h4 = poor(county["vb1"], county["gb1"], head="乙一")
    old = TODAY - dt.timedelta(days=40)
    services.pairing_assign(actor="test", household=h1, cadre=cadre, start=old)
    services.pairing_assign(actor="test", household=h2, cadre=cadre, start=old)
    services.pairing_assign(actor="test", household=h3, cadre=other_cadre, start=old)
    services.record_create(actor="test", household=h3, occurred_on=TODAY, content="走访")
    services.pairing_assign(actor="test", household=h4, cadre=other_cadre, start=TODAY)

    towns = {r["code"]: r for r in selectors.rollup(office)}
    assert towns["420581100000"]["red"] == 2 and towns["420581100000"]["green"] == 1
    assert towns["420581101000"]["green"] == 1

    villages = {r["code"]: r for r in selectors.rollup(town_a_leader)}
    assert set(villages) == {"420581100201", "420581100202"}  # nothing of town B
    assert villages["420581100201"]["red"] == 2

    grids = selectors.rollup(town_a_leader, prefix="420581100201")
    assert grids[0]["code"] == county["ga1"].code and grids[0]["red"] == 2

    cadres = selectors.cadre_rollup(town_a_leader)
    assert cadres[0]["cadre"] == cadre and cadres[0]["red"] == 2
    assert [r["total"] for r in cadres] == [2, 1]  # other_cadre's household in town B is not counted

    units = selectors.unit_rollup(office)
    assert units[0]["total"] == 4 and units[0]["red"] == 2

    # a visit changes the roll-ups at once
    services.record_create(actor="test", household=h1, occurred_on=TODAY, content="走访")
    assert selectors.cadre_rollup(town_a_leader)[0]["red"] == 1
    assert selectors.light_counts(selectors.visible_lights(office)) == {"green": 3, "yellow": 0, "red": 1,
                                                                        "total": 4}


def test_map_points_carry_coordinates(county, frozen, cadre, office):
    h = poor(county["va1"], head="周戊", lng=111.41, lat=30.5)
    services.pairing_assign(actor="test", household=h, cadre=cadre, start=TODAY)
    pts = selectors.lights_for_map(office)
    assert pts[0]["lng"] == 111.41 and pts[0]["colour"] == "green" and pts[0]["uuid"] == h.uuid


def test_stats_keys(hh_a, hh_b, cadre):
    from fupin.core.stats import collect

    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY)
    services.record_create(actor="test", household=hh_a, occurred_on=TODAY, content="走访")
    recompute_all()
    s = collect()
    assert s["paired_households"] == 1
    assert s["unpaired_households"] == 1
    assert s["assistance_records"] == 1
    assert s["warnings"] == {"green": 1, "yellow": 0, "red": 1}


def test_bulk_write_path_matches_row_by_row(county, frozen, cadre, other_cadre, monkeypatch):
    """The county-wide path (COPY/executemany, narrow and wide updates) stores what the per-write path stores."""
    from fupin.assistance import tracking

    hs = [poor(county["va1"], county["ga1"], head=f"户{i}") for i in range(4)]
    services.pairing_assign(actor="test", household=hs[0], cadre=cadre, start=TODAY - dt.timedelta(days=25))
    services.pairing_assign(actor="test", household=hs[1], cadre=cadre, start=TODAY - dt.timedelta(days=5))
    services.record_create(actor="test", household=hs[1], occurred_on=TODAY, content="走访")
    services.measure_add(actor="test", household=hs[1], kind="housing", title="危改", target_date=TODAY)
    recompute_all()  # four lights: written row by row
    row_by_row = {lt.pk: (lt.colour, lt.days, lt.reasons, lt.cadre_id, lt.fingerprint)
                  for lt in HouseholdLight.objects.all()}
    monkeypatch.setattr(tracking, "_ROW_BY_ROW_LIMIT", 0)
    HouseholdLight.objects.all().delete()
    recompute_all()  # inserts
    bulk = {lt.pk: (lt.colour, lt.days, lt.reasons, lt.cadre_id, lt.fingerprint) for lt in HouseholdLight.objects.all()}
    assert bulk == row_by_row
    # a day later: narrow updates (days), a wide one (a new cadre), a removal (exit without cadre)
    frozen.move_to(dt.datetime(2026, 6, 16, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    services.pairing_assign(actor="test", household=hs[2], cadre=other_cadre, start=dt.date(2026, 6, 16))
    from fupin.registry.services import household_update

    household_update(actor="test", household=hs[3], poverty_status="4")
    result = recompute_all()
    assert result["removed"] == 1
    lights = {lt.pk: lt for lt in HouseholdLight.objects.all()}
    assert set(lights) == {hs[0].pk, hs[1].pk, hs[2].pk}
    assert (lights[hs[0].pk].days, lights[hs[0].pk].colour) == (26, "yellow")
    assert (lights[hs[1].pk].days, lights[hs[1].pk].colour) == (1, "yellow")  # the measure is now overdue
    assert (lights[hs[2].pk].cadre_id, lights[hs[2].pk].colour) == (other_cadre.pk, "green")
    assert recompute_all()["changed"] == 0


def test_open_comparison_findings_are_read_from_the_eligibility_app(hh_a, cadre, frozen):
    """Without a registered provider, the eligibility app's open findings count (read lazily, one grouped query)."""
    eligibility = pytest.importorskip("fupin.eligibility.models")
    from fupin.eligibility.services import finding_dismiss

    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY)
    finding = eligibility.Finding.objects.create(key="k1", household=hh_a, rule_code="vehicle", source_code="vehicle",
                                                 evidence={}, evidence_hash="x", area_code=hh_a.area_code)
    frozen.move_to(dt.datetime(2026, 6, 29, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    services.record_create(actor="test", household=hh_a, occurred_on=dt.date(2026, 6, 29), content="走访")
    assert light(hh_a).colour == "green"  # 14 days: not yet
    frozen.move_to(dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    recompute_all()
    assert (light(hh_a).colour, light(hh_a).reasons[0]["code"]) == ("yellow", "finding")
    finding_dismiss(actor="test", finding=finding, reason="车辆已过户,核实无误")
    recompute_all()
    assert light(hh_a).colour == "green"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_light_badge_tag_renders_as_the_light_template(language):
    """The lights list renders each row's light with {% light_badge %}; the household pages include
    assistance/_light.html: both must give the same HTML (a light without days, 0, 1 and many days, no light)."""
    from django.template import Context, Template
    from django.template.loader import render_to_string
    from django.utils import translation

    from fupin.assistance.models import HouseholdLight

    lights = [None] + [HouseholdLight(colour=c, days=d) for c, d in
                       [("green", None), ("green", 0), ("yellow", 1), ("red", 45), ("red", 1000)]]
    tag = Template("{% load assistance_tags %}{% light_badge light %}")
    with translation.override(language):
        for lt in lights:
            # (the template file ends with a newline, white space in the table cell)
            expected = render_to_string("assistance/_light.html", {"light": lt}).removesuffix("\n")
            assert tag.render(Context({"light": lt})) == expected
