"""The installable app's shell, manifest and service worker (public: they open with no network and no session; the
app signs in with a device token), and the village team's page of sync conflicts."""

from __future__ import annotations

import hashlib
import json

from django.contrib.staticfiles import finders
from django.core.exceptions import FieldDoesNotExist
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fupin.core.pages import paginate, run_service
from fupin.geo.areas import filter_area
from fupin.mobile import selectors, services
from fupin.mobile.models import SyncConflict

APP_NAME = "扶贫网格通"
SHELL_ASSETS = ["mobile/app.js", "mobile/app.css", "mobile/icons/icon-192.png", "mobile/icons/icon-512.png",
                "mobile/icons/icon.svg"]


def _assets_version() -> str:
    """A digest of the shell's files: a new release changes it, so phones replace their cached shell."""
    h = hashlib.sha256()
    for name in SHELL_ASSETS:
        path = finders.find(name)
        if path:
            with open(path, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()[:12]


def shell(request):
    return render(request, "mobile/shell.html", {"app_name": APP_NAME})


def manifest(request):
    data = {
        "name": APP_NAME, "short_name": "网格通", "lang": "zh-CN", "start_url": "/app/", "scope": "/app/",
        "display": "standalone", "orientation": "portrait", "background_color": "#ffffff", "theme_color": "#b3261e",
        "description": "网格员和帮扶干部的离线工作应用:走访、民情、核实、措施,无信号也能记录。",
        "icons": [{"src": static("mobile/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
                  {"src": static("mobile/icons/icon-512.png"), "sizes": "512x512", "type": "image/png",
                   "purpose": "any maskable"},
                  {"src": static("mobile/icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    return HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json")


def service_worker(request):
    body = render(request, "mobile/sw.js", {
        "version": _assets_version(), "precache": json.dumps(["/app/", *[static(n) for n in SHELL_ASSETS]]),
    }).content
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/app/"
    response["Cache-Control"] = "no-cache"
    return response


def conflict_list(request):
    """Conflicts of the jurisdiction (and of the user's own changes), open first, theirs and ours side by side."""
    status = request.GET.get("status", "open")
    qs = SyncConflict.objects.restrict(request.user).select_related("household", "change__user", "resolved_by")
    if status in ("open", "resolved"):
        qs = qs.filter(status=status)
    qs = filter_area(qs, request)
    page = paginate(request, qs)
    for c in page:
        c.field_label = field_label(c.field)
    return render(request, "mobile/conflicts.html", {"page_obj": page, "status": status})


def field_label(name: str) -> str:
    from fupin.registry.models import Household

    try:
        return str(Household._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # a field renamed since the conflict: show its name
        return name


@require_POST
def conflict_resolve(request, conflict_id):
    c = selectors.open_conflicts_for(request.user).filter(uuid=conflict_id).first()
    if c is None:
        raise Http404
    run_service(request, lambda: services.conflict_resolve(actor=request.user, conflict=c,
                                                           choice=request.POST.get("choice", "")),
                _("The conflict was resolved."))
    return redirect("mobile:conflict_list")
