from django.urls import path

from fupin.assistance import views

app_name = "assistance"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("lights/", views.light_list, name="lights"),
    path("cadres/", views.cadre_list, name="cadres"),
    path("cadres/search/", views.cadre_search, name="cadre_search"),
    path("cadres/new/", views.cadre_new, name="cadre_new"),
    path("cadres/<int:pk>/", views.cadre_detail, name="cadre"),
    path("units/", views.unit_list, name="units"),
    path("units/new/", views.unit_new, name="unit_new"),
    path("units/<int:pk>/", views.unit_detail, name="unit"),
    path("households/<str:key>/", views.household, name="household"),
    path("households/<str:key>/panel/", views.panel, name="panel"),
    path("households/<str:key>/visit/", views.record_visit, name="record_visit"),
    path("households/<str:key>/errand/", views.errand_new, name="errand_new"),
    path("households/<str:key>/pairing/", views.pairing_edit, name="pairing_edit"),
    path("households/<str:key>/plan/", views.plan, name="plan"),
    path("households/<str:key>/policies/", views.receipt_add, name="receipt_add"),
    path("measures/<int:pk>/", views.measure_update, name="measure_update"),
    path("measures/<int:pk>/evidence/", views.measure_evidence, name="measure_evidence"),
    path("attachments/<uuid:uuid>/", views.attachment_download, name="attachment"),
    path("errands/", views.errand_list, name="errands"),
    path("errands/<int:pk>/close/", views.errand_close, name="errand_close"),
    path("pairing/", views.pairing_home, name="pairing"),
    path("pairing/villages/", views.area_pairings, name="area_pairings"),
    path("pairing/villages/<int:pk>/", views.area_pairing_edit, name="area_pairing_edit"),
    path("villages/<str:code>/plan/", views.village_plan, name="village_plan"),
    path("policies/", views.policies, name="policies"),
    path("settings/", views.rules, name="rules"),
]
