"""The worker's slice — only what their phone needs — and the change feed over it.

The slice is the households the user works on (a grid worker's grid, a village team's village, and for anyone the
households they carry as a pairing cadre) with members, plan measures, policies received, the light and its reasons
and open comparison findings; the user's open inbox items; the work orders they sent that are still open and the 民情
they filed; and the published household forms. Every item has a digest; a device's `SliceSnapshot` keeps the digests
it received, so the next sync sends only the items whose digest changed and tombstones for those that left.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import CharField, Q, TextField
from django.db.models.functions import Cast
from django.utils import translation

from fupin.core import idnumber
from fupin.core.scoping import PREFIX_LENGTH, scope_prefix

COLLECTIONS = ("households", "inbox", "orders", "reports", "forms")
SNAPSHOTS_KEPT = 3
# the household form's fields beyond those the list shows (fupin.mobile.services.HOUSEHOLD_FORM)
FORM_EXTRA = ("housing_structure", "housing_area", "dilapidated_grade", "water_source", "drinking_safe",
              "drinking_difficulty", "sanitary_toilet", "production_power", "road_distance_km", "in_cooperative")  # a phone that lost the answer to its last sync may come back with the cursor before it


def slice_households(user):
    """Households on the user's phone: their grid or village (never a whole town or county), plus those they carry
    as a pairing cadre or a unit's head; dissolved households leave the slice."""
    from fupin.assistance.models import HouseholdPairing
    from fupin.registry.models import Household

    prefix = scope_prefix(user)
    q = Q(pk__in=[])
    if prefix is not None and len(prefix) >= PREFIX_LENGTH["village"]:
        q |= Q(area_code__startswith=prefix)
    mine = HouseholdPairing.objects.filter(end_date__isnull=True).filter(
        Q(cadre__user=user) | Q(unit__contact_user=user)).values("household_id")
    q |= Q(pk__in=mine)
    return Household.objects.filter(q, dissolved_on__isnull=True)


def _compact(row: dict) -> dict:
    """Empty values left out (the phone reads a missing field as empty): a grid's first sync is smaller."""
    return {k: v for k, v in row.items() if v is not None and v != ""}


def _text(field: str):
    """A column read as text by the database: no converter per value on the way out (12,000 UUIDs and dates in a
    grid's first sync), the JSON text is the same as the converted value's."""
    return Cast(field, output_field=CharField())


def _uuid(value: str | None) -> str | None:
    """SQLite keeps a UUID as 32 hex digits, PostgreSQL answers it with hyphens: the hyphenated form either way."""
    if value is None or len(value) == 36:
        return value
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


