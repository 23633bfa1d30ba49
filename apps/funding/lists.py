"""The ICB's payments and commitments as lists: filtered, counted and summed in the database so a page costs the
same few queries however many rows the ICB has (issue 19). Views page the querysets with :mod:`apps.core.paging`."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import BigIntegerField, Count, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from analytics.money import Kind
from apps.funding.models import Commitment, LedgerEntry, LedgerMonth, Payment
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


def _paid_entries(icb: ICB, fy: int) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(commitment__budget__icb=icb, commitment__budget__fy=fy, kind=Kind.PAYMENT)


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
    """Count, committed and paid for every status of the ICB's commitments that year (three small queries).

    Paid: everything paid from the ICB's budgets that year, from the ledger's running monthly totals (each payment
    is against a commitment on the budget it is paid from), less what was paid to commitments no longer open, read
    from their own entries. Summing every payment entry by its commitment's status read 28,000 entries at 70x."""
    qs = Commitment.objects.filter(budget__icb=icb, budget__fy=fy).order_by()
    committed = {s: (n, t or 0) for s, n, t in qs.values_list("status").annotate(Count("pk"), Sum("amount_pence"))}
    closed = _paid_entries(icb, fy).exclude(commitment__status=Commitment.Status.OPEN).order_by()
    paid = dict(closed.values_list("commitment__status").annotate(Sum("amount_pence")))
    every = LedgerMonth.objects.filter(icb=icb, budget__fy=fy, kind=Kind.PAYMENT).aggregate(t=Sum("amount_pence"))
    paid[Commitment.Status.OPEN] = int(every["t"] or 0) - sum(t or 0 for t in paid.values())
    return [
        CommitmentTotal(s, label, *committed.get(s, (0, 0)), paid.get(s) or 0) for s, label in Commitment.Status.choices
    ]
