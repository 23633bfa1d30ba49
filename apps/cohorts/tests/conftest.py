from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from analytics import money
from apps.accounts.models import Role, User
from apps.cohorts import demo, services
from apps.cohorts.models import Cohort, Mode, Rule
from apps.delivery.models import ProviderOrganisation
from apps.funding.models import FundingLine
from apps.practices.models import ICB, Practice, PracticeStatus

START = timedelta(days=28)


@pytest.fixture
def line(personas: dict[str, Any]) -> FundingLine:
    return demo.universal_line(personas["national"], money.financial_year_of(timezone.localdate() + START))


@pytest.fixture
def org(personas: dict[str, Any]) -> ProviderOrganisation:
    o = demo.provider()
    o.lead_user = personas["provider"]
    o.save()
    return o


@pytest.fixture
def make_cohort(line: FundingLine, org: ProviderOrganisation) -> Callable[..., Cohort]:
    def make(user: User, **kw: Any) -> Cohort:
        today = timezone.localdate()
        fields: dict[str, Any] = {
            "offer_code": demo.PM_OFFER,
            "line_id": line.pk,
            "title": "Practice-manager development, test cohort",
            "starts_on": today + START,
            "ends_on": today + START + timedelta(days=60),
            "closes_on": today + timedelta(days=7),
            "places": 2,
            "mode": Mode.ONLINE,
            "provider_id": org.pk,
            "cost_per_place_pence": 150_000,
            "rule": Rule.FIRST_COME,
        }
        fields.update(kw)
        return services.create_cohort(user, services.CohortInput(**fields))

    return make


def practices_of(icb: ICB, n: int, *, skip: int = 1) -> list[Practice]:
    """``n`` active practices of the ICB (after the personas' own practice), in code order."""
    return list(Practice.objects.filter(icb=icb, status=PracticeStatus.ACTIVE).order_by("code")[skip : skip + n])


def practice_user(practice: Practice) -> User:
    """The practice's test login (made the first time it is asked for)."""
    found = User.objects.filter(username=f"t-pm-{practice.code}").first()
    return found or User.objects.create_user(
        username=f"t-pm-{practice.code}", password="x-test-password-1", role=Role.PRACTICE, practice=practice
    )
