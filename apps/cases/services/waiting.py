""" "Waiting for me": what each user should do next on the cases they may see, derived from the lifecycle table.

An item is a move the case waits for (``Transition.todo``) that this user's part may make now (``roles``) and whose
need (``Transition.needs``) the case meets; when the need is unmet and the need names a first step (write the plan),
that step is listed instead. The services refuse the same moves by the same table (``base._move`` with ``facts``), so
the list cannot offer a step the service would refuse. The practice's health check is a step, not a move: it is due
once the case is triaged (and again at review) until one is submitted.

Facts for all the user's open cases come from one query, whatever their number.

Apps that build on cases add their own items (a session to confirm, a dispute to resolve) through
:data:`CONTRIBUTORS`: each names, by dotted path, a function ``(user) -> list[Waiting]`` derived from that app's own
rules. Cases must not import them, so they are looked up when the list is built (as ``apps.cases.on_approval`` does).
"""

from __future__ import annotations

from typing import NamedTuple

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.module_loading import import_string

from apps.accounts.models import User
from apps.cases import lifecycle, policy
from apps.cases import policy as access
from apps.cases.models import OPEN, Case, HealthCheck, Package, PackagePractice, PlanAction, Status
from apps.cases.services import shares

HEALTH_CHECK = "Complete the practice health check"
SHARE_TO_ACCEPT = "Group share to accept"
SHARE_TO_APPROVE = "Share to approve"
REVIEW_HEALTH_CHECK = "Complete the health check for your six-monthly review"


CONTRIBUTORS: tuple[str, ...] = (
    # Delivery: sessions to confirm or dispute (practice), disputes to resolve (ICB), logs sent back (provider).
    "apps.delivery.waiting.session_items",
    # Money: payments a colleague recorded, for this user to approve or reject (four eyes).
    "apps.pages.waiting_money.payment_items",
    # Cohorts: places offered to accept (practice), cohorts to allocate (ICB), attendance to record (provider).
    "apps.cohorts.waiting.items",
)


class Waiting(NamedTuple):
    case: Case | None  # None: an item about no case (a coaching session booked by the practice)
    what: str  # in words, for the page
    step: str  # the transition's label, or "health_check": what the item stands for (tests compare it)
    href: str = ""  # where the step is taken, when it is not the case's page
    title: str = ""  # the link's words, when the item is not about a case as a whole


def with_facts(cases: QuerySet[Case]) -> QuerySet[Case]:
    """The cases annotated with what :class:`lifecycle.Facts` needs, in the same query."""
    submitted = HealthCheck.objects.filter(case=OuterRef("pk"), submitted_at__isnull=False)
    return cases.annotate(
        f_plan_written=Exists(PlanAction.objects.filter(goal__plan__case=OuterRef("pk"))),
        # a group package is ready for the lead ICB once every share is accepted (and approved across a border)
        f_package_submitted=Exists(
            shares.settled_packages().filter(case=OuterRef("pk"), state=Package.State.SUBMITTED)
        ),
        f_checked=Exists(submitted),
        f_checked_since=Exists(submitted.filter(submitted_at__gte=OuterRef("status_changed_at"))),
    )


def facts_of(case: Case) -> lifecycle.Facts:
    """The facts of a case read through :func:`with_facts`."""
    checked = case.f_checked_since if case.status == Status.REVIEW else case.f_checked  # type: ignore[attr-defined]
    return lifecycle.Facts(
        plan_written=case.f_plan_written,  # type: ignore[attr-defined]
        package_submitted=case.f_package_submitted,  # type: ignore[attr-defined]
        health_check_due=not checked,
    )


def items_for(user: User, case: Case, facts: lifecycle.Facts) -> list[Waiting]:
    """What this user should do next on this case (one it may see), by the lifecycle's rules."""
    out: list[Waiting] = []
    for t in lifecycle.todos(case.status):
        if not (policy.plays_one_of(user, t.roles) and policy.plays_a_part_in(user, case)):
            continue
        need = lifecycle.unmet(t, facts)
        if need is None:
            out.append(Waiting(case, t.todo, t.label))
        elif need.first:
            out.append(Waiting(case, need.first, t.needs))
    if case.status in lifecycle.HEALTH_CHECK_STATUSES and facts.health_check_due and policy.is_the_practice(user, case):
        out.append(Waiting(case, REVIEW_HEALTH_CHECK if case.status == Status.REVIEW else HEALTH_CHECK, "health_check"))
    return list({w.what: w for w in out}.values())  # one line per thing to do (two moves may share a wording)


def waiting_for(user: User) -> list[Waiting]:
    """Everything waiting for this user: the cases' moves, oldest case first (one query, whatever the number of
    cases), then each contributing app's items (each in a fixed number of queries).

    National and the LMC act on no case (national sees counts, the LMC its nominations), so they get no case items;
    the contributing apps still have their say, by their own rules: the national team allocates the places of the
    cohorts it runs."""
    out: list[Waiting] = []
    if access.can_see_case_queue(user):
        cases = with_facts(access.cases_visible_to(user).filter(status__in=OPEN).select_related("practice", "icb"))
        out += [w for c in cases.order_by("opened_at", "pk") for w in items_for(user, c, facts_of(c))]
        out.extend(share_items(user))
    for path in CONTRIBUTORS:
        out.extend(import_string(path)(user))
    return out


def share_items(user: User) -> list[Waiting]:
    """Shares of other practices' group packages waiting for this user, by the rules ``services.shares`` checks: a
    covered practice's share not yet accepted; across a border, an ICB's accepted shares not yet approved. One
    query, whatever their number."""
    from django.urls import reverse

    packages = access.shared_packages_for(user).filter(state=Package.State.SUBMITTED)
    if access.is_practice_login(user):
        rows = PackagePractice.objects.filter(
            package__in=packages, practice_id=user.practice_id, accepted_at__isnull=True
        )
        step, what = "accept_share", SHARE_TO_ACCEPT
    elif access.is_case_team(user):
        mine = PackagePractice.objects.filter(package=OuterRef("package_id"), practice__icb_id=user.icb_id)
        rows = PackagePractice.objects.filter(package__in=packages, practice__icb_id=user.icb_id).exclude(
            Exists(mine.filter(Q(accepted_at__isnull=True) | Q(approved_at__isnull=False)))
        )
        step, what = "approve_share", SHARE_TO_APPROVE
    else:
        return []
    seen: dict[int, Waiting] = {}
    for pp in rows.select_related("package__case__practice", "practice").order_by("package__created_at", "pk"):
        pkg = pp.package
        href = reverse("cases:shares", args=[pkg.case_id, pkg.number])
        title = f"{pkg.ref} ({pkg.case.practice.display_name}'s group package)"
        seen.setdefault(pkg.pk, Waiting(None, what, step, href, title))
    return list(seen.values())
