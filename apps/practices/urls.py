from django.urls import path

from apps.practices import views

app_name = "practices"
urlpatterns = [
    path("practices/", views.practice_search, name="search"),
    path("practices/<str:code>/", views.practice_detail, name="detail"),
    path("icbs/", views.icb_list, name="icb_list"),
    path("icbs/<str:code>/", views.icb_detail, name="icb_detail"),
    path("pcns/<str:code>/", views.pcn_detail, name="pcn_detail"),
]
