from django.urls import path

from fupin.interop import views

app_name = "interop"
urlpatterns = [
    path("", views.index, name="index"),
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/<uuid:uuid>/", views.webhook_detail, name="webhook"),
    path("webhooks/<uuid:uuid>/action/", views.webhook_action, name="webhook_action"),
    path("deliveries/<int:pk>/resend/", views.delivery_resend, name="delivery_resend"),
    path("sms/", views.sms_log, name="sms"),
    path("national/", views.national_home, name="national"),
    path("national/export.xlsx", views.national_export, name="national_export"),
    path("national/adjustments/", views.adjustment_prepare, name="adjustment_prepare"),
    path("national/adjustments/<uuid:uuid>/", views.adjustment_detail, name="adjustment"),
    path("national/adjustments/<uuid:uuid>/changes.xlsx", views.adjustment_changes, name="adjustment_changes"),
]
