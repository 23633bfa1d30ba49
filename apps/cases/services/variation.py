"""Varying an approved package (issue 16 §3): add, remove or re-price lines; the money follows by new ledger entries.

The approval rules apply again to the difference: each line's money is committed against its own budget (a budget
the package already draws on keeps its commitment, which is restated; a programme new to the package finds its
budget as approval does), every budget's increase needs headroom, and a budget's part cannot fall below what is
paid or awaiting payment. It is one decision: every budget changes or none. The case history records the package
before and after.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from analytics import money
from apps.accounts.models import User
from apps.cases import policy as access
from apps.cases.models import CaseEvent, Package, PackageLine, PackagePractice
from apps.cases.services.approval import budgets_for_offers, budgets_used, split_by_budget
from apps.cases.services.base import CaseError, _event, _locked_package
from apps.cases.services.package import LineInput, price_lines
from apps.core import audit
from apps.funding import services as funding
from apps.funding.models import Budget

MIN_REASON = funding.MIN_REASON


def describe(lines: Sequence[PackageLine]) -> str:
    """A package's lines in words, for the case history: '2 × Workforce support at £320.00; …'."""
    return (
        "; ".join(f"{ln.requested_units} × {ln.offer.title} at £{ln.unit_cost_pence / 100:,.2f}" for ln in lines)
        or "no lines"
    )


def vary_package(
    user: User,
    package: Package,
    lines: Sequence[LineInput],
    reason: str,
    budgets: Sequence[Budget] = (),
) -> Package:
    """Vary an approved package to ``lines`` (its practices and their shares stay). ``budgets``: the budget for a
    programme the package did not draw on before, when the ICB has more than one for it."""
    package.refresh_from_db()
    case = package.case
    if not access.can_run_case(user, case):
        raise CaseError("Only the case's ICB team can vary its package.")
    if package.state != Package.State.APPROVED:
        raise CaseError("Only an approved package can be varied; change a draft by building it again.")
    if package.practices.exclude(practice__icb_id=case.icb_id).exists():
        # each ICB committed its own part on its own decision: a change would need every ICB's decision again
        raise CaseError("A package shared across an ICB border cannot be varied: close it and build a new one.")
    if len(reason.strip()) < MIN_REASON:
        raise CaseError(f"Say why the package changes, in at least {MIN_REASON} characters.", "reason")
    if not lines:
        raise CaseError("Keep at least one line: to stop the package, close the case instead.", "lines")
    if len({ln.offer_code for ln in lines}) != len(lines):
        raise CaseError("An offer is listed twice: put its units on one line.", "lines")
    members = [pp.practice for pp in package.practices.select_related("practice")]
    priced = price_lines(case, lines, members)
    for ln in priced:
        ln.package = package
    before = list(package.lines.select_related("offer"))
    if [(ln.offer_id, ln.units, ln.unit_cost_pence) for ln in before] == [
        (ln.offer_id, ln.units, ln.unit_cost_pence) for ln in priced
    ]:
        raise CaseError("Nothing changes: the lines are as approved.", "lines")
    current = list(
        funding.commitments_under([package.commitment_ref or package.ref]).select_related(
            "budget__line__programme", "budget__icb"
        )
    )
    open_ = [c for c in current if c.status == c.Status.OPEN]
    held = [c.budget for c in open_]
    fy = open_[0].budget.fy if open_ else money.financial_year_of(package.starts)
    offers = list({ln.offer.code: ln.offer for ln in priced}.values())
    by_offer = budgets_for_offers(case, offers, budgets, fy, held)
    parts = split_by_budget(package, priced, by_offer, {c.budget_id: c.reference for c in open_})
    kept = {p.reference for p in parts}
    with transaction.atomic():
        case, package = _locked_package(package, Package.State.APPROVED, "Only an approved package can be varied.")
        try:
            funding.vary_together(
                parts, drop=[c.reference for c in open_ if c.reference not in kept], user=user, reason=reason
            )
        except funding.PartShortfall as e:
            raise CaseError(f"Not varied: nothing changed: {e}.", "budget") from e
        except funding.FundingError as e:
            raise CaseError(f"Not varied: {e.message}", e.field) from e
        old_total = package.total_pence
        package.lines.all().delete()  # the package's current lines; the history keeps what they were
        audit.bulk_create(PackageLine, priced)
        package.total_pence = sum(ln.total_pence for ln in priced)
        package.budget_ref = ", ".join(
            f"{b.line.programme.code}/{b.line.code}/{b.fy}/{b.icb.code}" for b in budgets_used(by_offer)
        )[:60]
        package.save()
        shares = list(package.practices.all())
        for pp, pence in zip(
            shares, money.largest_remainder(package.total_pence, [pp.share_bp for pp in shares]), strict=True
        ):
            pp.share_pence = pence
        PackagePractice.objects.bulk_update(shares, ["share_pence"])
        audit.record_bulk(PackagePractice, shares, "update", f"shares restated: package {package.number} varied")
        _event(
            case,
            user,
            CaseEvent.Kind.PACKAGE,
            f"Package {package.number} varied from £{old_total / 100:,.2f} to £{package.total_pence / 100:,.2f}. "
            f"Before: {describe(before)}. After: {describe(priced)}.",
            reason=reason.strip(),
        )
    return package
