from django.urls import path

from fupin.quality import views

app_name = "quality"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("run/", views.run, name="run"),
    path("rules/", views.rules, name="rules"),
    path("rules/<slug:key>/", views.rule_edit, name="rule_edit"),
    path("villages/<str:code>/", views.village, name="village"),
]