def _households(user) -> dict[str, dict]:
    from fupin.assistance.choices import MeasureStatus
    from fupin.assistance.engine import describe
    from fupin.assistance.models import HouseholdLight, Measure, PolicyReceipt
    from fupin.eligibility.models import Finding
    from fupin.registry.models import Person

    rows = list(slice_households(user).values(
        "id", "version", "poor_code", "head_name", "phone", "address", "group_name", "is_registered_poor",
        "poverty_status", "attribute", "main_cause", "lng", "lat", "area_code", "size", *FORM_EXTRA, u=_text("uuid"),
    ).order_by("area_code", "id"))
    # one query per kind over a subquery of the slice (not lists of ids: no parameter limits, no IN lists to build)
    ids = slice_households(user).values("id")
    members, measures, receipts, findings = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list)
    # a member's health is not sent: the phone does not show it, and a lost phone should hold as little as possible
    mask = idnumber.mask
    for p in Person.objects.filter(household_id__in=ids).order_by("id").values(
            "household_id", "version", "name", "relationship", "sex", "id_number", "phone", "is_alive",
            "work_status", u=_text("uuid"), b=_text("birth_date")):
        hid = p.pop("household_id")
        p["uuid"] = _uuid(p.pop("u"))
        p["birth_date"] = p.pop("b")
        p["id_number"] = mask(p["id_number"])  # a lost phone never holds a full ID number
        members[hid].append(_compact(p))
    for m in Measure.objects.filter(household_id__in=ids).exclude(status=MeasureStatus.CANCELLED).order_by(
            "target_date", "id").values("household_id", "version", "kind", "title", "status", "responsible_name",
                                        u=_text("uuid"), t=_text("target_date"), d=_text("done_on")):
        hid = m.pop("household_id")
        m["uuid"], m["target_date"], m["done_on"] = _uuid(m.pop("u")), m.pop("t"), m.pop("d")
        measures[hid].append(_compact(m))
    for r in PolicyReceipt.objects.filter(household_id__in=ids).order_by("-received_on", "id").values(
            "household_id", "policy__name", "amount", on=_text("received_on")):
        receipts[r["household_id"]].append({"policy": r["policy__name"], "received_on": r["on"],
                                            "amount": r["amount"]})
    for f in Finding.objects.filter(household_id__in=ids, status=Finding.Status.OPEN).order_by("id").values(
            "household_id", "version", "rule_name", "rule_code", "source_code", "person__name", u=_text("uuid")):
        hid = f.pop("household_id")
        findings[hid].append({"uuid": _uuid(f["u"]), "version": f["version"], "rule": f["rule_name"] or f["rule_code"],
                              "source": f["source_code"], "person": f["person__name"]})
    # the reasons are read as their JSON text and described once per distinct text (most lights share a few)
    described: dict[str | None, list[str]] = {}
    lights = {}
    for lt in HouseholdLight.objects.filter(household_id__in=ids).values(
            "household_id", "colour", "days", on=_text("last_record_on"), why=Cast("reasons", TextField())):
        why = lt["why"]
        if why not in described:
            described[why] = [describe(x)[0] for x in (json.loads(why) if why else None) or []]
        lights[lt["household_id"]] = {"colour": lt["colour"], "days": lt["days"], "last_record_on": lt["on"],
                                      "reasons": described[why]}
    out = {}
    for r in rows:
        hid = r.pop("id")
        r["uuid"] = _uuid(r.pop("u"))
        r["light"] = lights.get(hid)
        r = _compact(r)
        r.update(members=members[hid], measures=measures[hid], receipts=receipts[hid], findings=findings[hid])
        out[r["uuid"]] = r
    return out


def _inbox(user) -> dict[str, dict]:
    from fupin.inbox.models import InboxItem

    return {str(i["uuid"]): i for i in InboxItem.objects.filter(user=user, done_at__isnull=True).values(
        "uuid", "kind", "title", "body", "due_date", "object_type", "object_id", "url")}


def _orders(user) -> dict[str, dict]:
    from fupin.dispatch.choices import OPEN_STATES
    from fupin.dispatch.models import WorkOrder

    return {str(o["uuid"]): o for o in WorkOrder.objects.filter(sender=user, state__in=OPEN_STATES).values(
        "uuid", "number", "title", "state", "household__uuid", "due_at")}


def _reports(user) -> dict[str, dict]:
    from fupin.dispatch.models import MinqingReport

    return {str(r["uuid"]): r for r in MinqingReport.objects.filter(recorded_by=user).order_by(
        "-reported_at")[:200].values("uuid", "number", "category", "content", "status", "answer", "reported_at",
                                     "household__uuid")}


def _forms(user) -> dict[str, dict]:
    from fupin.surveys.models import FormVersion

    out = {}
    for v in FormVersion.objects.filter(status=FormVersion.Status.PUBLISHED, form__level="household").order_by(
            "form__order", "form__key", "-number").select_related("form"):
        out.setdefault(v.form.key, {"key": v.form.key, "name": v.form.name, "version": v.number,
                                    "definition": v.definition})
    from fupin.mobile.services import household_form

    form = household_form()  # the household's own fields the worker may change (a key no form slug can take)
    out[form["key"]] = form
    return out


BUILDERS = {"households": _households, "inbox": _inbox, "orders": _orders, "reports": _reports, "forms": _forms}


def worker_slice(user, collections=COLLECTIONS) -> dict[str, dict[str, dict]]:
    """Every item of the user's slice by collection and key (JSON-ready values after `_encode`)."""
    with translation.override("zh-hans"):
        return {c: BUILDERS[c](user) for c in collections}


