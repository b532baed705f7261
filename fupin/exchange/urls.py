from django.urls import path

from fupin.exchange import views

app_name = "exchange"
urlpatterns = [
    path("", views.index, name="index"),
    path("upload/", views.upload, name="upload"),
    path("sources/<slug:code>/", views.source_detail, name="source"),
    path("snapshots/<int:pk>/", views.snapshot_detail, name="snapshot"),
    path("review/", views.review_list, name="review"),
    path("review/<int:pk>/", views.review_detail, name="review_pair"),
    path("review/<int:pk>/decide/", views.review_decide_view, name="review_decide"),
    path("persons/<int:pk>/", views.person_detail, name="person"),
]
