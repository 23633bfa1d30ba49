"""Commitments outside cases (issue 17 §4): an ICB commits money to a payee that is not a practice case and pays it
tranche by tranche, under the same rules as a case's commitment (no overdraw, four eyes, variation, de-commitment,
every step in the ledger)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Sum

from analytics import money
from apps.funding import services
from apps.funding.errors import FundingError
from apps.funding.models import Budget, Commitment, LedgerEntry, PayeeCommitment, PayeeKind, Payment
from apps.funding.services.ledger import InsufficientFunds
from apps.funding.tests.conftest import POUND, commit
from apps.practices.models import ICB

pytestmark = pytest.mark.django_db


def _dates(budget: Budget) -> tuple:
    start = money.fy_start(budget.fy)
    return start + timedelta(days=120), start + timedelta(days=300)


def _lmc(budget: Budget, user, amount: int = 30_000 * POUND, tranches=None):
    first, second = _dates(budget)
    return services.commit_to_payee(
        budget=budget,
        user=user,
        kind=PayeeKind.LMC_TEAM,
        name="Kent and Medway LMC support team",
        organisation_code="lmc01",
        purpose="Pastoral and practical support to practices in difficulty, 2 sessions a week",
        amount_pence=amount,
        tranches=tranches or [(first, amount // 2), (second, amount - amount // 2)],
    )


def _pay(commitment: Commitment, user, tranche: int | None, amount: int, invoice: str = "LMC-1", **kw) -> Payment:
    return services.record_payment(
        reference=commitment.reference,
        amount_pence=amount,
        kind=kw.pop("kind", Payment.Kind.INVOICE),
        payee="Kent and Medway LMC",
        invoice_number=invoice,
        user=user,
        tranche=tranche,
        **kw,
    )


def _conserves(budget: Budget) -> money.Balance:
    """The ledger conserves: allocated = committed + uncommitted, committed = paid + outstanding, and the ledger's
    committed and paid are the commitments' current amounts and the approved payments."""
    b = budget.balance()
    assert b.problems() == []
    assert b.allocated == b.committed + b.remaining
    assert b.committed == b.spent + b.outstanding
    assert b.committed == (Commitment.objects.filter(budget=budget).aggregate(t=Sum("amount_pence"))["t"] or 0)
    approved = Payment.objects.filter(commitment__budget=budget, status=Payment.Status.APPROVED)
    assert b.spent == (approved.aggregate(t=Sum("amount_pence"))["t"] or 0)
    return b


def test_an_icb_commits_to_an_lmc_support_team_and_pays_it_in_two_tranches(personas, budget, colleague_a):
    icb_a = personas["icb_a"]
    before = budget.balance()
    c = _lmc(budget, icb_a)
    payee = PayeeCommitment.objects.get(commitment=c)
    assert (payee.kind, payee.organisation_code) == (PayeeKind.LMC_TEAM, "LMC01")
    assert c.recipients == [] and c.offers == {} and len(c.schedule) == 2
    entry = LedgerEntry.objects.get(commitment=c)
    assert (entry.kind, entry.amount_pence, entry.practice_code, entry.created_by) == (
        money.Kind.COMMITMENT,
        30_000 * POUND,
        "",
        icb_a,
    )
    assert budget.balance().headroom == before.headroom - 30_000 * POUND

    # First tranche: recorded by one member of the team, approved by another.
    first = _pay(c, icb_a, 1, 15_000 * POUND, invoice="LMC-2026-01")
    with pytest.raises(FundingError, match="someone other than"):
        services.approve_payment(payment=first, user=icb_a)
    services.approve_payment(payment=first, user=colleague_a)
    assert [t.state for t in services.tranches_of(c)] == ["Paid", "Not paid"]
    _conserves(budget)

    second = _pay(c, colleague_a, 2, 15_000 * POUND, invoice="LMC-2026-02")
    services.approve_payment(payment=second, user=icb_a)
    c.refresh_from_db()
    assert c.paid_pence == c.amount_pence == 30_000 * POUND  # fully paid
    listed = services.payee_commitments(budget.icb).get(pk=c.pk)
    assert listed.paid_to_date_pence == 30_000 * POUND
    assert [t.state for t in services.tranches_of(c)] == ["Paid", "Paid"]
    b = _conserves(budget)
    assert b.outstanding == 0 and b.spent == 30_000 * POUND
    assert LedgerEntry.objects.filter(commitment=c, kind=money.Kind.PAYMENT).count() == 2

    # An overdrawing commitment is refused, naming the line and the budget, and writes nothing.
    count = LedgerEntry.objects.count()
    with pytest.raises(InsufficientFunds) as refused:
        _lmc(budget, icb_a, amount=b.headroom + POUND)
    assert "£1.00 short" in refused.value.message and str(budget) in refused.value.message
    assert budget.line.name in refused.value.message and budget.icb.short_name in refused.value.message
    assert LedgerEntry.objects.count() == count and PayeeCommitment.objects.count() == 1


