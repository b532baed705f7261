"""`/persons/<id>/`: a person's linked department records. The lead mounts this module at the root ("persons/")."""

from django.urls import path

from fupin.exchange import views

app_name = "persons"
urlpatterns = [path("<int:pk>/", views.person_detail, name="detail")]
