from django.urls import path

from fupin.core import export_views

app_name = "exports"
urlpatterns = [
    path("", export_views.index, name="index"),
    path("request/", export_views.request_form, name="request"),
    path("<int:pk>/decide/", export_views.decide, name="decide"),
]
