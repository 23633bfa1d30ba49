"""The case app's own access rules, named (issue 15 §3): views and services ask these, never ``user.role``.

Which cases a user sees at all is the chokepoint's (``apps.accounts.access.cases_visible_to``, ``can_run_case``);
these rules say which part a user plays on a case: the ICB's case team, the practice itself, the assigned provider,
or the LMC that nominates.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import QuerySet

from apps.accounts.access import can_run_case, is_signed_in
from apps.accounts.models import Role, User
from apps.cases.models import Case, Route


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


def provider_accounts(*, active_only: bool = True) -> QuerySet[User]:
    """Accounts a case can be assigned to (the service refuses a deactivated one in words)."""
    qs = User.objects.filter(role=Role.PROVIDER)
    return qs.filter(is_active=True) if active_only else qs


def can_see_matrix(user: User) -> bool:
    """The scope × impact matrix of open cases is the ICB team's working view of its own ICB."""
    return is_case_team(user)


def nomination_route(user: User, posted: str, *, from_watch_list: bool) -> Route:
    """How a nomination came in: the LMC's own route; the ICB team's, or the watch list when the team came from it
    (the page says so in its query, the form in its hidden field). Nobody else can claim the watch list."""
    if is_lmc(user):
        return Route.LMC
    if is_case_team(user) and (from_watch_list or posted == Route.WATCH_LIST):
        return Route.WATCH_LIST
    return Route.ICB


def plays_a_part_in(user: User, case: Case) -> bool:
    """The user is one of this case's own people: its ICB team, the practice itself, or its assigned provider."""
    return (
        can_run_case(user, case) or is_the_practice(user, case) or (is_signed_in(user) and case.provider_id == user.pk)
    )


def can_see_clock_targets(user: User) -> bool:
    """The stage clocks' targets in force for an ICB: its own case team."""
    return is_case_team(user)


def can_change_clock_targets(user: User) -> bool:
    """An ICB's own targets are set by its team lead (who answers for the team's standards)."""
    return is_case_team(user) and user.is_team_lead


def case_teams(icb_ids: Collection[int]) -> QuerySet[User]:
    """The active case-team members of these ICBs: who gets an ICB's daily clock digest."""
    return User.objects.filter(role=Role.ICB, icb_id__in=list(icb_ids), is_active=True)
