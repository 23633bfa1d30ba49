"""Committing money on package approval, varying and cancelling it: the case workflow's contract."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from analytics import money
from apps.funding import services
from apps.funding.errors import FundingError
from apps.funding.models import Commitment, LedgerEntry
from apps.funding.tests.conftest import POUND, commit

pytestmark = pytest.mark.django_db


def test_budgets_for_lists_the_icbs_budgets_this_year_with_headroom(personas, budget):
    found = services.budgets_for(personas["icb_a"].icb)
    mine = next(b for b in found if b.pk == budget.pk)
    assert mine.headroom_pence == 40_000 * POUND
    assert all(b.icb_id == budget.icb_id and b.fy == budget.fy for b in found)
    assert services.budgets_for(personas["icb_a"].icb, on=date(2015, 6, 1)) == []


def test_an_approval_commits_released_money_and_reduces_headroom(personas, budget, practices_a):
    c = commit(budget, personas["icb_a"], practices_a, 10_000 * POUND, "CASE-000001/PKG-1")
    assert c.amount_pence == 10_000 * POUND and c.status == Commitment.Status.OPEN
    assert budget.balance().committed == 10_000 * POUND
    assert next(b for b in services.budgets_for(budget.icb) if b.pk == budget.pk).headroom_pence == 30_000 * POUND
    entry = LedgerEntry.objects.get(commitment=c)
    assert entry.kind == money.Kind.COMMITMENT and entry.created_by == personas["icb_a"]
    assert entry.practice_code == practices_a[0] and entry.offer_code == "gprp-diagnostic"


def test_approval_is_refused_when_budget_would_be_overdrawn(personas, budget, practices_a):
    commit(budget, personas["icb_a"], practices_a, 35_000 * POUND, "CASE-1/PKG-1")
    with pytest.raises(services.InsufficientFunds) as exc:
        commit(budget, personas["icb_a"], practices_a, 6_000 * POUND, "CASE-2/PKG-1")
    err = exc.value
    assert err.missing_pence == 1_000 * POUND and err.available_pence == 5_000 * POUND and err.budget == budget
    assert str(err).startswith("£1,000.00 short: £5,000.00 available of ")
    assert not Commitment.objects.filter(reference="CASE-2/PKG-1").exists()
    assert budget.balance().committed == 35_000 * POUND


def test_unreleased_money_cannot_be_committed(personas, budget, practices_a):
    """£100k allocated but only £40k released: the other £60k is not there to commit yet."""
    with pytest.raises(services.InsufficientFunds) as exc:
        commit(budget, personas["icb_a"], practices_a, 40_000 * POUND + 1, "CASE-3/PKG-1")
    assert exc.value.missing_pence == 1


def test_a_refusal_inside_the_callers_transaction_leaves_it_usable(personas, budget, practices_a):
    with transaction.atomic():
        commit(budget, personas["icb_a"], practices_a, 1_000 * POUND, "CASE-4/PKG-1")
        with pytest.raises(services.InsufficientFunds):
            commit(budget, personas["icb_a"], practices_a, 50_000 * POUND, "CASE-4/PKG-2")
        commit(budget, personas["icb_a"], practices_a, 2_000 * POUND, "CASE-4/PKG-3")
    assert budget.balance().committed == 3_000 * POUND


def test_a_group_package_splits_exactly_across_practices_and_offers(personas, budget, practices_a):
    recipients = [(practices_a[0], 1_000_01), (practices_a[1], 2_000_02), (practices_a[2], 333_33)]
    amount = sum(p for _, p in recipients)
    offers = {"gprp-hr-advice": 1_111_11, "gprp-diagnostic": amount - 1_111_11}
    c = commit(budget, personas["icb_a"], practices_a, amount, "CASE-5/PKG-1", recipients=recipients, offers=offers)
    entries = list(LedgerEntry.objects.filter(commitment=c))
    for code, share in recipients:
        assert sum(e.amount_pence for e in entries if e.practice_code == code) == share
    for code, share in offers.items():
        assert sum(e.amount_pence for e in entries if e.offer_code == code) == share


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"recipients": [("A81001", 1)]}, "shares add up to"),
        ({"recipients": [("ZZ9999", 5_000 * POUND)]}, "Unknown practice codes: ZZ9999"),
        ({"offers": {"no-such-offer": 5_000 * POUND}}, "not on the menu"),
        ({"offers": {"gpdp-reception-training": 5_000 * POUND}}, "on the GPDP menu"),
        ({"schedule": [(date(2000, 1, 31), 5_000 * POUND)]}, "starts before"),
        ({"schedule": [(date(2099, 1, 31), 1)]}, "schedule adds up to"),
    ],
)
def test_bad_package_input_is_refused_in_words_and_nothing_is_written(personas, budget, practices_a, change, message):
    kw = {"recipients": [(practices_a[0], 5_000 * POUND)], "offers": {"gprp-diagnostic": 5_000 * POUND}} | change
    with pytest.raises(FundingError, match=message):
        commit(budget, personas["icb_a"], practices_a, 5_000 * POUND, "CASE-6/PKG-1", **kw)
    assert not LedgerEntry.objects.filter(reference="CASE-6/PKG-1").exists()


def test_a_reference_is_used_once(personas, budget, practices_a):
    commit(budget, personas["icb_a"], practices_a, 100, "CASE-7/PKG-1")
    with pytest.raises(FundingError, match="already exists"):
        commit(budget, personas["icb_a"], practices_a, 100, "CASE-7/PKG-1")


def test_only_the_budgets_own_icb_team_can_commit_it(personas, budget, practices_a):
    for who in ("icb_b", "national", "practice_x", "provider", "lmc"):
        with pytest.raises(PermissionDenied):
            commit(budget, personas[who], practices_a, 100, f"CASE-8/{who}")


def test_the_default_schedule_spreads_the_money_evenly_by_month_to_31_march(personas, budget, practices_a):
    before = timezone.localdate()  # the schedule starts this month: either side of a month end passed meanwhile
    c = commit(budget, personas["icb_a"], practices_a, 1_000_00, "CASE-9/PKG-1")
    schedule = services.schedule_of(c)
    assert sum(a for _, a in schedule) == 1_000_00
    assert schedule[-1][0] == money.fy_end(budget.fy)
    firsts = {money.month_end(max(day, money.fy_start(budget.fy))) for day in (before, timezone.localdate())}
    assert schedule[0][0] in firsts


def test_a_variation_up_needs_headroom_and_down_cannot_go_below_what_is_paid(
    personas, budget, practices_a, colleague_a
):
    commit(budget, personas["icb_a"], practices_a, 10_000 * POUND, "CASE-10/PKG-1")
    c = services.vary_commitment(
        reference="CASE-10/PKG-1",
        new_amount_pence=12_000 * POUND,
        user=personas["icb_a"],
        reason="Two more diagnostic days",
    )
    assert c.amount_pence == 12_000 * POUND and budget.balance().committed == 12_000 * POUND
    assert sum(a for _, a in services.schedule_of(c)) == 12_000 * POUND
    with pytest.raises(services.InsufficientFunds) as exc:
        services.vary_commitment(
            reference="CASE-10/PKG-1",
            new_amount_pence=41_000 * POUND,
            user=personas["icb_a"],
            reason="Much more support needed",
        )
    assert exc.value.missing_pence == 1_000 * POUND
    p = services.record_payment(
        reference="CASE-10/PKG-1",
        amount_pence=5_000 * POUND,
        kind="invoice",
        payee="Coach Ltd",
        invoice_number="INV-1",
        user=personas["icb_a"],
    )
    services.approve_payment(payment=p, user=colleague_a)
    with pytest.raises(FundingError, match="already been paid"):
        services.vary_commitment(
            reference="CASE-10/PKG-1",
            new_amount_pence=4_000 * POUND,
            user=personas["icb_a"],
            reason="Cut it back to fit",
        )
    c = services.vary_commitment(
        reference="CASE-10/PKG-1", new_amount_pence=6_000 * POUND, user=personas["icb_a"], reason="Cut it back to fit"
    )
    assert sum(e.amount_pence for e in c.entries.exclude(kind=money.Kind.PAYMENT)) == 6_000 * POUND


def test_cancelling_releases_what_is_committed_and_not_yet_paid(personas, budget, practices_a, colleague_a):
    commit(budget, personas["icb_a"], practices_a, 10_000 * POUND, "CASE-11/PKG-1")
    p = services.record_payment(
        reference="CASE-11/PKG-1",
        amount_pence=2_500 * POUND,
        kind="direct",
        payee="",
        practice_code=practices_a[0],
        user=personas["icb_a"],
    )
    services.approve_payment(payment=p, user=colleague_a)
    c = services.decommit(reference="CASE-11/PKG-1", user=personas["icb_a"], reason="Practice merged; not needed")
    assert c.status == Commitment.Status.CANCELLED and c.amount_pence == 2_500 * POUND
    b = budget.balance()
    assert b.committed == 2_500 * POUND and b.spent == 2_500 * POUND
    assert b.headroom == 37_500 * POUND
    with pytest.raises(FundingError, match="already cancelled"):
        services.decommit(reference="CASE-11/PKG-1", user=personas["icb_a"], reason="Practice merged; not needed")


def test_a_variation_or_cancellation_needs_a_reason(personas, budget, practices_a):
    commit(budget, personas["icb_a"], practices_a, 100, "CASE-12/PKG-1")
    with pytest.raises(FundingError, match="reason"):
        services.decommit(reference="CASE-12/PKG-1", user=personas["icb_a"], reason="no")
    with pytest.raises(FundingError, match="reason"):
        services.vary_commitment(reference="CASE-12/PKG-1", new_amount_pence=200, user=personas["icb_a"], reason="")


def test_ledger_entries_can_never_be_changed_or_deleted(personas, budget, practices_a):
    c = commit(budget, personas["icb_a"], practices_a, 100, "CASE-13/PKG-1")
    entry = LedgerEntry.objects.get(commitment=c)
    entry.amount_pence = 1
    with pytest.raises(ValueError, match="immutable"):
        entry.save()
    with pytest.raises(ValueError, match="immutable"):
        entry.delete()
    with pytest.raises(ValueError, match="immutable"):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount_pence=1)
    with pytest.raises(ValueError, match="immutable"):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount_pence == 100
