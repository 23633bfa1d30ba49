"""The case app's own access rules, named (issue 15 §3): views and services ask these, never ``user.role``.

The chokepoints say which cases a user sees at all (``cases_visible_to``, ``get_case_for``) and who may act on one
(``can_run_case``, ``can_edit_plan``, …); the rules above them say which part a user plays on a case: the ICB's case
team, the practice itself, the assigned provider, or the LMC that nominates. The case pages, services and the cases
API ask this module only: it also names the base rules they use (``require``, ``is_signed_in``).
"""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.access import is_signed_in as is_signed_in
from apps.accounts.access import require as require
from apps.accounts.models import Role, User
from apps.cases.models import Case, Package, PackagePractice, Route
from apps.practices.models import Practice


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


def practice_teams(practice_ids: Collection[int]) -> QuerySet[User]:
    """The active users of these practices: who is asked to accept a practice's share of a group package."""
    return User.objects.filter(role=Role.PRACTICE, practice_id__in=list(practice_ids), is_active=True)


# --- Support cases ----------------------------------------------------------------------------------------------
# A case is seen only by its ICB's team, the practice itself and the provider assigned to it. The national team sees
# aggregates; an LMC sees the nominations it made (practice and date), never the case.


def cases_visible_to(user: User) -> QuerySet[Case]:
    if not is_signed_in(user):
        return Case.objects.none()
    if user.role == Role.ICB and user.icb_id:
        return Case.objects.filter(icb_id=user.icb_id)
    if user.role == Role.PRACTICE and user.practice_id:
        return Case.objects.filter(practice_id=user.practice_id)
    if user.role == Role.PROVIDER:
        # the case's lead provider, and any provider with a live assignment on one of its package lines. The
        # assignments are read through their relation, in one filter() so that every condition is on the same
        # assignment: delivery sits above cases and the cases app imports nothing from it.
        live = Case.objects.filter(
            Q(delivery_assignments__member__user=user)
            | Q(delivery_assignments__member__isnull=True, delivery_assignments__organisation__lead_user=user),
            delivery_assignments__ended_at__isnull=True,
        )
        return Case.objects.filter(Q(provider=user) | Q(pk__in=live.values("pk")))
    return Case.objects.none()


def open_case_of(user: User, practice: Practice) -> Case | None:
    """The practice's open case if the user may see it. Pages of the apps below cases (the watch list's practice page,
    the ripple page) show it through the template function of this name (``gpsupport/jinja2.py``), as they link to
    it with ``url()``: their views import nothing from cases."""
    return cases_visible_to(user).filter(practice=practice).open().first()


def get_case_for(user: User, pk: int) -> Case:
    """The case if the user may see it; 404 otherwise (never reveals that a case exists)."""
    return get_object_or_404(cases_visible_to(user).select_related("practice", "icb", "provider"), pk=pk)


def can_run_case(user: User, case: Case) -> bool:
    """Triage, decide, approve: the case's own ICB team."""
    return is_signed_in(user) and user.role == Role.ICB and user.icb_id == case.icb_id


def can_set_local_price(user: User, icb_id: int | None) -> bool:
    """An ICB's own prices for the menu: its own team (the national menu price is the menu file's)."""
    return is_case_team(user) and icb_id is not None and user.icb_id == icb_id


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


# --- Group package shares ---------------------------------------------------------------------------------------
# A group package is decided on the lead practice's case, which only that practice, its ICB team and its provider
# see. The other practices covered see the package (lines, cost, their own share) and accept or decline their part;
# across an ICB border, the practice's own ICB team sees its practices' shares and approves or refuses them. Neither
# sees the case, its notes, the other ICB's budget or the other ICB's shares.


def can_decide_share(user: User, share: PackagePractice) -> bool:
    """A practice covered by another practice's group package accepts or declines its own share (the lead practice
    takes part through its own case: its plan and the package built on it)."""
    return (
        is_practice_login(user)
        and user.practice_id == share.practice_id
        and share.practice_id != share.package.case.practice_id
    )


def can_approve_share_for(user: User, package: Package) -> bool:
    """Across an ICB border, a practice's own ICB team approves its share against its own budget; the lead ICB
    approves the package itself (``can_run_case``)."""
    return (
        is_case_team(user)
        and user.icb_id != package.case.icb_id
        and package.practices.filter(practice__icb_id=user.icb_id).exists()
    )


def shared_packages_for(user: User) -> QuerySet[Package]:
    """Group packages a user takes part in without seeing their case: a covered practice's (not the lead's), and an
    ICB team's whose case is in another ICB but which cover a practice of its own. Drafts are still being built."""
    if not is_signed_in(user):
        return Package.objects.none()
    qs = Package.objects.exclude(state=Package.State.DRAFT)
    if user.role == Role.PRACTICE and user.practice_id:
        return qs.filter(practices__practice_id=user.practice_id).exclude(case__practice_id=user.practice_id)
    if user.role == Role.ICB and user.icb_id:
        mine = PackagePractice.objects.filter(practice__icb_id=user.icb_id).values("package_id")
        return qs.filter(pk__in=mine).exclude(case__icb_id=user.icb_id)
    return Package.objects.none()


def get_share_page_package_for(user: User, pk: int, number: int) -> Package:
    """The package whose shares page the user may open: one shared with it, or one of its own ICB's cases (the lead
    ICB follows the shares there); 404 otherwise, so a package's existence is not revealed."""
    own = Package.objects.filter(case__in=Case.objects.filter(icb_id=user.icb_id)) if is_case_team(user) else None
    qs = shared_packages_for(user) if own is None else shared_packages_for(user) | own
    return get_object_or_404(qs.select_related("case__practice", "case__icb"), case_id=pk, number=number)
