from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.cases import services as cs
from apps.cases.models import Case, Package, Route
from apps.delivery import services
from apps.delivery.models import Accreditation, Assignment, FacultyMember, MemberRole, ProviderOrganisation, Session


@pytest.fixture
def approved_x(personas: dict[str, Any]) -> Case:
    """Practice X's case with an approved package: 6 coaching sessions (12 provider hours) to year end."""
    cs.sync_menu()
    icb, px = personas["icb_a"], personas["practice_x"]
    case, _ = cs.refer(px, px.practice, Route.SELF, cs.ReferralInput("Two partners are leaving this spring."))
    cs.triage(icb, case, "high", "high", "Workforce gap")
    goals = [
        cs.GoalInput(
            "workforce",
            "Stabilise the rota",
            [cs.ActionInput("Coaching for the partners", "Lead partner", date(2027, 3, 1), "gprp-coaching")],
        )
    ]
    cs.save_plan(px, case, goals)
    cs.agree_plan(px, case)
    today = date.today()
    pkg = cs.build_package(icb, case, [cs.LineInput("gprp-coaching", 6)], [], today, cs.financial_year_end(today))
    cs.submit_package(icb, pkg)
    from apps.funding import services as funding

    budget = max(funding.budgets_for(case.icb), key=lambda b: b.headroom_pence)
    cs.approve_package(icb, Package.objects.get(pk=pkg.pk), "Approved", budget)
    case.refresh_from_db()
    return case


@pytest.fixture
def org(personas: dict[str, Any]) -> ProviderOrganisation:
    from apps.cases.models import SupportOffer

    cs.sync_menu()
    o = ProviderOrganisation.objects.create(name="Test faculty", kind="faculty", capacity_hours_per_month=20)
    o.icbs.set([personas["icb_a"].icb])
    o.offers.set(SupportOffer.objects.filter(code__in=["gprp-coaching", "gpdp-pm-coaching"]))
    return o


def make_member(
    org: ProviderOrganisation,
    personas: dict[str, Any],
    *,
    user: Any = None,
    capacity: float = 20,
    name: str = "Alex Coach",
    **kw: Any,
) -> FacultyMember:
    from apps.cases.models import SupportOffer

    m = FacultyMember.objects.create(
        name=name,
        organisation=org,
        user=user,
        role=kw.pop("role", MemberRole.COACH),
        capacity_hours_per_month=capacity,
        accreditation=kw.pop("accreditation", Accreditation.ACCREDITED),
        accredited_on=date(2022, 1, 1),
        joined_on=date(2022, 1, 1),
        **kw,
    )
    m.icbs.set([personas["icb_a"].icb])
    m.offers.set(SupportOffer.objects.filter(code__in=["gprp-coaching", "gpdp-pm-coaching"]))
    return m


@pytest.fixture
def coach(org: ProviderOrganisation, personas: dict[str, Any]) -> FacultyMember:
    """An accredited coach in ICB A, logged in as the provider persona."""
    return make_member(org, personas, user=personas["provider"])


@pytest.fixture
def assignment(personas: dict[str, Any], approved_x: Case, coach: FacultyMember) -> Assignment:
    line = approved_x.packages.get(state=Package.State.APPROVED).lines.get()
    return services.assign_work(personas["icb_a"], line, member=coach)


@pytest.fixture
def past_session(personas: dict[str, Any], assignment: Assignment) -> Session:
    """A session that started five minutes ago (created directly: the package starts today)."""
    return Session.objects.create(
        practice=assignment.case.practice,
        case=assignment.case,
        assignment=assignment,
        member=assignment.member,
        title="Coaching 1",
        starts_at=timezone.now() - timedelta(hours=1),
        planned_hours=2,
        created_by=personas["provider"],
    )
