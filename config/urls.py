"""URLs: each Fupin app's urls.py is mounted at its AppConfig.url_prefix; the API at /api/v1/."""

from django.contrib import admin
from django.urls import include, path

from fupin.api.api import api
from fupin.core.appconfig import fupin_apps

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # a person's linked department records (the master person index) lives at the root, as the exchange promises
    path("persons/", include("fupin.exchange.person_urls")),
    # the auditor's search of the audit trail (the trail itself and its hash chain live in core)
    path("audit/", include("fupin.core.audit_urls")),
    # exports of people's data above the approval threshold wait here for another person's decision
    path("exports/", include("fupin.core.export_urls")),
]
urlpatterns += [path(app.url_prefix, include(f"{app.name}.urls")) for app in fupin_apps() if app.url_prefix is not None]
# Uploaded files (attachments, photos, evidence) are never served by path: each is downloaded through its owning
# object's view, which checks the user's jurisdiction (assistance/attachments/<uuid>/, dispatch/attachments/<uuid>/,
# procedures/attachments/<uuid>/, forms/responses/<uuid>/photo/<item>/, assistance/measures/<pk>/evidence/).
