"""Group packages: each covered practice accepts its share, and across an ICB border its own ICB approves it.

The rules (``docs/cases.md``, "Group packages"):

* A package is decided on the lead practice's case. When it is **submitted**, every other practice it covers is
  asked to accept or decline its share, and every other ICB whose practices it covers is asked to approve their
  shares against its own budget. Each submission starts afresh (:func:`reset_shares`).
* A practice accepts or declines only its own share; declining needs a reason and sends the package back to the
  lead ICB as a draft to share again (drop the practice, change the shares), so a package nobody agreed to cannot be
  approved.
* Across a border, the practice's own ICB team approves its practices' shares once they are accepted, choosing the
  budget (one per programme menu) from its own budgets; refusing needs a reason and sends the package back as a
  declined share does. Approving checks that the chosen budget has the headroom now, but commits nothing.
* The lead ICB approves the package (``approve_package``) only when every share is accepted and every other ICB
  has approved. **Nothing is committed for a group package until then**: that one decision commits every ICB's part,
  each against the budget that ICB chose and attributed to the person of that ICB who approved it, in one
  transaction (every ICB's commitment or none).

Every decision is a :class:`ShareDecision` row (history), an event on the case, and a notification.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.cases import notify
from apps.cases import policy as access
from apps.cases.models import (
    CaseEvent,
    NotificationKind,
    Package,
    PackagePractice,
    ShareDecision,
)
from apps.cases.services.base import CaseError, _event, _locked_package
from apps.core import audit
from apps.funding.models import Budget
from apps.practices.models import ICB

MIN_REASON = 10
"""A declined or refused share goes back to the lead ICB, which must be able to act on why."""


def open_shares(package: Package) -> QuerySet[PackagePractice]:
    """The shares still waiting in the package's current submission: a covered practice (not the lead) that has
    not accepted, or a practice across the border whose ICB has not approved."""
    return (
        package.practices.exclude(practice_id=package.case.practice_id)
        .filter(Q(accepted_at__isnull=True) | (~Q(practice__icb_id=package.case.icb_id) & Q(approved_at__isnull=True)))
        .select_related("practice__icb")
    )


def settled_packages() -> QuerySet[Package]:
    """Packages with no share waiting (every single-practice package): what the lead ICB may approve. The same rule
    as :func:`open_shares`, as a query "waiting for me" reads for many cases at once."""
    waiting = PackagePractice.objects.filter(package=OuterRef("pk")).exclude(practice_id=OuterRef("case__practice_id"))
    waiting = waiting.filter(
        Q(accepted_at__isnull=True) | (~Q(practice__icb_id=OuterRef("case__icb_id")) & Q(approved_at__isnull=True))
    )
    return Package.objects.exclude(Exists(waiting))


def check_settled(package: Package) -> None:
    """Refuse the lead ICB's approval while a share is waiting, naming what it waits for (no other ICB's figures)."""
    waiting = list(open_shares(package))
    if not waiting:
        return
    names = []
    for pp in waiting:
        if pp.accepted_at is None:
            names.append(f"{pp.practice.display_name} to accept its share")
        else:
            icb = pp.practice.icb.name if pp.practice.icb else "its ICB"
            names.append(f"{icb} to approve {pp.practice.display_name}'s share")
    raise CaseError("This group package is waiting for " + "; ".join(names) + ".")


def reset_shares(package: Package) -> None:
    """A new submission: every share is to be accepted (and approved across a border) again."""
    rows = list(package.practices.all())
    for pp in rows:
        pp.accepted_at, pp.approved_by, pp.approved_at, pp.budgets = None, None, None, {}
    PackagePractice.objects.bulk_update(rows, ["accepted_at", "approved_by", "approved_at", "budgets"])
    audit.record_bulk(PackagePractice, rows, "update", f"shares asked again: package {package.number} submitted")


def ask_for_shares(package: Package, user: User) -> None:
    """Tell the covered practices and the other ICBs that the submitted package needs their decision."""
    case = package.case
    others = list(package.practices.exclude(practice_id=case.practice_id).select_related("practice"))
    if not others:
        return
    practices = access.practice_teams([pp.practice_id for pp in others])
    message = (
        f"{package.ref} ({case.practice.display_name}) names your practice in a group package: "
        "accept or decline your share."
    )
    notify.notify(practices, NotificationKind.GROUP_SHARE, None, message, actor=user)
    icbs = {pp.practice.icb_id for pp in others} - {case.icb_id}
    if icbs:
        teams = access.case_teams(icbs)
        notify.notify(
            teams,
            NotificationKind.GROUP_SHARE,
            None,
            f"{package.ref} ({case.practice.display_name}, another ICB) covers practices of yours: "
            "approve their shares.",
            actor=user,
        )


def decide_share(user: User, package: Package, accept: bool, reason: str = "") -> Package:
    """The signed-in practice accepts or declines its share of a submitted group package. Declining needs a reason
    and sends the package back to the lead ICB as a draft to share again."""
    package.refresh_from_db()
    share = package.practices.filter(practice_id=user.practice_id).select_related("package__case").first()
    if share is None or not access.can_decide_share(user, share):
        raise CaseError("Only a practice covered by this group package decides its own share.")
    reason = reason.strip()
    if not accept and len(reason) < MIN_REASON:
        raise CaseError(f"Say why your practice declines (at least {MIN_REASON} characters).", "reason")
    with transaction.atomic():
        case, package = _locked_package(
            package, Package.State.SUBMITTED, "Only a package awaiting approval asks for its shares to be accepted."
        )
        share = PackagePractice.objects.select_related("practice").get(pk=share.pk)
        if share.accepted_at is not None:
            raise CaseError("Your practice has already accepted its share of this package.")
        kind = ShareDecision.Kind.ACCEPTED if accept else ShareDecision.Kind.DECLINED
        ShareDecision.objects.create(package=package, practice=share.practice, kind=kind, by=user, reason=reason)
        who = share.practice.display_name
        if accept:
            share.accepted_at = timezone.now()
            share.save(update_fields=["accepted_at"])
            _event(case, user, CaseEvent.Kind.PACKAGE, f"{who} accepted its share of package {package.number}")
            told = f"{package.ref}: {who} accepted its share."
        else:
            _back_to_draft(package)
            _event(
                case,
                user,
                CaseEvent.Kind.PACKAGE,
                f"{who} declined its share of package {package.number}: back to draft to share again",
                reason=reason,
            )
            told = f"{package.ref}: {who} declined its share ({reason}). Share the package again."
        notify.notify(notify.icb_team(case), NotificationKind.GROUP_SHARE, case, told, actor=user)
    return package


def decide_icb_share(
    user: User,
    package: Package,
    approve: bool,
    note: str = "",
    budget: Budget | None = None,
    budgets: Sequence[Budget] = (),
) -> Package:
    """Across a border, the practices' own ICB team approves (with its own budget for each programme's lines) or
    refuses (with a reason) its practices' shares of a submitted group package, once they have accepted them.
    Approval checks the headroom now and commits nothing (the lead ICB's approval commits every ICB's part)."""
    from apps.cases.services.approval import budgets_for_offers  # approval builds on these shares

    package.refresh_from_db()
    case = package.case
    if not access.can_approve_share_for(user, package):
        raise CaseError("Only the ICB team of a practice covered across the border approves its share.")
    note = note.strip()
    if not approve and len(note) < MIN_REASON:
        raise CaseError(
            f"Say why the share is refused (at least {MIN_REASON} characters): the lead ICB will read it.", "note"
        )
    icb = ICB.objects.get(pk=user.icb_id)
    with transaction.atomic():
        case, package = _locked_package(
            package, Package.State.SUBMITTED, "Only a package awaiting approval asks for its shares to be approved."
        )
        mine = list(package.practices.filter(practice__icb_id=icb.pk).select_related("practice"))
        if any(pp.approved_at is not None for pp in mine):
            raise CaseError("Your ICB has already approved its share of this package.")
        if approve:
            waiting = [pp.practice.display_name for pp in mine if pp.accepted_at is None]
            if waiting:
                raise CaseError(
                    f"Waiting for {', '.join(waiting)} to accept first: approve a share once it is accepted."
                )
            if budget is None:
                raise CaseError("Choose the budget your ICB's share is paid from.", "budget")
            offers = list({ln.offer.code: ln.offer for ln in package.lines.select_related("offer")}.values())
            by_offer = budgets_for_offers(case, offers, [budget, *budgets], budget.fy, (), icb_id=icb.pk)
            _check_headroom(package, mine, by_offer)
            now = timezone.now()
            for pp in mine:
                pp.approved_by, pp.approved_at = user, now
                pp.budgets = {code: b.pk for code, b in by_offer.items()}
                pp.save(update_fields=["approved_by", "approved_at", "budgets"])
        ShareDecision.objects.create(
            package=package,
            icb=icb,
            kind=ShareDecision.Kind.APPROVED if approve else ShareDecision.Kind.REFUSED,
            by=user,
            reason=note,
        )
        if approve:
            _event(case, user, CaseEvent.Kind.PACKAGE, f"{icb.name} approved its share of package {package.number}")
            told = f"{package.ref}: {icb.name} approved its share."
        else:
            _back_to_draft(package)
            _event(
                case,
                user,
                CaseEvent.Kind.PACKAGE,
                f"{icb.name} refused its share of package {package.number}: back to draft to share again",
                reason=note,
            )
            told = f"{package.ref}: {icb.name} refused its share ({note}). Share the package again."
        notify.notify(notify.icb_team(case), NotificationKind.GROUP_SHARE, case, told, actor=user)
    return package


def _check_headroom(package: Package, mine: list[PackagePractice], by_offer: dict[str, Budget]) -> None:
    """Each chosen budget can cover this ICB's part of the lines it pays for now (checked again when committed)."""
    from apps.cases.services.approval import budgets_used, icb_part_pence
    from apps.funding import services as funding

    used = budgets_used(by_offer)
    for b in funding.with_balances(used):
        paid_for = {code for code, paying in by_offer.items() if paying.pk == b.pk}
        need = icb_part_pence(package, paid_for, {pp.practice_id for pp in mine})
        if need > b.headroom_pence:
            raise CaseError(
                f"{b} has £{b.headroom_pence / 100:,.2f} of headroom; your share of the lines it pays for is "
                f"£{need / 100:,.2f}.",
                "budget",
            )


def _back_to_draft(package: Package) -> None:
    """A declined or refused share: the package returns to the lead ICB as a draft (its shares asked again when it
    is submitted again)."""
    package.state = Package.State.DRAFT
    package.save(update_fields=["state"])
