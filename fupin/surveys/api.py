"""Collection forms API (/api/v1/surveys/): definitions for the phone app, responses of the caller's jurisdiction.

- GET  /forms                         forms with their current version number
- GET  /forms/{key}/versions/{n}      one version's definition (what the phone app renders)
- GET  /forms/{key}/responses         responses (period, limit/offset), scoped
- GET  /responses/{uuid}              one response with its answers, scoped (ID numbers masked for roles that may not
                                      see them)
- POST /forms/{key}/responses         submit answers for a household (`household`: 户编号 or uuid) or a division
                                      (`division`: code) and a period; 400 with the problems per item, 409 when stale

Anything outside the caller's jurisdiction answers 404.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Annotated, Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from fupin.core import idviews
from fupin.core.apierrors import refusal_as
from fupin.core.apiparams import Offset
from fupin.geo.models import Division
from fupin.registry.models import Household
from fupin.surveys import definitions as defs
from fupin.surveys import services
from fupin.surveys.models import Form, FormVersion, Response

router = Router(tags=["collection forms"])


class FormOut(Schema):
    key: str
    name: str
    level: str
    period_kind: str
    current_version: int | None


class VersionOut(Schema):
    form: str
    number: int
    status: str
    definition: dict


class ResponseOut(Schema):
    uuid: str
    form: str
    version: int
    period: str
    household: str | None
    division: str
    version_no: int
    submitted_at: str | None
    data: dict


class ResponsePage(Schema):
    count: int
    items: list[ResponseOut]


class ResponseIn(Schema):
    period: str
    household: str = ""
    division: str = ""
    answers: dict[str, Any]
    expected_version: int | None = None


class FormErrorOut(Schema):
    detail: str
    errors: dict[str, str] | None = None


def _masked(r: Response, user) -> dict:
    if idviews.may_see_full(user):
        return r.data
    data = dict(r.data)
    for t in defs.tables(r.form_version.definition):
        cols = [c["key"] for c in t["columns"] if c.get("registry_field") == "id_number" or c["key"] == "id_number"]
        data[t["key"]] = [{**row, **{c: idviews.shown(row.get(c), user) for c in cols if row.get(c)}}
                          for row in data.get(t["key"]) or []]
    return data


def _out(r: Response, user) -> dict:
    return {"uuid": str(r.uuid), "form": r.form.key, "version": r.form_version.number, "period": r.period,
            "household": r.household.url_key if r.household_id else None, "division": r.division.code,
            "version_no": r.version, "submitted_at": r.submitted_at.isoformat() if r.submitted_at else None,
            "data": _masked(r, user)}


@router.get("/forms", response=list[FormOut])
def forms(request):
    return [{"key": f.key, "name": f.name, "level": f.level, "period_kind": f.period_kind,
             "current_version": (v.number if (v := services.current_version(f)) else None)}
            for f in Form.objects.all()]


@router.get("/forms/{key}/versions/{number}", response=VersionOut)
def version(request, key: str, number: int):
    v = get_object_or_404(FormVersion.objects.select_related("form"), form__key=key, number=number)
    return {"form": v.form.key, "number": v.number, "status": v.status, "definition": v.definition}


class PageQuery(Schema):
    period: str = ""
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    offset: Offset = 0


@router.get("/forms/{key}/responses", response=ResponsePage)
def responses(request, key: str, q: Query[PageQuery]):
    form = get_object_or_404(Form, key=key)
    qs = (Response.objects.restrict(request.user).filter(form=form)
          .select_related("form", "form_version", "household", "division").order_by("-period", "id"))
    if q.period:
        qs = qs.filter(period=q.period)
    limit = q.limit
    return {"count": qs.count(), "items": [_out(r, request.user) for r in qs[q.offset:q.offset + limit]]}


@router.get("/responses/{uuid}", response=ResponseOut)
def response(request, uuid: uuidlib.UUID):
    r = get_object_or_404(Response.objects.restrict(request.user).select_related("form", "form_version",
                                                                                 "household", "division"),
                          uuid=uuid)
    return _out(r, request.user)


@router.post("/forms/{key}/responses", response={200: ResponseOut, 400: FormErrorOut, 403: FormErrorOut, 404: FormErrorOut,
                                                 409: FormErrorOut})
def submit(request, key: str, payload: ResponseIn):
    if not (request.user.can("edit") and request.user.may_view_full_id):
        return Status(403, {"detail": _("You may not fill in collection forms")})
    form = get_object_or_404(Form, key=key)
    household = division = None
    if payload.household:
        qs = Household.objects.restrict(request.user)
        household = qs.filter(poor_code=payload.household).first() or (
            qs.filter(uuid=payload.household).first() if len(payload.household) == 36 else None)
        if household is None:
            return Status(404, {"detail": _("No such household, or outside your jurisdiction")})
    elif payload.division:
        division = Division.objects.restrict(request.user).filter(code=payload.division).first()
        if division is None:
            return Status(404, {"detail": _("No such division, or outside your jurisdiction")})
    with refusal_as(400, FormErrorOut, conflict=409):
        try:
            r = services.response_submit(actor=request.user, form=form, period=payload.period,
                                         answers=payload.answers, household=household, division=division,
                                         expected_version=payload.expected_version)
        except services.FormInvalid as exc:
            return Status(400, {"detail": exc.message, "errors": exc.errors})
    return Status(200, _out(Response.objects.select_related("form", "form_version", "household", "division")
                            .get(pk=r.pk), request.user))
