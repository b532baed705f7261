from django.urls import path

from fupin.surveys import views

app_name = "surveys"
urlpatterns = [
    path("", views.form_list, name="list"),
    path("responses/<uuid:uuid>/", views.response_detail, name="response"),
    path("responses/<uuid:uuid>/photo/<str:item>/", views.response_photo, name="response_photo"),
    path("<slug:key>/", views.form_detail, name="form"),
    path("<slug:key>/new-version/", views.version_new, name="version_new"),
    path("<slug:key>/v<int:number>/", views.version_detail, name="version"),
    path("<slug:key>/v<int:number>/edit/", views.version_edit, name="version_edit"),
    path("<slug:key>/v<int:number>/preview/", views.version_preview, name="version_preview"),
    path("<slug:key>/v<int:number>/publish/", views.version_publish, name="version_publish"),
    path("<slug:key>/fill/", views.fill, name="fill"),
    path("<slug:key>/fill/check/", views.fill_check, name="fill_check"),
    path("<slug:key>/export.xlsx", views.export_xlsx, name="export"),
    path("<slug:key>/import/", views.import_view, name="import"),
]
