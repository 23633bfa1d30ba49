from django.urls import path

from apps.cases import clock_views, evaluation_views, price_views, views

app_name = "cases"
urlpatterns = [
    path("indicators/support-evaluation/", evaluation_views.support_evaluation_page, name="support_evaluation"),
    path("cases/", views.queue, name="queue"),
    path("cases/clocks/", clock_views.clock_targets, name="clock_targets"),
    path("cases/matrix/", views.matrix, name="matrix"),
    path("cases/refer/", views.refer, name="refer"),
    path("cases/nominate/", views.nominate, name="nominate"),
    path("cases/<int:pk>/", views.detail, name="detail"),
    path("cases/<int:pk>/triage/", views.triage, name="triage"),
    path("cases/<int:pk>/move/<str:target>/", views.move, name="move"),
    path("cases/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("cases/<int:pk>/notes/", views.add_note, name="add_note"),
    path("cases/<int:pk>/provider/", views.assign, name="assign"),
    path("cases/<int:pk>/health-check/", views.health_check, name="health_check"),
    path("cases/<int:pk>/plan/", views.plan, name="plan"),
    path("cases/<int:pk>/plan/agree/", views.agree, name="agree"),
    path("cases/<int:pk>/package/", views.package, name="package"),
    path("cases/<int:pk>/package/<int:number>/decide/", views.decide, name="decide"),
    path("cases/<int:pk>/package/<int:number>/vary/", views.vary, name="vary"),
    path("cases/<int:pk>/package/<int:number>/shares/", views.shares, name="shares"),
    path("menu-of-support/", price_views.menu, name="menu"),
    path("menu-of-support/<str:code>/local-price/", price_views.local_price, name="local_price"),
    path("notifications/", views.notifications, name="notifications"),
]
