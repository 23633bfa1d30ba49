"""The demo cohort: an open cohort of practice-manager development with expressions of interest, made once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from apps.cohorts.models import Cohort, Interest
from apps.funding.lines import funds_offer, is_universal

pytestmark = pytest.mark.django_db


def test_the_demo_cohort_is_open_with_interest_and_made_once() -> None:
    out = StringIO()
    call_command("create_demo_cohorts", force=True, stdout=out)
    cohort = Cohort.objects.get()
    assert cohort.status == Cohort.Status.OPEN and cohort.practice_managers_only
    assert is_universal(cohort.line) and funds_offer(cohort.line, cohort.offer.code, cohort.offer.programme)
    assert cohort.interests.filter(state=Interest.State.WAITING).count() == 4
    assert cohort.provider.lead_user is not None and cohort.provider.lead_user.username == "provider"
    assert "4 expressions of interest" in out.getvalue()
    call_command("create_demo_cohorts", force=True, stdout=out)
    assert Cohort.objects.count() == 1 and "exists already" in out.getvalue()
