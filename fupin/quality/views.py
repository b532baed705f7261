"""Pages of data quality: the overview by village, a village's problem list, the rules (county staff edit them)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fupin.core import idviews
from fupin.core.errors import ServiceError
from fupin.core.pages import capability_required, paginate
from fupin.core.scoping import overlaps
from fupin.geo.areas import filter_area
from fupin.geo.models import Division
from fupin.quality import selectors, services
from fupin.quality.filters import PROBLEM_FILTERS
from fupin.quality.models import Rule

MANAGE = "approve_county"


@capability_required("view")
def overview(request):
    qs = filter_area(selectors.open_problems(request.user), request)
    return render(request, "quality/overview.html", {
        "run": selectors.latest_run(), "villages": selectors.village_table(request.user, qs),
        "rules": selectors.rule_counts(qs), "total": qs.count(), "may_run": request.user.can(MANAGE),
    })


@capability_required("view")
def village(request, code: str):
    # a grid worker's jurisdiction lies inside the village: the village opens, and shows the grid's problems only
    v = Division.objects.filter(code=code).first()
    if v is None or not overlaps(request.user, code):
        raise Http404(_("No such village, or it is outside your jurisdiction"))
    f = PROBLEM_FILTERS.read(request.GET, request.user)
    f.tell(request)
    rule = f["rule"]
    qs = f.apply(selectors.village_problems(request.user, v))
    page = paginate(request, qs, per_page=100)
    rows = []
    for p in page:
        id_text = idviews.shown(p.person.id_number, request.user) if p.person_id else ""
        rows.append({"p": p, "item_label": selectors.item_label(p.item) if not p.response_id else p.detail,
                     "id_number": id_text})
    return render(request, "quality/village.html", {
        "village": v, "page_obj": page, "rows": rows, "rule": rule, "rules": Rule.objects.all(),
        "run": selectors.latest_run(),
    })


@capability_required(MANAGE)
@require_POST
def run(request):
    job = services.run_start(actor=request.user)
    messages.success(request, _("The data-quality checks are running in the background."))
    return redirect(job.get_absolute_url())


@capability_required("view")
def rules(request):
    return render(request, "quality/rules.html", {"rules": Rule.objects.all(), "may_edit": request.user.can(MANAGE),
                                                  "household_facts": services.engine.HOUSEHOLD_FACTS,
                                                  "person_facts": services.engine.PERSON_FACTS})


@capability_required(MANAGE)
def rule_edit(request, key: str):
    rule = get_object_or_404(Rule, key=key)
    error = ""
    if request.method == "POST":
        changes = {"label": request.POST.get("label", "").strip() or rule.label,
                   "description": request.POST.get("description", "").strip(),
                   "is_active": request.POST.get("is_active") == "on"}
        if not rule.builtin:
            changes["condition"] = request.POST.get("condition", "").strip()
        try:
            services.rule_save(actor=request.user, rule=rule, expected_version=int(request.POST.get("version") or 0)
                               or None, **changes)
        except ServiceError as exc:
            error = exc.message
        else:
            messages.success(request, _("Rule saved; the next run uses it."))
            return redirect("/quality/rules/")
    return render(request, "quality/rule_edit.html", {
        "rule": rule, "error": error, "facts": services.names_for(rule.subject),
    })
