"""The ICB's payments and commitments as lists: filtered, counted and summed in the database so a page costs the
same few queries however many rows the ICB has (issue 19). Views page the querysets with :mod:`apps.core.paging`."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import BigIntegerField, Count, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from analytics.money import Kind
from apps.funding.models import Commitment, LedgerEntry, LedgerMonth, Payment
from apps.funding.payment_totals import of_icb as totals_of_icb
from apps.practices.models import ICB


@dataclass(frozen=True)
class StatusTotal:
    status: str
    label: str
    count: int
    amount_pence: int


def by_status(qs: QuerySet[Payment] | QuerySet[Commitment], choices: list[tuple[str, str]]) -> list[StatusTotal]:
    """Count and sum of ``qs`` for every status in ``choices`` (zero where none), in one grouped query."""
    rows = {
        s: (n, t or 0) for s, n, t in qs.order_by().values_list("status").annotate(Count("pk"), Sum("amount_pence"))
    }
    return [StatusTotal(s, label, *rows.get(s, (0, 0))) for s, label in choices]


def payment_totals(icb: ICB) -> list[StatusTotal]:
    """:func:`by_status` of the ICB's payments, from their running totals (``apps.funding.payment_totals``)."""
    found = totals_of_icb(icb.pk)
    return [StatusTotal(s, label, *found.get(s, (0, 0))) for s, label in Payment.Status.choices]


def icb_payments(icb: ICB, status: str = "") -> QuerySet[Payment]:
    """The ICB's payments, newest first (``status`` one of :class:`Payment.Status` to narrow them), with what each
    row shows loaded alongside."""
    qs = Payment.objects.filter(icb=icb)  # the payment's own ICB: the newest page is an index walk (icb_rule)
    if status:
        qs = qs.filter(status=status)
    # The commitment's JSON (recipients, offers, schedule) and memo are not shown: left out, the rows the database
    # sorts to find the newest page are a fraction as wide (an ICB's year runs to tens of thousands of payments).
    return (
        qs.select_related("commitment", "requested_by", "decided_by")
        .defer("commitment__recipients", "commitment__offers", "commitment__schedule", "commitment__memo")
        .order_by("-requested_at", "-pk")
    )


@dataclass(frozen=True)
class CommitmentTotal:
    status: str
    label: str
    count: int
    committed_pence: int
    paid_pence: int


def icb_commitments(icb: ICB, fy: int, status: str = "") -> QuerySet[Commitment]:
    """The ICB's commitments for the year, newest first, each with ``paid_to_date_pence`` summed from the ledger in
    the same query (``status`` one of :class:`Commitment.Status` to narrow them)."""
    qs = Commitment.objects.filter(budget__icb=icb, budget__fy=fy)
    if status:
        qs = qs.filter(status=status)
    paid = (
        LedgerEntry.objects.filter(commitment=OuterRef("pk"), kind=Kind.PAYMENT)
        .order_by()
        .values("commitment")
        .annotate(t=Sum("amount_pence"))
        .values("t")
    )
    return (
        qs.select_related("budget__line")
        .annotate(paid_to_date_pence=Coalesce(Subquery(paid), Value(0), output_field=BigIntegerField()))
        .order_by("-created_at", "-pk")
    )


def commitment_totals(icb: ICB, fy: int) -> list[CommitmentTotal]:
    """Count, committed and paid for every status of the ICB's commitments that year (two small queries).

    Paid, without reading a payment entry (there were 28,000 at 70x): a cancelled commitment's amount is what was
    paid on it (``decommit`` takes the unpaid rest back and needs no payment awaiting approval, and
    ``approve_payment`` refuses more than the amount less what is paid); the open ones were paid the rest of what
    the ICB's budgets paid that year, from the ledger's running monthly totals (each payment is against a commitment
    on the budget it is paid from)."""
    qs = Commitment.objects.filter(budget__icb=icb, budget__fy=fy).order_by()
    committed = {s: (n, t or 0) for s, n, t in qs.values_list("status").annotate(Count("pk"), Sum("amount_pence"))}
    every = LedgerMonth.objects.filter(icb=icb, budget__fy=fy, kind=Kind.PAYMENT).aggregate(t=Sum("amount_pence"))
    cancelled = committed.get(Commitment.Status.CANCELLED, (0, 0))[1]
    paid = {Commitment.Status.CANCELLED: cancelled, Commitment.Status.OPEN: int(every["t"] or 0) - cancelled}
    return [
        CommitmentTotal(s, label, *committed.get(s, (0, 0)), paid.get(s) or 0) for s, label in Commitment.Status.choices
    ]
