"""One invoice, one payment: a second payment with the same invoice number on one commitment is refused with a
message naming the first, and the database refuses it too when the service is bypassed."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.funding import services
from apps.funding.errors import FundingError
from apps.funding.models import Payment
from apps.funding.tests.conftest import POUND, commit
from apps.funding.tests.test_payments_and_virements import invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(personas, budget, practices_a):
    return commit(budget, personas["icb_a"], practices_a, 10_000 * POUND, "CASE-20/PKG-1")


def test_the_same_invoice_twice_is_refused_naming_the_payment_that_holds_it(personas, committed):
    first = invoice(personas, 1_000 * POUND, "INV-9")
    with pytest.raises(FundingError) as refused:
        invoice(personas, 1_000 * POUND, " INV-9 ")  # a double submit, spaces and all
    message = refused.value.messages[0]
    assert f"Invoice INV-9 is already recorded against CASE-20/PKG-1: payment {first.pk} of £1,000.00" in message
    assert "awaiting approval, recorded by" in message
    assert Payment.objects.filter(invoice_number="INV-9").count() == 1


def test_an_approved_invoice_cannot_be_paid_again(personas, committed, colleague_a):
    first = invoice(personas, 500 * POUND, "INV-10")
    services.approve_payment(payment=first, user=colleague_a)
    with pytest.raises(FundingError, match=f"payment {first.pk} .* approved"):
        invoice(personas, 500 * POUND, "INV-10")


def test_a_rejected_invoice_can_be_recorded_again_corrected(personas, committed, colleague_a):
    wrong = invoice(personas, 700 * POUND, "INV-11")
    services.reject_payment(payment=wrong, user=colleague_a, note="The amount does not match the sessions")
    again = invoice(personas, 600 * POUND, "INV-11")
    assert again.status == Payment.Status.REQUESTED


def test_the_database_refuses_a_repeated_invoice_that_skips_the_service(personas, committed):
    first = invoice(personas, 100 * POUND, "INV-12")
    copy = {f.attname: getattr(first, f.attname) for f in Payment._meta.concrete_fields if not f.primary_key}
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(**copy)


def test_the_same_number_on_another_commitment_is_another_invoice(personas, budget, practices_a, committed):
    commit(budget, personas["icb_a"], practices_a, 1_000 * POUND, "CASE-21/PKG-1")
    invoice(personas, 100 * POUND, "INV-13")
    other = services.record_payment(reference="CASE-21/PKG-1", amount_pence=100 * POUND, kind="invoice",
                                    payee="Coaching Co", invoice_number="INV-13", user=personas["icb_a"])  # fmt: skip
    assert other.commitment.reference == "CASE-21/PKG-1"
