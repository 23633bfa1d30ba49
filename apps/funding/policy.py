"""The money app's access rules, next to its domain (issue 15 §3): the money pages, the money API and the funding
services ask these functions, never ``user.role``.

The national programme team sets up programmes, allocates and releases, and sees every ICB's budgets as totals; an
ICB's own team sees and acts on its own budget, practice by practice; practices, providers and LMCs see no money.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from apps.accounts.access import is_signed_in
from apps.accounts.access import sees_case_rows as sees_case_rows  # the money API and pages ask this module only
from apps.accounts.models import Role, User
from apps.practices.models import ICB
from apps.practices.policy import get_icb_for as get_icb_for


def own_budget_icb(user: User) -> ICB | None:
    """The ICB whose budget page is a user's money home: an ICB team's own (it is sent there from the dashboard)."""
    return user.icb if user.role == Role.ICB and user.icb is not None else None


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
