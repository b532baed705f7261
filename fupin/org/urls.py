from django.urls import path

from fupin.org import views

app_name = "org"
urlpatterns = [
    path("departments/", views.department_list, name="department_list"),
    path("departments/<slug:code>/", views.department_detail, name="department_detail"),
    path("units/", views.unit_list, name="unit_list"),
    path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
]
