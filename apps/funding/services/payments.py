"""Payments against commitments (approved by a second person) and virements between budgets (national approval)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from analytics.money import Kind
from apps.accounts.models import User
from apps.core import audit
from apps.funding.errors import FundingError
from apps.funding.lines import virement_refusal
from apps.funding.models import (
    Budget,
    Commitment,
    LedgerEntry,
    PayeeCommitment,
    Payment,
    Virement,
)
from apps.funding.policy import can_act_on_budget, can_manage_funding
from apps.funding.services.commitments import _locked_commitment, schedule_of
from apps.funding.services.decisions import Decision, check_reason, lock_for_decision, settle
from apps.funding.services.ledger import MIN_REASON, InsufficientFunds, _check, _lock, balances, pounds
from apps.practices.models import Practice

# Payments ---------------------------------------------------------------------------------------------------


def _pending(commitment: Commitment) -> int:
    return int(commitment.payments.filter(status=Payment.Status.REQUESTED).aggregate(t=Sum("amount_pence"))["t"] or 0)


def _refuse_repeated_invoice(commitment: Commitment, invoice_number: str) -> None:
    """Refuse a second payment of the same invoice on one commitment, naming the payment that holds it. (The
    commitment row is locked by the caller, so two requests cannot both pass; the database constraint
    ``one_payment_per_invoice`` backs this up.)"""
    held = (
        commitment.payments.filter(invoice_number=invoice_number)
        .exclude(status=Payment.Status.REJECTED)
        .select_related("requested_by")
        .first()
    )
    if held is not None:
        raise FundingError(
            f"Invoice {invoice_number} is already recorded against {commitment.reference}: payment {held.pk} of "
            f"{pounds(held.amount_pence)} to {held.payee}, {held.get_status_display().lower()}, recorded by "
            f"{held.requested_by.get_username()} on {timezone.localtime(held.requested_at):%d %B %Y}",
            "invoice_number",
        )


def record_payment(
    *,
    reference: str,
    amount_pence: int,
    kind: str,
    payee: str,
    user: User,
    practice_code: str = "",
    invoice_number: str = "",
    offer_code: str = "",
    session_refs: Sequence[str] = (),
    memo: str = "",
    tranche: int | None = None,
) -> Payment:
    """Record a provider invoice or a direct payment to a practice against a commitment, awaiting approval.

    Nothing moves until :func:`approve_payment` (by a different member of the ICB team). Refused if the payments
    already awaiting approval plus this one would be more than the commitment's unpaid amount. A commitment to a
    payee outside a case is paid tranche by tranche: the payment names its ``tranche`` (1 = the first date of the
    schedule), which is paid once and for no more than its scheduled amount (:func:`_check_tranche`).
    """
    problems: list[FundingError] = []
    if kind not in Payment.Kind.values:
        problems.append(FundingError("Choose a provider invoice or a direct payment to a practice", "kind"))
    if amount_pence <= 0:
        problems.append(FundingError("The payment must be more than £0", "amount"))
    practice_code = practice_code.strip().upper()
    if kind == Payment.Kind.INVOICE and not invoice_number.strip():
        problems.append(FundingError("Enter the provider's invoice number", "invoice_number"))
    if kind == Payment.Kind.DIRECT and not practice_code:
        problems.append(FundingError("A direct payment names the practice it is paid to", "practice_code"))
    if not payee.strip() and kind == Payment.Kind.INVOICE:
        problems.append(FundingError("Enter the provider's name", "payee"))
    if problems:
        raise FundingError.all_of(problems)
    with transaction.atomic():
        commitment, _ = _locked_commitment(reference, user)
        if commitment.status != Commitment.Status.OPEN:
            raise FundingError(f"{reference} is cancelled: nothing can be paid against it", "reference")
        to_payee = PayeeCommitment.objects.filter(commitment=commitment).exists()
        if to_payee and kind != Payment.Kind.INVOICE:
            raise FundingError(f"{reference} pays a payee, not a practice: record the payee's invoice", "kind")
        practices = {c for c, _ in commitment.recipients}
        if practice_code and practice_code not in practices:
            raise FundingError(f"{practice_code} is not one of the practices {reference} is for", "practice_code")
        if offer_code and offer_code not in commitment.offers:
            raise FundingError(f"{reference} does not fund {offer_code}", "offer_code")
        if kind == Payment.Kind.DIRECT and not payee.strip():
            p = Practice.objects.filter(code=practice_code).first()
            payee = p.display_name if p else practice_code
        invoice_number = invoice_number.strip()
        if invoice_number:
            _refuse_repeated_invoice(commitment, invoice_number)
        unpaid = commitment.amount_pence - commitment.paid_pence - _pending(commitment)
        if amount_pence > unpaid:
            raise FundingError(
                f"Only {pounds(max(0, unpaid))} of {reference} is unpaid and not already awaiting approval", "amount"
            )
        _check_tranche(commitment, to_payee, tranche, amount_pence)
        return Payment.objects.create(
            commitment=commitment,
            tranche=tranche,
            kind=kind,
            payee=payee.strip(),
            practice_code=practice_code,
            invoice_number=invoice_number,
            offer_code=offer_code,
            session_refs=[s.strip() for s in session_refs if s.strip()],
            amount_pence=amount_pence,
            memo=memo.strip(),
            requested_by=user,
        )


def _check_tranche(commitment: Commitment, to_payee: bool, tranche: int | None, amount_pence: int) -> None:
    """A payee's payment names one tranche of its schedule, not paid or awaiting approval already, and pays no more
    than it; a case's payment names none. (The commitment row is locked by the caller; the database constraint
    ``one_payment_per_tranche`` backs this up.)"""
    ref = commitment.reference
    if not to_payee:
        if tranche is not None:
            raise FundingError(f"{ref} is a case's commitment: its payments name no tranche", "tranche")
        return
    plan = schedule_of(commitment)
    if tranche is None:
        raise FundingError(f"Say which tranche of {ref} this payment pays", "tranche")
    if not 1 <= tranche <= len(plan):
        raise FundingError(f"{ref} has {len(plan)} tranche{'s' if len(plan) != 1 else ''}, not {tranche}", "tranche")
    held = commitment.payments.filter(tranche=tranche).exclude(status=Payment.Status.REJECTED).first()
    if held is not None:
        state = "paid" if held.status == Payment.Status.APPROVED else "awaiting approval"
        raise FundingError(f"Tranche {tranche} of {ref} is already {state} (payment {held.pk})", "tranche")
    due, scheduled = plan[tranche - 1]
    if amount_pence > scheduled:
        raise FundingError(
            f"Tranche {tranche} of {ref} (due {due:%d %B %Y}) is {pounds(scheduled)}: "
            f"{pounds(amount_pence)} is more than it",
            "amount",
        )


def _decide_payment(payment: Payment, user: User) -> tuple[Payment, Budget]:
    if not can_act_on_budget(user, payment.commitment.budget.icb):
        raise PermissionDenied("only the ICB's own team approves its payments")
    budget = _lock([payment.commitment.budget_id])[payment.commitment.budget_id]
    payment = lock_for_decision(payment, user, what="payment", asked="recorded")
    return Payment.objects.select_related("commitment").get(pk=payment.pk), budget


def payments_to_decide(user: User) -> list[Payment]:
    """Recorded payments this user may approve or reject now, oldest first ("waiting for me"): by the same rule as
    :func:`_decide_payment` — the ICB's own team (``can_act_on_budget``), still awaiting a decision, and recorded by
    someone else (``lock_for_decision``). One query, whatever the number of payments."""
    if user.icb_id is None:
        return []
    pending = (
        Payment.objects.filter(status=Decision.REQUESTED, commitment__budget__icb_id=user.icb_id)
        .exclude(requested_by_id=user.pk)
        .select_related("commitment__budget__icb")
        .order_by("requested_at", "pk")
    )
    return [p for p in pending if can_act_on_budget(user, p.commitment.budget.icb)]


def approve_payment(*, payment: Payment, user: User, note: str = "") -> Payment:
    """Approve a recorded payment: the PAYMENT ledger entry is written and the money counts as spent."""
    with transaction.atomic():
        payment, budget = _decide_payment(payment, user)
        commitment = payment.commitment
        if payment.amount_pence > commitment.amount_pence - commitment.paid_pence:
            raise FundingError(f"{commitment.reference} no longer has {pounds(payment.amount_pence)} unpaid")
        _check(budget, Kind.PAYMENT, payment.amount_pence)
        settle(payment, user, Decision.APPROVED, note)
        LedgerEntry.objects.create(
            budget=budget,
            kind=Kind.PAYMENT,
            amount_pence=payment.amount_pence,
            reference=commitment.reference,
            practice_code=payment.practice_code,
            offer_code=payment.offer_code,
            commitment=commitment,
            payment=payment,
            memo=f"{payment.get_kind_display()}: {payment.payee} {payment.invoice_number}".strip()[:500],
            created_by=user,
        )
    return payment


def reject_payment(*, payment: Payment, user: User, note: str) -> Payment:
    reason = check_reason(note, "payment")
    with transaction.atomic():
        payment, _ = _decide_payment(payment, user)
        settle(payment, user, Decision.REJECTED, reason)
    return payment


# Virements ----------------------------------------------------------------------------------------------------


def request_virement(*, from_budget: Budget, to_budget: Budget, amount_pence: int, reason: str, user: User) -> Virement:
    """Ask to move released, uncommitted money between two budgets of the same year (another ICB, or another line
    of the same ICB). The source ICB's team or the national team asks; the national team decides."""
    if not (can_manage_funding(user) or can_act_on_budget(user, from_budget.icb)):
        raise PermissionDenied("only the source ICB's team or the national team can ask to move its money")
    problems: list[FundingError] = []
    if from_budget.pk == to_budget.pk:
        problems.append(FundingError("Choose two different budgets", "to_budget"))
    if from_budget.fy != to_budget.fy:
        problems.append(FundingError("Money is year-bound: a virement stays within one financial year", "to_budget"))
    if amount_pence <= 0:
        problems.append(FundingError("The amount to move must be more than £0", "amount"))
    if len(reason.strip()) < MIN_REASON:
        problems.append(FundingError(f"Give a reason of at least {MIN_REASON} characters", "reason"))
    if (refused := virement_refusal(from_budget.line, to_budget.line)) is not None:
        problems.append(FundingError(refused, "to_budget"))
    if problems:
        raise FundingError.all_of(problems)
    headroom = balances([from_budget.pk])[from_budget.pk].headroom
    if amount_pence > headroom:
        raise InsufficientFunds(from_budget, amount_pence - headroom, max(0, headroom))
    return Virement.objects.create(
        from_budget=from_budget,
        to_budget=to_budget,
        amount_pence=amount_pence,
        reason=reason.strip(),
        requested_by=user,
    )


