""" "Waiting for me" for money: payments a colleague recorded that this user may approve or reject (four eyes).

The list is :func:`apps.funding.services.payments_to_decide`, the same rule ``approve_payment`` applies, so it cannot
offer a decision the service would refuse. Named in ``apps.cases.services.waiting.CONTRIBUTORS`` (cases must not
import the layers above it; it looks its contributors up by name).
"""

from __future__ import annotations

from django.urls import reverse

from apps.accounts.models import User
from apps.cases.services.waiting import Waiting
from apps.funding import services as money

APPROVE = "approve_payment"
WHAT = "Approve or reject the payment a colleague recorded (four eyes)"


def payment_items(user: User) -> list[Waiting]:
    out = []
    for p in money.payments_to_decide(user):
        href = reverse("funding:payments", args=[p.commitment.budget.icb.code]) + f"?status=requested#payment-{p.pk}"
        title = f"{money.pounds(p.amount_pence)} to {p.payee} on {p.commitment.reference}"
        out.append(Waiting(None, WHAT, APPROVE, href, title))
    return out
