"""The access chokepoints. Every view and API call asks these functions, and nothing else, what a user may see.

The register holds national open data, which any signed-in user may read; watch lists, cases and money records
have their own functions here so that the rules stay in one place and one test walks them all.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from apps.accounts.models import Role, User
from apps.api.models import ApiToken
from apps.practices.models import ICB, PCN, Practice

if TYPE_CHECKING:
    from apps.cases.models import Case


def is_signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "is_active", False)


def practices_visible_to(user: User) -> QuerySet[Practice]:
    """Register rows a user may list. Open national data: every signed-in user sees every practice."""
    if not is_signed_in(user):
        return Practice.objects.none()
    return Practice.objects.all()


def get_practice_for(user: User, code: str) -> Practice:
    """The practice with this ODS code if the user may see it; 404 otherwise (never reveals existence)."""
    return get_object_or_404(
        practices_visible_to(user).select_related("region", "icb", "sub_icb", "pcn"), code=code.upper()
    )


def icbs_visible_to(user: User) -> QuerySet[ICB]:
    """ICBs a user may list: open national data, every ICB for every signed-in user."""
    if not is_signed_in(user):
        return ICB.objects.none()
    return ICB.objects.all()


def get_icb_for(user: User, code: str) -> ICB:
    if not is_signed_in(user):
        raise PermissionDenied
    return get_object_or_404(ICB.objects.select_related("region"), code=code.upper())


def get_pcn_for(user: User, code: str) -> PCN:
    if not is_signed_in(user):
        raise PermissionDenied
    return get_object_or_404(PCN.objects.select_related("sub_icb__icb"), code=code.upper())


def home_icb(user: User) -> ICB | None:
    """The ICB a user works in, if any (used to default filters, never to widen access)."""
    if user.role in (Role.ICB, Role.LMC):
        return user.icb
    if user.role == Role.PRACTICE and user.practice:
        return user.practice.icb
    return None


def can_view_import_logs(user: User) -> bool:
    """Import logs name files and row counts only; the national team and ICB teams run and check loads."""
    return is_signed_in(user) and user.role in (Role.NATIONAL, Role.ICB)


def can_see_watch_list(user: User, icb: ICB) -> bool:
    """A watch list names practices of concern: only that ICB's own team sees it."""
    return is_signed_in(user) and user.role == Role.ICB and user.icb_id == icb.pk


def can_edit_watch_list(user: User, icb: ICB) -> bool:
    return can_see_watch_list(user, icb)


def can_see_watch_summary(user: User) -> bool:
    """Counts per ICB, no practice named: the national team's view."""
    return is_signed_in(user) and user.role == Role.NATIONAL


def can_see_practice_pressure(user: User, practice: Practice) -> bool:
    """A practice's pressure score and its explanation: its ICB team and the practice itself.

    Practices fear being labelled; the national team sees aggregates only, providers and LMCs see cases, not scores.
    """
    if not is_signed_in(user):
        return False
    if user.role == Role.ICB:
        return practice.icb_id is not None and user.icb_id == practice.icb_id
    if user.role == Role.PRACTICE:
        return user.practice_id == practice.pk
    return False


def can_see_backtest(user: User) -> bool:
    """The back-test is aggregate (AUC, precision) and names no practice."""
    return is_signed_in(user) and user.role in (Role.NATIONAL, Role.ICB)


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    """A user's own API tokens. Nobody lists or revokes another user's tokens, whatever their role."""
    if not is_signed_in(user):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user)


def get_api_token_for(user: User, pk: int) -> ApiToken:
    """One of the user's own tokens; 404 for anyone else's (never reveals that it exists)."""
    return get_object_or_404(api_tokens_of(user), pk=pk)


# --- Money ------------------------------------------------------------------------------------------------------


def can_manage_funding(user: User) -> bool:
    """Programmes, allocations, tranche releases and virement decisions: the national programme team only."""
    return is_signed_in(user) and user.role == Role.NATIONAL


def can_see_budget(user: User, icb: ICB) -> bool:
    """An ICB's budgets at ICB level (allocated, released, committed, spent): the national team and that ICB's team.

    Practice, provider and LMC users see no budget pages.
    """
    if not is_signed_in(user):
        return False
    return user.role == Role.NATIONAL or (user.role == Role.ICB and user.icb_id == icb.pk)


def can_act_on_budget(user: User, icb: ICB) -> bool:
    """Commit, vary, de-commit, record and approve payments, request virements: that ICB's own team only."""
    return is_signed_in(user) and user.role == Role.ICB and user.icb_id == icb.pk


def can_see_practice_money(user: User, icb: ICB) -> bool:
    """Ledger lines, commitments and payments that name a practice: that ICB's own team only.

    The national team sees ICB-level totals (ledger movements summed over practices and offers).
    """
    return can_act_on_budget(user, icb)


def can_see_budgets(user: User) -> bool:
    """Any budget page at all: the national team, and ICB teams (for their own ICB)."""
    return is_signed_in(user) and (user.role == Role.NATIONAL or (user.role == Role.ICB and user.icb_id is not None))


def budget_icbs_visible_to(user: User) -> QuerySet[ICB]:
    """The ICBs whose budgets and ledger the user may see: every ICB for the national team, their own for ICB teams."""
    if not is_signed_in(user):
        return ICB.objects.none()
    if user.role == Role.NATIONAL:
        return ICB.objects.all()
    if user.role == Role.ICB and user.icb_id is not None:
        return ICB.objects.filter(pk=user.icb_id)
    return ICB.objects.none()


