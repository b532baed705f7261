"""Pages of the comparison: run it, findings to verify, the report by town and village, rule sets."""

from __future__ import annotations

import io
from types import SimpleNamespace

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from fupin.core import idviews
from fupin.core.exportcells import xlsx_workbook
from fupin.core.pages import run_service
from fupin.core.services import job_create
from fupin.eligibility import selectors, services
from fupin.eligibility.facts import HOUSEHOLD_FACTS, MEMBER_FACTS
from fupin.eligibility.filters import FINDING_FILTERS
from fupin.eligibility.mappings import default_mappings
from fupin.eligibility.mappings import presets as mapping_presets
from fupin.eligibility.models import Assessment, ComparisonRun, Finding, Rule, RuleKind, RuleSet
from fupin.exchange.public import LinkMethod, county_wide, source_names


def _may_run(user) -> bool:
    return county_wide(user)


def _may_edit_rules(user) -> bool:
    return county_wide(user) and user.can("approve_county")


def index(request):
    user = request.user
    qs = Finding.objects.restrict(user)
    counts = {s: qs.filter(status=s).count() for s in Finding.Status.values}
    return render(request, "eligibility/index.html", {
        "counts": counts, "runs": ComparisonRun.objects.select_related("rule_set")[:10] if _may_run(user) else [],
        "may_run": _may_run(user), "rule_set": services.ruleset_current(),
        "findings": selectors.findings_for_user(user, status="open")[:50]})


@require_POST
def run(request):
    if not _may_run(request.user):
        raise PermissionDenied
    job = job_create(kind="eligibility.compare", title="部门数据比对", actor=request.user)
    return redirect(job.get_absolute_url())


def finding_list(request):
    data = request.GET.copy()
    data.setdefault("status", "open")  # the page opens on the open findings; ?status= shows them all
    f = FINDING_FILTERS.read(data, request.user)
    f.tell(request)
    status, rule = f["status"], f["rule"] or None
    findings = selectors.findings_for_user(request.user, status=status or None, rule=rule)
    return render(request, "eligibility/findings.html", {
        "findings": findings[:500], "status": status, "rule": rule, "statuses": Finding.Status.choices,
        "total": findings.count()})


def finding_detail(request, uuid):
    finding = selectors.finding_for_user(request.user, uuid)
    if finding is None:
        raise Http404
    if request.method == "POST":
        if not request.user.can("edit"):
            raise PermissionDenied
        action = request.POST.get("action")
        text = request.POST.get("text", "")
        act = {"confirm": lambda: services.finding_confirm(actor=request.user, finding=finding, note=text),
               "dismiss": lambda: services.finding_dismiss(actor=request.user, finding=finding, reason=text),
               "correct": lambda: services.finding_correct(actor=request.user, finding=finding, note=text)}.get(action)
        if act is None:
            messages.error(request, gettext("Unknown action"))
        elif run_service(request, act, gettext("Recorded")) is not None:
            return redirect(finding.get_absolute_url())
    ev = finding.evidence or {}
    names = source_names()
    methods = dict(LinkMethod.choices)
    records = [{**r, "fields": [(k, idviews.shown_in_text(v, request.user)) for k, v in r.get("fields", {}).items()],
                "id_as_received": idviews.shown_in_text(r.get("id_as_received", ""), request.user),
                "source": names.get(r.get("source"), r.get("source")), "link": methods.get(r.get("link"), r.get("link"))}
               for r in ev.get("records", [])]
    member = ev.get("member") or {}
    # the facts the rule read, by their names ("人均纯收入(元)"), not their keys ("per_capita_income")
    fact_names = {k: d for k, (_t, d) in {**HOUSEHOLD_FACTS, **MEMBER_FACTS}.items()}
    facts = [(fact_names.get(k, k), v) for k, v in ev.get("facts", {}).items()]
    return render(request, "eligibility/finding.html", {
        "f": finding, "records": records, "member_name": member.get("name", ""),
        "member_id": idviews.shown_in_text(member.get("id_number", ""), request.user), "source_name": names.get(
            finding.source_code, finding.source_code),
        "facts": facts, "households": ev.get("households", []), "may_edit": request.user.can("edit")})


