"""Who may see and do what with cohorts: the cohorts pages, services, API and "waiting for me" ask these only.

- An ICB team runs its own cohorts (creates, allocates, withdraws a place, expresses interest for its practices, records
  attendance) and sees every row of them; it sees national cohorts too, with its own practices' rows only.
- The national team runs national cohorts but, as everywhere, sees aggregates only: places, filled, waiting, by ICB
  (``sees_case_rows``), never a practice's row.
- A practice sees the cohorts it may join and its own interests, expresses interest, accepts, declines, withdraws.
- The provider delivering a cohort sees who holds a place and records attendance and completion.
- The LMC sees its ICB's cohorts as totals.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.access import is_signed_in
from apps.accounts.access import require as require
from apps.accounts.access import sees_case_rows as sees_case_rows
from apps.accounts.models import Role, User
from apps.cohorts.models import Cohort, Interest
from apps.practices.models import Practice


def can_see_cohorts(user: User) -> bool:
    return is_signed_in(user)


def can_create_cohort(user: User) -> bool:
    """An ICB team creates cohorts on its own budget; the national team creates national cohorts."""
    return is_signed_in(user) and (user.role == Role.NATIONAL or (user.role == Role.ICB and user.icb_id is not None))


def _provider_cohorts(user: User) -> Q:
    return Q(provider__lead_user=user) | Q(provider__members__user=user)


def cohorts_visible_to(user: User) -> QuerySet[Cohort]:
    if not is_signed_in(user):
        return Cohort.objects.none()
    if user.role == Role.NATIONAL:
        return Cohort.objects.all()
    if user.role in (Role.ICB, Role.LMC) and user.icb_id:
        return Cohort.objects.filter(Q(icb_id=user.icb_id) | Q(icb__isnull=True))
    if user.role == Role.PRACTICE and user.practice is not None:
        p = user.practice
        own = Interest.objects.filter(practice_id=p.pk).values("cohort_id")
        open_to = Q(icb__isnull=True) | Q(icb_id=p.icb_id)
        return Cohort.objects.filter(
            Q(pk__in=own) | (open_to & (Q(eligible_icbs__isnull=True) | Q(eligible_icbs=p.icb_id)))
        ).distinct()
    if user.role == Role.PROVIDER:
        return Cohort.objects.filter(_provider_cohorts(user)).distinct()
    return Cohort.objects.none()


def get_cohort_for(user: User, pk: int) -> Cohort:
    return get_object_or_404(
        cohorts_visible_to(user).select_related("offer", "line__programme", "icb", "provider"), pk=pk
    )


def runs_cohort(user: User, cohort: Cohort) -> bool:
    """Allocate the places: the cohort's own ICB team, or the national team for a national cohort."""
    if not is_signed_in(user):
        return False
    if cohort.icb_id is None:
        return user.role == Role.NATIONAL
    return user.role == Role.ICB and user.icb_id == cohort.icb_id


def is_provider_login(user: User) -> bool:
    """A provider login: it may deliver cohorts, and so record their attendance."""
    return is_signed_in(user) and user.role == Role.PROVIDER


def delivers_cohort(user: User, cohort: Cohort) -> bool:
    return (
        is_signed_in(user)
        and user.role == Role.PROVIDER
        and Cohort.objects.filter(_provider_cohorts(user), pk=cohort.pk).exists()
    )


def can_record_attendance(user: User, cohort: Cohort) -> bool:
    """The provider delivering it, and the ICB team running it."""
    return delivers_cohort(user, cohort) or (runs_cohort(user, cohort) and user.role == Role.ICB)


def interests_visible_to(user: User, cohort: Cohort) -> QuerySet[Interest]:
    """The rows of a cohort a user may see (names of practices): never the national team's."""
    qs = cohort.interests.all()
    if not is_signed_in(user) or not sees_case_rows(user):
        return qs.none()
    if user.role == Role.ICB and user.icb_id:
        return qs if cohort.icb_id == user.icb_id else qs.filter(practice__icb_id=user.icb_id)
    if user.role == Role.PRACTICE and user.practice_id:
        return qs.filter(practice_id=user.practice_id)
    if user.role == Role.PROVIDER and delivers_cohort(user, cohort):
        return qs
    return qs.none()


def may_express_for(user: User, practice: Practice) -> bool:
    """A practice's own team, or its ICB team on its behalf."""
    if not is_signed_in(user):
        return False
    if user.role == Role.PRACTICE:
        return user.practice_id == practice.pk
    return user.role == Role.ICB and user.icb_id is not None and user.icb_id == practice.icb_id


def answers_for(user: User, interest: Interest) -> bool:
    """Accept or decline an offered place: the practice's own team."""
    return is_signed_in(user) and user.role == Role.PRACTICE and user.practice_id == interest.practice_id


def may_withdraw(user: User, interest: Interest) -> bool:
    """The practice itself, or the ICB team running the cohort (the practice told them)."""
    return answers_for(user, interest) or (runs_cohort(user, interest.cohort) and user.role == Role.ICB)


def practices_user_may_express_for(user: User) -> QuerySet[Practice]:
    if not is_signed_in(user):
        return Practice.objects.none()
    if user.role == Role.PRACTICE and user.practice_id:
        return Practice.objects.filter(pk=user.practice_id)
    if user.role == Role.ICB and user.icb_id:
        return Practice.objects.filter(icb_id=user.icb_id)
    return Practice.objects.none()


def own_practice_of(user: User) -> Practice | None:
    return user.practice if is_signed_in(user) and user.role == Role.PRACTICE else None


def is_cohort_icb_team(user: User, cohort: Cohort) -> bool:
    """The ICB team of the ICB whose budget an ICB cohort spends."""
    return is_signed_in(user) and user.role == Role.ICB and cohort.icb_id is not None and user.icb_id == cohort.icb_id


def may_create_for_icb(user: User) -> int | None:
    """The ICB a new cohort by this user belongs to: its own for an ICB team; None (a national cohort) for the
    national team."""
    return user.icb_id if user.role == Role.ICB else None
