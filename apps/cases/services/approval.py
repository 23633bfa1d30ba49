"""The ICB team's decision on a submitted package: approval commits the money in the ledger; refusal says why."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from analytics import money
from apps.accounts.models import User
from apps.cases import lifecycle, notify, on_approval
from apps.cases import policy as access
from apps.cases.models import (
    REVIEW_INTERVAL,
    ActionPlan,
    Case,
    CaseEvent,
    NotificationKind,
    Package,
    PackageLine,
    Status,
    SupportOffer,
)
from apps.cases.services import shares
from apps.cases.services.base import CaseError, _event, _locked_package, _move
from apps.funding import services as funding
from apps.funding.lines import funds_offer, is_universal
from apps.funding.models import Budget, LineAccess
from apps.practices.models import ICB


def package_budgets(package: Package, budget: Budget | None, extra: Sequence[Budget] = ()) -> dict[str, Budget]:
    """Which budget pays for each of the package's offers: ``{offer code: budget}``.

    The approver's chosen ``budget`` (and any ``extra`` ones) pay for the offers their line funds
    (``apps.funding.lines.funds_offer``, the one rule); an offer none of them funds draws on the case ICB's only
    targeted budget in the same financial year whose line funds it (otherwise the approver must choose it). Refuses
    a chosen budget that pays for none of the lines, and universal money (a case package spends targeted lines)."""
    if budget is None:
        raise CaseError("Choose the budget this package is paid from.", "budget")
    offers = list({line.offer.code: line.offer for line in package.lines.select_related("offer")}.values())
    return budgets_for_offers(package.case, offers, [budget, *extra], budget.fy, ())


def _budget_words(b: Budget) -> str:
    line = b.line
    funded = ", ".join(line.offer_codes) if line.offer_codes else f"the whole {line.programme.menu} menu"
    return f"{b} (its line {line.name} funds {funded})"


def budgets_for_offers(
    case: Case,
    offers: Sequence[SupportOffer],
    chosen: Sequence[Budget],
    fy: int,
    held: Sequence[Budget],
    *,
    icb_id: int | None = None,
) -> dict[str, Budget]:
    """``{offer code: budget}`` for ``offers``: a budget in ``held`` first (a variation keeps the budgets already
    committed), then the ``chosen`` budgets, then the ICB's only targeted budget in ``fy`` whose line funds the
    offer. Every budget's line must fund the offer it pays for (``funds_offer``) and be targeted money. The ICB is
    the case's, or ``icb_id`` (across a border, the ICB approving its practices' share of a group package)."""
    icb_id = case.icb_id if icb_id is None else icb_id
    if any(b.icb_id != icb_id for b in chosen):
        raise CaseError("That budget belongs to another ICB.", "budget")
    for b in chosen:
        if is_universal(b.line):
            raise CaseError(
                f"{b} is universal money, open to any practice by expression of interest: a case package is paid "
                "from a targeted line.",
                "budget",
            )
        if not any(funds_offer(b.line, o.code, o.programme) for o in offers):
            raise CaseError(
                f"No line in this package is on the {b.line.programme.menu} menu that {_budget_words(b)} pays for.",
                "budget",
            )
    found: dict[str, Budget] = {}
    for offer in offers:
        kept = [b for b in held if funds_offer(b.line, offer.code, offer.programme)]
        if kept:
            found[offer.code] = kept[0]
            continue
        picked = [b for b in chosen if funds_offer(b.line, offer.code, offer.programme)]
        if len({b.pk for b in picked}) > 1:
            raise CaseError(f"Choose one budget for {offer.title}, not two: {picked[0]} and {picked[1]} both fund it.")
        if picked:
            found[offer.code] = picked[0]
            continue
        candidates = [
            b
            for b in Budget.objects.filter(icb_id=icb_id, fy=fy, line__access=LineAccess.TARGETED)
            .select_related("line__programme", "icb")
            .order_by("pk")
            if funds_offer(b.line, offer.code, offer.programme)
        ]
        if len(candidates) != 1:
            raise CaseError(
                f"The {offer.programme} lines need a budget: the ICB has "
                f"{'none' if not candidates else 'more than one'} in {money.fy_label(fy)} whose targeted line "
                f"funds {offer.title}. Choose it.",
                "budget",
            )
        found[offer.code] = candidates[0]
    return found


def split_by_budget(
    package: Package,
    lines: Sequence[PackageLine],
    by_offer: dict[str, Budget],
    references: dict[int, str],
    *,
    icb_id: int | None = None,
    reference: str = "",
) -> list[funding.CommitPart]:
    """The lines split by the budget that pays for each offer: each budget's lines, and the practices' shares of
    them (by basis points).

    ``references``: the commitment each budget already has (a variation); a budget without one gets the
    package's own reference (or ``reference``) when it is the package's only budget, else one under it
    (:func:`commitment_reference`). ``icb_id``: only the part of the practices of that ICB (a group package across
    a border commits each ICB's practices' shares against that ICB's budgets); ``None``: every practice."""
    shares = [
        (pp.practice.code, pp.share_bp, pp.practice.icb_id) for pp in package.practices.select_related("practice")
    ]
    base = reference or package.ref
    budgets = {b.pk: b for b in by_offer.values()}
    only = len(budgets) == 1 and not references
    parts = []
    for b in sorted(budgets.values(), key=lambda b: (b.line.programme.code, b.line.code, b.pk)):
        mine = [ln for ln in lines if by_offer[ln.offer.code].pk == b.pk]
        offers: dict[str, int] = {}
        for ln in mine:
            offers[ln.offer.code] = offers.get(ln.offer.code, 0) + ln.total_pence
        split = money.largest_remainder(sum(offers.values()), [bp for _, bp, _ in shares])
        recipients = [(code, p) for (code, _, icb), p in zip(shares, split, strict=True) if p and icb_id in (None, icb)]
        amount = sum(p for _, p in recipients)
        if amount != sum(offers.values()):  # this ICB's part of each offer, to the penny
            codes = sorted(offers)
            offers = {
                c: p
                for c, p in zip(codes, money.largest_remainder(amount, [offers[c] for c in codes]), strict=True)
                if p
            }
        parts.append(
            funding.CommitPart(
                budget=b,
                amount_pence=amount,
                reference=references.get(b.pk)
                or (base if only else f"{base}/{b.line.programme.code}-{b.line.code}"[:60]),
                recipients=recipients,
                offers=offers,
                schedule=money.even_monthly_schedule(amount, package.starts, package.ends),
                label=", ".join(sorted({ln.offer.title for ln in mine})),  # the shortfall names the budget
            )
        )
    return parts if icb_id is None else [p for p in parts if p.amount_pence]


def icb_part_pence(package: Package, offer_codes: set[str], practice_ids: set[int]) -> int:
    """What these practices' shares of the package's lines of these offers come to (largest remainder, as
    committed)."""
    shares = list(package.practices.values_list("practice_id", "share_bp"))
    amount = sum(ln.total_pence for ln in package.lines.select_related("offer") if ln.offer.code in offer_codes)
    split = money.largest_remainder(amount, [bp for _, bp in shares])
    return sum(p for (pid, _), p in zip(shares, split, strict=True) if pid in practice_ids)


def budgets_used(by_offer: dict[str, Budget]) -> list[Budget]:
    """The distinct budgets of a decision, in the order their parts are written."""
    unique = {b.pk: b for b in by_offer.values()}
    return sorted(unique.values(), key=lambda b: (b.line.programme.code, b.line.code, b.pk))


def commitment_reference(package: Package, budget: Budget) -> str:
    """A package's commitment against one of several budgets: the package reference, then the budget's line."""
    return f"{package.ref}/{budget.line.programme.code}-{budget.line.code}"[:60]


def approve_package(
    user: User, package: Package, note: str = "", budget: Budget | None = None, budgets: Sequence[Budget] = ()
) -> Package:
    """Approve a submitted package as one decision: the case must have an agreed plan, and each line's money is
    committed against its own budget (see :func:`package_budgets`) — every budget or none, refused naming the line
    and budget when any budget's released headroom is too small, even when two approvals race for them. The case
    moves to approved."""
    package.refresh_from_db()
    case = package.case
    if not access.can_run_case(user, case):
        raise CaseError("Only the case's ICB team can approve its package.")
    by_offer = package_budgets(package, budget, budgets)
    with transaction.atomic():
        case, package = _locked_package(
            package, Package.State.SUBMITTED, "Only a package awaiting approval can be approved."
        )
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
        shares.check_settled(package)
        lines = list(package.lines.select_related("offer"))
        across = _across_the_border(package)
        try:
            parts = split_by_budget(package, lines, by_offer, {}, icb_id=case.icb_id if across else None)
            if len(parts) == 1:  # one budget: the shortfall message as it has always read
                parts = [dataclasses.replace(parts[0], label="")]
            funding.commit_funds_together(parts, user=user, memo=f"{case.ref} package {package.number}")
        except funding.PartShortfall as e:
            where = "the budget is" if len(parts) == 1 else "nothing was committed:"
            raise CaseError(f"Not approved: {where} {e}.", "budget") from e
        except funding.FundingError as e:
            raise CaseError(f"Not approved: {e.message}") from e
        for icb, (approver, theirs) in across.items():
            # Each ICB's part against the budgets it chose, attributed to the person of that ICB who approved it;
            # in this transaction, so every ICB's commitment is made or none. Its figures are not the lead's to see.
            try:
                funding.commit_funds_together(
                    split_by_budget(package, lines, theirs, {}, icb_id=icb.pk, reference=f"{package.ref}/{icb.code}"),
                    user=approver,
                    memo=f"{case.ref} package {package.number}: {icb.name}'s share",
                )
            except funding.FundingError as e:
                raise CaseError(
                    f"Not approved: nothing was committed: {icb.name}'s budget can no longer cover its share. "
                    "Send the package back to share again, or ask that ICB to make room."
                ) from e
        used = budgets_used(by_offer)
        package.budget_ref = ", ".join(f"{b.line.programme.code}/{b.line.code}/{b.fy}/{b.icb.code}" for b in used)[:60]
        package.commitment_ref = package.ref
        sources = " and ".join([str(b) for b in used] + [f"{icb.name}'s own budget" for icb in across])
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
            f"Package {package.number} approved (£{package.total_pence / 100:,.2f}, committed from {sources})",
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


def _across_the_border(package: Package) -> dict[ICB, tuple[User, dict[str, Budget]]]:
    """Each other ICB covered by the package: who approved its share and the budget it chose for each offer."""
    out: dict[ICB, tuple[User, dict[str, Budget]]] = {}
    rows = package.practices.exclude(practice__icb_id=package.case.icb_id).select_related(
        "practice__icb", "approved_by"
    )
    for pp in rows:
        icb = pp.practice.icb
        if icb is None or icb in out or pp.approved_by is None:
            continue
        chosen = Budget.objects.select_related("line__programme", "icb").in_bulk(list(pp.budgets.values()))
        out[icb] = (pp.approved_by, {m: chosen[pk] for m, pk in pp.budgets.items()})
    return out


def refuse_package(user: User, package: Package, note: str) -> Package:
    package.refresh_from_db()
    case = package.case
    if not access.can_run_case(user, case):
        raise CaseError("Only the case's ICB team can refuse its package.")
    if not note.strip():
        raise CaseError("Say why the package is refused: the practice will read it.", "note")
    with transaction.atomic():
        refusal = "Only a package awaiting approval can be refused."
        _, package = _locked_package(package, Package.State.SUBMITTED, refusal)
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
