from django.urls import path

from fupin.inbox import views

app_name = "inbox"
urlpatterns = [
    path("", views.item_list, name="list"),
    path("<int:pk>/done/", views.item_done, name="done"),
]
