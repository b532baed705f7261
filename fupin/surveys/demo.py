"""Demo data of the collection forms and data quality, on a demo county already seeded (`fupin seed_demo`).

- the shipped forms (v1), then a second version of the household and village forms (what a county changes for a new
  year: an item added), published;
- for every registered poor household and every village, a response for 2016 under v1 and one for 2017 under v2,
  built from the registry's facts (2016 a little poorer than today);
- realistic data-quality problems planted in the registry and the responses, a few per hundred poor households:
  因学 without a student, 因残 without a disabled member, healthy working-age members marked 无劳动力, 低保 households
  without a 低保 member, mistyped ID numbers, one person registered in two households, incomes that do not add up,
  responses with an empty required item;
- a first data-quality run, so that the village lists and the grid workers' inboxes show them.

Everything is written with bulk inserts/updates in the caller's batch (one audit event for the lot).
"""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core.errors import ServiceError
from fupin.core.fields import with_indexes
from fupin.geo.models import Division, Grid
from fupin.registry.models import Household, Person
from fupin.surveys import definitions as defs
from fupin.surveys import services
from fupin.surveys.models import Form, Response

YEARS = (2016, 2017)
ACTOR = "system"
NEW_HOUSEHOLD_ITEMS = [
    ("assistance", {"key": "policy_awareness", "label": "政策知晓情况", "type": "choice", "required": True,
                    "options": [["知晓", "知晓"], ["部分知晓", "部分知晓"], ["不知晓", "不知晓"]],
                    "help": "2017年新增:入户时核对农户对帮扶政策的知晓情况"}),
    ("health", {"key": "medical_insurance_paid", "label": "医保个人缴费已资助", "type": "boolean"}),
]
NEW_VILLAGE_ITEMS = [
    ("services", {"key": "ecommerce_station", "label": "有电商服务站", "type": "boolean"}),
]


def _plain(v):
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def _new_version(form: Form, additions: list[tuple[str, dict]], note: str):
    draft = services.version_draft(actor=ACTOR, form=form)
    defn = draft.definition
    for section_key, item in additions:
        section = next(s for s in defn["sections"] if s["key"] == section_key)
        if all(it["key"] != item["key"] for it in section["items"]):
            section["items"].append(item)
    services.version_save(actor=ACTOR, version=draft, definition=defn, note=note)
    return services.version_publish(actor=ACTOR, version=draft)


def _household_answers(definition: dict, h: dict, members: list[dict], rng: random.Random, year: int) -> dict:
    factor = 0.88 if year == YEARS[0] else 1.0
    out: dict = {}
    for it in defs.items(definition):
        rf = it.get("registry_field")
        if it["type"] == "table":
            cols = [(c["key"], c.get("registry_field") or c.get("registry_read")) for c in it["columns"]]
            out[it["key"]] = [{"_person": str(m["uuid"]), **{k: _plain(m.get(f)) for k, f in cols if f}}
                              for m in members]
        elif rf:
            v = _plain(h.get(rf))
            if rf.startswith(("income_", "transfer_")) and isinstance(v, (int, float)) and rf != "income_year":
                v = round(v * factor)
            if v not in (None, "", []):
                out[it["key"]] = v
    students = sum(1 for m in members if (m.get("schooling") or "") not in ("", "01", "02"))
    labour = sum(1 for m in members if m.get("labour_skill") in ("1", "2", "3"))
    out.update({
        "students": students, "dropout": False, "labour_count": labour,
        "migrant_count": min(labour, sum(1 for m in members if m.get("work_months"))),
        "chronic_patients": sum(1 for m in members if "2" in (m.get("health") or [])),
        "serious_patients": sum(1 for m in members if "3" in (m.get("health") or [])),
        "family_doctor": rng.random() < 0.8, "skills_training": rng.random() < 0.3,
        "food_clothing_secure": True, "education_secure": True, "medical_secure": rng.random() < 0.97,
        "housing_secure": h.get("dilapidated_grade") not in ("C", "D"),
    })
    if students:
        out["education_aid"] = rng.random() < 0.8
    if h.get("dilapidated_grade") in ("C", "D"):
        out["housing_renovation"] = h.get("dilapidated_grade") == "D" or rng.random() < 0.5
    if h.get("poverty_status") in ("1", "4") and not out.get("year_exited"):
        out["year_exited"] = YEARS[0]
    if any(it["key"] == "policy_awareness" for it in defs.items(definition)):
        out["policy_awareness"] = rng.choices(("知晓", "部分知晓", "不知晓"), weights=(75, 20, 5))[0]
        out["medical_insurance_paid"] = True
    return out


