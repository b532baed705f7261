from django.urls import path

from fupin.lifecycle import views

app_name = "lifecycle"
urlpatterns = [
    path("", views.pipeline, name="pipeline"),
    path("start/", views.start, name="start"),
    path("settings/", views.settings_view, name="settings"),
    path("batches/", views.batch_list, name="batches"),
    path("batches/<uuid:uuid>/", views.batch_detail, name="batch"),
    path("batches/<uuid:uuid>/notice/<str:step>.pdf", views.notice_pdf, name="notice_pdf"),
    path("batches/<uuid:uuid>/notice/<str:step>.xlsx", views.notice_xlsx, name="notice_xlsx"),
    path("attachments/<uuid:uuid>/", views.attachment, name="attachment"),
    path("households/<str:key>/card.pdf", views.household_card, name="card"),
    path("households/<str:key>/panel/", views.household_panel, name="household_panel"),
    path("<uuid:uuid>/", views.procedure_detail, name="detail"),
    path("<uuid:uuid>/step/", views.record_step, name="record_step"),
    path("<uuid:uuid>/spot-check/", views.record_spot_check, name="spot_check"),
]
