"""Reads of data quality, always scoped to the user's jurisdiction."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from fupin.geo.models import Division
from fupin.quality.models import Problem, Rule, Run
from fupin.registry.models import Household, Person


def latest_run() -> Run | None:
    return Run.objects.filter(status=Run.Status.DONE).first()


def open_problems(user) -> QuerySet:
    return Problem.objects.restrict(user).filter(status=Problem.Status.OPEN)


def village_table(user, qs: QuerySet | None = None) -> list[dict]:
    """Open problems per village (with their households), largest first."""
    qs = qs if qs is not None else open_problems(user)
    rows = list(qs.values("village_id").annotate(n=Count("id"), households=Count("household", distinct=True))
                .order_by("-n"))
    villages = {d.pk: d for d in Division.objects.filter(pk__in=[r["village_id"] for r in rows if r["village_id"]])
                .select_related("parent")}
    return [{"village": villages.get(r["village_id"]), **r} for r in rows]


def rule_counts(qs: QuerySet) -> list[dict]:
    counts = dict(qs.values_list("rule_id").annotate(n=Count("id")))
    return [{"rule": r, "n": counts.get(r.pk, 0)} for r in Rule.objects.all()]


ITEM_LABELS = {"pairing": "帮扶责任人"}


def item_label(item: str) -> str:
    for model in (Household, Person):
        try:
            return str(model._meta.get_field(item).verbose_name)
        except Exception:  # noqa: S112 - not a field of this model
            continue
    return ITEM_LABELS.get(item, item)


def village_problems(user, village: Division) -> QuerySet:
    """The village's open problems; the page narrows them by PROBLEM_FILTERS (fupin/quality/filters.py)."""
    qs = (open_problems(user).filter(Q(village=village) | Q(area_code__startswith=village.code))
          .select_related("rule", "household", "person", "response", "response__form"))
    return qs.order_by("household_id", "rule__order", "id")