def test_a_payee_commitment_refuses_every_problem_at_once(personas, budget):
    first, _ = _dates(budget)
    with pytest.raises(FundingError) as refused:
        services.commit_to_payee(
            budget=budget,
            user=personas["icb_a"],
            kind="locum",
            name=" ",
            purpose="",
            organisation_code="not a code!",
            amount_pence=0,
            tranches=[(first, 100)],
        )
    assert set(refused.value.as_errors()) == {"kind", "name", "purpose", "organisation", "amount"}
    assert not PayeeCommitment.objects.exists() and not Commitment.objects.filter(budget=budget).exists()


@pytest.mark.parametrize(
    ("tranches", "words"),
    [
        ("none", "Give the schedule of payments"),
        ("short", "The tranches add up to £29,999.00, not £30,000.00"),
        ("outside", "within the"),
        ("same-day", "same date"),
    ],
)
def test_a_schedule_of_tranches_that_does_not_fit_is_refused(personas, budget, tranches, words):
    first, second = _dates(budget)
    plans = {
        "short": [(first, 15_000 * POUND), (second, 14_999 * POUND)],
        "outside": [(first, 15_000 * POUND), (money.fy_end(budget.fy) + timedelta(days=1), 15_000 * POUND)],
        "same-day": [(first, 15_000 * POUND), (first, 15_000 * POUND)],
    }
    with pytest.raises(FundingError, match=words) as refused:
        services.commit_to_payee(
            budget=budget,
            user=personas["icb_a"],
            kind=PayeeKind.LMC_TEAM,
            name="Kent and Medway LMC support team",
            purpose="Support to practices in difficulty",
            amount_pence=30_000 * POUND,
            tranches=plans.get(tranches, []),
        )
    assert refused.value.field == "schedule"
    assert not Commitment.objects.filter(budget=budget).exists()
    assert not LedgerEntry.objects.filter(budget=budget, kind=money.Kind.COMMITMENT).exists()


def test_only_the_icbs_own_team_commits_to_a_payee(personas, budget):
    for who in ("icb_b", "national", "practice_x", "provider", "lmc"):
        with pytest.raises(PermissionDenied):
            _lmc(budget, personas[who])
    assert not Commitment.objects.filter(budget=budget).exists()


def test_a_tranche_is_named_paid_once_and_for_no_more_than_it(personas, budget, colleague_a):
    icb_a = personas["icb_a"]
    c = _lmc(budget, icb_a)
    with pytest.raises(FundingError, match="Say which tranche") as no_tranche:
        _pay(c, icb_a, None, 1_000 * POUND)
    assert no_tranche.value.field == "tranche"
    with pytest.raises(FundingError, match="has 2 tranches, not 3"):
        _pay(c, icb_a, 3, 1_000 * POUND)
    with pytest.raises(FundingError, match=r"is £15,000\.00: £15,000\.01 is more than it") as over:
        _pay(c, icb_a, 1, 15_000 * POUND + 1)
    assert over.value.field == "amount"
    with pytest.raises(FundingError, match="is unpaid and not already awaiting approval"):
        _pay(c, icb_a, 1, 30_000 * POUND + 1)  # more than the whole commitment
    with pytest.raises(FundingError, match="record the payee's invoice"):
        _pay(c, icb_a, 1, 1_000 * POUND, invoice="", kind=Payment.Kind.DIRECT, practice_code="A00001")
    pending = _pay(c, icb_a, 1, 15_000 * POUND)
    with pytest.raises(FundingError, match=r"Tranche 1 of \S+ is already awaiting approval"):
        _pay(c, icb_a, 1, 1 * POUND, invoice="LMC-1b")
    services.approve_payment(payment=pending, user=colleague_a)
    with pytest.raises(FundingError, match=r"Tranche 1 of \S+ is already paid"):
        _pay(c, icb_a, 1, 1 * POUND, invoice="LMC-1c")
    assert Payment.objects.filter(commitment=c).count() == 1


def test_a_rejected_tranche_payment_frees_the_tranche(personas, budget, colleague_a):
    c = _lmc(budget, personas["icb_a"])
    wrong = _pay(c, personas["icb_a"], 1, 15_000 * POUND)
    services.reject_payment(payment=wrong, user=colleague_a, note="Invoice sent to the wrong ICB")
    again = _pay(c, personas["icb_a"], 1, 15_000 * POUND, invoice="LMC-1-corrected")
    assert again.tranche == 1


def test_a_case_commitment_is_paid_without_a_tranche(personas, budget, practices_a):
    case = commit(budget, personas["icb_a"], practices_a, 1_000 * POUND, "CASE-1")
    with pytest.raises(FundingError, match="its payments name no tranche"):
        _pay(case, personas["icb_a"], 1, 100 * POUND)


