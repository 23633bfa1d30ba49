"""The RAG rating on a package is the ICB team's: the provider delivering the case records delivery and outcomes but
cannot set or overwrite the rating, through the service, the page or the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.cases import services as cs
from apps.delivery import outcomes
from apps.delivery.errors import DeliveryError
from apps.delivery.models import PackageRating

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivering(personas, approved_x):
    cs.assign_provider(personas["icb_a"], approved_x, personas["provider"])
    pkg = approved_x.packages.get()
    outcomes.rate_package(personas["icb_a"], pkg, "amber", "Vacancy still open after two months.")
    return approved_x


def test_the_provider_cannot_rate_through_the_service(personas, delivering):
    pkg = delivering.packages.get()
    with pytest.raises(DeliveryError, match="ICB team"):
        outcomes.rate_package(personas["provider"], pkg, "green", "All sessions delivered on time.")
    assert list(PackageRating.objects.filter(package=pkg).values_list("rag", flat=True)) == ["amber"]


def test_the_provider_sees_the_rating_but_not_the_form_and_a_forged_post_is_refused(client_for, personas, delivering):
    url = reverse("delivery:case_outcomes", args=[delivering.pk])
    page = client_for("provider").get(url).content.decode()
    assert "Vacancy still open" in page and 'value="rag"' not in page
    forged = {"action": "rag", "package": "1", "rag": "green", "reason": "All sessions delivered on time."}
    assert client_for("provider").post(url, forged).status_code == 403
    assert PackageRating.objects.filter(package__case=delivering).count() == 1
    icb = client_for("icb_a")
    assert 'value="rag"' in icb.get(url).content.decode()
    assert icb.post(url, forged).status_code == 302
    assert PackageRating.objects.filter(package__case=delivering).first().rag == "green"
