"""Registry API (/api/v1/households/): households and members of the caller's jurisdiction.

- GET  /                       households (filters as the list page: division, grid, attribute, cause, status, poor,
                               q; limit/offset)
- POST /                       create a household with its members (client `uuid`: a retry returns the first one)
- GET  /persons                members (q, division, household; limit/offset)
- PATCH /persons/{uuid}        correct a member (expected_version; 409 when stale)
- GET  /villages/{code}        a village's figures and poverty incidence
- GET  /{key}                  one household (户编号 or uuid) with members, income against the line, changes
- PATCH /{key}                 change household fields (expected_version; 409 when stale)
- POST /{key}/changes          a membership change (birth, death, marriage, move, head ...)

Anything outside the caller's jurisdiction answers 404; refusals answer 400 with the Chinese message in `detail`.
ID numbers are masked for roles that may not see them.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Annotated, Any

from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from fupin.core import idviews
from fupin.core.apierrors import refusal_as
from fupin.core.apiparams import Limit, Offset
from fupin.core.errors import ServiceError
from fupin.geo.areas import area_for_code
from fupin.geo.models import Division, Grid
from fupin.registry import selectors, services
from fupin.registry.filters import household_filters, household_queryset
from fupin.registry.labels import CodeTables, code_tables
from fupin.registry.models import Household, Person, PovertyLine
from fupin.registry.schemas import (
    ChangeIn,
    ErrorOut,
    HouseholdDetailOut,
    HouseholdIn,
    HouseholdOut,
    HouseholdPage,
    HouseholdPatch,
    MemberOut,
    MemberPage,
    PersonPatch,
    VillageOut,
)

router = Router(tags=["households"])
MAX_LIMIT = 500


# the list page's filters (fupin/registry/filters.py) with the area and the paging; the extension filters (the
# tracking light, the cadre) are read from the query string by the same declaration
ListQuery = household_filters().schema("ListQuery", division=(str, ""),
                                       limit=(Annotated[int, Field(ge=1, le=MAX_LIMIT)], 50), offset=(Offset, 0))


def _mask(user):
    return idviews.formatter(user)


def _key(hh: Household | None) -> str | None:
    return (hh.poor_code or str(hh.uuid)) if hh is not None else None


def _household_out(hh: Household, t: CodeTables) -> dict:
    return {
        "uuid": str(hh.uuid), "version": hh.version, "poor_code": hh.poor_code, "hukou_no": hh.hukou_no,
        "village": hh.village.code, "village_name": hh.village.name,
        "town_name": hh.village.parent.name if hh.village.parent_id else "",
        "grid": hh.grid.code if hh.grid_id else None, "area_code": hh.area_code, "group_name": hh.group_name,
        "address": hh.address, "head_name": hh.head_name, "phone": hh.phone, "size": hh.size,
        "is_registered_poor": hh.is_registered_poor, "identification_standard": hh.identification_standard,
        "attribute": hh.attribute, "attribute_label": t.label("attribute", hh.attribute),
        "main_cause": hh.main_cause, "main_cause_label": t.label("cause", hh.main_cause),
        "other_causes": list(hh.other_causes or []), "poverty_status": hh.poverty_status,
        "poverty_status_label": t.label("status", hh.poverty_status), "year_identified": hh.year_identified,
        "year_exited": hh.year_exited, "monitoring_category": hh.monitoring_category,
        "per_capita_net_income": hh.per_capita_net_income, "lng": hh.lng, "lat": hh.lat,
        "dissolved_on": hh.dissolved_on, "url": hh.get_absolute_url(),
    }


def _member_out(p: Person, t: CodeTables, mask, household_key: str | None = None) -> dict:
    return {
        "uuid": str(p.uuid), "version": p.version, "name": p.name, "relationship": p.relationship,
        "relationship_label": t.label("relationship", p.relationship), "id_number": mask(p.id_number),
        "id_valid": p.id_valid, "sex": p.sex, "birth_date": p.birth_date, "ethnicity": p.ethnicity,
        "political_status": p.political_status, "education": p.education, "schooling": p.schooling,
        "health": list(p.health or []), "labour_skill": p.labour_skill, "work_status": p.work_status,
        "work_months": p.work_months, "work_place": p.work_place, "dibao": p.dibao,
        "rural_medical": p.rural_medical, "pension_insurance": p.pension_insurance,
        "serious_illness_insurance": p.serious_illness_insurance, "serving_soldier": p.serving_soldier,
        "disability_card": mask(p.disability_card), "disability_category": p.disability_category,
        "disability_grade": p.disability_grade, "phone": p.phone, "is_alive": p.is_alive,
        "death_date": p.death_date, "household": household_key, "area_code": p.area_code,
    }


def _detail_out(request, hh: Household) -> dict:
    t = code_tables()
    mask = _mask(request.user)
    key = _key(hh)
    lines = dict(PovertyLine.objects.values_list("year", "amount"))
    check = selectors.income_check(hh, lines=lines)
    income = {k: getattr(hh, k) for k in ("income_year", *services.INCOME_FIELDS, "annual_income", "net_income",
                                          "per_capita_net_income")}
    income.update(poverty_line=check.line, poverty_line_year=check.year, above_line=check.above)
    changes = [{"uuid": str(c.uuid), "kind": c.kind, "date": c.date, "person": str(c.person.uuid),
                "person_name": c.person.name, "from_household": _key(c.from_household),
                "to_household": _key(c.to_household), "note": c.note, "actor": c.actor_name}
               for c in selectors.member_changes(hh)[:100]]
    extra = {f: getattr(hh, f) for f in HouseholdDetailOut.model_fields
             if f not in HouseholdOut.model_fields and f not in ("income", "members", "changes")}
    return {**_household_out(hh, t), **extra, "income": income, "changes": changes,
            "members": [_member_out(p, t, mask, key) for p in selectors.household_members(hh)]}


def _get(request, key: str) -> Household:
    try:
        return selectors.household_get(request.user, key)
    except Http404 as exc:
        raise Http404(_("No such household, or outside your jurisdiction")) from exc


def _may_edit(user) -> bool:
    return user.is_superuser or user.can("edit")


@router.get("/", response=HouseholdPage)
def list_households(request, filters: Query[ListQuery]):
    """Households filtered as the household list filters them (`poor` "1" registered poor, the default; "0" the
    others; "all" every resident); a refused value answers 422."""
    area = area_for_code(request.user, filters.division) if filters.division else None
    found = household_filters().read_api({**filters.dict(), **request.GET.dict()}, request.user)
    qs = household_queryset(request.user, found, area_prefix=area.prefix if area else None)
    limit, offset = filters.limit, filters.offset
    t = code_tables()
    return {"count": qs.count(), "limit": limit, "offset": offset,
            "items": [_household_out(h, t) for h in qs[offset:offset + limit]]}


@router.post("/", response={200: HouseholdDetailOut, 201: HouseholdDetailOut, 400: ErrorOut, 403: ErrorOut,
                            404: ErrorOut, 409: ErrorOut})
def create_household(request, payload: HouseholdIn):
    if not _may_edit(request.user):
        return Status(403, {"detail": _("You may not register households")})
    if payload.uuid:
        existing = Household.objects.filter(uuid=payload.uuid).first()
        if existing is not None:
            if not Household.objects.restrict(request.user).filter(pk=existing.pk).exists():
                return Status(409, {"detail": _("The uuid is already used"), "field": "uuid"})
            return Status(200, _detail_out(request, _get(request, str(existing.uuid))))
    village = Division.objects.restrict(request.user).filter(code=payload.village).first()
    if village is None:
        return Status(404, {"detail": _("Village not found, or outside your jurisdiction: %(village)s") % {"village": payload.village}, "field": "village"})
    grid = None
    if payload.grid:
        grid = Grid.objects.restrict(request.user).filter(code=payload.grid).first()
        if grid is None:
            return Status(404, {"detail": _("Grid not found, or outside your jurisdiction: %(grid)s") % {"grid": payload.grid}, "field": "grid"})
    fields = payload.dict(exclude_none=True, exclude={"uuid", "village", "grid", "members"})
    members = []
    for m in payload.members:
        d = m.dict(exclude_none=True)
        if d.get("uuid") is None:
            d.pop("uuid", None)
        members.append(d)
    with refusal_as(400, field=True):
        hh = services.household_create(actor=request.user, village=village, grid=grid, members=members,
                                       uuid=payload.uuid, **fields)
    return Status(201, _detail_out(request, _get(request, str(hh.uuid))))


class PersonQuery(Schema):
    q: str = ""
    division: str = ""
    household: str = ""
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 50
    offset: Offset = 0


@router.get("/persons", response=MemberPage)
def list_persons(request, filters: Query[PersonQuery]):
    area = area_for_code(request.user, filters.division) if filters.division else None
    qs = selectors.person_list(request.user, area_prefix=area.prefix if area else None, q=filters.q,
                               household_key=filters.household)
    limit, offset = filters.limit, filters.offset
    t = code_tables()
    mask = _mask(request.user)
    return {"count": qs.count(), "limit": limit, "offset": offset,
            "items": [_member_out(p, t, mask, _key(p.household)) for p in qs[offset:offset + limit]]}


@router.patch("/persons/{uuid}", response={200: MemberOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                           409: ErrorOut})
def update_person(request, uuid: uuidlib.UUID, payload: PersonPatch):
    person = Person.objects.restrict(request.user).select_related("household").filter(uuid=uuid).first()
    if person is None:
        return Status(404, {"detail": _("No such member, or outside your jurisdiction")})
    if not _may_edit(request.user):
        return Status(403, {"detail": _("You may not change members' information")})
    changes = payload.dict(exclude_unset=True, exclude={"expected_version"})
    with refusal_as(400, field=True, conflict=409):
        p = services.person_update(actor=request.user, person=person, expected_version=payload.expected_version,
                                   **changes)
    return Status(200, _member_out(p, code_tables(), _mask(request.user), _key(p.household)))


@router.get("/villages/{code}", response=VillageOut)
def get_village(request, code: str):
    village = Division.objects.restrict(request.user).select_related("parent").filter(
        code=code, level__in=("village", "community")).first()
    if village is None:
        raise Http404(_("Village not found, or outside your jurisdiction"))
    f = selectors.village_figures(village)
    return {"code": village.code, "name": village.name, "town_name": village.parent.name if village.parent else "",
            "is_poor_village": village.is_poor_village, "year": f.year,
            "registered_households": f.registered_households, "poor_households_not_out": f.poor_households_not_out,
            "poor_persons_not_out": f.poor_persons_not_out, "residents": f.residents,
            "rural_population": f.rural_population, "population_source": f.population_source,
            "incidence": f.incidence}


# Change requests (births, deaths, moves reported from the field; fupin/registry/change_requests.py) -------------


class ChangeRequestIn(Schema):
    household: str  # 户编号 or uuid
    kind: str  # birth, death, move_in, move_out, household_move
    date: str | None = None
    payload: dict[str, Any] = {}
    note: str = ""
    uuid: uuidlib.UUID | None = None  # client id: a retry returns the first request


class ChangeRequestDecisionIn(Schema):
    reason: str = ""


def _request(request, uid: uuidlib.UUID):
    from fupin.registry.models import ChangeRequest

    req = ChangeRequest.objects.restrict(request.user).select_related("household").filter(uuid=uid).first()
    if req is None:
        raise Http404(_("Application not found, or outside your jurisdiction"))
    return req


@router.get("/requests", response=list[dict[str, Any]])
def list_change_requests(request, state: str = "submitted", limit: Limit = 100):
    """Change requests of the caller's jurisdiction (state: submitted, approved, rejected; empty for all)."""
    from fupin.registry import change_requests as cr

    qs = cr.requests_for(request.user, state=state or None)
    return [cr.request_out(r, user=request.user) for r in qs[:limit]]


