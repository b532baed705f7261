"""Reads of the procedures: settings, pipelines, batches, notice lists, village incidence."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet

from fupin.lifecycle.choices import Kind, Status
from fupin.lifecycle.definitions import PROCEDURES, SETTINGS, SPOT_CHECK_STEP
from fupin.lifecycle.models import Procedure, ProcedureBatch, ProcedureSetting, ProcedureStep, StepAttachment


def setting_value(key: str) -> Decimal:
    """A county setting: the value saved in the database, else settings.FUPIN_PROCEDURES[key], else the default."""
    sdef = SETTINGS[key]
    saved = ProcedureSetting.objects.filter(key=key).values_list("value", flat=True).first()
    if saved is not None:
        return Decimal(saved)
    configured = getattr(settings, "FUPIN_PROCEDURES", {}).get(key)
    if configured is not None:
        return Decimal(str(configured))
    return sdef.default


def settings_table() -> list[dict]:
    saved = dict(ProcedureSetting.objects.values_list("key", "value"))
    rows = []
    for key, sdef in SETTINGS.items():
        value = setting_value(key) if key not in saved else Decimal(saved[key])
        rows.append({"key": key, "label": sdef.label, "value": value if not sdef.integer else int(value),
                     "default": sdef.default if not sdef.integer else int(sdef.default), "saved": key in saved,
                     "integer": sdef.integer})
    return rows


def procedure_list(*, user, **filters) -> QuerySet[Procedure]:
    """The user's procedures, last changed first; `filters`: values of the list's filters by name (kind, status,
    step, division, household, q: fupin/lifecycle/filters.py), each applied as declared there."""
    from fupin.lifecycle.filters import PROCEDURE_FILTERS

    qs = Procedure.objects.restrict(user).select_related("household", "village", "village__parent", "batch")
    return PROCEDURE_FILTERS.narrow(qs, filters, user).order_by("-updated_at")


def pipeline_counts(*, user, division: str = "") -> list[dict]:
    """Open procedures by kind and current step, in the order of the steps (the pipeline page's table)."""
    qs = Procedure.objects.restrict(user).filter(status=Status.OPEN)
    if division:
        qs = qs.filter(area_code__startswith=division)
    counts = {(r["kind"], r["current_step"]): r["n"]
              for r in qs.values("kind", "current_step").annotate(n=Count("id"))}
    done = {(r["kind"], r["status"]): r["n"]
            for r in Procedure.objects.restrict(user).exclude(status=Status.OPEN)
            .filter(area_code__startswith=division).values("kind", "status").annotate(n=Count("id"))}
    out = []
    for kind, pdef in PROCEDURES.items():
        steps = [{"code": s.code, "label": s.label, "count": counts.get((kind, s.code), 0)} for s in pdef.steps]
        out.append({"kind": kind, "label": pdef.label, "steps": steps, "open": sum(s["count"] for s in steps),
                    "completed": done.get((kind, Status.COMPLETED), 0),
                    "rejected": done.get((kind, Status.REJECTED), 0)})
    return out


def procedure_detail(*, user, uuid) -> Procedure:
    """One procedure the user may see, with its steps and files (raises Procedure.DoesNotExist otherwise)."""
    steps = ProcedureStep.objects.select_related("actor").prefetch_related(
        Prefetch("attachments", queryset=StepAttachment.objects.order_by("id")))
    return (Procedure.objects.restrict(user)
            .select_related("household", "village", "village__parent", "batch", "started_by")
            .prefetch_related(Prefetch("steps", queryset=steps.order_by("seq")))
            .get(uuid=uuid))


def household_procedures(*, user, household) -> QuerySet[Procedure]:
    steps = ProcedureStep.objects.select_related("actor").prefetch_related("attachments").order_by("seq")
    return (Procedure.objects.restrict(user).filter(household=household).select_related("batch")
            .prefetch_related(Prefetch("steps", queryset=steps)).order_by("-created_at"))


def batches_for(*, user) -> QuerySet[ProcedureBatch]:
    """Batches the user may see: those of the user's town or above, and those holding a procedure the user sees."""
    visible = Procedure.objects.restrict(user).filter(batch__isnull=False).values("batch_id")
    return (ProcedureBatch.objects.filter(Q(pk__in=ProcedureBatch.objects.restrict(user).values("pk"))
                                          | Q(pk__in=visible))
            .select_related("town").annotate(n=Count("procedures", distinct=True)))


def batch_procedures(*, user, batch: ProcedureBatch) -> QuerySet[Procedure]:
    return (Procedure.objects.restrict(user).filter(batch=batch)
            .select_related("household", "village", "village__parent").order_by("area_code", "household__head_name"))


def latest_step(procedure: Procedure, code: str, *, approved: bool = True) -> ProcedureStep | None:
    qs = procedure.steps.filter(step=code)
    if approved:
        qs = qs.filter(decision="approve")
    return qs.order_by("-seq").first()


@dataclass
class BatchSpotChecks:
    """How far a batch is with its spot-checks at one level."""

    level: str
    ratio: Decimal
    households: int
    needed: int
    checked: int

    @property
    def met(self) -> bool:
        return self.checked >= self.needed

    @property
    def percent(self) -> str:
        return f"{self.ratio * 100:g}"


def spot_check_state(batch: ProcedureBatch | None, level: str, *, procedure: Procedure | None = None
                     ) -> BatchSpotChecks:
    """Households of the batch (not rejected), how many spot-checks the ratio needs, how many were made."""
    ratio = setting_value(f"{level}_spot_check_ratio")
    if batch is not None:
        members = Procedure.objects.filter(batch=batch).exclude(status=Status.REJECTED)
    else:
        members = Procedure.objects.filter(pk=procedure.pk if procedure else None)
    n = members.count()
    checked = (ProcedureStep.objects.filter(procedure__in=members, step=SPOT_CHECK_STEP[level])
               .values("procedure").distinct().count())
    needed = int((ratio * n).to_integral_value(rounding="ROUND_CEILING")) if n else 0
    return BatchSpotChecks(level=level, ratio=ratio, households=n, needed=max(needed, 1 if n else 0),
                           checked=checked)


@dataclass
class Incidence:
    """Poverty incidence of a village from the registry: people not yet out of poverty / registered population."""

    poor: int
    population: int

    @property
    def ratio(self) -> Decimal:
        return (Decimal(self.poor) / Decimal(self.population)) if self.population else Decimal(0)


NOT_OUT = ("0", "2", "3")


def village_incidence(village) -> Incidence:
    from fupin.registry.models import Person

    people = Person.objects.filter(household__village=village, is_alive=True)
    agg = people.aggregate(population=Count("id"), poor=Count(
        "id", filter=Q(household__is_registered_poor=True, household__poverty_status__in=NOT_OUT)))
    return Incidence(poor=agg["poor"], population=agg["population"])


@dataclass
class NoticeRow:
    town: str
    village: str
    code: str
    head: str
    id_number: str
    size: int
    attribute: str
    cause: str


@dataclass
class NoticeSection:
    """The notice list of one village: its period and its households."""

    village: str
    town: str
    start: dt.date
    until: dt.date
    rows: list[NoticeRow]


def notice_steps(kind: str) -> list:
    return [s for s in PROCEDURES[kind].steps if s.notice]


def notice_sections(*, user, batch: ProcedureBatch, step_code: str) -> list[NoticeSection]:
    """The households of a batch whose notice step `step_code` was recorded, grouped by village (each village posts
    its own list). A notice is a public document: ID numbers are masked whatever the printing user's role."""
    from fupin.core import idnumber
    from fupin.registry.codes import ATTRIBUTE, CAUSE
    from fupin.registry.models import Person

    labels_attr, labels_cause = _code_labels("attribute", ATTRIBUTE), _code_labels("cause", CAUSE)
    procs = list(batch_procedures(user=user, batch=batch).exclude(status=Status.REJECTED))
    notice = {s.procedure_id: s for s in ProcedureStep.objects.filter(
        procedure__in=procs, step=step_code, decision="approve").order_by("seq")}
    visits = {s.procedure_id: s for s in ProcedureStep.objects.filter(
        procedure__in=procs, step="visit", decision="approve").order_by("seq")}
    heads = {p.household_id: p.id_number for p in Person.objects.filter(
        household_id__in=[p.household_id for p in procs], relationship="户主")}
    sections: dict[int, NoticeSection] = {}
    for proc in procs:
        step = notice.get(proc.pk)
        if step is None or proc.household is None:
            continue
        hh = proc.household
        proposed = visits[proc.pk].data if proc.pk in visits else {}
        start = step.date
        until = dt.date.fromisoformat(step.data.get("notice_until", start.isoformat()))
        town = proc.village.parent.name if proc.village.parent_id else ""
        sec = sections.setdefault(proc.village_id, NoticeSection(village=proc.village.name, town=town,
                                                                 start=start, until=until, rows=[]))
        sec.start, sec.until = min(sec.start, start), max(sec.until, until)
        number = heads.get(hh.pk, "")
        sec.rows.append(NoticeRow(
            town=town, village=proc.village.name, code=hh.poor_code or "(待编号)",
            head=hh.head_name, id_number=idnumber.mask(number), size=hh.size,
            attribute=labels_attr.get(hh.attribute or proposed.get("attribute", ""), ""),
            cause=labels_cause.get(hh.main_cause or proposed.get("main_cause", ""), "")))
    return sorted(sections.values(), key=lambda s: (s.town, s.village))


def _code_labels(key: str, defaults: list[tuple[str, str]]) -> dict[str, str]:
    from fupin.core.models import CodeItem

    labels = dict(defaults)
    labels.update(dict(CodeItem.objects.filter(code_list__key=key).values_list("code", "label")))
    return labels


def code_labels(key: str) -> dict[str, str]:
    from fupin.registry import codes

    lists = {"attribute": codes.ATTRIBUTE, "cause": codes.CAUSE, "status": codes.STATUS,
             "standard": codes.STANDARD, "monitoring_category": codes.MONITORING_CATEGORY,
             "monitoring_risk": codes.MONITORING_RISK, "relationship": codes.RELATIONSHIP, "sex": codes.SEX,
             "health": codes.HEALTH, "labour": codes.LABOUR, "education": codes.EDUCATION,
             "schooling": codes.SCHOOLING, "housing_structure": codes.HOUSING_STRUCTURE,
             "water_source": codes.WATER_SOURCE, "dilapidated": codes.DILAPIDATED}
    return _code_labels(key, lists.get(key, []))


def kinds() -> list[tuple[str, str]]:
    return list(Kind.choices)