def get_budget_icb_for(user: User, code: str) -> ICB:
    """The ICB whose budget page is asked for: 404 for an unknown code, 403 if the user may not see its budget."""
    icb = get_icb_for(user, code)
    if not can_see_budget(user, icb):
        raise PermissionDenied
    return icb


def require(check: Callable[[User], bool]) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """View decorator: 403 unless ``check(request.user)``."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):  # type: ignore[arg-type]
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# --- Support cases ----------------------------------------------------------------------------------------------
# A case is seen only by its ICB's team, the practice itself and the provider assigned to it. The national team sees
# aggregates; an LMC sees the nominations it made (practice and date), never the case.


def cases_visible_to(user: User) -> QuerySet[Case]:
    from apps.cases.models import Case

    if not is_signed_in(user):
        return Case.objects.none()
    if user.role == Role.ICB and user.icb_id:
        return Case.objects.filter(icb_id=user.icb_id)
    if user.role == Role.PRACTICE and user.practice_id:
        return Case.objects.filter(practice_id=user.practice_id)
    if user.role == Role.PROVIDER:
        return Case.objects.filter(provider=user)
    return Case.objects.none()


def get_case_for(user: User, pk: int) -> Case:
    """The case if the user may see it; 404 otherwise (never reveals that a case exists)."""
    return get_object_or_404(cases_visible_to(user).select_related("practice", "icb", "provider"), pk=pk)


def can_run_case(user: User, case: Case) -> bool:
    """Triage, decide, approve: the case's own ICB team."""
    return is_signed_in(user) and user.role == Role.ICB and user.icb_id == case.icb_id


def can_edit_plan(user: User, case: Case) -> bool:
    """The plan is owned by the practice; the ICB team may draft it with them."""
    if not is_signed_in(user) or not case.is_open:
        return False
    return can_run_case(user, case) or (user.role == Role.PRACTICE and user.practice_id == case.practice_id)


def can_read_confidential_notes(user: User, case: Case) -> bool:
    """Practice-confidential notes: the practice and its ICB case team, not the provider."""
    return can_run_case(user, case) or (
        is_signed_in(user) and user.role == Role.PRACTICE and user.practice_id == case.practice_id
    )


def can_self_refer(user: User) -> bool:
    return is_signed_in(user) and user.role == Role.PRACTICE and user.practice_id is not None


def can_nominate(user: User) -> bool:
    return is_signed_in(user) and user.role in (Role.ICB, Role.LMC) and user.icb_id is not None


def nominatable_practices(user: User) -> QuerySet[Practice]:
    """An LMC or ICB nominates practices in its own ICB."""
    if not can_nominate(user):
        return Practice.objects.none()
    return Practice.objects.filter(icb_id=user.icb_id)


def can_see_case_aggregates(user: User) -> bool:
    """Counts by status and ICB, no practice named: the national team's view of cases."""
    return is_signed_in(user) and user.role == Role.NATIONAL


def can_see_case_queue(user: User) -> bool:
    return is_signed_in(user) and user.role in (Role.ICB, Role.PRACTICE, Role.PROVIDER)


# ---------------------------------------------------------------------------------------------------------------------
# Targeting: dispersal, ripple scores and optimiser scenarios (apps.targeting)
# ---------------------------------------------------------------------------------------------------------------------


def can_see_targeting(user: User, icb: ICB) -> bool:
    """Dispersal and ripple pages name practices and their pressure: only that ICB's own team sees them."""
    return is_signed_in(user) and user.role == Role.ICB and user.icb_id == icb.pk


def can_simulate_closure(user: User, practice: Practice) -> bool:
    """A practice's closure simulation shows it and its neighbours with pressure: its own ICB team only."""
    return practice.icb is not None and can_see_targeting(user, practice.icb)


def can_run_scenarios(user: User) -> bool:
    """ICB teams run scenarios for their own ICB; the national team runs national scenarios (aggregates only)."""
    return is_signed_in(user) and user.role in (Role.ICB, Role.NATIONAL) and (user.role != Role.ICB or user.icb_id)


def scenarios_visible_to(user: User) -> QuerySet[Any]:
    """Saved scenarios a user may open: an ICB team its own ICB's; the national team the national ones."""
    from apps.targeting.models import Scenario

    if not is_signed_in(user):
        return Scenario.objects.none()
    if user.role == Role.ICB and user.icb_id:
        return Scenario.objects.filter(scope=Scenario.Scope.ICB, icb_id=user.icb_id)
    if user.role == Role.NATIONAL:
        return Scenario.objects.filter(scope=Scenario.Scope.NATIONAL)
    return Scenario.objects.none()


def get_scenario_for(user: User, ref: str) -> Any:
    """The scenario with this reference if the user may open it; 404 otherwise (never reveals existence)."""
    if not can_run_scenarios(user):
        raise PermissionDenied
    return get_object_or_404(scenarios_visible_to(user).select_related("icb", "created_by"), ref=ref)


def can_see_scenario_practices(user: User, scenario: Any) -> bool:
    """Per-practice results (names, pressure, reasons) only for the ICB team of an ICB scenario; national
    scenarios show per-ICB aggregates only, to everyone who may open them."""
    return (
        is_signed_in(user)
        and scenario.scope == "icb"
        and user.role == Role.ICB
        and scenario.icb_id is not None
        and user.icb_id == scenario.icb_id
    )
