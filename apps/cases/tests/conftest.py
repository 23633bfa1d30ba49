from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from apps.cases import services
from apps.cases.models import Case, Route


@pytest.fixture
def referral() -> services.ReferralInput:
    return services.ReferralInput(
        "Two partners are leaving and we cannot fill the sessions.", tried=["locums"], urgency="soon"
    )


@pytest.fixture
def case_x(personas: dict[str, Any], referral: services.ReferralInput) -> Case:
    """A self-referral by practice X (ICB A)."""
    px = personas["practice_x"]
    case, _ = services.refer(px, px.practice, Route.SELF, referral)
    return case


@pytest.fixture
def triaged_x(personas: dict[str, Any], case_x: Case) -> Case:
    services.triage(personas["icb_a"], case_x, "high", "medium", "Workforce gap the menu can address")
    case_x.refresh_from_db()
    return case_x


def plan_goals() -> list[services.GoalInput]:
    return [
        services.GoalInput(
            "workforce",
            "Fill the GP vacancy",
            [services.ActionInput("Recruit a salaried GP", "Practice manager", date(2027, 1, 31), "gprp-workforce")],
        )
    ]


@pytest.fixture
def agreed_x(personas: dict[str, Any], triaged_x: Case) -> Case:
    services.save_plan(personas["practice_x"], triaged_x, plan_goals())
    services.agree_plan(personas["practice_x"], triaged_x)
    triaged_x.refresh_from_db()
    return triaged_x


def this_year() -> tuple[date, date]:
    today = date.today()
    return today, services.financial_year_end(today)


def budget_for(case: Case) -> Any:
    """The case ICB's budget this year with the most released headroom (demo money is loaded in the test set-up)."""
    from apps.funding import services as funding

    return max(funding.budgets_for(case.icb), key=lambda b: b.headroom_pence)


def accept_every_share(pkg: Any) -> None:
    """Each practice a submitted group package covers (not the lead) accepts its share, through its own user."""
    from apps.accounts.models import Role, TeamRole, User

    for pp in pkg.practices.exclude(practice_id=pkg.case.practice_id).select_related("practice"):
        user = User.objects.filter(role=Role.PRACTICE, practice=pp.practice).first() or User.objects.create_user(
            username=f"t-share-{pp.practice.code}", role=Role.PRACTICE, practice=pp.practice, team_role=TeamRole.LEAD
        )
        services.decide_share(user, pkg, True)