@router.post("/requests", response={200: dict[str, Any], 201: dict[str, Any], 400: ErrorOut, 404: ErrorOut})
def submit_change_request(request, payload: ChangeRequestIn):
    """Report a birth, death or move for the village team or the town to approve; nothing changes until then."""
    from fupin.registry import change_requests as cr
    from fupin.registry.models import ChangeRequest

    hh = _get(request, payload.household)
    existed = bool(payload.uuid) and ChangeRequest.objects.filter(uuid=payload.uuid).exists()
    with refusal_as(400, ErrorOut):
        req = cr.request_submit(actor=request.user, household=hh, kind=payload.kind, payload=payload.payload,
                                date=payload.date, note=payload.note, uuid=payload.uuid)
    return Status(200 if existed else 201, cr.request_out(req, user=request.user))


@router.post("/requests/{request_id}/approve", response={200: dict[str, Any], 400: ErrorOut, 404: ErrorOut})
def approve_change_request(request, request_id: uuidlib.UUID, payload: ChangeRequestDecisionIn):
    """Approve and record the change in the household (village team or town of the jurisdiction)."""
    from fupin.registry import change_requests as cr

    return _decide(request, request_id, cr.request_approve, note=payload.reason)


@router.post("/requests/{request_id}/reject", response={200: dict[str, Any], 400: ErrorOut, 404: ErrorOut})
def reject_change_request(request, request_id: uuidlib.UUID, payload: ChangeRequestDecisionIn):
    """Send the request back with a reason."""
    from fupin.registry import change_requests as cr

    return _decide(request, request_id, cr.request_reject, reason=payload.reason)


