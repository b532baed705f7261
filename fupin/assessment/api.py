"""Assessment API (/api/v1/assessment/): scores and rankings, field-check rates, recording a field check from the
phone, policy gaps and risk alerts. Every list is scoped to the caller's jurisdiction."""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError

from fupin.assessment import selectors, services
from fupin.assessment.choices import AlertStatus, GapStatus, SubjectKind
from fupin.assessment.facts import parse_period
from fupin.assessment.models import FieldCheck
from fupin.core.apierrors import refusal_as
from fupin.core.i18n import shown

router = Router(tags=["assessment"])
MAX_PAGE = 1000


class ScoreOut(Schema):
    kind: str
    code: str
    name: str
    score: float
    rank: int
    rank_of: int
    grade: str
    period: str
    indicators: dict
    parts: dict


class RateRowOut(Schema):
    code: str
    name: str
    checks: int
    checks_exited: int
    checks_other: int
    checks_answered: int
    rates: dict


class RatesOut(Schema):
    year: int
    labels: dict
    villages: list[RateRowOut]
    towns: list[RateRowOut]
    total: RateRowOut


class CheckIn(Schema):
    satisfied: bool | None = None
    correctly_identified: bool | None = None
    wrongly_exited: bool | None = None
    missed_found: bool | None = None
    note: str = ""
    checked_on: dt.date | None = None
    version: int | None = None


class CheckOut(Schema):
    id: int
    household: uuidlib.UUID
    stratum: str
    status: str
    correctly_identified: bool | None
    wrongly_exited: bool | None
    missed_found: bool | None
    satisfied: bool | None
    checked_on: dt.date | None
    version: int


class GapOut(Schema):
    id: int
    household: uuidlib.UUID
    head_name: str
    member_name: str | None
    rule_code: str
    rule_name: str
    status: str
    opened_on: dt.date
    closed_on: dt.date | None
    work_order: str | None


class AlertOut(Schema):
    id: int
    household: uuidlib.UUID
    head_name: str
    signal: str
    detail: str
    raised_on: dt.date
    status: str


def _prefix(request, division: str | None) -> str:
    prefix = selectors.effective_prefix(request.user, division)
    if prefix is None:
        raise HttpError(403, _("You have no jurisdiction"))
    return prefix


@router.get("/scores", response=list[ScoreOut])
def scores(request, period: str, kind: str = "village", division: str | None = None, limit: int = 200):
    try:
        code = parse_period(period).code
    except ValueError as exc:
        raise HttpError(422, str(exc)) from exc
    if kind not in SubjectKind.values:
        raise HttpError(422, _("Invalid assessment subject"))
    _run, qs = selectors.ranking(request.user, period=code, kind=kind, prefix=_prefix(request, division))
    return list(qs[:max(1, min(limit, MAX_PAGE))])


@router.get("/rates", response=RatesOut)
def rates(request, year: int, division: str | None = None):
    if not 2000 <= year <= 2100:
        raise HttpError(422, _("Invalid year"))
    return selectors.field_check_rates(request.user, year=year, prefix=_prefix(request, division))


def _check_out(c: FieldCheck) -> dict:
    return {"id": c.pk, "household": c.household.uuid, "stratum": c.stratum, "status": c.status,
            "correctly_identified": c.correctly_identified, "wrongly_exited": c.wrongly_exited,
            "missed_found": c.missed_found, "satisfied": c.satisfied, "checked_on": c.checked_on,
            "version": c.version}


@router.post("/checks/{check_id}", response=CheckOut)
def record_check(request, check_id: int, payload: CheckIn):
    check = get_object_or_404(FieldCheck.objects.restrict(request.user).select_related("household"), pk=check_id)
    if not request.user.can("edit"):
        raise HttpError(403, _("You may not enter data"))
    with refusal_as(422):
        check = services.check_record(actor=request.user, check=check, **payload.dict())
    return _check_out(check)


@router.get("/gaps", response=list[GapOut])
def gaps(request, status: str = GapStatus.OPEN, division: str | None = None, limit: int = 200):
    if status not in GapStatus.values:
        raise HttpError(422, _("Invalid status"))
    qs = selectors.gaps(request.user, prefix=_prefix(request, division), status=status)
    return [{"id": g.pk, "household": g.household.uuid, "head_name": g.household.head_name,
             "member_name": g.person.name if g.person_id else None, "rule_code": g.rule.code,
             "rule_name": g.rule.name, "status": g.status, "opened_on": g.opened_on, "closed_on": g.closed_on,
             "work_order": g.work_order.number if g.work_order_id else None}
            for g in qs[:max(1, min(limit, MAX_PAGE))]]


@router.get("/alerts", response=list[AlertOut])
def alerts(request, status: str = AlertStatus.OPEN, division: str | None = None, limit: int = 200,
           kind: str = "alert"):
    """Open risk alerts; kind=survey lists the income-survey tasks, kind=all both."""
    if status not in AlertStatus.values:
        raise HttpError(422, _("Invalid status"))
    if kind not in selectors.ALERT_KINDS:
        raise HttpError(422, _("Invalid kind"))
    qs = selectors.alerts(request.user, prefix=_prefix(request, division), status=status, kind=kind)
    return [{"id": a.pk, "household": a.household.uuid, "head_name": a.household.head_name, "signal": a.signal,
             "detail": shown(a.detail), "raised_on": a.raised_on, "status": a.status}
            for a in qs[:max(1, min(limit, MAX_PAGE))]]
