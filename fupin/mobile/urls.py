from django.urls import path

from fupin.mobile import views

app_name = "mobile"
urlpatterns = [
    path("", views.shell, name="shell"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="sw"),
    path("conflicts/", views.conflict_list, name="conflict_list"),
    path("conflicts/<uuid:conflict_id>/resolve/", views.conflict_resolve, name="conflict_resolve"),
]
