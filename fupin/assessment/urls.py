from django.urls import path

from fupin.assessment import views

app_name = "assessment"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("schemes/", views.schemes, name="schemes"),
    path("ranking/<str:kind>/", views.ranking, name="ranking"),
    path("ranking/<str:kind>/export.xlsx", views.ranking_xlsx, name="ranking_xlsx"),
    path("report.pdf", views.leader_pdf, name="leader_pdf"),
    path("scores/<int:pk>/", views.score_detail, name="score"),
    path("scores/<int:pk>/<str:drill>/", views.score_drill, name="score_drill"),
    path("checks/", views.checks, name="checks"),
    path("checks/samples/<int:pk>/", views.sample_detail, name="sample"),
    path("checks/<int:pk>/", views.check_form, name="check"),
    path("gaps/", views.gaps, name="gaps"),
    path("gaps/<int:pk>/", views.gap_detail, name="gap"),
    path("villages/<str:code>/clearance/", views.clearance, name="clearance"),
    path("kinship/", views.kinship, name="kinship"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("households/<str:key>/", views.household, name="household"),
    path("households/<str:key>/report/", views.self_report, name="self_report"),
]
