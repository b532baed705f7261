from django.urls import path

from fupin.eligibility import views

app_name = "eligibility"
urlpatterns = [
    path("", views.index, name="index"),
    path("run/", views.run, name="run"),
    path("findings/", views.finding_list, name="findings"),
    path("findings/<uuid:uuid>/", views.finding_detail, name="finding"),
    path("households/<int:pk>/", views.household, name="household"),
    path("report/", views.report, name="report"),
    path("rules/", views.rulesets, name="rulesets"),
    path("rules/<int:number>/", views.ruleset_detail, name="ruleset"),
    path("mappings/", views.mappings, name="mappings"),
    path("mappings/<slug:code>/", views.value_mapping, name="value_mapping"),
]
