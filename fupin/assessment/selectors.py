"""Reads of assessment and screening, every one scoped to the user's jurisdiction."""

# ruff: noqa: S608 - the rate formulas are compiled expressions over quoted count columns
from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pyarrow as pa
from django.conf import settings
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fupin.assessment.choices import INCOME_SURVEY, AlertStatus, CheckStatus, GapStatus
from fupin.assessment.models import (
    CheckSample,
    FieldCheck,
    KinshipFlag,
    PolicyGap,
    RiskAlert,
    Score,
    ScoreRun,
)
from fupin.core import scoping
from fupin.core.i18n import join_list
from fupin.eligibility.expressions import compile_sql

# The field-check rates (name: label, formula, applies when). The national 成效考核 measures name 错退率, 漏评率 and
# 群众认可度 computed on sampled households; the exact official denominators were not found in the sources, so
# these are the plain household ratios below, overridable with the FUPIN_FIELD_CHECK_RATES setting.
DEFAULT_RATES = {
    "wrong_exit_rate": (gettext_lazy("wrong exit rate"), "100 * checks_wrong_exit / checks_exited", "checks_exited > 0"),
    "missed_rate": (gettext_lazy("missed identification rate"), "100 * checks_missed / checks_other", "checks_other > 0"),
    "misidentified_rate": (gettext_lazy("misidentification rate"), "100 * checks_misidentified / checks_poor", "checks_poor > 0"),
    "approval": (gettext_lazy("public approval"), "100 * checks_satisfied / checks_answered", "checks_answered > 0"),
}
RATE_LIMITS = {"wrong_exit_rate": ("<=", 2.0), "missed_rate": ("<=", 2.0), "approval": (">=", 90.0)}
COUNT_COLUMNS = ["checks", "checks_poor", "checks_misidentified", "checks_exited", "checks_wrong_exit", "checks_other",
                 "checks_missed", "checks_answered", "checks_satisfied"]


def rate_formulas() -> dict:
    return getattr(settings, "FUPIN_FIELD_CHECK_RATES", None) or DEFAULT_RATES


def _counts_q():
    return {
        "checks": Count("pk"),
        "checks_poor": Count("pk", filter=Q(stratum="poor")),
        "checks_misidentified": Count("pk", filter=Q(stratum="poor", correctly_identified=False)),
        "checks_exited": Count("pk", filter=Q(stratum="exited")),
        "checks_wrong_exit": Count("pk", filter=Q(stratum="exited", wrongly_exited=True)),
        "checks_other": Count("pk", filter=Q(stratum="other")),
        "checks_missed": Count("pk", filter=Q(stratum="other", missed_found=True)),
        "checks_answered": Count("pk", filter=Q(satisfied__isnull=False)),
        "checks_satisfied": Count("pk", filter=Q(satisfied=True)),
    }


def _apply_rates(rows: list[dict]) -> list[dict]:
    """Each row's rates computed by the formulas (the expression language, evaluated in the engine)."""
    from fupin.exchange.linkage import default_engine

    if not rows:
        return rows
    formulas = rate_formulas()

    def resolve(name):
        if name not in COUNT_COLUMNS:
            raise KeyError(name)
        return f'CAST("{name}" AS DOUBLE)', "number"

    cols = []
    for key, (_label, formula, applies) in formulas.items():
        cols.append(f'CASE WHEN {compile_sql(applies, resolve)} THEN round({compile_sql(formula, resolve, as_bool=False)}'
                    f', 2) END AS "{key}"')
    table = pa.table({"i": list(range(len(rows))),
                      **{c: pa.array([float(r.get(c) or 0) for r in rows], pa.float64()) for c in COUNT_COLUMNS}})
    out = default_engine().evaluate(tables={"t": table}, setup=[],
                                    queries={"r": f"SELECT i, {', '.join(cols)} FROM t ORDER BY i"})["r"].to_pylist()
    for r, o in zip(rows, out, strict=True):
        r["rates"] = {k: o[k] for k in formulas}
        r["flags"] = {k: _breach(k, o[k]) for k in formulas}
        r["cells"] = [(k, o[k], r["flags"][k]) for k in formulas]
    return rows