def _village_answers(definition: dict, v: Division, figures: dict, rng: random.Random, year: int) -> dict:
    hh, pop = figures.get("households", 0), figures.get("persons", 0)
    out = {"village_attribute": "贫困村" if v.is_poor_village else "非贫困村",
           "terrain": rng.choice(("丘陵", "山区", "平原")), "households_total": hh, "population_total": pop,
           "rural_population": int(pop * 0.92), "dibao_households": figures.get("dibao", 0),
           "labour_persons": int(pop * 0.55), "migrant_workers": int(pop * 0.22),
           "per_capita_income": rng.randint(9000, 13000) + (600 if year == YEARS[1] else 0),
           "collective_income": rng.randint(20000, 150000), "road_to_town_hardened": rng.random() < 0.9,
           "has_bus": rng.random() < 0.7, "cooperatives": rng.randint(1, 8), "has_clinic": True,
           "has_culture_room": rng.random() < 0.85, "has_broadband": rng.random() < 0.6 + 0.2 * (year - YEARS[0]),
           "info_officers": figures.get("grids", 3)}
    if any(it["key"] == "ecommerce_station" for it in defs.items(definition)):
        out["ecommerce_station"] = rng.random() < 0.4
    return out


def _plant(rng: random.Random, scale: float, households: dict[int, dict], members: dict[int, list[dict]],
           batch) -> dict:
    """Realistic mistakes, a few per hundred poor households (written as the roster or a careless edit would)."""
    poor = sorted(h for h, d in households.items() if d["poverty_status"] in ("0", "2", "3", "1"))
    n = max(2, round(len(poor) * 0.006))
    planted: dict[str, int] = defaultdict(int)

    def pick(pred, k):
        cands = [h for h in poor if pred(households[h], members.get(h, []))]
        return rng.sample(cands, min(k, len(cands)))

    def no_student(d, ms):
        return d["main_cause"] != "3" and all((m["schooling"] or "") in ("", "01", "02") for m in ms)

    for h in pick(no_student, n):
        Household.objects.filter(pk=h).update(main_cause="3", batch=batch)
        households[h]["main_cause"] = "3"
        planted["cause_school_no_student"] += 1
    no_disabled = [h for h in pick(lambda d, ms: all("4" not in (m["health"] or []) and not m["disability_card"]
                                                         for m in ms) and d["main_cause"] != "2", n)]
    for h in no_disabled:
        Household.objects.filter(pk=h).update(other_causes=["2"], batch=batch)
        planted["cause_disability_no_disabled"] += 1
    workers = [m for h in poor for m in members.get(h, []) if m["labour_skill"] in ("1", "2")
               and m["health"] == ["1"] and not m["schooling"]]
    for m in rng.sample(workers, min(n * 2, len(workers))):
        Person.objects.filter(pk=m["id"]).update(labour_skill="5", batch=batch, updated_at=timezone.now())
        planted["healthy_no_labour"] += 1
    for h in pick(lambda d, ms: d["attribute"] == "2" and any(m["dibao"] for m in ms), max(1, n // 2)):
        Person.objects.filter(household_id=h).update(dibao=False, batch=batch, updated_at=timezone.now())
        planted["dibao_attribute_no_member"] += 1
    with_ids = [m for h in poor for m in members.get(h, []) if len(m["id_number"] or "") == 18]
    for m in rng.sample(with_ids, min(n * 2, len(with_ids))):
        number = m["id_number"]
        wrong = number[:17] + rng.choice([c for c in "0123456789X" if c != number[17]])
        Person.objects.filter(pk=m["id"]).update(**with_indexes(Person, {"id_number": wrong}), id_valid=False,
                                                 batch=batch, updated_at=timezone.now())
        m["id_number"] = wrong
        planted["id_invalid"] += 1
    for _n in range(max(1, n // 3)):
        a, b = rng.sample(with_ids, 2)
        if a["household_id"] == b["household_id"]:
            continue
        Person.objects.filter(pk=b["id"]).update(**with_indexes(Person, {"id_number": a["id_number"]}), batch=batch,
                                                 updated_at=timezone.now())
        planted["duplicate_person"] += 1
    for h in pick(lambda d, ms: d["annual_income"] > 0, n):
        Household.objects.filter(pk=h).update(annual_income=Decimal(households[h]["annual_income"]) +
                                              Decimal(rng.choice((500, 1000, 1200, 3000))), batch=batch)
        planted["income_not_adding_up"] += 1
    return dict(planted)


def seed_surveys(*, rng: random.Random, scale: float, batch) -> dict:
    """Write the forms, two years of responses and the planted problems; returns row counts."""
    if not Division.objects.filter(level="village").exists():
        raise ServiceError(_("The database has no villages yet: run seed_demo first to build the demo county"))
    if Response.objects.exists():
        raise ServiceError(_("The database already has form entries; the demo data is made only once"))
    services.forms_load_shipped(actor=ACTOR)
    hform, vform = Form.objects.get(key="household"), Form.objects.get(key="village")
    h1, v1 = services.current_version(hform), services.current_version(vform)
    h2 = _new_version(hform, NEW_HOUSEHOLD_ITEMS, "2017年版:新增政策知晓情况、医保个人缴费资助")
    v2 = _new_version(vform, NEW_VILLAGE_ITEMS, "2017年版:新增电商服务站")
    hh_fields = ["id", "uuid", "village_id", "area_code", "annual_income", *sorted(services.HOUSEHOLD_BINDABLE)]
    households = {d["id"]: d for d in Household.objects.filter(is_registered_poor=True, dissolved_on__isnull=True)
                  .values(*hh_fields)}
    members: dict[int, list[dict]] = defaultdict(list)
    for m in (Person.objects.filter(household_id__in=list(households), is_alive=True).order_by("id")
              .values("id", "uuid", "household_id", "relationship", "disability_card", "id_valid",
                      *sorted(services.PERSON_BINDABLE - {"disability_card"}))):
        members[m["household_id"]].append(m)
    planted = _plant(rng, scale, households, members, batch)
    # the planted mistakes are in the registry now: the responses copy what the registry says
    for d in Household.objects.filter(pk__in=list(households)).values(*hh_fields):
        households[d["id"]] = d
    now = timezone.now()
    rows = []
    for year, version in ((YEARS[0], h1), (YEARS[1], h2)):
        for hid in sorted(households):
            d = households[hid]
            rows.append(Response(form=hform, form_version=version, household_id=hid, division_id=d["village_id"],
                                 area_code=d["area_code"], period=str(year), year=year, batch=batch,
                                 data=_household_answers(version.definition, d, members.get(hid, []), rng, year),
                                 submitted_at=now))
    # a few responses saved with a required item left empty (an old paper form keyed in carelessly)
    latest = [r for r in rows if r.year == YEARS[1]]
    for r in rng.sample(latest, min(max(1, round(len(latest) * 0.004)), len(latest))):
        r.data.pop("dropout", None)
        planted["required_items"] = planted.get("required_items", 0) + 1
    villages = list(Division.objects.filter(level="village").order_by("code"))
    figures: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for vid, n in (Household.objects.filter(dissolved_on__isnull=True).values_list("village_id")
                   .annotate(n=Count("id"))):
        figures[vid]["households"] = n
    for vid, n in (Person.objects.filter(is_alive=True, household__isnull=False)
                   .values_list("household__village_id").annotate(n=Count("id"))):
        figures[vid]["persons"] = n
    for vid, n in (Household.objects.filter(attribute="2", is_registered_poor=True).values_list("village_id")
                   .annotate(n=Count("id"))):
        figures[vid]["dibao"] = n
    for vid, n in Grid.objects.values_list("village_id").annotate(n=Count("id")):
        figures[vid]["grids"] = n
    for year, version in ((YEARS[0], v1), (YEARS[1], v2)):
        for v in villages:
            rows.append(Response(form=vform, form_version=version, division=v, area_code=v.code, period=str(year),
                                 year=year, batch=batch, submitted_at=now,
                                 data=_village_answers(version.definition, v, figures[v.pk], rng, year)))
    Response.objects.bulk_create(rows, batch_size=1000)
    return {"Response": len(rows), "versions": 2, "planted": planted}
