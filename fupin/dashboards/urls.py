from django.urls import path

from fupin.dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("export.xlsx", views.export_xlsx, name="export"),
    path("summary.pdf", views.summary_pdf, name="summary"),
    path("refresh/", views.refresh, name="refresh"),
]
