"""Pages of the data exchange: sources and imports, snapshots, the review queue, a person's linked records."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from fupin.core.pages import run_service
from fupin.core.services import job_create
from fupin.core.tabular import ReadReport
from fupin.core.uploads import save_upload, too_large_message
from fupin.exchange import selectors
from fupin.exchange.models import LinkReview, Snapshot, Source, StagedRecord
from fupin.exchange.services import review_decide, sources_ensure_defaults


def index(request):
    sources_ensure_defaults()
    run = selectors.last_link_run()
    return render(request, "exchange/index.html", {
        "rows": selectors.sources_overview(), "may_import": selectors.county_wide(request.user),
        "run": run, "model": selectors.model_overview(run), "skew": selectors.skew_rows(run),
        "priors": selectors.department_priors(run), "open_reviews": selectors.reviews_for_user(request.user).count()})


@require_POST
def upload(request):
    if not selectors.county_wide(request.user):
        raise PermissionDenied
    source = get_object_or_404(Source, code=request.POST.get("source", ""))
    f = request.FILES.get("file")
    if f is None:
        messages.error(request, too_large_message() if getattr(request, "upload_too_large", False)
                       else gettext("Choose the file to import"))
        return redirect("exchange:index")
    dest = run_service(request, lambda: save_upload(f, folder=Path(settings.DATA_DIR) / "uploads"), None)
    if dest is None:
        return redirect("exchange:index")
    job = job_create(kind="exchange.import", title=f"导入{source.name}:{f.name}", actor=request.user,
                     params={"source": source.code, "path": str(dest), "mapping": request.POST.get("mapping", ""),
                             "sheet": request.POST.get("sheet", "").strip()[:100],
                             "accept_missing": request.POST.get("accept_missing") == "1", "name": f.name})
    return redirect(job.get_absolute_url())


def source_detail(request, code):
    source = get_object_or_404(Source, code=code)
    return render(request, "exchange/source.html", {
        "source": source, "snapshots": source.snapshots.all()[:50], "mappings": source.mappings.all(),
        "may_import": selectors.county_wide(request.user)})


def snapshot_detail(request, pk):
    if not selectors.county_wide(request.user):
        raise PermissionDenied
    snap = get_object_or_404(Snapshot.objects.select_related("source"), pk=pk)
    records = StagedRecord.objects.filter(snapshot=snap).order_by("id")
    only = request.GET.get("only", "problems")
    if only == "problems":
        records = records.exclude(problem="")
    report = ReadReport(sheets=snap.sheets, skipped=snap.skipped)
    return render(request, "exchange/snapshot.html", {
        "snap": snap, "records": records[:500], "only": only, "sheet_lines": report.sheet_lines(),
        "skipped_lines": report.skipped_lines(limit=500),
        "id_kinds": selectors.id_kind_counts(snap)})


def review_list(request):
    reviews = selectors.reviews_for_user(request.user)
    first = reviews.first()
    return render(request, "exchange/review.html", {"reviews": reviews[:300], "first": first,
                                                    "count": reviews.count()})


def review_detail(request, pk):
    """One uncertain pair: both sides field by field, the link's explanation, a decision by keyboard."""
    review = selectors.reviews_for_user(request.user, status=None).filter(pk=pk).first()
    if review is None:
        raise Http404
    prev_pk, next_pk, position, count = selectors.review_neighbours(request.user, review)
    explanation = (review.details or {}).get("explanation")
    return render(request, "exchange/review_pair.html", {
        "rv": review, "rows": selectors.review_pair(review, request.user),
        "source_name": Source.objects.filter(code=review.source_code).values_list("name", flat=True).first()
        or review.source_code,
        "explanation": explanation, "why": selectors.explanation_rows(explanation),
        "prev_pk": prev_pk, "next_pk": next_pk, "position": position, "count": count,
        "may_decide": request.user.can("edit")})


@require_POST
def review_decide_view(request, pk):
    review = selectors.reviews_for_user(request.user).filter(pk=pk).first()
    if review is None:
        raise Http404
    if not request.user.can("edit"):
        raise PermissionDenied
    run_service(request, lambda: review_decide(actor=request.user, review=review,
                                               decision=request.POST.get("decision", ""),
                                               note=request.POST.get("note", "")),
                gettext("Decision recorded: the same record is treated this way from now on"))
    next_pk = request.POST.get("next", "")
    if next_pk.isdigit() and selectors.reviews_for_user(request.user).filter(pk=int(next_pk)).exists():
        return redirect("exchange:review_pair", pk=int(next_pk))
    following = selectors.reviews_for_user(request.user).first()
    if request.POST.get("next") is not None and following is not None:
        return redirect("exchange:review_pair", pk=following.pk)
    return redirect("exchange:review")


def person_detail(request, pk):
    person = selectors.person_for_user(request.user, pk)
    if person is None:
        raise Http404
    links = selectors.person_links(person)
    for link in links:
        link.fields = selectors.record_fields(link.record, request.user)
        link.why = selectors.explanation_rows(link.explanation)
    return render(request, "exchange/person.html", {
        "person": person, "links": links,
        "reviews": LinkReview.objects.restrict(request.user).filter(person=person, status="open")})
