"""Reads of the comparison: findings and assessments as a user may see them, the report by town and village."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Min, Subquery
from django.utils.translation import gettext

from fupin.core.scoping import covers
from fupin.eligibility.models import Assessment, ComparisonRun, Finding, Rule, RuleSet

ACTIVE = [Finding.Status.OPEN, Finding.Status.CONFIRMED]


def findings_for_user(user, *, status: str | None = None, rule: str | None = None, prefix: str | None = None):
    qs = Finding.objects.restrict(user).select_related("household", "person")
    if status:
        qs = qs.filter(status=status)
    if rule:
        qs = qs.filter(rule_code=rule)
    if prefix:
        qs = qs.filter(area_code__startswith=prefix)
    return qs.order_by("status", "household_code", "rule_code", "id")


def finding_for_user(user, uuid) -> Finding | None:
    return Finding.objects.restrict(user).select_related("household", "person", "rule").filter(uuid=uuid).first()


def assessment_summary(household, *, assessment: Assessment | bool | None = False) -> dict | None:
    """The household's assessment as the panel and the procedures show it (`assessment`: the row if already read)."""
    a = Assessment.objects.filter(household=household).first() if assessment is False else assessment
    if a is None:
        return None
    names = _rule_names()
    items = [{"label": names.get(code, code), "value": round(points, 1)} for code, points in a.parts.items()]
    items += [{"label": gettext("Five priorities: %(rule)s") % {"rule": names.get(code, code)}, "value": gettext("Yes")}
              for code in a.priorities]
    return {"label": gettext("Four looks and four reckonings score"), "score": round(a.score, 1), "rank": a.rank, "rank_of": a.rank_of,
            "items": items, "url": f"/comparison/households/{household.pk}/"}


def findings_summary(household) -> list[dict] | None:
    rows = list(Finding.objects.filter(household=household).exclude(status=Finding.Status.CLEARED)
                .order_by("status", "rule_code"))
    if not rows and not ComparisonRun.objects.exists():
        return None
    return [{"source": f.source_code, "label": f.rule_name or f.rule_code,
             "detail": f"{f.get_status_display()}:{_evidence_line(f)}", "url": f.get_absolute_url(),
             "status": f.status} for f in rows]


def _evidence_line(f: Finding, user=None) -> str:
    ev = f.evidence or {}
    parts = []
    if ev.get("member"):
        parts.append(ev["member"].get("name", ""))
    for r in ev.get("records", [])[:3]:
        fields = "、".join(f"{k}:{v}" for k, v in r.get("fields", {}).items() if v)
        parts.append(f"{r.get('file', '')}第{r.get('row', '')}行 {fields}")
    if ev.get("households"):
        parts.append("登记在:" + "、".join(ev["households"]))
    return ";".join(p for p in parts if p)


def _rule_names() -> dict[str, str]:
    """The rules' names of the latest released rule set (one query)."""
    latest = RuleSet.objects.filter(status=RuleSet.Status.RELEASED).order_by("-number").values("pk")[:1]
    return dict(Rule.objects.filter(rule_set=Subquery(latest)).values_list("code", "name"))


def household_panel(request, household) -> dict | None:
    """The household page's panel (template eligibility/_household_panel.html): findings and the assessment; None
    when the user may see neither. One query when there is neither (both asked at once), at most four otherwise,
    however many findings; a cleared finding counts but is not read (its sealed values stay closed)."""
    from django.db.models import Exists

    from fupin.registry.models import Household

    user = request.user
    found = Finding.objects.restrict(user).filter(household=household)
    assessed = Assessment.objects.restrict(user).filter(household=household)
    flags = (Household.objects.filter(pk=household.pk).annotate(f=Exists(found), a=Exists(assessed))
             .values_list("f", "a").first())
    has_finding, has_assessment = flags or (False, False)
    if not has_finding and not has_assessment:
        return None
    findings = (list(found.exclude(status=Finding.Status.CLEARED).order_by("status", "rule_code"))
                if has_finding else [])
    for f in findings:  # the table names each finding's household: this one, not read again once per finding
        f.household = household
    return {"panel_title": gettext("Department comparison findings"), "findings": findings,
            "assessment": assessment_summary(household, assessment=assessed.first()) if has_assessment else None,
            "full_id": getattr(user, "may_view_full_id", False)}


def unverified_finding_dates(household_ids: list[int] | None) -> dict[int, dt.datetime]:
    """The tracking lights' facts: per household, when its oldest finding still awaiting a visit (open) was raised."""
    qs = Finding.objects.filter(status=Finding.Status.OPEN)
    if household_ids is not None:
        qs = qs.filter(household_id__in=household_ids)
    return dict(qs.order_by().values("household_id").annotate(m=Min("created_at")).values_list("household_id", "m"))