def _stamp(qs, *fields) -> str:
    """Count, and the latest timestamp and total version of a queryset: any service write moves one of them."""
    from django.db.models import Count, Max, Sum

    aggs = {"n": Count("pk")}
    for f in fields:
        aggs[f] = Sum(f) if f == "version" else Max(f)
    row = qs.aggregate(**aggs)
    return "|".join(str(row[k]) for k in sorted(row))


def slice_stamps(user) -> dict[str, str]:
    """A cheap fingerprint per collection (a few aggregate queries). A collection whose stamp did not move since the
    device's last sync is not rebuilt: a sync with nothing changed costs these queries, not the whole slice."""
    from fupin.assistance.models import HouseholdLight, Measure, PolicyReceipt
    from fupin.dispatch.models import MinqingReport, WorkOrder
    from fupin.eligibility.models import Finding
    from fupin.inbox.models import InboxItem
    from fupin.registry.models import Person
    from fupin.surveys.models import FormVersion

    ids = slice_households(user).values("id")
    households = ";".join([
        _stamp(slice_households(user), "updated_at", "version"),
        _stamp(Person.objects.filter(household_id__in=ids), "updated_at", "version"),
        _stamp(Measure.objects.filter(household_id__in=ids), "updated_at", "version"),
        _stamp(PolicyReceipt.objects.filter(household_id__in=ids), "updated_at", "version"),
        _stamp(Finding.objects.filter(household_id__in=ids, status=Finding.Status.OPEN), "updated_at", "version"),
        _stamp(HouseholdLight.objects.filter(household_id__in=ids), "computed_at"),
    ])
    return {
        "households": households,
        "inbox": _stamp(InboxItem.objects.filter(user=user, done_at__isnull=True), "updated_at", "version"),
        "orders": _stamp(WorkOrder.objects.filter(sender=user), "updated_at", "version"),
        "reports": _stamp(MinqingReport.objects.filter(recorded_by=user), "updated_at", "version"),
        "forms": _stamp(FormVersion.objects.filter(status=FormVersion.Status.PUBLISHED), "published_at"),
    }


def _encode(obj) -> str:
    return json.dumps(obj, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def diff(current: dict[str, dict[str, dict]], known: dict[str, str] | None) -> tuple[dict, dict, dict[str, str]]:
    """(upserts by collection, tombstones by collection, the new digests) against what the device has. Collections
    absent from `current` did not change: the device keeps them and their digests carry over. Upserts are the items'
    JSON text (encoded once, for the digest and for the answer)."""
    known = known or {}
    upserts: dict[str, list] = {c: [] for c in COLLECTIONS}
    deletes: dict[str, list] = {c: [] for c in COLLECTIONS}
    digests: dict[str, str] = {k: d for k, d in known.items() if k.split(":", 1)[0] in COLLECTIONS
                               and k.split(":", 1)[0] not in current}
    for coll in current:
        for key, item in current[coll].items():
            text = _encode(item)
            d = hashlib.blake2b(text.encode(), digest_size=10).hexdigest()
            k = f"{coll}:{key}"
            digests[k] = d
            if known.get(k) != d:
                upserts[coll].append(text)
    for k in known.keys() - digests.keys():
        coll, _, key = k.partition(":")
        if coll in current:
            deletes[coll].append(key)
    return upserts, deletes, digests


def open_conflicts_for(user):
    """The open conflicts of the user's own changes (shown on the phone) and of their jurisdiction (village team)."""
    from fupin.mobile.models import SyncConflict

    return (SyncConflict.objects.filter(Q(change__user=user) | Q(pk__in=SyncConflict.objects.restrict(user).values("pk")))
            .filter(status="open").select_related("household", "change__user").order_by("-created_at"))


def conflict_out(c) -> dict:
    return {"uuid": str(c.uuid), "household": str(c.household.uuid), "head_name": c.household.head_name,
            "field": c.field, "base": c.base_value, "theirs": c.theirs, "ours": c.ours, "status": c.status,
            "resolution": c.resolution, "change": str(c.change.uuid), "by": str(c.change.user),
            "created_at": c.created_at}
