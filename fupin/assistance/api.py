"""Assistance API (/api/v1/assistance/): lights and roll-ups for the map and dashboards, and idempotent submits of
records and errands for the phone app (the client generates the uuid; re-sending it returns the stored row)."""

from __future__ import annotations

import uuid as uuidlib

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.errors import HttpError
from ninja.responses import Status

from fupin.assistance import permissions, selectors, services
from fupin.assistance.choices import Colour
from fupin.assistance.filters import LIGHT_FILTERS
from fupin.assistance.models import AssistanceRecord, Errand, HouseholdLight
from fupin.assistance.schemas import (
    ErrandCloseIn,
    ErrandIn,
    ErrandOut,
    HouseholdAssistanceOut,
    LightOut,
    PointOut,
    RecordIn,
    RecordOut,
    RollupOut,
)
from fupin.core.apierrors import refusal_as
from fupin.core.apiparams import Limit, Offset

router = Router(tags=["assistance"])
MAX_PAGE = 1000


def _prefix(request, division: str | None) -> str:
    from fupin.geo.areas import area_for_code

    area = area_for_code(request.user, division) if division else None
    prefix = area.prefix if area else selectors.effective_prefix(request.user)
    if prefix is None:
        raise HttpError(403, _("You have no jurisdiction"))
    return prefix


def _light_out(lt: HouseholdLight) -> dict:
    hh = lt.household
    return {"household": hh.uuid, "poor_code": hh.poor_code, "head_name": hh.head_name, "area_code": lt.area_code,
            "colour": lt.colour, "days": lt.days, "since": lt.since, "last_record_on": lt.last_record_on,
            "reasons": [{"code": r["code"], "colour": r["colour"], "text": r["text"], "action": r["action"]}
                        for r in selectors.reasons_display(lt)],
            "cadre_id": lt.cadre_id, "cadre_name": lt.cadre.name if lt.cadre else None,
            "unit_name": lt.unit.name if lt.unit else None, "lng": hh.lng, "lat": hh.lat,
            "computed_at": lt.computed_at}


def _record_out(r: AssistanceRecord) -> dict:
    light = HouseholdLight.objects.filter(pk=r.household_id).values_list("colour", flat=True).first()
    return {"uuid": r.uuid, "household": r.household.uuid, "kind": r.kind, "occurred_on": r.occurred_on,
            "content": r.content, "needs": r.needs, "cadre_name": r.cadre.name if r.cadre else None,
            "recorded_by": str(r.recorded_by) if r.recorded_by else None, "lng": r.lng, "lat": r.lat,
            "source": r.source, "created_at": r.created_at, "light": light}


def _errand_out(e: Errand) -> dict:
    return {"uuid": e.uuid, "household": e.household.uuid, "matter": e.matter, "office": e.office,
            "for_name": e.for_name, "status": e.status, "result": e.result, "opened_on": e.opened_on,
            "closed_on": e.closed_on}


def _household(request, key: str):
    hh = selectors.household_for(request.user, key)
    if hh is None:
        raise HttpError(404, _("Household not found or outside your jurisdiction"))
    return hh


def _same_submit(request, stored, key: str) -> None:
    """A re-sent uuid must name the same household, and one the caller may see."""
    if key not in (str(stored.uuid), stored.poor_code) or selectors.household_for(request.user, stored.uuid) is None:
        raise HttpError(409, _("The number is used by another record"))


LightQuery = LIGHT_FILTERS.schema("LightQuery", division=(str, ""), limit=(Limit, 200), offset=(Offset, 0))


@router.get("/lights", response=list[LightOut])
def list_lights(request, filters: Query[LightQuery]):
    """Households with their lights, worst first, filtered as the lights page filters them
    (fupin/assistance/filters.py); a refused value answers 422."""
    values = LIGHT_FILTERS.read_api(filters, request.user).values
    qs = selectors.light_list(request.user, prefix=_prefix(request, filters.division), **values)
    return [_light_out(lt) for lt in qs[filters.offset:filters.offset + filters.limit]]


@router.get("/map", response=list[PointOut])
def map_points(request, colour: str | None = None, division: str | None = None):
    """One point per tracked household (lng/lat WGS-84, may be empty) for the battle map."""
    points = selectors.lights_for_map(request.user, prefix=_prefix(request, division),
                                      colour=colour if colour in Colour.values else None)
    return [{"household": p["uuid"], "head_name": p["head_name"] or "", "colour": p["colour"], "days": p["days"],
             "area_code": p["area_code"], "lng": p["lng"], "lat": p["lat"]} for p in points]


