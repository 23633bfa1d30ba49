"""Each ICB's payments counted and summed by status, kept as the payments are recorded and decided, so the payments
page's totals and its page count read a few rows instead of every payment (28,000 for one ICB at 70x: 10 ms to
count and 9 ms to sum by status on PostgreSQL).

``Payment.save`` calls :func:`changed` in the same transaction as the payment's own row: a new payment adds itself
to its status, a decision moves it from one status to another (``apps.funding.services.decisions.settle``, which
holds the payment's row lock). Payments are never deleted (their ledger entries protect them). :func:`mismatches`
recounts from the payments; ``apps/funding/tests/test_payment_totals.py`` holds them equal.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Count, Sum

from apps.funding.running_totals import add_to, differences


class PaymentTotal(models.Model):
    """The number and sum of one ICB's payments in one status (never the record: see the module)."""

    icb = models.ForeignKey("practices.ICB", on_delete=models.PROTECT, related_name="+", db_index=False)
    status = models.CharField(max_length=10)
    payments = models.IntegerField()
    amount_pence = models.BigIntegerField()

    class Meta:
        app_label = "funding"
        constraints = [models.UniqueConstraint(fields=["icb", "status"], name="uniq_payment_total")]

    def __str__(self) -> str:
        return f"{self.payments} {self.status} payments of ICB {self.icb_id}: {self.amount_pence}p"


def _add(icb_id: int, status: str, payments: int, amount_pence: int) -> None:
    add_to(PaymentTotal, ["icb_id", "status"], ["payments", "amount_pence"], [(icb_id, status, payments, amount_pence)])


def before(payment: Any) -> tuple[str, int] | None:
    """A stored payment's status and amount as the database has them (``None`` for a new one), read before it is
    saved again."""
    if payment._state.adding:
        return None
    return type(payment).objects.filter(pk=payment.pk).values_list("status", "amount_pence").first()


def changed(was: tuple[str, int] | None, payment: Any) -> None:
    """Move the payment from what it was (``before``) to what it is now, in its ICB's totals."""
    now = (payment.status, payment.amount_pence)
    if was == now:
        return
    if was is not None:
        _add(payment.icb_id, was[0], -1, -was[1])
    _add(payment.icb_id, now[0], 1, now[1])


def of_icb(icb_id: int) -> dict[str, tuple[int, int]]:
    """Status → (payments, pence) for the ICB's payments."""
    rows = PaymentTotal.objects.filter(icb_id=icb_id).values_list("status", "payments", "amount_pence")
    return {s: (n, a) for s, n, a in rows}


def recount(payments: models.QuerySet[Any]) -> list[PaymentTotal]:
    """The totals of ``payments`` as (unsaved) rows: the migration that starts them, and :func:`mismatches`."""
    rows = payments.order_by().values_list("icb_id", "status").annotate(n=Count("pk"), t=Sum("amount_pence"))
    return [PaymentTotal(icb_id=i, status=s, payments=n, amount_pence=t) for i, s, n, t in rows]


def mismatches() -> list[str]:
    """Every total that differs from its payments, in words (none, when the totals are right)."""
    from apps.funding.models import Payment

    want = {(t.icb_id, t.status): (t.payments, t.amount_pence) for t in recount(Payment.objects.all())}
    have = {(t.icb_id, t.status): (t.payments, t.amount_pence) for t in PaymentTotal.objects.all()}
    have = {k: v for k, v in have.items() if v != (0, 0)}  # a status every payment has left
    return differences(want, have, "payments")
