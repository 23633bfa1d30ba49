from django.urls import path

from apps.indicators import views

app_name = "indicators"
urlpatterns = [
    path("watch-list/", views.watch_home, name="watch_home"),
    path("watch-list/<str:code>/", views.watch_list, name="watch_list"),
    path("watch-list/<str:code>/<str:practice_code>/", views.watch_practice, name="watch_practice"),
    path("indicators/", views.indicator_list, name="definitions"),
    path("indicators/back-test/", views.backtest_page, name="backtest"),
    path("indicators/runs/", views.run_list, name="runs"),
]
