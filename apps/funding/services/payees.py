"""Commitments outside cases (issue 17 §4): money committed to a payee that is not a practice case — a local
resilience post, an LMC support team, a provider contract for a cohort, a practice-manager programme contract.

They are ordinary commitments made, varied and cancelled by the same services as a case's (``commit_funds_together``,
``vary_together``, ``decommit``), so the budget lock, the no-overdraw check and the ledger are the
ones every commitment uses; a :class:`~apps.funding.models.PayeeCommitment` row says who is paid and why, and the
schedule is the tranches. Payments go through ``record_payment`` / ``approve_payment`` (four eyes), each naming
its tranche.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import BigIntegerField, Count, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from analytics.money import Kind
from apps.accounts.models import User
from apps.funding.errors import FundingError
from apps.funding.models import Budget, Commitment, LedgerEntry, PayeeCommitment, PayeeKind, Payment
from apps.funding.services.commitments import CommitPart, PayeeSpec, commit_funds_together, schedule_of
from apps.funding.services.ledger import _lock, pounds
from apps.funding.services.variations import vary_together
from apps.practices.models import ICB

REFERENCE_PREFIX = "PAYEE"


def _check_payee(kind: str, name: str, purpose: str, organisation_code: str) -> list[FundingError]:
    problems: list[FundingError] = []
    if kind not in PayeeKind.values:
        problems.append(FundingError("Choose what kind of payee this is", "kind"))
    if not name.strip():
        problems.append(FundingError("Enter the payee's name", "name"))
    elif len(name.strip()) > 200:
        problems.append(FundingError("Keep the payee's name to 200 characters or fewer", "name"))
    if not purpose.strip():
        problems.append(FundingError("Say what the money pays for", "purpose"))
    code = organisation_code.strip()
    if code and (len(code) > 12 or not code.isascii() or not code.isalnum()):
        problems.append(
            FundingError("An organisation code is up to 12 letters and digits, like Y02747", "organisation")
        )
    return problems


def commit_to_payee(
    *,
    budget: Budget,
    user: User,
    kind: str,
    name: str,
    purpose: str,
    amount_pence: int,
    tranches: Sequence[tuple[date, int]],
    organisation_code: str = "",
) -> Commitment:
    """Commit ``amount_pence`` of ``budget`` to a payee outside a case, paid in ``tranches`` (date, pence) that add
    up to it. Every problem with the input is raised at once (``FundingError.all_of``); a commitment the budget's
    headroom cannot carry raises :class:`~apps.funding.services.ledger.InsufficientFunds` naming the line and the
    budget; ``PermissionDenied`` unless ``user`` is on the budget's ICB team. The reference is made here."""
    problems = _check_payee(kind, name, purpose, organisation_code)
    if amount_pence <= 0:
        problems.append(FundingError("The amount to commit must be more than £0", "amount"))
    if problems:
        raise FundingError.all_of(problems)
    reference = f"{REFERENCE_PREFIX}-{budget.icb.code}-{uuid.uuid4().hex[:8].upper()}"
    spec = PayeeSpec(kind, name.strip(), purpose.strip(), organisation_code.strip().upper())
    part = CommitPart(budget, amount_pence, reference, (), {}, tuple(tranches), payee=spec)
    return commit_funds_together([part], user=user, memo=f"{spec.name}: {spec.purpose}")[0]