def _decide(request, request_id: uuidlib.UUID, decide, **why):
    """A decision on a change request (cr.request_approve or request_reject): the request as it now stands, or 400
    with the service's refusal."""
    from fupin.registry import change_requests as cr

    with refusal_as(400, ErrorOut):
        req = decide(actor=request.user, request=_request(request, request_id), **why)
    return cr.request_out(req, user=request.user)


@router.get("/{key}", response=HouseholdDetailOut)
def get_household(request, key: str):
    return _detail_out(request, _get(request, key))


@router.patch("/{key}", response={200: HouseholdDetailOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut})
def update_household(request, key: str, payload: HouseholdPatch):
    hh = _get(request, key)
    if not _may_edit(request.user):
        return Status(403, {"detail": _("You may not change household information")})
    changes = payload.dict(exclude_unset=True, exclude={"expected_version"})
    if "grid" in changes:
        code = changes.pop("grid")
        grid = Grid.objects.restrict(request.user).filter(code=code).first() if code else None
        if code and grid is None:
            return Status(400, {"detail": _("Grid not found, or outside your jurisdiction: %(code)s") % {"code": code}, "field": "grid"})
        changes["grid"] = grid
    with refusal_as(400, field=True, conflict=409):
        hh = services.household_update(actor=request.user, household=hh, expected_version=payload.expected_version,
                                       **changes)
    return Status(200, _detail_out(request, _get(request, str(hh.uuid))))


