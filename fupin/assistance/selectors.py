"""Reads of the assistance app. Everything about households goes through `visible_lights` / `visible_households`:
the user's jurisdiction (Model.objects.restrict) plus the households the user carries as a pairing cadre.

The map and the dashboards use `lights_for_map`, `rollup` and `cadre_rollup`: they read the stored lights only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Case, Count, F, IntegerField, Max, Q, QuerySet, Value, When

from fupin.assistance import conf
from fupin.assistance.choices import OPEN_MEASURE_STATUSES, Colour
from fupin.assistance.engine import describe
from fupin.assistance.models import (
    AreaPairing,
    AssistanceRecord,
    Cadre,
    Errand,
    HouseholdLight,
    HouseholdPairing,
    HouseholdPlan,
    Measure,
    PolicyReceipt,
    Unit,
    VillagePlan,
)
from fupin.assistance.suggest import HouseholdFacts, MemberFacts, Suggestion, suggest
from fupin.core import scoping
from fupin.core.scoping import scope_prefix
from fupin.geo.models import Division, Grid
from fupin.registry.models import Household

COLOUR_COUNTS = {
    "green": Count("pk", filter=Q(colour=Colour.GREEN)),
    "yellow": Count("pk", filter=Q(colour=Colour.YELLOW)),
    "red": Count("pk", filter=Q(colour=Colour.RED)),
    "total": Count("pk"),
}


def user_cadre(user) -> Cadre | None:
    if not getattr(user, "pk", None):
        return None
    return Cadre.objects.filter(user=user).first()


def _carries(user) -> bool:
    """The user answers for households beyond their jurisdiction: as a cadre, or as a unit's responsible person."""
    if not getattr(user, "pk", None) or user.is_superuser:
        return False
    return Cadre.objects.filter(user=user).exists() or Unit.objects.filter(contact_user=user).exists()


def visible_lights(user) -> QuerySet[HouseholdLight]:
    """The lights of the user's jurisdiction, plus the households the user carries as a cadre or a unit's head."""
    qs = HouseholdLight.objects.restrict(user)
    if _carries(user):
        qs = HouseholdLight.objects.filter(Q(pk__in=qs.values("pk")) | Q(cadre__user=user)
                                           | Q(unit__contact_user=user))
    return qs


def visible_households(user) -> QuerySet[Household]:
    qs = Household.objects.restrict(user)
    if _carries(user):
        open_pairs = HouseholdPairing.objects.filter(end_date__isnull=True)
        mine = open_pairs.filter(Q(cadre__user=user) | Q(unit__contact_user=user)).values("household_id")
        qs = Household.objects.filter(Q(pk__in=qs.values("pk")) | Q(pk__in=mine))
    return qs


def household_for(user, key) -> Household | None:
    """A household the user may see, by uuid or poor household number; None when hidden or absent."""
    qs = visible_households(user).select_related("village", "grid")
    text = str(key)
    try:
        import uuid

        return qs.filter(uuid=uuid.UUID(text)).first()
    except ValueError:
        return qs.filter(poor_code=text).first()


# Levels and roll-ups -----------------------------------------------------------------------------------------------

LEVEL_BY_LENGTH = {0: "county", 4: "county", 6: "county", 9: "town", 12: "village", 15: "grid"}


def user_prefix(user) -> str | None:
    return scope_prefix(user)


def effective_prefix(user, within: str | None = None) -> str | None:
    """The code prefix a page looks at: the user's jurisdiction, narrowed to `within` when that lies inside it."""
    if scope_prefix(user) is None:
        return "" if _carries(user) else None
    return scoping.narrowed(user, within)


def level_of(prefix: str) -> str:
    return LEVEL_BY_LENGTH.get(len(prefix), "county")


def _child_field(prefix: str) -> str | None:
    n = len(prefix)
    if n <= 6:
        return "town_code"
    if n <= 9:
        return "village_code"
    if n <= 12:
        return "area_code"
    return None


def lights_within(user, prefix: str | None) -> QuerySet[HouseholdLight]:
    qs = visible_lights(user)
    if prefix:
        qs = qs.filter(area_code__startswith=prefix)
    return qs


def light_counts(qs: QuerySet[HouseholdLight]) -> dict[str, int]:
    row = qs.aggregate(**COLOUR_COUNTS)
    return {k: row[k] or 0 for k in ("green", "yellow", "red", "total")}


def _names(codes: Iterable[str]) -> dict[str, str]:
    codes = set(codes)
    names = dict(Division.objects.filter(code__in=[c for c in codes if len(c) == 12]).values_list("code", "name"))
    names.update(Grid.objects.filter(code__in=[c for c in codes if len(c) == 15]).values_list("code", "name"))
    return names


