from django.contrib.auth import views as auth_views
from django.urls import path

from fupin.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/users/", views.user_list, name="user_list"),
    path("accounts/users/new/", views.user_create, name="user_create"),
    path("accounts/users/<str:username>/", views.user_detail, name="user_detail"),
    path("accounts/users/<str:username>/edit/", views.user_edit, name="user_edit"),
    path("accounts/users/<str:username>/unlock/", views.user_unlock, name="user_unlock"),
    path("accounts/roles/", views.roles, name="roles"),
    path("accounts/devices/", views.my_devices, name="my_devices"),
    path("accounts/tokens/", views.token_list, name="token_list"),
    path("accounts/tokens/new/", views.api_key_create, name="api_key_create"),
    path("accounts/tokens/<uuid:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