@router.post("/{key}/changes", response={200: MemberOut, 201: MemberOut, 400: ErrorOut, 403: ErrorOut,
                                         404: ErrorOut})
def record_change(request, key: str, payload: ChangeIn):
    hh = _get(request, key)
    if not _may_edit(request.user):
        return Status(403, {"detail": _("You may not record member changes")})
    t, mask = code_tables(), _mask(request.user)
    visible = Person.objects.restrict(request.user)

    def member(u):
        if u is None:
            return None
        p = visible.filter(uuid=u, household=hh).first()
        if p is None:
            raise ServiceError(_("The household has no such member"), field="person")
        return p

    try:
        with refusal_as(400, field=True), transaction.atomic():
            if payload.kind in ("birth", "marriage_in", "add"):
                if payload.member is None:
                    raise ServiceError(_("Give the new member's information"), field="member")
                m = payload.member.dict(exclude_none=True)
                if m.get("uuid") and (done := Person.objects.filter(uuid=m["uuid"]).first()) is not None:
                    if not visible.filter(pk=done.pk).exists():
                        raise ServiceError(_("The uuid is already used"), field="uuid")
                    return Status(200, _member_out(done, t, mask, _key(done.household)))
                p = services.member_add(actor=request.user, household=hh, member=m, kind=payload.kind,
                                        date=payload.date, note=payload.note)
            elif payload.kind == "death":
                p = services.member_death(actor=request.user, person=member(payload.person), date=payload.date,
                                          new_head=member(payload.new_head), note=payload.note)
            elif payload.kind in ("marriage_out", "move_out"):
                p = services.member_leave(actor=request.user, person=member(payload.person), date=payload.date,
                                          kind=payload.kind, new_head=member(payload.new_head), note=payload.note)
            elif payload.kind == "move":
                target = selectors.household_get(request.user, payload.to_household or "")
                p = services.member_move(actor=request.user, person=member(payload.person), to_household=target,
                                         relationship=payload.relationship or "其他", date=payload.date,
                                         new_head=member(payload.new_head), note=payload.note)
            elif payload.kind == "head":
                person = member(payload.person)
                services.head_change(actor=request.user, household=hh, new_head=person,
                                     old_head_relationship=payload.relationship or "其他", date=payload.date,
                                     note=payload.note)
                p = Person.objects.get(pk=person.pk)
            else:
                raise ServiceError(_("Unknown change type: %(kind)s") % {"kind": payload.kind}, field="kind")
    except Http404:
        return Status(404, {"detail": _("Target household not found, or outside your jurisdiction"), "field": "to_household"})
    p.refresh_from_db()
    return Status(201, _member_out(p, t, mask, _key(p.household)))