def rollup(user, *, prefix: str | None = None, by: str | None = None) -> list[dict]:
    """Light counts per child area of `prefix` (towns of a county, villages of a town, grids of a village), or per
    `by` in {"town", "village", "grid"}; worst first."""
    prefix = effective_prefix(user) if prefix is None else prefix
    if prefix is None:
        return []
    field = {"town": "town_code", "village": "village_code", "grid": "area_code"}.get(by or "") or _child_field(prefix)
    if field is None:
        return []
    rows = list(lights_within(user, prefix).order_by().values(field).annotate(**COLOUR_COUNTS))
    names = _names(r[field] for r in rows)
    out = []
    for r in rows:
        code = r[field]
        unassigned = field == "area_code" and len(code) == 12
        out.append({"code": code, "name": "" if unassigned else names.get(code, code), "unassigned_grid": unassigned,
                    "green": r["green"], "yellow": r["yellow"], "red": r["red"], "total": r["total"],
                    "red_share": r["red"] / r["total"] if r["total"] else 0})
    out.sort(key=lambda r: (-r["red"], -r["yellow"], r["code"]))
    return out


def cadre_rollup(user, *, prefix: str | None = None, unit_id: int | None = None, limit: int | None = None
                 ) -> list[dict]:
    """Which cadres let their households go red: counts per cadre, most red first (households without a cadre are
    one row with cadre None)."""
    prefix = effective_prefix(user) if prefix is None else prefix
    if prefix is None:
        return []
    qs = lights_within(user, prefix)
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    rows = list(qs.order_by().values("cadre_id").annotate(**COLOUR_COUNTS, max_days=Max("days")))
    rows.sort(key=lambda r: (-r["red"], -r["yellow"], -(r["max_days"] or 0)))
    if limit:
        rows = rows[:limit]
    cadres = Cadre.objects.select_related("unit").in_bulk([r["cadre_id"] for r in rows if r["cadre_id"]])
    return [{**r, "cadre": cadres.get(r["cadre_id"])} for r in rows]


def unit_rollup(user, *, prefix: str | None = None) -> list[dict]:
    prefix = effective_prefix(user) if prefix is None else prefix
    if prefix is None:
        return []
    rows = list(lights_within(user, prefix).order_by().values("unit_id").annotate(**COLOUR_COUNTS))
    rows.sort(key=lambda r: (-r["red"], -r["yellow"], -r["total"]))
    units = Unit.objects.in_bulk([r["unit_id"] for r in rows if r["unit_id"]])
    return [{**r, "unit": units.get(r["unit_id"])} for r in rows]


def lights_for_map(user, *, prefix: str | None = None, colour: str | None = None) -> list[dict]:
    """One point per household with a light (WGS-84 lng/lat may be empty), for the battle map."""
    qs = lights_within(user, effective_prefix(user, prefix))
    if colour:
        qs = qs.filter(colour=colour)
    return list(qs.order_by().values("household_id", "colour", "days", "area_code", "cadre_id",
                                     uuid=F("household__uuid"), head_name=F("household__head_name"),
                                     lng=F("household__lng"), lat=F("household__lat")))


def light_list(user, *, prefix: str | None = None, **filters) -> QuerySet[HouseholdLight]:
    """The lights of the user's households within `prefix`, worst first; `filters`: values of the list's filters by
    name (colour, cadre, unit, no_cadre, q: fupin/assistance/filters.py), each applied as declared there."""
    from fupin.assistance.filters import LIGHT_FILTERS

    qs = lights_within(user, prefix).select_related("household", "household__village", "household__grid", "cadre",
                                                    "unit")
    qs = LIGHT_FILTERS.narrow(qs, filters, user)
    order = {"red": 0, "yellow": 1, "green": 2}
    rank = Case(*[When(colour=c, then=Value(v)) for c, v in order.items()], output_field=IntegerField())
    return qs.annotate(rank=rank).order_by("rank", "-days", "household_id")


def reasons_display(light: HouseholdLight | None) -> list[dict]:
    """The stored reasons with their text and clearing action in the active language."""
    if light is None:
        return []
    out = []
    for r in light.reasons or []:
        text, action = describe(r)
        out.append({"colour": r.get("colour"), "text": text, "action": action, "code": r.get("code")})
    return out


# One household ---------------------------------------------------------------------------------------------------


def household_light(household: Household) -> HouseholdLight | None:
    return HouseholdLight.objects.filter(pk=household.pk).select_related("cadre", "unit").first()


def household_assistance(household: Household, *, records: int = 20) -> dict:
    """Everything the household page shows about assistance."""
    pairings = list(HouseholdPairing.objects.filter(household=household)
                    .select_related("cadre", "unit", "approved_by", "ended_by").order_by("-start_date", "-id"))
    current = next((p for p in pairings if p.end_date is None), None)
    plans = list(HouseholdPlan.objects.filter(household=household).order_by("-year"))
    measures = list(Measure.objects.filter(household=household).select_related("responsible", "plan")
                    .order_by("plan__year", "target_date", "id"))
    today = conf.local_today()
    for m in measures:
        m.overdue = m.status in OPEN_MEASURE_STATUSES and m.target_date is not None and m.target_date < today
    light = household_light(household)
    return {
        "light": light,
        "reasons": reasons_display(light),
        "pairing": current,
        "pairing_history": [p for p in pairings if p.end_date is not None],
        "plans": plans,
        "plan": plans[0] if plans else None,
        "measures": measures,
        "receipts": list(PolicyReceipt.objects.filter(household=household).select_related("policy",
                                                                                              "policy__department")
                         .order_by("-received_on")[:50]),
        "records": list(AssistanceRecord.objects.filter(household=household)
                        .select_related("cadre", "recorded_by").prefetch_related("attachments")
                        .order_by("-occurred_on", "-id")[:records]),
        "record_count": AssistanceRecord.objects.filter(household=household).count(),
        "errands": list(Errand.objects.filter(household=household).select_related("handled_by")
                        .order_by("-opened_on", "-id")[:20]),
        "village_pairings": village_pairings(household.village),
    }


