"""The programme outcomes page makes the same number of queries however many supported cases it adds up (issue 19
§3): hours released and ratings are read for every case at once, not once per case."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.cases import services as cs
from apps.cases.models import Case, Package, PlanAction, Route
from apps.delivery import outcomes

pytestmark = pytest.mark.django_db


def approve(icb: Any, puser: Any) -> Case:
    """A case for ``puser``'s practice with an approved package, hours released and a rating: every per-case read."""
    case, _ = cs.refer(puser, puser.practice, Route.SELF, cs.ReferralInput("Two partners are leaving this spring."))
    cs.triage(icb, case, "high", "high", "Workforce gap")
    action = cs.ActionInput("Coaching for the partners", "Lead partner", date(2027, 3, 1), "gprp-coaching")
    cs.save_plan(puser, case, [cs.GoalInput("workforce", "Stabilise the rota", [action])])
    cs.agree_plan(puser, case)
    today = date.today()
    pkg = cs.build_package(icb, case, [cs.LineInput("gprp-coaching", 6)], [], today, cs.financial_year_end(today))
    cs.submit_package(icb, pkg)
    from apps.funding import services as funding

    budget = max(funding.budgets_for(case.icb), key=lambda b: b.headroom_pence)
    pkg = Package.objects.get(pk=pkg.pk)
    cs.approve_package(icb, pkg, "Approved", budget)
    plan_action = PlanAction.objects.get(goal__plan__case=case)
    now = timezone.localdate()
    outcomes.record_hours_released(puser, case, plan_action, 3, 2, now - timedelta(days=30), now, "Rota audit")
    outcomes.rate_package(icb, Package.objects.get(pk=pkg.pk), "green", "Salaried GP started; rota stable.")
    return case


def queries_for(client: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("delivery:outcomes"))
    assert response.status_code == 200
    return len(ctx)


@pytest.mark.parametrize("persona", ["national", "icb_a"])
def test_the_outcomes_page_makes_as_many_queries_with_two_more_supported_cases(client_for, personas, persona):
    cs.sync_menu()
    approve(personas["icb_a"], personas["practice_x"])
    client = client_for(persona)
    before = outcomes.programme_outcomes(Case.objects.all()).practices_supported
    queries_for(client)  # the first request fills per-process caches (the session, the current run)
    one = queries_for(client)
    from apps.accounts.models import Role, User

    for n in range(2):  # two more of ICB A's practices, each with its own supported case
        practice = (
            type(personas["practice_x"].practice)
            .objects.filter(icb=personas["icb_a"].icb, status="active")
            .exclude(support_cases__isnull=False)
            .exclude(users__isnull=False)
            .order_by("code")[n]
        )
        puser = User.objects.create_user(username=f"t-more-{n}", role=Role.PRACTICE, practice=practice)
        approve(personas["icb_a"], puser)
    assert outcomes.programme_outcomes(Case.objects.all()).practices_supported == before + 2
    queries_for(client)
    assert queries_for(client) == one