def _decide_virement(virement: Virement, user: User) -> Virement:
    if not can_manage_funding(user):
        raise PermissionDenied("only the national programme team approves virements")
    return lock_for_decision(virement, user, what="virement", asked="asked for")


def approve_virement(*, virement: Virement, user: User, note: str = "") -> Virement:
    """Move the money: a negative VIREMENT entry on the source budget and a positive one on the destination."""
    with transaction.atomic():
        budgets = _lock([virement.from_budget_id, virement.to_budget_id])
        virement = _decide_virement(virement, user)
        source, dest = budgets[virement.from_budget_id], budgets[virement.to_budget_id]
        # The rule may have changed since the request: the national team approves only what it allows now.
        if (refused := virement_refusal(source.line, dest.line)) is not None:
            raise FundingError(f"Not approved: {refused}")
        _check(source, Kind.VIREMENT, -virement.amount_pence)
        settle(virement, user, Decision.APPROVED, note)
        movement = uuid.uuid4()
        memo = f"Virement {virement.pk}: {virement.reason}"[:500]
        audit.bulk_create(
            LedgerEntry,
            [
                LedgerEntry(
                    budget=source,
                    kind=Kind.VIREMENT,
                    amount_pence=-virement.amount_pence,
                    movement=movement,
                    virement=virement,
                    memo=memo,
                    created_by=user,
                ),
                LedgerEntry(
                    budget=dest,
                    kind=Kind.VIREMENT,
                    amount_pence=virement.amount_pence,
                    movement=movement,
                    virement=virement,
                    memo=memo,
                    created_by=user,
                ),
            ],
        )
    return virement


def reject_virement(*, virement: Virement, user: User, note: str) -> Virement:
    reason = check_reason(note, "virement")
    with transaction.atomic():
        virement = _decide_virement(virement, user)
        settle(virement, user, Decision.REJECTED, reason)
    return virement
