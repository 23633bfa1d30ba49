"""Each ICB's payments by status (apps.funding.payment_totals) equal the payments themselves after they are recorded,
approved and rejected, and the payments page counts its pages from them."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.funding import lists, payment_totals, services
from apps.funding.models import Payment
from apps.funding.tests.conftest import POUND, commit

pytestmark = pytest.mark.django_db


def _record(personas, ref: str, number: str, amount: int) -> Payment:
    return services.record_payment(
        reference=ref,
        amount_pence=amount,
        kind="invoice",
        payee="Totals Ltd",
        invoice_number=number,
        offer_code="gprp-diagnostic",
        session_refs=[],
        user=personas["icb_a"],
    )


@pytest.fixture
def decided(personas, budget, practices_a, colleague_a) -> list[Payment]:
    commit(budget, personas["icb_a"], practices_a, 9_000 * POUND, "TOTALS/PKG-1")
    made = [_record(personas, "TOTALS/PKG-1", f"TOT-{i}", (i + 1) * 100 * POUND) for i in range(5)]
    services.approve_payment(payment=made[0], user=colleague_a)
    services.approve_payment(payment=made[1], user=colleague_a)
    services.reject_payment(payment=made[2], user=colleague_a, note="Sessions not delivered yet")
    services.reject_payment(payment=made[3], user=colleague_a, note="Invoice sent to the wrong ICB")
    return made


def test_the_totals_follow_every_payment_and_decision(decided, budget):
    assert payment_totals.mismatches() == []
    shown = {t.status: (t.count, t.amount_pence) for t in lists.payment_totals(budget.icb)}
    everything = lists.by_status(lists.icb_payments(budget.icb), Payment.Status.choices)
    counted = {t.status: (t.count, t.amount_pence) for t in everything}
    assert shown == counted


def test_the_migration_that_starts_the_totals_recounts_every_payment(decided):
    want = {(t.icb_id, t.status): (t.payments, t.amount_pence) for t in payment_totals.PaymentTotal.objects.all()}
    again = payment_totals.recount(Payment.objects.all())
    recounted = {(t.icb_id, t.status): (t.payments, t.amount_pence) for t in again}
    assert {k: v for k, v in want.items() if v != (0, 0)} == recounted


def _pages(html: str) -> set[str]:
    """The number of pages the page links name ("Page 2 of 7"): with one row a page, the rows counted."""
    return set(re.findall(r"Page \d+ of (\d+)", html))


@pytest.mark.parametrize("status", ["", "requested", "approved", "rejected"])
def test_the_payments_page_counts_its_rows_from_the_totals(client_for, decided, budget, status):
    url = reverse("funding:payments", args=[budget.icb.code])
    html = client_for("icb_a").get(url, {"status": status, "per_page": 1}).content.decode()
    expected = Payment.objects.filter(icb=budget.icb, **({"status": status} if status else {})).count()
    assert expected > 1 and _pages(html) == {str(expected)}
    searched = client_for("icb_a").get(url, {"q": "Totals Ltd", "per_page": 1}).content.decode()
    assert _pages(searched) == {"5"}
