from django.urls import include, path

urlpatterns = [
    path("", include("apps.core.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("", include("apps.practices.urls")),
    path("data/", include("apps.datasets.urls")),
    path("", include("apps.indicators.urls")),
    path("", include("apps.cases.urls")),
    path("", include("apps.delivery.urls")),
]
