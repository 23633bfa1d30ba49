from django.urls import include, path

from apps.api.main import urls as api_urls

urlpatterns = [
    path("", include("apps.pages.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("accounts/", include("apps.teams.urls")),
    path("accounts/api-tokens/", include("apps.api.urls")),
    path("api/v1/", api_urls()),
    path("", include("apps.practices.urls")),
    path("data/", include("apps.datasets.urls")),
    path("", include("apps.indicators.urls")),
    path("", include("apps.cases.urls")),
    path("targeting/", include("apps.targeting.urls")),
    path("", include("apps.funding.urls")),
    path("", include("apps.delivery.urls")),
    path("", include("apps.caseload.urls")),
    path("", include("apps.cohorts.urls")),
]
