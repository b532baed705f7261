from django.contrib.auth import views as auth_views
from django.urls import path

from fupin.accounts import security_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/verify/", security_views.login_verify, name="login_verify"),
    path("account/two-factor/", security_views.two_factor, name="two_factor"),
    path("account/password/", security_views.PasswordChangeView.as_view(), name="password_change"),
    path("account/sessions/", security_views.my_sessions, name="my_sessions"),
    path("account/sessions/<int:pk>/end/", security_views.end_session, name="end_session"),
    path("account/sessions/end-all/", security_views.end_all_sessions, name="end_all_sessions"),
    path("accounts/users/", views.user_list, name="user_list"),
    path("accounts/users/new/", views.user_create, name="user_create"),
    path("accounts/users/<str:username>/", views.user_detail, name="user_detail"),
    path("accounts/users/<str:username>/edit/", views.user_edit, name="user_edit"),
    path("accounts/users/<str:username>/unlock/", views.user_unlock, name="user_unlock"),
    path("accounts/users/<str:username>/reset-2fa/", security_views.reset_two_factor, name="reset_two_factor"),
    path("accounts/roles/", views.roles, name="roles"),
    path("accounts/devices/", views.my_devices, name="my_devices"),
    path("accounts/tokens/", views.token_list, name="token_list"),
    path("accounts/tokens/new/", views.api_key_create, name="api_key_create"),
    path("accounts/tokens/<uuid:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
