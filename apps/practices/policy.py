"""The register's access rules: the chokepoints for practices, PCNs and ICBs, and a user's home ICB.

The register holds national open data, which any signed-in user may read; 404 never reveals what exists.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.access import is_signed_in
from apps.accounts.models import Role, User
from apps.practices.models import ICB, PCN, Practice


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
