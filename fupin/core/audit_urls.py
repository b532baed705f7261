from django.urls import path

from fupin.core import audit_views

app_name = "audit"
urlpatterns = [
    path("", audit_views.trail, name="trail"),
]