def test_a_payee_commitment_is_varied_in_amount_and_schedule_keeping_its_paid_tranche(personas, budget, colleague_a):
    icb_a = personas["icb_a"]
    first, second = _dates(budget)
    c = _lmc(budget, icb_a)
    services.approve_payment(payment=_pay(c, icb_a, 1, 15_000 * POUND), user=colleague_a)
    with pytest.raises(FundingError, match="vary it with its new schedule"):
        services.vary_commitment(
            reference=c.reference, new_amount_pence=40_000 * POUND, user=icb_a, reason="More sessions agreed"
        )
    with pytest.raises(FundingError, match=r"Tranche 1 \(.*\) is paid or awaiting approval") as moved:
        services.vary_payee_commitment(
            reference=c.reference,
            user=icb_a,
            amount_pence=20_000 * POUND,
            tranches=[(first, 10_000 * POUND), (second, 10_000 * POUND)],
            reason="The LMC asked for a smaller first tranche",
        )
    assert moved.value.field == "schedule"
    third = second + timedelta(days=30)
    varied = services.vary_payee_commitment(
        reference=c.reference,
        user=icb_a,
        amount_pence=36_000 * POUND,
        tranches=[(first, 15_000 * POUND), (second, 11_000 * POUND), (third, 10_000 * POUND)],
        reason="A third quarter of sessions agreed with the LMC",
    )
    assert varied.amount_pence == 36_000 * POUND and len(varied.schedule) == 3
    variation = LedgerEntry.objects.get(commitment=c, kind=money.Kind.VARIATION)
    assert (variation.amount_pence, variation.created_by) == (6_000 * POUND, icb_a)
    assert [t.state for t in services.tranches_of(varied)] == ["Paid", "Not paid", "Not paid"]
    _conserves(budget)


def test_an_overdrawing_variation_is_refused_and_a_decommitment_returns_the_unpaid_money(personas, budget, colleague_a):
    icb_a = personas["icb_a"]
    first, second = _dates(budget)
    c = _lmc(budget, icb_a)
    headroom = budget.balance().headroom
    with pytest.raises(InsufficientFunds, match=str(budget)):
        services.vary_payee_commitment(
            reference=c.reference,
            user=icb_a,
            amount_pence=30_000 * POUND + headroom + 1,
            tranches=[(first, 15_000 * POUND), (second, 15_000 * POUND + headroom + 1)],
            reason="A bigger team than the budget allows",
        )
    services.approve_payment(payment=_pay(c, icb_a, 1, 15_000 * POUND), user=colleague_a)
    services.decommit(reference=c.reference, user=icb_a, reason="The LMC team was disbanded in the autumn")
    c.refresh_from_db()
    assert c.status == Commitment.Status.CANCELLED and c.amount_pence == 15_000 * POUND
    assert budget.balance().headroom == headroom + 15_000 * POUND
    with pytest.raises(FundingError, match="is cancelled"):
        _pay(c, icb_a, 2, 15_000 * POUND, invoice="LMC-2")
    _conserves(budget)


def test_the_national_team_sees_totals_by_kind_of_payee_and_no_payee(personas, budget, colleague_a):
    c = _lmc(budget, personas["icb_a"])
    services.approve_payment(payment=_pay(c, personas["icb_a"], 1, 15_000 * POUND), user=colleague_a)
    assert services.payee_totals(ICB.objects.none()) == []
    [lmc] = services.payee_totals(ICB.objects.all(), budget.fy)
    assert (lmc.kind, lmc.count, lmc.committed_pence, lmc.paid_pence, lmc.remaining_pence) == (
        PayeeKind.LMC_TEAM,
        1,
        30_000 * POUND,
        15_000 * POUND,
        15_000 * POUND,
    )


def test_the_database_refuses_a_second_live_payment_of_one_tranche(personas, budget):
    """The service refuses it with the commitment locked; the constraint backs it up for any code path."""
    c = _lmc(budget, personas["icb_a"])
    first = _pay(c, personas["icb_a"], 1, 15_000 * POUND)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            commitment=c,
            kind=Payment.Kind.INVOICE,
            payee="Copy",
            invoice_number="COPY-1",
            amount_pence=POUND,
            tranche=1,
            requested_by=personas["icb_a"],
        )
    Payment.objects.filter(pk=first.pk).update(status=Payment.Status.REJECTED)  # a rejected one frees the tranche
    again = Payment.objects.create(
        commitment=c,
        kind=Payment.Kind.INVOICE,
        payee="Again",
        invoice_number="AGAIN-1",
        amount_pence=POUND,
        tranche=1,
        requested_by=personas["icb_a"],
    )
    assert again.tranche == 1
