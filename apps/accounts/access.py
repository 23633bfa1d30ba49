"""The access chokepoints. Every view and API call asks these functions, and nothing else, what a user may see.

Today the register holds only national open data (ODS, registrations, workforce, CQC, QOF, payments), which any
signed-in user may read; case, watch-list and money records (later apps) add their own functions here so that the
rules stay in one place and one test walks them all.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from apps.accounts.models import Role, User
from apps.practices.models import ICB, PCN, Practice


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
