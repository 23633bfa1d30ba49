"""The ICB team's decision on a submitted package: approval commits the money in the ledger; refusal says why."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from analytics import money
from apps.accounts.models import User
from apps.cases import lifecycle, notify, on_approval
from apps.cases import policy as access
from apps.cases.models import (
    REVIEW_INTERVAL,
    ActionPlan,
    CaseEvent,
    NotificationKind,
    Package,
    Status,
)
from apps.cases.services.base import CaseError, _event, _locked, _move
from apps.funding import services as funding
from apps.funding.models import Budget


def approve_package(user: User, package: Package, note: str = "", budget: Budget | None = None) -> Package:
    """Approve a submitted package against one of the ICB's budgets: the case must have an agreed plan, and the
    money is committed in the ledger (refused, saying how much is missing, when the budget's released headroom is
    too small — even when two approvals race for it). The case moves to approved."""
    package.refresh_from_db()
    case = package.case
    if not access.can_run_case(user, case):
        raise CaseError("Only the case's ICB team can approve its package.")
    if budget is None:
        raise CaseError("Choose the budget this package is paid from.", "budget")
    if budget.icb_id != case.icb_id:
        raise CaseError("That budget belongs to another ICB.", "budget")
    with transaction.atomic():
        case = _locked(case)
        package = Package.objects.select_for_update().get(pk=package.pk)
        if package.state != Package.State.SUBMITTED:
            raise CaseError("Only a package awaiting approval can be approved.")
        plan = ActionPlan.objects.filter(case=case).first()
        if plan is None or not plan.is_agreed:
            raise CaseError("The practice has not agreed the current action plan yet.")
        if any(line.offer.requires_signed_off_plan for line in package.lines.select_related("offer")) and not (
            plan and plan.is_agreed
        ):
            raise CaseError("A line in this package is released only once the plan is signed off.")
        _move(
            case,
            Status.APPROVED,
            user,
            note or f"Package {package.number} approved",
            via="approve_package",
            facts=lifecycle.Facts(package_submitted=True),  # this package, checked above
        )
        offers: dict[str, int] = {}
        for line in package.lines.select_related("offer"):
            offers[line.offer.code] = offers.get(line.offer.code, 0) + line.total_pence
        try:
            funding.commit_funds(
                budget=budget,
                amount_pence=package.total_pence,
                reference=package.ref,
                user=user,
                recipients=[(pp.practice.code, pp.share_pence) for pp in package.practices.select_related("practice")],
                offers=offers,
                schedule=money.even_monthly_schedule(package.total_pence, package.starts, package.ends),
                memo=f"{case.ref} package {package.number}",
            )
        except funding.InsufficientFunds as e:
            raise CaseError(f"Not approved: the budget is {e}.", "budget") from e
        except funding.FundingError as e:
            raise CaseError(f"Not approved: {e.message}") from e
        line = budget.line
        package.budget_ref = f"{line.programme.code}/{line.code}/{budget.fy}/{budget.icb.code}"[:60]
        package.commitment_ref = package.ref
        case.review_due = timezone.localdate() + REVIEW_INTERVAL
        case.save()
        package.state, package.decided_by, package.decided_at = Package.State.APPROVED, user, timezone.now()
        package.decision_note = note.strip()
        package.save()
        on_approval.package_approved(package)  # the delivery baseline and every other step in on_approval.STEPS
        _event(
            case,
            user,
            CaseEvent.Kind.PACKAGE,
            f"Package {package.number} approved (£{package.total_pence / 100:,.2f}, committed from {budget})",
            reason=note.strip(),
        )
        notify.notify(
            notify.practice_team(case),
            NotificationKind.PACKAGE_DECIDED,
            case,
            f"{package.ref} has been approved.",
            actor=user,
        )
    return package


def refuse_package(user: User, package: Package, note: str) -> Package:
    package.refresh_from_db()
    case = package.case
    if not access.can_run_case(user, case):
        raise CaseError("Only the case's ICB team can refuse its package.")
    if not note.strip():
        raise CaseError("Say why the package is refused: the practice will read it.", "note")
    with transaction.atomic():
        _locked(case)
        package = Package.objects.select_for_update().get(pk=package.pk)
        if package.state != Package.State.SUBMITTED:
            raise CaseError("Only a package awaiting approval can be refused.")
        package.state, package.decided_by, package.decided_at = Package.State.REFUSED, user, timezone.now()
        package.decision_note = note.strip()
        package.save()
        _event(case, user, CaseEvent.Kind.PACKAGE, f"Package {package.number} refused", reason=note.strip())
        notify.notify(
            notify.practice_team(case),
            NotificationKind.PACKAGE_DECIDED,
            case,
            f"{package.ref} was not approved: {note.strip()}",
            actor=user,
        )
    return package