def _breach(key: str, value) -> bool:
    if value is None or key not in RATE_LIMITS:
        return False
    op, limit = RATE_LIMITS[key]
    return value > limit if op == "<=" else value < limit


def field_check_rates(user, *, year: int, prefix: str = "") -> dict:
    """Rates per village, per town and for the whole area, with the sample sizes (pooled counts, not averages)."""
    from fupin.geo.models import Division

    qs = FieldCheck.objects.restrict(user).filter(status=CheckStatus.DONE, sample__year=year,
                                                  area_code__startswith=prefix)
    villages = list(qs.values("sample__village__code").annotate(**_counts_q()).order_by("sample__village__code"))
    towns: dict[str, dict] = defaultdict(lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    total = dict.fromkeys(COUNT_COLUMNS, 0)
    for v in villages:
        v["code"] = v.pop("sample__village__code")
        t = towns[v["code"][:9] + "000"]
        for c in COUNT_COLUMNS:
            t[c] += v[c]
            total[c] += v[c]
    town_rows = [{"code": k, **c} for k, c in sorted(towns.items())]
    names = dict(Division.objects.filter(code__in=[v["code"] for v in villages] + list(towns))
                 .values_list("code", "name"))
    for r in villages + town_rows:
        r["name"] = names.get(r["code"], r["code"])
    total["name"], total["code"] = _("Total"), prefix
    _apply_rates(villages + town_rows + [total])
    labels = {k: v[0] for k, v in rate_formulas().items()}
    return {"year": year, "villages": villages, "towns": town_rows, "total": total, "labels": labels}


def samples(user, prefix: str = ""):
    return (CheckSample.objects.restrict(user).filter(area_code__startswith=prefix).select_related("village")
            .annotate(n=Count("checks"), done=Count("checks", filter=Q(checks__status=CheckStatus.DONE))))


def current_run(period: str) -> ScoreRun | None:
    return ScoreRun.objects.filter(period=period, is_current=True).order_by("-computed_at").first()


def periods() -> list[str]:
    return sorted(set(ScoreRun.objects.filter(is_current=True).values_list("period", flat=True)), reverse=True)


def ranking(user, *, period: str, kind: str, prefix: str = ""):
    run = current_run(period)
    if run is None:
        return None, Score.objects.none()
    return run, Score.objects.restrict(user).filter(run=run, kind=kind, area_code__startswith=prefix) \
        .order_by("rank", "code")


def history(user, *, kind: str, code: str) -> list[Score]:
    """The subject's score in every period's current run (oldest first)."""
    return list(Score.objects.restrict(user).filter(kind=kind, code=code, run__is_current=True)
                .order_by("period"))


def subject_households(kind: str, code: str, period_start: dt.date, period_end: dt.date):
    """The registered households behind a subject's household facts (the same membership facts.py uses)."""
    from fupin.assistance.models import HouseholdPairing
    from fupin.geo import responsible
    from fupin.registry.models import Household

    hh = Household.objects.filter(is_registered_poor=True)
    if kind == "village":
        return hh.filter(village__code=code)
    if kind == "town":
        return hh.filter(village__code__startswith=code[:9])
    if kind == "grid_worker" and code.isdigit():
        return hh.filter(grid_id__in=responsible.grids_held(int(code), period_start, period_end))
    if kind in ("cadre", "unit") and code.isdigit():
        pairs = HouseholdPairing.objects.filter(start_date__lte=period_end).filter(
            Q(end_date__isnull=True) | Q(end_date__gte=period_start), **{f"{kind}_id": int(code)})
        return hh.filter(pk__in=pairs.values("household_id"))
    return hh.none()


def drill_records(user, score: Score, drill: str, period) -> tuple[str, list[dict]]:
    """The records behind one indicator of a score: (what they are, rows of label/value/url), scoped."""
    from fupin.assistance.models import AssistanceRecord, HouseholdLight, Measure
    from fupin.dispatch.models import WorkOrder
    from fupin.eligibility.models import Finding
    from fupin.quality.models import Problem

    start, end = period.start, period.end_effective
    households = subject_households(score.kind, score.code, start, end).restrict(user)
    ids = households.values("pk")
    limit = 300
    if drill == "visits":
        rows = AssistanceRecord.objects.restrict(user).filter(household_id__in=ids, occurred_on__range=(start, end)) \
            .select_related("household").order_by("-occurred_on")[:limit]
        return _("Visit records"), [{"when": r.occurred_on, "household": r.household, "text": r.content[:60]} for r in rows]
    if drill == "red":
        rows = HouseholdLight.objects.restrict(user).filter(household_id__in=ids, colour="red") \
            .select_related("household").order_by("red_since")[:limit]
        return _("Red-light households"), [{"when": r.red_since, "household": r.household, "text": _("red for %(days)s days") % {"days": r.days or 0}} for r in rows]
    if drill == "measures":
        rows = Measure.objects.restrict(user).filter(household_id__in=ids, target_date__range=(start, end)) \
            .exclude(status="cancelled").select_related("household").order_by("target_date")[:limit]
        return _("Measures due"), [{"when": r.target_date, "household": r.household,
                         "text": f"{r.title}({r.get_status_display()})"} for r in rows]
    if drill == "problems":
        rows = Problem.objects.restrict(user).filter(household_id__in=ids, status="open") \
            .select_related("household", "rule")[:limit]
        return _("Data problems not yet corrected"), [{"when": r.opened_at.date(), "household": r.household, "text": r.detail[:60]}
                           for r in rows]
    if drill == "findings":
        rows = Finding.objects.restrict(user).filter(household_id__in=ids, created_at__date__range=(start, end)) \
            .select_related("household").order_by("-created_at")[:limit]
        return _("Comparison findings"), [{"when": r.created_at.date(), "household": r.household,
                         "text": f"{r.rule_name}({r.get_status_display()})"} for r in rows]
    if drill == "orders":
        qs = WorkOrder.objects.restrict(user).filter(pushed_at__date__range=(start, end)).exclude(state="cancelled")
        if score.kind == "department":
            qs = qs.filter(department_id=int(score.code)) if score.code.isdigit() else qs.none()
        elif score.kind in ("village", "town"):
            qs = qs.filter(area_code__startswith=score.code[:12] if score.kind == "village" else score.code[:9])
        else:
            qs = qs.filter(household_id__in=ids)
        rows = qs.select_related("household").order_by("-pushed_at")[:limit]
        return _("Work orders"), [{"when": r.pushed_at.date(), "household": r.household,
                       "text": f"{r.title}({r.get_state_display()})"} for r in rows]
    if drill == "checks":
        qs = FieldCheck.objects.restrict(user).filter(status=CheckStatus.DONE, checked_on__range=(start, end))
        if score.kind in ("village", "town"):
            qs = qs.filter(area_code__startswith=score.code[:12] if score.kind == "village" else score.code[:9])
        else:
            qs = qs.filter(household_id__in=ids)
        rows = qs.select_related("household")[:limit]
        return _("Field check records"), [{"when": r.checked_on, "household": r.household,
                         "text": f"{r.get_stratum_display()}:{_check_text(r)}"} for r in rows]
    return "", []


def _check_text(c: FieldCheck) -> str:
    parts = []
    if c.correctly_identified is not None:
        parts.append(_("correctly identified") if c.correctly_identified else _("misidentified"))
    if c.wrongly_exited is not None:
        parts.append(_("wrongly exited") if c.wrongly_exited else _("exit correct"))
    if c.missed_found is not None:
        parts.append(_("missed") if c.missed_found else _("not missed"))
    if c.satisfied is not None:
        parts.append(_("approves") if c.satisfied else _("does not approve"))
    return join_list(parts)


def gaps(user, *, prefix: str = "", status: str = GapStatus.OPEN, rule: str = ""):
    qs = PolicyGap.objects.restrict(user).filter(area_code__startswith=prefix).select_related(
        "household", "person", "rule", "work_order")
    if status:
        qs = qs.filter(status=status)
    if rule:
        qs = qs.filter(rule__code=rule)
    return qs.order_by("area_code", "household_id", "rule__code")


def household_gaps(household) -> list[PolicyGap]:
    return list(PolicyGap.objects.filter(household=household, status=GapStatus.OPEN).select_related("rule", "person"))


def clearance(user, village) -> dict:
    """两不愁三保障 清零 report of a village: each registered household's status on the six guarantees, gaps listed."""
    from fupin.assessment.defaults import GUARANTEES
    from fupin.registry.models import Household

    hhs = list(Household.objects.restrict(user).filter(village=village, is_registered_poor=True,
                                                       dissolved_on__isnull=True).order_by("group_name", "pk"))
    open_gaps = defaultdict(list)
    for g in PolicyGap.objects.restrict(user).filter(household__in=hhs, status=GapStatus.OPEN).select_related(
            "rule", "person"):
        open_gaps[g.household_id].append(g)
    rows, cleared = [], 0
    for hh in hhs:
        status = {}
        gaps_here = open_gaps.get(hh.pk, [])
        for key, _label in GUARANTEES:
            named = [g for g in gaps_here if g.rule.guarantee == key]
            if key == "water" and hh.drinking_safe is False:
                status[key] = _("drinking water unsafe")
            elif key == "housing" and (hh.dilapidated_grade or "").startswith(("C", "D")) and named:
                status[key] = _("dilapidated house not rebuilt")
            else:
                status[key] = "、".join(g.rule.name for g in named) if named else ""
        ok = not any(status.values())
        cleared += ok
        rows.append({"household": hh, "status": status, "ok": ok, "gaps": gaps_here})
    return {"village": village, "rows": rows, "guarantees": GUARANTEES, "cleared": cleared, "total": len(hhs)}


def kinship(user, *, year: int, prefix: str = ""):
    return KinshipFlag.objects.restrict(user).filter(year=year, area_code__startswith=prefix).select_related(
        "household", "person", "staff").order_by("area_code", "household_id")


ALERT_KINDS = ("alert", "survey", "all")


def alerts(user, *, prefix: str = "", status: str = AlertStatus.OPEN, kind: str = "alert"):
    """Risk alerts (kind "alert", the default), income-survey tasks ("survey") or both ("all")."""
    qs = RiskAlert.objects.restrict(user).filter(area_code__startswith=prefix).select_related("household")
    if kind == "alert":
        qs = qs.exclude(signal=INCOME_SURVEY)
    elif kind == "survey":
        qs = qs.filter(signal=INCOME_SURVEY)
    return qs.filter(status=status) if status else qs


def stats() -> dict:
    from fupin.registry.models import Household

    return {
        "assessment_subjects_scored": Score.objects.filter(run__is_current=True).values("kind", "code")
        .distinct().count(),
        "field_checks": FieldCheck.objects.filter(status=CheckStatus.DONE).count(),
        "policy_gaps_open": PolicyGap.objects.filter(status=GapStatus.OPEN).count(),
        "monitored_households": Household.objects.exclude(monitoring_category="").filter(
            dissolved_on__isnull=True).count(),
        "risk_alerts_open": RiskAlert.objects.filter(status=AlertStatus.OPEN).exclude(signal=INCOME_SURVEY).count(),
        "income_surveys_open": RiskAlert.objects.filter(status=AlertStatus.OPEN, signal=INCOME_SURVEY).count(),
        "kinship_flags": KinshipFlag.objects.count(),
    }


def effective_prefix(user, within: str | None = None) -> str | None:
    return scoping.narrowed(user, within)
