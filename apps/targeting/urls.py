from django.urls import path

from apps.targeting import views

app_name = "targeting"
urlpatterns = [
    path("", views.home, name="home"),
    path("icb/<str:code>/", views.icb_ripple, name="icb_ripple"),
    path("practice/<str:code>/", views.practice_dispersal, name="dispersal"),
    path("scenarios/", views.scenario_list, name="scenarios"),
    path("scenarios/compare/", views.scenario_compare, name="compare"),
    path("scenarios/<str:ref>/", views.scenario_detail, name="scenario"),
    path("scenarios/<str:ref>/variants/", views.scenario_variants, name="variants"),
]
