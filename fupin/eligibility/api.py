"""Comparison findings (scoped), their verification, rule sets, and starting a comparison."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from fupin.core import idviews
from fupin.core.apierrors import refusal_as
from fupin.core.services import job_create
from fupin.eligibility import selectors, services
from fupin.eligibility.filters import FINDING_FILTERS
from fupin.eligibility.models import Finding, RuleSet
from fupin.exchange.public import county_wide

router = Router(tags=["eligibility"])


class FindingOut(Schema):
    uuid: UUID
    household: str
    rule: str
    rule_name: str
    person: str | None
    source: str
    status: str
    reason: str
    evidence: dict


class ActionIn(Schema):
    text: str = ""


class RuleOut(Schema):
    code: str
    kind: str
    name: str
    description: str
    subject: str
    expression: str


class RuleSetOut(Schema):
    number: int
    name: str
    status: str
    released_by: str
    released_at: str | None
    rules: list[RuleOut]


class QueuedJobOut(Schema):
    job: UUID
    url: str


def _masked_evidence(ev: dict, user) -> dict:
    import json

    return json.loads(idviews.shown_in_text(json.dumps(ev, ensure_ascii=False), user))


def _out(f: Finding, user) -> dict:
    return {"uuid": f.uuid, "household": f.household_code, "rule": f.rule_code, "rule_name": f.rule_name,
            "person": idviews.shown_in_text(f.person_id_number, user) or None, "source": f.source_code, "status": f.status,
            "reason": f.reason, "evidence": _masked_evidence(f.evidence, user)}


FindingQuery = FINDING_FILTERS.schema("FindingQuery")


@router.get("/findings", response=list[FindingOut])
def list_findings(request, filters: Query[FindingQuery]):
    """Findings filtered as the findings page filters them (fupin/eligibility/filters.py); a refused value: 422."""
    values = FINDING_FILTERS.read_api(filters, request.user).values
    found = selectors.findings_for_user(request.user, status=values["status"] or None, rule=values["rule"] or None)
    return [_out(f, request.user) for f in found[:1000]]


@router.get("/findings/{uuid}", response=FindingOut)
def get_finding(request, uuid: UUID):
    f = selectors.finding_for_user(request.user, uuid)
    if f is None:
        raise Http404
    return _out(f, request.user)


@router.post("/findings/{uuid}/{action}", response=FindingOut)
def act(request, uuid: UUID, action: str, body: ActionIn):
    f = selectors.finding_for_user(request.user, uuid)
    if f is None:
        raise Http404
    if not request.user.can("edit"):
        raise HttpError(403, _("Not allowed"))
    fn = {"confirm": lambda: services.finding_confirm(actor=request.user, finding=f, note=body.text),
          "dismiss": lambda: services.finding_dismiss(actor=request.user, finding=f, reason=body.text),
          "correct": lambda: services.finding_correct(actor=request.user, finding=f, note=body.text)}.get(action)
    if fn is None:
        raise HttpError(404, _("Unknown action"))
    with refusal_as(400):
        return _out(fn(), request.user)


@router.get("/rulesets", response=list[RuleSetOut])
def list_rulesets(request):
    return [{"number": rs.number, "name": rs.name, "status": rs.status, "released_by": rs.released_by_name,
             "released_at": rs.released_at.isoformat() if rs.released_at else None,
             "rules": [{"code": r.code, "kind": r.kind, "name": r.name, "description": r.description,
                        "subject": r.subject, "expression": r.expression} for r in rs.rules.all()]}
            for rs in RuleSet.objects.prefetch_related("rules")]


@router.post("/compare", response=QueuedJobOut)
def start_compare(request):
    if not county_wide(request.user):
        raise HttpError(403, _("Only county staff may start a comparison"))
    job = job_create(kind="eligibility.compare", title="部门数据比对", actor=request.user)
    return {"job": job.uuid, "url": job.get_absolute_url()}
