from django.urls import path

from fupin.core import views

app_name = "core"
urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("<uuid:uuid>/", views.job_detail, name="job_detail"),
    path("<uuid:uuid>/progress/", views.job_progress, name="job_progress"),
]