@router.get("/rollup", response=list[RollupOut])
def rollup(request, by: str = "area", division: str | None = None):
    """Light counts per child area (by=area, or town/village/grid), per cadre (by=cadre), per unit (by=unit), or
    for the whole area (by=total: the county, a town, a village)."""
    prefix = _prefix(request, division)
    if by == "total":
        counts = selectors.light_counts(selectors.lights_within(request.user, prefix))
        return [{"key": prefix, "name": "", **counts}]
    if by == "cadre":
        rows = selectors.cadre_rollup(request.user, prefix=prefix)
        return [{"key": str(r["cadre_id"] or ""), "name": r["cadre"].name if r["cadre"] else "",
                 **{k: r[k] for k in ("green", "yellow", "red", "total")}} for r in rows]
    if by == "unit":
        rows = selectors.unit_rollup(request.user, prefix=prefix)
        return [{"key": str(r["unit_id"] or ""), "name": r["unit"].name if r["unit"] else "",
                 **{k: r[k] for k in ("green", "yellow", "red", "total")}} for r in rows]
    if by not in ("area", "town", "village", "grid"):
        raise HttpError(400, _("by must be area, town, village, grid, cadre, unit or total"))
    rows = selectors.rollup(request.user, prefix=prefix, by=None if by == "area" else by)
    return [{"key": r["code"], "name": r["name"], **{k: r[k] for k in ("green", "yellow", "red", "total")}}
            for r in rows]


@router.get("/households/{key}", response=HouseholdAssistanceOut)
def household_assistance(request, key: str):
    hh = _household(request, key)
    data = selectors.household_summary(hh)
    pairing = data["pairing"]
    light = data["light"]
    if light is not None:
        light.household = hh
    records = AssistanceRecord.objects.filter(household=hh).select_related("household", "cadre", "recorded_by")[:10]
    return {"household": hh.uuid, "light": _light_out(light) if light else None,
            "cadre_name": pairing.cadre.name if pairing else None,
            "cadre_phone": pairing.cadre.phone if pairing else None,
            "unit_name": pairing.unit.name if pairing else None,
            "pairing_since": pairing.start_date if pairing else None,
            "measures": data["measures"],
            "receipts": [{"policy": r.policy.name, "received_on": r.received_on,
                          "amount": float(r.amount) if r.amount is not None else None} for r in data["receipts"]],
            "recent_records": [_record_out(r) for r in records]}


@router.get("/records", response=list[RecordOut])
def list_records(request, household: str | None = None, limit: Limit = 100):
    qs = AssistanceRecord.objects.restrict(request.user)
    if household:
        qs = AssistanceRecord.objects.filter(household=_household(request, household))
    qs = qs.select_related("household", "cadre", "recorded_by").order_by("-occurred_on", "-id")
    return [_record_out(r) for r in qs[:limit]]


def _submitted_before(request, model, payload):
    """The row a phone already submitted under this uuid (a retried submit answers 200 with it), else None."""
    existing = model.objects.filter(uuid=payload.uuid).select_related("household").first()
    if existing is not None:
        _same_submit(request, existing.household, payload.household)
    return existing


@router.post("/records", response={200: RecordOut, 201: RecordOut})
def create_record(request, payload: RecordIn):
    """Submit a visit or call. Idempotent: the same uuid again answers 200 with the stored record."""
    if (stored := _submitted_before(request, AssistanceRecord, payload)) is not None:
        return Status(200, _record_out(stored))
    if not permissions.can_record(request.user):
        raise HttpError(403, _("You may not record assistance"))
    hh = _household(request, payload.household)
    with refusal_as(400):
        record, created = services.record_create(
            actor=request.user, household=hh, occurred_on=payload.occurred_on, content=payload.content,
            kind=payload.kind, needs=payload.needs, lng=payload.lng, lat=payload.lat,
            gps_accuracy=payload.gps_accuracy, source="app", uuid=payload.uuid)
    return Status(201 if created else 200, _record_out(record))


@router.post("/errands", response={200: ErrandOut, 201: ErrandOut})
def create_errand(request, payload: ErrandIn):
    """Take on an errand. Idempotent like records."""
    if (stored := _submitted_before(request, Errand, payload)) is not None:
        return Status(200, _errand_out(stored))
    if not permissions.can_record(request.user):
        raise HttpError(403, _("You may not accept errands"))
    hh = _household(request, payload.household)
    with refusal_as(400):
        errand, created = services.errand_create(actor=request.user, household=hh, matter=payload.matter,
                                                 office=payload.office, for_name=payload.for_name,
                                                 opened_on=payload.opened_on, uuid=payload.uuid)
    return Status(201 if created else 200, _errand_out(errand))


@router.post("/errands/{uuid}/close", response=ErrandOut)
def close_errand(request, uuid: uuidlib.UUID, payload: ErrandCloseIn):
    errand = get_object_or_404(Errand.objects.restrict(request.user).select_related("household"), uuid=uuid)
    if not permissions.can_record(request.user):
        raise HttpError(403, _("You may not complete errands"))
    with refusal_as(400):
        errand = services.errand_close(actor=request.user, errand=errand, status=payload.status,
                                       result=payload.result, closed_on=payload.closed_on)
    return _errand_out(errand)
