"""Who may see targeting (dispersal, ripple scores, group suggestions) and optimiser scenarios: the targeting app's
access rules, next to its domain (issue 15 §3). Views and the API ask these functions, never ``user.role``.

Dispersal and ripple pages name practices and their pressure, so they are an ICB team's view of its own ICB; the
national team runs national scenarios and sees per-ICB aggregates only.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.access import is_signed_in
from apps.accounts.models import Role, User
from apps.practices.models import ICB, Practice
from apps.targeting.models import Scenario


def can_see_targeting(user: User, icb: ICB) -> bool:
    """Dispersal and ripple pages name practices and their pressure: only that ICB's own team sees them."""
    return is_signed_in(user) and user.role == Role.ICB and user.icb_id == icb.pk


def can_simulate_closure(user: User, practice: Practice) -> bool:
    """A practice's closure simulation shows it and its neighbours with pressure: its own ICB team only."""
    return practice.icb is not None and can_see_targeting(user, practice.icb)


def can_see_group_suggestion(user: User, practice: Practice) -> bool:
    """The ripple group suggestion for a case names its practice's neighbours, chosen by their pressure: like the
    ripple page, only the practice's own ICB team sees it (a practice user never gets its neighbours' list)."""
    return can_simulate_closure(user, practice)


def can_run_scenarios(user: User) -> bool:
    """ICB teams run scenarios for their own ICB; the national team runs national scenarios (aggregates only)."""
    return is_signed_in(user) and user.role in (Role.ICB, Role.NATIONAL) and (user.role != Role.ICB or user.icb_id)


def scenarios_visible_to(user: User) -> QuerySet[Scenario]:
    """Saved scenarios a user may open: an ICB team its own ICB's; the national team the national ones."""
    if not is_signed_in(user):
        return Scenario.objects.none()
    if user.role == Role.ICB and user.icb_id:
        return Scenario.objects.filter(scope=Scenario.Scope.ICB, icb_id=user.icb_id)
    if user.role == Role.NATIONAL:
        return Scenario.objects.filter(scope=Scenario.Scope.NATIONAL)
    return Scenario.objects.none()


def get_scenario_for(user: User, ref: str) -> Scenario:
    """The scenario with this reference if the user may open it; 404 otherwise (never reveals existence)."""
    if not can_run_scenarios(user):
        raise PermissionDenied
    return get_object_or_404(scenarios_visible_to(user).select_related("icb", "created_by"), ref=ref)


def can_see_scenario_practices(user: User, scenario: Scenario) -> bool:
    """Per-practice results (names, pressure, reasons) only for the ICB team of an ICB scenario; national
    scenarios show per-ICB aggregates only, to everyone who may open them."""
    return (
        is_signed_in(user)
        and scenario.scope == "icb"
        and user.role == Role.ICB
        and scenario.icb_id is not None
        and user.icb_id == scenario.icb_id
    )


def ripple_home_icb(user: User) -> ICB | None:
    """The ICB whose ripple page is a user's targeting home: an ICB team's own (the national team's is scenarios)."""
    return user.icb if is_signed_in(user) and user.role == Role.ICB and user.icb is not None else None


def scenario_scope_for(user: User) -> str:
    """The one scope a user's new scenarios take: an ICB team's are for its own ICB, the national team's for England."""
    return Scenario.Scope.ICB if user.role == Role.ICB else Scenario.Scope.NATIONAL
