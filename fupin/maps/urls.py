from django.urls import path

from fupin.maps import views

app_name = "maps"
urlpatterns = [
    path("", views.map_page, name="map"),
]
