from django.urls import path

from fupin.registry import request_views, views

app_name = "registry"
urlpatterns = [
    path("", views.household_list, name="list"),
    path("import/", views.household_import, name="import"),
    path("import/<uuid:uuid>/", views.import_status, name="import_status"),
    path("problems/", views.import_problems, name="problems"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("requests/", request_views.request_list, name="requests"),
    path("requests/<uuid:uuid>/decide/", request_views.request_decide, name="request_decide"),
    path("requests/<uuid:uuid>/evidence/", request_views.request_evidence, name="request_evidence"),
    path("villages/", views.village_list, name="villages"),
    path("villages/<str:code>/", views.village_detail, name="village"),
    path("villages/<str:code>/poor/", views.village_poor, name="village_poor"),
    path("<path:key>/change/", views.member_change, name="member_change"),
    path("<path:key>/", views.household_detail, name="detail"),
]
