"""The person's data report: what the platform holds about one ID number, for answering a citizen's request."""

from django.shortcuts import render

from fupin.core import audit
from fupin.core.idnumber import IdNumberError
from fupin.core.pages import capability_required
from fupin.privacy import retention, selectors


@capability_required("privacy_requests")
def index(request):
    number = (request.GET.get("id") or "").strip()[:40]
    context = {"id": number, "periods": retention.periods()}
    if number:
        try:
            report = selectors.person_report(viewer=request.user, id_number=number)
        except IdNumberError as exc:
            context["error"] = exc.message
        else:
            # who looked up which person's data is itself recorded
            audit.record(actor=request.user, action="privacy.person_report", object_type="privacy.report",
                         object_id=report.id_number[-4:], object_repr=f"个人信息查询 {report.id_number[:6]}****",
                         area_code=request.user.area_code or "",
                         note=f"登记{len(report.persons)}人;部门记录{len(report.records)}条")
            context["report"] = report
    return render(request, "privacy/index.html", context)
