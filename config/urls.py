from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from fupin.api.api import api

urlpatterns = [
    path("", include("fupin.web.urls")),
    path("", include("fupin.accounts.urls")),
    path("geo/", include("fupin.geo.urls")),
    path("org/", include("fupin.org.urls")),
    path("inbox/", include("fupin.inbox.urls")),
    path("jobs/", include("fupin.core.urls")),
    path("households/", include("fupin.registry.urls")),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
if settings.DEBUG:
    urlpatterns.append(path("files/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}))
