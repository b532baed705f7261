from django.urls import path

from fupin.funds import views

app_name = "funds"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("sources/", views.source_list, name="sources"),
    path("sources/import/", views.ledger_import, name="ledger_import"),
    path("projects/", views.project_list, name="projects"),
    path("projects/<int:pk>/", views.project_detail, name="project"),
    path("projects/<int:pk>/act/", views.project_action, name="project_action"),
    path("notices/<int:pk>/", views.notice_detail, name="notice"),
    path("notices/<int:pk>/pdf/", views.notice_pdf, name="notice_pdf"),
    path("notices/<int:pk>/xlsx/", views.notice_xlsx, name="notice_xlsx"),
    path("files/<str:kind>/<int:pk>/", views.file_view, name="file"),
    path("assets/", views.asset_list, name="assets"),
    path("assets/<int:pk>/", views.asset_detail, name="asset"),
    path("loans/", views.loan_list, name="loans"),
    path("loans/<int:pk>/", views.loan_detail, name="loan"),
    path("loans/<int:pk>/act/", views.loan_action, name="loan_action"),
    path("households/<str:key>/loan/", views.household_loan, name="household_loan"),
    path("risk/", views.risk_funds, name="risk"),
    path("risk/statement/", views.statement_import, name="statement_import"),
    path("subsidies/", views.subsidies, name="subsidies"),
    path("subsidies/<str:period>/xlsx/", views.payable_xlsx, name="payable_xlsx"),
]
