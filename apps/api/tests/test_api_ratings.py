"""The RAG rating through the API: the case's ICB team rates an approved package; the provider delivering the case and
the practice see the case but are refused (403), another ICB's team does not find it (404); earlier ratings stay."""

from __future__ import annotations

import pytest

from apps.cases import services as cs
from apps.delivery import outcomes
from apps.delivery.models import PackageRating
from apps.delivery.tests.conftest import approved_x  # noqa: F401  (a fixture, used by name)

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivering(personas, approved_x):  # noqa: F811
    cs.assign_provider(personas["icb_a"], approved_x, personas["provider"])
    outcomes.rate_package(personas["icb_a"], approved_x.packages.get(), "amber", "Vacancy still open after two months.")
    return approved_x


def test_the_api_lets_the_icb_team_rate_and_refuses_the_provider(api_call, personas, delivering):
    url = f"/api/v1/cases/{delivering.pk}/packages/1/rating"
    body = {"rag": "green", "reason": "All sessions delivered on time."}
    refused = api_call("provider", "POST", url, body)
    assert refused.status_code == 403 and "ICB team" in refused.json()["detail"]
    assert api_call("practice_x", "POST", url, body).status_code == 403
    assert api_call("icb_b", "POST", url, body).status_code == 404
    assert PackageRating.objects.filter(package__case=delivering).first().rag == "amber"
    short = api_call("icb_a", "POST", url, {"rag": "green", "reason": "fine"})
    assert short.status_code == 422 and "reason" in short.content.decode()
    done = api_call("icb_a", "POST", url, body)
    assert done.status_code == 200 and done.json()["rag"] == "green"
    assert list(PackageRating.objects.filter(package__case=delivering).values_list("rag", flat=True)) == [
        "green",
        "amber",
    ]  # the earlier rating is kept