def household_summary(household: Household) -> dict:
    """The few lines a household card (明白卡) or a panel shows: cadre, light, plan measures, policies."""
    light = household_light(household)
    pairing = HouseholdPairing.objects.filter(household=household, end_date__isnull=True).select_related(
        "cadre", "unit").first()
    measures = list(Measure.objects.filter(household=household).exclude(status="cancelled")
                    .order_by("target_date", "id").values("kind", "title", "status", "target_date",
                                                          "responsible_name"))
    receipts = list(PolicyReceipt.objects.filter(household=household).select_related("policy")
                    .order_by("-received_on")[:20])
    return {"light": light, "reasons": reasons_display(light), "pairing": pairing, "measures": measures,
            "receipts": receipts}


def village_pairings(village: Division | None) -> list[AreaPairing]:
    if village is None:
        return []
    codes = [village.code] + ([village.parent.code] if village.parent_id else [])
    return list(AreaPairing.objects.filter(division__code__in=codes, end_date__isnull=True)
                .select_related("cadre", "unit", "team", "division").order_by("kind"))


def measure_facts(household: Household) -> HouseholdFacts:
    today = conf.local_today()
    members = []
    for p in household.members.filter(is_alive=True).order_by("id"):
        age = None
        if p.birth_date:
            age = today.year - p.birth_date.year - ((today.month, today.day) < (p.birth_date.month, p.birth_date.day))
        members.append(MemberFacts(name=p.name, age=age, schooling=p.schooling or "", health=list(p.health or []),
                                   labour_skill=p.labour_skill or "", work_status=p.work_status or "",
                                   rural_medical=p.rural_medical, disability_category=p.disability_category or ""))
    causes = {household.main_cause} | set(household.other_causes or [])
    return HouseholdFacts(causes={c for c in causes if c}, dilapidated_grade=household.dilapidated_grade or "",
                          drinking_difficulty=household.drinking_difficulty, attribute=household.attribute or "",
                          members=members)


def measure_suggestions(household: Household) -> list[Suggestion]:
    """Measures the causes and facts call for, leaving out kinds the household's plans already have (open or done)."""
    have = set(Measure.objects.filter(household=household).exclude(status="cancelled")
               .values_list("kind", flat=True))
    return suggest(measure_facts(household), existing_kinds=have)


def village_plan(village: Division, year: int | None = None) -> VillagePlan | None:
    qs = VillagePlan.objects.filter(village=village)
    if year:
        qs = qs.filter(year=year)
    return qs.order_by("-year").first()


def cadre_households(user, cadre: Cadre) -> QuerySet[HouseholdLight]:
    return light_list(user, cadre=cadre.pk)


def cadre_summary(user, cadre: Cadre) -> dict:
    qs = visible_lights(user).filter(cadre=cadre)
    counts = light_counts(qs)
    last = AssistanceRecord.objects.filter(cadre=cadre).aggregate(m=Max("occurred_on"))["m"]
    return {"counts": counts, "last_record_on": last,
            "record_count_30": AssistanceRecord.objects.filter(
                cadre=cadre, occurred_on__gte=conf.local_today() - dt.timedelta(days=30)).count(),
            "area_pairings": list(AreaPairing.objects.filter(cadre=cadre, end_date__isnull=True)
                                  .select_related("division"))}


def light_rules() -> dict:
    from dataclasses import asdict

    from fupin.assistance.tracking import current_rules

    return asdict(current_rules())


# Figures for `fupin stats` ------------------------------------------------------------------------------------------


def stats() -> dict:
    from fupin.assistance.tracking import gather

    tracked = HouseholdLight.objects.count()
    paired = HouseholdLight.objects.filter(cadre__isnull=False).count()
    counts = HouseholdLight.objects.aggregate(**COLOUR_COUNTS)
    if not tracked:
        # before the first nightly run, count from the facts themselves
        facts = gather(None, conf.local_today())
        tracked = len(facts)
        paired = sum(1 for t in facts.values() if t.cadre_id)
    return {
        "paired_households": paired,
        "unpaired_households": tracked - paired,
        "assistance_records": AssistanceRecord.objects.count(),
        "warnings": {"green": counts["green"] or 0, "yellow": counts["yellow"] or 0, "red": counts["red"] or 0},
    }
