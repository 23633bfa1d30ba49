"""The cohort pages end to end as the people who use them: the ICB creates a cohort, a practice expresses interest
in minutes, the ICB allocates, the practice accepts; refusals keep what was typed; the national team sees counts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.cohorts import services
from apps.cohorts.models import AttendeeRole, Cohort, Interest
from apps.cohorts.tests.conftest import practices_of
from apps.delivery.models import ProviderOrganisation
from apps.funding.models import FundingLine

pytestmark = pytest.mark.django_db


def _new_cohort_post(line: FundingLine, org: ProviderOrganisation, **kw: str) -> dict[str, str]:
    today = timezone.localdate()
    data = {
        "offer": "gpdp-pm-development",
        "line": str(line.pk),
        "title": "PM development, autumn",
        "starts_on": (today + timedelta(days=28)).isoformat(),
        "ends_on": (today + timedelta(days=90)).isoformat(),
        "closes_on": (today + timedelta(days=10)).isoformat(),
        "places": "12",
        "mode": "venue",
        "venue": "Civic Centre, Newcastle",
        "provider": str(org.pk),
        "cost": "£1,500",
        "rule": "first_come",
        "practice_managers_only": "1",
    }
    data.update(kw)
    return data


def test_an_icb_creates_a_cohort_and_a_practice_expresses_interest_accepts_and_sees_its_place(
    client_for: Callable[[str], Any], personas: dict[str, Any], line: FundingLine, org: ProviderOrganisation
) -> None:
    icb = client_for("icb_a")
    assert icb.get(reverse("cohorts:new")).status_code == 200
    response = icb.post(reverse("cohorts:new"), _new_cohort_post(line, org))
    cohort = Cohort.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("cohorts:detail", args=[cohort.pk])
    assert (cohort.cost_per_place_pence, cohort.places, cohort.icb_id) == (150_000, 12, personas["icb_a"].icb_id)

    practice = client_for("practice_x")
    page = practice.get(reverse("cohorts:interest", args=[cohort.pk])).content.decode()
    assert personas["practice_x"].practice.display_name in page  # prefilled: the practice is itself
    response = practice.post(
        reverse("cohorts:interest", args=[cohort.pk]),
        {"attendee_name": "Robin Manager", "attendee_role": AttendeeRole.PRACTICE_MANAGER, "hopes": "Rotas"},
    )
    assert response.status_code == 302
    interest = Interest.objects.get(cohort=cohort)

    response = client_for("icb_a").post(reverse("cohorts:allocate", args=[cohort.pk]))
    assert response.status_code == 302
    practice = client_for("practice_x")
    assert "Accept the place" in practice.get(reverse("cohorts:place", args=[interest.pk])).content.decode()
    response = practice.post(reverse("cohorts:place", args=[interest.pk]), {"action": "accept"})
    assert response.status_code == 302
    interest.refresh_from_db()
    assert interest.state == Interest.State.ACCEPTED and interest.commitment is not None
    listing = practice.get(reverse("cohorts:list")).content.decode()
    assert "Your interest: place accepted" in listing


def test_a_refused_cohort_keeps_what_was_typed_and_names_each_problem(
    client_for: Callable[[str], Any], line: FundingLine, org: ProviderOrganisation
) -> None:
    response = client_for("icb_a").post(
        reverse("cohorts:new"), _new_cohort_post(line, org, places="lots", rule="quotas", quotas="QHM five")
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Give the number of places as a whole number" in page and "Line 1: five is not a whole number" in page
    assert 'value="PM development, autumn"' in page and not Cohort.objects.exists()


def test_a_practice_manager_only_cohort_refuses_another_role_on_the_page(
    client_for: Callable[[str], Any], personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    cohort = make_cohort(personas["icb_a"], practice_managers_only=True)
    response = client_for("practice_x").post(
        reverse("cohorts:interest", args=[cohort.pk]), {"attendee_name": "Dr Lee", "attendee_role": "gp"}
    )
    assert response.status_code == 400
    assert "for practice managers" in response.content.decode() and not cohort.interests.exists()


def test_the_national_team_sees_counts_by_icb_and_no_practice(
    client_for: Callable[[str], Any], personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    cohort = make_cohort(personas["national"])
    a1 = practices_of(personas["icb_a"].icb, 1)[0]
    services.express_interest(personas["icb_a"], cohort, a1, "Alex Manager", AttendeeRole.PRACTICE_MANAGER)
    page = client_for("national").get(reverse("cohorts:detail", args=[cohort.pk])).content.decode()
    assert "Interest by ICB" in page and personas["icb_a"].icb.short_name in page
    assert a1.code not in page and a1.display_name not in page and "Alex Manager" not in page
    interest = cohort.interests.get()
    assert client_for("national").get(reverse("cohorts:place", args=[interest.pk])).status_code == 404
    icb_page = client_for("icb_a").get(reverse("cohorts:detail", args=[cohort.pk])).content.decode()
    assert a1.display_name in icb_page


def test_list_page_reads_a_fixed_number_of_queries(
    client_for: Callable[[str], Any], personas: dict[str, Any], make_cohort: Callable[..., Cohort],
    django_assert_max_num_queries: Any,
) -> None:  # fmt: skip
    client = client_for("icb_a")
    make_cohort(personas["icb_a"])
    client.get(reverse("cohorts:list"))
    with django_assert_max_num_queries(12) as one:
        client.get(reverse("cohorts:list"))
    for n in range(4):
        make_cohort(personas["icb_a"], title=f"Cohort {n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(reverse("cohorts:list"))


def test_practice_manager_development_is_one_offer_linking_cohorts_networks_and_coaching(
    client_for: Callable[[str], Any], personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    pm = make_cohort(personas["icb_a"], title="PM development cohort")
    other = make_cohort(personas["icb_a"], title="Time for Care workshop", offer_code="gpdp-hia")
    client = client_for("practice_x")
    listing = client.get(reverse("cohorts:list"), {"offer": "gpdp-pm-development"}).content.decode()
    assert pm.title in listing and other.title not in listing
    assert reverse("delivery:networks") in listing and reverse("delivery:coaching") in listing
    detail = client.get(reverse("cohorts:detail", args=[pm.pk])).content.decode()
    assert "carries on after the cohort" in detail and "practice-manager network</a>" in detail
    assert "carries on after the cohort" not in client.get(reverse("cohorts:detail", args=[other.pk])).content.decode()
    for page in ("delivery:networks", "delivery:coaching"):
        assert "?offer=gpdp-pm-development" in client.get(reverse(page)).content.decode()
    assert other.title in client.get(reverse("cohorts:list"), {"offer": "no-such-offer"}).content.decode()