def vary_payee_commitment(
    *, reference: str, user: User, amount_pence: int, tranches: Sequence[tuple[date, int]], reason: str
) -> Commitment:
    """Restate a payee's commitment to a new amount and tranches through the one variation service. A tranche that
    is paid or awaiting approval stays where it is: same position, same date, no less than its payment."""
    if amount_pence <= 0:
        raise FundingError("A commitment cannot be varied to £0: cancel it instead", "amount")
    with transaction.atomic():
        found = PayeeCommitment.objects.select_related("commitment__budget__icb").filter(
            commitment__reference=reference
        )
        payee = found.first()
        if payee is None:
            raise FundingError(f"No commitment to a payee with reference {reference}")
        commitment = payee.commitment
        # Budget then commitment, the order every money service locks in, so a payment racing this waits.
        budget = _lock([commitment.budget_id])[commitment.budget_id]
        commitment = Commitment.objects.select_for_update().get(pk=commitment.pk)
        old, new = schedule_of(commitment), sorted(tranches)
        held = commitment.payments.exclude(status=Payment.Status.REJECTED).exclude(tranche=None)
        for p in held.order_by("tranche"):
            n = p.tranche or 0
            due, _ = old[n - 1]
            if n > len(new) or new[n - 1][0] != due or new[n - 1][1] < p.amount_pence:
                raise FundingError(
                    f"Tranche {n} ({pounds(p.amount_pence)} due {due:%d %B %Y}) is paid or awaiting approval: "
                    f"keep it as tranche {n} on that date, at least that amount",
                    "schedule",
                )
        spec = PayeeSpec(payee.kind, payee.name, payee.purpose, payee.organisation_code)
        part = CommitPart(budget, amount_pence, reference, (), {}, tuple(new), payee=spec)
        return vary_together([part], user=user, reason=reason)[0]


# Reading -------------------------------------------------------------------------------------------------------


def payee_commitments(icb: ICB, fy: int | None = None) -> QuerySet[PayeeCommitment]:
    """The ICB's commitments to payees outside cases, newest first, each with ``paid_to_date_pence`` summed from the
    ledger in the same query (the list pages; ``fy`` narrows to one financial year)."""
    qs = PayeeCommitment.objects.filter(commitment__budget__icb=icb)
    if fy is not None:
        qs = qs.filter(commitment__budget__fy=fy)
    paid = (
        LedgerEntry.objects.filter(commitment=OuterRef("commitment"), kind=Kind.PAYMENT)
        .order_by()
        .values("commitment")
        .annotate(t=Sum("amount_pence"))
        .values("t")
    )
    return (
        qs.select_related("commitment__budget__line__programme")
        .annotate(paid_to_date_pence=Coalesce(Subquery(paid), Value(0), output_field=BigIntegerField()))
        .order_by("-commitment__created_at", "-pk")
    )


@dataclass(frozen=True)
class PayeeTotal:
    """Open commitments to one kind of payee: what the national team sees (no payee named)."""

    kind: str
    label: str
    count: int
    committed_pence: int
    paid_pence: int

    @property
    def remaining_pence(self) -> int:
        return self.committed_pence - self.paid_pence


def payee_totals(icbs: QuerySet[ICB], fy: int | None = None) -> list[PayeeTotal]:
    """Count, committed and paid of the open commitments to payees in ``icbs``, per kind (two grouped queries)."""
    qs = PayeeCommitment.objects.filter(commitment__budget__icb__in=icbs, commitment__status=Commitment.Status.OPEN)
    entries = LedgerEntry.objects.filter(
        commitment__payee__in=qs.values("pk"), kind=Kind.PAYMENT, commitment__status=Commitment.Status.OPEN
    )
    if fy is not None:
        qs = qs.filter(commitment__budget__fy=fy)
        entries = entries.filter(budget__fy=fy)
    committed = {
        k: (n, t or 0)
        for k, n, t in qs.order_by().values_list("kind").annotate(Count("pk"), Sum("commitment__amount_pence"))
    }
    paid = dict(entries.order_by().values_list("commitment__payee__kind").annotate(Sum("amount_pence")))
    return [
        PayeeTotal(k, label, *committed.get(k, (0, 0)), paid.get(k) or 0)
        for k, label in PayeeKind.choices
        if k in committed
    ]


@dataclass(frozen=True)
class Tranche:
    """One tranche of a payee's schedule and what has been asked or paid against it."""

    number: int
    due: date
    amount_pence: int
    payment: Payment | None

    @property
    def state(self) -> str:
        if self.payment is None:
            return "Not paid"
        return "Paid" if self.payment.status == Payment.Status.APPROVED else "Awaiting approval"


def tranches_of(commitment: Commitment) -> list[Tranche]:
    """The schedule as numbered tranches, each with its payment (not a rejected one) if it has one (one query)."""
    held = {
        p.tranche: p
        for p in commitment.payments.exclude(status=Payment.Status.REJECTED).exclude(tranche=None).order_by("pk")
    }
    return [Tranche(n, d, a, held.get(n)) for n, (d, a) in enumerate(schedule_of(commitment), 1)]
