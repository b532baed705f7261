"""Data-quality API (/api/v1/quality/): open problems of the caller's jurisdiction, the rules, the latest run.

- GET /problems      open problems (village code, rule key, limit/offset), scoped
- GET /rules         the rule set
- GET /runs/latest   the latest finished run's counts
"""

from __future__ import annotations

from typing import Annotated

from ninja import Query, Router, Schema
from pydantic import Field

from fupin.core.apiparams import Offset
from fupin.quality.filters import PROBLEM_FILTERS
from fupin.quality.models import Problem, Rule, Run

router = Router(tags=["data quality"])


class ProblemOut(Schema):
    id: int
    rule: str
    rule_label: str
    household: str | None
    village: str | None
    area_code: str
    item: str
    detail: str
    opened_at: str


class ProblemPage(Schema):
    count: int
    items: list[ProblemOut]


class QualityRuleOut(Schema):
    key: str
    label: str
    subject: str
    condition: str
    builtin: str
    is_active: bool
    version: int


class RunOut(Schema):
    finished_at: str | None
    open_total: int
    opened: int
    closed: int
    seconds: float
    counts: dict[str, int]


ProblemQuery = PROBLEM_FILTERS.schema("ProblemQuery", limit=(Annotated[int, Field(ge=1, le=500)], 100),
                                      offset=(Offset, 0))


@router.get("/problems", response=ProblemPage)
def problems(request, q: Query[ProblemQuery]):
    """Open problems filtered as the village page filters them (fupin/quality/filters.py); a refused value: 422."""
    qs = PROBLEM_FILTERS.read_api(q, request.user).apply(
        Problem.objects.restrict(request.user).filter(status=Problem.Status.OPEN)
        .select_related("rule", "household", "village").order_by("area_code", "id"))
    limit = q.limit
    items = [{"id": p.pk, "rule": p.rule.key, "rule_label": p.rule.label,
              "household": p.household.url_key if p.household_id else None,
              "village": p.village.code if p.village_id else None, "area_code": p.area_code, "item": p.item,
              "detail": p.detail, "opened_at": p.opened_at.isoformat()} for p in qs[q.offset:q.offset + limit]]
    return {"count": qs.count(), "items": items}


@router.get("/rules", response=list[QualityRuleOut])
def rules(request):
    return list(Rule.objects.all())


@router.get("/runs/latest", response=RunOut | None)
def latest(request):
    run = Run.objects.filter(status=Run.Status.DONE).first()
    if run is None:
        return None
    return {"finished_at": run.finished_at.isoformat() if run.finished_at else None, "open_total": run.open_total,
            "opened": run.opened, "closed": run.closed, "seconds": run.seconds, "counts": run.counts}
