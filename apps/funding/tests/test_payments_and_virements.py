"""Payments against commitments (four eyes) and virements between budgets (national approval)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from analytics import money
from apps.funding import services
from apps.funding.errors import FundingError
from apps.funding.models import Budget, LedgerEntry, Payment, Virement
from apps.funding.tests.conftest import POUND, allocate_to, commit, make_line
from apps.pages.testing import ICB_A, ICB_B

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(personas, budget, practices_a):
    return commit(budget, personas["icb_a"], practices_a, 10_000 * POUND, "CASE-20/PKG-1")


def invoice(personas, amount, number="INV-7"):
    return services.record_payment(
        reference="CASE-20/PKG-1",
        amount_pence=amount,
        kind="invoice",
        payee="Coaching Co",
        invoice_number=number,
        offer_code="gprp-diagnostic",
        session_refs=["S-1", "S-2"],
        user=personas["icb_a"],
    )


def test_a_payment_moves_money_only_when_a_colleague_approves_it(personas, budget, committed, colleague_a):
    p = invoice(personas, 4_000 * POUND)
    assert p.status == Payment.Status.REQUESTED and p.session_refs == ["S-1", "S-2"]
    assert budget.balance().spent == 0
    with pytest.raises(FundingError, match="someone other than"):
        services.approve_payment(payment=p, user=personas["icb_a"])
    with pytest.raises(PermissionDenied):
        services.approve_payment(payment=p, user=personas["icb_b"])
    services.approve_payment(payment=p, user=colleague_a)
    p.refresh_from_db()
    assert p.status == Payment.Status.APPROVED and p.decided_by == colleague_a
    assert budget.balance().spent == 4_000 * POUND
    entry = LedgerEntry.objects.get(payment=p)
    assert entry.kind == money.Kind.PAYMENT and entry.created_by == colleague_a
    with pytest.raises(FundingError, match="already been decided"):
        services.approve_payment(payment=p, user=colleague_a)


def test_payments_cannot_exceed_what_is_committed_and_unpaid(personas, committed, colleague_a):
    invoice(personas, 6_000 * POUND)
    with pytest.raises(FundingError, match=r"Only £4,000.00 .* unpaid"):
        invoice(personas, 4_000 * POUND + 1, "INV-8")


def test_a_rejected_payment_moves_nothing_and_needs_a_reason(personas, budget, committed, colleague_a):
    p = invoice(personas, 1_000 * POUND)
    with pytest.raises(FundingError, match="reason"):
        services.reject_payment(payment=p, user=colleague_a, note="no")
    services.reject_payment(payment=p, user=colleague_a, note="Invoice duplicates INV-6")
    assert budget.balance().spent == 0
    assert not LedgerEntry.objects.filter(payment=p).exists()


def test_a_direct_payment_goes_to_a_practice_named_in_the_package(personas, committed, practices_a):
    with pytest.raises(FundingError, match="not one of the practices"):
        services.record_payment(
            reference="CASE-20/PKG-1",
            amount_pence=100,
            kind="direct",
            payee="",
            practice_code=practices_a[1],
            user=personas["icb_a"],
        )
    p = services.record_payment(
        reference="CASE-20/PKG-1",
        amount_pence=100,
        kind="direct",
        payee="",
        practice_code=practices_a[0],
        user=personas["icb_a"],
    )
    assert p.payee  # the practice's name from the register


def test_a_virement_moves_headroom_between_icbs_once_the_national_team_approves(personas, budget):
    line = budget.line
    fy = budget.fy
    other = make_line(personas["national"], code="TEST2")
    allocate_to(personas["national"], other, {ICB_B: 1})
    b_budget = Budget.objects.get(line=other, icb__code=ICB_B)
    v = services.request_virement(
        from_budget=budget,
        to_budget=b_budget,
        amount_pence=5_000 * POUND,
        reason="ICB B has more need",
        user=personas["icb_a"],
    )
    assert v.status == Virement.Status.REQUESTED and budget.balance().released == 40_000 * POUND
    with pytest.raises(PermissionDenied):
        services.approve_virement(virement=v, user=personas["icb_b"])
    services.approve_virement(virement=v, user=personas["national"])
    a, b = budget.balance(), b_budget.balance()
    assert (a.allocated, a.released) == (95_000 * POUND, 35_000 * POUND)
    assert b.released == 5_000 * POUND and b.allocated == 100_000 * POUND + 5_000 * POUND
    assert LedgerEntry.objects.filter(virement=v).count() == 2
    assert sum(e.amount_pence for e in LedgerEntry.objects.filter(virement=v)) == 0
    assert line.pk and fy


def test_a_virement_cannot_take_committed_money_or_cross_years(personas, budget, practices_a):
    commit(budget, personas["icb_a"], practices_a, 38_000 * POUND, "CASE-21/PKG-1")
    other = make_line(personas["national"], code="TEST3")
    allocate_to(personas["national"], other, {ICB_A: 1})
    target = Budget.objects.get(line=other, icb__code=ICB_A)
    with pytest.raises(services.InsufficientFunds) as exc:
        services.request_virement(
            from_budget=budget,
            to_budget=target,
            amount_pence=3_000 * POUND,
            reason="Move it across",
            user=personas["icb_a"],
        )
    assert exc.value.missing_pence == 1_000 * POUND
    past = make_line(personas["national"], code="TEST4", fy=budget.fy - 1)
    allocate_to(personas["national"], past, {ICB_A: 1})
    with pytest.raises(FundingError, match="year-bound"):
        services.request_virement(
            from_budget=budget,
            to_budget=Budget.objects.get(line=past),
            amount_pence=1,
            reason="Into last year",
            user=personas["icb_a"],
        )
    # Approval re-checks headroom: money committed after the request cannot be moved.
    v = services.request_virement(
        from_budget=budget,
        to_budget=target,
        amount_pence=2_000 * POUND,
        reason="Move it across",
        user=personas["icb_a"],
    )
    commit(budget, personas["icb_a"], practices_a, 1_000 * POUND, "CASE-21/PKG-2")
    with pytest.raises(services.InsufficientFunds):
        services.approve_virement(virement=v, user=personas["national"])
    assert budget.balance().headroom == 1_000 * POUND