def household(request, pk):
    from fupin.registry.models import Household

    hh = Household.objects.restrict(request.user).filter(pk=pk).first()
    if hh is None:
        raise Http404
    return render(request, "eligibility/household.html", {
        "hh": hh, "assessment": selectors.assessment_summary(hh) if Assessment.objects.restrict(
            request.user).filter(household=hh).exists() else None,
        "findings": Finding.objects.restrict(request.user).filter(household=hh).order_by("status", "rule_code")})


def report(request):
    level = "town" if request.GET.get("level") == "town" else "village"
    data = selectors.report(request.user, level=level)
    if request.GET.get("format") == "xlsx":
        return _report_xlsx(data, level)
    return render(request, "eligibility/report.html", {"data": data, "level": level})


def _report_xlsx(data: dict, level: str) -> HttpResponse:
    buf = io.BytesIO()
    wb = xlsx_workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("比对发现")
    bold = wb.add_format({"bold": True})
    names = data["rule_names"]
    ws.write_row(0, 0, ["代码", "乡镇" if level == "town" else "村", *[names.get(r, r) for r in data["rules"]], "合计"],
                 bold)
    for i, row in enumerate(data["rows"], start=1):
        ws.write_row(i, 0, [row["code"], row["name"], *row["counts"], row["total"]])
    ws2 = wb.add_worksheet("趋势")
    ws2.write_row(0, 0, ["比对批次", "时间", "未处理和已确认的发现"], bold)
    for i, t in enumerate(data["trend"], start=1):
        ws2.write_row(i, 0, [t["run"], t["at"].strftime("%Y-%m-%d %H:%M"), t["total"]])
    wb.close()
    resp = HttpResponse(buf.getvalue(),
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = "attachment; filename=comparison-report.xlsx"
    return resp


def rulesets(request):
    return render(request, "eligibility/rulesets.html", {
        "sets": RuleSet.objects.all(), "may_edit": _may_edit_rules(request.user)})


def ruleset_detail(request, number):
    rs = get_object_or_404(RuleSet, number=number)
    may_edit = _may_edit_rules(request.user) and rs.status == RuleSet.Status.DRAFT
    if request.method == "POST":
        if not _may_edit_rules(request.user):
            raise PermissionDenied
        action = request.POST.get("action")
        p = request.POST
        if action == "draft":
            draft = run_service(request, lambda: services.ruleset_draft(actor=request.user, based_on=rs), None)
            if draft is not None:
                return redirect(draft.get_absolute_url())
        elif action == "release":
            run_service(request, lambda: services.ruleset_release(actor=request.user, rule_set=rs),
                        gettext("Released: the next comparison uses this version"))
        elif action == "save":
            run_service(request, lambda: services.rule_save(
                actor=request.user, rule_set=rs, code=p.get("code", "").strip(), kind=p.get("kind", ""),
                name=p.get("name", "").strip(), subject=p.get("subject", "").strip(),
                expression=p.get("expression", ""), description=p.get("description", ""), group=p.get("group", ""),
                evidence_fields=[x for x in p.get("evidence", "").replace(",", ",").split(",") if x.strip()],
                is_active=p.get("is_active") == "on", order=int(p.get("order") or 0)), gettext("Rule saved"))
        elif action == "delete":
            rule = get_object_or_404(Rule, rule_set=rs, code=p_code(request))
            run_service(request, lambda: services.rule_delete(actor=request.user, rule=rule), None)
        return redirect(rs.get_absolute_url())
    return render(request, "eligibility/ruleset.html", {
        "rs": rs, "rules": rs.rules.all(), "may_edit": may_edit, "may_draft": _may_edit_rules(request.user),
        "kinds": RuleKind.choices})


def p_code(request) -> str:
    return request.POST.get("code", "")


# -- value mappings ------------------------------------------------------------------------------------------------

def mappings(request):
    sources = list(selectors.mapping_sources_for(request.user))
    if not sources:
        raise PermissionDenied
    released = services.ruleset_current()
    counts: dict[str, int] = {}
    for m in (released.value_mappings.all() if released else []):
        counts[m.source_code] = counts.get(m.source_code, 0) + 1
    from fupin.exchange.public import Snapshot

    current = {s.source_id: s for s in Snapshot.objects.filter(is_current=True, source__in=sources)}
    rows = [{"source": s, "mapped": counts.get(s.code, 0), "snapshot": current.get(s.pk),
             "unknown": sum(n for _f, _v, n in (current[s.pk].not_understood if s.pk in current else []))}
            for s in sources]
    return render(request, "eligibility/mappings.html", {"rows": rows, "rule_set": released})


def value_mapping(request, code):
    from fupin.exchange.public import Snapshot

    source = selectors.mapping_sources_for(request.user).filter(code=code).first()
    if source is None:
        raise Http404
    may_edit = selectors.mapping_may_edit(request.user, source)
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied
        return _value_mapping_save(request, source)
    snapshots = list(Snapshot.objects.filter(source=source).order_by("-created_at", "-id")[:20])
    wanted = request.GET.get("snapshot", "")
    snapshot = next((s for s in snapshots if str(s.pk) == wanted), None) if wanted.isdigit() else None
    if wanted and snapshot is None:
        raise Http404
    snapshot = snapshot or next((s for s in snapshots if s.is_current), None)
    released = services.ruleset_current()
    draft = RuleSet.objects.filter(status=RuleSet.Status.DRAFT).order_by("-number").first()

    def by_field(rs):
        if rs is None:  # before the first comparison: the defaults the first rule set will be loaded with
            return {} if RuleSet.objects.exists() else {
                m["field"]: SimpleNamespace(values=m["values"], description=m.get("description", ""))
                for m in default_mappings() if m["source"] == source.code}
        return {m.field: m for m in rs.value_mappings.filter(source_code=source.code)}

    return render(request, "eligibility/value_mapping.html", {
        "source": source, "snapshot": snapshot, "snapshots": snapshots, "released": released, "draft": draft,
        "fields": selectors.mapping_table(source, snapshot, by_field(released), by_field(draft) if draft else {}),
        "may_edit": may_edit, "presets": sorted(mapping_presets())})


def _value_mapping_save(request, source):
    field = request.POST.get("field", "")
    raws, targets = request.POST.getlist("raw"), request.POST.getlist("mapped")
    values = {r: t for r, t in zip(raws, targets, strict=False) if r.strip() and t.strip()}
    preset = request.POST.get("preset", "")
    if preset:
        values = {**mapping_presets().get(preset, {}), **values}

    def save():
        draft = services.ruleset_draft_for_edit(actor=request.user)
        if values:
            services.value_mapping_save(actor=request.user, rule_set=draft, source_code=source.code, field=field,
                                        values=values, description=request.POST.get("description"))
        else:  # nothing left: the field is no longer mapped (rules read the value as received)
            existing = draft.value_mappings.filter(source_code=source.code, field=field).first()
            if existing is not None:
                services.value_mapping_delete(actor=request.user, mapping=existing)
        return draft

    run_service(request, save, lambda draft: gettext(
        "The value mapping of “%(field)s” is saved in draft version v%(n)s; comparisons use it once that version is "
        "released") % {"field": field, "n": draft.number})
    url = reverse("eligibility:value_mapping", args=[source.code])
    snap = request.POST.get("snapshot", "")
    return redirect(f"{url}?snapshot={snap}" if snap.isdigit() else url)
