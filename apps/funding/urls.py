from django.urls import path

from apps.funding import views
from apps.funding.views.threshold import programme_threshold, programme_virement_rule

app_name = "funding"
urlpatterns = [
    path("money/", views.dashboard, name="dashboard"),
    path("money/programmes/new/", views.programme_new, name="programme_new"),
    path("money/programmes/<str:code>/", views.programme_detail, name="programme"),
    path("money/programmes/<str:code>/at-risk-threshold/", programme_threshold, name="programme_threshold"),
    path("money/programmes/<str:code>/virement-rule/", programme_virement_rule, name="programme_virement_rule"),
    path("money/programmes/<str:code>/<str:line_code>/allocate/", views.allocate, name="allocate"),
    path("money/programmes/<str:code>/<str:line_code>/release/", views.release, name="release"),
    path("money/icb/<str:code>/", views.icb_budget, name="icb_budget"),
    path("money/icb/<str:code>/payments/", views.payments, name="payments"),
    path("money/icb/<str:code>/payees/", views.payee_list, name="payees"),
    path("money/icb/<str:code>/payees/new/", views.payee_new, name="payee_new"),
    path("money/icb/<str:code>/payees/<str:reference>/", views.payee_detail, name="payee"),
    path("money/ledger/", views.ledger, name="ledger"),
    path("money/virements/", views.virements, name="virements"),
    path("spend/", views.spend, name="spend"),
    path("spend/360giving.json", views.spend_json, name="spend_json"),
    path("spend/360giving.xlsx", views.spend_xlsx, name="spend_xlsx"),
]