def report(user, *, level: str = "village") -> dict:
    """Counts of open and confirmed findings by rule for each town or village the user may see; trend by run."""
    length = 9 if level == "town" else 12
    qs = Finding.objects.restrict(user)
    rules = sorted(set(qs.values_list("rule_code", flat=True)))
    rows: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for r in qs.filter(status__in=ACTIVE).values("area_code", "rule_code").annotate(n=Count("id")):
        rows[r["area_code"][:length]][r["rule_code"]] += r["n"]
    status_rows = qs.values("status").annotate(n=Count("id"))
    from fupin.geo.models import Division

    codes = [c + ("000" if length == 9 else "") for c in rows]
    names = dict(Division.objects.filter(code__in=codes).values_list("code", "name"))
    table = [{"code": code, "name": names.get(code + ("000" if length == 9 else ""), code),
              "counts": [rows[code].get(r, 0) for r in rules], "total": sum(rows[code].values())}
             for code in sorted(rows)]
    trend = []
    for run in ComparisonRun.objects.order_by("-started_at")[:12][::-1]:
        by_village = (run.stats or {}).get("by_village", {})
        total = sum(sum(v.values()) for code, v in by_village.items() if covers(user, code))
        trend.append({"run": run.pk, "at": run.started_at, "total": total})
    return {"rules": rules, "rule_names": _rule_names(), "rows": table, "trend": trend,
            "status": {r["status"]: r["n"] for r in status_rows}}


def open_counts_by_household(user) -> dict[int, int]:
    return dict(Finding.objects.restrict(user).filter(status=Finding.Status.OPEN).values_list("household_id")
                .annotate(n=Count("id")).values_list("household_id", "n"))




# -- value mappings ------------------------------------------------------------------------------------------------

def mapping_sources_for(user):
    """Sources whose value mappings `user` may see: all for county-level staff, their own department's for a
    department handler, none for anyone else."""
    from fupin.accounts.choices import Role
    from fupin.exchange.public import Source, county_wide

    qs = Source.objects.filter(is_active=True).select_related("department")
    if getattr(user, "is_superuser", False) or county_wide(user):
        return qs
    if getattr(user, "role", "") == Role.DEPT_HANDLER and getattr(user, "department_id", None):
        return qs.filter(department_id=user.department_id)
    return qs.none()


def mapping_may_edit(user, source) -> bool:
    """County rule editors, and a department's handler for that department's sources (edits go to a draft)."""
    from fupin.accounts.choices import Role
    from fupin.exchange.public import county_wide

    if getattr(user, "is_superuser", False):
        return True
    if county_wide(user) and user.can("approve_county"):
        return True
    return (getattr(user, "role", "") == Role.DEPT_HANDLER and user.can("department_work")
            and source.department_id is not None and user.department_id == source.department_id)


def mapping_table(source, snapshot, released, draft) -> list[dict]:
    """Per category field of the source: the values seen in the snapshot, how the released and the draft set map
    each, and whether it is understood. released/draft: {field: ValueMapping}."""
    from fupin.eligibility.mappings import MAPPABLE_ROLES, Resolver

    counts = (snapshot.value_counts or {}) if snapshot else {}
    out = []
    for f in source.fields:
        if f.get("role", "text") not in MAPPABLE_ROLES:
            continue
        name = f["name"]
        rel, dr = released.get(name), draft.get(name)
        rel_r = Resolver(rel.values) if rel else None
        dr_r = Resolver(dr.values) if dr else None
        seen = counts.get(name, {}) if name in counts else {}
        too_many = name in counts and counts[name] is None
        values = []
        for value, n in sorted((seen or {}).items(), key=lambda kv: (-kv[1], kv[0])):
            r_ok, r_to = rel_r(value) if rel_r else (None, "")
            d_ok, d_to = dr_r(value) if dr_r else (None, "")
            values.append({"value": value, "rows": n, "released": r_to, "released_ok": r_ok,
                           "draft": d_to, "draft_ok": d_ok})
        edit_values = dict((dr or rel).values) if (dr or rel) else {}
        for v in values:  # values seen and not yet known appear as rows to fill in
            if not (dr_r or rel_r) or not (dr_r or rel_r)(v["value"])[0]:
                edit_values.setdefault(v["value"], "")
        out.append({"field": name, "mapped": rel is not None, "draft_mapped": dr is not None,
                    "description": (dr or rel).description if (dr or rel) else "", "values": values,
                    "too_many": too_many, "unknown": sum(1 for v in values if v["released_ok"] is False),
                    "edit": sorted(edit_values.items())})
    return out
