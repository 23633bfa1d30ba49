""" "Waiting for me" lists a recorded payment for exactly the people who may approve it: the oracle is
``approve_payment`` itself, tried for every persona inside a savepoint that is rolled back (as
``apps/cases/tests/test_waiting_for_me.py`` does for cases)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.cases import services as cs
from apps.funding import services
from apps.funding.errors import FundingError
from apps.funding.models import Payment
from apps.funding.tests.conftest import POUND, commit
from apps.pages.waiting_money import APPROVE

pytestmark = pytest.mark.django_db
PERSONAS = ("icb_a", "icb_b", "practice_x", "practice_y", "provider", "provider_b", "lmc", "national")


class _Rollback(Exception):
    pass


def _may_approve(user: Any, payment: Payment) -> bool:
    try:
        with transaction.atomic():
            services.approve_payment(payment=payment, user=user)
            raise _Rollback
    except _Rollback:
        return True
    except (FundingError, PermissionDenied):
        return False


def _listed(user: Any, payment: Payment) -> bool:
    return any(w.step == APPROVE and w.href.endswith(f"#payment-{payment.pk}") for w in cs.waiting_for(user))


def _record(budget: Any, user: Any, practices: list[str], reference: str, amount: int = 500 * POUND) -> Payment:
    commit(budget, user, practices, 2_000 * POUND, reference)
    return services.record_payment(
        reference=reference, amount_pence=amount, kind=Payment.Kind.INVOICE, payee="Resilience Partners Ltd", user=user,
        invoice_number=f"INV-{reference}",
    )  # fmt: skip


def test_a_payment_waits_for_exactly_those_who_may_approve_it(personas, budget, practices_a, colleague_a):
    payment = _record(budget, personas["icb_a"], practices_a, "WAIT-1")
    everyone = {**{n: personas[n] for n in PERSONAS}, "colleague_a": colleague_a}
    seen = {}
    for name, user in everyone.items():
        payment.refresh_from_db()
        seen[name] = _listed(user, payment)
        assert seen[name] == _may_approve(user, payment), name
    # the one who recorded it waits for a colleague; the colleague is asked; no one outside ICB A's team is
    assert seen == {n: n == "colleague_a" for n in everyone}

    services.approve_payment(payment=payment, user=colleague_a)
    for name, user in everyone.items():
        assert not _listed(user, payment), f"{name} still asked to decide a decided payment"


def test_payments_waiting_are_read_in_the_same_number_of_queries_for_one_or_many(
    personas, budget, practices_a, colleague_a
):
    already = len(services.payments_to_decide(colleague_a))  # the demo ICB's own payments awaiting approval
    _record(budget, personas["icb_a"], practices_a, "WAIT-A")
    with CaptureQueriesContext(connection) as one:
        assert len(services.payments_to_decide(colleague_a)) == already + 1
    for i in range(5):
        _record(budget, personas["icb_a"], practices_a, f"WAIT-B{i}", amount=100 * POUND)
    with CaptureQueriesContext(connection) as six:
        assert len(services.payments_to_decide(colleague_a)) == already + 6
    assert len(six.captured_queries) == len(one.captured_queries)
