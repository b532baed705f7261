from django.urls import path

from fupin.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("tree/", views.tree, name="tree"),
]
