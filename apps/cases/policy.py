"""The case app's own access rules, named (issue 15 §3): views and services ask these, never ``user.role``.

Which cases a user sees at all is the chokepoint's (``apps.accounts.access.cases_visible_to``, ``can_run_case``);
these rules say which part a user plays on a case: the ICB's case team, the practice itself, the assigned provider,
or the LMC that nominates.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from apps.accounts.access import is_signed_in
from apps.accounts.models import Role, User

if TYPE_CHECKING:
    from apps.cases.models import Case


def is_case_team(user: User) -> bool:
    """An ICB team: triages, decides and approves its own ICB's cases; its first action is the case's first contact."""
    return is_signed_in(user) and user.role == Role.ICB and user.icb_id is not None


def is_lmc(user: User) -> bool:
    """An LMC: nominates practices in its ICB and sees its nominations (practice and date), never the case."""
    return is_signed_in(user) and user.role == Role.LMC


def is_practice_login(user: User) -> bool:
    return is_signed_in(user) and user.role == Role.PRACTICE


def is_the_practice(user: User, case: Case) -> bool:
    """The practice the case is about: owns its plan and health check, and agrees the plan."""
    return is_practice_login(user) and user.practice_id == case.practice_id


def is_provider_account(user: User) -> bool:
    """An account that can be assigned to deliver a case's package."""
    return user.role == Role.PROVIDER and user.is_active


def plays_one_of(user: User, roles: Collection[str]) -> bool:
    """Whether the user's part is one of these (a lifecycle step lists who may take it)."""
    return is_signed_in(user) and user.role in roles


def can_see_clock_targets(user: User) -> bool:
    """The stage clocks' targets in force for an ICB: its own case team."""
    return is_case_team(user)


def can_change_clock_targets(user: User) -> bool:
    """An ICB's own targets are set by its team lead (who answers for the team's standards)."""
    return is_case_team(user) and user.is_team_lead


def case_teams(icb_ids: Collection[int]) -> QuerySet[User]:
    """The active case-team members of these ICBs: who gets an ICB's daily clock digest."""
    return User.objects.filter(role=Role.ICB, icb_id__in=list(icb_ids), is_active=True)
